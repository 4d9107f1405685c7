/*
 * dispatch.c -- the drainer. The main thread claims due jobs (each claim a
 * short transaction that leaves a lease) and hands each to a thread that
 * runs the command and records the outcome; no transaction stays open
 * while a command runs. One drainer per state directory: a flock()ed file
 * says which process it is, and dies with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "runner.h"
#include "store.h"
#include "util.h"

#define TICK_MS			250	/* longest sleep between looks */
#define LINGER_MS		2000	/* idle time before exiting */
#define CHECKPOINT_EVERY_MS	(60 * 1000)
#define PURGE_EVERY_MS		(10 * 60 * 1000)
#define BACKOFF_CAP_MS		(3600 * 1000LL)
#define EXIT_DATAERR		65	/* EX_DATAERR: the event is bad */
#define STALL_MS		(120 * 1000)	/* main loop silent: stuck */

/* Commands running for one section, for its `concurrency`. */
struct section_count {
	char	*pattern;
	int	 running;
};

/* The drainer's own state: one per process. */
struct drainer {
	char			*path;		/* config file */
	struct config		*cfg;		/* main thread only */
	struct timespec		 mtime;
	struct store		*store;		/* shared by threads */
	int			 lock_fd;
	pthread_mutex_t		 mu;		/* guards what follows */
	pthread_cond_t		 cv;		/* a command finished */
	int			 running;
	struct section_count	*sections;
	size_t			 nsections;
};

/* Everything one command needs, copied so a config reload cannot pull it
 * from under the thread. */
struct job_run {
	struct drainer		*dr;
	struct store_job	 job;
	char			*pattern;
	char			*run;
	char			*workdir;
	char			**env;		/* NULL-terminated */
	long long		 timeout;
	int			 retries;
	long long		 backoff;
};

static volatile sig_atomic_t drainer_stop;

/*
 * When the main loop last came round. A process killed inside Berkeley DB
 * can leave a mutex that a waiter never gets (Debian's libdb uses
 * blocking pthread mutexes); the watchdog then ends this drainer, whose
 * lock goes with it, so the next responder starts one that recovers.
 */
static _Atomic int64_t drainer_heartbeat;
/*
 * Worker threads record outcomes outside the main loop: store_finish()
 * calls in progress, and when one last ended (or the first began). Calls
 * that have not ended for STALL_MS stall the drainer just as well.
 */
static _Atomic int finishing;
static _Atomic int64_t finish_progress;

static void
on_term(int sig)
{
	(void)sig;
	drainer_stop = 1;
}

int64_t
dispatch_backoff_ms(long long backoff_s, uint32_t attempt, double rnd)
{
	double ms = (double)backoff_s * 1000.0;
	uint32_t i;

	for (i = 1; i < attempt && ms < (double)BACKOFF_CAP_MS; i++)
		ms *= 2;
	ms *= 0.8 + 0.4 * rnd;
	if (ms > (double)BACKOFF_CAP_MS)
		ms = (double)BACKOFF_CAP_MS;
	return (int64_t)ms;
}

/* The lock file's path; malloc'd, the caller frees it. */
static char *
lock_path(const struct config *cfg)
{
	return xasprintf("%s/drainer.lock", cfg->state_dir);
}

/*
 * Takes the drainer lock without waiting. Returns the locked fd, or -1
 * when another process holds it (or the file cannot be opened).
 */
