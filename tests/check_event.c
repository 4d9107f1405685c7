/*
 * check_event.c -- event_parse() and the single-field rules, as tables:
 * every envelope rule good and bad, JSON that is not acceptable, the depth
 * boundary json-c is asked to keep, the five sample types of SPEC.md with
 * their `require` lines, typed requires and routing precedence.
 *
 * Configs are built by hand, so these tests depend on config_route() but
 * not on config_load().
 */

#include <limits.h>

#include <json_object.h>

#include "event.h"
#include "util.h"
#include "testutil.h"

#define TS	"2023-01-01T12:00:00Z"

/* An empty config; add routes with cfg_add(), free with cfg_free(). */
static struct config *
cfg_new(void)
{
	return xcalloc(1, sizeof(struct config));
}

/* Maps the word after a colon in a require spec, as config.c will. */
static enum req_type
req_type(const char *s)
{
	if (strcmp(s, "string") == 0)
		return REQ_STRING;
	if (strcmp(s, "number") == 0)
		return REQ_NUMBER;
	if (strcmp(s, "object") == 0)
		return REQ_OBJECT;
	if (strcmp(s, "array") == 0)
		return REQ_ARRAY;
	if (strcmp(s, "bool") == 0)
		return REQ_BOOL;
	ck_abort_msg("bad require type %s", s);
	return REQ_ANY;
}

/*
 * Appends a route for pattern with a `require` line as written in the
 * config file ("data.a data.b:object"; NULL for none). Pointers into
 * cfg->routes are valid only after the last cfg_add().
 */
static void
cfg_add(struct config *cfg, const char *pattern, const char *spec)
{
	struct route *r;
	struct require *q;
	char *copy, *word, *colon, *save;

	cfg->routes = xrealloc(cfg->routes,
	    (cfg->nroutes + 1) * sizeof(*cfg->routes));
	r = &cfg->routes[cfg->nroutes++];
	memset(r, 0, sizeof(*r));
	r->pattern = xstrdup(pattern);
	r->run = xstrdup("true");
	if (spec == NULL)
		return;
	copy = xstrdup(spec);
	for (word = strtok_r(copy, " ", &save); word != NULL;
	    word = strtok_r(NULL, " ", &save)) {
		r->require = xrealloc(r->require,
		    (r->nrequire + 1) * sizeof(*r->require));
		q = &r->require[r->nrequire++];
		q->type = REQ_ANY;
		if ((colon = strchr(word, ':')) != NULL) {
			*colon = '\0';
			q->type = req_type(colon + 1);
		}
		q->path = xstrdup(word);
	}
	free(copy);
}

static void
cfg_free(struct config *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nroutes; i++) {
		for (j = 0; j < cfg->routes[i].nrequire; j++)
			free(cfg->routes[i].require[j].path);
		free(cfg->routes[i].require);
		free(cfg->routes[i].pattern);
		free(cfg->routes[i].run);
	}
	free(cfg->routes);
	free(cfg);
}

/* The example config of SPEC.md: the five documented types. */
static struct config *
cfg_sample(void)
{
	struct config *cfg = cfg_new();

	cfg_add(cfg, "user.created", "data.user_id data.email data.username");
	cfg_add(cfg, "user.updated", "data.user_id data.changes:object");
	cfg_add(cfg, "user.deleted", "data.user_id");
	cfg_add(cfg, "project.created",
	    "data.project_id data.name data.owner_id");
	cfg_add(cfg, "project.updated", "data.project_id data.changes:object");
	return cfg;
}

/* A body with the given envelope and data, as a malloc'd string. */
static char *
body_with(const char *type, const char *data)
{
	return xasprintf("{\"id\":\"evt_1\",\"type\":\"%s\","
	    "\"created_at\":\"" TS "\",\"data\":%s}", type, data);
}

/*
 * event_parse() over len bytes of body, checking the status and, when
 * want_err is not NULL, that ev->error contains it (INVALID: equals it).
 */
static void
expect(const char *name, const char *body, size_t len,
    const struct config *cfg, enum event_status want, const char *want_err)
{
	struct event ev;
	enum event_status st;

	st = event_parse(&ev, (const unsigned char *)body, len, cfg);
	ck_assert_msg(st == want, "%s: status %d, want %d (error \"%s\")",
	    name, st, want, ev.error);
	if (want_err != NULL && want == EVENT_INVALID)
		ck_assert_msg(strcmp(ev.error, want_err) == 0,
		    "%s: error \"%s\", want \"%s\"", name, ev.error, want_err);
	else if (want_err != NULL)
		ck_assert_msg(strstr(ev.error, want_err) != NULL,
		    "%s: error \"%s\", want it to contain \"%s\"", name,
		    ev.error, want_err);
	if (st == EVENT_BAD_JSON)
		ck_assert_ptr_null(ev.root);
	event_free(&ev);
	ck_assert_ptr_null(ev.root);
}

/* --- single-field rules ------------------------------------------------ */

struct strcase {
	const char	*s;
	size_t		 len;	/* 0: strlen(s) */
	int		 ok;
};

