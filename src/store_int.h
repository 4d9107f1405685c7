/*
 * store_int.h -- what the files of the store (store_*.c) share: the
 * Berkeley DB environment in state_dir and its databases, the limits and
 * tunables, struct store, and the helpers more than one file calls.
 *
 *   events.db  DB_HASH   id -> versioned record (state, times, attempts,
 *                        body length, type, created_at, route)
 *   bodies.db  DB_BTREE  be64(received_ms) || id -> the raw body, byte for
 *                        byte
 *   inbox.db   DB_HASH   id -> version, be64(due_ms): accepted, queued,
 *                        not yet taken over by the dispatcher
 *   jobs.db    DB_BTREE  be64(due_ms) || id -> version: scheduled jobs, in
 *                        due order (DB_SET_RANGE), written by the dispatcher
 *   attempts.db DB_BTREE id || be32(seq) -> versioned attempt record; seq
 *                        counts every attempt ever recorded for the id
 *
 * Berkeley DB locks whole pages until commit. The deliveries that wait
 * in a process are recorded together, in one accept transaction at a
 * time (accept_lead()); with fsync it commits without a sync (op_accept())
 * and flushes the log after its locks are gone (op_flush()), so the
 * accepts of all processes share a flush; the pages they lock are held
 * only for the rest of the transaction. The records keyed
 * by id are hashes: ids come in any order, and a hash page per id keeps
 * concurrent accepts apart. Bodies, which are most of the bytes, go
 * into a Btree keyed by received time: they append at its right edge,
 * on pages of BODY_PAGESIZE that fill one after the other and are
 * written out once. In a hash each body went to a random page, and with
 * more bodies than cache every accept read one page and wrote one back
 * (bench/RESULTS.md). The ordered jobs Btree is written only by the one
 * dispatcher, which moves inbox entries into it; pending work is inbox
 * plus jobs.
 *
 * A job stays in jobs while it runs, keyed by the end of its lease: a
 * claim makes the event running and moves its key to now + lease_ms, so
 * a job whose drainer died is simply due again when the lease ends.
 * Every transaction that writes jobs locks the event record first
 * (DB_RMW), then the job entry; with one lock order, claims and the
 * finishes of worker threads queue instead of deadlocking.
 *
 * Every process (FastCGI workers, CGI runs, the CLI) opens the one
 * environment with DB_REGISTER | DB_RECOVER: an opener that finds a slot
 * of a dead process runs recovery, and everyone else sees a panic and
 * reopens (store_run()). Each handle also runs one watchdog thread that
 * bounds lock waits (watchdog_tick()).
 */

#ifndef HOOKGATE_STORE_INT_H
#define HOOKGATE_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <db.h>

#include "store.h"

#define ENV_FLAGS	(DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG |	\
			 DB_INIT_MPOOL | DB_INIT_TXN | DB_REGISTER |	\
			 DB_RECOVER | DB_THREAD)
#define DB_OPEN_FLAGS	(DB_AUTO_COMMIT | DB_CREATE | DB_THREAD)
#define FILE_MODE	0600

/*
 * Waiting longer than this for a lock means its holder is stuck or dead.
 * Not less: on a busy host a live holder can be off the CPU for a second
 * (seen as 503s under a sanitizer build with 1 s).
 */
#define LOCK_TIMEOUT_US	(3 * 1000 * 1000)
/* How often the watchdog expires lock waits that are past the timeout. */
#define WATCHDOG_MS	200
/*
 * Deadlocks are normal under load (hash bucket splits among concurrent
 * accepts): retry the whole transaction this often, after a random pause.
 */
#define MAX_TRIES	16
/*
 * Log file size: Berkeley DB's default. A body larger than this is fine:
 * overflow pages are logged one page per record, so a 25 MiB body spans
 * several log files, and a checkpoint lets all but the last be removed.
 */
#define LG_MAX		(10u * 1024 * 1024)
/* The shared page cache; the default 256 KiB is small for hash lookups. */
#define CACHE_BYTES	(4u * 1024 * 1024)
/* How long one process trusts its count of pending jobs, at least. */
#define PENDING_TTL_MS	1000
/*
 * Far below the limit, a count is trusted for as long as the queue needs
 * to reach the limit at PENDING_RATE_MAX accepts a second (all processes,
 * far beyond what one host's web server delivers), up to PENDING_TTL_MAX:
 * a walk reads every pending entry, and with a long backlog and a high
 * max_queue the walks were 5 % of a responder's CPU.
 */
#define PENDING_RATE_MAX	100000
#define PENDING_TTL_MAX	(60 * 1000)
#define CHECKPOINT_KB	(16 * 1024)
/*
 * Claims and outcomes are written to the log at commit but not synced:
 * the drainer's death loses none of them, and one lost to an OS crash
 * only makes a command run again, which at-least-once allows. Two syncs
 * per command would cost more than the command's own fork and exec.
 */
#define DISPATCH_COMMIT	DB_TXN_WRITE_NOSYNC
/*
 * Room the region files (__db.001...) need when they are made: their
 * sizes add up to about 6 MiB, the page cache most of it.
 */
#define REGION_SPACE	(8LL * 1024 * 1024)

/*
 * bodies.db's page size. A Btree item over about a quarter of a page goes
 * to overflow pages of its own: with 4 KiB pages a 1 KiB body took a new
 * page per accept. 16 KiB pages keep bodies up to 4 KiB on the leaves.
 */
#define BODY_PAGESIZE	16384