/* Opens (making it if need be) the lock file at path; the fd or -1. */
static int
lock_open(const char *path)
{
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

static int
lock_take(const struct config *cfg)
{
	char *p = lock_path(cfg);
	int fd;

	fd = lock_open(p);
	free(p);
	if (fd == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Our own executable, for re-executing as the drainer; malloc'd. */
static char *
self_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Appends "NAME=value" to a NULL-terminated array being built. */
static void
env_add(char ***env, size_t *n, const char *name, const char *value)
{
	*env = xrealloc(*env, (*n + 2) * sizeof(char *));
	(*env)[(*n)++] = xasprintf("%s=%s", name, value);
	(*env)[*n] = NULL;
}

/* Is name one a web server sets per request (RFC 3875, HTTP headers)? */
static int
is_request_variable(const char *name)
{
	static const char *const cgi[] = { "AUTH_TYPE", "CONTENT_LENGTH",
	    "CONTENT_TYPE", "GATEWAY_INTERFACE", "HTTPS", "PATH_INFO",
	    "PATH_TRANSLATED", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST",
	    "REMOTE_IDENT", "REMOTE_PORT", "REMOTE_USER", "REQUEST_METHOD",
	    "REQUEST_SCHEME", "REQUEST_URI", "SCRIPT_FILENAME", "SCRIPT_NAME",
	    "SERVER_ADDR", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
	    "SERVER_SOFTWARE", "DOCUMENT_ROOT", NULL };
	size_t i;

	if (strncmp(name, "HTTP_", 5) == 0)
		return 1;
	for (i = 0; cgi[i] != NULL; i++)
		if (strcmp(name, cgi[i]) == 0)
			return 1;
	return 0;
}

/*
 * The drainer's environment: PATH, HOME, LANG and the names some section
 * passes on with `env =`, from ours -- which, in a CGI responder, also
 * holds the request's variables, and those must not outlive the request.
 * Malloc'd; freed with env_free().
 */
static char **
drainer_env(const struct config *cfg)
{
	static const char *const base[] = { "PATH", "HOME", "LANG", NULL };
	char **env = xcalloc(1, sizeof(char *));
	const char *v;
	size_t n = 0, i, j;

	for (i = 0; base[i] != NULL; i++)
		if ((v = getenv(base[i])) != NULL)
			env_add(&env, &n, base[i], v);
	for (i = 0; i < cfg->nroutes; i++)
		for (j = 0; j < cfg->routes[i].nenv; j++) {
			const char *name = cfg->routes[i].env[j];

			if (is_request_variable(name) ||
			    (v = getenv(name)) == NULL)
				continue;
			env_add(&env, &n, name, v);
		}
	return env;
}

static void
env_free(char **env)
{
	char **e;

	for (e = env; e != NULL && *e != NULL; e++)
		free(*e);
	free(env);
}

/*
 * A responder's view of the drainer lock, kept open between kicks: while
 * a drainer lives, a kick costs one flock() instead of an open, a flock
 * and a close per request. kick_mu guards it, and lets one thread at a
 * time find the drainer gone and start one.
 */
static pthread_mutex_t kick_mu = PTHREAD_MUTEX_INITIALIZER;
static int kick_fd = -1;
static char *kick_path;		/* what kick_fd was opened as */

/* Forgets the kept lock file (and any lock it held); under kick_mu. */
static void
kick_forget(void)
{
	if (kick_fd != -1)
		(void)close(kick_fd);
	kick_fd = -1;
	free(kick_path);
	kick_path = NULL;
}

/*
 * Whether a drainer holds the lock of cfg's state directory; under
 * kick_mu. Seen free through the kept fd, the path is opened afresh
 * before we believe it: the state directory may have been made anew.
 * Leaves no lock of ours behind.
 */
static int
drainer_alive(const struct config *cfg)
{
	char *p = lock_path(cfg);
	int fd;

	if (kick_path != NULL && strcmp(kick_path, p) != 0)
		kick_forget();		/* the config moved the state */
	if (kick_fd != -1 && flock(kick_fd, LOCK_EX | LOCK_NB) == -1 &&
	    errno == EWOULDBLOCK) {
		free(p);
		return 1;
	}
	kick_forget();
	if ((fd = lock_open(p)) == -1) {
		free(p);
		return 0;	/* the drainer's own open will say why */
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		kick_fd = fd;
		kick_path = p;
		return 1;
	}
	(void)close(fd);
	free(p);
	return 0;
}

/* Starts a detached background drainer for config_path. */
static void
drainer_start(const struct config *cfg, const char *config_path)
{
	char *exe, *argv[6], **env;

	if ((exe = self_exe()) == NULL)
		return;
	argv[0] = exe;
	argv[1] = "-c";
	argv[2] = (char *)config_path;
	argv[3] = "drain";
	argv[4] = "--background";
	argv[5] = NULL;
	env = drainer_env(cfg);
	if (runner_spawn_detached(argv, env) == -1)
		log_write(LOG_LEVEL_ERROR, "msg=\"cannot start the drainer\" "
		    "errno=%d", errno);
	env_free(env);
	free(exe);
}

void
dispatch_kick(const struct config *cfg, const char *config_path)
{
	pthread_mutex_lock(&kick_mu);
	if (!drainer_alive(cfg))
		drainer_start(cfg, config_path);
	pthread_mutex_unlock(&kick_mu);
}

/* The running-count slot of a section, made on first use; under mu. */
static struct section_count *
section_slot(struct drainer *dr, const char *pattern)
{
	size_t i;

	for (i = 0; i < dr->nsections; i++)
		if (strcmp(dr->sections[i].pattern, pattern) == 0)
			return &dr->sections[i];
	dr->sections = xrealloc(dr->sections,
	    (dr->nsections + 1) * sizeof(*dr->sections));
	dr->sections[dr->nsections].pattern = xstrdup(pattern);
	dr->sections[dr->nsections].running = 0;
	return &dr->sections[dr->nsections++];
}

/*
 * store_claim()'s filter: may a job of this type start now? Unrouted types
 * are allowed, so that their job is claimed and failed with a reason.
 */
static int
claim_allowed(void *ctx, const char *type)
{
	struct drainer *dr = ctx;
	const struct route *rt = config_route(dr->cfg, type);
	int ok;

	if (rt == NULL || rt->concurrency == 0)
		return 1;
	pthread_mutex_lock(&dr->mu);
	ok = section_slot(dr, rt->pattern)->running < rt->concurrency;
	pthread_mutex_unlock(&dr->mu);
	return ok;
}


/*
 * The command's whole environment: PATH, HOME, LANG, the HOOKGATE_*
 * variables, and the names the section lists -- nothing else, so no
 * request header or CGI variable can reach a script. Malloc'd array of
 * malloc'd strings; freed with env_free().
 */
static char **
job_env(const struct route *rt, const struct store_job *job)
{
	const char *path = getenv("PATH"), *home = getenv("HOME");
	const char *lang = getenv("LANG"), *v;
	char **env = NULL, attempt[16];
	size_t n = 0, i;

	env_add(&env, &n, "PATH", path != NULL ? path :
	    "/usr/local/bin:/usr/bin:/bin");
	env_add(&env, &n, "HOME", home != NULL ? home : "/");
	env_add(&env, &n, "LANG", lang != NULL ? lang : "C.UTF-8");
	env_add(&env, &n, "HOOKGATE_EVENT_ID", job->id);
	env_add(&env, &n, "HOOKGATE_EVENT_TYPE", job->type);
	env_add(&env, &n, "HOOKGATE_EVENT_CREATED_AT", job->created_at);
	snprintf(attempt, sizeof(attempt), "%u", job->attempt);
	env_add(&env, &n, "HOOKGATE_ATTEMPT", attempt);
	for (i = 0; i < rt->nenv; i++)
		if ((v = getenv(rt->env[i])) != NULL)
			env_add(&env, &n, rt->env[i], v);
	return env;
}

static struct job_run *
job_run_new(struct drainer *dr, const struct route *rt)
{
	struct job_run *jr = xcalloc(1, sizeof(*jr));

	jr->dr = dr;
	jr->pattern = xstrdup(rt->pattern);
	jr->run = xstrdup(rt->run);
	jr->workdir = xstrdup(rt->workdir);
	jr->timeout = rt->timeout;
	jr->retries = rt->retries;
	jr->backoff = rt->backoff;
	return jr;
}

static void
job_run_free(struct job_run *jr)
{
	if (jr == NULL)
		return;
	env_free(jr->env);
	free(jr->pattern);
	free(jr->run);
	free(jr->workdir);
	store_job_free(&jr->job);
	free(jr);
}

/* What happens next after an attempt, per SPEC's exit-code contract. */
static enum event_state
job_outcome(const struct job_run *jr, const struct run_result *res,
    int64_t *due)
{
	*due = 0;
	if (res->exited && res->status == 0)
		return STATE_DONE;
	if (res->exited && res->status == EXIT_DATAERR)
		return STATE_FAILED;
	if (jr->job.attempt > (uint32_t)jr->retries)
		return STATE_FAILED;
	*due = now_ms() + dispatch_backoff_ms(jr->backoff, jr->job.attempt,
	    (double)random() / (double)RAND_MAX);
	return STATE_RETRYING;
}

/* One logfmt line per attempt: never the payload, never the output. */
static void
log_attempt(const struct job_run *jr, const struct run_result *res,
    enum event_state next)
{
	char id[600], how[32];

	if (res->spawn_error)
		snprintf(how, sizeof(how), "spawn_errno=%d", res->spawn_error);
	else if (res->timed_out)
		snprintf(how, sizeof(how), "timeout=1 signal=%d", res->signal);
	else if (res->exited)
		snprintf(how, sizeof(how), "exit=%d", res->status);
	else
		snprintf(how, sizeof(how), "signal=%d", res->signal);
	log_write(next == STATE_FAILED ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
	    "id=%s type=%s attempt=%u %s duration_ms=%lld status=%s",
	    log_quote(jr->job.id, id, sizeof(id)), jr->job.type,
	    jr->job.attempt, how, (long long)res->duration_ms,
	    store_state_str(next));
}

/* store_finish(), watched by the watchdog. */
static int
finish_watched(struct store *st, const struct store_job *job,
    const struct store_attempt *at, enum event_state next, int64_t due)
{
	int ret;

	if (atomic_fetch_add(&finishing, 1) == 0)
		finish_progress = now_ms();
	ret = store_finish(st, job, at, next, due);
	finish_progress = now_ms();
	atomic_fetch_sub(&finishing, 1);
	return ret;
}

/* A worker thread: runs one command, records the attempt, frees jr. */
static void *
job_thread(void *arg)
{
	struct job_run *jr = arg;
	struct drainer *dr = jr->dr;
	struct run_spec spec;
	struct run_result res;
	struct store_attempt at;
	enum event_state next;
	int64_t due;

	memset(&spec, 0, sizeof(spec));
	spec.command = jr->run;
	spec.workdir = jr->workdir;
	spec.env = jr->env;
	spec.input = jr->job.body;
	spec.input_len = jr->job.body_len;
	spec.timeout_ms = jr->timeout * 1000;
	memset(&res, 0, sizeof(res));
	if (runner_run(&spec, &res) == -1 && res.spawn_error == 0)
		res.spawn_error = EIO;
	next = job_outcome(jr, &res, &due);
	memset(&at, 0, sizeof(at));
	at.start_ms = res.start_ms;
	at.duration_ms = res.duration_ms;
	at.exited = res.exited;
	at.status = res.status;
	at.signal = res.signal;
	at.timed_out = res.timed_out;
	at.spawn_error = res.spawn_error;
	at.output = res.output;
	at.output_len = res.output_len;
	if (finish_watched(dr->store, &jr->job, &at, next, due) == -1)
		log_write(LOG_LEVEL_ERROR, "msg=\"could not record an attempt; "
		    "the job runs again when its lease ends\" type=%s",
		    jr->job.type);
	log_attempt(jr, &res, next);
	runner_result_free(&res);
	pthread_mutex_lock(&dr->mu);
	dr->running--;
	section_slot(dr, jr->pattern)->running--;
	pthread_cond_broadcast(&dr->cv);
	pthread_mutex_unlock(&dr->mu);
	job_run_free(jr);
	return NULL;
}

/* A job whose type no section takes any more (the config changed). */
static void
fail_unrouted(struct drainer *dr, struct store_job *job)
{
	static const char msg[] = "no [event] section matches this type";
	struct store_attempt at;

	memset(&at, 0, sizeof(at));
	at.start_ms = now_ms();
	at.output = msg;
	at.output_len = sizeof(msg) - 1;
	store_finish(dr->store, job, &at, STATE_FAILED, 0);
	log_write(LOG_LEVEL_WARN, "type=%s status=failed error=\"no route\"",
	    job->type);
	store_job_free(job);
}

/*
 * Claims one due job and starts its thread. Returns 1 when one started,
 * 0 when nothing is due (or allowed), -1 on a store error.
 */
static int
start_one(struct drainer *dr, int64_t lease_ms)
{
	const struct route *rt;
	struct store_job job;
	struct job_run *jr;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	memset(&job, 0, sizeof(job));
	rc = store_claim(dr->store, now_ms(), lease_ms, claim_allowed, dr,
	    &job);
	if (rc != 1)
		return rc;
	if ((rt = config_route(dr->cfg, job.type)) == NULL) {
		fail_unrouted(dr, &job);
		return 1;
	}
	jr = job_run_new(dr, rt);
	jr->job = job;
	jr->env = job_env(rt, &jr->job);
	pthread_mutex_lock(&dr->mu);
	dr->running++;
	section_slot(dr, rt->pattern)->running++;
	pthread_mutex_unlock(&dr->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Small stacks: a thread only runs the poll loop of runner_run(). */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&tid, &attr, job_thread, jr) != 0)
		job_thread(jr);		/* no thread: run it here instead */
	pthread_attr_destroy(&attr);
	return 1;
}

/* The longest a claimed job may stay silent before it is run again. */
static int64_t
lease_ms(const struct config *cfg)
{
	long long longest = 0;
	size_t i;

	for (i = 0; i < cfg->nroutes; i++)
		if (cfg->routes[i].timeout > longest)
			longest = cfg->routes[i].timeout;
	return (longest + 60) * 1000 + RUNNER_KILL_GRACE_MS;
}

/* Picks up an edited config; a broken edit keeps the current one. */
static void
drainer_reload(struct drainer *dr)
{
	struct config *cfg;
	struct stat st;
	char err[512], q[600];

	if (stat(dr->path, &st) == -1 ||
	    (st.st_mtim.tv_sec == dr->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == dr->mtime.tv_nsec))
		return;
	dr->mtime = st.st_mtim;
	if ((cfg = config_load(dr->path, err, sizeof(err))) == NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"config reload failed, "
		    "keeping the last good one\" error=%s",
		    log_quote(err, q, sizeof(q)));
		return;
	}
	config_free(dr->cfg);
	dr->cfg = cfg;
	log_write(LOG_LEVEL_INFO, "msg=\"drainer reloaded the config\"");
}

/* Waits up to ms for a command to finish (or a signal). */
static void
drainer_wait(struct drainer *dr, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&dr->mu);
	pthread_cond_timedwait(&dr->cv, &dr->mu, &ts);
	pthread_mutex_unlock(&dr->mu);
}