static const struct strcase id_cases[] = {
	{ "evt_1", 0, 1 },
	{ "a", 0, 1 },
	{ "msg_2Kx9 with spaces/and:colons", 0, 1 },
	{ "\xc3\xa9v\xc3\xa9nement", 0, 1 },	/* UTF-8 é */
	{ "\xc2\xa0nbsp", 0, 1 },		/* U+00A0 is not a control */
	{ "", 0, 0 },
	{ "a\tb", 0, 0 },
	{ "a\nb", 0, 0 },
	{ "\x01", 0, 0 },
	{ "\x1f", 0, 0 },
	{ "a\x7f", 0, 0 },
	{ "a\0b", 3, 0 },			/* NUL inside */
	{ "a\xc2\x85", 0, 0 },			/* U+0085 NEL, C1 */
	{ "\xc2\x9b[31m", 0, 0 },		/* U+009B CSI, C1 */
};

START_TEST(valid_id_table)
{
	const struct strcase *c = &id_cases[_i];
	size_t len = c->len ? c->len : strlen(c->s);

	ck_assert_msg(event_valid_id(c->s, len) == c->ok,
	    "id case %d: want %d", _i, c->ok);
}
END_TEST

START_TEST(valid_id_length)
{
	char buf[EVENT_ID_MAX + 2];

	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(event_valid_id(buf, EVENT_ID_MAX), 1);
	ck_assert_int_eq(event_valid_id(buf, EVENT_ID_MAX + 1), 0);
	ck_assert_int_eq(event_valid_id(buf, 1), 1);
}
END_TEST

static const struct strcase type_cases[] = {
	{ "user.created", 0, 1 },
	{ "project.updated", 0, 1 },
	{ "a.b", 0, 1 },
	{ "a.b.c", 0, 1 },
	{ "user_account.password_reset", 0, 1 },
	{ "v2.item_3", 0, 1 },
	{ "_._", 0, 1 },
	{ "", 0, 0 },
	{ "user", 0, 0 },
	{ ".", 0, 0 },
	{ ".user.created", 0, 0 },
	{ "user.created.", 0, 0 },
	{ "user..created", 0, 0 },
	{ "User.created", 0, 0 },
	{ "user.Created", 0, 0 },
	{ "user-account.created", 0, 0 },
	{ "user.created ", 0, 0 },
	{ " user.created", 0, 0 },
	{ "user.*", 0, 0 },
	{ "*", 0, 0 },
	{ "user/created.x", 0, 0 },
	{ "user.cr\xc3\xa9\xc3\xa9", 0, 0 },
};

START_TEST(type_and_timestamp_lengths)
{
	char buf[300];

	/* 255 bytes is the most a type may have: it goes into the env. */
	memset(buf, 'a', sizeof(buf));
	buf[1] = '.';
	buf[255] = '\0';
	ck_assert_int_eq(event_valid_type(buf), 1);
	buf[255] = 'a';
	buf[256] = '\0';
	ck_assert_int_eq(event_valid_type(buf), 0);
	snprintf(buf, sizeof(buf), "2023-01-01T12:00:00.%0*dZ", 42, 1);
	ck_assert_int_eq(event_valid_timestamp(buf), 1);	/* 63 chars */
	snprintf(buf, sizeof(buf), "2023-01-01T12:00:00.%0*dZ", 43, 1);
	ck_assert_int_eq(event_valid_timestamp(buf), 0);
}
END_TEST

START_TEST(valid_type_table)
{
	const struct strcase *c = &type_cases[_i];

	ck_assert_msg(event_valid_type(c->s) == c->ok,
	    "type \"%s\": want %d", c->s, c->ok);
}
END_TEST

static const struct strcase ts_cases[] = {
	{ "2023-01-01T12:00:00Z", 0, 1 },
	{ "2023-01-01t12:00:00z", 0, 1 },
	{ "2023-01-01T12:00:00z", 0, 1 },
	{ "2024-02-29T00:00:00Z", 0, 1 },	/* leap year */
	{ "2000-02-29T00:00:00Z", 0, 1 },	/* divisible by 400 */
	{ "2023-01-31T23:59:59Z", 0, 1 },
	{ "2023-04-30T00:00:00Z", 0, 1 },
	{ "2023-12-31T23:59:60Z", 0, 1 },	/* leap second */
	{ "2023-01-01T12:00:00.5Z", 0, 1 },
	{ "2023-01-01T12:00:00.123Z", 0, 1 },
	{ "2023-01-01T12:00:00.123456789Z", 0, 1 },
	{ "2023-01-01T12:00:00+05:30", 0, 1 },
	{ "2023-01-01T12:00:00-08:00", 0, 1 },
	{ "2023-01-01T12:00:00-00:00", 0, 1 },
	{ "2023-01-01T12:00:00.25+23:59", 0, 1 },
	{ "0001-01-01T00:00:00Z", 0, 1 },
	{ "9999-12-31T23:59:59Z", 0, 1 },
	{ "", 0, 0 },
	{ "2023-01-01", 0, 0 },
	{ "2023-01-01T12:00:00", 0, 0 },	/* no offset */
	{ "2023-01-01 12:00:00Z", 0, 0 },	/* space separator */
	{ "2023-01-01_12:00:00Z", 0, 0 },
	{ "2023-02-29T00:00:00Z", 0, 0 },	/* not a leap year */
	{ "1900-02-29T00:00:00Z", 0, 0 },	/* century, not leap */
	{ "2023-04-31T00:00:00Z", 0, 0 },
	{ "2023-01-32T00:00:00Z", 0, 0 },
	{ "2023-00-01T00:00:00Z", 0, 0 },
	{ "2023-13-01T00:00:00Z", 0, 0 },
	{ "2023-01-00T00:00:00Z", 0, 0 },
	{ "2023-01-01T24:00:00Z", 0, 0 },
	{ "2023-01-01T12:60:00Z", 0, 0 },
	{ "2023-01-01T12:00:61Z", 0, 0 },
	{ "2023-01-01T12:00Z", 0, 0 },		/* no seconds */
	{ "2023-01-01T12:00:00.Z", 0, 0 },	/* empty fraction */
	{ "2023-01-01T12:00:00,5Z", 0, 0 },	/* ISO comma fraction */
	{ "2023-01-01T12:00:00+0530", 0, 0 },
	{ "2023-01-01T12:00:00+05", 0, 0 },
	{ "2023-01-01T12:00:00+24:00", 0, 0 },
	{ "2023-01-01T12:00:00+05:60", 0, 0 },
	{ "2023-01-01T12:00:00ZZ", 0, 0 },
	{ "2023-01-01T12:00:00Z ", 0, 0 },
	{ " 2023-01-01T12:00:00Z", 0, 0 },
	{ "2023-1-01T12:00:00Z", 0, 0 },
	{ "23-01-01T12:00:00Z", 0, 0 },
	{ "+2023-01-01T12:00:00Z", 0, 0 },
	{ "2023/01/01T12:00:00Z", 0, 0 },
	{ "2023-01-01T1:00:00Z", 0, 0 },
	{ "1672574400", 0, 0 },			/* unix seconds */
};

