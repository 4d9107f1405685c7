/*
 * request.c -- CGI variables and the body of one request, with limits.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "util.h"

/* Body buffers start at this size and double, up to max_body + 1. */
#define BODY_INITIAL	16384

struct request *
request_new(void)
{
	return xcalloc(1, sizeof(struct request));
}

void
request_free(struct request *req)
{
	if (req == NULL)
		return;
	request_reset(req);
	free(req->params);
	free(req->body);
	free(req);
}

void
request_reset(struct request *req)
{
	size_t i;

	for (i = 0; i < req->nparams; i++) {
		free(req->params[i].name);
		free(req->params[i].value);
	}
	req->nparams = 0;
	req->dup_param = 0;
	req->body_len = 0;
	/* A huge body's buffer is not kept for the next, likely small, one. */
	if (req->body_cap > 4 * BODY_INITIAL) {
		free(req->body);
		req->body = NULL;
		req->body_cap = 0;
	}
}

void
request_add_param(struct request *req, const char *name, const char *value)
{
	size_t vlen = strlen(value);

	if (request_param(req, name) != NULL)
		req->dup_param = 1;
	if (req->nparams == req->aparams) {
		req->aparams = req->aparams ? req->aparams * 2 : 32;
		req->params = xrealloc(req->params,
		    req->aparams * sizeof(struct param));
	}
	/* Header values lose surrounding blanks here, once (RFC 9110 OWS). */
	if (strncmp(name, "HTTP_", 5) == 0) {
		while (*value == ' ' || *value == '\t') {
			value++;
			vlen--;
		}
		while (vlen > 0 && (value[vlen - 1] == ' ' ||
		    value[vlen - 1] == '\t'))
			vlen--;
	}
	req->params[req->nparams].name = xstrdup(name);
	req->params[req->nparams].value = xstrndup(value, vlen);
	req->nparams++;
}

void
request_add_env(struct request *req, const char *env)
{
	const char *eq = strchr(env, '=');
	char *name;

	if (eq == NULL || eq == env)
		return;
	name = xstrndup(env, (size_t)(eq - env));
	request_add_param(req, name, eq + 1);
	free(name);
}

const char *
request_param(const struct request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

const char *
request_header(const struct request *req, const char *header)
{
	char name[128];
	const char *v;
	size_t i, n = strlen(header);

	if (n + 6 > sizeof(name))
		return NULL;
	memcpy(name, "HTTP_", 5);
	/* Both Apache and lighttpd map '-' (and lighttpd any non-alnum) to '_'. */
	for (i = 0; i < n; i++)
		name[5 + i] = isalnum((unsigned char)header[i]) ?
		    (char)toupper((unsigned char)header[i]) : '_';
	name[5 + n] = '\0';
	v = request_param(req, name);
	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * Parses CONTENT_LENGTH strictly. Returns 1 and sets *len when present,
 * 0 when absent or empty (chunked requests arrive without it), -1 when it
 * is not a plain decimal number.
 */
static int
content_length(const struct request *req, uint64_t *len)
{
	const char *cl = request_param(req, "CONTENT_LENGTH");

	if (cl == NULL || *cl == '\0')
		return 0;
	return parse_u64(cl, strlen(cl), len) == 0 ? 1 : -1;
}

/* Makes room for at least one more byte than is used, within limit. */
static void
body_grow(struct request *req, size_t limit)
{
	size_t cap = req->body_cap ? req->body_cap : BODY_INITIAL;

	while (cap < req->body_len + 2 && cap < limit)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if (cap != req->body_cap) {
		req->body = xrealloc(req->body, cap);
		req->body_cap = cap;
	}
}

enum body_status
request_read_body(struct request *req, const struct body_reader *rd,
    size_t max_body)
{
	uint64_t cl = 0;
	size_t limit;
	ssize_t n;
	int has_cl;

	has_cl = content_length(req, &cl);
	if (has_cl == -1)
		return BODY_BAD_LENGTH;
	if (has_cl && cl > max_body)
		return BODY_TOO_LARGE;
	/* Room for max_body, one byte to see an excess, and a NUL. */
	limit = max_body + 2;
	req->body_len = 0;
	for (;;) {
		body_grow(req, limit);
		n = rd->read(rd->ctx, req->body + req->body_len,
		    req->body_cap - 1 - req->body_len);
		if (n < 0)
			return BODY_READ_ERROR;
		if (n == 0)
			break;
		req->body_len += (size_t)n;
		if (req->body_len > max_body)
			return BODY_TOO_LARGE;
	}
	req->body[req->body_len] = '\0';
	if (has_cl && cl != req->body_len)
		return BODY_LENGTH_MISMATCH;
	return BODY_OK;
}
