/*
 * dispatch.h -- the drainer: one process per state directory (held by a
 * lock file) that claims due jobs, runs them through runner.c up to the
 * worker and section limits, records each attempt, and schedules retries.
 */
#ifndef HOOKGATE_DISPATCH_H
#define HOOKGATE_DISPATCH_H

#include <stdint.h>

#include "config.h"

struct dispatch_options {
	int64_t	 max_time_ms;	/* drain: stop claiming after this; 0: none */
	int	 background;	/* started by a responder: stay while work
				   is pending (retries included), then exit */
};

/*
 * Runs as the drainer for the config at path. Without background it runs
 * what is due now and returns; with it, it sleeps until the next due time
 * and exits when nothing is queued or retrying. Returns an exit status: 0,
 * or 1 with the reason logged. Another live drainer is not an error: this
 * one then returns 0 at once.
 */
int	 dispatch_drain(const char *path, const struct dispatch_options *);

/*
 * Called by a responder after it queued work: starts a detached drainer
 * unless one holds the lock. Cheap (one flock on a kept fd) when one runs.
 */
void	 dispatch_kick(const struct config *, const char *config_path);

/*
 * The delay before retry number `attempt` (1 for the first retry): backoff
 * doubled per attempt, with +-20 % jitter from rnd (0..1), capped at 1 h.
 */
int64_t	 dispatch_backoff_ms(long long backoff_s, uint32_t attempt,
	    double rnd);

#endif