START_TEST(valid_timestamp_table)
{
	const struct strcase *c = &ts_cases[_i];

	ck_assert_msg(event_valid_timestamp(c->s) == c->ok,
	    "timestamp \"%s\": want %d", c->s, c->ok);
}
END_TEST

/* --- envelope through event_parse() ----------------------------------- */

struct pcase {
	const char		*name;
	const char		*body;
	size_t			 len;	/* 0: strlen(body) */
	enum event_status	 want;
	const char		*error;	/* INVALID: equal; else contained */
};

#define ENV(id, type, ts, data) \
	"{\"id\":" id ",\"type\":" type ",\"created_at\":" ts \
	",\"data\":" data "}"
#define GOOD(id)	ENV(id, "\"a.b\"", "\"" TS "\"", "{}")

static const struct pcase envelope_cases[] = {
	{ "valid", GOOD("\"evt_1\""), 0, EVENT_OK, NULL },
	{ "id empty", GOOD("\"\""), 0, EVENT_INVALID, "id" },
	{ "id number", GOOD("1"), 0, EVENT_INVALID, "id" },
	{ "id null", GOOD("null"), 0, EVENT_INVALID, "id" },
	{ "id object", GOOD("{}"), 0, EVENT_INVALID, "id" },
	{ "id \\u0001", GOOD("\"a\\u0001\""), 0, EVENT_INVALID, "id" },
	{ "id \\u0000", GOOD("\"a\\u0000b\""), 0, EVENT_BAD_JSON, NULL },
	{ "\\u0000 in a key", "{\"id\":\"a\",\"id\\u0000x\":\"b\"}", 0,
	  EVENT_BAD_JSON, NULL },
	{ "id \\n", GOOD("\"a\\nb\""), 0, EVENT_INVALID, "id" },
	{ "id \\u007f", GOOD("\"a\\u007f\""), 0, EVENT_INVALID, "id" },
	{ "id \\u0085", GOOD("\"a\\u0085\""), 0, EVENT_INVALID, "id" },
	{ "id raw ^A", GOOD("\"a\x01\""), 0, EVENT_INVALID, "id" },
	{ "id unicode", GOOD("\"\\u00e9v\xc3\xa9nement\""), 0, EVENT_OK, NULL },
	{ "id missing",
	  "{\"type\":\"a.b\",\"created_at\":\"" TS "\",\"data\":{}}", 0,
	  EVENT_INVALID, "id" },
	{ "type missing",
	  "{\"id\":\"e\",\"created_at\":\"" TS "\",\"data\":{}}", 0,
	  EVENT_INVALID, "type" },
	{ "type number", ENV("\"e\"", "3", "\"" TS "\"", "{}"), 0,
	  EVENT_INVALID, "type" },
	{ "type no dot", ENV("\"e\"", "\"user\"", "\"" TS "\"", "{}"), 0,
	  EVENT_INVALID, "type" },
	{ "type upper", ENV("\"e\"", "\"User.created\"", "\"" TS "\"", "{}"),
	  0, EVENT_INVALID, "type" },
	{ "type \\u0000", ENV("\"e\"", "\"a.b\\u0000c\"", "\"" TS "\"", "{}"),
	  0, EVENT_BAD_JSON, NULL },
	{ "created_at missing", "{\"id\":\"e\",\"type\":\"a.b\",\"data\":{}}",
	  0, EVENT_INVALID, "created_at" },
	{ "created_at number", ENV("\"e\"", "\"a.b\"", "1672574400", "{}"), 0,
	  EVENT_INVALID, "created_at" },
	{ "created_at no Z",
	  ENV("\"e\"", "\"a.b\"", "\"2023-01-01T12:00:00\"", "{}"), 0,
	  EVENT_INVALID, "created_at" },
	{ "created_at 2023-02-29",
	  ENV("\"e\"", "\"a.b\"", "\"2023-02-29T12:00:00Z\"", "{}"), 0,
	  EVENT_INVALID, "created_at" },
	{ "created_at 2024-02-29",
	  ENV("\"e\"", "\"a.b\"", "\"2024-02-29T12:00:00Z\"", "{}"), 0,
	  EVENT_OK, NULL },
	{ "created_at \\u0000 after",
	  ENV("\"e\"", "\"a.b\"", "\"" TS "\\u0000junk\"", "{}"), 0,
	  EVENT_BAD_JSON, NULL },
	{ "data missing",
	  "{\"id\":\"e\",\"type\":\"a.b\",\"created_at\":\"" TS "\"}", 0,
	  EVENT_INVALID, "data" },
	{ "data array", ENV("\"e\"", "\"a.b\"", "\"" TS "\"", "[]"), 0,
	  EVENT_INVALID, "data" },
	{ "data null", ENV("\"e\"", "\"a.b\"", "\"" TS "\"", "null"), 0,
	  EVENT_INVALID, "data" },
	{ "data string", ENV("\"e\"", "\"a.b\"", "\"" TS "\"", "\"{}\""), 0,
	  EVENT_INVALID, "data" },
	/* Order: the first failing field of id, type, created_at, data. */
	{ "order id first", ENV("1", "2", "3", "4"), 0, EVENT_INVALID, "id" },
	{ "order type second", ENV("\"e\"", "2", "3", "4"), 0,
	  EVENT_INVALID, "type" },
	{ "order created_at third", ENV("\"e\"", "\"a.b\"", "3", "4"), 0,
	  EVENT_INVALID, "created_at" },
	{ "fields in any order",
	  "{\"data\":{},\"created_at\":\"" TS "\",\"type\":\"a.b\","
	  "\"id\":\"e\"}",
	  0, EVENT_OK, NULL },
};

