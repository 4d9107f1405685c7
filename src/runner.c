/*
 * runner.c -- the one place hookgate forks: the commands the drainer runs
 * (runner_run) and the detached drainer itself (runner_spawn_detached).
 *
 * The drainer runs commands from several threads. After fork() the child
 * of a multi-threaded process may only make async-signal-safe calls until
 * execve(), because another thread may have held a lock (malloc's, stdio's)
 * at the moment of the fork. So everything a child needs is put in a
 * struct child_plan before fork(), and the child_*() functions below use
 * no heap, no stdio and no locks.
 *
 * Commands start with vfork(), which those rules already make safe: the
 * child borrows our memory until execve() and writes nothing of ours but
 * its own stack frames below the caller's. fork() copied the page tables
 * of the whole drainer and then made every thread of it take a
 * copy-on-write fault per page it touched; on a virtual machine that cost
 * more than the command itself (bench/RESULTS.md). posix_spawn() would do
 * the same, but glibc's leaves its own two signals ignored in the command
 * (see child_reset_reserved). The detached drainer keeps fork(): its
 * middle process must outlive our call.
 *
 * A command's stdin is an anonymous file that holds the whole payload
 * before fork(), not a pipe we feed: if the drainer dies while a command
 * runs, the command still reads every byte (a cut payload cannot be told
 * from a whole one), and we have nothing to write and no SIGPIPE to fear.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "util.h"

#define SHELL_PATH	"/bin/sh"
#define PAYLOAD_NAME	"hookgate-payload"	/* memfd, in /proc/PID/fd */
#define TICK_MS		50		/* exit check when there is no pidfd */
#define READ_CHUNK	(16 * 1024)	/* scratch for output past the cap */
#define DRAIN_DEFAULT	(1024 * 1024)	/* when F_GETPIPE_SZ fails */
#define CLOSE_LOOP_MAX	(1L << 20)	/* fd loop bound without close_range */
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC	0x0001U		/* <linux/memfd.h>; glibc < 2.27 */
#endif

/* How far a child got before it gave up; sent on the report pipe. */
enum stage {
	STAGE_NONE = 0,			/* execve() succeeded */
	STAGE_SETUP,
	STAGE_FORK,
	STAGE_CHDIR,
	STAGE_EXEC
};

struct child_report {
	int	stage;
	int	err;
};

/* What a child needs between fork() and execve(), built before fork(). */
struct child_plan {
	char *const	*argv;		/* argv[0] is the absolute path */
	char *const	*envp;		/* NULL: inherit environ */
	const char	*workdir;	/* NULL: stay */
	int		 fd[3];		/* become 0, 1, 2; -1: leave alone */
	int		 report_fd;	/* write end, close-on-exec */
	int		 new_session;	/* setsid() in this child */
	long		 open_max;	/* close() loop bound */
};

