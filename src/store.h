/*
 * store.h -- the Berkeley DB environment in state_dir and every database in
 * it. The only module that includes db.h. One struct store per process
 * (Berkeley DB allows one DB_ENV handle per environment per process); it
 * is opened after any fork and never crosses one.
 *
 * Every operation is one transaction with a bounded deadlock-retry loop
 * (the walks -- claim, requeue, purge, foreach -- one short transaction
 * per batch, so none holds locks for long); after DB_RUNRECOVERY
 * (another process died inside the library) the handle reopens the
 * environment, which runs recovery, and retries once.
 *
 * A handle runs one thread of its own (it expires stuck lock waits), so a
 * child forked while a store is open must neither use nor store_close()
 * the parent's handle: it exec()s, or opens a store of its own.
 */
#ifndef HOOKGATE_STORE_H
#define HOOKGATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct store;

/* The longest event id the store keeps (event.h's EVENT_ID_MAX). */
#define STORE_ID_MAX	255

/* Life cycle of an event, as `status` counts them. */
enum event_state {
	STATE_QUEUED = 1,
	STATE_RUNNING,
	STATE_RETRYING,
	STATE_DONE,
	STATE_FAILED,
	STATE_IGNORED
};

enum store_status {
	STORE_OK,		/* recorded (and queued if asked) */
	STORE_DUPLICATE,	/* the id was already recorded */
	STORE_FULL,		/* max_queue jobs pending: nothing recorded */
	STORE_UNAVAILABLE	/* cannot open, read or write the store */
};

struct store_options {
	size_t		 max_body;	/* largest body (log files need not
					   exceed it: see store_int.h) */
	enum durability	 durability;
};

/* A new event to record; every pointer is borrowed for the call. */
struct store_new_event {
	const char		*id;
	size_t			 id_len;
	const char		*type;
	const char		*created_at;
	const char		*route;		/* section pattern, or NULL */
	const unsigned char	*body;
	size_t			 body_len;
	int			 queue;		/* 0: record as ignored */
	long			 max_queue;	/* refuse when this many pending */
};

/* What is known about a recorded event (strings owned by the struct). */
struct store_event_info {
	enum event_state state;
	int64_t		 received_ms;
	int64_t		 due_ms;		/* next run, 0 when none */
	uint32_t	 attempts;
	uint64_t	 body_len;
	char		 type[256];
	char		 created_at[64];
	char		 route[256];
};

struct store_counts {
	unsigned long	 queued, running, retrying, done, failed, ignored;
	int64_t		 oldest_pending_ms;	/* received_ms; 0: none */
};

/*
 * Opens (creating it if needed) the environment in dir, running recovery
 * when a previous process died in it. Refuses a directory on NFS/SMB.
 * Returns a handle the caller closes with store_close(), or NULL with a
 * message in err.
 */
struct store	*store_open(const char *dir, const struct store_options *,
		    char *err, size_t errlen);
/*
 * Checks that dir is on a local filesystem (not NFS, SMB and the like),
 * as store_open() does. Returns 0, or -1 with a message in err.
 */
int		 store_check_local(const char *dir, char *err, size_t errlen);
/*
 * Another hold on an open handle, for a second owner (the config in force
 * and the one before it, while requests still use that): each owner calls
 * store_close() once. Returns s.
 */
struct store	*store_hold(struct store *s);
/*
 * Lets go of one hold; the last closes every handle cleanly so no
 * recovery is needed. NULL-safe.
 */
void		 store_close(struct store *);

/*
 * Records the id (atomically: of two concurrent calls with one id exactly
 * one gets STORE_OK), the raw body and, when ev->queue, a job due now, in
 * one transaction. Returns only after the commit (flushed to disk with
 * DURABILITY_FSYNC). An id must be 1..STORE_ID_MAX bytes without NUL.
 */
enum store_status store_accept(struct store *, const struct store_new_event *);

/*
 * Looks an event up. Returns 1 and fills info (and, if body is non-NULL,
 * a malloc'd copy of the raw body the caller frees, with its length in
 * *len), 0 if the id is unknown, -1 on error.
 */
int		 store_get(struct store *, const char *id, size_t id_len,
		    struct store_event_info *info, unsigned char **body,
		    size_t *len);

/* Counts events by state. Returns 0, or -1 on error. */
int		 store_count(struct store *, struct store_counts *);

/* Number of pending jobs (queued, retrying or running). -1 on error. */
long		 store_pending(struct store *);

/*
 * Housekeeping that is cheap when there is nothing to do: a checkpoint
 * when enough log has been written since the last, which lets Berkeley DB
 * remove log files no longer needed. Returns 0, or -1 on error.
 */