START_TEST(envelope_table)
{
	const struct pcase *c = &envelope_cases[_i];
	struct config *cfg = cfg_new();

	cfg_add(cfg, "*", NULL);
	expect(c->name, c->body, c->len ? c->len : strlen(c->body), cfg,
	    c->want, c->error);
	cfg_free(cfg);
}
END_TEST

/* An id of n bytes, through the whole parser. */
static enum event_status
parse_id_of(size_t n)
{
	struct config *cfg = cfg_new();
	struct event ev;
	enum event_status st;
	char *id, *body;

	id = xmalloc(n + 1);
	memset(id, 'k', n);
	id[n] = '\0';
	body = xasprintf("{\"id\":\"%s\",\"type\":\"a.b\",\"created_at\":\""
	    TS "\",\"data\":{}}", id);
	cfg_add(cfg, "*", NULL);
	st = event_parse(&ev, (const unsigned char *)body, strlen(body), cfg);
	if (st == EVENT_OK)
		ck_assert_uint_eq(ev.id_len, n);
	else
		ck_assert_str_eq(ev.error, "id");
	event_free(&ev);
	free(body);
	free(id);
	cfg_free(cfg);
	return st;
}

START_TEST(id_length_boundary)
{
	ck_assert_int_eq(parse_id_of(1), EVENT_OK);
	ck_assert_int_eq(parse_id_of(EVENT_ID_MAX), EVENT_OK);
	ck_assert_int_eq(parse_id_of(EVENT_ID_MAX + 1), EVENT_INVALID);
}
END_TEST

/* The fields point into the tree, and extra top-level fields stay there. */
START_TEST(fields_and_extras)
{
	static const char body[] = "{\"id\":\"evt_\\u0041\",\"type\":"
	    "\"user.created\",\"created_at\":\"2023-01-01T12:00:00.5+01:00\","
	    "\"data\":{\"user_id\":1,\"email\":\"a@b\",\"username\":\"a\"},"
	    "\"api_version\":\"2024-01\",\"meta\":{\"source\":\"crm\"},"
	    "\"tags\":[1,2]}";
	struct config *cfg = cfg_sample();
	struct json_object *v;
	struct event ev;

	ck_assert_int_eq(event_parse(&ev, (const unsigned char *)body,
	    strlen(body), cfg), EVENT_OK);
	ck_assert_str_eq(ev.id, "evt_A");
	ck_assert_uint_eq(ev.id_len, 5);
	ck_assert_str_eq(ev.type, "user.created");
	ck_assert_str_eq(ev.created_at, "2023-01-01T12:00:00.5+01:00");
	ck_assert_ptr_eq(ev.route, &cfg->routes[0]);
	ck_assert_str_eq(ev.error, "");
	ck_assert(json_object_object_get_ex(ev.root, "api_version", &v));
	ck_assert(json_object_object_get_ex(ev.root, "meta", &v));
	ck_assert(json_object_object_get_ex(ev.root, "tags", &v));
	event_free(&ev);
	ck_assert_ptr_null(ev.root);
	event_free(&ev);	/* idempotent */
	event_free(NULL);
	cfg_free(cfg);
}
END_TEST

/* --- JSON that is refused --------------------------------------------- */

#define OKBODY	GOOD("\"e\"")

