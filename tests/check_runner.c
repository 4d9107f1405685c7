/*
 * check_runner.c -- runner_run() and runner_spawn_detached() against real
 * child processes: exact stdin (a file, whole before the command starts),
 * output capture, environment, working directory, exit statuses, timeouts
 * and process groups, fd hygiene, concurrent runs; and again, in part,
 * with pidfd_open, close_range and memfd_create failing as on older
 * kernels.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"
#include "util.h"
#include "testutil.h"

#define MIB	(1024 * 1024)

static char *const test_env[] = {
	"PATH=/usr/bin:/bin",
	"HOME=/tmp",
	"LANG=C",
	"HOOKGATE_EVENT_ID=evt_123",
	NULL
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs cmd in dir with the test environment; returns runner_run()'s. */
static int
run_in(struct run_result *res, const char *cmd, const char *dir,
    const void *in, size_t len, int64_t timeout_ms, int64_t grace_ms)
{
	struct run_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.command = cmd;
	spec.workdir = dir;
	spec.env = test_env;
	spec.input = in;
	spec.input_len = len;
	spec.timeout_ms = timeout_ms;
	spec.kill_grace_ms = grace_ms;
	return runner_run(&spec, res);
}

/* The same, for commands that must start and have no input. */
static void
run(struct run_result *res, const char *cmd)
{
	ck_assert_int_eq(run_in(res, cmd, "/", NULL, 0, 10000, 0), 0);
}

/* Bytes that are hard to pass through anything but a pipe: NULs, high
   bits, CR; a cheap generator so that 30 MiB costs nothing. */
static unsigned char *
make_payload(size_t len)
{
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = 2463534242U;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	return p;
}

/* Returns the whole file, malloc'd; its length in *len. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	FILE *f;

	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Waits up to ms for path to appear. */
static int
wait_for_file(const char *path, long ms)
{
	for (; ms > 0; ms -= 20) {
		if (access(path, F_OK) == 0)
			return 1;
		sleep_ms(20);
	}
	return access(path, F_OK) == 0;
}

/* Whether pid is gone: no such process, or a zombie nobody has reaped yet
   (our pid 1 need not reap promptly). */
static int
process_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static pid_t
read_pid(const char *path)
{
	unsigned char *s;
	size_t len;
	pid_t pid;

	ck_assert(wait_for_file(path, 2000));
	s = slurp(path, &len);
	pid = (pid_t)atol((char *)s);
	free(s);
	ck_assert_int_gt(pid, 1);
	return pid;
}

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#define LIT(s)	s, sizeof(s) - 1

/* Stdin arrives byte for byte, whatever the bytes and however many. */
static const struct {
	const char	*name;
	const char	*bytes;		/* NULL: generated */
	size_t		 len;
} payloads[] = {
	{ "empty", LIT("") },
	{ "unicode", LIT("{\"name\":\"Zo\xc3\xab\","
	    "\"rocket\":\"\xf0\x9f\x9a\x80\","
	    "\"kanji\":\"\xe6\xbc\xa2\xe5\xad\x97\"}\n") },
	{ "nul-and-whitespace", LIT("a\0b\r\n  trailing  \r\n\t\0\n  \0") },
	{ "256KiB", NULL, 256 * 1024 },
	{ "30MiB", NULL, 30 * MIB },
};

