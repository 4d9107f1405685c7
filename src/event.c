/*
 * event.c -- one delivered body into a checked event: parse it once with
 * json-c, check the envelope of SPEC.md "The events", route the type, and
 * check the `require` paths of the route. Pure: no I/O, no logging.
 *
 * The body is never re-serialised: the script gets the raw bytes, and the
 * only values read out of the tree are the ones validation needs.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json_object.h>
#include <json_tokener.h>

#include "event.h"
#include "util.h"

#define XSTR(x)		STR(x)
#define STR(x)		#x

#define NOT_JSON	"body is not valid JSON: "
#define TOO_DEEP	"nested deeper than " XSTR(EVENT_MAX_DEPTH)

/*
 * Sets a reason for a 400 and returns EVENT_BAD_JSON. A refused body
 * leaves no tree behind, even one json-c did build (an array, say).
 */
static enum event_status
bad_json(struct event *ev, const char *why)
{
	json_object_put(ev->root);
	ev->root = NULL;
	snprintf(ev->error, sizeof(ev->error), "%s", why);
	return EVENT_BAD_JSON;
}

/* Names the field path that failed and returns EVENT_INVALID. */
static enum event_status
invalid(struct event *ev, const char *path)
{
	snprintf(ev->error, sizeof(ev->error), "%s", path);
	return EVENT_INVALID;
}

/*
 * Length of the well-formed UTF-8 sequence that starts with the non-ASCII
 * byte at p, or 0. This is RFC 3629's table: no overlong forms, no
 * surrogates, nothing above U+10FFFF, which json-c's own check lets by.
 */
static size_t
utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t i, n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/*
 * One pass over the raw bytes before json-c sees them, for what json-c
 * does not check the way SPEC.md means it: strict UTF-8, and the depth in
 * containers. json-c counts a scalar leaf as a level too, so by its count
 * {"a":1} is deeper than {"a":{}}; here a document is as deep as its most
 * nested object or array. Single quotes, which json-c accepts even in
 * strict mode, are refused because they would hide brackets from this
 * scan. Only valid JSON must be scanned right: anything else json-c
 * refuses anyway. Returns NULL, or the reason the body is refused.
 */
static const char *
scan_body(const unsigned char *p, size_t len)
{
	size_t i, n;
	int depth = 0, instr = 0, esc = 0;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		return NOT_JSON "starts with a byte order mark";
	for (i = 0; i < len; i += n) {
		n = 1;
		if (p[i] >= 0x80) {
			if ((n = utf8_len(p + i, len - i)) == 0)
				return NOT_JSON "invalid UTF-8";
			esc = 0;
		} else if (instr) {
			/*
			 * json-c cuts object keys at an escaped NUL, so
			 * {"id":"a","id\u0000x":"b"} would give another id
			 * than other parsers see: NUL is refused everywhere.
			 */
			if (esc && p[i] == 'u' && len - i >= 5 &&
			    memcmp(p + i + 1, "0000", 4) == 0)
				return NOT_JSON "\\u0000 (NUL) is not accepted";
			if (esc)
				esc = 0;
			else if (p[i] == '\\')
				esc = 1;
			else if (p[i] == '"')
				instr = 0;
		} else if (p[i] == '"')
			instr = 1;
		else if (p[i] == '{' || p[i] == '[') {
			if (++depth > EVENT_MAX_DEPTH)
				return TOO_DEEP;
		} else if (p[i] == '}' || p[i] == ']') {
			if (depth > 0)
				depth--;
		} else if (p[i] == '\'')
			return NOT_JSON "single-quoted string";
	}
	return NULL;
}

/* The 400 reason for a json-c tokener error. */
static const char *
tokener_reason(enum json_tokener_error jerr)
{
	switch (jerr) {
	case json_tokener_continue:
		return NOT_JSON "unexpected end of data";
	case json_tokener_error_depth:
		return TOO_DEEP;
	case json_tokener_error_parse_utf8_string:
		return NOT_JSON "invalid UTF-8";
	default:
		return NULL;
	}
}

/* JSON's own whitespace (RFC 8259), the only thing allowed after the value. */
static int
is_json_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Runs json-c once over the body and then over the '\0' that json-c wants
 * at the end of input: a bare number or literal is not complete before it.
 * Returns the value, owned by the caller, or NULL; *jerr says why, and
 * *end is how much of the body the value took.
 */