static const struct pcase json_cases[] = {
	{ "empty", "", 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "not JSON", "hello", 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "form data", "id=1&type=a.b", 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "array", "[]", 0, EVENT_BAD_JSON, "not a JSON object" },
	{ "array of envelope", "[" OKBODY "]", 0, EVENT_BAD_JSON,
	  "not a JSON object" },
	{ "string", "\"x\"", 0, EVENT_BAD_JSON, "not a JSON object" },
	{ "number", "1", 0, EVENT_BAD_JSON, "not a JSON object" },
	{ "number and space", "1 ", 0, EVENT_BAD_JSON, "not a JSON object" },
	{ "null", "null", 0, EVENT_BAD_JSON, "not a JSON object" },
	{ "true", "true", 0, EVENT_BAD_JSON, "not a JSON object" },
	{ "trailing garbage", OKBODY "x", 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "two objects", OKBODY OKBODY, 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "trailing comma", OKBODY ",", 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "trailing NUL", OKBODY "\0", sizeof(OKBODY), EVENT_BAD_JSON,
	  "data after the object" },
	{ "trailing whitespace", OKBODY " \t\r\n ", 0, EVENT_OK, NULL },
	{ "leading whitespace", " \r\n\t" OKBODY, 0, EVENT_OK, NULL },
	{ "trailing comment", OKBODY "/**/", 0, EVENT_BAD_JSON,
	  "not valid JSON" },
	{ "truncated", "{\"id\":\"e\",\"type\":", 0, EVENT_BAD_JSON,
	  "unexpected end of data" },
	{ "truncated string", "{\"id\":\"e", 0, EVENT_BAD_JSON,
	  "not valid JSON" },
	{ "open brace", "{", 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "single quotes", "{'id':'e'}", 0, EVENT_BAD_JSON, "not valid JSON" },
	/* json-c takes single-quoted keys even in strict mode. */
	{ "single-quoted key", ENV("\"e\"", "\"a.b\"", "\"" TS "\"",
	  "{'k':1}"), 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "unquoted key", "{id:1}", 0, EVENT_BAD_JSON, "not valid JSON" },
	{ "invalid UTF-8 ff", GOOD("\"a\xff\""), 0, EVENT_BAD_JSON,
	  "invalid UTF-8" },
	{ "invalid UTF-8 lone continuation", GOOD("\"a\x80\""), 0,
	  EVENT_BAD_JSON, "invalid UTF-8" },
	{ "overlong /", GOOD("\"a\xc0\xaf\""), 0, EVENT_BAD_JSON,
	  "invalid UTF-8" },
	{ "overlong NUL", GOOD("\"a\xc0\x80\""), 0, EVENT_BAD_JSON,
	  "invalid UTF-8" },
	{ "overlong 3-byte", GOOD("\"a\xe0\x80\xaf\""), 0, EVENT_BAD_JSON,
	  "invalid UTF-8" },
	{ "UTF-8 surrogate", GOOD("\"a\xed\xa0\x80\""), 0, EVENT_BAD_JSON,
	  "invalid UTF-8" },
	{ "above U+10FFFF", GOOD("\"a\xf4\x90\x80\x80\""), 0, EVENT_BAD_JSON,
	  "invalid UTF-8" },
	{ "cut sequence in a string", GOOD("\"a\xe2\x82\""), 0,
	  EVENT_BAD_JSON, "invalid UTF-8" },
	{ "cut sequence at the end", OKBODY "\xe2\x82", 0, EVENT_BAD_JSON,
	  "invalid UTF-8" },
	{ "invalid UTF-8 in data", ENV("\"e\"", "\"a.b\"", "\"" TS "\"",
	  "{\"k\":\"\xfe\"}"), 0, EVENT_BAD_JSON, "invalid UTF-8" },
	{ "valid 4-byte UTF-8", GOOD("\"\xf0\x9f\x98\x80\""), 0, EVENT_OK,
	  NULL },
	{ "valid U+FFFF and U+10FFFF", GOOD("\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\""),
	  0, EVENT_OK, NULL },
	{ "byte order mark", "\xef\xbb\xbf" OKBODY, 0, EVENT_BAD_JSON,
	  "byte order mark" },
	{ "brackets in strings do not nest", ENV("\"e\"", "\"a.b\"",
	  "\"" TS "\"", "{\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{\"}"), 0, EVENT_OK, NULL },
};

START_TEST(json_table)
{
	const struct pcase *c = &json_cases[_i];
	struct config *cfg = cfg_new();

	cfg_add(cfg, "*", NULL);
	expect(c->name, c->body, c->len ? c->len : strlen(c->body), cfg,
	    c->want, c->error);
	cfg_free(cfg);
}
END_TEST

/* The length check comes before the body is touched. */
START_TEST(body_over_int_max)
{
	struct config *cfg = cfg_new();

	cfg_add(cfg, "*", NULL);
	expect("INT_MAX + 1", "{}", (size_t)INT_MAX + 1, cfg, EVENT_BAD_JSON,
	    "too large");
	cfg_free(cfg);
}
END_TEST

/*
 * A valid event whose whole document is levels deep: the root, data, and
 * levels - 2 more containers inside data. leaf says what the innermost
 * container holds: 0 nothing, 1 a number; arrays says the inner ones are
 * arrays rather than objects.
 */