#define REC_VERSION	1
#define REC_FIXED	(1 + 1 + 8 + 8 + 4 + 8)
#define REC_STR_MAX	65535
#define JOB_VERSION	1
#define TIME_KEY_MAX	(8 + STORE_ID_MAX)
#define ATT_VERSION	1
#define ATT_FIXED	(1 + 4 + 8 + 8 + 1 + 4 + 4 + 4 + 4)
#define ATT_EXITED	0x01
#define ATT_TIMED_OUT	0x02
#define ATT_KEY_MAX	(STORE_ID_MAX + 4)

/*
 * Entries one dispatcher transaction touches at most: each locks pages
 * that responders may be waiting for, and a wait past LOCK_TIMEOUT_US
 * counts as a dead holder.
 */
#define INBOX_BATCH	100
#define SCAN_BATCH	64
/*
 * Deliveries one accept transaction records at most (accept_lead()), and
 * their body bytes, unless the first alone has more: large bodies keep a
 * transaction each, as its locks and log grow with the bytes.
 */
#define ACCEPT_BATCH	32
#define ACCEPT_BATCH_BYTES	(1024u * 1024)
/* The first look of a claim: the first due entry is claimable unless its
   section is full, and reading 64 events to take one cost more than the
   command it started (bench/RESULTS.md). */
#define SCAN_FIRST	4
#define EVENT_BATCH	100
/* Body bytes one purge transaction frees at most (undo logs them all). */
#define PURGE_BYTES	(4u * 1024 * 1024)

/* Our own result code for "queue full", outside Berkeley DB's range. */
#define STORE_EFULL	(-20001)

struct accept_item;		/* store_accept.c */

struct store {
	DB_ENV			*env;
	DB			*events;
	DB			*bodies;
	DB			*inbox;
	DB			*jobs;
	DB			*attempts;
	char			*dir;
	struct store_options	 opt;
	atomic_int		 holds;		/* store_hold() + 1 */
	unsigned		 abandoned;	/* handles_abandon() calls */

	/* Operations hold it shared; a reopen holds it exclusive. */
	pthread_rwlock_t	 rw;
	unsigned long		 gen;		/* reopens so far */
	atomic_int		 panic;		/* set by store_event() */

	/* The lock watchdog thread (store_watchdog()). */
	pthread_t		 wd;
	pthread_mutex_t		 wd_mu;
	pthread_cond_t		 wd_cv;
	int			 wd_stop;

	/* Pending-job count of the last walk, and our accepts since. */
	pthread_mutex_t		 pmu;
	int64_t			 pend_at;	/* when walked; 0: never */
	int64_t			 pend_ttl;	/* how long the walk is trusted */
	int			 pend_walking;	/* threads walking now */
	long			 pend_count;
	int			 pend_complete;	/* the walk reached the end */
	unsigned long		 pend_own_at;	/* pend_own when walked */
	unsigned long		 pend_own;	/* jobs we queued, ever */

	/*
	 * Under qmu: the deliveries waiting for an accept transaction, and
	 * whether a thread leads one now (accept_lead()). Each waiting
	 * thread sleeps on its own item's semaphore.
	 */
	pthread_mutex_t		 qmu;
	struct accept_item	*qhead;
	struct accept_item	**qtail;
	int			 qleading;
};

struct span {
	const char	*p;
	size_t		 len;
};

/* One event record, decoded; the strings point into the encoded bytes. */
struct rec {
	enum event_state state;
	int64_t		 received_ms;
	int64_t		 due_ms;
	uint32_t	 attempts;
	uint64_t	 body_len;
	struct span	 type;
	struct span	 created_at;
	struct span	 route;
};

/*
 * A key that sorts by time: be64(ms) || id. jobs.db keys by due time, so
 * that Btree order is due order; bodies.db by received time, so that new
 * bodies append at the right edge of its Btree.
 */
struct time_key {
	unsigned char	 b[TIME_KEY_MAX];
	size_t		 len;
};

/* store_codec.c: byte order, the two record layouts, keys and DBTs. */
void		 be32_put(unsigned char *, uint32_t);
uint32_t	 be32_get(const unsigned char *);
unsigned char	*rec_encode(const struct rec *, size_t *len);
int		 rec_decode(const unsigned char *, size_t, struct rec *);
unsigned char	*att_encode(uint32_t attempt, const struct store_attempt *,
		    size_t *len);
int		 att_decode(const unsigned char *, size_t,
		    struct store_attempt_info *);
void		 span_copy(char *dst, size_t n, struct span);
void		 rec_to_info(const struct rec *, struct store_event_info *);
struct span	 span_str(const char *);
void		 dbt_in(DBT *, const void *, size_t);
void		 dbt_out(DBT *, u_int32_t flags);
void		 time_key_make(struct time_key *, int64_t ms, const char *id,
		    size_t id_len);
int64_t		 time_key_ms(const struct time_key *);
const char	*time_key_id(const struct time_key *);

/* store_env.c: every operation is one op run by store_run(). */
int		 store_run(struct store *,
		    int (*op)(struct store *, void *), void *arg);
void		 store_log_fail(const char *what, int ret);

/* store_accept.c: a replay queues an event as an accept does. */
int		 inbox_put(struct store *, DB_TXN *, const char *id,
		    size_t id_len, int64_t due);

/* store_jobs.c: purge, replay and the attempts listing use these too. */
int		 event_read(struct store *, DB_TXN *, const char *id,
		    size_t id_len, u_int32_t flags, struct rec *, void **buf);
int		 event_write(struct store *, DB_TXN *, const char *id,
		    size_t id_len, const struct rec *);
int		 att_next(DBC *, const char *id, size_t id_len, DBT *k,
		    DBT *d, u_int32_t flags, int first);
int		 att_walk(struct store *, DB_TXN *, const char *id,
		    size_t id_len, int del, uint32_t *last);

#endif
