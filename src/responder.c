/*
 * responder.c -- the FastCGI responder. The config's `threads` request
 * threads accept on the one listening socket and share one handler (the
 * config and the store). Several requests in flight per process is what
 * lets durable commits share a log flush: Berkeley DB writes and syncs
 * the log once for every transaction waiting when a flush starts (group
 * commit), so N requests committing together cost about one fdatasync,
 * not N, and none is answered before its commit is on disk.
 *
 * The main thread takes no requests. The stop signals are blocked in
 * every thread and the main thread takes them with sigtimedwait(); it
 * also ends the process when a request is stuck, and at a stop wakes the
 * threads waiting for a connection with SIGWAKE. No signal reaches a
 * thread while it reads or answers a request: libfcgi takes an
 * interrupted read or write for a broken connection.
 *
 * With main.c and serve.c, the only files that include fcgiapp.h.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "handler.h"
#include "log.h"
#include "request.h"
#include "responder.h"
#include "util.h"

/* Ends a request thread's wait for a connection; never sent by anyone
   else. */
#define SIGWAKE			(SIGRTMIN + 1)
/* Touched pages only count, but hosts cap address space (RLIMIT_AS). */
#define THREAD_STACK		(512 * 1024)
/* While stopping, SIGWAKE is sent again this often, until every thread
   has ended. (One sent while a thread serves a request stays pending and
   ends its next wait at once; the resend costs nothing and guards the
   rest.) */
#define WAKE_RESEND_MS		100
/* Longest wait for one read or write of a request's connection. */
#define IO_TIMEOUT_S		10
/* How often the main thread looks for a stuck request. */
#define TICK_S			1
/* The exit status of a process that ended itself over a stuck request. */
#define EXIT_STUCK		70
/*
 * Free memory a thread's malloc arena keeps between requests. glibc gives
 * it back to the system as soon as the free top of an arena passes
 * M_TRIM_THRESHOLD (128 KiB to start with). json-c's tree of a 256 KiB
 * event is some 4.7 MiB of small blocks, all freed when the request ends:
 * every such request grew its thread's arena again, page fault by page
 * fault, and gave it back -- half of the CPU at 256 KiB (bench/RESULTS.md).
 * Setting the threshold also fixes glibc's mmap threshold at 128 KiB, so
 * a large body's buffer is mapped and unmapped, not kept. The memory
 * kept goes back after a quiet second (memory_tick()).
 */
#define ARENA_KEEP_BYTES	(64 * 1024 * 1024)

struct responder;

/* One request thread, as the main thread sees it. */
struct rthread {
	pthread_t		 tid;
	struct responder	*rs;
	atomic_llong		 busy_since;	/* ms of last progress; 0: idle */
	atomic_int		 ended;
};

struct responder {
	int		 listen_fd;
	int		 unix_socket;	/* listen_fd is AF_UNIX */
	struct handler	 h;
	struct rthread	*t;		/* n of them, all started */
	int		 n;
	struct rthread	 hk;		/* housekeeping; hk_started */
	int		 hk_started;
	atomic_ulong	 served;	/* requests answered, ever */
};

static atomic_int stopping;

static void
on_wake(int sig)
{
	(void)sig;
}

/*
 * Blocks the stop signals and SIGWAKE in this thread, and so in every
 * thread it starts; SIGWAKE gets a handler without SA_RESTART, so that a
 * wait it interrupts returns. Fills *stop with the stop signals.
 */
static void
signals_block(sigset_t *stop)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
	struct sigaction sa;
	sigset_t all;
	size_t i;

	sigemptyset(stop);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(stop, sigs[i]);
	all = *stop;
	sigaddset(&all, SIGWAKE);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_wake;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWAKE, &sa, NULL);
}

/* The body reader's context: the stream, and whose progress it shows. */
struct body_ctx {
	FCGX_Stream	*in;
	struct rthread	*t;
};

/* Reads body bytes; each read that brings some is progress. */
static ssize_t
fcgi_read(void *ctx, void *buf, size_t len)
{
	struct body_ctx *bc = ctx;
	int n;

	if (len > 1 << 30)
		len = 1 << 30;
	n = FCGX_GetStr(buf, (int)len, bc->in);
	if (n == 0 && FCGX_GetError(bc->in) != 0)
		return -1;
	if (n > 0)
		atomic_store(&bc->t->busy_since, now_ms());
	return n;
}