/* One running command, as the parent sees it. */
struct run_io {
	pid_t			 pid;
	int			 out_fd;	/* -1 at EOF */
	int			 report_fd;	/* -1 once read */
	int			 pidfd;		/* -1: tick and waitid() */
	int64_t			 term_at;	/* monotonic ms; -1: never */
	int64_t			 kill_at;
	int64_t			 grace_ms;
	int			 term_sent;
	int			 kill_sent;
	int			 exited;	/* a zombie, not yet reaped */
	struct child_report	 report;
	struct run_result	*res;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bound for the close() loop, read before fork(): sysconf() is not
   async-signal-safe. */
static long
fd_limit(void)
{
	long n = sysconf(_SC_OPEN_MAX);

	if (n < 0 || n > CLOSE_LOOP_MAX)
		n = CLOSE_LOOP_MAX;
	return n;
}

/*
 * Child side: everything from here to the "Parent side" mark runs between
 * fork() and execve() and must stay async-signal-safe.
 */

/* Tells the parent why the child could not start, and ends the child. */
static HG_NORETURN void
child_fail(int report_fd, int stage, int err)
{
	struct child_report rep;

	rep.stage = stage;
	rep.err = err;
	(void)!write(report_fd, &rep, sizeof(rep));
	_exit(127);
}

/*
 * Moves fd above 2, so that the dup2() calls onto 0-2 cannot overwrite it
 * and dup2(fd, fd) never keeps a close-on-exec flag (fds 0-2 may have been
 * closed in the parent, so a pipe can get one of those numbers).
 */
static int
child_lift_fd(int fd)
{
	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	return fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
}

/* Closes every fd from 3 up but keep (>= 3): whatever the process opened
   without O_CLOEXEC (a database, a listening socket) is not the child's. */
static void
child_close_fds(int keep, long open_max)
{
	long fd;

#ifdef SYS_close_range
	if ((keep == 3 ||
	    syscall(SYS_close_range, 3U, (unsigned int)keep - 1, 0U) == 0) &&
	    syscall(SYS_close_range, (unsigned int)keep + 1, ~0U, 0U) == 0)
		return;
#endif
	for (fd = 3; fd < open_max; fd++)
		if (fd != keep)
			(void)close((int)fd);
}

/*
 * Resets a signal that libc keeps for itself (glibc: 32 and 33) and so
 * refuses in sigaction(); an ignored one would still be inherited (GNU
 * make leaves them ignored). An all-zero kernel sigaction is SIG_DFL on
 * every architecture, whatever its layout.
 */
static void
child_reset_reserved(int sig)
{
	static const unsigned long zero[16];

	(void)syscall(SYS_rt_sigaction, sig, zero, NULL, (NSIG - 1) / 8);
}

/* Gives every signal its default action and unblocks all: ignored signals
   (SIGPIPE in the drainer) would otherwise survive execve(). */
static void
child_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, &sa, NULL) == -1 && errno == EINVAL)
			child_reset_reserved(sig);	/* or KILL, STOP */
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Sets the child up as the plan says and executes it; never returns. */
static HG_NORETURN void
child_exec(const struct child_plan *p)
{
	int fd[3], rfd, i;

	if ((rfd = child_lift_fd(p->report_fd)) == -1)
		_exit(127);
	if (p->new_session && setsid() == -1)
		child_fail(rfd, STAGE_SETUP, errno);
	for (i = 0; i < 3; i++)
		if ((fd[i] = child_lift_fd(p->fd[i])) == -1 && p->fd[i] != -1)
			child_fail(rfd, STAGE_SETUP, errno);
	for (i = 0; i < 3; i++)
		if (fd[i] != -1 && dup2(fd[i], i) == -1)
			child_fail(rfd, STAGE_SETUP, errno);
	child_close_fds(rfd, p->open_max);
	child_reset_signals();
	if (p->workdir != NULL && chdir(p->workdir) == -1)
		child_fail(rfd, STAGE_CHDIR, errno);
	if (p->envp != NULL)
		execve(p->argv[0], p->argv, p->envp);
	else
		execv(p->argv[0], p->argv);
	child_fail(rfd, STAGE_EXEC, errno);
}

/*
 * The middle process of the double fork: leaves our session and exits as
 * soon as the program's process exists, so init adopts that one and it
 * can never acquire a controlling terminal. fork() is safe here: glibc's
 * fork() left the locks it handles consistent in this single-threaded
 * child, and nothing here allocates.
 */
static HG_NORETURN void
child_detach(const struct child_plan *p)
{
	if (setsid() == -1)
		child_fail(p->report_fd, STAGE_SETUP, errno);
	switch (fork()) {
	case -1:
		child_fail(p->report_fd, STAGE_FORK, errno);
	case 0:
		child_exec(p);
	default:
		_exit(0);
	}
}

/*
 * Parent side.
 */

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		(void)close(*fd);
		*fd = -1;
	}
}

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A pidfd becomes readable when the child exits, whoever holds its pipes. */
static int
open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0U);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Signals the command's process group. Until the child has called setsid()
 * the group does not exist yet; then the child alone gets the signal (it
 * is blocked there until the child resets its mask, so it still lands).
 */
static void
signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) == -1 && errno == ESRCH)
		(void)kill(pid, sig);
}

/* An anonymous memory file (Linux 3.17), close-on-exec; -1 with errno
   set where there is none (ENOSYS: an old kernel or a seccomp policy). */
static int
memfd_open(void)
{
#ifdef SYS_memfd_create
	return (int)syscall(SYS_memfd_create, PAYLOAD_NAME, MFD_CLOEXEC);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * An unlinked, close-on-exec file in $TMPDIR (else /tmp): O_TMPFILE where
 * the filesystem has it, else mkostemp() and unlink(). Returns the fd, or
 * -1 with errno set.
 */
static int
tmpfile_open(void)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd, saved;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
#ifdef O_TMPFILE
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) != -1)
		return fd;
#endif
	path = xasprintf("%s/" PAYLOAD_NAME ".XXXXXX", dir);
	if ((fd = mkostemp(path, O_CLOEXEC)) != -1)
		(void)unlink(path);
	saved = errno;
	free(path);
	errno = saved;
	return fd;
}

