/*
 * handler.h -- one webhook delivery, start to answer: the checks of
 * SPEC.md's HTTP table in their order, independent of how the request
 * arrived (FastCGI, CGI, a test). main.c supplies the transport.
 */
#ifndef HOOKGATE_HANDLER_H
#define HOOKGATE_HANDLER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "request.h"
#include "store.h"

/* A loaded config and the store opened for it; see handler.c. */
struct setup;

/*
 * What a responder process keeps between requests, shared by its request
 * threads: every function below may be called from several at once.
 */
struct handler {
	pthread_mutex_t	 mu;		/* guards everything below */
	struct setup	*cur;		/* in force; NULL while none loads */
	char		*config_path;	/* owned; to notice changes */
	struct timespec	 mtime;		/* of config_path when loaded */
	int64_t		 checked_ms;	/* last look at mtime */
	int		 work_queued;	/* a drainer may be needed */
	/* The store the setups share (see setup_store()): a hold, and the
	   settings it was opened with. */
	struct store	*store;
	char		*store_dir;	/* owned */
	struct store_options store_opt;
};

/*
 * Loads the config at path (a failure is logged; until a good config
 * appears every request is answered 503). The store opens lazily on the
 * first request that needs it.
 */
void	 handler_init(struct handler *, const char *path);
void	 handler_cleanup(struct handler *);

/*
 * Answers one request whose CGI variables are in req; the body is read
 * through reader. Returns the whole CGI response in a malloc'd buffer the
 * caller frees, its length in *len. Never exits; every failure is an answer.
 */
char	*handler_serve(struct handler *, struct request *req,
	    const struct body_reader *reader, size_t *len);

/*
 * Between requests, after the answer has gone out: starts a drainer when
 * work was queued and none is alive.
 */
void	 handler_idle(struct handler *);
/*
 * Checkpoints the store when enough log has grown. It writes every dirty
 * page, so a FastCGI process calls it from a thread that serves no
 * request; a CGI request after its answer.
 */
void	 handler_checkpoint(struct handler *);

/* Request threads a FastCGI process should run: the config's threads. */
int	 handler_threads(struct handler *);

#endif