static int
drainer_running(struct drainer *dr)
{
	int n;

	pthread_mutex_lock(&dr->mu);
	n = dr->running;
	pthread_mutex_unlock(&dr->mu);
	return n;
}

/* Checkpoints and purges on their own schedules. */
static void
housekeeping(struct drainer *dr, int64_t *last_ckp, int64_t *last_purge)
{
	int64_t now = now_ms();
	unsigned long n = 0;

	if (now - *last_ckp >= CHECKPOINT_EVERY_MS) {
		store_checkpoint(dr->store);
		*last_ckp = now;
	}
	if (now - *last_purge >= PURGE_EVERY_MS) {
		if (store_purge(dr->store, now - dr->cfg->retention * 1000, 0,
		    &n) == 0 && n > 0)
			log_write(LOG_LEVEL_INFO, "msg=\"purged finished "
			    "events\" count=%lu", n);
		*last_purge = now;
	}
}

/*
 * Lets an idle background drainer go: it releases the lock, then looks
 * once more, because a responder that committed work just before saw the
 * lock held and started nobody. Returns 1 to exit, 0 to carry on.
 */
static int
drainer_may_exit(struct drainer *dr)
{
	flock(dr->lock_fd, LOCK_UN);
	if (store_next_due(dr->store) == 0)
		return 1;
	/* Work arrived; carry on unless another drainer took over. */
	return flock(dr->lock_fd, LOCK_EX | LOCK_NB) == -1;
}

