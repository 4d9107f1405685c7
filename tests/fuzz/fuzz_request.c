/*
 * fuzz_request.c -- CGI variables, header lookups and the bounded body
 * reader (request.c), against an oracle for request_read_body().
 *
 * Input: two bytes of max_body (little-endian, plus one), one byte of
 * reader behaviour (low 7 bits: the most bytes one read() hands out, 0 for
 * no limit; top bit: the connection fails after the last byte instead of
 * ending), then CGI variables as "NAME=value" lines, a blank line, and the
 * body. A line without '=' is looked up as a header name instead.
 *
 * The body is read twice, the second time after request_reset() with
 * max_body exactly the body's size, so buffer reuse is exercised too.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "request.h"
#include "util.h"

/* The body as a connection would deliver it, in chunks of at most step. */
struct src {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	size_t		 step;		/* 0: no limit */
	int		 fail;		/* -1 instead of 0 at the end */
};

static ssize_t
src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->off;

	if (n == 0)
		return s->fail ? -1 : 0;
	if (n > len)
		n = len;
	if (s->step != 0 && n > s->step)
		n = s->step;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/*
 * Splits the variables part into lines, each a string in a buffer of
 * exactly its size, so that a read past its end is seen. The caller frees.
 */
static char **
split_lines(const uint8_t *p, size_t len, size_t *nlines)
{
	char **lines = NULL;
	const uint8_t *nl;
	size_t n = 0, l;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		l = nl != NULL ? (size_t)(nl - p) : len;
		lines = xrealloc(lines, (n + 1) * sizeof(*lines));
		lines[n] = xmalloc(l + 1);
		memcpy(lines[n], p, l);
		lines[n][l] = '\0';
		n++;
		if (nl == NULL)
			break;
		p += l + 1;
		len -= l + 1;
	}
	*nlines = n;
	return lines;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * What request_read_body() must answer, worked out from the outside:
 * CONTENT_LENGTH (the first one given) decides first, then the size, then
 * how the connection ended, then the count against CONTENT_LENGTH.
 */
static enum body_status
expect_status(const struct request *req, const struct src *s, size_t max)
{
	const char *cl = request_param(req, "CONTENT_LENGTH");
	uint64_t n = 0;
	int has_cl = cl != NULL && *cl != '\0';

	if (has_cl && parse_u64(cl, strlen(cl), &n) == -1)
		return BODY_BAD_LENGTH;
	if (has_cl && n > max)
		return BODY_TOO_LARGE;
	if (s->len > max)
		return BODY_TOO_LARGE;
	if (s->fail)
		return BODY_READ_ERROR;
	if (has_cl && n != s->len)
		return BODY_LENGTH_MISMATCH;
	return BODY_OK;
}

/* Reads the body and checks the answer and the buffer against the oracle. */
static void
read_and_check(struct request *req, struct src *s, size_t max)
{
	enum body_status st, want;

	s->off = 0;
	want = expect_status(req, s, max);
	st = request_read_body(req, &(struct body_reader){ src_read, s }, max);
	FUZZ_ASSERT(st == want);
	if (st == BODY_OK || st == BODY_LENGTH_MISMATCH) {
		FUZZ_ASSERT(req->body_len == s->len);
		FUZZ_ASSERT(req->body_len < req->body_cap);
		FUZZ_ASSERT(req->body[req->body_len] == '\0');
		FUZZ_ASSERT(req->body_cap <= max + 2);
		FUZZ_ASSERT(s->len == 0 ||
		    memcmp(req->body, s->p, s->len) == 0);
	}
}

/* Adds the "NAME=value" lines; looks up the others as header names. */
static void
add_lines(struct request *req, char **lines, size_t n)
{
	const char *v;
	size_t i, len;

	for (i = 0; i < n; i++) {
		if (strchr(lines[i], '=') != NULL) {
			request_add_env(req, lines[i]);
			continue;
		}
		/* Header values are trimmed once, when they are added. */
		if ((v = request_header(req, lines[i])) != NULL) {
			len = strlen(v);
			FUZZ_ASSERT(len > 0);
			FUZZ_ASSERT(!is_blank(v[0]) && !is_blank(v[len - 1]));
		}
		(void)request_param(req, lines[i]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request *req;
	char **lines;
	struct src s;
	const uint8_t *sep;
	size_t max, nlines, vlen, i;

	if (size < 3)
		return 0;
	max = 1 + ((size_t)data[0] | (size_t)data[1] << 8);
	memset(&s, 0, sizeof(s));
	s.step = data[2] & 0x7f;
	s.fail = (data[2] & 0x80) != 0;
	data += 3;
	size -= 3;
	if ((sep = memmem(data, size, "\n\n", 2)) != NULL) {
		vlen = (size_t)(sep - data);
		s.p = sep + 2;
		s.len = size - vlen - 2;
	} else {
		vlen = size;
		s.p = data + size;
		s.len = 0;
	}
	lines = split_lines(data, vlen, &nlines);

	req = request_new();
	add_lines(req, lines, nlines);
	(void)request_header(req, "webhook-id");
	(void)request_header(req, "X-Hub-Signature-256");
	(void)request_header(req, "Content-Type");
	read_and_check(req, &s, max);

	/* Again in the same request, as the FastCGI loop does. */
	request_reset(req);
	FUZZ_ASSERT(req->nparams == 0 && req->dup_param == 0);
	add_lines(req, lines, nlines);
	s.fail = 0;
	s.step = 0;
	read_and_check(req, &s, s.len > 0 ? s.len : 1);
	request_free(req);

	for (i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	return 0;
}
