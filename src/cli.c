/*
 * cli.c -- the administration commands. Startup and usage errors print a
 * message and return 1 (or 2 for bad usage); nothing here runs per request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "cli.h"
#include "config.h"
#include "signature.h"
#include "util.h"

#define SIGN_MAX_BODY	(64u * 1024 * 1024)

static int	cli_store_command(int, char **, const char *, const char *);

void
cli_usage(int to_stdout)
{
	fprintf(to_stdout ? stdout : stderr,
	    "usage: hookgate [-c FILE] [COMMAND [ARGS]]\n"
	    "\n"
	    "Without a command, under a web server: the FastCGI or CGI "
	    "responder.\n"
	    "\n"
	    "commands:\n"
	    "  check [--server-config FILE]...\n"
	    "                        validate the config and the deployment\n"
	    "  status [--json]       counts by state, oldest pending, last failure\n"
	    "  list [--state S] [--type T] [--limit N] [--json]\n"
	    "                        recent events, newest first\n"
	    "  show ID [--payload | --output] [--json]\n"
	    "                        one event and its attempts, or its raw body,\n"
	    "                        or the output of its last attempt\n"
	    "  replay ID... | --failed\n"
	    "                        queue events again\n"
	    "  drain [--max-time S]  run what is due, then exit\n"
	    "  purge [--older-than D]\n"
	    "                        forget finished events older than D\n"
	    "                        (default: retention)\n"
	    "  sign [--secret S] [--scheme X] [--id ID] [--timestamp T] < body\n"
	    "                        print the headers a sender would send\n"
	    "  serve --listen PATH|HOST:PORT [--workers N] [--mode MODE]\n"
	    "        [--allow-remote]\n"
	    "                        an external FastCGI server\n"
	    "  version               print the version\n"
	    "\n"
	    "The config is -c FILE, else $HOOKGATE_CONFIG, else hookgate.conf "
	    "beside the\nexecutable, else " SYSCONFDIR "/hookgate.conf.\n");
}

struct config *
cli_config(const char *opt, const char *argv0, char **pathp)
{
	struct config *cfg;
	char err[1024], *path;

	if ((path = config_find(opt, argv0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "hookgate: %s\n", err);
		return NULL;
	}
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fprintf(stderr, "%s\n", err);
	if (cfg != NULL && pathp != NULL)
		*pathp = path;
	else
		free(path);
	return cfg;
}

/* Reads all of stdin into a malloc'd buffer; NULL when larger than max. */
static unsigned char *
read_stdin(size_t max, size_t *len)
{
	size_t cap = 65536, n = 0;
	unsigned char *buf = xmalloc(cap + 1);
	ssize_t r;

	while ((r = read(STDIN_FILENO, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			if (cap >= max) {
				free(buf);
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The event's own id when the body has one, else a random msg_ id. */
static char *
sign_default_id(const unsigned char *body, size_t len)
{
	struct json_object *root, *id;
	unsigned char rnd[12];
	char *s = NULL;
	int i;

	root = json_tokener_parse((const char *)body);
	if (root != NULL && json_object_object_get_ex(root, "id", &id) &&
	    json_object_is_type(id, json_type_string))
		s = xstrdup(json_object_get_string(id));
	json_object_put(root);
	(void)len;
	if (s != NULL)
		return s;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatal_oom();
	s = xmalloc(4 + 2 * sizeof(rnd) + 1);
	memcpy(s, "msg_", 4);
	for (i = 0; i < (int)sizeof(rnd); i++)
		snprintf(s + 4 + 2 * i, 3, "%02x", rnd[i]);
	return s;
}

static int
parse_scheme(const char *s, enum scheme *out)
{
	static const struct {
		const char	*name;
		enum scheme	 scheme;
	} t[] = {
		{ "none", SCHEME_NONE }, { "standard", SCHEME_STANDARD },
		{ "github", SCHEME_GITHUB }, { "stripe", SCHEME_STRIPE },
		{ "slack", SCHEME_SLACK }, { "hmac", SCHEME_HMAC },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0) {
			*out = t[i].scheme;
			return 0;
		}
	return -1;
}

static int
cmd_sign(int argc, char **argv, const char *opt, const char *argv0)
{
	struct config *cfg = NULL;
	struct sigconfig sc;
	const char *secret = NULL, *scheme = NULL, *id = NULL;
	long long ts = (long long)time(NULL);
	char *secrets[1], *defid = NULL, out[4096];
	unsigned char *body;
	size_t len;
	int i, rc = 1;

	for (i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--secret") == 0)
			secret = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--scheme") == 0)
			scheme = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--id") == 0)
			id = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--timestamp") == 0)
			ts = strtoll(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: hookgate sign [--secret S] "
			    "[--scheme X] [--id ID] [--timestamp T] < body\n");
			return 2;
		}
	}
	/* Flags alone suffice for the fixed schemes; else read the config. */
	if (secret == NULL || scheme == NULL) {
		if ((cfg = cli_config(opt, argv0, NULL)) == NULL)
			return 1;
		sc = cfg->sig;
	} else {
		memset(&sc, 0, sizeof(sc));
		sc.tolerance = 300;
	}
	if (scheme != NULL && parse_scheme(scheme, &sc.scheme) == -1) {
		fprintf(stderr, "hookgate: unknown scheme %s\n", scheme);
		goto done;
	}
	if (secret != NULL) {
		secrets[0] = (char *)secret;
		sc.secrets = secrets;
		sc.nsecrets = 1;
	}
	if (sc.scheme == SCHEME_HMAC && sc.header == NULL) {
		fprintf(stderr, "hookgate: scheme hmac needs a config with "
		    "header =\n");
		goto done;
	}
	if ((body = read_stdin(SIGN_MAX_BODY, &len)) == NULL) {
		fprintf(stderr, "hookgate: body larger than 64M\n");
		goto done;
	}
	if (id == NULL)
		id = defid = sign_default_id(body, len);
	if (signature_sign(&sc, id, (time_t)ts, body, len, out,
	    sizeof(out)) == -1)
		fprintf(stderr, "hookgate: cannot sign (no secret?)\n");
	else {
		fputs(out, stdout);
		rc = 0;
	}
	free(body);
	free(defid);
done:
	config_free(cfg);
	return rc;
}

int
cli_main(int argc, char **argv, const char *opt, const char *argv0)
{
	if (strcmp(argv[0], "version") == 0) {
		printf("hookgate %s\n", PACKAGE_VERSION);
		return 0;
	}
	/* `hookgate COMMAND --help`: the usage, which covers every command. */
	if (strcmp(argv[0], "help") == 0 || (argc > 1 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
		cli_usage(1);
		return 0;
	}
	if (strcmp(argv[0], "check") == 0)
		return cmd_check(argc, argv, opt, argv0);
	if (strcmp(argv[0], "sign") == 0)
		return cmd_sign(argc, argv, opt, argv0);
	return cli_store_command(argc, argv, opt, argv0);
}

/* The commands that need a loaded config and usually the store. */
static int
cli_store_command(int argc, char **argv, const char *opt, const char *argv0)
{
	static const char *const known[] = { "status", "list", "show",
	    "replay", "purge", "drain", NULL };
	struct config *cfg;
	char *path = NULL;
	int i, rc;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(argv[0], known[i]) == 0)
			break;
	if (known[i] == NULL) {
		fprintf(stderr, "hookgate: unknown command %s\n", argv[0]);
		cli_usage(0);
		return 2;
	}
	if ((cfg = cli_config(opt, argv0, &path)) == NULL)
		return 1;
	if (strcmp(argv[0], "status") == 0)
		rc = cmd_status(argc, argv, cfg);
	else if (strcmp(argv[0], "list") == 0)
		rc = cmd_list(argc, argv, cfg);
	else if (strcmp(argv[0], "show") == 0)
		rc = cmd_show(argc, argv, cfg);
	else if (strcmp(argv[0], "replay") == 0)
		rc = cmd_replay(argc, argv, cfg, path);
	else if (strcmp(argv[0], "purge") == 0)
		rc = cmd_purge(argc, argv, cfg);
	else
		rc = cmd_drain(argc, argv, path);
	config_free(cfg);
	free(path);
	return rc;
}