/* Writes all of buf; returns 0, or -1 with errno set. */
static int
write_all(int fd, const unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The command's stdin: an anonymous file (memfd, else unlinked temporary
 * file) holding all of buf, positioned at its start. The offset is shared
 * with the child through the open file description, so it is set here,
 * before fork(), and never touched again. A file size limit (RLIMIT_FSIZE)
 * below len is EFBIG before anything is written: the write would raise
 * SIGXFSZ, which would end this process. Returns the fd (close-on-exec),
 * or -1 with errno set.
 */
static int
payload_open(const unsigned char *buf, size_t len)
{
	struct rlimit rl;
	int fd, saved;

	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    len > rl.rlim_cur) {
		errno = EFBIG;
		return -1;
	}
	if ((fd = memfd_open()) == -1 && (fd = tmpfile_open()) == -1)
		return -1;
	if (write_all(fd, buf, len) == 0 && lseek(fd, 0, SEEK_SET) == 0)
		return fd;
	saved = errno;
	(void)close(fd);
	errno = saved;
	return -1;
}

/*
 * Creates the output and exec report pipes and vforks (so this thread
 * waits until the child has called execve() or given up); plan->fd[0] is the
 * payload file, which stays the caller's to close. On success io holds our
 * ends, non-blocking, and the child is on its way to execve(). Returns 0,
 * or -1 with errno set and nothing of ours left open.
 */
static int
run_fork(struct run_io *io, struct child_plan *plan)
{
	int p[4] = { -1, -1, -1, -1 };
	sigset_t all, old;
	int i, saved;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1 || pipe2(p + 2, O_CLOEXEC) == -1) {
		saved = errno;
		for (i = 0; i < 4; i++)
			close_fd(&p[i]);
		errno = saved;
		return -1;
	}
	plan->fd[1] = plan->fd[2] = p[1];	/* one pipe keeps the order */
	plan->report_fd = p[3];

	/* No handler of ours may run in the child before it resets them. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((pid = vfork()) == 0)
		child_exec(plan);
	saved = errno;
	io->pid = pid;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	close_fd(&p[1]);
	close_fd(&p[3]);
	if (io->pid == -1) {
		close_fd(&p[0]);
		close_fd(&p[2]);
		errno = saved;
		return -1;
	}
	io->out_fd = p[0];
	io->report_fd = p[2];
	set_nonblock(io->out_fd);
	set_nonblock(io->report_fd);
	io->pidfd = open_pidfd(io->pid);
	return 0;
}

/*
 * Reads one chunk of output: kept while there is room under
 * RUNNER_CAPTURE_MAX, counted always. Returns the bytes read, -1 when
 * nothing is there now, 0 at EOF or on error (out_fd is then closed).
 */
static ssize_t
read_output(struct run_io *io)
{
	struct run_result *res = io->res;
	char scratch[READ_CHUNK];
	size_t room;
	ssize_t n;

	room = RUNNER_CAPTURE_MAX - res->output_len;
	do {
		if (room > 0)
			n = read(io->out_fd, res->output + res->output_len,
			    room);
		else
			n = read(io->out_fd, scratch, sizeof(scratch));
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return -1;
	if (n <= 0) {
		close_fd(&io->out_fd);
		return 0;
	}
	if (room > 0)
		res->output_len += (size_t)n;
	res->output_total += (size_t)n;
	return n;
}

/*
 * Takes what the exited child left in the pipe. Whatever it wrote before
 * exiting fits in the pipe's capacity, so reading that much and no more
 * ends the drain even if a grandchild keeps writing.
 */
static void
drain_output(struct run_io *io)
{
	long cap;
	size_t got = 0;
	ssize_t n;

	if (io->out_fd == -1)
		return;
	if ((cap = fcntl(io->out_fd, F_GETPIPE_SZ)) <= 0)
		cap = DRAIN_DEFAULT;
	while (got < (size_t)cap && (n = read_output(io)) > 0)
		got += (size_t)n;
}

/* Reads the exec report: EOF means execve() succeeded (the pipe is
   close-on-exec), a report means the child gave up. */
static void
read_report(struct run_io *io)
{
	struct child_report rep;
	ssize_t n;

	do {
		n = read(io->report_fd, &rep, sizeof(rep));
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n == (ssize_t)sizeof(rep))
		io->report = rep;
	close_fd(&io->report_fd);
}

/* Whether the child has exited; it stays a zombie (WNOWAIT), so its
   process group id cannot be reused before run_reap(). */
static int
child_exited(struct run_io *io)
{
	siginfo_t si;

	if (io->exited || io->pidfd != -1)
		return io->exited;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)io->pid, &si,
	    WEXITED | WNOHANG | WNOWAIT) == -1)
		io->exited = errno != EINTR;	/* ECHILD: reaped elsewhere */
	else if (si.si_pid == io->pid)
		io->exited = 1;
	return io->exited;
}

