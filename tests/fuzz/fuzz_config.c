/*
 * fuzz_config.c -- config_load() (config.c and libinih behind it) over the
 * input written to a file, with the checks a loaded config must pass.
 *
 * config.c has no entry point for a string, so each input becomes
 * hookgate.conf in a private temporary folder (under $TMPDIR) made once
 * per process. Relative paths in the file resolve into that folder, which
 * holds secret files of every kind config_load() distinguishes (good, open
 * to others, empty, too big, with a control character, a folder). Inputs
 * that name secret_file with a '/' anywhere on its line are skipped: they
 * could reach any file on the machine, and a FIFO would block the run.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "signature.h"
#include "util.h"

#define CONF_NAME	"hookgate.conf"
/* max_body's upper bound, as README.md "Configuration" gives it. */
#define MAX_BODY_LIMIT	(1024LL * 1024 * 1024)

/* The secret files of the folder, by the name a config would use. */
static const struct {
	const char	*name;
	const char	*content;	/* NULL: a folder */
	mode_t		 mode;
	size_t		 repeat;	/* content written this many times */
} fixtures[] = {
	{ "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 0600, 1 },
	{ "secret-gh", "It's a Secret to Everybody", 0600, 1 },
	{ "secret-blank", " \t\n\n", 0600, 1 },
	{ "secret-open", "open-to-all\n", 0644, 1 },
	{ "secret-empty", "", 0600, 1 },
	{ "secret-big", "0123456789abcdef", 0600, 300 },
	{ "secret-ctrl", "a\001b\n", 0600, 1 },
	{ "secret-dir", NULL, 0700, 0 },
};

#define NFIXTURES	(sizeof(fixtures) / sizeof(fixtures[0]))

static char dir[PATH_MAX];
static char conf[PATH_MAX];

/* Writes the path of name in the folder into buf, of size len. */
static void
path_in(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	FUZZ_ASSERT(n > 0 && (size_t)n < len);
}

/* Removes what fixtures_make() made; runs at exit. */
static void
fixtures_remove(void)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < NFIXTURES; i++) {
		path_in(path, sizeof(path), fixtures[i].name);
		if (fixtures[i].content == NULL)
			rmdir(path);
		else
			unlink(path);
	}
	unlink(conf);
	rmdir(dir);
}

/* Writes len bytes or aborts: a target without its files tests nothing. */
static void
write_all(int fd, const void *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		FUZZ_ASSERT(n > 0);
		p = (const char *)p + n;
		len -= (size_t)n;
	}
}

