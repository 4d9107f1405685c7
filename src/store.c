/*
 * store.c -- the Berkeley DB environment in state_dir and its databases.
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
 * Berkeley DB locks whole pages until commit. The accept transaction
 * commits without a sync and flushes the log after its locks are gone
 * (op_accept()), so concurrent accepts share a flush; the pages they
 * lock are held only for the rest of the transaction. The records keyed
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

#include <sys/types.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/statvfs.h>
#include <sys/vfs.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <db.h>

#include "log.h"
#include "store.h"
#include "util.h"

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
#define JOB_KEY_MAX	(8 + STORE_ID_MAX)
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
/* With fsync, the try of an accept from which it runs alone in its
   process (op_accept()). */
#define ACCEPT_ALONE_AFTER	3
/* The first look of a claim: the first due entry is claimable unless its
   section is full, and reading 64 events to take one cost more than the
   command it started (bench/RESULTS.md). */
#define SCAN_FIRST	4
#define EVENT_BATCH	100
/* Body bytes one purge transaction frees at most (undo logs them all). */
#define PURGE_BYTES	(4u * 1024 * 1024)

/* Our own result code for "queue full", outside Berkeley DB's range. */
#define STORE_EFULL	(-20001)

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

	/* The accept transactions of this process take turns (op_accept()). */
	pthread_mutex_t		 amu;
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
struct job_key {
	unsigned char	 b[JOB_KEY_MAX];
	size_t		 len;
};

struct accept_arg {
	const struct store_new_event *ev;
	int64_t		 now;
	int		 full;
	int		 tries;		/* op_accept() runs so far */
};

struct get_arg {
	const char	*id;
	size_t		 id_len;
	int		 want_body;
	int		 found;
	struct store_event_info info;
	unsigned char	*body;
	size_t		 len;
};

struct pending_arg {
	long		 limit;
	long		 count;
};

static int	env_open(struct store *, char *, size_t);
static void	handles_close(struct store *);

/* Network filesystems whose mmap and locking Berkeley DB cannot trust. */
static const struct {
	uint32_t	 magic;
	const char	*name;
} remote_fs[] = {
	{ 0x6969, "NFS" },
	{ 0x517B, "SMB" },
	{ 0xFE534D42, "SMB2" },
	{ 0xFF534D42, "CIFS" },
	{ 0x5346414F, "AFS" },
	{ 0x73757245, "Coda" },
	{ 0x564C, "NCP" },
	{ 0x00C36400, "Ceph" },
};

/* Settings in a DB_CONFIG that would silently weaken what a 2xx promises. */
static const char *const unsafe_db_config[] = {
	"DB_TXN_NOSYNC",
	"DB_TXN_WRITE_NOSYNC",
	"DB_TXN_NOT_DURABLE",
	"DB_LOG_IN_MEMORY",
	"DB_LOG_INMEMORY",
};

/* The name of a network filesystem type from statfs(2), or NULL. */
static const char *
fs_remote_name(unsigned long f_type)
{
	size_t i;

	for (i = 0; i < sizeof(remote_fs) / sizeof(remote_fs[0]); i++)
		if ((uint32_t)f_type == remote_fs[i].magic)
			return remote_fs[i].name;
	return NULL;
}

/* Refuses a state dir on a network filesystem. Returns 0 or -1. */
static int
dir_check_local(const char *dir, char *err, size_t errlen)
{
#ifdef __linux__
	struct statfs sf;
	const char *name;

	if (statfs(dir, &sf) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((name = fs_remote_name((unsigned long)sf.f_type)) != NULL) {
		snprintf(err, errlen, "%s: state_dir is on %s; Berkeley DB "
		    "needs a local filesystem (its shared memory and locks "
		    "do not work over the network): choose a local folder",
		    dir, name);
		return -1;
	}
#else
	(void)dir;
	(void)err;
	(void)errlen;
#endif
	return 0;
}

/* The unsafe setting a DB_CONFIG line names, or NULL (comments ignored). */
static const char *
db_config_unsafe(const char *line)
{
	size_t i;

	line += strspn(line, " \t");
	if (*line == '#')
		return NULL;
	for (i = 0; i < sizeof(unsafe_db_config) /
	    sizeof(unsafe_db_config[0]); i++)
		if (strstr(line, unsafe_db_config[i]) != NULL)
			return unsafe_db_config[i];
	return NULL;
}

/*
 * Berkeley DB reads DB_CONFIG at every open and lets it overrule our
 * settings silently; refuse one that would make commits less durable
 * than the config says. Returns 0 (also when there is none) or -1.
 */
static int
dir_check_db_config(const char *dir, char *err, size_t errlen)
{
	char *path, line[512];
	const char *bad = NULL;
	FILE *fp;
	int lineno = 0;

	path = xasprintf("%s/DB_CONFIG", dir);
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT) {
			free(path);
			return 0;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while (bad == NULL && fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		bad = db_config_unsafe(line);
	}
	fclose(fp);
	if (bad != NULL)
		snprintf(err, errlen, "%s:%d: %s would override the "
		    "durability setting; remove that line", path, lineno, bad);
	free(path);
	return bad != NULL ? -1 : 0;
}

/*
 * Creates the state dir (one level, 0700) if missing and checks that it
 * is a local directory without a dangerous DB_CONFIG. Returns 0 or -1.
 */
static int
dir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (dir_check_local(dir, err, errlen) == -1)
		return -1;
	return dir_check_db_config(dir, err, errlen);
}

static void
be16_put(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static uint16_t
be16_get(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
be32_get(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Appends a length-prefixed string at p; returns the byte after it. */
static unsigned char *
rec_put_str(unsigned char *p, struct span s)
{
	be16_put(p, (uint16_t)s.len);
	if (s.len > 0)
		memcpy(p + 2, s.p, s.len);
	return p + 2 + s.len;
}

/*
 * Encodes r as an events.db value, version 1 (integers big-endian):
 *
 *   0  u8   version (1)          18  u32  attempts
 *   1  u8   state                22  u64  body_len
 *   2  i64  received_ms          30  u16 length + bytes: type
 *  10  i64  due_ms (0: none)         u16 length + bytes: created_at
 *                                    u16 length + bytes: route ("": none)
 *
 * A later layout gets a new version byte; readers refuse one they do
 * not know. Returns a malloc'd buffer the caller frees and its length in
 * *len, or NULL when a string is longer than REC_STR_MAX.
 */
static unsigned char *
rec_encode(const struct rec *r, size_t *len)
{
	unsigned char *buf, *p;

	if (r->type.len > REC_STR_MAX || r->created_at.len > REC_STR_MAX ||
	    r->route.len > REC_STR_MAX)
		return NULL;
	*len = REC_FIXED + 6 + r->type.len + r->created_at.len + r->route.len;
	p = buf = xmalloc(*len);
	*p++ = REC_VERSION;
	*p++ = (unsigned char)r->state;
	be64_put(p, (uint64_t)r->received_ms);
	be64_put(p + 8, (uint64_t)r->due_ms);
	be32_put(p + 16, r->attempts);
	be64_put(p + 20, r->body_len);
	p = rec_put_str(p + 28, r->type);
	p = rec_put_str(p, r->created_at);
	(void)rec_put_str(p, r->route);
	return buf;
}

/* Reads a length-prefixed string at *p, not past end. Returns 0 or -1. */
static int
rec_get_str(const unsigned char **p, const unsigned char *end,
    struct span *s)
{
	if (end - *p < 2)
		return -1;
	s->len = be16_get(*p);
	if ((size_t)(end - *p - 2) < s->len)
		return -1;
	s->p = (const char *)*p + 2;
	*p += 2 + s->len;
	return 0;
}

/* Decodes an event record into r, which points into buf. Returns 0 or -1. */
static int
rec_decode(const unsigned char *buf, size_t len, struct rec *r)
{
	const unsigned char *p = buf, *end = buf + len;

	if (len < REC_FIXED || p[0] != REC_VERSION ||
	    p[1] < STATE_QUEUED || p[1] > STATE_IGNORED)
		return -1;
	r->state = (enum event_state)p[1];
	r->received_ms = (int64_t)be64_get(p + 2);
	r->due_ms = (int64_t)be64_get(p + 10);
	r->attempts = be32_get(p + 18);
	r->body_len = be64_get(p + 22);
	p += REC_FIXED;
	if (rec_get_str(&p, end, &r->type) == -1 ||
	    rec_get_str(&p, end, &r->created_at) == -1 ||
	    rec_get_str(&p, end, &r->route) == -1 || p != end)
		return -1;
	return 0;
}

/*
 * Encodes one attempt as an attempts.db value, version 1 (integers
 * big-endian, signed ones two's complement):
 *
 *   0  u8   version (1)          22  i32  status
 *   1  u32  attempt              26  i32  signal
 *   5  i64  start_ms             30  i32  spawn_error
 *  13  i64  duration_ms          34  u32  output length
 *  21  u8   flags: 1 exited,     38  the output bytes
 *                  2 timed out
 *
 * Returns a malloc'd buffer the caller frees and its length in *len, or
 * NULL when the output is too long for the length field.
 */
static unsigned char *
att_encode(uint32_t attempt, const struct store_attempt *at, size_t *len)
{
	unsigned char *buf, *p;

	if (at->output_len > UINT32_MAX - ATT_FIXED)
		return NULL;
	*len = ATT_FIXED + at->output_len;
	p = buf = xmalloc(*len);
	*p++ = ATT_VERSION;
	be32_put(p, attempt);
	be64_put(p + 4, (uint64_t)at->start_ms);
	be64_put(p + 12, (uint64_t)at->duration_ms);
	p[20] = (at->exited ? ATT_EXITED : 0) |
	    (at->timed_out ? ATT_TIMED_OUT : 0);
	be32_put(p + 21, (uint32_t)at->status);
	be32_put(p + 25, (uint32_t)at->signal);
	be32_put(p + 29, (uint32_t)at->spawn_error);
	be32_put(p + 33, (uint32_t)at->output_len);
	if (at->output_len > 0)
		memcpy(p + 37, at->output, at->output_len);
	return buf;
}

/*
 * Decodes an attempts.db value into ai, whose a.output points into buf.
 * Returns 0 or -1.
 */
static int
att_decode(const unsigned char *buf, size_t len,
    struct store_attempt_info *ai)
{
	const unsigned char *p = buf + 1;

	if (len < ATT_FIXED || buf[0] != ATT_VERSION ||
	    be32_get(p + 33) != len - ATT_FIXED)
		return -1;
	memset(ai, 0, sizeof(*ai));
	ai->attempt = be32_get(p);
	ai->a.start_ms = (int64_t)be64_get(p + 4);
	ai->a.duration_ms = (int64_t)be64_get(p + 12);
	ai->a.exited = (p[20] & ATT_EXITED) != 0;
	ai->a.timed_out = (p[20] & ATT_TIMED_OUT) != 0;
	ai->a.status = (int32_t)be32_get(p + 21);
	ai->a.signal = (int32_t)be32_get(p + 25);
	ai->a.spawn_error = (int32_t)be32_get(p + 29);
	ai->a.output = (const char *)buf + ATT_FIXED;
	ai->a.output_len = len - ATT_FIXED;
	return 0;
}

/* Copies s into a NUL-terminated buffer of size n, cutting if needed. */
static void
span_copy(char *dst, size_t n, struct span s)
{
	size_t len = s.len < n - 1 ? s.len : n - 1;

	memcpy(dst, s.p, len);
	dst[len] = '\0';
}

static void
rec_to_info(const struct rec *r, struct store_event_info *info)
{
	memset(info, 0, sizeof(*info));
	info->state = r->state;
	info->received_ms = r->received_ms;
	info->due_ms = r->due_ms;
	info->attempts = r->attempts;
	info->body_len = r->body_len;
	span_copy(info->type, sizeof(info->type), r->type);
	span_copy(info->created_at, sizeof(info->created_at), r->created_at);
	span_copy(info->route, sizeof(info->route), r->route);
}

static struct span
span_str(const char *s)
{
	struct span sp;

	sp.p = s != NULL ? s : "";
	sp.len = strlen(sp.p);
	return sp;
}

/* A DBT that lends len bytes at p to Berkeley DB for one call. */
static void
dbt_in(DBT *d, const void *p, size_t len)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)(uintptr_t)p;
	d->size = (u_int32_t)len;
}

/* A DBT into which Berkeley DB returns a malloc'd copy (DB_THREAD). */
static void
dbt_out(DBT *d, u_int32_t flags)
{
	memset(d, 0, sizeof(*d));
	d->flags = flags;
}

/* Berkeley DB error messages go to our log, as logfmt. */
static void
store_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	char q[1024];

	(void)env;
	(void)pfx;
	log_write(LOG_LEVEL_ERROR, "msg=%s component=bdb",
	    log_quote(msg, q, sizeof(q)));
}