START_TEST(stdin_exact)
{
	struct run_result res;
	unsigned char *in, *got;
	char *dir, path[512], cmd[600];
	size_t len, got_len;

	if (payloads[_i].bytes != NULL) {
		len = payloads[_i].len;
		in = malloc(len + 1);
		ck_assert_ptr_nonnull(in);
		memcpy(in, payloads[_i].bytes, len);
	} else
		in = make_payload(len = payloads[_i].len);
	dir = make_tmpdir();
	snprintf(path, sizeof(path), "%s/in", dir);
	snprintf(cmd, sizeof(cmd), "cat > '%s'", path);
	ck_assert_int_eq(run_in(&res, cmd, dir, in, len, 20000, 0), 0);
	ck_assert_int_eq(res.exited, 1);
	ck_assert_int_eq(res.status, 0);
	got = slurp(path, &got_len);
	ck_assert_msg(got_len == len, "%s: %zu bytes, want %zu",
	    payloads[_i].name, got_len, len);
	ck_assert_msg(memcmp(got, in, len) == 0, "%s differs",
	    payloads[_i].name);
	free(got);
	free(in);
	runner_result_free(&res);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * stdin is a regular file holding the whole payload, not a pipe: the
 * command may stat it and read it twice (again through /dev/stdin).
 */
START_TEST(stdin_is_file)
{
	static const char in[] = "{\"ok\":true}\n";
	struct run_result res;

	ck_assert_int_eq(run_in(&res, "[ -f /dev/stdin ] && [ ! -p /dev/stdin ] "
	    "&& wc -c && cat /dev/stdin && exec 0<&- && echo closed", "/",
	    in, sizeof(in) - 1, 5000, 0), 0);
	ck_assert_int_eq(res.exited, 1);
	ck_assert_int_eq(res.status, 0);
	ck_assert_str_eq(res.output, "12\n{\"ok\":true}\nclosed\n");
	runner_result_free(&res);
}
END_TEST

/* Where memfd_create works, stdin is one, named for what it holds. */
START_TEST(stdin_is_memfd)
{
	struct run_result res;

	ck_assert_int_eq(run_in(&res, "readlink /proc/$$/fd/0", "/", "x", 1,
	    5000, 0), 0);
	ck_assert_int_eq(res.status, 0);
	ck_assert_msg(strncmp(res.output, "/memfd:hookgate-payload", 23) == 0,
	    "stdin is %s", res.output);
	runner_result_free(&res);
}
END_TEST

/*
 * The payload is whole even when the process that ran the command dies
 * right after starting it, before the command has read a byte: a helper
 * process calls runner_run() and is SIGKILLed once the command has
 * started. The command, in its own session, outlives it, reads its stdin
 * 0.3 s later and renames its copy into place only when cat succeeded.
 */
START_TEST(stdin_survives_parent)
{
	struct run_result res;
	unsigned char *in, *got;
	char *dir, started[512], out[512];
	size_t got_len;
	pid_t helper;
	int st;

	in = make_payload(MIB);
	dir = make_tmpdir();
	snprintf(started, sizeof(started), "%s/started", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	if ((helper = fork()) == 0) {
		(void)run_in(&res, "touch started; sleep 0.3; "
		    "cat > out.tmp && mv out.tmp out", dir, in, MIB, 10000, 0);
		_exit(0);
	}
	ck_assert_int_gt(helper, 0);
	ck_assert_msg(wait_for_file(started, 5000), "the command never ran");
	ck_assert_int_eq(kill(helper, SIGKILL), 0);
	ck_assert_int_eq(waitpid(helper, &st, 0), helper);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert_msg(wait_for_file(out, 5000), "the command did not finish");
	got = slurp(out, &got_len);
	ck_assert_uint_eq(got_len, MIB);
	ck_assert_msg(memcmp(got, in, MIB) == 0, "stdin differs");
	free(got);
	free(in);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * A payload that cannot be put in a file (here: RLIMIT_FSIZE below its
 * size) is a spawn error, not an outcome of the command, which never
 * starts; and the SIGXFSZ such a write would raise does not end us.
 */
START_TEST(payload_too_big_for_limit)
{
	static const char big[8192];
	struct run_result res;
	struct rlimit rl;
	int fds;

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = 4096;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	fds = count_fds();
	ck_assert_int_eq(run_in(&res, "echo ran", "/", big, sizeof(big),
	    5000, 0), -1);
	ck_assert_int_eq(res.spawn_error, EFBIG);
	ck_assert_int_eq(res.exited, 0);
	ck_assert_ptr_nonnull(strstr(res.output, "payload"));
	ck_assert_ptr_null(strstr(res.output, "ran"));
	runner_result_free(&res);
	ck_assert_int_eq(count_fds(), fds);
	/* Up to the limit is fine. */
	ck_assert_int_eq(run_in(&res, "wc -c", "/", big, 4096, 5000, 0), 0);
	ck_assert_str_eq(res.output, "4096\n");
	runner_result_free(&res);
}
END_TEST

/* cat writes back while it reads: both directions must move at once. */
START_TEST(echo_back_1mib)
{
	struct run_result res;
	unsigned char *in = make_payload(MIB);

	ck_assert_int_eq(run_in(&res, "cat", "/", in, MIB, 10000, 0), 0);
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.output_len, RUNNER_CAPTURE_MAX);
	ck_assert_uint_eq(res.output_total, MIB);
	ck_assert_mem_eq(res.output, in, RUNNER_CAPTURE_MAX);
	free(in);
	runner_result_free(&res);
}
END_TEST

/* The fcgiwrap deadlock: output before reading any input. */
START_TEST(output_before_input)
{
	struct run_result res;
	unsigned char *in = make_payload(30 * MIB);

	ck_assert_int_eq(run_in(&res,
	    "head -c 10000000 /dev/zero; cat >/dev/null", "/",
	    in, 30 * MIB, 20000, 0), 0);
	ck_assert_int_eq(res.timed_out, 0);
	ck_assert_int_eq(res.exited, 1);
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.output_total, 10000000);
	ck_assert_uint_eq(res.output_len, RUNNER_CAPTURE_MAX);
	free(in);
	runner_result_free(&res);
}
END_TEST

/* A command that ignores its stdin: no hang, and the EPIPE is ours to
   handle, with SIGPIPE ignored (the drainer) or not (a careless caller). */
START_TEST(input_never_read)
{
	static const char *cmds[] = { "exit 0", "sleep 0.1; exit 0",
	    "exec 0<&-; sleep 0.1" };
	struct run_result res;
	unsigned char *in = make_payload(30 * MIB);
	sigset_t pending;
	size_t i;

	if (_i == 0)
		runner_ignore_sigpipe();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ck_assert_int_eq(run_in(&res, cmds[i], "/", in, 30 * MIB,
		    5000, 0), 0);
		ck_assert_int_eq(res.timed_out, 0);
		ck_assert_msg(res.exited == 1 && res.status == 0,
		    "%s: exited %d status %d signal %d", cmds[i],
		    res.exited, res.status, res.signal);
		runner_result_free(&res);
	}
	ck_assert_int_eq(sigpending(&pending), 0);
	ck_assert_int_eq(sigismember(&pending, SIGPIPE), 0);
	free(in);
}
END_TEST

