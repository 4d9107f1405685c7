/*
 * handler.h -- one webhook delivery, start to answer: the checks of
 * SPEC.md's HTTP table in their order, independent of how the request
 * arrived (FastCGI, CGI, a test). main.c supplies the transport.
 */
#ifndef HOOKGATE_HANDLER_H
#define HOOKGATE_HANDLER_H

#include <stddef.h>

#include "config.h"
#include "request.h"
#include "store.h"

/* What a responder process keeps between requests. */
struct handler {
	struct config	*cfg;		/* owned */
	struct store	*store;		/* owned; opened on first use */
	char		*config_path;	/* owned; to notice changes */
};

/* Takes ownership of cfg. The store opens lazily on the first request. */
void	 handler_init(struct handler *, struct config *cfg, const char *path);
void	 handler_cleanup(struct handler *);

/*
 * Answers one request whose CGI variables are in req; the body is read
 * through reader. Returns the whole CGI response in a malloc'd buffer the
 * caller frees, its length in *len. Never exits; every failure is an answer.
 */
char	*handler_serve(struct handler *, struct request *req,
	    const struct body_reader *reader, size_t *len);

/* Housekeeping between requests, after the answer has gone out. */
void	 handler_idle(struct handler *);

#endif