/* Starts what it may, then decides how long to sleep or whether to stop.
 * Returns the milliseconds to wait, or -1 to stop. */
static int64_t
drainer_step(struct drainer *dr, const struct dispatch_options *opt,
    int64_t start, int64_t *idle_since)
{
	int64_t now = now_ms(), next;
	int claiming, rc = 0;

	claiming = !drainer_stop && (opt->max_time_ms == 0 ||
	    now - start < opt->max_time_ms);
	while (claiming && drainer_running(dr) < dr->cfg->workers)
		if ((rc = start_one(dr, lease_ms(dr->cfg))) != 1)
			break;
	if (drainer_running(dr) > 0) {
		*idle_since = 0;
		return TICK_MS;
	}
	if (!claiming)
		return -1;
	next = store_next_due(dr->store);
	if (!opt->background)	/* drain: what is due now, then exit */
		return rc == -1 || next <= 0 || next > now ? -1 : TICK_MS;
	if (next != 0) {
		*idle_since = 0;
		return next > now && next - now < TICK_MS ? next - now :
		    TICK_MS;
	}
	if (*idle_since == 0)
		*idle_since = now;
	if (now - *idle_since >= LINGER_MS && drainer_may_exit(dr))
		return -1;
	return TICK_MS;
}

/* The watchdog thread: SIGKILLs the process when the loop, or the
   workers' recording of outcomes, has stalled. */
