/*
 * fuzz_event.c -- event_parse() (event.c): the strict JSON parse, the
 * envelope rules, routing and the `require` paths, over the whole input
 * as a body, and the single-field rules over the input as a string.
 *
 * Two fixed configs, built here rather than loaded so that the target
 * needs no file: the example's five sections plus prefix sections with
 * typed require lines, once with a catch-all [event *] and once without
 * (so that EVENT_UNROUTED is reachable). The two must agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json_object.h>

#include "event.h"
#include "fuzz.h"
#include "util.h"

#define REQS(...)	((struct require[]){ __VA_ARGS__ })
#define REQ(...)	.require = REQS(__VA_ARGS__), \
			.nrequire = sizeof(REQS(__VA_ARGS__)) / \
			    sizeof(struct require)
#define ROUTE(pat)	.pattern = (pat), .run = "true", .workdir = "/"

/* As examples/hookgate.conf, then sections that need every require type. */
#define ROUTES \
	{ ROUTE("user.created"), REQ({ "data.user_id", REQ_ANY }, \
	    { "data.email", REQ_STRING }, { "data.username", REQ_STRING }) }, \
	{ ROUTE("user.updated"), REQ({ "data.user_id", REQ_ANY }, \
	    { "data.changes", REQ_OBJECT }) }, \
	{ ROUTE("user.deleted"), REQ({ "data.user_id", REQ_ANY }) }, \
	{ ROUTE("project.created"), REQ({ "data.project_id", REQ_ANY }, \
	    { "data.name", REQ_STRING }, { "data.owner_id", REQ_ANY }) }, \
	{ ROUTE("project.updated"), REQ({ "data.project_id", REQ_ANY }, \
	    { "data.changes", REQ_OBJECT }) }, \
	{ ROUTE("order.*"), REQ({ "data.total", REQ_NUMBER }, \
	    { "data.items", REQ_ARRAY }, { "data.paid", REQ_BOOL }, \
	    { "data.customer.address.city", REQ_STRING }) }, \
	{ ROUTE("order.refund.*"), REQ({ "data.refund", REQ_OBJECT }) }, \
	{ ROUTE("order.paid") }, \
	{ ROUTE("a.b.*"), REQ({ "x", REQ_ANY }, { "data.x.y.z", REQ_ANY }) }

static struct route routes_all[] = { ROUTES, { ROUTE("*") } };
static struct route routes_some[] = { ROUTES };

#define NROUTES(a)	(sizeof(a) / sizeof((a)[0]))

static const struct config cfg_all = {
	.routes = routes_all, .nroutes = NROUTES(routes_all)
};
static const struct config cfg_some = {
	.routes = routes_some, .nroutes = NROUTES(routes_some)
};

/* Checks what every answer must satisfy, whatever the body. */
static void
check_event(const struct event *ev, enum event_status st,
    const struct config *cfg)
{
	struct json_object *v;

	FUZZ_ASSERT(st >= EVENT_OK && st <= EVENT_UNROUTED);
	FUZZ_ASSERT(memchr(ev->error, '\0', sizeof(ev->error)) != NULL);
	switch (st) {
	case EVENT_BAD_JSON:
		/* A refused body leaves no tree behind. */
		FUZZ_ASSERT(ev->root == NULL);
		FUZZ_ASSERT(ev->error[0] != '\0');
		return;
	case EVENT_INVALID:
		FUZZ_ASSERT(ev->root != NULL);
		FUZZ_ASSERT(ev->error[0] != '\0');
		return;
	case EVENT_OK:
	case EVENT_UNROUTED:
		break;
	}
	FUZZ_ASSERT(json_object_is_type(ev->root, json_type_object));
	FUZZ_ASSERT(ev->id != NULL && event_valid_id(ev->id, ev->id_len));
	FUZZ_ASSERT(json_object_object_get_ex(ev->root, "id", &v));
	FUZZ_ASSERT(json_object_get_string(v) == ev->id);
	FUZZ_ASSERT(ev->type != NULL && event_valid_type(ev->type));
	FUZZ_ASSERT(strlen(ev->type) <= EVENT_TYPE_MAX);
	FUZZ_ASSERT(ev->created_at != NULL &&
	    event_valid_timestamp(ev->created_at));
	FUZZ_ASSERT(strlen(ev->created_at) <= EVENT_TIMESTAMP_MAX);
	FUZZ_ASSERT(json_object_object_get_ex(ev->root, "data", &v) &&
	    json_object_is_type(v, json_type_object));
	FUZZ_ASSERT(ev->route == config_route(cfg, ev->type));
	FUZZ_ASSERT((st == EVENT_UNROUTED) == (ev->route == NULL));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event all, some;
	enum event_status st_all, st_some;
	char *s;

	st_all = event_parse(&all, data, size, &cfg_all);
	check_event(&all, st_all, &cfg_all);
	st_some = event_parse(&some, data, size, &cfg_some);
	check_event(&some, st_some, &cfg_some);

	/* [event *] takes what nothing else does, and has no require. */
	FUZZ_ASSERT(st_all != EVENT_UNROUTED);
	if (st_some == EVENT_UNROUTED)
		FUZZ_ASSERT(st_all == EVENT_OK &&
		    strcmp(all.route->pattern, "*") == 0);
	else
		FUZZ_ASSERT(st_all == st_some);
	if (st_some == EVENT_OK)
		FUZZ_ASSERT(strcmp(all.route->pattern,
		    some.route->pattern) == 0);
	if (st_some == EVENT_INVALID)
		FUZZ_ASSERT(strcmp(all.error, some.error) == 0);
	event_free(&all);
	event_free(&some);
	FUZZ_ASSERT(all.root == NULL);
	event_free(NULL);

	/* The field rules on their own, over the input as a string. */
	(void)event_valid_id((const char *)data, size);
	s = xstrndup((const char *)data, size);
	(void)event_valid_type(s);
	(void)event_valid_timestamp(s);
	free(s);
	return 0;
}
