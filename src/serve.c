/*
 * serve.c -- `hookgate serve`: binds a socket itself and keeps --workers
 * processes running the FastCGI responder (responder.c) on it, for
 * servers that do not start FastCGI programs (mod_proxy_fcgi, nginx).
 *
 * It forks, but its children never exec: each worker is a copy of a
 * parent that has not opened the store, started a thread or initialised
 * libfcgi.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "dispatch.h"
#include "handler.h"
#include "log.h"
#include "request.h"
#include "responder.h"
#include "serve.h"
#include "util.h"

#define SERVE_WORKERS_DEFAULT	2
#define SERVE_WORKERS_MAX	64
#define SERVE_MODE_DEFAULT	0660
#define SUN_PATH_MAX		sizeof(((struct sockaddr_un *)0)->sun_path)
/* A worker that dies sooner than this after its start is restarted only
   this long after it started: a broken setup must not become a fork loop. */
#define RESPAWN_MIN_MS		1000
/* While stopping, SIGTERM is sent again this often: a signal that arrives
   just before a worker blocks in accept() would otherwise be missed. */
#define STOP_RESEND_MS		250
/* Workers still alive this long after the first SIGTERM are killed. The
   request watchdog ends a stuck request sooner. */
#define STOP_GRACE_MS		((REQUEST_WATCHDOG_S + 5) * 1000)

/* Where `serve` listens. */
struct listen_addr {
	int			 family;	/* AF_UNIX, AF_INET, AF_INET6 */
	const char		*path;		/* AF_UNIX: points into argv */
	struct sockaddr_storage	 ss;		/* AF_INET, AF_INET6 */
	socklen_t		 sslen;
};

/* The command line of `serve`. */
struct serve_opts {
	const char	*listen;	/* points into argv */
	int		 workers;
	mode_t		 mode;
	int		 mode_given;
	int		 allow_remote;
};

/* The parent's view of its workers: slot i is pid[i] (0: empty). */
struct workers {
	pid_t		*pid;
	int64_t		*started_ms;
	int		 n;
};

static void
serve_usage(FILE *fp)
{
	fprintf(fp, "usage: hookgate [-c FILE] serve --listen PATH|HOST:PORT "
	    "[--workers N]\n"
	    "           [--mode MODE] [--allow-remote]\n"
	    "\n"
	    "  --listen PATH       a unix socket (a stale one is replaced)\n"
	    "  --listen HOST:PORT  TCP; HOST an IP address or localhost, "
	    "loopback only\n"
	    "  --workers N         FastCGI processes (default %d)\n"
	    "  --mode MODE         the socket's mode, octal (default %04o)\n"
	    "  --allow-remote      allow TCP on a non-loopback address\n",
	    SERVE_WORKERS_DEFAULT, SERVE_MODE_DEFAULT);
}

/* An octal file mode such as "660" or "0660" into *mode; 0 or -1. */
static int
parse_mode(const char *s, mode_t *mode)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 4)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '7')
			return -1;
		v = v * 8 + (unsigned long)(*s - '0');
	}
	if (v > 0777)
		return -1;
	*mode = (mode_t)v;
	return 0;
}

/* Fills *o from argv (argv[0] is "serve"). Returns 0, or an exit status:
   2 after printing usage, or -1 for --help (usage printed, exit 0). */
static int
parse_args(int argc, char **argv, struct serve_opts *o)
{
	uint64_t n;
	int i;

	memset(o, 0, sizeof(*o));
	o->workers = SERVE_WORKERS_DEFAULT;
	o->mode = SERVE_MODE_DEFAULT;
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			serve_usage(stdout);
			return -1;
		} else if (strcmp(argv[i], "--allow-remote") == 0) {
			o->allow_remote = 1;
			continue;
		} else if (v == NULL)
			break;
		else if (strcmp(argv[i], "--listen") == 0)
			o->listen = v;
		else if (strcmp(argv[i], "--workers") == 0 &&
		    parse_u64(v, strlen(v), &n) == 0 && n >= 1 &&
		    n <= SERVE_WORKERS_MAX)
			o->workers = (int)n;
		else if (strcmp(argv[i], "--mode") == 0 &&
		    parse_mode(v, &o->mode) == 0)
			o->mode_given = 1;
		else
			break;
		i++;
	}
	if (i < argc || o->listen == NULL || *o->listen == '\0') {
		serve_usage(stderr);
		return 2;
	}
	return 0;
}

/* Is the address one that only this machine can reach? */
static int
addr_is_loopback(const struct listen_addr *a)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
	const unsigned char *b = sin6->sin6_addr.s6_addr;

	if (a->family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
}

/*
 * "HOST:PORT" into a socket address. HOST is an IPv4 literal, "[IPv6]",
 * "localhost" (127.0.0.1) or empty (every address); names are not looked
 * up, so that what is bound is what was written. Returns 0 or -1.
 */