static void *
watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		sleep(1);
		if (now_ms() - drainer_heartbeat > STALL_MS ||
		    (atomic_load(&finishing) > 0 &&
		    now_ms() - finish_progress > STALL_MS)) {
			log_write(LOG_LEVEL_ERROR, "msg=\"drainer stuck for "
			    "%d s, killing itself; the next one recovers\"",
			    STALL_MS / 1000);
			kill(getpid(), SIGKILL);
		}
	}
	return NULL;
}

static void
watchdog_start(void)
{
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;

	drainer_heartbeat = now_ms();
	/* Signals stay with the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&tid, &attr, watchdog, NULL) != 0)
		log_write(LOG_LEVEL_WARN, "msg=\"no drainer watchdog\"");
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void
drainer_loop(struct drainer *dr, const struct dispatch_options *opt)
{
	int64_t start = now_ms(), idle_since = 0, wait;
	int64_t last_ckp = start, last_purge = 0;

	for (;;) {
		drainer_heartbeat = now_ms();
		drainer_reload(dr);
		housekeeping(dr, &last_ckp, &last_purge);
		if ((wait = drainer_step(dr, opt, start, &idle_since)) < 0)
			break;
		drainer_wait(dr, wait);
	}
	while (drainer_running(dr) > 0) {
		drainer_heartbeat = now_ms();
		drainer_wait(dr, TICK_MS);
	}
	drainer_heartbeat = now_ms();	/* closing the store is watched too */
}