static void
fixtures_make(void)
{
	char path[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	size_t i, j;
	int fd;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(path, sizeof(path), "%s/hookgate-fuzz-config.XXXXXX", tmp);
	FUZZ_ASSERT(mkdtemp(path) != NULL);
	/* Resolved, as config_load() reports the folder. */
	FUZZ_ASSERT(realpath(path, dir) != NULL);
	path_in(conf, sizeof(conf), CONF_NAME);
	for (i = 0; i < NFIXTURES; i++) {
		path_in(path, sizeof(path), fixtures[i].name);
		if (fixtures[i].content == NULL) {
			FUZZ_ASSERT(mkdir(path, fixtures[i].mode) == 0);
			continue;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		FUZZ_ASSERT(fd != -1);
		for (j = 0; j < fixtures[i].repeat; j++)
			write_all(fd, fixtures[i].content,
			    strlen(fixtures[i].content));
		/* fchmod: the umask must not decide the mode under test. */
		FUZZ_ASSERT(fchmod(fd, fixtures[i].mode) == 0);
		close(fd);
	}
	atexit(fixtures_remove);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fixtures_make();
	return 0;
}

/* Whether some line names secret_file and holds a '/' (see the top). */
static int
escapes(const uint8_t *p, size_t len)
{
	const uint8_t *nl;
	size_t l;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		l = nl != NULL ? (size_t)(nl - p) + 1 : len;
		if (memmem(p, l, "secret_file", 11) != NULL &&
		    memchr(p, '/', l) != NULL)
			return 1;
		p += l;
		len -= l;
	}
	return 0;
}

/* Whether s begins with prefix. */
static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Checks what a config that loaded must satisfy. */
static void
check_config(const struct config *cfg)
{
	const struct route *r;
	size_t i, j;

	FUZZ_ASSERT(strcmp(cfg->path, conf) == 0);
	FUZZ_ASSERT(strcmp(cfg->dir, dir) == 0);
	FUZZ_ASSERT(cfg->state_dir != NULL && cfg->state_dir[0] == '/');
	FUZZ_ASSERT(cfg->log != NULL && *cfg->log != '\0');
	FUZZ_ASSERT(cfg->max_body >= 1 &&
	    cfg->max_body <= (size_t)MAX_BODY_LIMIT);
	FUZZ_ASSERT(cfg->accepted_status == 202 ||
	    cfg->accepted_status == 200);
	FUZZ_ASSERT(cfg->workers >= 1 && cfg->max_queue >= 1);
	FUZZ_ASSERT(cfg->retention >= 1 && cfg->sig.tolerance >= 1);
	FUZZ_ASSERT(cfg->sig.scheme >= SCHEME_NONE &&
	    cfg->sig.scheme <= SCHEME_HMAC);
	if (cfg->sig.scheme != SCHEME_NONE) {
		FUZZ_ASSERT(cfg->sig.nsecrets > 0);
		for (i = 0; i < cfg->sig.nsecrets; i++)
			FUZZ_ASSERT(signature_check_secret(cfg->sig.scheme,
			    cfg->sig.secrets[i]) == NULL);
	}
	if (cfg->sig.scheme == SCHEME_HMAC)
		FUZZ_ASSERT(cfg->sig.header != NULL);
	FUZZ_ASSERT(cfg->lines.state_dir >= 1 && cfg->lines.max_body >= 1);
	for (i = 0; i < cfg->nroutes; i++) {
		r = &cfg->routes[i];
		FUZZ_ASSERT(r->pattern != NULL && *r->pattern != '\0');
		FUZZ_ASSERT(r->run != NULL && *r->run != '\0');
		FUZZ_ASSERT(r->workdir != NULL && r->workdir[0] == '/');
		FUZZ_ASSERT(r->timeout >= 1 && r->backoff >= 1);
		FUZZ_ASSERT(r->retries >= 0 && r->concurrency >= 0);
		FUZZ_ASSERT(r->line >= 1 && r->run_line >= r->line);
		for (j = 0; j < r->nrequire; j++)
			FUZZ_ASSERT(r->require[j].path != NULL &&
			    *r->require[j].path != '\0');
		for (j = 0; j < r->nenv; j++)
			FUZZ_ASSERT(r->env[j] != NULL && *r->env[j] != '\0');
		/* Every pattern routes to its own section. */
		if (strcmp(r->pattern, "*") != 0 &&
		    r->pattern[strlen(r->pattern) - 1] != '*')
			FUZZ_ASSERT(config_route(cfg, r->pattern) == r);
		/* Sections are unique. */
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(cfg->routes[j].pattern,
			    r->pattern) != 0);
	}
	(void)config_route(cfg, "user.created");
	(void)config_route(cfg, "project.a.b");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	char err[1024];
	int fd;

	if (escapes(data, size))
		return 0;
	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_ASSERT(fd != -1);
	write_all(fd, data, size);
	close(fd);

	if ((cfg = config_load(conf, err, sizeof(err))) == NULL) {
		/* "file:line: message", naming the file as it was given. */
		FUZZ_ASSERT(starts(err, conf) && err[strlen(conf)] == ':');
		FUZZ_ASSERT(strlen(err) > strlen(conf) + 3);
		return 0;
	}
	FUZZ_ASSERT(err[0] == '\0');
	check_config(cfg);
	config_free(cfg);
	return 0;
}