static char *
nested_body(int levels, int leaf, int arrays)
{
	size_t cap = (size_t)levels * 8 + 256, n;
	char *b = xmalloc(cap);
	int i;

	n = (size_t)snprintf(b, cap, "{\"id\":\"e\",\"type\":\"a.b\","
	    "\"created_at\":\"" TS "\",\"data\":{");
	/* A value needs a key when its parent is an object. */
	for (i = 2; i < levels; i++)
		n += (size_t)snprintf(b + n, cap - n, "%s%c",
		    i == 2 || !arrays ? "\"k\":" : "", arrays ? '[' : '{');
	if (leaf)
		n += (size_t)snprintf(b + n, cap - n, "%s",
		    arrays && levels > 2 ? "1" : "\"k\":1");
	for (i = 2; i < levels; i++)
		b[n++] = arrays ? ']' : '}';
	b[n++] = '}';
	b[n++] = '}';
	b[n] = '\0';
	return b;
}

/* SPEC.md: "nested deeper than 64" is refused, so 64 levels are not. */
START_TEST(depth_boundary)
{
	static const struct {
		int	levels;
		int	leaf;
		int	arrays;
		int	ok;
	} cases[] = {
		{ 2, 0, 0, 1 }, { 2, 1, 0, 1 },
		{ 63, 0, 0, 1 }, { 63, 1, 0, 1 }, { 63, 1, 1, 1 },
		{ 64, 0, 0, 1 }, { 64, 1, 0, 1 }, { 64, 0, 1, 1 },
		{ 64, 1, 1, 1 },
		{ 65, 0, 0, 0 }, { 65, 1, 0, 0 }, { 65, 0, 1, 0 },
		{ 65, 1, 1, 0 },
		{ 66, 1, 0, 0 }, { 1000, 1, 1, 0 },
	};
	struct config *cfg = cfg_new();
	char name[64];
	char *body;
	size_t i;

	cfg_add(cfg, "*", NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = nested_body(cases[i].levels, cases[i].leaf,
		    cases[i].arrays);
		snprintf(name, sizeof(name), "%d levels, leaf %d, arrays %d",
		    cases[i].levels, cases[i].leaf, cases[i].arrays);
		expect(name, body, strlen(body), cfg,
		    cases[i].ok ? EVENT_OK : EVENT_BAD_JSON,
		    cases[i].ok ? NULL : "nested deeper than 64");
		free(body);
	}
	cfg_free(cfg);
}
END_TEST

/* The nested_body() helper builds what it says: count the brackets. */
START_TEST(depth_helper)
{
	char *b = nested_body(5, 1, 1);

	ck_assert_str_eq(b, "{\"id\":\"e\",\"type\":\"a.b\",\"created_at\":\""
	    TS "\",\"data\":{\"k\":[[[1]]]}}");
	free(b);
	b = nested_body(4, 1, 0);
	ck_assert_str_eq(b, "{\"id\":\"e\",\"type\":\"a.b\",\"created_at\":\""
	    TS "\",\"data\":{\"k\":{\"k\":{\"k\":1}}}}");
	free(b);
}
END_TEST

/* --- the five sample types and their require lines --------------------- */

struct rcase {
	const char		*name;
	const char		*type;
	const char		*data;
	enum event_status	 want;
	const char		*error;
};

static const struct rcase sample_cases[] = {
	{ "user.created", "user.created",
	  "{\"user_id\":\"u_1\",\"email\":\"a@example.com\","
	  "\"username\":\"ann\"}", EVENT_OK, NULL },
	{ "user.created without email", "user.created",
	  "{\"user_id\":\"u_1\",\"username\":\"ann\"}", EVENT_INVALID,
	  "data.email" },
	{ "user.created email null", "user.created",
	  "{\"user_id\":\"u_1\",\"email\":null,\"username\":\"ann\"}",
	  EVENT_INVALID, "data.email" },
	{ "user.created first missing wins", "user.created", "{}",
	  EVENT_INVALID, "data.user_id" },
	{ "user.updated", "user.updated",
	  "{\"user_id\":\"u_1\",\"changes\":{\"email\":{\"old\":\"a@b\","
	  "\"new\":\"c@d\"}}}", EVENT_OK, NULL },
	{ "user.updated without changes", "user.updated",
	  "{\"user_id\":\"u_1\"}", EVENT_INVALID, "data.changes" },
	{ "user.updated changes not an object", "user.updated",
	  "{\"user_id\":\"u_1\",\"changes\":[\"email\"]}", EVENT_INVALID,
	  "data.changes" },
	{ "user.deleted", "user.deleted", "{\"user_id\":7}", EVENT_OK, NULL },
	{ "user.deleted without user_id", "user.deleted",
	  "{\"id\":\"u_1\"}", EVENT_INVALID, "data.user_id" },
	{ "user.deleted user_id at the top only", "user.deleted", "{}",
	  EVENT_INVALID, "data.user_id" },
	{ "project.created", "project.created",
	  "{\"project_id\":\"p_1\",\"name\":\"Site\",\"owner_id\":\"u_1\"}",
	  EVENT_OK, NULL },
	{ "project.created without owner_id", "project.created",
	  "{\"project_id\":\"p_1\",\"name\":\"Site\"}", EVENT_INVALID,
	  "data.owner_id" },
	{ "project.updated", "project.updated",
	  "{\"project_id\":\"p_1\",\"changes\":{}}", EVENT_OK, NULL },
	{ "project.updated without project_id", "project.updated",
	  "{\"changes\":{}}", EVENT_INVALID, "data.project_id" },
	{ "project.updated changes a string", "project.updated",
	  "{\"project_id\":\"p_1\",\"changes\":\"{}\"}", EVENT_INVALID,
	  "data.changes" },
	{ "unrouted type", "billing.paid", "{}", EVENT_UNROUTED, NULL },
	{ "unrouted near miss", "user.created.v2", "{}", EVENT_UNROUTED,
	  NULL },
};

