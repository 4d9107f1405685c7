/*
 * respond.h -- the HTTP answers of SPEC.md: a CGI response head (Status,
 * Content-Type, Allow, Retry-After) and the JSON body.
 */
#ifndef HOOKGATE_RESPOND_H
#define HOOKGATE_RESPOND_H

#include <stddef.h>

struct store_counts;

struct answer {
	int		 http;		/* 200, 202, 400, ... */
	const char	*status;	/* "accepted", "rejected", ... */
	char		 id[256];	/* empty: no "id" key */
	char		 error[256];	/* empty: no "error" key */
	int		 retry_after;	/* seconds; 0: no header */
	int		 allow_post;	/* add "Allow: POST" */
	int		 head;		/* HEAD request: head only */
	const struct store_counts *counts; /* health: add the counts */
	long long	 now_ms;	/* health: to compute the oldest age */
};

/* Sets http, status and (if non-NULL, truncated to fit) the error text. */
void	 answer_set(struct answer *, int http, const char *status,
	    const char *error);
/* Copies an event id in (truncated to fit; ids are at most 255 bytes). */
void	 answer_set_id(struct answer *, const char *id, size_t len);

/*
 * Renders the whole CGI response: head lines, blank line, JSON body.
 * Returns a malloc'd buffer the caller frees; its length is put in *len.
 */
char	*respond_render(const struct answer *, size_t *len);

/* Reason phrase for a status code ("Accepted"). */
const char *respond_reason(int http);

#endif