static int
addr_parse_tcp(const char *host, size_t hostlen, unsigned port,
    struct listen_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
	char buf[INET6_ADDRSTRLEN + 2];

	if (hostlen >= sizeof(buf))
		return -1;
	memcpy(buf, host, hostlen);
	buf[hostlen] = '\0';
	memset(&a->ss, 0, sizeof(a->ss));
	if (hostlen > 2 && buf[0] == '[' && buf[hostlen - 1] == ']') {
		buf[hostlen - 1] = '\0';
		if (inet_pton(AF_INET6, buf + 1, &sin6->sin6_addr) != 1)
			return -1;
		a->family = sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		a->sslen = sizeof(*sin6);
		return 0;
	}
	if (strcmp(buf, "localhost") == 0)
		strcpy(buf, "127.0.0.1");
	else if (buf[0] == '\0')
		strcpy(buf, "0.0.0.0");
	if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1)
		return -1;
	a->family = sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	a->sslen = sizeof(*sin);
	return 0;
}

/*
 * --listen's value: a path (anything with a '/', or a "unix:" prefix, or
 * without a ":PORT" ending) or HOST:PORT. Returns 0, or -1 with err set.
 */
static int
addr_parse(const char *s, struct listen_addr *a, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	memset(a, 0, sizeof(*a));
	if (strncmp(s, "unix:", 5) == 0)
		s += 5;
	else if (strchr(s, '/') == NULL && colon != NULL &&
	    parse_u64(colon + 1, strlen(colon + 1), &port) == 0) {
		if (port < 1 || port > 65535 ||
		    addr_parse_tcp(s, (size_t)(colon - s), (unsigned)port,
		    a) == -1) {
			snprintf(err, errlen, "%s: not IP:PORT (a name other "
			    "than localhost is not looked up)", s);
			return -1;
		}
		return 0;
	}
	if (*s == '\0' || strlen(s) >= SUN_PATH_MAX) {
		snprintf(err, errlen, "%s: socket path empty or too long", s);
		return -1;
	}
	a->family = AF_UNIX;
	a->path = s;
	return 0;
}

/*
 * Makes room for our socket at path: nothing there is fine; a socket that
 * nobody answers on is left over from a server that died and is removed;
 * a live one, or anything that is not a socket, is an error.
 */