/*
 * Ends a request whose connection the server does not keep. libfcgi shuts
 * the sending side down and waits for the server to close first, so that
 * input left unread (a body refused early) cannot reset the connection
 * before the server has read the answer. Over a Unix socket with all of
 * the body read there is nothing to reset, and what we sent stays
 * readable after our close: we close at once and spare a wait, a wake-up
 * and three system calls per request.
 */
static void
finish(struct rthread *t, FCGX_Request *r)
{
	if (r->keepConnection || !t->rs->unix_socket ||
	    FCGX_HasSeenEOF(r->in) != EOF) {
		FCGX_Finish_r(r);	/* closes unless the server keeps it */
		return;
	}
	r->keepConnection = 1;
	FCGX_Finish_r(r);
	if (r->ipcFd >= 0)
		(void)close(r->ipcFd);
	r->ipcFd = -1;
}

/* Answers one accepted request; handler_idle() runs after it is sent. */
static void
serve_one(struct rthread *t, struct request *req, FCGX_Request *r)
{
	struct handler *h = &t->rs->h;
	struct body_ctx bc = { r->in, t };
	struct body_reader rd = { fcgi_read, &bc };
	char **e, *out;
	size_t len;

	request_reset(req);
	for (e = r->envp; *e != NULL; e++)
		request_add_env(req, *e);
	out = handler_serve(h, req, &rd, &len);
	FCGX_PutStr(out, (int)len, r->out);
	free(out);
	finish(t, r);
	atomic_fetch_add_explicit(&t->rs->served, 1, memory_order_relaxed);
	handler_idle(h);
}

/*
 * FCGI_WEB_SERVER_ADDRS, when set, lists the IPv4 addresses that may
 * connect over TCP (as libfcgi's own accept would check). Unix sockets
 * and an unset list admit anyone. Returns 1 if fd's peer is admitted.
 */
static int
peer_allowed(int fd)
{
	const char *list = getenv("FCGI_WEB_SERVER_ADDRS");
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET_ADDRSTRLEN];
	size_t n;

	if (list == NULL || *list == '\0')
		return 1;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_UNIX)
		return 1;
	if (ss.ss_family != AF_INET || inet_ntop(AF_INET,
	    &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip)) == NULL)
		return 0;
	n = strlen(ip);
	for (; *list != '\0'; list += strcspn(list, ","),
	    list += *list == ',') {
		list += strspn(list, " ");
		if (strncmp(list, ip, n) == 0 &&
		    (list[n] == '\0' || list[n] == ',' || list[n] == ' '))
			return 1;
	}
	return 0;
}

/*
 * A peer that stops halfway through a record or a body would hold a
 * thread for ever: a read or write that waits longer than IO_TIMEOUT_S
 * fails instead (libfcgi drops the connection, or the body is answered
 * 400). Web servers send a request at once, buffered bodies included.
 */
/* The address family of a socket, or -1. */
static int
socket_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return ss.ss_family;
}

static void
io_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Waits for a connection and takes it. The listening socket is
 * non-blocking: under load a connection is usually waiting, and one
 * accept4() takes it. Only when none is does the thread sleep, in
 * epoll_pwait() with SIGWAKE let in for the wait only (atomically: one
 * sent meanwhile is pending and ends the wait at once; during is the
 * thread's mask without SIGWAKE), and EPOLLEXCLUSIVE wakes one waiting
 * thread of the process per connection, not all of them. (A blocking
 * accept() with SIGWAKE let in around it cost two more system calls per
 * request.) Returns the connection, -1 to look at `stopping` again, or
 * -2 when the socket is unusable.
 */
static int
wait_connection(int listen_fd, int epfd, const sigset_t *during)
{
	struct epoll_event ev;
	int fd;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0 && !peer_allowed(fd)) {
		close(fd);
		return -1;
	}
	if (fd >= 0) {
		io_timeouts(fd);
		return fd;
	}
	switch (errno) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		if (epoll_pwait(epfd, &ev, 1, -1, during) == -1 &&
		    errno != EINTR) {
			log_write(LOG_LEVEL_ERROR, "msg=\"waiting for a "
			    "FastCGI connection failed\" errno=%d", errno);
			return -2;
		}
		return -1;
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
		return -1;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		sleep_ms(100);	/* resources may come back */
		return -1;
	}
	log_write(LOG_LEVEL_ERROR, "msg=\"FastCGI accept failed\" "
	    "errno=%d", errno);
	return -2;
}