/* SIGTERM to the group at the timeout, SIGKILL a grace period later. */
static void
enforce_deadline(struct run_io *io, int64_t now)
{
	if (!io->term_sent && io->term_at >= 0 && now >= io->term_at) {
		signal_group(io->pid, SIGTERM);
		io->term_sent = 1;
		io->res->timed_out = 1;
		io->kill_at = now + io->grace_ms;
	} else if (io->term_sent && !io->kill_sent && now >= io->kill_at) {
		signal_group(io->pid, SIGKILL);
		io->kill_sent = 1;
	}
}

/* The poll() timeout: until the next deadline, and at most TICK_MS when
   only waitid() can tell us that the child has exited. */
static int
next_wait(const struct run_io *io, int64_t now)
{
	int64_t at = -1, wait = -1;

	if (!io->term_sent)
		at = io->term_at;
	else if (!io->kill_sent)
		at = io->kill_at;
	if (at >= 0)
		wait = at > now ? at - now : 0;
	if (io->pidfd == -1 && (wait < 0 || wait > TICK_MS))
		wait = TICK_MS;
	return wait > INT_MAX ? INT_MAX : (int)wait;
}

/*
 * Collects output and enforces the deadline in one poll() loop until the
 * child has exited, then takes what it left in the pipe. The loop ends on
 * the child's exit, not on EOF: a backgrounded grandchild may hold the
 * output pipe open for as long as it likes.
 */
static void
run_loop(struct run_io *io)
{
	struct pollfd pfd[3];

	while (!child_exited(io)) {
		pfd[0].fd = io->out_fd;		/* poll() skips fds < 0 */
		pfd[0].events = POLLIN;
		pfd[1].fd = io->report_fd;
		pfd[1].events = POLLIN;
		pfd[2].fd = io->pidfd;
		pfd[2].events = POLLIN;
		if (poll(pfd, 3, next_wait(io, mono_ms())) == -1) {
			if (errno == EINTR)
				continue;
			/* Cannot supervise it: do not let it run on. */
			signal_group(io->pid, SIGKILL);
			io->kill_sent = 1;
			break;
		}
		if (pfd[0].revents != 0)
			(void)read_output(io);
		if (pfd[1].revents != 0)
			read_report(io);
		if (pfd[2].revents != 0)
			io->exited = 1;
		else
			enforce_deadline(io, mono_ms());
	}
	drain_output(io);
	if (io->report_fd != -1)
		read_report(io);
}

/*
 * Collects the child's status. After a timeout the rest of the group is
 * killed first, while the zombie leader still holds the group id; after a
 * normal exit the group is left alone, since a script may start a daemon
 * on purpose. Only this pid is waited for: other threads own theirs.
 */
static void
run_reap(struct run_io *io)
{
	struct run_result *res = io->res;
	pid_t r;
	int st;

	if (io->term_sent || io->kill_sent)
		signal_group(io->pid, SIGKILL);
	do {
		r = waitpid(io->pid, &st, 0);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		return;		/* reaped behind our back: status unknown */
	if (WIFEXITED(st)) {
		res->exited = 1;
		res->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st))
		res->signal = WTERMSIG(st);
}

/*
 * Records why the command did not start: spawn_error, and a line in
 * output for the attempt log. Returns -1, for runner_run() to pass on.
 */
static int
spawn_failed(struct run_result *res, const char *what, const char *arg,
    int err)
{
	char buf[128];

	free(res->output);
	res->output = xasprintf("hookgate: %s%s: %s\n", what, arg,
	    strerror_r(err, buf, sizeof(buf)));
	res->output_len = strlen(res->output);
	if (res->output_len > RUNNER_CAPTURE_MAX) {
		res->output_len = RUNNER_CAPTURE_MAX;
		res->output[res->output_len] = '\0';
	}
	res->output_total = res->output_len;
	res->spawn_error = err;
	return -1;
}

/* Turns a child's report into runner_run()'s failure result. */
static int
report_failed(struct run_result *res, const struct child_report *rep,
    const char *workdir)
{
	switch (rep->stage) {
	case STAGE_CHDIR:
		return spawn_failed(res, "cannot change to ", workdir,
		    rep->err);
	case STAGE_EXEC:
		return spawn_failed(res, "cannot execute ", SHELL_PATH,
		    rep->err);
	default:
		return spawn_failed(res, "cannot set up the command", "",
		    rep->err);
	}
}