static int
unix_clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: exists and is not a socket", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);	/* length checked by addr_parse */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another server is listening there",
		    path);
		return -1;
	}
	if (errno != ECONNREFUSED || unlink(path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Binds and listens on a unix socket with the given mode. The umask keeps
 * the socket from ever being more open than that, the chmod makes it
 * exact (a default ACL on the folder would override the umask). Returns
 * the fd and the socket's identity in *st, or -1 with err set.
 */
static int
listen_unix(const char *path, mode_t mode, struct stat *st, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd, rc;

	if (unix_clear_stale(path, err, errlen) == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(~mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || chmod(path, mode) == -1 || lstat(path, st) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (rc == 0)
			unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Binds and listens on a TCP address. Returns the fd, or -1 with err. */
static int
listen_tcp(const struct listen_addr *a, const char *text, char *err,
    size_t errlen)
{
	int fd, on = 1;

	if ((fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (a->family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->sslen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "%s: %s", text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Forks one worker on fd. The stop signals are blocked in the parent, so
 * the child is born with them blocked and responder_run() takes them
 * with sigtimedwait(). A worker whose parent is killed outright
 * gets SIGTERM, so that nothing keeps serving unsupervised. Returns the
 * pid or -1.
 */
static pid_t
worker_start(int fd, const char *config_path)
{
	pid_t pid, parent = getpid();
	sigset_t chld;

	fflush(NULL);
	if ((pid = fork()) != 0)
		return pid;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(0);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	exit(responder_run(fd, config_path));
}

/* Starts a worker in every empty slot whose last start is long enough
   ago. */
static void
workers_fill(struct workers *w, int fd, const char *config_path)
{
	int64_t now = now_ms();
	int i;

	for (i = 0; i < w->n; i++) {
		if (w->pid[i] != 0 || now - w->started_ms[i] < RESPAWN_MIN_MS)
			continue;
		w->started_ms[i] = now;
		if ((w->pid[i] = worker_start(fd, config_path)) == -1) {
			log_write(LOG_LEVEL_ERROR, "msg=\"serve: cannot start "
			    "a worker\" errno=%d", errno);
			w->pid[i] = 0;
		}
	}
}

/* Reaps exited workers and empties their slots; returns how many live. */
static int
workers_reap(struct workers *w, int expected)
{
	int i, live = 0, st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (i = 0; i < w->n; i++) {
			if (w->pid[i] != pid)
				continue;
			w->pid[i] = 0;
			if (!expected)
				log_write(LOG_LEVEL_WARN, "msg=\"serve: worker "
				    "ended; restarting\" pid=%ld %s=%d",
				    (long)pid, WIFSIGNALED(st) ? "signal" :
				    "exit", WIFSIGNALED(st) ? WTERMSIG(st) :
				    WEXITSTATUS(st));
		}
	for (i = 0; i < w->n; i++)
		live += w->pid[i] != 0;
	return live;
}

static void
workers_signal(const struct workers *w, int sig)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (w->pid[i] != 0)
			kill(w->pid[i], sig);
}

/* Waits up to ms for one of the signals in set; returns it, or 0. */
static int
wait_signal(const sigset_t *set, int64_t ms)
{
	struct timespec ts;
	int sig;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	sig = sigtimedwait(set, NULL, &ts);
	return sig > 0 ? sig : 0;
}

/*
 * Passes the stop on: SIGTERM to every worker, again every STOP_RESEND_MS,
 * until all have finished their request and exited; SIGKILL for any still
 * there after STOP_GRACE_MS.
 */
static void
workers_stop(struct workers *w, const sigset_t *set)
{
	int64_t deadline = now_ms() + STOP_GRACE_MS;

	while (workers_reap(w, 1) > 0) {
		if (now_ms() >= deadline) {
			log_write(LOG_LEVEL_WARN, "msg=\"serve: workers did "
			    "not stop; killing them\"");
			workers_signal(w, SIGKILL);
			deadline = INT64_MAX;
		} else
			workers_signal(w, SIGTERM);
		(void)wait_signal(set, STOP_RESEND_MS);
	}
}

/* The no-op SIGCHLD handler: an ignored SIGCHLD would leave nothing for
   waitpid(); a handler makes sigtimedwait() wake on it everywhere. */
static void
on_child(int sig)
{
	(void)sig;
}

/*
 * The parent's life: keeps n workers on fd until a stop signal, then
 * stops them. The signals are taken synchronously (blocked, then
 * sigtimedwait), so no state is shared with a handler.
 */
static void
supervise(int fd, const char *config_path, int n)
{
	struct workers w;
	struct sigaction sa;
	sigset_t set;
	int sig = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	w.n = n;
	w.pid = xcalloc((size_t)n, sizeof(*w.pid));
	w.started_ms = xcalloc((size_t)n, sizeof(*w.started_ms));
	while (sig != SIGTERM && sig != SIGINT && sig != SIGHUP &&
	    sig != SIGUSR1) {
		workers_reap(&w, 0);
		workers_fill(&w, fd, config_path);
		sig = wait_signal(&set, RESPAWN_MIN_MS);
	}
	log_write(LOG_LEVEL_INFO, "msg=\"serve: stopping\" signal=%d", sig);
	workers_stop(&w, &set);
	free(w.pid);
	free(w.started_ms);
}

/* Opens what --listen names, after the loopback rule. Returns the fd and,
   for a unix socket, its identity in *st; or -1 with err set. */
static int
serve_listen(const struct serve_opts *o, struct listen_addr *a,
    struct stat *st, char *err, size_t errlen)
{
	if (addr_parse(o->listen, a, err, errlen) == -1)
		return -1;
	if (a->family == AF_UNIX)
		return listen_unix(a->path, o->mode, st, err, errlen);
	if (o->mode_given) {
		snprintf(err, errlen, "--mode applies to unix sockets only");
		return -1;
	}
	if (!addr_is_loopback(a) && !o->allow_remote) {
		snprintf(err, errlen, "%s: not a loopback address; FastCGI "
		    "has no authentication (use a unix socket, or "
		    "--allow-remote behind a firewall)", o->listen);
		return -1;
	}
	return listen_tcp(a, o->listen, err, errlen);
}

/* Removes our unix socket, unless another server has replaced it. */
static void
unix_remove(const char *path, const struct stat *ours)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == ours->st_dev &&
	    st.st_ino == ours->st_ino)
		unlink(path);
}

int
serve_command(int argc, char **argv, const char *config_opt,
    const char *argv0)
{
	struct serve_opts o;
	struct listen_addr a;
	struct config *cfg;
	struct stat st;
	char err[1024], q1[1024], q2[1024], *path;
	int fd, rc;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc == -1 ? 0 : rc;
	/* A broken config is reported now, not on the first request. */
	if ((cfg = cli_config(config_opt, argv0, NULL)) == NULL)
		return 1;
	if (log_open(cfg->log) == -1)
		fprintf(stderr, "hookgate: serve: cannot open log %s\n",
		    cfg->log);
	if ((fd = serve_listen(&o, &a, &st, err, sizeof(err))) == -1) {
		fprintf(stderr, "hookgate: serve: %s\n", err);
		config_free(cfg);
		return 1;
	}
	/* Retries left by a previous run are due without a new delivery. */
	path = xstrdup(cfg->path);
	dispatch_kick(cfg, path);
	config_free(cfg);
	log_write(LOG_LEVEL_INFO, "msg=\"serve: listening\" listen=%s "
	    "workers=%d config=%s", log_quote(o.listen, q1, sizeof(q1)),
	    o.workers, log_quote(path, q2, sizeof(q2)));
	supervise(fd, path, o.workers);
	close(fd);
	if (a.family == AF_UNIX)
		unix_remove(a.path, &st);
	log_write(LOG_LEVEL_INFO, "msg=\"serve: stopped\"");
	log_close();
	free(path);
	return 0;
}