static struct json_object *
tokenize(const unsigned char *body, size_t len, enum json_tokener_error *jerr,
    size_t *end)
{
	struct json_tokener *tok;
	struct json_object *root;

	/*
	 * json-c refuses a document when its stack of values, scalar leaf
	 * included, exceeds the limit: 64 containers plus a leaf need 65.
	 * scan_body() has already enforced the 64 that SPEC.md means.
	 */
	if ((tok = json_tokener_new_ex(EVENT_MAX_DEPTH + 1)) == NULL)
		fatal_oom();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, (const char *)body, (int)len);
	*end = json_tokener_get_parse_end(tok);
	if ((*jerr = json_tokener_get_error(tok)) == json_tokener_continue) {
		root = json_tokener_parse_ex(tok, "", 1);
		*jerr = json_tokener_get_error(tok);
		*end = len;
	}
	json_tokener_free(tok);
	return root;
}

/*
 * Parses the whole body into ev->root, which then owns the tree, and
 * checks that it is one object with nothing after it but whitespace.
 */
static enum event_status
parse_body(struct event *ev, const unsigned char *body, size_t len)
{
	enum json_tokener_error jerr;
	const char *why;
	char buf[128];
	size_t end;

	if (len > INT_MAX)
		return bad_json(ev, "body too large to parse");
	if (len == 0)
		return bad_json(ev, NOT_JSON "empty body");
	if ((why = scan_body(body, len)) != NULL)
		return bad_json(ev, why);

	ev->root = tokenize(body, len, &jerr, &end);
	if (jerr != json_tokener_success) {
		if ((why = tokener_reason(jerr)) == NULL) {
			snprintf(buf, sizeof(buf), NOT_JSON "%s",
			    json_tokener_error_desc(jerr));
			why = buf;
		}
		return bad_json(ev, why);
	}
	while (end < len && is_json_space(body[end]))
		end++;
	if (end != len)
		return bad_json(ev, NOT_JSON "data after the object");
	/* A JSON null parses to NULL, which is not an object either. */
	if (!json_object_is_type(ev->root, json_type_object))
		return bad_json(ev, "body is not a JSON object");
	return EVENT_OK;
}

/*
 * The string value of the top-level key, borrowed from root, with its
 * length in *len; NULL when the key is absent or its value is not a string.
 */