/* Exactly the given environment: nothing of ours, no request header. */
START_TEST(environment)
{
	struct run_result res;
	char *sep;

	ck_assert_int_eq(setenv("SECRET_TEST", "1", 1), 0);
	ck_assert_int_eq(setenv("HTTP_FOO", "1", 1), 0);
	run(&res, "tr '\\0' '\\n' < /proc/$$/environ; echo --; env");
	ck_assert_int_eq(res.status, 0);
	sep = strstr(res.output, "--\n");
	ck_assert_ptr_nonnull(sep);
	*sep = '\0';
	ck_assert_str_eq(res.output, "PATH=/usr/bin:/bin\nHOME=/tmp\n"
	    "LANG=C\nHOOKGATE_EVENT_ID=evt_123\n");
	ck_assert_ptr_nonnull(strstr(sep + 3, "HOOKGATE_EVENT_ID=evt_123\n"));
	ck_assert_ptr_null(strstr(sep + 3, "SECRET_TEST"));
	ck_assert_ptr_null(strstr(sep + 3, "HTTP_FOO"));
	runner_result_free(&res);
}
END_TEST

START_TEST(workdir)
{
	struct run_result res;
	char *dir, want[512];

	dir = make_tmpdir();
	ck_assert_int_eq(run_in(&res, "pwd", dir, NULL, 0, 5000, 0), 0);
	snprintf(want, sizeof(want), "%s\n", dir);
	ck_assert_str_eq(res.output, want);
	runner_result_free(&res);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A missing working directory is a spawn error, with the reason kept
   in the output for the attempt log. */
START_TEST(workdir_missing)
{
	struct run_result res;

	ck_assert_int_eq(run_in(&res, "echo ran", "/nonexistent/hookgate",
	    NULL, 0, 5000, 0), -1);
	ck_assert_int_eq(res.spawn_error, ENOENT);
	ck_assert_int_eq(res.exited, 1);
	ck_assert_int_eq(res.status, 127);
	ck_assert_ptr_nonnull(strstr(res.output, "/nonexistent/hookgate"));
	ck_assert_ptr_null(strstr(res.output, "ran"));
	ck_assert_uint_eq(res.output_len, strlen(res.output));
	runner_result_free(&res);
}
END_TEST

static const struct {
	const char	*cmd;
	int		 exited;
	int		 status;
	int		 signal;
} statuses[] = {
	{ "exit 0", 1, 0, 0 },
	{ "exit 65", 1, 65, 0 },
	{ "exit 3", 1, 3, 0 },
	{ "kill -9 $$", 0, 0, SIGKILL },
	{ "hookgate-no-such-command", 1, 127, 0 },
};

START_TEST(exit_status)
{
	struct run_result res;

	run(&res, statuses[_i].cmd);
	ck_assert_int_eq(res.exited, statuses[_i].exited);
	ck_assert_int_eq(res.status, statuses[_i].status);
	ck_assert_int_eq(res.signal, statuses[_i].signal);
	ck_assert_int_eq(res.timed_out, 0);
	ck_assert_int_eq(res.spawn_error, 0);
	ck_assert_int_gt(res.start_ms, 0);
	ck_assert_int_ge(res.duration_ms, 0);
	runner_result_free(&res);
}
END_TEST

/* The payload is data on stdin, never shell text. */
START_TEST(payload_not_executed)
{
	static const char in[] = "$(touch X); `touch Y`; touch Z\n";
	struct run_result res;
	char *dir, path[512];
	const char *f;

	dir = make_tmpdir();
	ck_assert_int_eq(run_in(&res, "cat >/dev/null", dir, in,
	    sizeof(in) - 1, 5000, 0), 0);
	ck_assert_int_eq(res.status, 0);
	for (f = "XYZ"; *f != '\0'; f++) {
		snprintf(path, sizeof(path), "%s/%c", dir, *f);
		ck_assert_msg(access(path, F_OK) == -1, "%s exists", path);
	}
	runner_result_free(&res);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(timeout_term)
{
	struct run_result res;

	ck_assert_int_eq(run_in(&res, "sleep 30", "/", NULL, 0, 300, 0), 0);
	ck_assert_int_eq(res.timed_out, 1);
	ck_assert_int_eq(res.exited, 0);
	ck_assert_int_eq(res.signal, SIGTERM);
	ck_assert_int_ge(res.duration_ms, 250);
	ck_assert_int_lt(res.duration_ms, 2000);
	runner_result_free(&res);
}
END_TEST

/* A command that survives SIGTERM gets SIGKILL after the grace period. */
START_TEST(timeout_kill)
{
	struct run_result res;

	ck_assert_int_eq(run_in(&res,
	    "trap 'echo term' TERM; while :; do sleep 1; done", "/",
	    NULL, 0, 300, 300), 0);
	ck_assert_int_eq(res.timed_out, 1);
	ck_assert_int_eq(res.signal, SIGKILL);
	ck_assert_ptr_nonnull(strstr(res.output, "term"));
	ck_assert_int_ge(res.duration_ms, 550);
	ck_assert_int_lt(res.duration_ms, 2000);
	runner_result_free(&res);
}
END_TEST

/* After a timeout nothing of the group survives, not even a background
   process that ignores SIGTERM, and we do not wait out the grace period. */
START_TEST(timeout_kills_group)
{
	struct run_result res;
	char *dir, path[512];
	pid_t bg;
	int i;

	dir = make_tmpdir();
	ck_assert_int_eq(run_in(&res,
	    "(trap '' TERM; exec sleep 100) & echo $! > bg.pid; sleep 30",
	    dir, NULL, 0, 300, 0), 0);
	ck_assert_int_eq(res.timed_out, 1);
	ck_assert_int_lt(res.duration_ms, 2000);
	snprintf(path, sizeof(path), "%s/bg.pid", dir);
	bg = read_pid(path);
	for (i = 0; i < 50 && !process_gone(bg); i++)
		sleep_ms(20);
	ck_assert_msg(process_gone(bg), "background pid %ld survived",
	    (long)bg);
	runner_result_free(&res);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A normal exit returns at once though a background process holds the
   output pipe, and that process is left alone (it may be a daemon). */
START_TEST(background_after_exit)
{
	struct run_result res;
	char *dir, path[512];
	pid_t bg;

	dir = make_tmpdir();
	ck_assert_int_eq(run_in(&res, "sleep 5 & echo $! > bg.pid; echo done",
	    dir, NULL, 0, 10000, 0), 0);
	ck_assert_int_eq(res.exited, 1);
	ck_assert_int_eq(res.status, 0);
	ck_assert_int_eq(res.timed_out, 0);
	ck_assert_int_lt(res.duration_ms, 1000);
	ck_assert_str_eq(res.output, "done\n");
	snprintf(path, sizeof(path), "%s/bg.pid", dir);
	bg = read_pid(path);
	ck_assert(!process_gone(bg));
	ck_assert_int_eq(kill(bg, SIGKILL), 0);
	runner_result_free(&res);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A grandchild that keeps writing after the child exited must not keep us
   reading; once we stop, its next write fails and it ends. */
START_TEST(background_writer)
{
	struct run_result res;
	char *dir, path[512];
	pid_t bg;
	int i;

	dir = make_tmpdir();
	ck_assert_int_eq(run_in(&res, "yes & echo $! > bg.pid; sleep 0.1",
	    dir, NULL, 0, 10000, 0), 0);
	ck_assert_int_eq(res.status, 0);
	ck_assert_int_lt(res.duration_ms, 1000);
	ck_assert_uint_eq(res.output_len, RUNNER_CAPTURE_MAX);
	snprintf(path, sizeof(path), "%s/bg.pid", dir);
	bg = read_pid(path);
	for (i = 0; i < 50 && !process_gone(bg); i++)
		sleep_ms(20);
	if (!process_gone(bg))
		(void)kill(bg, SIGKILL);
	ck_assert_msg(process_gone(bg), "yes survived its closed pipe");
	runner_result_free(&res);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* The child starts with no signal ignored or blocked, whatever ours. */
START_TEST(signals_reset)
{
	struct run_result res;
	sigset_t mask;

	runner_ignore_sigpipe();
	ck_assert_ptr_ne(signal(SIGINT, SIG_IGN), SIG_ERR);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &mask, NULL), 0);
	run(&res, "exec grep -E '^Sig(Blk|Ign)' /proc/self/status");
	ck_assert_str_eq(res.output, "SigBlk:\t0000000000000000\n"
	    "SigIgn:\t0000000000000000\n");
	runner_result_free(&res);
}
END_TEST

START_TEST(output_interleaved)
{
	struct run_result res;

	run(&res, "printf a; printf b >&2; printf c; printf d >&2");
	ck_assert_str_eq(res.output, "abcd");
	ck_assert_uint_eq(res.output_len, 4);
	ck_assert_uint_eq(res.output_total, 4);
	runner_result_free(&res);

	run(&res, "true");
	ck_assert_ptr_nonnull(res.output);
	ck_assert_str_eq(res.output, "");
	ck_assert_uint_eq(res.output_total, 0);
	runner_result_free(&res);
}
END_TEST

START_TEST(output_truncated)
{
	struct run_result res;
	size_t i;

	run(&res, "head -c 100000 /dev/zero | tr '\\0' x; "
	    "head -c 50000 /dev/zero | tr '\\0' y >&2");
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.output_len, RUNNER_CAPTURE_MAX);
	ck_assert_uint_eq(res.output_total, 150000);
	for (i = 0; i < res.output_len; i++)
		ck_assert_int_eq(res.output[i], 'x');
	ck_assert_int_eq(res.output[res.output_len], '\0');
	runner_result_free(&res);
}
END_TEST

/* No fd leaks in us across every kind of outcome, and none into the
   child: an fd opened without O_CLOEXEC stays ours. */
START_TEST(fd_hygiene)
{
	static const char big[256 * 1024];
	struct run_result res;
	int before, fd, i;

	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 42), 42);
	close(fd);

	/* 3 is the directory being listed: one fd above 2, so none
	   inherited. */
	run(&res, "for f in /proc/$$/fd/*; do echo ${f##*/}; done");
	ck_assert_str_eq(res.output, "0\n1\n2\n3\n");
	runner_result_free(&res);

	runner_ignore_sigpipe();
	before = count_fds();
	for (i = 0; i < 10; i++) {
		run(&res, "echo hi");
		runner_result_free(&res);
		ck_assert_int_eq(run_in(&res, "exit 3", "/", big,
		    sizeof(big), 5000, 0), 0);
		runner_result_free(&res);
		ck_assert_int_eq(run_in(&res, "true", "/nonexistent", NULL,
		    0, 5000, 0), -1);
		runner_result_free(&res);
		ck_assert_int_eq(run_in(&res, "sleep 1 & echo x", "/", NULL,
		    0, 5000, 0), 0);
		runner_result_free(&res);
	}
	ck_assert_int_eq(run_in(&res, "sleep 5", "/", NULL, 0, 50, 50), 0);
	ck_assert_int_eq(res.timed_out, 1);
	runner_result_free(&res);
	ck_assert_int_eq(count_fds(), before);
	close(42);
}
END_TEST