static void
store_msgcall(const DB_ENV *env, const char *msg)
{
	char q[1024];

	(void)env;
	log_write(LOG_LEVEL_INFO, "msg=%s component=bdb",
	    log_quote(msg, q, sizeof(q)));
}

/*
 * Called by Berkeley DB in whichever thread notices: after a panic (ours,
 * or recovery run by another process) every handle must be reopened.
 */
static void
store_event(DB_ENV *env, u_int32_t event, void *info)
{
	struct store *s = env->app_private;

	(void)info;
	if (s != NULL && (event == DB_EVENT_PANIC ||
	    event == DB_EVENT_REG_PANIC))
		atomic_store(&s->panic, 1);
}

/*
 * Settings made before DB_ENV->open. DB_TIME_NOTGRANTED makes a lock wait
 * that timed out return DB_LOCK_NOTGRANTED rather than DB_LOCK_DEADLOCK,
 * so store_run() can tell a stuck holder from an ordinary deadlock.
 * Returns 0 or a Berkeley DB error.
 */
static int
env_configure(DB_ENV *env, enum durability durability)
{
	int ret;

	env->set_errcall(env, store_errcall);
	env->set_msgcall(env, store_msgcall);
	if ((ret = env->set_event_notify(env, store_event)) != 0 ||
	    (ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = env->set_timeout(env, LOCK_TIMEOUT_US,
	    DB_SET_LOCK_TIMEOUT)) != 0 ||
	    (ret = env->set_lg_max(env, LG_MAX)) != 0 ||
	    (ret = env->set_cachesize(env, 0, CACHE_BYTES, 1)) != 0 ||
	    (ret = env->set_flags(env, DB_TIME_NOTGRANTED, 1)) != 0)
		return ret;
	if (durability == DURABILITY_WRITE)
		return env->set_flags(env, DB_TXN_WRITE_NOSYNC, 1);
	return 0;
}

/* Opens (creating) one database file of the environment. */
static int
db_open(DB_ENV *env, DB **dbp, const char *file, DBTYPE type,
    u_int32_t pagesize)
{
	DB *db;
	int ret;

	*dbp = NULL;
	if ((ret = db_create(&db, env, 0)) != 0)
		return ret;
	if ((ret = db->set_flags(db, DB_CHKSUM)) != 0 ||
	    (pagesize != 0 && (ret = db->set_pagesize(db, pagesize)) != 0) ||
	    (ret = db->open(db, NULL, file, NULL, type, DB_OPEN_FLAGS,
	    FILE_MODE)) != 0) {
		(void)db->close(db, 0);
		return ret;
	}
	*dbp = db;
	return 0;
}

/* Calls fn on every region file (__db.001, ...) of dir; stops at an error. */
static int
regions_each(const char *dir, int (*fn)(int dirfd, const char *name))
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if ((d = opendir(dir)) == NULL)
		return errno;
	while (ret == 0 && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "__db.0", 6) == 0)
			ret = fn(dirfd(d), de->d_name);
	closedir(d);
	return ret;
}

/* Gives the region file every block of its size now. */
static int
region_allocate(int dirfd, const char *name)
{
	struct stat st;
	int fd, ret;

	if ((fd = openat(dirfd, name, O_RDWR | O_CLOEXEC)) == -1)
		return errno;
	ret = fstat(fd, &st) == -1 ? errno :
	    posix_fallocate(fd, 0, st.st_size);
	close(fd);
	return ret == EOPNOTSUPP || ret == EINVAL ? 0 : ret;
}

/*
 * Berkeley DB maps its region files and touches their pages as it needs
 * them; a page of a sparse file that the disk has no block for kills the
 * process with SIGBUS instead of returning ENOSPC. So regions about to be
 * made need REGION_SPACE free (else ENOSPC, which answers 503), and
 * once open every block of them is allocated at once (regions_allocate()).
 * Left: regions remade by a recovery on a full disk.
 */
static int
regions_space(const char *dir)
{
	struct statvfs sv;
	char *first = xasprintf("%s/__db.001", dir);
	int exists = access(first, F_OK) == 0;

	free(first);
	if (exists || statvfs(dir, &sv) == -1)
		return 0;
	return (long long)sv.f_bavail * (long long)sv.f_frsize <
	    REGION_SPACE ? ENOSPC : 0;
}

static int
regions_allocate(const char *dir)
{
	return regions_each(dir, region_allocate);
}

/*
 * Opens the environment in s->dir (running recovery if a process died in
 * it) and the five databases into s. On failure every handle is closed
 * again and err says why. Returns 0 or a Berkeley DB error.
 */
/* The databases of a store, as env_open() opens them. */
static const struct db_file {
	size_t		 field;		/* offsetof(struct store, the DB *) */
	const char	*name;
	DBTYPE		 type;
	u_int32_t	 pagesize;	/* 0: Berkeley DB's choice */
} db_files[] = {
	{ offsetof(struct store, events), "events.db", DB_HASH, 0 },
	{ offsetof(struct store, bodies), "bodies.db", DB_BTREE, BODY_PAGESIZE },
	{ offsetof(struct store, inbox), "inbox.db", DB_HASH, 0 },
	{ offsetof(struct store, jobs), "jobs.db", DB_BTREE, 0 },
	{ offsetof(struct store, attempts), "attempts.db", DB_BTREE, 0 },
};