START_TEST(sample_table)
{
	const struct rcase *c = &sample_cases[_i];
	struct config *cfg = cfg_sample();
	char *body = body_with(c->type, c->data);

	expect(c->name, body, strlen(body), cfg, c->want, c->error);
	free(body);
	cfg_free(cfg);
}
END_TEST

/* Typed and nested requires, on a route that asks for all of them. */
static const struct rcase typed_cases[] = {
	{ "all present", "a.b", "{\"count\":5,\"ratio\":0.5,\"name\":\"x\","
	  "\"flag\":false,\"list\":[],\"obj\":{\"deep\":{\"x\":0}},"
	  "\"any\":0}", EVENT_OK, NULL },
	{ "number given a string", "a.b", "{\"count\":\"5\"}",
	  EVENT_INVALID, "data.count" },
	{ "number given a bool", "a.b", "{\"count\":true}", EVENT_INVALID,
	  "data.count" },
	{ "number given null", "a.b", "{\"count\":null}", EVENT_INVALID,
	  "data.count" },
	{ "number given a double", "a.b", "{\"count\":1e3,\"ratio\":\"x\"}",
	  EVENT_INVALID, "data.ratio" },
	{ "string given a number", "a.b",
	  "{\"count\":-1,\"ratio\":2,\"name\":3}", EVENT_INVALID,
	  "data.name" },
	{ "bool given a string", "a.b", "{\"count\":1,\"ratio\":1,"
	  "\"name\":\"\",\"flag\":\"true\"}", EVENT_INVALID, "data.flag" },
	{ "array given an object", "a.b", "{\"count\":1,\"ratio\":1,"
	  "\"name\":\"\",\"flag\":true,\"list\":{}}", EVENT_INVALID,
	  "data.list" },
	{ "nested path through a string", "a.b", "{\"count\":1,\"ratio\":1,"
	  "\"name\":\"\",\"flag\":true,\"list\":[1],\"obj\":\"deep\"}",
	  EVENT_INVALID, "data.obj.deep.x" },
	{ "nested path through an array", "a.b", "{\"count\":1,\"ratio\":1,"
	  "\"name\":\"\",\"flag\":true,\"list\":[1],\"obj\":[{\"deep\":1}]}",
	  EVENT_INVALID, "data.obj.deep.x" },
	{ "nested leaf null", "a.b", "{\"count\":1,\"ratio\":1,"
	  "\"name\":\"\",\"flag\":true,\"list\":[1],"
	  "\"obj\":{\"deep\":{\"x\":null}}}", EVENT_INVALID,
	  "data.obj.deep.x" },
	{ "untyped null is missing", "a.b", "{\"count\":1,\"ratio\":1,"
	  "\"name\":\"\",\"flag\":true,\"list\":[1],"
	  "\"obj\":{\"deep\":{\"x\":[]}},\"any\":null}", EVENT_INVALID,
	  "data.any" },
	{ "untyped takes falsy values", "a.b", "{\"count\":0,\"ratio\":0,"
	  "\"name\":\"\",\"flag\":false,\"list\":[],"
	  "\"obj\":{\"deep\":{\"x\":\"\"}},\"any\":false}", EVENT_OK, NULL },
};

START_TEST(typed_table)
{
	const struct rcase *c = &typed_cases[_i];
	struct config *cfg = cfg_new();
	char *body = body_with(c->type, c->data);

	cfg_add(cfg, "a.b", "data.count:number data.ratio:number "
	    "data.name:string data.flag:bool data.list:array "
	    "data.obj.deep.x data.any");
	expect(c->name, body, strlen(body), cfg, c->want, c->error);
	free(body);
	cfg_free(cfg);
}
END_TEST

/* A require may name a top-level field besides data. */
START_TEST(require_top_level)
{
	struct config *cfg = cfg_new();
	char *ok = xasprintf("{\"id\":\"e\",\"type\":\"a.b\",\"created_at\":\""
	    TS "\",\"data\":{},\"meta\":{\"source\":\"crm\"}}");
	char *bad = body_with("a.b", "{}");

	cfg_add(cfg, "a.b", "meta.source:string created_at:string");
	expect("meta present", ok, strlen(ok), cfg, EVENT_OK, NULL);
	expect("meta absent", bad, strlen(bad), cfg, EVENT_INVALID,
	    "meta.source");
	free(ok);
	free(bad);
	cfg_free(cfg);
}
END_TEST

/* --- routing ------------------------------------------------------------ */

/* Parses a minimal event of type and returns the index of its route, or -1. */
static int
route_of(const struct config *cfg, const char *type, enum event_status want)
{
	struct event ev;
	char *body = body_with(type, "{}");
	int idx = -1;

	ck_assert_msg(event_parse(&ev, (const unsigned char *)body,
	    strlen(body), cfg) == want, "%s: status (error \"%s\")", type,
	    ev.error);
	if (ev.route != NULL)
		idx = (int)(ev.route - cfg->routes);
	event_free(&ev);
	free(body);
	return idx;
}

