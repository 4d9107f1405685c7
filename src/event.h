/*
 * event.h -- parsing (json-c, strict, UTF-8 checked, depth 64, the whole
 * body consumed) and validation of one event against SPEC.md "The events"
 * and the `require` lines of the section it routes to.
 */
#ifndef HOOKGATE_EVENT_H
#define HOOKGATE_EVENT_H

#include <stddef.h>

#include "config.h"

#define EVENT_MAX_DEPTH	64
#define EVENT_ID_MAX	255
#define EVENT_TYPE_MAX	255	/* they go into the command's environment */
#define EVENT_TIMESTAMP_MAX 63

enum event_status {
	EVENT_OK,
	EVENT_BAD_JSON,		/* 400: not JSON, not an object, too deep */
	EVENT_INVALID,		/* 422: a field missing or of the wrong type */
	EVENT_UNROUTED		/* no section matches the type (not an error
				   by itself: config decides) */
};

struct json_object;

struct event {
	struct json_object	*root;	/* owned; freed by event_free() */
	const char		*id;	/* borrowed from root */
	size_t			 id_len;
	const char		*type;	/* borrowed from root */
	const char		*created_at; /* borrowed from root */
	const struct route	*route;	/* borrowed from the config */
	char			 error[256]; /* field path or parse error */
};

/*
 * Parses body and checks the envelope (id, type, created_at, data), then
 * routes the type with cfg and checks the route's `require` paths.
 * On EVENT_OK, or EVENT_UNROUTED (envelope valid, no section), ev->id,
 * type and created_at are set. On EVENT_INVALID ev->error holds the field
 * path, e.g. "data.email"; on EVENT_BAD_JSON a short reason. The caller
 * always calls event_free(ev) afterwards.
 */
enum event_status event_parse(struct event *ev, const unsigned char *body,
		    size_t len, const struct config *cfg);

/* Releases ev->root; ev itself is the caller's. NULL-safe. */
void		 event_free(struct event *ev);

/*
 * The single-field rules, exported for tests and the CLI: return 1 when
 * valid, 0 when not.
 */
int		 event_valid_id(const char *, size_t);
int		 event_valid_type(const char *);
int		 event_valid_timestamp(const char *);

#endif