static int
env_open(struct store *s, char *err, size_t errlen)
{
	const struct db_file *f;
	DB_ENV *env;
	mode_t old;
	size_t i;
	int ret;

	if ((ret = db_env_create(&env, 0)) != 0)
		goto fail;
	env->app_private = s;
	if ((ret = env_configure(env, s->opt.durability)) != 0) {
		(void)env->close(env, 0);
		goto fail;
	}
	atomic_store(&s->panic, 0);
	if ((ret = regions_space(s->dir)) != 0) {
		(void)env->close(env, 0);
		goto fail;
	}
	/* __db.register is created 0660 whatever mode we pass. */
	old = umask(077);
	ret = env->open(env, s->dir, ENV_FLAGS, FILE_MODE);
	umask(old);
	if (ret == 0)
		ret = regions_allocate(s->dir);
	if (ret != 0) {
		(void)env->close(env, 0);
		goto fail;
	}
	s->env = env;
	if ((ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0) {
		handles_close(s);
		goto fail;
	}
	for (i = 0; i < sizeof(db_files) / sizeof(db_files[0]); i++) {
		f = &db_files[i];
		if ((ret = db_open(env, (DB **)((char *)s + f->field), f->name,
		    f->type, f->pagesize)) != 0) {
			handles_close(s);
			/* A file of another type: made by an older hookgate. */
			snprintf(err, errlen, "%s/%s: %s%s", s->dir, f->name,
			    db_strerror(ret), ret == EINVAL ? " (a store of "
			    "an older hookgate? see README, \"Upgrading\")" :
			    "");
			return ret;
		}
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", s->dir, db_strerror(ret));
	return ret;
}

/* Closes the databases, then the environment; safe on a partial open. */
static void
handles_close(struct store *s)
{
	DB **dbs[] = { &s->attempts, &s->jobs, &s->inbox, &s->bodies,
	    &s->events };
	size_t i;

	/*
	 * DB_NOSYNC: the log holds every commit and the page cache lives on
	 * in the shared region for the next process; a sync per database at
	 * every close would be five more fdatasyncs per CGI request.
	 * Checkpoints write the pages out.
	 */
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if (*dbs[i] != NULL)
			(void)(*dbs[i])->close(*dbs[i], DB_NOSYNC);
		*dbs[i] = NULL;
	}
	if (s->env != NULL)
		(void)s->env->close(s->env, 0);
	s->env = NULL;
}

/*
 * Berkeley DB checks lock timeouts only when some thread blocks or runs
 * the deadlock detector; a waiter itself sleeps on a mutex without a
 * deadline. So without help, a request queued behind the lock of a
 * process that died inside a transaction would sleep until some other
 * process happened to conflict. The watchdog runs the detector in
 * expire-only mode a few times a second, which turns such a wait into
 * DB_LOCK_NOTGRANTED after LOCK_TIMEOUT_US; store_run() then reopens
 * the environment, and that runs recovery. (It cannot help a thread
 * blocked on a mutex, rather than a lock, of a dead process, nor one
 * waiting in a region another process has already recovered and
 * panicked: only ending the process frees those.)
 */
static void
watchdog_tick(struct store *s)
{
	if (pthread_rwlock_tryrdlock(&s->rw) != 0)
		return;		/* a reopen is under way */
	if (s->env != NULL && !atomic_load(&s->panic))
		(void)s->env->lock_detect(s->env, 0, DB_LOCK_EXPIRE, NULL);
	pthread_rwlock_unlock(&s->rw);
}

/* The watchdog thread: a tick every WATCHDOG_MS until watchdog_stop(). */
static void *
store_watchdog(void *arg)
{
	struct store *s = arg;
	struct timespec until;

	pthread_mutex_lock(&s->wd_mu);
	while (!s->wd_stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += WATCHDOG_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&s->wd_cv, &s->wd_mu, &until);
		if (s->wd_stop)
			break;
		pthread_mutex_unlock(&s->wd_mu);
		watchdog_tick(s);
		pthread_mutex_lock(&s->wd_mu);
	}
	pthread_mutex_unlock(&s->wd_mu);
	return NULL;
}

/*
 * Starts the watchdog with every signal blocked, so that SIGTERM and
 * friends keep going to the threads that handle them. Returns 0 or -1.
 */
static int
watchdog_start(struct store *s)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int ret;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->wd_cv, &ca) != 0 ||
	    pthread_mutex_init(&s->wd_mu, NULL) != 0)
		fatal_oom();
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&s->wd, NULL, store_watchdog, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret != 0) {
		pthread_cond_destroy(&s->wd_cv);
		pthread_mutex_destroy(&s->wd_mu);
		return -1;
	}
	return 0;
}

static void
watchdog_stop(struct store *s)
{
	pthread_mutex_lock(&s->wd_mu);
	s->wd_stop = 1;
	pthread_cond_signal(&s->wd_cv);
	pthread_mutex_unlock(&s->wd_mu);
	pthread_join(s->wd, NULL);
	pthread_cond_destroy(&s->wd_cv);
	pthread_mutex_destroy(&s->wd_mu);
}

static void
store_free(struct store *s)
{
	pthread_rwlock_destroy(&s->rw);
	pthread_mutex_destroy(&s->pmu);
	pthread_mutex_destroy(&s->amu);
	free(s->dir);
	free(s);
}

struct store *
store_open(const char *dir, const struct store_options *opt, char *err,
    size_t errlen)
{
	struct store *s;

	if (dir_prepare(dir, err, errlen) == -1)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	s->opt = *opt;
	atomic_init(&s->panic, 0);
	atomic_init(&s->holds, 1);
	if (pthread_rwlock_init(&s->rw, NULL) != 0 ||
	    pthread_mutex_init(&s->pmu, NULL) != 0 ||
	    pthread_mutex_init(&s->amu, NULL) != 0)
		fatal_oom();
	if (env_open(s, err, errlen) != 0) {
		store_free(s);
		return NULL;
	}
	if (watchdog_start(s) == -1) {
		snprintf(err, errlen, "%s: cannot start a thread", dir);
		handles_close(s);
		store_free(s);
		return NULL;
	}
	return s;
}

struct store *
store_hold(struct store *s)
{
	atomic_fetch_add(&s->holds, 1);
	return s;
}

int
store_check_local(const char *dir, char *err, size_t errlen)
{
	return dir_check_local(dir, err, errlen);
}

void
store_close(struct store *s)
{
	if (s == NULL || atomic_fetch_sub(&s->holds, 1) > 1)
		return;
	watchdog_stop(s);
	handles_close(s);
	store_free(s);
}

/*
 * Lets go of the handles of an environment that panicked (another process
 * found a dead one and ran recovery) without closing them: closing takes
 * mutexes, and one a dead process held is never given back (Debian's
 * libdb uses plain pthread mutexes), so a close could wait for ever --
 * seen as requests stuck until the watchdog. Their memory, maps and
 * descriptors (about ten) stay, counted in s->abandoned; such reopens
 * come only after a crash.
 */
static void
handles_abandon(struct store *s)
{
	s->events = s->bodies = s->inbox = s->jobs = s->attempts = NULL;
	s->env = NULL;
	s->abandoned++;
}

/*
 * Gives up the handles and opens the environment again, which runs
 * recovery if a process died in it; why is the error that made us do it.
 * Only the first of several threads that saw generation gen fail does
 * it. Returns 0 or a Berkeley DB error.
 */
static int
store_reopen(struct store *s, unsigned long gen, int why)
{
	char err[512], q[600], qwhy[256];
	int ret = 0;

	pthread_rwlock_wrlock(&s->rw);
	if (s->gen == gen) {
		/* A panicked environment complains of every handle: hush. */
		if (s->env != NULL)
			s->env->set_errcall(s->env, NULL);
		if (atomic_load(&s->panic))
			handles_abandon(s);
		else
			handles_close(s);	/* it stays registered else */
		ret = env_open(s, err, sizeof(err));
		s->gen++;
		log_quote(db_strerror(why), qwhy, sizeof(qwhy));
		if (ret != 0)
			log_write(LOG_LEVEL_ERROR, "msg=\"store reopen "
			    "failed\" reason=%s error=%s", qwhy,
			    log_quote(err, q, sizeof(q)));
		else
			log_write(LOG_LEVEL_WARN, "msg=\"store reopened\" "
			    "reason=%s abandoned=%u", qwhy, s->abandoned);
	}
	pthread_rwlock_unlock(&s->rw);
	return ret;
}

/* Sleeps a random 1..2^tries ms (at most 64) so retries do not collide. */
static void
retry_pause(int tries)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sleep_ms(1 + (long)(((unsigned long)ts.tv_nsec ^
	    (unsigned long)getpid()) % (1UL << (tries < 6 ? tries : 6))));
}

/*
 * Runs op (one whole transaction) under the shared lock and decides what
 * a failure means: a deadlock is retried after a short random pause, up
 * to MAX_TRIES; a panic, or a lock wait that timed out (its holder may
 * have died inside a transaction), makes the handle reopen the
 * environment once -- running recovery if needed -- and try again.
 * Returns op's last result.
 */
static int
store_run(struct store *s, int (*op)(struct store *, void *), void *arg)
{
	unsigned long gen;
	int ret, tries = 0, reopened = 0;

	for (;;) {
		pthread_rwlock_rdlock(&s->rw);
		gen = s->gen;
		if (s->env == NULL || atomic_load(&s->panic))
			ret = DB_RUNRECOVERY;
		else
			ret = op(s, arg);
		pthread_rwlock_unlock(&s->rw);
		if (ret == DB_LOCK_DEADLOCK && ++tries < MAX_TRIES) {
			retry_pause(tries);
			continue;
		}
		if ((ret != DB_RUNRECOVERY && ret != DB_LOCK_NOTGRANTED) ||
		    reopened)
			return ret;
		reopened = 1;
		if (store_reopen(s, gen, ret) != 0)
			return ret;
	}
}

/* Logs a failed operation once, with Berkeley DB's reason. */
static void
store_log_fail(const char *what, int ret)
{
	char q[256];

	log_write(LOG_LEVEL_ERROR, "msg=\"store %s failed\" error=%s", what,
	    log_quote(db_strerror(ret), q, sizeof(q)));
}

static void
job_key_make(struct job_key *k, int64_t due, const char *id, size_t id_len)
{
	be64_put(k->b, (uint64_t)due);
	memcpy(k->b + 8, id, id_len);
	k->len = 8 + id_len;
}

static int64_t
job_key_due(const struct job_key *k)
{
	return (int64_t)be64_get(k->b);
}

static const char *
job_key_id(const struct job_key *k)
{
	return (const char *)k->b + 8;
}

