/*
 * store.c -- the Berkeley DB environment in state_dir and its databases.
 *
 *   events.db  DB_HASH   id -> versioned record (state, times, attempts,
 *                        body length, type, created_at, route)
 *   bodies.db  DB_HASH   id -> the raw body, byte for byte
 *   inbox.db   DB_HASH   id -> version, be64(due_ms): accepted, queued,
 *                        not yet taken over by the dispatcher
 *   jobs.db    DB_BTREE  be64(due_ms) || id -> version: scheduled jobs, in
 *                        due order (DB_SET_RANGE), written by the dispatcher
 *
 * Berkeley DB locks whole pages until commit, and a commit holds its locks
 * through the log flush. Every table the accept transaction writes is
 * therefore a hash: ids are often time-ordered (evt_0001, KSUIDs), and in
 * a Btree they would all land on the right-most leaf -- in a small jobs
 * Btree on its only leaf -- so concurrent durable commits would queue
 * one flush each instead of sharing one (measured with 8 processes and
 * fsync: 4,000 accepts took 4,027 log flushes with the job in a Btree,
 * about 1,850 with it in a hash, for 1.4 to 3 times the accepts/s).
 * The ordered jobs Btree is written only by the one dispatcher, which
 * moves inbox entries into it; pending work is inbox plus jobs.
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
#include <sys/vfs.h>
#endif

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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

/* Waiting longer than this for a lock means its holder is stuck or dead. */
#define LOCK_TIMEOUT_US	(1000 * 1000)
/* How often the watchdog expires lock waits that are past the timeout. */
#define WATCHDOG_MS	200
/* Deadlocks are normal under load: retry the whole transaction this often. */
#define MAX_TRIES	8
/*
 * Log file size: Berkeley DB's default. A body larger than this is fine:
 * overflow pages are logged one page per record, so a 25 MiB body spans
 * several log files, and a checkpoint lets all but the last be removed.
 */
#define LG_MAX		(10u * 1024 * 1024)
/* The shared page cache; the default 256 KiB is small for hash lookups. */
#define CACHE_BYTES	(4u * 1024 * 1024)
/* How long one process trusts its count of pending jobs. */
#define PENDING_TTL_MS	1000

#define REC_VERSION	1
#define REC_FIXED	(1 + 1 + 8 + 8 + 4 + 8)
#define REC_STR_MAX	65535
#define JOB_VERSION	1

/* Our own result code for "queue full", outside Berkeley DB's range. */
#define STORE_EFULL	(-20001)