struct worker {
	pthread_t		 thread;
	int			 n;
	int			 rv;
	struct run_result	 res;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct run_spec spec;
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "sleep 0.3; echo %d", w->n);
	memset(&spec, 0, sizeof(spec));
	spec.command = cmd;
	spec.workdir = "/";
	spec.env = test_env;
	spec.timeout_ms = 5000;
	w->rv = runner_run(&spec, &w->res);
	return NULL;
}

/* Runs from several threads at once overlap and keep their own output. */
START_TEST(concurrent)
{
	struct worker w[4];
	char want[16];
	int64_t t0;
	int i;

	t0 = mono_ms();
	for (i = 0; i < 4; i++) {
		w[i].n = i;
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL,
		    worker_main, &w[i]), 0);
	}
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
	/* Under make check-valgrind no timing tells overlap from turns. */
	if (getenv("HOOKGATE_VALGRIND") == NULL)
		ck_assert_int_lt(mono_ms() - t0, 1500);
	for (i = 0; i < 4; i++) {
		snprintf(want, sizeof(want), "%d\n", i);
		ck_assert_int_eq(w[i].rv, 0);
		ck_assert_int_eq(w[i].res.status, 0);
		ck_assert_str_eq(w[i].res.output, want);
		runner_result_free(&w[i].res);
	}
}
END_TEST

