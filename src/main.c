/*
 * main.c -- mode detection and the accept loop. With a command on the
 * command line hookgate is the admin tool (cli.c); without one, under a
 * web server, it is a FastCGI responder (fd 0 is a listening socket) or a
 * CGI program. This is the only file that includes fcgiapp.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "cli.h"
#include "config.h"
#include "handler.h"
#include "log.h"
#include "request.h"
#include "util.h"

extern char **environ;

/*
 * A request that takes longer than this is stuck (typically waiting on a
 * lock that a killed process held): SIGALRM, left at its default, ends the
 * process and the web server starts another, whose store open recovers.
 * Senders give up long before (Slack 3 s, GitHub 10 s).
 */
#define REQUEST_WATCHDOG_S	30

static volatile sig_atomic_t stopping;

/* SIGTERM: finish the request in hand, then leave the accept loop. */
static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

static void
install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked accept() must return with EINTR. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

static ssize_t
fcgi_read(void *ctx, void *buf, size_t len)
{
	FCGX_Stream *in = ctx;
	int n;

	if (len > 1 << 30)
		len = 1 << 30;
	n = FCGX_GetStr(buf, (int)len, in);
	if (n == 0 && FCGX_GetError(in) != 0)
		return -1;
	return n;
}

static ssize_t
cgi_read(void *ctx, void *buf, size_t len)
{
	ssize_t n;

	(void)ctx;
	do
		n = read(STDIN_FILENO, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

static void
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* the client went away; commit stands */
		p += n;
		len -= (size_t)n;
	}
}

/* One request as plain CGI: environment in, stdin body, stdout answer. */
static int
serve_cgi(const char *config_path)
{
	struct body_reader rd = { cgi_read, NULL };
	struct handler h;
	struct request *req = request_new();
	char **e, *out;
	size_t len;

	alarm(REQUEST_WATCHDOG_S);
	handler_init(&h, config_path);
	for (e = environ; *e != NULL; e++)
		request_add_env(req, *e);
	out = handler_serve(&h, req, &rd, &len);
	write_all(STDOUT_FILENO, out, len);
	free(out);
	handler_idle(&h);
	request_free(req);
	handler_cleanup(&h);
	return 0;
}

/* The FastCGI accept loop, until the web server asks us to stop. */
static int
serve_fcgi(const char *config_path)
{
	struct body_reader rd = { fcgi_read, NULL };
	struct request *req = request_new();
	struct handler h;
	FCGX_Request r;
	char **e, *out;
	size_t len;

	install_signals();
	if (FCGX_Init() != 0)
		return 1;
	FCGX_InitRequest(&r, 0, FCGI_FAIL_ACCEPT_ON_INTR);
	handler_init(&h, config_path);
	while (!stopping && FCGX_Accept_r(&r) >= 0) {
		request_reset(req);
		for (e = r.envp; *e != NULL; e++)
			request_add_env(req, *e);
		rd.ctx = r.in;
		alarm(REQUEST_WATCHDOG_S);
		out = handler_serve(&h, req, &rd, &len);
		FCGX_PutStr(out, (int)len, r.out);
		free(out);
		FCGX_Finish_r(&r);
		handler_idle(&h);
		alarm(0);
	}
	handler_cleanup(&h);
	request_free(req);
	return 0;
}

/* The responder: finds the config, then serves as FastCGI or CGI. */
static int
responder(const char *config_opt, const char *argv0)
{
	char err[1024], *path;
	int rc;

	if (FCGX_IsCGI() && getenv("GATEWAY_INTERFACE") == NULL) {
		cli_usage(0);
		return 2;
	}
	if ((path = config_find(config_opt, argv0, err, sizeof(err))) ==
	    NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"no config file\" error=\"%s\"",
		    err);
		path = xstrdup(config_opt != NULL ? config_opt : "hookgate.conf");
	}
	rc = FCGX_IsCGI() ? serve_cgi(path) : serve_fcgi(path);
	free(path);
	log_close();
	return rc;
}

int
main(int argc, char **argv)
{
	const char *config_opt = NULL;
	int i = 1;

	umask(077);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			config_opt = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2]) {
			config_opt = argv[i] + 2;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			cli_usage(1);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			return cli_main(1, (char *[]){ "version", NULL }, NULL,
			    argv[0]);
		} else {
			cli_usage(0);
			return 2;
		}
	}
	if (i < argc)
		return cli_main(argc - i, argv + i, config_opt, argv[0]);
	return responder(config_opt, argv[0]);
}