/* Puts the event record; DB_KEYEXIST if the id is already recorded. */
static int
put_event(struct store *s, DB_TXN *txn, const struct accept_arg *a)
{
	const struct store_new_event *ev = a->ev;
	unsigned char *buf;
	struct rec r;
	size_t len;
	DBT k, d;
	int ret;

	memset(&r, 0, sizeof(r));
	r.state = ev->queue ? STATE_QUEUED : STATE_IGNORED;
	r.received_ms = a->now;
	r.due_ms = ev->queue ? a->now : 0;
	r.body_len = ev->body_len;
	r.type = span_str(ev->type);
	r.created_at = span_str(ev->created_at);
	r.route = span_str(ev->route);
	if ((buf = rec_encode(&r, &len)) == NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: type, created_at or "
		    "route longer than %d bytes\"", REC_STR_MAX);
		return EINVAL;
	}
	dbt_in(&k, ev->id, ev->id_len);
	dbt_in(&d, buf, len);
	ret = s->events->put(s->events, txn, &k, &d, DB_NOOVERWRITE);
	free(buf);
	return ret;
}

/* Puts the body under be64(received) || id (see struct job_key). */
static int
put_body(struct store *s, DB_TXN *txn, const struct store_new_event *ev,
    int64_t received)
{
	struct job_key bk;
	DBT k, d;

	job_key_make(&bk, received, ev->id, ev->id_len);
	dbt_in(&k, bk.b, bk.len);
	dbt_in(&d, ev->body, ev->body_len);
	return s->bodies->put(s->bodies, txn, &k, &d, 0);
}

/*
 * Queues id in the inbox, due at due. The dispatcher takes entries over
 * in batches (op_inbox_move()): it deletes them here and inserts
 * be64(due) || id into jobs in one transaction.
 */
static int
inbox_put(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    int64_t due)
{
	unsigned char val[1 + 8];
	DBT k, d;

	val[0] = JOB_VERSION;
	be64_put(val + 1, (uint64_t)due);
	dbt_in(&k, id, id_len);
	dbt_in(&d, val, sizeof(val));
	return s->inbox->put(s->inbox, txn, &k, &d, 0);
}

static int
put_inbox(struct store *s, DB_TXN *txn, const struct store_new_event *ev,
    int64_t due)
{
	return inbox_put(s, txn, ev->id, ev->id_len, due);
}

/*
 * Puts the log on disk up to its end, in the environment the accept used:
 * a flush retried in a reopened environment would miss what the old one
 * held in memory. Concurrent calls share a flush.
 *
 * Then asks once more, for a record surely on disk (asking for the end
 * again would wait for another flush, of other requests' commits, and
 * halved the rate), which fails if the environment panicked meanwhile:
 * a process that finds a dead one sets the panic flag before its recovery
 * reads the log, so no panic after our write means the recovery, if any,
 * will see it; a panic means it may not have, and the caller's retry in
 * the reopened environment decides. (A commit that syncs inside
 * txn->commit() has the same window, unchecked.)
 */
static int
log_durable(struct store *s)
{
	/* The log's first record: always on disk once anything is, so the
	   second call only enters the environment, where a panic shows. */
	static const DB_LSN first = { 1, 0 };
	int ret;

	if (s->opt.durability != DURABILITY_FSYNC)
		return 0;	/* the commit wrote the log */
	if ((ret = s->env->log_flush(s->env, NULL)) != 0)
		return ret;
	return s->env->log_flush(s->env, &first);
}

/*
 * The accept transaction. The duplicate check comes first so that a
 * redelivery of a known id is "duplicate" even when the queue is full.
 *
 * With fsync durability the commit lets its locks go before the log is
 * on disk, and the log is flushed before returning (early lock release):
 * a commit waiting for its flush blocks no other, so the commits of every
 * request in flight share one flush (group commit). A duplicate waits for
 * the same flush, since the record it saw may not be on disk yet. A flush
 * that fails (the environment panicked) fails the whole operation, and
 * store_run() runs it again in the reopened environment, where the id is
 * either there (recovered: duplicate) or not (accepted anew). With write
 * durability the environment writes the log at commit.
 *
 * Concurrent accepts of one process deadlock one another on hash pages
 * now and then, and under load one could lose every retry (a 503). So a
 * transaction runs alone in its process (amu) with write durability,
 * whose commit writes the log with the locks held, and with fsync from
 * its ACCEPT_ALONE_AFTER'th try on: running them all alone cost 40 % of
 * the rate with 256 KiB bodies. The wait for the disk is shared outside
 * the mutex either way.
 */
static int
op_accept(struct store *s, void *arg)
{
	struct accept_arg *a = arg;
	DB_TXN *txn;
	int ret, alone;

	alone = s->opt.durability != DURABILITY_FSYNC ||
	    ++a->tries >= ACCEPT_ALONE_AFTER;
	if (alone)
		pthread_mutex_lock(&s->amu);
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0) {
		if (alone)
			pthread_mutex_unlock(&s->amu);
		return ret;
	}
	if ((ret = put_event(s, txn, a)) != 0)
		goto fail;
	if (a->ev->queue && a->full) {
		ret = STORE_EFULL;
		goto fail;
	}
	if ((ret = put_body(s, txn, a->ev, a->now)) != 0 ||
	    (a->ev->queue && (ret = put_inbox(s, txn, a->ev, a->now)) != 0))
		goto fail;
	/* The flags: no sync in the commit with fsync; write's are the
	   environment's (DB_TXN_WRITE_NOSYNC). */
	ret = txn->commit(txn, s->opt.durability == DURABILITY_FSYNC ?
	    DB_TXN_NOSYNC : 0);
	if (alone)
		pthread_mutex_unlock(&s->amu);
	return ret != 0 ? ret : log_durable(s);
fail:
	(void)txn->abort(txn);
	if (alone)
		pthread_mutex_unlock(&s->amu);
	if (ret == DB_KEYEXIST && (ret = log_durable(s)) == 0)
		ret = DB_KEYEXIST;
	return ret;
}

