/*
 * spawnloop.c -- the bare cost of running a command per event: what the
 * drainer's command rate is compared with.
 *
 *   spawnloop [-f] COUNT PARALLEL PAYLOAD [COMMAND]
 *
 * Runs `/bin/sh -c COMMAND` (default `cat >/dev/null`) COUNT times, at most
 * PARALLEL at once, each with the file PAYLOAD on its standard input
 * through a pipe, and waits for each. Prints one line:
 *
 *   SPAWN count=N parallel=P seconds=S per_second=R failures=F mode=M
 *
 * Nothing else: no store, no output capture, no timeout. posix_spawn()
 * (vfork-style on glibc) is the cheapest way to start a process; -f uses
 * fork() + execve() instead, which copies the page tables, to tell how
 * much of a difference that makes on the machine at hand.
 *
 *   cc -O2 -Wall -Wextra -Werror spawnloop.c -o spawnloop
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *payload;
static size_t payload_len;
static int use_fork;

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* Reads PAYLOAD into memory once: a drainer has the body at hand too. */
static void
load(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	size_t off = 0;

	if (fd == -1 || fstat(fd, &st) == -1)
		die(path);
	payload_len = (size_t)st.st_size;
	if ((payload = malloc(payload_len + 1)) == NULL)
		die("malloc");
	while (off < payload_len) {
		ssize_t n = read(fd, payload + off, payload_len - off);
		if (n <= 0)
			die(path);
		off += (size_t)n;
	}
	close(fd);
}

/* Starts one command with the payload on its stdin; returns its pid. */
static pid_t
start(const char *cmd)
{
	static char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin", NULL };
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	size_t off = 0;
	pid_t pid;
	int p[2], err;

	if (pipe2(p, O_CLOEXEC) == -1)
		die("pipe");
	if (use_fork) {
		if ((pid = fork()) == -1)
			die("fork");
		if (pid == 0) {
			if (dup2(p[0], 0) == -1)
				_exit(127);
			execve("/bin/sh", argv, envp);
			_exit(127);
		}
	} else {
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, p[0], 0);
		err = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp);
		posix_spawn_file_actions_destroy(&fa);
		if (err != 0) {
			errno = err;
			die("posix_spawn");
		}
	}
	close(p[0]);
	while (off < payload_len) {
		ssize_t n = write(p[1], payload + off, payload_len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;		/* the command left early: its business */
		}
		off += (size_t)n;
	}
	close(p[1]);
	return pid;
}

/* Waits for one child; returns 1 when it failed. */
static int
reap(void)
{
	int st;

	while (waitpid(-1, &st, 0) == -1)
		if (errno != EINTR)
			die("waitpid");
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	long count, parallel, started = 0, running = 0, failures = 0;
	double s;

	if (argc > 1 && strcmp(argv[1], "-f") == 0) {
		use_fork = 1;
		argv++;
		argc--;
	}
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: spawnloop [-f] COUNT PARALLEL PAYLOAD [COMMAND]\n");
		return 2;
	}
	count = strtol(argv[1], NULL, 10);
	parallel = strtol(argv[2], NULL, 10);
	if (count < 1 || parallel < 1) {
		fprintf(stderr, "spawnloop: COUNT and PARALLEL must be >= 1\n");
		return 2;
	}
	load(argv[3]);
	signal(SIGPIPE, SIG_IGN);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (started < count || running > 0) {
		if (started < count && running < parallel) {
			start(argc == 5 ? argv[4] : "cat >/dev/null");
			started++;
			running++;
			continue;
		}
		failures += reap();
		running--;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("SPAWN count=%ld parallel=%ld seconds=%.3f per_second=%.1f failures=%ld mode=%s\n",
	    count, parallel, s, (double)count / s, failures,
	    use_fork ? "fork" : "posix_spawn");
	return failures != 0;
}