/* An epoll instance that reports a waiting connection on listen_fd to
   one of the threads waiting on it, or -1. */
static int
accept_poller(int listen_fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	int epfd;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, listen_fd, &ev) == -1) {
		close(epfd);
		return -1;
	}
	return epfd;
}

/*
 * Waits until a connection has something to read -- a new one its first
 * record, one the web server keeps open (FCGI_KEEP_CONN) its next request
 * -- with SIGWAKE let in for the wait only (atomically: none is missed;
 * during is the thread's mask without SIGWAKE),
 * so that a peer that sends nothing never holds up a stop. Returns 0 when
 * it has (or has ended: libfcgi will see), -1 when a stop came or poll
 * failed.
 */
static int
wait_readable(int fd, const sigset_t *during)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (ppoll(&p, 1, NULL, during) == -1)
		if (errno != EINTR || atomic_load(&stopping))
			return -1;
	return 0;
}

/*
 * A request thread. It accepts connections itself and hands each to
 * libfcgi as an open connection to read a request from (the path libfcgi
 * takes for FCGI_KEEP_CONN), so that no signal can reach libfcgi's reads.
 * libfcgi's own listening socket is -1: a connection that fails or ends
 * before a request's parameters are read is closed and FCGX_Accept_r()
 * returns at once, where it would otherwise block in an accept() no
 * signal of ours could interrupt.
 */
static void *
rthread_main(void *arg)
{
	struct rthread *t = arg;
	struct request *req = request_new();
	FCGX_Request r;
	sigset_t during;
	int fd, epfd, kept = -1;

	pthread_sigmask(SIG_SETMASK, NULL, &during);
	sigdelset(&during, SIGWAKE);
	if ((epfd = accept_poller(t->rs->listen_fd)) == -1) {
		log_write(LOG_LEVEL_ERROR, "msg=\"cannot watch the FastCGI "
		    "socket\" errno=%d", errno);
		atomic_store(&stopping, 1);
	}
	if (FCGX_InitRequest(&r, -1, 0) != 0)
		atomic_store(&stopping, 1);
	while (!atomic_load(&stopping)) {
		if (kept >= 0)
			fd = kept;
		else if ((fd = wait_connection(t->rs->listen_fd, epfd,
		    &during)) < 0) {
			if (fd == -2)
				atomic_store(&stopping, 1);
			continue;
		}
		kept = -1;
		if (wait_readable(fd, &during) == -1) {
			close(fd);
			continue;
		}
		r.ipcFd = fd;
		r.keepConnection = 1;	/* FCGX_Accept_r() must not close it */
		atomic_store(&t->busy_since, now_ms());
		if (FCGX_Accept_r(&r) == 0) {
			serve_one(t, req, &r);
			kept = r.ipcFd;	/* still open if the server asked */
		}			/* else libfcgi closed it */
		atomic_store(&t->busy_since, 0);
	}
	if (kept >= 0)
		close(kept);
	if (epfd != -1)
		close(epfd);
	request_free(req);
	atomic_store(&t->ended, 1);
	return NULL;
}

/*
 * Gives the memory the request threads' arenas kept (ARENA_KEEP_BYTES)
 * back to the system once a tick has passed without a request, and then
 * not again until requests have come. malloc_trim() returns the free
 * pages inside an arena, not the free top of a thread's arena, so some
 * stays (after 256 KiB events, 34-40 MiB of a 49 MiB peak is left
 * resident; without the trim all 49 stayed).
 */
static void
memory_tick(struct responder *rs, unsigned long *seen, int *kept)
{
	unsigned long n = atomic_load_explicit(&rs->served,
	    memory_order_relaxed);

	if (n != *seen) {
		*seen = n;
		*kept = 1;
	} else if (*kept) {
		(void)malloc_trim(0);
		*kept = 0;
	}
}

/*
 * The housekeeping thread: checkpoints the store once a second when
 * enough log has grown, and gives kept memory back when requests pause.
 * A checkpoint writes every dirty page, which no request should wait
 * for; one that hangs is caught by the watchdog like a stuck request.
 */
static void *
housekeeping_main(void *arg)
{
	struct rthread *t = arg;
	unsigned long seen = 0;
	int i, kept = 0;

	while (!atomic_load(&stopping)) {
		for (i = 0; i < 10 && !atomic_load(&stopping); i++)
			sleep_ms(100);
		atomic_store(&t->busy_since, now_ms());
		handler_checkpoint(&t->rs->h);
		memory_tick(t->rs, &seen, &kept);
		atomic_store(&t->busy_since, 0);
	}
	atomic_store(&t->ended, 1);
	return NULL;
}