/* Adds the entries of db to a->count, stopping at a->limit. */
static int
count_entries(DB *db, DB_TXN *txn, struct pending_arg *a)
{
	DBC *c;
	DBT k, d;
	int ret;

	if (a->count >= a->limit)
		return 0;
	if ((ret = db->cursor(db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	while (a->count < a->limit && (ret = c->get(c, &k, &d, DB_NEXT)) == 0)
		a->count++;
	(void)c->close(c);
	free(k.data);
	free(d.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Counts inbox and jobs entries up to a->limit in a degree-2 transaction
 * of its own: read locks are let go page by page, so writers wait at
 * most for one page read, and it holds no lock of any accept.
 */
static int
op_pending(struct store *s, void *arg)
{
	struct pending_arg *a = arg;
	DB_TXN *txn;
	int ret;

	a->count = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	if ((ret = count_entries(s->inbox, txn, a)) != 0 ||
	    (ret = count_entries(s->jobs, txn, a)) != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

/*
 * Pending jobs, exact up to limit: a walk of inbox and jobs at most once
 * a second per handle (less often when the walk is long), plus the jobs
 * this handle queued since that walk started (so one process is exact;
 * other processes' accepts show within a second or so). A fresh process
 * (CGI) always walks. Returns -1 on error.
 */
/* How long a count of count pending, for a limit (LONG_MAX: none), that
   took walk_ms to make, is trusted. */
static int64_t
pending_ttl(int64_t walk_ms, long count, long limit)
{
	int64_t ttl = walk_ms * 50;	/* a long walk: 2 % of the time */
	int64_t headroom = count < limit && limit != LONG_MAX ?
	    (int64_t)(limit - count) * 1000 / PENDING_RATE_MAX : 0;

	if (ttl < headroom)
		ttl = headroom;
	if (ttl > PENDING_TTL_MAX)
		ttl = PENDING_TTL_MAX;
	return ttl < PENDING_TTL_MS ? PENDING_TTL_MS : ttl;
}

static long
pending_get(struct store *s, long limit)
{
	struct pending_arg a;
	unsigned long own;
	int64_t now = now_ms();
	long n = -1;
	int ret;

	pthread_mutex_lock(&s->pmu);
	/* While one thread walks, the others take the last count. */
	if (s->pend_at != 0 && ((now >= s->pend_at &&
	    now - s->pend_at < s->pend_ttl) || s->pend_walking) &&
	    (s->pend_complete || s->pend_count >= limit))
		n = s->pend_count + (long)(s->pend_own - s->pend_own_at);
	else
		s->pend_walking++;
	own = s->pend_own;
	pthread_mutex_unlock(&s->pmu);
	if (n >= 0)
		return n;
	a.limit = limit;
	ret = store_run(s, op_pending, &a);
	pthread_mutex_lock(&s->pmu);
	s->pend_walking--;
	if (ret != 0) {
		pthread_mutex_unlock(&s->pmu);
		store_log_fail("pending count", ret);
		return -1;
	}
	s->pend_at = now;
	/* A long backlog takes long to count: at most 2 % of the time. */
	s->pend_ttl = pending_ttl(now_ms() - now, a.count, limit);
	s->pend_count = a.count;
	s->pend_complete = a.count < limit;
	s->pend_own_at = own;
	n = a.count + (long)(s->pend_own - own);
	pthread_mutex_unlock(&s->pmu);
	return n;
}

long
store_pending(struct store *s)
{
	return pending_get(s, LONG_MAX);
}

enum store_status
store_accept(struct store *s, const struct store_new_event *ev)
{
	struct accept_arg a;
	long pending;
	int ret;

	/* Job and attempt keys hold the id; a NUL would break their order. */
	if (ev->id_len == 0 || ev->id_len > STORE_ID_MAX ||
	    memchr(ev->id, '\0', ev->id_len) != NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: id empty, longer than "
		    "%d bytes or with a NUL\"", STORE_ID_MAX);
		return STORE_UNAVAILABLE;
	}
	if (ev->body_len > UINT32_MAX) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: body too large\"");
		return STORE_UNAVAILABLE;
	}
	a.ev = ev;
	a.now = now_ms();
	a.full = 0;
	a.tries = 0;
	if (ev->queue && ev->max_queue > 0) {
		if ((pending = pending_get(s, ev->max_queue)) < 0)
			return STORE_UNAVAILABLE;
		a.full = pending >= ev->max_queue;
	}
	ret = store_run(s, op_accept, &a);
	switch (ret) {
	case 0:
		break;
	case DB_KEYEXIST:
		return STORE_DUPLICATE;
	case STORE_EFULL:
		return STORE_FULL;
	default:
		store_log_fail("accept", ret);
		return STORE_UNAVAILABLE;
	}
	if (ev->queue) {
		pthread_mutex_lock(&s->pmu);
		s->pend_own++;
		pthread_mutex_unlock(&s->pmu);
	}
	return STORE_OK;
}

/* Reads the event record of a->id into a->info. */
static int
get_event(struct store *s, DB_TXN *txn, struct get_arg *a)
{
	struct rec r;
	DBT k, d;
	int ret;

	dbt_in(&k, a->id, a->id_len);
	dbt_out(&d, DB_DBT_MALLOC);
	if ((ret = s->events->get(s->events, txn, &k, &d, 0)) != 0)
		return ret;
	if (rec_decode(d.data, d.size, &r) == -1) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: undecodable event "
		    "record\"");
		free(d.data);
		return EINVAL;
	}
	rec_to_info(&r, &a->info);
	free(d.data);
	return 0;
}

/* Reads the body of a->id, whose record is in a->info, into a malloc'd
   a->body (never NULL). */
static int
get_body(struct store *s, DB_TXN *txn, struct get_arg *a)
{
	struct job_key bk;
	DBT k, d;
	int ret;

	job_key_make(&bk, a->info.received_ms, a->id, a->id_len);
	dbt_in(&k, bk.b, bk.len);
	dbt_out(&d, DB_DBT_MALLOC);
	if ((ret = s->bodies->get(s->bodies, txn, &k, &d, 0)) != 0)
		return ret;
	if (d.data == NULL)
		d.data = xmalloc(1);
	a->body = d.data;
	a->len = d.size;
	return 0;
}

static int
op_get(struct store *s, void *arg)
{
	struct get_arg *a = arg;
	DB_TXN *txn;
	int ret;

	free(a->body);
	a->body = NULL;
	a->found = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	if ((ret = get_event(s, txn, a)) != 0 ||
	    (a->want_body && (ret = get_body(s, txn, a)) != 0)) {
		(void)txn->abort(txn);
		return ret == DB_NOTFOUND ? 0 : ret;
	}
	a->found = 1;
	return txn->commit(txn, 0);
}

int
store_get(struct store *s, const char *id, size_t id_len,
    struct store_event_info *info, unsigned char **body, size_t *len)
{
	struct get_arg a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.id_len = id_len;
	a.want_body = body != NULL;
	if ((ret = store_run(s, op_get, &a)) != 0) {
		free(a.body);
		store_log_fail("get", ret);
		return -1;
	}
	if (!a.found) {
		free(a.body);
		return 0;
	}
	if (info != NULL)
		*info = a.info;
	if (body != NULL) {
		*body = a.body;
		if (len != NULL)
			*len = a.len;
	}
	return 1;
}

/* Adds one decoded record to the counts. */
static void
counts_add(struct store_counts *c, const struct rec *r)
{
	switch (r->state) {
	case STATE_QUEUED:
		c->queued++;
		break;
	case STATE_RUNNING:
		c->running++;
		break;
	case STATE_RETRYING:
		c->retrying++;
		break;
	case STATE_DONE:
		c->done++;
		break;
	case STATE_FAILED:
		c->failed++;
		break;
	case STATE_IGNORED:
		c->ignored++;
		break;
	}
	if ((r->state == STATE_QUEUED || r->state == STATE_RETRYING ||
	    r->state == STATE_RUNNING) && (c->oldest_pending_ms == 0 ||
	    r->received_ms < c->oldest_pending_ms))
		c->oldest_pending_ms = r->received_ms;
}

/* Walks every event record, degree 2, counting by state. */
static int
op_count(struct store *s, void *arg)
{
	struct store_counts *c = arg;
	struct rec r;
	DB_TXN *txn;
	DBC *cur = NULL;
	DBT k, d;
	int ret;

	memset(c, 0, sizeof(*c));
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->events->cursor(s->events, txn, &cur,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	while ((ret = cur->get(cur, &k, &d, DB_NEXT)) == 0)
		if (rec_decode(d.data, d.size, &r) == 0)
			counts_add(c, &r);
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (cur != NULL)
		(void)cur->close(cur);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

int
store_count(struct store *s, struct store_counts *c)
{
	int ret;

	if ((ret = store_run(s, op_count, c)) != 0) {
		store_log_fail("count", ret);
		return -1;
	}
	return 0;
}

/*
 * A checkpoint only when CHECKPOINT_KB of log or 5 minutes have passed:
 * each writes every dirty page and syncs the databases, so under load a
 * small threshold costs more than the recovery it shortens (at most that
 * much log to replay).
 */
static int
op_checkpoint(struct store *s, void *arg)
{
	(void)arg;
	return s->env->txn_checkpoint(s->env, CHECKPOINT_KB, 5, 0);
}

int
store_checkpoint(struct store *s)
{
	int ret;

	if ((ret = store_run(s, op_checkpoint, NULL)) != 0) {
		store_log_fail("checkpoint", ret);
		return -1;
	}
	return 0;
}

/*
 * Dispatch: claims, finishes, and the admin walks. Only the drainer
 * writes jobs; its transactions are short and touch a bounded batch.
 */


/* One jobs.db entry as a scan saw it, read committed: a hint only. */
struct job_item {
	struct job_key	 key;
	int		 found;		/* its event record exists */
	int		 state;		/* 0: a record we cannot read */
	char		 type[256];
};

/* A batch of due entries of jobs.db, in due order (op_job_scan()). */
struct job_scan {
	int64_t		 until;		/* entries due at or before */
	size_t		 limit;		/* entries to read, <= SCAN_BATCH */
	struct job_key	 from;		/* start after it; len 0: first */
	struct job_key	 last;		/* the last entry seen */
	struct job_item	 items[SCAN_BATCH];
	size_t		 n;
	int		 more;		/* stopped with the batch full */
};

struct claim_arg {
	const struct job_key *key;
	int64_t		 now;
	int64_t		 lease;
	struct store_job *job;
	int		 claimed;
};

struct finish_arg {
	const struct store_job *job;
	const struct store_attempt *at;
	enum event_state next;
	int64_t		 due;
	int		 found;
};

struct requeue_arg {
	const struct job_scan *js;
	int64_t		 now;
	long		 n;
};

struct replay_arg {
	const char	*id;
	size_t		 id_len;
	int64_t		 now;
	int		 result;
};

struct event_item {
	char		 id[STORE_ID_MAX + 1];
	size_t		 id_len;
	struct store_event_info info;
};

/*
 * A batch of events.db records in hash order (op_event_scan()). A hash
 * has no order to resume from, so a batch ends on the key the next one
 * starts at (inclusive), which it has not taken.
 */
struct event_scan {
	unsigned	 states;	/* 1 << state for each wanted state */
	int64_t		 before;	/* received before */
	uint64_t	 max_bytes;	/* body bytes per batch (at least one) */
	unsigned char	 from[STORE_ID_MAX];
	size_t		 from_len;	/* 0: from the first */
	struct event_item items[EVENT_BATCH];
	size_t		 n;
	unsigned char	 next[STORE_ID_MAX];
	size_t		 next_len;	/* 0: the walk is over */
};

struct purge_arg {
	const struct event_scan *es;
	unsigned long	 removed;
};

struct attempts_arg {
	const char	*id;
	size_t		 id_len;
	struct store_attempt_info *v;
	size_t		 n;
};

/* Logs something odd about a job, with its id (not NUL-terminated). */
static void
log_job(const char *msg, const char *id, size_t id_len)
{
	char buf[STORE_ID_MAX + 1], q[2 * STORE_ID_MAX + 8];

	if (id_len > STORE_ID_MAX)
		id_len = STORE_ID_MAX;
	memcpy(buf, id, id_len);
	buf[id_len] = '\0';
	log_write(LOG_LEVEL_WARN, "msg=\"store: %s\" id=%s", msg,
	    log_quote(buf, q, sizeof(q)));
}

static int
job_put(struct store *s, DB_TXN *txn, const struct job_key *jk)
{
	unsigned char v = JOB_VERSION;
	DBT k, d;

	dbt_in(&k, jk->b, jk->len);
	dbt_in(&d, &v, 1);
	return s->jobs->put(s->jobs, txn, &k, &d, 0);
}

static int
job_del(struct store *s, DB_TXN *txn, const struct job_key *jk)
{
	DBT k;

	dbt_in(&k, jk->b, jk->len);
	return s->jobs->del(s->jobs, txn, &k, 0);
}

/* Write-locks the job entry jk (DB_RMW). Returns 0 or DB_NOTFOUND. */
static int
job_lock(struct store *s, DB_TXN *txn, const struct job_key *jk)
{
	unsigned char v;
	DBT k, d;

	dbt_in(&k, jk->b, jk->len);
	dbt_out(&d, DB_DBT_USERMEM | DB_DBT_PARTIAL);
	d.data = &v;
	d.ulen = sizeof(v);
	return s->jobs->get(s->jobs, txn, &k, &d, DB_RMW);
}

/*
 * Reads the record of id, with flags (DB_RMW to write it back: two
 * writers then queue on the write lock instead of deadlocking on an
 * upgrade). r points into *buf, which the caller frees (also on error).
 * Returns 0, DB_NOTFOUND, EINVAL for a record we cannot decode, or a
 * Berkeley DB error.
 */
static int
event_read(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    u_int32_t flags, struct rec *r, void **buf)
{
	DBT k, d;
	int ret;

	*buf = NULL;
	dbt_in(&k, id, id_len);
	dbt_out(&d, DB_DBT_MALLOC);
	if ((ret = s->events->get(s->events, txn, &k, &d, flags)) != 0)
		return ret;
	*buf = d.data;
	return rec_decode(d.data, d.size, r) == 0 ? 0 : EINVAL;
}

static int
event_write(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    const struct rec *r)
{
	unsigned char *buf;
	size_t len;
	DBT k, d;
	int ret;

	if ((buf = rec_encode(r, &len)) == NULL)
		return EINVAL;
	dbt_in(&k, id, id_len);
	dbt_in(&d, buf, len);
	ret = s->events->put(s->events, txn, &k, &d, 0);
	free(buf);
	return ret;
}

/* The job key an inbox entry becomes. Returns 0, or EINVAL if bad. */
static int
inbox_job_key(const DBT *k, const DBT *d, struct job_key *jk)
{
	const unsigned char *v = d->data;

	if (k->size == 0 || k->size > STORE_ID_MAX || d->size != 9 ||
	    v[0] != JOB_VERSION) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: undecodable inbox "
		    "entry\"");
		return EINVAL;
	}
	job_key_make(jk, (int64_t)be64_get(v + 1), k->data, k->size);
	return 0;
}

/*
 * Takes up to INBOX_BATCH inbox entries over into jobs, in one short
 * transaction: responders write the inbox all the time, and the pages
 * this walk write-locks stay locked until the commit. The commit is not
 * flushed: a crash that loses it only leaves the entries in the inbox,
 * and the next flushed commit writes it too, the log being sequential.
 * *arg gets the number moved.
 */
static int
op_inbox_move(struct store *s, void *arg)
{
	size_t *moved = arg;
	struct job_key jk;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret;

	*moved = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->inbox->cursor(s->inbox, txn, &c, 0)) != 0)
		goto done;
	while (*moved < INBOX_BATCH &&
	    (ret = c->get(c, &k, &d, DB_NEXT | DB_RMW)) == 0) {
		if ((ret = inbox_job_key(&k, &d, &jk)) != 0 ||
		    (ret = job_put(s, txn, &jk)) != 0 ||
		    (ret = c->del(c, 0)) != 0)
			break;
		(*moved)++;
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (c != NULL)
		(void)c->close(c);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, DB_TXN_NOSYNC);
}