int
runner_run(const struct run_spec *spec, struct run_result *res)
{
	static char *const no_env[] = { NULL };
	char *argv[4];
	struct child_plan plan;
	struct run_io io;
	int64_t t0;
	int rv, saved;

	memset(res, 0, sizeof(*res));
	res->output = xmalloc(RUNNER_CAPTURE_MAX + 1);
	res->start_ms = now_ms();
	t0 = mono_ms();
	if (spec->command == NULL)
		return spawn_failed(res, "no command", "", EINVAL);

	argv[0] = SHELL_PATH;
	argv[1] = "-c";
	argv[2] = (char *)spec->command;
	argv[3] = NULL;
	memset(&plan, 0, sizeof(plan));
	plan.argv = argv;
	plan.envp = spec->env != NULL ? spec->env : no_env;
	plan.workdir = spec->workdir;
	plan.new_session = 1;
	plan.open_max = fd_limit();

	memset(&io, 0, sizeof(io));
	io.res = res;
	io.term_at = spec->timeout_ms > 0 ? t0 + spec->timeout_ms : -1;
	io.grace_ms = spec->kill_grace_ms > 0 ? spec->kill_grace_ms :
	    RUNNER_KILL_GRACE_MS;
	if ((plan.fd[0] = payload_open(spec->input,
	    spec->input != NULL ? spec->input_len : 0)) == -1)
		return spawn_failed(res, "cannot put the payload in a file",
		    "", errno);
	rv = run_fork(&io, &plan);
	saved = errno;
	(void)close(plan.fd[0]);	/* the child has its own */
	if (rv == -1)
		return spawn_failed(res, "cannot start ", SHELL_PATH, saved);

	run_loop(&io);
	run_reap(&io);
	/* A grandchild may still hold the output pipe: its writes fail now. */
	close_fd(&io.out_fd);
	close_fd(&io.report_fd);
	close_fd(&io.pidfd);
	res->duration_ms = mono_ms() - t0;
	res->output = xrealloc(res->output, res->output_len + 1);
	res->output[res->output_len] = '\0';
	if (io.report.stage != STAGE_NONE)
		return report_failed(res, &io.report, spec->workdir);
	return 0;
}

void
runner_result_free(struct run_result *res)
{
	if (res == NULL)
		return;
	free(res->output);
	res->output = NULL;
	res->output_len = res->output_total = 0;
}

/* Waits for the middle process and the report of the program's execv().
   Returns 0, or -1 with errno set. */
static int
detached_result(pid_t pid, int report_fd)
{
	struct child_report rep;
	ssize_t n;
	pid_t r;
	int st = 0;

	do {
		r = waitpid(pid, &st, 0);
	} while (r == -1 && errno == EINTR);
	/* EOF once the program runs: the write end is close-on-exec. */
	do {
		n = read(report_fd, &rep, sizeof(rep));
	} while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(rep)) {
		errno = rep.err;
		return -1;
	}
	if (r == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errno = ECHILD;
		return -1;
	}
	return 0;
}

int
runner_spawn_detached(char *const argv[], char *const envp[])
{
	struct child_plan plan;
	struct stat st;
	sigset_t all, old;
	int devnull, rfd[2], saved, rv;
	pid_t pid;

	if (argv == NULL || argv[0] == NULL || argv[0][0] != '/') {
		errno = EINVAL;
		return -1;
	}
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	if (pipe2(rfd, O_CLOEXEC) == -1) {
		saved = errno;
		(void)close(devnull);
		errno = saved;
		return -1;
	}
	memset(&plan, 0, sizeof(plan));
	plan.argv = argv;
	plan.envp = envp;
	plan.fd[0] = plan.fd[1] = devnull;
	/*
	 * Keep our stderr when it is the server's error log (a file); a pipe
	 * or socket (mod_cgi reads a CGI's stderr to its end) would keep the
	 * request open for as long as the drainer lives.
	 */
	plan.fd[2] = fstat(STDERR_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) ? devnull : -1;
	plan.report_fd = rfd[1];
	plan.open_max = fd_limit();

	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == 0)
		child_detach(&plan);
	saved = errno;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	(void)close(devnull);
	(void)close(rfd[1]);
	if (pid == -1) {
		(void)close(rfd[0]);
		errno = saved;
		return -1;
	}
	rv = detached_result(pid, rfd[0]);
	saved = errno;
	(void)close(rfd[0]);
	errno = saved;
	return rv;
}

void
runner_ignore_sigpipe(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
}