/* Starts the config's threads. Returns how many started. */
static int
threads_start(struct responder *rs)
{
	pthread_attr_t attr;
	int i, want = handler_threads(&rs->h);

	rs->t = xcalloc((size_t)want, sizeof(*rs->t));
	if (pthread_attr_init(&attr) != 0)
		return 0;
	(void)pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (i = 0; i < want; i++) {
		rs->t[i].rs = rs;
		if (pthread_create(&rs->t[i].tid, &attr, rthread_main,
		    &rs->t[i]) != 0)
			break;
	}
	rs->n = i;
	rs->hk.rs = rs;
	rs->hk_started = pthread_create(&rs->hk.tid, &attr, housekeeping_main,
	    &rs->hk) == 0;
	pthread_attr_destroy(&attr);
	if (i < want)
		log_write(LOG_LEVEL_WARN, "msg=\"fewer request threads than "
		    "configured\" threads=%d configured=%d", i, want);
	return i;
}

/*
 * A request that has made no progress (none of its body arrived, and it
 * did not end) for REQUEST_WATCHDOG_S is stuck, most likely on a lock a
 * killed process held: the process ends so that the next one's store open
 * recovers. Reads time out sooner (IO_TIMEOUT_S), so a slow peer is not
 * taken for stuck. The other requests in flight end unanswered and are
 * sent again; nothing acknowledged is lost. The housekeeping thread's
 * checkpoint is watched the same way; the log says which one was stuck.
 */
static void
watchdog_check(struct responder *rs)
{
	int64_t now = now_ms(), since;
	int i;

	for (i = 0; i <= rs->n; i++) {
		since = atomic_load(i < rs->n ? &rs->t[i].busy_since :
		    &rs->hk.busy_since);
		if (since == 0 || now - since <= REQUEST_WATCHDOG_S * 1000LL)
			continue;
		log_write(LOG_LEVEL_ERROR, "msg=\"%s is stuck; the process "
		    "ends\" seconds=%lld", i < rs->n ? "a request thread" :
		    "the housekeeping checkpoint",
		    (long long)(now - since) / 1000);
		_exit(EXIT_STUCK);
	}
}

/* Waits for a stop signal, or a thread's failure, watching the threads. */
static void
supervise(struct responder *rs, const sigset_t *stop)
{
	struct timespec tick = { TICK_S, 0 };

	while (!atomic_load(&stopping)) {
		if (sigtimedwait(stop, NULL, &tick) > 0)
			break;
		watchdog_check(rs);
	}
}

/* Stops every thread: each finishes the request in hand first. */
static void
threads_stop(struct responder *rs)
{
	int i, left;

	atomic_store(&stopping, 1);
	FCGX_ShutdownPending();
	for (;;) {
		left = 0;
		for (i = 0; i < rs->n; i++) {
			if (atomic_load(&rs->t[i].ended))
				continue;
			left++;
			pthread_kill(rs->t[i].tid, SIGWAKE);
		}
		if (left == 0)
			break;
		sleep_ms(WAKE_RESEND_MS);
		watchdog_check(rs);
	}
	for (i = 0; i < rs->n; i++)
		pthread_join(rs->t[i].tid, NULL);
	if (rs->hk_started)
		pthread_join(rs->hk.tid, NULL);
}

int
responder_run(int listen_fd, const char *config_path)
{
	struct responder rs;
	sigset_t stop;
	int fl, rc = 0;

	signals_block(&stop);
	if (FCGX_Init() != 0)
		return 1;
	memset(&rs, 0, sizeof(rs));
	rs.listen_fd = listen_fd;
	rs.unix_socket = socket_family(listen_fd) == AF_UNIX;
	/* wait_connection() takes what is waiting, or returns. */
	if ((fl = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_write(LOG_LEVEL_ERROR, "msg=\"cannot make the FastCGI "
		    "socket non-blocking\" errno=%d", errno);
		return 1;
	}
	(void)mallopt(M_TRIM_THRESHOLD, ARENA_KEEP_BYTES);
	handler_init(&rs.h, config_path);
	if (threads_start(&rs) == 0)
		rc = 1;
	else
		supervise(&rs, &stop);
	threads_stop(&rs);
	handler_cleanup(&rs.h);
	free(rs.t);
	return rc;
}