struct store {
	DB_ENV			*env;
	DB			*events;
	DB			*bodies;
	DB			*inbox;
	DB			*jobs;
	char			*dir;
	struct store_options	 opt;

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
	long			 pend_count;
	int			 pend_complete;	/* the walk reached the end */
	unsigned long		 pend_own_at;	/* pend_own when walked */
	unsigned long		 pend_own;	/* jobs we queued, ever */
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

struct accept_arg {
	const struct store_new_event *ev;
	int64_t		 now;
	int		 full;
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
db_open(DB_ENV *env, DB **dbp, const char *file, DBTYPE type)
{
	DB *db;
	int ret;

	*dbp = NULL;
	if ((ret = db_create(&db, env, 0)) != 0)
		return ret;
	if ((ret = db->set_flags(db, DB_CHKSUM)) != 0 ||
	    (ret = db->open(db, NULL, file, NULL, type, DB_OPEN_FLAGS,
	    FILE_MODE)) != 0) {
		(void)db->close(db, 0);
		return ret;
	}
	*dbp = db;
	return 0;
}

/*
 * Opens the environment in s->dir (running recovery if a process died in
 * it) and the four databases into s. On failure every handle is closed
 * again and err says why. Returns 0 or a Berkeley DB error.
 */
static int
env_open(struct store *s, char *err, size_t errlen)
{
	DB_ENV *env;
	mode_t old;
	int ret;

	if ((ret = db_env_create(&env, 0)) != 0)
		goto fail;
	env->app_private = s;
	if ((ret = env_configure(env, s->opt.durability)) != 0) {
		(void)env->close(env, 0);
		goto fail;
	}
	atomic_store(&s->panic, 0);
	/* __db.register is created 0660 whatever mode we pass. */
	old = umask(077);
	ret = env->open(env, s->dir, ENV_FLAGS, FILE_MODE);
	umask(old);
	if (ret != 0) {
		(void)env->close(env, 0);
		goto fail;
	}
	s->env = env;
	if ((ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1)) != 0 ||
	    (ret = db_open(env, &s->events, "events.db", DB_HASH)) != 0 ||
	    (ret = db_open(env, &s->bodies, "bodies.db", DB_HASH)) != 0 ||
	    (ret = db_open(env, &s->inbox, "inbox.db", DB_HASH)) != 0 ||
	    (ret = db_open(env, &s->jobs, "jobs.db", DB_BTREE)) != 0) {
		handles_close(s);
		goto fail;
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
	DB **dbs[] = { &s->jobs, &s->inbox, &s->bodies, &s->events };
	size_t i;

	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		if (*dbs[i] != NULL)
			(void)(*dbs[i])->close(*dbs[i], 0);
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
	if (pthread_rwlock_init(&s->rw, NULL) != 0 ||
	    pthread_mutex_init(&s->pmu, NULL) != 0)
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

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	watchdog_stop(s);
	handles_close(s);
	store_free(s);
}

/*
 * Closes every handle and opens the environment again, which runs
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
		handles_close(s);
		ret = env_open(s, err, sizeof(err));
		s->gen++;
		log_quote(db_strerror(why), qwhy, sizeof(qwhy));
		if (ret != 0)
			log_write(LOG_LEVEL_ERROR, "msg=\"store reopen "
			    "failed\" reason=%s error=%s", qwhy,
			    log_quote(err, q, sizeof(q)));
		else
			log_write(LOG_LEVEL_WARN, "msg=\"store reopened\" "
			    "reason=%s", qwhy);
	}
	pthread_rwlock_unlock(&s->rw);
	return ret;
}

/* Sleeps a random 1..2^tries ms (at most 64) so retries do not collide. */
static void
retry_pause(int tries)
{
	struct timespec ts, pause;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = 1 + (long)(((unsigned long)ts.tv_nsec ^ (unsigned long)getpid()) %
	    (1UL << (tries < 6 ? tries : 6)));
	pause.tv_sec = 0;
	pause.tv_nsec = ms * 1000000L;
	nanosleep(&pause, NULL);
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

static int
put_body(struct store *s, DB_TXN *txn, const struct store_new_event *ev)
{
	DBT k, d;

	dbt_in(&k, ev->id, ev->id_len);
	dbt_in(&d, ev->body, ev->body_len);
	return s->bodies->put(s->bodies, txn, &k, &d, 0);
}

/*
 * Queues the event in the inbox, due at due. The dispatcher takes an
 * entry over by deleting it here and inserting be64(due) || id into jobs
 * in the same transaction that claims or schedules it.
 */
static int
put_inbox(struct store *s, DB_TXN *txn, const struct store_new_event *ev,
    int64_t due)
{
	unsigned char val[1 + 8];
	DBT k, d;

	val[0] = JOB_VERSION;
	be64_put(val + 1, (uint64_t)due);
	dbt_in(&k, ev->id, ev->id_len);
	dbt_in(&d, val, sizeof(val));
	return s->inbox->put(s->inbox, txn, &k, &d, 0);
}

/*
 * The accept transaction. The duplicate check comes first so that a
 * redelivery of a known id is "duplicate" even when the queue is full.
 */
static int
op_accept(struct store *s, void *arg)
{
	struct accept_arg *a = arg;
	DB_TXN *txn;
	int ret;

	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	if ((ret = put_event(s, txn, a)) != 0)
		goto fail;
	if (a->ev->queue && a->full) {
		ret = STORE_EFULL;
		goto fail;
	}
	if ((ret = put_body(s, txn, a->ev)) != 0 ||
	    (a->ev->queue && (ret = put_inbox(s, txn, a->ev, a->now)) != 0))
		goto fail;
	/* Durability comes from the environment: no flags here. */
	return txn->commit(txn, 0);
fail:
	(void)txn->abort(txn);
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
 * a second per handle, plus the jobs this handle queued since that walk
 * started (so one process is exact; other processes' accepts show within
 * a second). A fresh process (CGI) always walks. Returns -1 on error.
 */
static long
pending_get(struct store *s, long limit)
{
	struct pending_arg a;
	unsigned long own;
	int64_t now = now_ms();
	long n = -1;
	int ret;

	pthread_mutex_lock(&s->pmu);
	if (s->pend_at != 0 && now >= s->pend_at &&
	    now - s->pend_at < PENDING_TTL_MS &&
	    (s->pend_complete || s->pend_count >= limit))
		n = s->pend_count + (long)(s->pend_own - s->pend_own_at);
	own = s->pend_own;
	pthread_mutex_unlock(&s->pmu);
	if (n >= 0)
		return n;
	a.limit = limit;
	if ((ret = store_run(s, op_pending, &a)) != 0) {
		store_log_fail("pending count", ret);
		return -1;
	}
	pthread_mutex_lock(&s->pmu);
	s->pend_at = now;
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

	if (ev->id_len > UINT32_MAX || ev->body_len > UINT32_MAX) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: id or body too "
		    "large\"");
		return STORE_UNAVAILABLE;
	}
	a.ev = ev;
	a.now = now_ms();
	a.full = 0;
	if (ev->queue && ev->max_queue > 0) {
		if ((pending = pending_get(s, ev->max_queue)) < 0)
			return STORE_UNAVAILABLE;
		a.full = pending >= ev->max_queue;
	}
	switch ((ret = store_run(s, op_accept, &a))) {
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

/* Reads the body of a->id into a malloc'd a->body (never NULL). */
static int
get_body(struct store *s, DB_TXN *txn, struct get_arg *a)
{
	DBT k, d;
	int ret;

	dbt_in(&k, a->id, a->id_len);
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
	if ((r->state == STATE_QUEUED || r->state == STATE_RETRYING) &&
	    (c->oldest_pending_ms == 0 ||
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

/* A checkpoint only when 1 MiB of log or 5 minutes have passed. */
static int
op_checkpoint(struct store *s, void *arg)
{
	(void)arg;
	return s->env->txn_checkpoint(s->env, 1024, 5, 0);
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