static const char *
string_field(struct json_object *root, const char *key, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(root, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/*
 * Checks id, type, created_at and data in that order, and points ev's
 * fields into the tree. type and created_at are handed on as C strings,
 * so one with a \u0000 inside is refused rather than cut short.
 */
static enum event_status
check_envelope(struct event *ev)
{
	struct json_object *data;
	const char *s;
	size_t len;

	if ((s = string_field(ev->root, "id", &len)) == NULL ||
	    !event_valid_id(s, len))
		return invalid(ev, "id");
	ev->id = s;
	ev->id_len = len;

	if ((s = string_field(ev->root, "type", &len)) == NULL ||
	    memchr(s, '\0', len) != NULL || !event_valid_type(s))
		return invalid(ev, "type");
	ev->type = s;

	if ((s = string_field(ev->root, "created_at", &len)) == NULL ||
	    memchr(s, '\0', len) != NULL || !event_valid_timestamp(s))
		return invalid(ev, "created_at");
	ev->created_at = s;

	if (!json_object_object_get_ex(ev->root, "data", &data) ||
	    !json_object_is_type(data, json_type_object))
		return invalid(ev, "data");
	return EVENT_OK;
}

/*
 * The value at a dotted path from root, borrowed from the tree, or NULL
 * when a key is missing, a step is not an object, or the value is JSON
 * null: `require = data.email` asks for an email, and null is none.
 */
static struct json_object *
lookup_path(struct json_object *root, const char *path)
{
	struct json_object *cur = root;
	char *copy, *seg, *dot;

	copy = xstrdup(path);
	for (seg = copy; cur != NULL; seg = dot + 1) {
		if ((dot = strchr(seg, '.')) != NULL)
			*dot = '\0';
		if (!json_object_is_type(cur, json_type_object) ||
		    !json_object_object_get_ex(cur, seg, &cur))
			cur = NULL;
		if (dot == NULL)
			break;
	}
	free(copy);
	return cur;
}

/* Whether v, not NULL, has the JSON type a `require` path asks for. */
static int
has_type(struct json_object *v, enum req_type type)
{
	switch (type) {
	case REQ_ANY:
		return 1;
	case REQ_STRING:
		return json_object_is_type(v, json_type_string);
	case REQ_NUMBER:
		return json_object_is_type(v, json_type_int) ||
		    json_object_is_type(v, json_type_double);
	case REQ_OBJECT:
		return json_object_is_type(v, json_type_object);
	case REQ_ARRAY:
		return json_object_is_type(v, json_type_array);
	case REQ_BOOL:
		return json_object_is_type(v, json_type_boolean);
	}
	return 0;
}

/* Checks every `require` path of the route, in the order written. */
static enum event_status
check_require(struct event *ev, const struct route *r)
{
	struct json_object *v;
	size_t i;

	for (i = 0; i < r->nrequire; i++) {
		v = lookup_path(ev->root, r->require[i].path);
		if (v == NULL || !has_type(v, r->require[i].type))
			return invalid(ev, r->require[i].path);
	}
	return EVENT_OK;
}

enum event_status
event_parse(struct event *ev, const unsigned char *body, size_t len,
    const struct config *cfg)
{
	enum event_status st;

	memset(ev, 0, sizeof(*ev));
	if ((st = parse_body(ev, body, len)) != EVENT_OK)
		return st;
	if ((st = check_envelope(ev)) != EVENT_OK)
		return st;
	if ((ev->route = config_route(cfg, ev->type)) == NULL)
		return EVENT_UNROUTED;
	return check_require(ev, ev->route);
}

void
event_free(struct event *ev)
{
	if (ev == NULL)
		return;
	json_object_put(ev->root);
	ev->root = NULL;
	ev->id = ev->type = ev->created_at = NULL;
	ev->id_len = 0;
	ev->route = NULL;
}

/*
 * Non-empty, at most EVENT_ID_MAX bytes, and no control character: C0,
 * DEL, and the C1 range U+0080..U+009F in its UTF-8 form, since the id
 * ends up in logs, the environment and terminals (`hookgate list`).
 */
int
event_valid_id(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	if (len == 0 || len > EVENT_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

/* `resource.action`: [a-z0-9_] segments joined by dots, at least two. */
int
event_valid_type(const char *s)
{
	size_t seg = 0, len = 0;
	int dots = 0;

	for (; *s != '\0'; s++, len++) {
		if (*s == '.') {
			if (seg == 0)
				return 0;
			dots++;
			seg = 0;
		} else if ((*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_')
			seg++;
		else
			return 0;
	}
	return dots > 0 && seg > 0 && len <= EVENT_TYPE_MAX;
}

/*
 * Reads exactly n decimal digits into *v. The NUL that ends a short
 * string is not a digit, so this never reads past it.
 */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

/* Days in month m (1-12) of year y, proleptic Gregorian. */
static int
month_days(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return days[m - 1] + (m == 2 && leap);
}

/* "YYYY-MM-DD" at s, with a day that exists in that month. */
static int
valid_date(const char *s)
{
	int y, m, d;

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
	    s[7] != '-' || !digits(s + 8, 2, &d))
		return 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, m);
}

/* "HH:MM:SS" at s; second 60 is a leap second. */
static int
valid_time(const char *s)
{
	int h, m, sec;

	if (!digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &m) ||
	    s[5] != ':' || !digits(s + 6, 2, &sec))
		return 0;
	return h <= 23 && m <= 59 && sec <= 60;
}

/* After the seconds: an optional ".d+", then Z or +-HH:MM, then the end. */
static int
valid_tail(const char *s)
{
	int h, m;

	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return 0;
		for (s++; *s >= '0' && *s <= '9'; s++)
			continue;
	}
	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0';
	if (*s != '+' && *s != '-')
		return 0;
	if (!digits(s + 1, 2, &h) || s[3] != ':' || !digits(s + 4, 2, &m) ||
	    s[6] != '\0')
		return 0;
	return h <= 23 && m <= 59;
}

/*
 * RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+-HH:MM), T and Z in
 * either case. No space separator, no missing offset, no ISO 8601 forms
 * RFC 3339 leaves out (week dates, "+0530", comma fractions).
 */
int
event_valid_timestamp(const char *s)
{
	if (strlen(s) > EVENT_TIMESTAMP_MAX || !valid_date(s) ||
	    (s[10] != 'T' && s[10] != 't'))
		return 0;
	return valid_time(s + 11) && valid_tail(s + 19);
}
