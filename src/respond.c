/*
 * respond.c -- the CGI response head and JSON body of every answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "respond.h"
#include "store.h"
#include "util.h"

/* A growing output buffer; only this file uses it. */
struct out {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		while (o->len + n + 1 > o->cap)
			o->cap = o->cap ? o->cap * 2 : 512;
		o->buf = xrealloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void HG_PRINTF(2, 3)
out_fmt(struct out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_add(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n :
		    sizeof(tmp) - 1);
}

/* Appends s as a JSON string literal. Ids are valid UTF-8 already. */
static void
out_json_str(struct out *o, const char *s)
{
	const unsigned char *p;

	out_add(o, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			out_add(o, "\\", 1);
			out_add(o, (const char *)p, 1);
		} else if (*p < 0x20 || *p == 0x7f)
			out_fmt(o, "\\u%04x", *p);
		else
			out_add(o, (const char *)p, 1);
	}
	out_add(o, "\"", 1);
}

void
answer_set(struct answer *a, int http, const char *status, const char *error)
{
	a->http = http;
	a->status = status;
	if (error != NULL)
		snprintf(a->error, sizeof(a->error), "%s", error);
}

void
answer_set_id(struct answer *a, const char *id, size_t len)
{
	if (len >= sizeof(a->id))
		len = sizeof(a->id) - 1;
	memcpy(a->id, id, len);
	a->id[len] = '\0';
}

const char *
respond_reason(int http)
{
	switch (http) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

/* The health answer's counts: no ids, no payloads. */
static void
out_counts(struct out *o, const struct store_counts *c, long long now)
{
	long long age = 0;

	if (c->oldest_pending_ms > 0 && now > c->oldest_pending_ms)
		age = (now - c->oldest_pending_ms) / 1000;
	out_fmt(o, ", \"counts\": {\"queued\": %lu, \"running\": %lu, "
	    "\"retrying\": %lu, ", c->queued, c->running, c->retrying);
	out_fmt(o, "\"done\": %lu, \"failed\": %lu, \"ignored\": %lu}",
	    c->done, c->failed, c->ignored);
	out_fmt(o, ", \"oldest_pending_age\": %lld", age);
}

char *
respond_render(const struct answer *a, size_t *len)
{
	struct out o = { NULL, 0, 0 };

	out_fmt(&o, "Status: %d %s\r\n", a->http, respond_reason(a->http));
	out_str(&o, "Content-Type: application/json\r\n");
	out_str(&o, "Cache-Control: no-store\r\n");
	if (a->allow_post)
		out_str(&o, "Allow: POST\r\n");
	if (a->retry_after > 0)
		out_fmt(&o, "Retry-After: %d\r\n", a->retry_after);
	out_str(&o, "\r\n");
	if (!a->head) {
		out_str(&o, "{\"status\": ");
		out_json_str(&o, a->status);
		if (a->id[0] != '\0') {
			out_str(&o, ", \"id\": ");
			out_json_str(&o, a->id);
		}
		if (a->error[0] != '\0') {
			out_str(&o, ", \"error\": ");
			out_json_str(&o, a->error);
		}
		if (a->counts != NULL)
			out_counts(&o, a->counts, a->now_ms);
		out_str(&o, "}\n");
	}
	*len = o.len;
	return o.buf;
}