/* Moves the whole inbox into jobs, a batch per transaction. 0 or -1. */
static int
inbox_drain(struct store *s)
{
	size_t moved;
	int ret;

	do {
		if ((ret = store_run(s, op_inbox_move, &moved)) != 0) {
			store_log_fail("inbox move", ret);
			return -1;
		}
	} while (moved == INBOX_BATCH);
	return 0;
}

/* Positions c on the first jobs entry after from (the first if none). */
static int
job_cursor_after(DBC *c, const struct job_key *from, DBT *k, DBT *d)
{
	int ret;

	if (from->len == 0)
		return c->get(c, k, d, DB_FIRST);
	k->data = xrealloc(k->data, from->len);
	memcpy(k->data, from->b, from->len);
	k->size = (u_int32_t)from->len;
	if ((ret = c->get(c, k, d, DB_SET_RANGE)) == 0 &&
	    k->size == from->len && memcmp(k->data, from->b, from->len) == 0)
		ret = c->get(c, k, d, DB_NEXT);
	return ret;
}

/* Fills in the event record of a scanned entry, if there is one. */
static int
job_item_fill(struct store *s, DB_TXN *txn, struct job_item *it)
{
	struct rec r;
	void *buf;
	int ret;

	it->state = 0;
	it->type[0] = '\0';
	ret = event_read(s, txn, job_key_id(&it->key), it->key.len - 8, 0,
	    &r, &buf);
	if (ret == 0) {
		it->state = r.state;
		span_copy(it->type, sizeof(it->type), r.type);
	}
	free(buf);
	it->found = ret != DB_NOTFOUND;
	return ret == DB_NOTFOUND || ret == EINVAL ? 0 : ret;
}

