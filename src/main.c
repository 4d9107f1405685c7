/*
 * main.c -- mode detection and CGI. With a command on the command line
 * hookgate is the admin tool (cli.c) or its own FastCGI server (`serve`,
 * serve.c); without one, under a web server, it is a FastCGI responder (fd
 * 0 is a listening socket: serve.c's accept loop) or a CGI program. With
 * serve.c, the only file that includes fcgiapp.h.
 */
#include <errno.h>
#include <stdint.h>
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
#include "responder.h"
#include "serve.h"
#include "util.h"

extern char **environ;

/* What the CGI body reader has taken from standard input. */
struct cgi_input {
	uint64_t	 got;		/* bytes */
	int		 eof;
};

static ssize_t
cgi_read(void *ctx, void *buf, size_t len)
{
	struct cgi_input *in = ctx;
	ssize_t n;

	do
		n = read(STDIN_FILENO, buf, len);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		in->got += (uint64_t)n;
	else if (n == 0)
		in->eof = 1;
	return n;
}

/*
 * Reads and drops the rest of a POST body that the answer did not need
 * (a 413 is decided before the body is read). The web server writes the
 * whole body before it reads our answer (mod_cgid does); if we exited
 * first, it would get EPIPE and reset the connection, and the sender would
 * never see the 413. The end is CONTENT_LENGTH, or without one the end of
 * input, which is how the body reader finds it too; the request watchdog
 * bounds the time.
 */
static void
cgi_discard_body(const struct request *req, struct cgi_input *in)
{
	const char *method = request_param(req, "REQUEST_METHOD");
	const char *cl = request_param(req, "CONTENT_LENGTH");
	uint64_t want = UINT64_MAX;
	char buf[16384];
	size_t chunk;

	if (in->eof || method == NULL || strcmp(method, "POST") != 0)
		return;
	if (cl != NULL && *cl != '\0' &&
	    parse_u64(cl, strlen(cl), &want) == -1)
		return;		/* no length to trust */
	while (in->got < want && !in->eof) {
		chunk = want - in->got < sizeof(buf) ?
		    (size_t)(want - in->got) : sizeof(buf);
		if (cgi_read(in, buf, chunk) == -1)
			return;
	}
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
cgi_request(const char *config_path)
{
	struct cgi_input in = { 0, 0 };
	struct body_reader rd = { cgi_read, &in };
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
	handler_checkpoint(&h);
	cgi_discard_body(req, &in);
	request_free(req);
	handler_cleanup(&h);
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
	rc = FCGX_IsCGI() ? cgi_request(path) : responder_run(0, path);
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
	if (i < argc && strcmp(argv[i], "serve") == 0 && (i + 1 == argc ||
	    (strcmp(argv[i + 1], "--help") != 0 && strcmp(argv[i + 1], "-h") != 0)))
		return serve_command(argc - i, argv + i, config_opt, argv[0]);
	if (i < argc)
		return cli_main(argc - i, argv + i, config_opt, argv[0]);
	return responder(config_opt, argv[0]);
}