/* Exact beats the longest prefix.*, which beats a shorter one, then *. */
START_TEST(routing_precedence)
{
	struct config *cfg = cfg_new();

	/* Written least specific first: order in the file must not matter. */
	cfg_add(cfg, "*", NULL);
	cfg_add(cfg, "project.*", NULL);
	cfg_add(cfg, "project.sub.*", NULL);
	cfg_add(cfg, "project.sub.created", NULL);
	cfg_add(cfg, "user.created", NULL);

	ck_assert_int_eq(route_of(cfg, "project.sub.created", EVENT_OK), 3);
	ck_assert_int_eq(route_of(cfg, "project.sub.deleted", EVENT_OK), 2);
	ck_assert_int_eq(route_of(cfg, "project.sub.x.y", EVENT_OK), 2);
	ck_assert_int_eq(route_of(cfg, "project.updated", EVENT_OK), 1);
	ck_assert_int_eq(route_of(cfg, "project.x.y", EVENT_OK), 1);
	ck_assert_int_eq(route_of(cfg, "project.subway", EVENT_OK), 1);
	ck_assert_int_eq(route_of(cfg, "user.created", EVENT_OK), 4);
	ck_assert_int_eq(route_of(cfg, "user.deleted", EVENT_OK), 0);
	ck_assert_int_eq(route_of(cfg, "projects.created", EVENT_OK), 0);
	ck_assert_int_eq(route_of(cfg, "project_x.created", EVENT_OK), 0);
	cfg_free(cfg);
}
END_TEST

/* The route's own require applies, not that of a less specific one. */
START_TEST(routing_require_follows_route)
{
	struct config *cfg = cfg_new();
	char *body = body_with("project.updated", "{\"project_id\":1}");

	cfg_add(cfg, "*", "data.never");
	cfg_add(cfg, "project.*", "data.project_id");
	expect("prefix route require", body, strlen(body), cfg, EVENT_OK,
	    NULL);
	free(body);
	body = body_with("other.thing", "{\"project_id\":1}");
	expect("star route require", body, strlen(body), cfg, EVENT_INVALID,
	    "data.never");
	free(body);
	cfg_free(cfg);
}
END_TEST

/* No section: the envelope is still read, and nothing is required. */
START_TEST(unrouted)
{
	struct config *cfg = cfg_new();
	char *body = body_with("billing.paid", "{}");
	struct event ev;

	cfg_add(cfg, "user.created", "data.user_id");
	cfg_add(cfg, "project.*", "data.project_id");
	ck_assert_int_eq(event_parse(&ev, (const unsigned char *)body,
	    strlen(body), cfg), EVENT_UNROUTED);
	ck_assert_ptr_null(ev.route);
	ck_assert_str_eq(ev.id, "evt_1");
	ck_assert_uint_eq(ev.id_len, 5);
	ck_assert_str_eq(ev.type, "billing.paid");
	ck_assert_str_eq(ev.created_at, TS);
	event_free(&ev);
	free(body);

	/* A bad envelope is INVALID even when nothing would route it. */
	body = xasprintf("{\"id\":\"\",\"type\":\"billing.paid\","
	    "\"created_at\":\"" TS "\",\"data\":{}}");
	expect("unrouted, bad id", body, strlen(body), cfg, EVENT_INVALID,
	    "id");
	free(body);

	/* An empty config routes nothing. */
	cfg_free(cfg);
	cfg = cfg_new();
	body = body_with("user.created", "{}");
	expect("no routes", body, strlen(body), cfg, EVENT_UNROUTED, NULL);
	free(body);
	cfg_free(cfg);
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
	Suite *s = suite_create("event");
	TCase *fields = tcase_create("fields");
	TCase *json = tcase_create("json");
	TCase *require = tcase_create("require");
	TCase *route = tcase_create("route");

	tcase_add_loop_test(fields, valid_id_table, 0, NELEM(id_cases));
	tcase_add_test(fields, valid_id_length);
	tcase_add_test(fields, type_and_timestamp_lengths);
	tcase_add_loop_test(fields, valid_type_table, 0, NELEM(type_cases));
	tcase_add_loop_test(fields, valid_timestamp_table, 0,
	    NELEM(ts_cases));
	tcase_add_loop_test(fields, envelope_table, 0,
	    NELEM(envelope_cases));
	tcase_add_test(fields, id_length_boundary);
	tcase_add_test(fields, fields_and_extras);
	suite_add_tcase(s, fields);

	tcase_add_loop_test(json, json_table, 0, NELEM(json_cases));
	tcase_add_test(json, body_over_int_max);
	tcase_add_test(json, depth_helper);
	tcase_add_test(json, depth_boundary);
	suite_add_tcase(s, json);

	tcase_add_loop_test(require, sample_table, 0, NELEM(sample_cases));
	tcase_add_loop_test(require, typed_table, 0, NELEM(typed_cases));
	tcase_add_test(require, require_top_level);
	suite_add_tcase(s, require);

	tcase_add_test(route, routing_precedence);
	tcase_add_test(route, routing_require_follows_route);
	tcase_add_test(route, unrouted);
	suite_add_tcase(s, route);

	return run_suite(s);
}
