/*
 * store_codec.c -- the store's bytes: big-endian integers, the layouts of
 * events.db and attempts.db values, the time-ordered keys, and the DBTs
 * that lend or receive them. No Berkeley DB call, no I/O.
 */

#include <stdint.h>
#include <string.h>

#include <db.h>

#include "store.h"
#include "store_int.h"
#include "util.h"

static void
be16_put(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static uint16_t
be16_get(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
be32_get(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Appends a length-prefixed string at p; returns the byte after it. */
static unsigned char *
rec_put_str(unsigned char *p, struct span s)
{
	be16_put(p, (uint16_t)s.len);
	if (s.len > 0)
		memcpy(p + 2, s.p, s.len);
	return p + 2 + s.len;
}

/*
 * Encodes r as an events.db value, version 1 (integers big-endian):
 *
 *   0  u8   version (1)          18  u32  attempts
 *   1  u8   state                22  u64  body_len
 *   2  i64  received_ms          30  u16 length + bytes: type
 *  10  i64  due_ms (0: none)         u16 length + bytes: created_at
 *                                    u16 length + bytes: route ("": none)
 *
 * A later layout gets a new version byte; readers refuse one they do
 * not know. Returns a malloc'd buffer the caller frees and its length in
 * *len, or NULL when a string is longer than REC_STR_MAX.
 */
unsigned char *
rec_encode(const struct rec *r, size_t *len)
{
	unsigned char *buf, *p;

	if (r->type.len > REC_STR_MAX || r->created_at.len > REC_STR_MAX ||
	    r->route.len > REC_STR_MAX)
		return NULL;
	*len = REC_FIXED + 6 + r->type.len + r->created_at.len + r->route.len;
	p = buf = xmalloc(*len);
	*p++ = REC_VERSION;
	*p++ = (unsigned char)r->state;
	be64_put(p, (uint64_t)r->received_ms);
	be64_put(p + 8, (uint64_t)r->due_ms);
	be32_put(p + 16, r->attempts);
	be64_put(p + 20, r->body_len);
	p = rec_put_str(p + 28, r->type);
	p = rec_put_str(p, r->created_at);
	(void)rec_put_str(p, r->route);
	return buf;
}

/* Reads a length-prefixed string at *p, not past end. Returns 0 or -1. */
static int
rec_get_str(const unsigned char **p, const unsigned char *end,
    struct span *s)
{
	if (end - *p < 2)
		return -1;
	s->len = be16_get(*p);
	if ((size_t)(end - *p - 2) < s->len)
		return -1;
	s->p = (const char *)*p + 2;
	*p += 2 + s->len;
	return 0;
}

/* Decodes an event record into r, which points into buf. Returns 0 or -1. */
int
rec_decode(const unsigned char *buf, size_t len, struct rec *r)
{
	const unsigned char *p = buf, *end = buf + len;

	if (len < REC_FIXED || p[0] != REC_VERSION ||
	    p[1] < STATE_QUEUED || p[1] > STATE_IGNORED)
		return -1;
	r->state = (enum event_state)p[1];
	r->received_ms = (int64_t)be64_get(p + 2);
	r->due_ms = (int64_t)be64_get(p + 10);
	r->attempts = be32_get(p + 18);
	r->body_len = be64_get(p + 22);
	p += REC_FIXED;
	if (rec_get_str(&p, end, &r->type) == -1 ||
	    rec_get_str(&p, end, &r->created_at) == -1 ||
	    rec_get_str(&p, end, &r->route) == -1 || p != end)
		return -1;
	return 0;
}

/*
 * Encodes one attempt as an attempts.db value, version 1 (integers
 * big-endian, signed ones two's complement):
 *
 *   0  u8   version (1)          22  i32  status
 *   1  u32  attempt              26  i32  signal
 *   5  i64  start_ms             30  i32  spawn_error
 *  13  i64  duration_ms          34  u32  output length
 *  21  u8   flags: 1 exited,     38  the output bytes
 *                  2 timed out
 *
 * Returns a malloc'd buffer the caller frees and its length in *len, or
 * NULL when the output is too long for the length field.
 */
unsigned char *
att_encode(uint32_t attempt, const struct store_attempt *at, size_t *len)
{
	unsigned char *buf, *p;

	if (at->output_len > UINT32_MAX - ATT_FIXED)
		return NULL;
	*len = ATT_FIXED + at->output_len;
	p = buf = xmalloc(*len);
	*p++ = ATT_VERSION;
	be32_put(p, attempt);
	be64_put(p + 4, (uint64_t)at->start_ms);
	be64_put(p + 12, (uint64_t)at->duration_ms);
	p[20] = (at->exited ? ATT_EXITED : 0) |
	    (at->timed_out ? ATT_TIMED_OUT : 0);
	be32_put(p + 21, (uint32_t)at->status);
	be32_put(p + 25, (uint32_t)at->signal);
	be32_put(p + 29, (uint32_t)at->spawn_error);
	be32_put(p + 33, (uint32_t)at->output_len);
	if (at->output_len > 0)
		memcpy(p + 37, at->output, at->output_len);
	return buf;
}

/*
 * Decodes an attempts.db value into ai, whose a.output points into buf.
 * Returns 0 or -1.
 */
int
att_decode(const unsigned char *buf, size_t len,
    struct store_attempt_info *ai)
{
	const unsigned char *p = buf + 1;

	if (len < ATT_FIXED || buf[0] != ATT_VERSION ||
	    be32_get(p + 33) != len - ATT_FIXED)
		return -1;
	memset(ai, 0, sizeof(*ai));
	ai->attempt = be32_get(p);
	ai->a.start_ms = (int64_t)be64_get(p + 4);
	ai->a.duration_ms = (int64_t)be64_get(p + 12);
	ai->a.exited = (p[20] & ATT_EXITED) != 0;
	ai->a.timed_out = (p[20] & ATT_TIMED_OUT) != 0;
	ai->a.status = (int32_t)be32_get(p + 21);
	ai->a.signal = (int32_t)be32_get(p + 25);
	ai->a.spawn_error = (int32_t)be32_get(p + 29);
	ai->a.output = (const char *)buf + ATT_FIXED;
	ai->a.output_len = len - ATT_FIXED;
	return 0;
}

/* Copies s into a NUL-terminated buffer of size n, cutting if needed. */
void
span_copy(char *dst, size_t n, struct span s)
{
	size_t len = s.len < n - 1 ? s.len : n - 1;

	memcpy(dst, s.p, len);
	dst[len] = '\0';
}

void
rec_to_info(const struct rec *r, struct store_event_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = r->state;
	info->received_ms = r->received_ms;
	info->due_ms = r->due_ms;
	info->attempts = r->attempts;
	info->body_len = r->body_len;
	span_copy(info->type, sizeof(info->type), r->type);
	span_copy(info->created_at, sizeof(info->created_at), r->created_at);
	span_copy(info->route, sizeof(info->route), r->route);
}

struct span
span_str(const char *s)
{
	struct span sp;

	sp.p = s != NULL ? s : "";
	sp.len = strlen(sp.p);
	return sp;
}

/* A DBT that lends len bytes at p to Berkeley DB for one call. */
void
dbt_in(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)(uintptr_t)p;
	d->size = (u_int32_t)len;
}

/* A DBT into which Berkeley DB returns a malloc'd copy (DB_THREAD). */
void
dbt_out(DBT *d, u_int32_t flags)
{
	memset(d, 0, sizeof(*d));
	d->flags = flags;
}

void
time_key_make(struct time_key *k, int64_t ms, const char *id, size_t id_len)
{
	be64_put(k->b, (uint64_t)ms);
	memcpy(k->b + 8, id, id_len);
	k->len = 8 + id_len;
}

int64_t
time_key_ms(const struct time_key *k)
{
	return (int64_t)be64_get(k->b);
}

const char *
time_key_id(const struct time_key *k)
{
	return (const char *)k->b + 8;
}