/* The detached program runs in another session, with 0 and 1 on
   /dev/null, our fd 2, and nothing else of ours. */
START_TEST(detached)
{
	char *dir, script[2048], path[600], *argv[4];
	unsigned char *info, *fds;
	long pid, sid;
	size_t len;
	int fd;

	dir = make_tmpdir();
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 42), 42);
	close(fd);
	snprintf(script, sizeof(script),
	    "cd '%s' || exit 1; "
	    "read -r a b c d e sid rest < /proc/$$/stat; "
	    "for f in /proc/$$/fd/*; do echo ${f##*/} >> fds.tmp; done; "
	    "null=no; [ /proc/$$/fd/0 -ef /dev/null ] && "
	    "[ /proc/$$/fd/1 -ef /dev/null ] && null=yes; "
	    "sleep 0.2; echo $$ $sid $null > info.tmp; "
	    "mv fds.tmp fds; mv info.tmp info", dir);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = script;
	argv[3] = NULL;
	ck_assert_int_eq(runner_spawn_detached(argv, NULL), 0);

	snprintf(path, sizeof(path), "%s/info", dir);
	ck_assert(wait_for_file(path, 5000));
	info = slurp(path, &len);
	ck_assert_int_eq(sscanf((char *)info, "%ld %ld", &pid, &sid), 2);
	ck_assert_int_ne(pid, (long)getpid());
	ck_assert_int_ne(sid, (long)getsid(0));
	ck_assert_int_ne(sid, pid);	/* not a session leader: no tty */
	ck_assert_ptr_nonnull(strstr((char *)info, " yes"));
	snprintf(path, sizeof(path), "%s/fds", dir);
	fds = slurp(path, &len);
	ck_assert_str_eq((char *)fds, "0\n1\n2\n3\n");	/* 3: the listing */
	free(info);
	free(fds);
	close(42);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(detached_errors)
{
	char *missing[] = { "/nonexistent/hookgate-drain", NULL };
	char *relative[] = { "sh", NULL };

	errno = 0;
	ck_assert_int_eq(runner_spawn_detached(missing, NULL), -1);
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_int_eq(runner_spawn_detached(relative, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/*
 * Makes the listed system calls fail with err in this (forked) test
 * process and its children. The filter checks syscall numbers only: this
 * process runs the native ABI. Returns -1 where seccomp is unavailable.
 */
static int
deny_syscalls(const long *nr, size_t n, int err)
{
	struct sock_filter f[16];
	struct sock_fprog prog;
	size_t i, k = 0;

	ck_assert_uint_le(n + 3, sizeof(f) / sizeof(f[0]));
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	for (i = 0; i < n; i++)
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, (uint32_t)nr[i], (uint8_t)(n - i), 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA));
	prog.len = (unsigned short)k;
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
		fprintf(stderr, "seccomp unavailable: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int syscalls_denied;	/* old_kernel()'s filter is in place */

/*
 * Fixture for the "fallback" case: pidfd_open, close_range and
 * memfd_create fail with ENOSYS, as on kernels before 5.3, 5.9 and 3.17
 * (or under a seccomp policy), so the runner must notice exits by polling
 * waitid(), close fds in a loop (kept cheap by a small RLIMIT_NOFILE) and
 * put the payload in an unlinked temporary file.
 */
static void
old_kernel(void)
{
	static const long nr[] = {
#ifdef SYS_pidfd_open
		SYS_pidfd_open,
#endif
#ifdef SYS_close_range
		SYS_close_range,
#endif
#ifdef SYS_memfd_create
		SYS_memfd_create,
#endif
	};
	struct rlimit rl;

	/*
	 * The soft limit is what the runner's loop goes by; the hard one
	 * stays, as valgrind refuses to let its client change it.
	 */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1024)
		rl.rlim_cur = 1024;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	if (deny_syscalls(nr, sizeof(nr) / sizeof(nr[0]), ENOSYS) == -1)
		fprintf(stderr, "fallback paths not exercised\n");
	else
		syscalls_denied = 1;
}

/*
 * Denies memfd_create (ENOSYS) and openat() with O_TMPFILE (EOPNOTSUPP, as
 * on a filesystem without it), so that the payload takes the last path,
 * mkostemp() and unlink(). Returns -1 where seccomp is unavailable.
 */
static int
deny_tmpfile(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* the flags' low 32 bits */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[2]) +
		    (__BYTE_ORDER == __BIG_ENDIAN ? 4 : 0)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
		    (uint32_t)(O_TMPFILE & ~O_DIRECTORY), 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EOPNOTSUPP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
		fprintf(stderr, "seccomp unavailable: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Entries of dir other than . and .. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/*
 * With neither memfd_create nor O_TMPFILE the payload goes to a named
 * temporary file in $TMPDIR, unlinked before the command starts: the
 * command still reads every byte, and nothing is left in the folder.
 */
START_TEST(payload_mkostemp)
{
	struct run_result res;
	unsigned char *body = make_payload(40000);
	char *dir = make_tmpdir(), cmd[512];

	ck_assert_int_eq(setenv("TMPDIR", dir, 1), 0);
	/* ls prints the file if it is still there when the command runs */
	snprintf(cmd, sizeof(cmd), "cat; ls -A '%s' >&2", dir);
	if (deny_tmpfile() == -1) {
		free(body);
		rm_rf(dir);
		free(dir);
		return;
	}
	ck_assert_int_eq(run_in(&res, cmd, "/", body, 40000, 10000, 0), 0);
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.output_len, 40000);
	ck_assert_int_eq(memcmp(res.output, body, 40000), 0);
	ck_assert_int_eq(count_entries(dir), 0);
	runner_result_free(&res);
	free(body);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * Without memfd_create (the fallback fixture) the payload goes to an
 * unlinked file in $TMPDIR; where none can be made, the command does not
 * start and the reason is a spawn error.
 */
START_TEST(payload_no_tmpdir)
{
	struct run_result res;

	ck_assert_int_eq(setenv("TMPDIR", "/nonexistent/hookgate", 1), 0);
	if (!syscalls_denied) {
		/* memfd_create still works: TMPDIR is not needed. */
		ck_assert_int_eq(run_in(&res, "cat", "/", "x", 1, 5000, 0), 0);
		ck_assert_str_eq(res.output, "x");
		runner_result_free(&res);
		return;
	}
	ck_assert_int_eq(run_in(&res, "echo ran", "/", "x", 1, 5000, 0), -1);
	ck_assert_int_eq(res.spawn_error, ENOENT);
	ck_assert_int_eq(res.exited, 0);
	ck_assert_ptr_nonnull(strstr(res.output, "payload"));
	runner_result_free(&res);
}
END_TEST

/*
 * LeakSanitizer's hook, asked at exit: its leak check clones a tracer,
 * which fork_fails forbids. Has no effect without sanitizers.
 */
int	__lsan_is_turned_off(void);
static volatile int no_leak_check;

int
__lsan_is_turned_off(void)
{
	return no_leak_check;
}

/* When fork() fails: -1 with the reason, our signal mask and fds as they
   were, for both entry points. */
START_TEST(fork_fails)
{
	static const long nr[] = {
		SYS_clone,
#ifdef SYS_clone3
		SYS_clone3,
#endif
#ifdef SYS_fork
		SYS_fork,
#endif
#ifdef SYS_vfork
		SYS_vfork,
#endif
	};
	char *argv[] = { "/bin/true", NULL };
	struct run_result res;
	sigset_t before, after;
	int fds;

	no_leak_check = 1;
	if (deny_syscalls(nr, sizeof(nr) / sizeof(nr[0]), EAGAIN) == -1)
		return;
	fds = count_fds();
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &before), 0);
	ck_assert_int_eq(run_in(&res, "echo ran", "/", "x", 1, 1000, 0), -1);
	ck_assert_int_eq(res.spawn_error, EAGAIN);
	ck_assert_int_eq(res.exited, 0);
	ck_assert_ptr_nonnull(strstr(res.output, "cannot start"));
	runner_result_free(&res);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, NULL, &after), 0);
	ck_assert_int_eq(sigismember(&after, SIGPIPE),
	    sigismember(&before, SIGPIPE));
	ck_assert_int_eq(sigismember(&after, SIGTERM),
	    sigismember(&before, SIGTERM));
	errno = 0;
	ck_assert_int_eq(runner_spawn_detached(argv, NULL), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("runner");
	TCase *io = tcase_create("io");
	TCase *proc = tcase_create("process");
	TCase *fallback = tcase_create("fallback");

	tcase_set_timeout(io, 60);
	tcase_add_loop_test(io, stdin_exact, 0,
	    sizeof(payloads) / sizeof(payloads[0]));
	tcase_add_test(io, stdin_is_file);
	tcase_add_test(io, stdin_is_memfd);
	tcase_add_test(io, stdin_survives_parent);
	tcase_add_test(io, payload_too_big_for_limit);
	tcase_add_test(io, echo_back_1mib);
	tcase_add_test(io, output_before_input);
	tcase_add_loop_test(io, input_never_read, 0, 2);
	tcase_add_test(io, environment);
	tcase_add_test(io, workdir);
	tcase_add_test(io, workdir_missing);
	tcase_add_test(io, payload_not_executed);
	tcase_add_test(io, output_interleaved);
	tcase_add_test(io, output_truncated);
	suite_add_tcase(s, io);

	tcase_set_timeout(proc, 60);
	tcase_add_loop_test(proc, exit_status, 0,
	    sizeof(statuses) / sizeof(statuses[0]));
	tcase_add_test(proc, timeout_term);
	tcase_add_test(proc, timeout_kill);
	tcase_add_test(proc, timeout_kills_group);
	tcase_add_test(proc, background_after_exit);
	tcase_add_test(proc, background_writer);
	tcase_add_test(proc, signals_reset);
	tcase_add_test(proc, fd_hygiene);
	tcase_add_test(proc, concurrent);
	tcase_add_test(proc, detached);
	tcase_add_test(proc, detached_errors);
	tcase_add_test(proc, fork_fails);
	suite_add_tcase(s, proc);

	tcase_set_timeout(fallback, 60);
	tcase_add_checked_fixture(fallback, old_kernel, NULL);
	tcase_add_loop_test(fallback, stdin_exact, 0,
	    sizeof(payloads) / sizeof(payloads[0]));
	tcase_add_test(fallback, stdin_is_file);
	tcase_add_test(fallback, stdin_survives_parent);
	tcase_add_test(fallback, payload_no_tmpdir);
	tcase_add_test(proc, payload_mkostemp);
	tcase_add_loop_test(fallback, exit_status, 0,
	    sizeof(statuses) / sizeof(statuses[0]));
	tcase_add_test(fallback, output_before_input);
	tcase_add_test(fallback, timeout_term);
	tcase_add_test(fallback, timeout_kill);
	tcase_add_test(fallback, timeout_kills_group);
	tcase_add_test(fallback, background_after_exit);
	tcase_add_test(fallback, fd_hygiene);
	tcase_add_test(fallback, concurrent);
	tcase_add_test(fallback, detached);
	suite_add_tcase(s, fallback);
	return run_suite(s);
}
