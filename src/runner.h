/*
 * runner.h -- spawning one command: /bin/sh -c RUN in a working directory,
 * the raw payload on stdin (a file, not a pipe), a clean environment, its
 * own process group, a timeout, and the first bytes of its output kept.
 * The only module that forks (for commands and for the detached drainer).
 *
 * runner_run() is safe to call from several threads at once: everything
 * the child needs is prepared before fork(), and the child only makes
 * async-signal-safe calls before execve().
 */
#ifndef HOOKGATE_RUNNER_H
#define HOOKGATE_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#define RUNNER_CAPTURE_MAX	(64 * 1024)
#define RUNNER_KILL_GRACE_MS	5000

struct run_spec {
	const char		*command;	/* for /bin/sh -c */
	const char		*workdir;	/* absolute */
	char *const		*env;		/* NULL-terminated "NAME=value" */
	const unsigned char	*input;		/* stdin, exactly; NULL: empty */
	size_t			 input_len;
	int64_t			 timeout_ms;	/* then SIGTERM to the group */
	int64_t			 kill_grace_ms;	/* then SIGKILL; 0: default */
};

struct run_result {
	int		 exited;	/* 1: exit status in status */
	int		 status;	/* exit status when exited */
	int		 signal;	/* terminating signal, else 0 */
	int		 timed_out;	/* the timeout fired */
	int		 spawn_error;	/* errno when it could not start */
	int64_t		 start_ms;	/* wall clock */
	int64_t		 duration_ms;
	char		*output;	/* stdout and stderr as they came,
					   at most RUNNER_CAPTURE_MAX bytes;
					   malloc'd, free with runner_result_free */
	size_t		 output_len;
	size_t		 output_total;	/* bytes the command wrote in all */
};

/*
 * Runs the command to its end (or its timeout) and fills res. stdin is an
 * anonymous file -- a memfd ("hookgate-payload"), else an unlinked file
 * in $TMPDIR or /tmp -- that holds all of the input, byte for byte,
 * before the command starts, positioned at its start: the command reads
 * the whole input even if this process dies meanwhile, may seek in it,
 * and blocks nothing by not reading it. stdout and stderr are drained in
 * a poll() loop. Returns 0 when the command ran (whatever its outcome), -1
 * when it could not be started (res->spawn_error says why).
 *
 * Details the caller may rely on:
 * - res->output is never NULL afterwards, is NUL-terminated (at
 *   output_len), and is the caller's to free with runner_result_free(),
 *   also after -1.
 * - On -1, res->output holds one line saying what failed ("hookgate:
 *   cannot change to DIR: ...", "hookgate: cannot start /bin/sh:
 *   ...", "hookgate: cannot put the payload in a file: ..." -- no room,
 *   no fd, or EFBIG for an input over RLIMIT_FSIZE, checked so that no
 *   SIGXFSZ is raised), for the attempt log. When the child was forked
 *   and failed before execve() succeeded (chdir(), execve()), it also
 *   shows as exited with status 127; a failure before fork() (the
 *   payload's file, the pipes, fork() itself) leaves exited 0.
 *   A command the shell cannot find is not a spawn error: the shell ran
 *   and exited 127, runner_run() returns 0.
 * - timeout_ms <= 0 means no timeout; env NULL means an empty
 *   environment; workdir NULL means the caller's working directory.
 * - The command's process group is its own (setsid). After a timeout the
 *   whole group is killed with SIGKILL before the command is reaped, so
 *   no background process survives. After a normal exit the group is left
 *   alone -- a script may start a daemon on purpose -- but its output is
 *   no longer read: runner_run() returns once the command itself has
 *   exited, and a background process that keeps the output pipe gets
 *   EPIPE (SIGPIPE) on its next write. Daemons should redirect output.
 * - It writes to no pipe, so it raises no SIGPIPE in the caller, whether
 *   or not the caller called runner_ignore_sigpipe().
 */
int	 runner_run(const struct run_spec *, struct run_result *res);
void	 runner_result_free(struct run_result *);

/*
 * Starts argv[0] (an absolute path) with argv and envp (NULL: ours) fully
 * detached: double fork, setsid, fds 0 and 1 on /dev/null, fd 2 kept when
 * it is a file (the web server's error log; a pipe or socket is replaced
 * by /dev/null), every other fd closed -- in particular the FastCGI
 * listening socket. Reaps the intermediate child. Returns 0, or -1 with
 * errno set.
 */
int	 runner_spawn_detached(char *const argv[], char *const envp[]);

/*
 * Ignores SIGPIPE in the calling process (the drainer), so that a write to
 * a pipe or socket whose reader is gone fails with EPIPE rather than
 * killing it; runner_run() gives children every signal's default
 * disposition back before execve().
 */
void	 runner_ignore_sigpipe(void);

#endif
