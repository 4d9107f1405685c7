/*
 * log.c -- logfmt lines to one sink. The sink is process-wide state: it is
 * chosen once from the config, like the web server's error log it stands
 * for; everything per request is passed in the line itself.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum sink {
	SINK_STDERR,
	SINK_FILE,
	SINK_SYSLOG
};

static enum sink sink = SINK_STDERR;
static int log_fd = -1;

int
log_open(const char *dest)
{
	int fd;

	log_close();
	if (dest == NULL || strcmp(dest, "stderr") == 0)
		return 0;
	if (strcmp(dest, "syslog") == 0) {
		openlog("hookgate", LOG_PID, LOG_DAEMON);
		sink = SINK_SYSLOG;
		return 0;
	}
	fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	log_fd = fd;
	sink = SINK_FILE;
	return 0;
}

void
log_close(void)
{
	if (sink == SINK_FILE && log_fd != -1)
		close(log_fd);
	else if (sink == SINK_SYSLOG)
		closelog();
	log_fd = -1;
	sink = SINK_STDERR;
}

static const char *
level_str(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LEVEL_DEBUG:
		return "debug";
	case LOG_LEVEL_INFO:
		return "info";
	case LOG_LEVEL_WARN:
		return "warn";
	default:
		return "error";
	}
}

static int
syslog_prio(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LEVEL_DEBUG:
		return LOG_DEBUG;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	case LOG_LEVEL_WARN:
		return LOG_WARNING;
	default:
		return LOG_ERR;
	}
}

void
log_write(enum log_level lvl, const char *fmt, ...)
{
	char line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n, m;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s ", ts,
	    now.tv_nsec / 1000000, level_str(lvl));
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (sink == SINK_SYSLOG) {
		line[n] = '\0';
		syslog(syslog_prio(lvl), "%s", line);
		return;
	}
	line[n++] = '\n';
	/* One write per line so lines from several processes do not mix. */
	(void)!write(sink == SINK_FILE ? log_fd : STDERR_FILENO, line,
	    (size_t)n);
}

const char *
log_quote(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;
	int plain = *s != '\0';
	const char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    (unsigned char)*p < 0x20 || *p == 0x7f)
			plain = 0;
	if (plain) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	if (len < 3) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[i++] = '"';
	for (p = s; *p != '\0' && i + 5 < len; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			buf[i++] = '\\';
			buf[i++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			buf[i++] = '\\';
			buf[i++] = 'x';
			buf[i++] = hex[c >> 4];
			buf[i++] = hex[c & 15];
		} else
			buf[i++] = (char)c;
	}
	buf[i++] = '"';
	buf[i] = '\0';
	return buf;
}