int		 store_checkpoint(struct store *);

/*
 * Dispatch. Only the drainer (one process per state directory, held by a
 * lock file) claims and finishes jobs; the CLI may replay and purge.
 */

/* A claimed job: everything a run needs. */
struct store_job {
	char		 id[STORE_ID_MAX + 1];
	size_t		 id_len;
	char		 type[256];
	char		 created_at[64];
	char		 route[256];
	uint32_t	 attempt;	/* 1-based number of this run */
	unsigned char	*body;		/* malloc'd; freed by store_job_free() */
	size_t		 body_len;
};

/* The outcome of one run, as recorded. Pointers borrowed for the call. */
struct store_attempt {
	int64_t		 start_ms;
	int64_t		 duration_ms;
	int		 exited;	/* 1: status is an exit status */
	int		 status;
	int		 signal;	/* terminating signal, else 0 */
	int		 timed_out;
	int		 spawn_error;	/* errno when it could not start */
	const char	*output;	/* first 64 KiB of stdout+stderr */
	size_t		 output_len;
};

/* An attempt read back by store_attempts(). */
struct store_attempt_info {
	uint32_t	 attempt;	/* HOOKGATE_ATTEMPT it ran with */
	struct store_attempt a;		/* a.output malloc'd, see below */
};

/*
 * Claims the first due job (queued, retrying, or running with an expired
 * lease) whose type allow(ctx, type) accepts: one short transaction marks
 * the event running, counts the attempt, and moves the job to now +
 * lease_ms, so that it runs again if this process dies. allow is called
 * with no lock held; NULL allows every type. Returns 1 with job filled
 * (free with store_job_free()), 0 when nothing is due and allowed, -1 on
 * error.
 */
int		 store_claim(struct store *, int64_t now_ms, int64_t lease_ms,
		    int (*allow)(void *ctx, const char *type), void *ctx,
		    struct store_job *job);
/* Frees the body of a claimed job (not the struct). NULL-safe. */
void		 store_job_free(struct store_job *);

/*
 * Records an attempt of a claimed job and moves the event on: to
 * STATE_DONE or STATE_FAILED (job removed), or STATE_RETRYING with the job
 * due at due_ms. When the job was claimed again meanwhile (its lease ran
 * out), only the attempt is recorded. Returns 0, or -1 on error.
 */
int		 store_finish(struct store *, const struct store_job *,
		    const struct store_attempt *, enum event_state next,
		    int64_t due_ms);

/* Earliest due time of any pending job; 0 when none, -1 on error. */
int64_t		 store_next_due(struct store *);

/*
 * Makes every job left running by a dead drainer due at now_ms. Called by
 * a drainer that has just taken the lock. Returns the number, or -1.
 */
long		 store_requeue_running(struct store *, int64_t now_ms);

/*
 * Forgets done and ignored events (and failed ones with failed_too)
 * received before before_ms: record, body and attempts. *removed gets the
 * count. Returns 0, or -1 on error.
 */
int		 store_purge(struct store *, int64_t before_ms, int failed_too,
		    unsigned long *removed);

/*
 * Queues a finished (done, failed or ignored) event again, due now; its
 * attempt count restarts, its history is kept. Returns 1 when queued, 0
 * for an unknown id, 2 when it is pending or running already, -1 on error.
 */
int		 store_replay(struct store *, const char *id, size_t id_len,
		    int64_t now_ms);

/*
 * Calls fn for every recorded event (in no particular order) until fn
 * returns non-zero. id is not NUL-terminated; both pointers are valid
 * during the call only. The events are read in batches and fn runs with
 * no lock held, so fn may call the store; each event is seen exactly
 * once unless events are added or purged meanwhile, which may make the
 * walk miss or repeat some. Returns 0, or -1 on error.
 */
int		 store_foreach(struct store *,
		    int (*fn)(void *ctx, const char *id, size_t id_len,
		    const struct store_event_info *), void *ctx);

/*
 * The attempts of one event, oldest first, as a malloc'd array of *n
 * entries (NULL when none) freed with store_attempts_free(); each a.output
 * is a malloc'd copy with a NUL after its output_len bytes. Returns 0, or
 * -1 on error.
 */
int		 store_attempts(struct store *, const char *id, size_t id_len,
		    struct store_attempt_info **out, size_t *n);
void		 store_attempts_free(struct store_attempt_info *, size_t n);

/* Static name of a state ("queued", ...). */
const char	*store_state_str(enum event_state);

#endif