static void
drainer_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	runner_ignore_sigpipe();
}

/* Opens config, log, store and lock. Returns 0, 1 on error, 2 when
 * another drainer holds the lock. */
static int
drainer_open(struct drainer *dr, const char *path)
{
	struct store_options so;
	struct stat st;
	char err[512];

	dr->path = xstrdup(path);
	dr->lock_fd = -1;
	if (stat(path, &st) == 0)
		dr->mtime = st.st_mtim;
	if ((dr->cfg = config_load(path, err, sizeof(err))) == NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"drainer: config failed to "
		    "load\" error=\"%s\"", err);
		return 1;
	}
	if (log_open(dr->cfg->log) == -1)
		log_write(LOG_LEVEL_ERROR, "msg=\"cannot open the log file\"");
	so.max_body = dr->cfg->max_body;
	so.durability = dr->cfg->durability;
	if ((dr->store = store_open(dr->cfg->state_dir, &so, err,
	    sizeof(err))) == NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"drainer: store unavailable\" "
		    "error=\"%s\"", err);
		return 1;
	}
	if ((dr->lock_fd = lock_take(dr->cfg)) == -1)
		return 2;
	return 0;
}

static void
drainer_close(struct drainer *dr)
{
	size_t i;

	if (dr->lock_fd != -1)
		close(dr->lock_fd);
	store_close(dr->store);
	config_free(dr->cfg);
	for (i = 0; i < dr->nsections; i++)
		free(dr->sections[i].pattern);
	free(dr->sections);
	free(dr->path);
}

int
dispatch_drain(const char *path, const struct dispatch_options *opt)
{
	struct drainer dr;
	int rc;

	memset(&dr, 0, sizeof(dr));
	drainer_signals();
	pthread_mutex_init(&dr.mu, NULL);
	pthread_cond_init(&dr.cv, NULL);
	watchdog_start();
	if ((rc = drainer_open(&dr, path)) == 0) {
		srandom((unsigned)(getpid() ^ now_ms()));
		/* We hold the lock, so every running job's drainer is dead. */
		if (store_requeue_running(dr.store, now_ms()) == -1)
			log_write(LOG_LEVEL_ERROR, "msg=\"could not requeue "
			    "interrupted jobs\"");
		drainer_loop(&dr, opt);
	} else if (rc == 2) {
		if (!opt->background)
			fprintf(stderr, "hookgate: another drainer is running "
			    "for %s\n", dr.cfg->state_dir);
		rc = 0;
	}
	drainer_close(&dr);
	pthread_cond_destroy(&dr.cv);
	pthread_mutex_destroy(&dr.mu);
	return rc;
}
