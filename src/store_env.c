/*
 * store_env.c -- the store's handle: the checks of the state dir, the
 * Berkeley DB environment and its five databases, opening, closing and
 * reopening them (recovery), the lock watchdog, store_run() that every
 * operation goes through, and checkpoints.
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
#include "store_int.h"
#include "util.h"

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

/*
 * Opens the environment in s->dir (running recovery if a process died in
 * it) and the five databases into s. On failure every handle is closed
 * again and err says why. Returns 0 or a Berkeley DB error.
 */
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
	pthread_mutex_destroy(&s->qmu);
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
	    pthread_mutex_init(&s->qmu, NULL) != 0)
		fatal_oom();
	s->qtail = &s->qhead;
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
int
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
void
store_log_fail(const char *what, int ret)
{
	char q[256];

	log_write(LOG_LEVEL_ERROR, "msg=\"store %s failed\" error=%s", what,
	    log_quote(db_strerror(ret), q, sizeof(q)));
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