/* Reads up to js->limit keys due by js->until, after js->from. */
static int
job_scan_keys(struct store *s, DB_TXN *txn, struct job_scan *js)
{
	DBC *c;
	DBT k, d;
	int ret;

	if ((ret = s->jobs->cursor(s->jobs, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	for (ret = job_cursor_after(c, &js->from, &k, &d); ret == 0;
	    ret = c->get(c, &k, &d, DB_NEXT)) {
		if (k.size <= 8 || k.size > JOB_KEY_MAX)
			continue;	/* not one of ours */
		if ((int64_t)be64_get(k.data) > js->until)
			break;
		if (js->n == js->limit) {
			js->more = 1;
			break;
		}
		memcpy(js->items[js->n].key.b, k.data, k.size);
		js->items[js->n++].key.len = k.size;
	}
	(void)c->close(c);
	free(k.data);
	free(d.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Reads up to js->limit jobs entries due by js->until, after js->from,
 * then their events, degree 2: nothing stays locked after the read, so
 * the caller may decide what to take (and call allow()) lock-free. The
 * cursor is closed before the events are read: it holds its page, and
 * waiting for an event while holding a jobs page is the reverse of the
 * order every writer takes.
 */
static int
op_job_scan(struct store *s, void *arg)
{
	struct job_scan *js = arg;
	DB_TXN *txn;
	size_t i;
	int ret;

	js->n = 0;
	js->more = 0;
	js->last = js->from;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	ret = job_scan_keys(s, txn, js);
	for (i = 0; i < js->n && ret == 0; i++)
		ret = job_item_fill(s, txn, &js->items[i]);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	if (js->n > 0)
		js->last = js->items[js->n - 1].key;
	return txn->commit(txn, 0);
}

/* Copies what a run needs from an event record into job. */
static void
job_fill(struct store_job *job, const char *id, size_t id_len,
    const struct rec *r)
{
	memcpy(job->id, id, id_len);
	job->id[id_len] = '\0';
	job->id_len = id_len;
	span_copy(job->type, sizeof(job->type), r->type);
	span_copy(job->created_at, sizeof(job->created_at), r->created_at);
	span_copy(job->route, sizeof(job->route), r->route);
	job->attempt = r->attempts;
}

/* 1 for the states whose event has a job entry. */
static int
state_has_job(int state)
{
	return state == STATE_QUEUED || state == STATE_RETRYING ||
	    state == STATE_RUNNING;
}

/* 1 if r is waiting for (or running under) the job entry due at due. */
static int
rec_owns_job(const struct rec *r, int64_t due)
{
	return state_has_job(r->state) && r->due_ms == due;
}

/*
 * Claims the job at a->key if it is still there: the event becomes
 * running with one more attempt, and the entry moves to the end of the
 * lease. A job entry whose event is missing or no longer waits for it
 * is dropped, with a log line. Sets a->claimed.
 */
static int
op_claim(struct store *s, void *arg)
{
	struct claim_arg *a = arg;
	const char *id = job_key_id(a->key);
	size_t id_len = a->key->len - 8;
	struct job_key next;
	struct rec r;
	void *buf = NULL;
	DB_TXN *txn;
	int ret, found;

	a->claimed = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	ret = event_read(s, txn, id, id_len, DB_RMW, &r, &buf);
	if (ret != 0 && ret != DB_NOTFOUND)
		goto fail;
	found = ret == 0;
	if ((ret = job_lock(s, txn, a->key)) != 0)
		goto fail;	/* DB_NOTFOUND: finished or moved meanwhile */
	if (!found || !rec_owns_job(&r, job_key_due(a->key))) {
		log_job(found ? "dropped a stale job" : "dropped a job "
		    "without an event", id, id_len);
		if ((ret = job_del(s, txn, a->key)) != 0)
			goto fail;
		free(buf);
		return txn->commit(txn, 0);
	}
	r.state = STATE_RUNNING;
	r.attempts++;
	r.due_ms = a->now + a->lease;
	job_key_make(&next, r.due_ms, id, id_len);
	if ((ret = job_del(s, txn, a->key)) != 0 ||
	    (ret = job_put(s, txn, &next)) != 0 ||
	    (ret = event_write(s, txn, id, id_len, &r)) != 0)
		goto fail;
	job_fill(a->job, id, id_len, &r);
	free(buf);
	if ((ret = txn->commit(txn, DISPATCH_COMMIT)) == 0)
		a->claimed = 1;
	return ret;
fail:
	free(buf);
	(void)txn->abort(txn);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Tries to claim one scanned entry: skipped when its record is one we
 * cannot read or allow() refuses its type. Returns 1 when claimed, 0
 * when not, -1 on error.
 */
static int
claim_item(struct store *s, const struct job_item *it, int64_t now,
    int64_t lease, int (*allow)(void *, const char *), void *ctx,
    struct store_job *job)
{
	struct claim_arg a;
	int ret;

	if (it->found && (it->state == 0 || (allow != NULL &&
	    state_has_job(it->state) && !allow(ctx, it->type))))
		return 0;
	a.key = &it->key;
	a.now = now;
	a.lease = lease;
	a.job = job;
	if ((ret = store_run(s, op_claim, &a)) != 0) {
		store_log_fail("claim", ret);
		return -1;
	}
	return a.claimed;
}

/* Reads the body of a job just claimed. Returns 0 or -1. */
static int
claim_body(struct store *s, struct store_job *job)
{
	if (store_get(s, job->id, job->id_len, NULL, &job->body,
	    &job->body_len) == 1)
		return 0;
	log_job("claimed a job whose body cannot be read; it runs again "
	    "when its lease ends", job->id, job->id_len);
	return -1;
}

int
store_claim(struct store *s, int64_t now, int64_t lease_ms,
    int (*allow)(void *, const char *), void *ctx, struct store_job *job)
{
	struct job_scan *js;
	size_t i;
	int ret;

	memset(job, 0, sizeof(*job));
	if (inbox_drain(s) == -1)
		return -1;
	js = xcalloc(1, sizeof(*js));
	js->until = now;
	js->limit = SCAN_FIRST;
	do {
		if ((ret = store_run(s, op_job_scan, js)) != 0) {
			store_log_fail("job scan", ret);
			free(js);
			return -1;
		}
		for (i = 0, ret = 0; i < js->n && ret == 0; i++)
			ret = claim_item(s, &js->items[i], now, lease_ms,
			    allow, ctx, job);
		js->from = js->last;
		js->limit = SCAN_BATCH;
	} while (ret == 0 && js->more);
	free(js);
	if (ret == 1 && claim_body(s, job) == -1)
		ret = -1;
	return ret;
}

void
store_job_free(struct store_job *job)
{
	if (job == NULL)
		return;
	free(job->body);
	job->body = NULL;
	job->body_len = 0;
}

/* Writes the attempts.db key id || be32(seq) into key. */
static void
att_key(unsigned char *key, const char *id, size_t id_len, uint32_t seq)
{
	memcpy(key, id, id_len);
	be32_put(key + id_len, seq);
}

/*
 * Steps c to the next attempt of id, in seq order (to its first when
 * first is set). An id's keys are adjacent: a key sorting between two of
 * them would have to start with the id and a NUL byte (seq < 2^24), and
 * ids hold no NUL (store_accept()). Returns 0, DB_NOTFOUND after the
 * last, or a Berkeley DB error. k must be a DB_DBT_REALLOC DBT.
 */
static int
att_next(DBC *c, const char *id, size_t id_len, DBT *k, DBT *d,
    u_int32_t flags, int first)
{
	int ret;

	if (first) {
		k->data = xrealloc(k->data, id_len + 4);
		att_key(k->data, id, id_len, 0);
		k->size = (u_int32_t)(id_len + 4);
		ret = c->get(c, k, d, DB_SET_RANGE | flags);
	} else
		ret = c->get(c, k, d, DB_NEXT | flags);
	if (ret == 0 && (k->size != id_len + 4 ||
	    memcmp(k->data, id, id_len) != 0))
		ret = DB_NOTFOUND;
	return ret;
}

/*
 * Visits the attempts of id with a cursor in txn: deletes them when del
 * is set, else sets *last to the highest seq (0: none). Write-locks what
 * it reads (DB_RMW) since it writes next. Returns 0 or an error.
 */
static int
att_walk(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    int del, uint32_t *last)
{
	DBC *c;
	DBT k, d;
	int ret, first = 1;

	if (last != NULL)
		*last = 0;
	if ((ret = s->attempts->cursor(s->attempts, txn, &c, 0)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC | DB_DBT_PARTIAL);
	while ((ret = att_next(c, id, id_len, &k, &d, DB_RMW, first)) == 0) {
		first = 0;
		if (del && (ret = c->del(c, 0)) != 0)
			break;
		if (last != NULL)
			*last = be32_get((unsigned char *)k.data + id_len);
	}
	(void)c->close(c);
	free(k.data);
	free(d.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/* Appends the attempt of job as id's next seq. */
static int
att_append(struct store *s, DB_TXN *txn, const struct store_job *job,
    const struct store_attempt *at)
{
	unsigned char key[ATT_KEY_MAX], *val;
	uint32_t seq;
	size_t len;
	DBT k, d;
	int ret;

	if ((ret = att_walk(s, txn, job->id, job->id_len, 0, &seq)) != 0)
		return ret;
	if ((val = att_encode(job->attempt, at, &len)) == NULL)
		return EINVAL;
	att_key(key, job->id, job->id_len, seq + 1);
	dbt_in(&k, key, job->id_len + 4);
	dbt_in(&d, val, len);
	ret = s->attempts->put(s->attempts, txn, &k, &d, DB_NOOVERWRITE);
	free(val);
	return ret;
}

/* Moves a running event on to next, its job entry with it. */
static int
event_move_on(struct store *s, DB_TXN *txn, const struct store_job *job,
    struct rec *r, enum event_state next, int64_t due)
{
	struct job_key jk;
	int ret;

	job_key_make(&jk, r->due_ms, job->id, job->id_len);
	if ((ret = job_del(s, txn, &jk)) == DB_NOTFOUND)
		log_job("a running job had no job entry", job->id,
		    job->id_len);
	else if (ret != 0)
		return ret;
	r->state = next;
	r->due_ms = 0;
	if (next == STATE_RETRYING) {
		r->due_ms = due;
		job_key_make(&jk, due, job->id, job->id_len);
		if ((ret = job_put(s, txn, &jk)) != 0)
			return ret;
	}
	return event_write(s, txn, job->id, job->id_len, r);
}

/*
 * Records an attempt and, if the event still runs under this claim,
 * moves it on. The event is locked first, as in op_claim().
 */
static int
op_finish(struct store *s, void *arg)
{
	struct finish_arg *a = arg;
	const struct store_job *job = a->job;
	struct rec r;
	void *buf = NULL;
	DB_TXN *txn;
	int ret;

	a->found = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	if ((ret = event_read(s, txn, job->id, job->id_len, DB_RMW, &r,
	    &buf)) != 0)
		goto fail;
	a->found = 1;
	if ((ret = att_append(s, txn, job, a->at)) != 0)
		goto fail;
	if (r.state == STATE_RUNNING && r.attempts == job->attempt &&
	    (ret = event_move_on(s, txn, job, &r, a->next, a->due)) != 0)
		goto fail;
	free(buf);
	return txn->commit(txn, DISPATCH_COMMIT);
fail:
	free(buf);
	(void)txn->abort(txn);
	return ret == DB_NOTFOUND && !a->found ? 0 : ret;
}

int
store_finish(struct store *s, const struct store_job *job,
    const struct store_attempt *at, enum event_state next, int64_t due_ms)
{
	struct finish_arg a;
	int ret;

	if ((next != STATE_DONE && next != STATE_FAILED &&
	    next != STATE_RETRYING) || job->id_len == 0 ||
	    job->id_len > STORE_ID_MAX) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: bad finish\"");
		return -1;
	}
	a.job = job;
	a.at = at;
	a.next = next;
	a.due = due_ms;
	if ((ret = store_run(s, op_finish, &a)) != 0) {
		store_log_fail("finish", ret);
		return -1;
	}
	if (!a.found)
		log_job("finished a job whose event is gone", job->id,
		    job->id_len);
	return 0;
}

/*
 * The earliest due time of jobs (its first key) and of the inbox (every
 * entry: the drainer keeps it small), degree 2. *arg gets it, 0: none.
 */
static int
op_next_due(struct store *s, void *arg)
{
	int64_t *due = arg, t;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret;

	*due = INT64_MAX;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->jobs->cursor(s->jobs, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	ret = c->get(c, &k, &d, DB_FIRST);
	(void)c->close(c);
	c = NULL;
	if (ret == 0 && k.size > 8)
		*due = (int64_t)be64_get(k.data);
	if ((ret != 0 && ret != DB_NOTFOUND) ||
	    (ret = s->inbox->cursor(s->inbox, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	while ((ret = c->get(c, &k, &d, DB_NEXT)) == 0)
		if (d.size == 9 && (t = (int64_t)be64_get(
		    (unsigned char *)d.data + 1)) < *due)
			*due = t;
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (c != NULL)
		(void)c->close(c);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

int64_t
store_next_due(struct store *s)
{
	int64_t due;
	int ret;

	if ((ret = store_run(s, op_next_due, &due)) != 0) {
		store_log_fail("next due", ret);
		return -1;
	}
	if (due == INT64_MAX)
		return 0;
	return due > 0 ? due : 1;	/* 0 means none */
}

/* Makes the running jobs of a scanned batch due at a->now. */
static int
op_requeue(struct store *s, void *arg)
{
	struct requeue_arg *a = arg;
	const struct job_item *it;
	struct job_key jk;
	struct rec r;
	void *buf;
	DB_TXN *txn;
	size_t i, id_len;
	int ret = 0;

	a->n = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	for (i = 0; i < a->js->n && ret == 0; i++) {
		it = &a->js->items[i];
		if (it->state != STATE_RUNNING)
			continue;
		id_len = it->key.len - 8;
		ret = event_read(s, txn, job_key_id(&it->key), id_len, DB_RMW,
		    &r, &buf);
		if (ret == 0 && r.state == STATE_RUNNING &&
		    r.due_ms == job_key_due(&it->key) &&
		    (ret = job_del(s, txn, &it->key)) == 0) {
			r.state = STATE_RETRYING;
			r.due_ms = a->now;
			job_key_make(&jk, a->now, job_key_id(&it->key), id_len);
			if ((ret = job_put(s, txn, &jk)) == 0 &&
			    (ret = event_write(s, txn, job_key_id(&it->key),
			    id_len, &r)) == 0)
				a->n++;
		}
		free(buf);
		if (ret == DB_NOTFOUND || ret == EINVAL)
			ret = 0;
	}
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

long
store_requeue_running(struct store *s, int64_t now)
{
	struct requeue_arg a;
	struct job_scan *js;
	long n = 0;
	int ret;

	js = xcalloc(1, sizeof(*js));
	js->until = INT64_MAX;
	js->limit = SCAN_BATCH;
	a.js = js;
	a.now = now;
	do {
		if ((ret = store_run(s, op_job_scan, js)) != 0 ||
		    (ret = store_run(s, op_requeue, &a)) != 0) {
			store_log_fail("requeue", ret);
			free(js);
			return -1;
		}
		n += a.n;
		js->from = js->last;
	} while (js->more);
	free(js);
	return n;
}

/* 1 if the scan wants the record r. */
static int
event_wanted(const struct event_scan *es, const struct rec *r)
{
	return (es->states & (1u << r->state)) != 0 &&
	    r->received_ms < es->before;
}

/* Positions c on es->from, or on the first record. */
static int
event_cursor_start(DBC *c, const struct event_scan *es, DBT *k, DBT *d)
{
	int ret;

	if (es->from_len == 0)
		return c->get(c, k, d, DB_FIRST);
	k->data = xrealloc(k->data, es->from_len);
	memcpy(k->data, es->from, es->from_len);
	k->size = (u_int32_t)es->from_len;
	if ((ret = c->get(c, k, d, DB_SET)) != DB_NOTFOUND)
		return ret;
	/* Purged since the last batch: start over rather than stop. */
	log_write(LOG_LEVEL_INFO, "msg=\"store: events changed during a "
	    "walk; it starts over\"");
	return c->get(c, k, d, DB_FIRST);
}

/* Adds the record at k/d to the batch if wanted. */
static void
event_take(struct event_scan *es, const DBT *k, const DBT *d,
    uint64_t *bytes)
{
	struct event_item *it;
	struct rec r;

	if (rec_decode(d->data, d->size, &r) == -1 || !event_wanted(es, &r))
		return;
	it = &es->items[es->n++];
	memcpy(it->id, k->data, k->size);
	it->id[k->size] = '\0';
	it->id_len = k->size;
	rec_to_info(&r, &it->info);
	*bytes += r.body_len;
}

/*
 * Reads the next batch of wanted records, degree 2, ending at the key
 * the next batch starts at (es->next, which this one has not taken).
 */
static int
op_event_scan(struct store *s, void *arg)
{
	struct event_scan *es = arg;
	uint64_t bytes = 0;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret;

	es->n = 0;
	es->next_len = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->events->cursor(s->events, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	for (ret = event_cursor_start(c, es, &k, &d); ret == 0;
	    ret = c->get(c, &k, &d, DB_NEXT)) {
		if (k.size == 0 || k.size > STORE_ID_MAX)
			continue;	/* not one of ours */
		if (es->n == EVENT_BATCH || bytes >= es->max_bytes) {
			memcpy(es->next, k.data, k.size);
			es->next_len = k.size;
			break;
		}
		event_take(es, &k, &d, &bytes);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (c != NULL)
		(void)c->close(c);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

/* Makes the next op_event_scan() start where the last one ended. */
static void
event_scan_advance(struct event_scan *es)
{
	memcpy(es->from, es->next, es->next_len);
	es->from_len = es->next_len;
}

/* Deletes one purgeable event: record, body, attempts. */
static int
purge_one(struct store *s, DB_TXN *txn, const struct event_scan *es,
    const struct event_item *it, unsigned long *removed)
{
	struct job_key bk;
	struct rec r;
	void *buf;
	DBT k, bk_dbt;
	int ret;

	ret = event_read(s, txn, it->id, it->id_len, DB_RMW, &r, &buf);
	if (ret == 0 && !event_wanted(es, &r))
		ret = DB_NOTFOUND;	/* replayed since the scan: keep */
	free(buf);
	if (ret == DB_NOTFOUND || ret == EINVAL)
		return 0;
	if (ret != 0)
		return ret;
	dbt_in(&k, it->id, it->id_len);
	job_key_make(&bk, r.received_ms, it->id, it->id_len);
	dbt_in(&bk_dbt, bk.b, bk.len);
	if ((ret = s->events->del(s->events, txn, &k, 0)) != 0 ||
	    ((ret = s->bodies->del(s->bodies, txn, &bk_dbt, 0)) != 0 &&
	    ret != DB_NOTFOUND) ||
	    (ret = att_walk(s, txn, it->id, it->id_len, 1, NULL)) != 0)
		return ret;
	(*removed)++;
	return 0;
}

/* Deletes a scanned batch of events, checking each again under lock. */
static int
op_purge(struct store *s, void *arg)
{
	struct purge_arg *a = arg;
	DB_TXN *txn;
	size_t i;
	int ret = 0;

	a->removed = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	for (i = 0; i < a->es->n && ret == 0; i++)
		ret = purge_one(s, txn, a->es, &a->es->items[i], &a->removed);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

int
store_purge(struct store *s, int64_t before_ms, int failed_too,
    unsigned long *removed)
{
	struct event_scan *es;
	struct purge_arg a;
	int ret;

	*removed = 0;
	es = xcalloc(1, sizeof(*es));
	es->states = 1u << STATE_DONE | 1u << STATE_IGNORED |
	    (failed_too ? 1u << STATE_FAILED : 0);
	es->before = before_ms;
	es->max_bytes = PURGE_BYTES;
	a.es = es;
	do {
		if ((ret = store_run(s, op_event_scan, es)) != 0 ||
		    (es->n > 0 && (ret = store_run(s, op_purge, &a)) != 0)) {
			store_log_fail("purge", ret);
			free(es);
			return -1;
		}
		if (es->n > 0)
			*removed += a.removed;
		event_scan_advance(es);
	} while (es->from_len > 0);
	free(es);
	return 0;
}

/* Queues a finished event again; a->result as store_replay() returns. */
static int
op_replay(struct store *s, void *arg)
{
	struct replay_arg *a = arg;
	struct rec r;
	void *buf;
	DB_TXN *txn;
	int ret;

	a->result = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	if ((ret = event_read(s, txn, a->id, a->id_len, DB_RMW, &r,
	    &buf)) != 0)
		goto fail;
	a->result = 2;
	if (r.state == STATE_DONE || r.state == STATE_FAILED ||
	    r.state == STATE_IGNORED) {
		r.state = STATE_QUEUED;
		r.attempts = 0;
		r.due_ms = a->now;
		if ((ret = event_write(s, txn, a->id, a->id_len, &r)) != 0 ||
		    (ret = inbox_put(s, txn, a->id, a->id_len, a->now)) != 0)
			goto fail;
		a->result = 1;
	}
	free(buf);
	return txn->commit(txn, 0);
fail:
	free(buf);
	(void)txn->abort(txn);
	a->result = 0;
	return ret == DB_NOTFOUND ? 0 : ret;
}

int
store_replay(struct store *s, const char *id, size_t id_len, int64_t now)
{
	struct replay_arg a;
	int ret;

	if (id_len == 0 || id_len > STORE_ID_MAX)
		return 0;
	a.id = id;
	a.id_len = id_len;
	a.now = now;
	if ((ret = store_run(s, op_replay, &a)) != 0) {
		store_log_fail("replay", ret);
		return -1;
	}
	if (a.result == 1) {
		pthread_mutex_lock(&s->pmu);
		s->pend_own++;
		pthread_mutex_unlock(&s->pmu);
	}
	return a.result;
}

int
store_foreach(struct store *s, int (*fn)(void *, const char *, size_t,
    const struct store_event_info *), void *ctx)
{
	struct event_scan *es;
	size_t i;
	int ret, stop = 0;

	es = xcalloc(1, sizeof(*es));
	es->states = ~0u;
	es->before = INT64_MAX;
	es->max_bytes = UINT64_MAX;
	do {
		if ((ret = store_run(s, op_event_scan, es)) != 0) {
			store_log_fail("walk", ret);
			free(es);
			return -1;
		}
		/* No transaction is open here: fn may use the store. */
		for (i = 0; i < es->n && !stop; i++)
			stop = fn(ctx, es->items[i].id, es->items[i].id_len,
			    &es->items[i].info) != 0;
		event_scan_advance(es);
	} while (!stop && es->from_len > 0);
	free(es);
	return 0;
}

void
store_attempts_free(struct store_attempt_info *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free((void *)(uintptr_t)v[i].a.output);
	free(v);
}

/* Appends a decoded attempt to a->v, with a copy of its output. */
static void
attempts_add(struct attempts_arg *a, const struct store_attempt_info *ai)
{
	char *out;

	a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
	out = xmalloc(ai->a.output_len + 1);
	if (ai->a.output_len > 0)
		memcpy(out, ai->a.output, ai->a.output_len);
	out[ai->a.output_len] = '\0';
	a->v[a->n] = *ai;
	a->v[a->n++].a.output = out;
}

/* Reads every attempt of a->id, oldest first, degree 2. */
static int
op_attempts(struct store *s, void *arg)
{
	struct attempts_arg *a = arg;
	struct store_attempt_info ai;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret, first = 1;

	store_attempts_free(a->v, a->n);	/* from a try that failed */
	a->v = NULL;
	a->n = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->attempts->cursor(s->attempts, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	while ((ret = att_next(c, a->id, a->id_len, &k, &d, 0, first)) == 0) {
		first = 0;
		if (att_decode(d.data, d.size, &ai) == 0)
			attempts_add(a, &ai);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (c != NULL)
		(void)c->close(c);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

int
store_attempts(struct store *s, const char *id, size_t id_len,
    struct store_attempt_info **out, size_t *n)
{
	struct attempts_arg a;
	int ret;

	*out = NULL;
	*n = 0;
	if (id_len == 0 || id_len > STORE_ID_MAX)
		return 0;
	memset(&a, 0, sizeof(a));
	a.id = id;
	a.id_len = id_len;
	if ((ret = store_run(s, op_attempts, &a)) != 0) {
		store_attempts_free(a.v, a.n);
		store_log_fail("attempts", ret);
		return -1;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

const char *
store_state_str(enum event_state st)
{
	switch (st) {
	case STATE_QUEUED:
		return "queued";
	case STATE_RUNNING:
		return "running";
	case STATE_RETRYING:
		return "retrying";
	case STATE_DONE:
		return "done";
	case STATE_FAILED:
		return "failed";
	case STATE_IGNORED:
		return "ignored";
	}
	return "unknown";
}
