/*
 * util.c -- allocation that aborts, number parsing, byte order, clocks.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void
fatal_oom(void)
{
	static const char msg[] = "hookgate: out of memory\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatal_oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal_oom();
	return p;
}

void *
xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (p == NULL)
		fatal_oom();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal_oom();
	return p;
}

int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Splits "123K" into the number and a one-letter unit (or none), the shape
 * both parse_size() and parse_duration() accept.
 */
static int
split_unit(const char *s, uint64_t *num, int *unit)
{
	size_t len = strlen(s);

	*unit = 0;
	if (len > 0 && isalpha((unsigned char)s[len - 1])) {
		*unit = tolower((unsigned char)s[len - 1]);
		len--;
	}
	return parse_u64(s, len, num);
}

int
parse_size(const char *s, size_t *out)
{
	uint64_t n, mul;
	int unit;

	if (split_unit(s, &n, &unit) == -1)
		return -1;
	switch (unit) {
	case 0:
	case 'b':
		mul = 1;
		break;
	case 'k':
		mul = 1024;
		break;
	case 'm':
		mul = 1024 * 1024;
		break;
	case 'g':
		mul = 1024ULL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (n > SIZE_MAX / mul)
		return -1;
	*out = (size_t)(n * mul);
	return 0;
}

int
parse_duration(const char *s, long long *out)
{
	uint64_t n, mul;
	int unit;

	if (split_unit(s, &n, &unit) == -1)
		return -1;
	switch (unit) {
	case 0:
	case 's':
		mul = 1;
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	case 'w':
		mul = 7 * 86400;
		break;
	default:
		return -1;
	}
	if (n > (uint64_t)LLONG_MAX / mul)
		return -1;
	*out = (long long)(n * mul);
	return 0;
}

void
be64_put(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

uint64_t
be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	/* A caught signal cuts nanosleep() short; sleep what is left. */
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
