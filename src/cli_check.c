/*
 * cli_check.c -- `hookgate check`, the doctor: the config file, and what
 * the config points at on this machine (commands, their interpreters, the
 * state folder, the web server's body limit), as the user it runs as.
 * Every problem is printed as "file:line: message"; any problem exits 1.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "store.h"
#include "util.h"

/* Where the server snippets usually live once installed. */
static const char *const server_globs[] = {
	"/etc/lighttpd/conf-enabled/*.conf",
	"/etc/lighttpd/lighttpd.conf",
	"/etc/apache2/sites-enabled/*",
	"/etc/apache2/conf-enabled/*",
	NULL
};

/* Commands the shell runs itself: nothing to find on disk. */
static const char *const builtins[] = { ":", ".", "[", "cd", "echo", "eval",
    "exec", "exit", "export", "false", "printf", "read", "set", "test",
    "true", "umask", "wait", NULL };

struct doctor {
	const char	*path;		/* the config file, for messages */
	int		 problems;
};

static void HG_PRINTF(3, 4)
problem(struct doctor *d, int line, const char *fmt, ...)
{
	va_list ap;

	printf("%s:%d: ", d->path, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	d->problems++;
}

/* Is path an executable regular file for the effective user? */
static int
is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

/* The first word the shell will run: assignments and blanks skipped.
 * Written into buf; empty when there is none. */
static void
first_word(const char *cmd, char *buf, size_t len)
{
	size_t n;

	for (;;) {
		while (isspace((unsigned char)*cmd))
			cmd++;
		n = strcspn(cmd, " \t\n;&|<>()");
		if (memchr(cmd, '=', n) == NULL || cmd[0] == '=')
			break;
		cmd += n;		/* NAME=value before the command */
	}
	if (n >= len)
		n = len - 1;
	memcpy(buf, cmd, n);
	buf[n] = '\0';
}

/* Searches PATH (the drainer's) for an executable name; malloc'd or NULL. */
static char *
path_search(const char *name)
{
	const char *path = getenv("PATH"), *p;
	char *cand;
	size_t n;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p != '\0'; p += n + (p[n] == ':')) {
		n = strcspn(p, ":");
		cand = xasprintf("%.*s/%s", (int)n, p, name);
		if (is_executable(cand))
			return cand;
		free(cand);
	}
	return NULL;
}

/* A script's #! interpreter must exist too. */
static void
check_shebang(struct doctor *d, const struct route *r, const char *file)
{
	char line[PATH_MAX + 3], interp[PATH_MAX];
	FILE *fp;

	if ((fp = fopen(file, "re")) == NULL)
		return;
	if (fgets(line, sizeof(line), fp) != NULL &&
	    strncmp(line, "#!", 2) == 0) {
		first_word(line + 2, interp, sizeof(interp));
		if (interp[0] != '/' || !is_executable(interp))
			problem(d, r->run_line, "[event %s] %s: interpreter "
			    "%s is not an executable file", r->pattern, file,
			    interp[0] != '\0' ? interp : "(none)");
	}
	fclose(fp);
}

/* The section's command resolves to something the drainer can run. */
static void
check_route(struct doctor *d, const struct route *r)
{
	char word[PATH_MAX], *file;
	struct stat st;
	size_t i;

	if (stat(r->workdir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		problem(d, r->line, "[event %s] workdir %s is not a folder",
		    r->pattern, r->workdir);
		return;
	}
	first_word(r->run, word, sizeof(word));
	if (word[0] == '\0') {
		problem(d, r->run_line, "[event %s] run has no command",
		    r->pattern);
		return;
	}
	for (i = 0; builtins[i] != NULL; i++)
		if (strcmp(word, builtins[i]) == 0)
			return;
	if (strchr(word, '/') == NULL)
		file = path_search(word);
	else if (word[0] == '/')
		file = xstrdup(word);
	else
		file = xasprintf("%s/%s", r->workdir, word);
	if (file == NULL)
		problem(d, r->run_line, "[event %s] %s: not found in PATH",
		    r->pattern, word);
	else if (!is_executable(file))
		problem(d, r->run_line, "[event %s] %s: %s", r->pattern, file,
		    access(file, F_OK) == 0 ? "not executable" : "not found");
	else
		check_shebang(d, r, file);
	free(file);
}

/* The state folder: ours, writable, on a local disk. */
static void
check_state_dir(struct doctor *d, const struct config *cfg)
{
	int line = cfg->lines.state_dir;
	char err[512], *parent;
	struct stat st;

	if (stat(cfg->state_dir, &st) == -1) {
		/* It will be made: its folder must let us. */
		parent = xstrdup(cfg->state_dir);
		if (strrchr(parent, '/') != NULL && strrchr(parent, '/') != parent)
			*strrchr(parent, '/') = '\0';
		if (faccessat(AT_FDCWD, parent, W_OK | X_OK, AT_EACCESS) == -1)
			problem(d, line, "state_dir %s does not exist and its "
			    "folder is not writable", cfg->state_dir);
		free(parent);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem(d, line, "state_dir %s is not a folder",
		    cfg->state_dir);
		return;
	}
	if (faccessat(AT_FDCWD, cfg->state_dir, W_OK | X_OK, AT_EACCESS) == -1)
		problem(d, line, "state_dir %s is not writable by this user",
		    cfg->state_dir);
	if (st.st_uid != geteuid())
		problem(d, line, "state_dir %s belongs to uid %u, not to this "
		    "user (uid %u): run hookgate as the web server's user",
		    cfg->state_dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (store_check_local(cfg->state_dir, err, sizeof(err)) == -1)
		problem(d, line, "%s", err);
}

/* A web server directive's byte limit in one line; -1 when none. */
static long long
body_limit(const char *line, const char **directive)
{
	static const struct {
		const char	*name;
		long long	 unit;
	} dirs[] = {
		{ "server.max-request-size", 1024 },
		{ "FcgidMaxRequestLen", 1 },
		{ "LimitRequestBody", 1 },
	};
	const char *p;
	size_t i, n;

	while (isspace((unsigned char)*line))
		line++;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		n = strlen(dirs[i].name);
		if (strncasecmp(line, dirs[i].name, n) != 0)
			continue;
		for (p = line + n; isspace((unsigned char)*p) || *p == '=';
		    p++)
			;
		if (!isdigit((unsigned char)*p))
			return -1;
		*directive = dirs[i].name;
		return strtoll(p, NULL, 10) * dirs[i].unit;
	}
	return -1;
}

/*
 * Limits below max_body in a web server config file; found files count
 * only when they mention hookgate, named ones (--server-config) always.
 */
static void
check_server_file(struct doctor *d, const struct config *cfg,
    const char *file, int named)
{
	char line[1024];
	const char *dir;
	long long lim;
	FILE *fp;
	int n = 0, ours = named;

	if ((fp = fopen(file, "re")) == NULL) {
		if (named)
			problem(d, 0, "cannot read %s: %s", file,
			    strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), fp) != NULL)
		ours |= strstr(line, "hookgate") != NULL;
	rewind(fp);
	while (ours && fgets(line, sizeof(line), fp) != NULL) {
		n++;
		lim = body_limit(line, &dir);
		/* LimitRequestBody 0 means no limit. */
		if (lim > 0 && (size_t)lim < cfg->max_body) {
			printf("%s:%d: %s allows %lld bytes, below max_body "
			    "(%zu, %s:%d)\n", file, n, dir, lim, cfg->max_body,
			    d->path, cfg->lines.max_body);
			d->problems++;
		}
	}
	fclose(fp);
}

/* The installed server configs that mention hookgate. */
static void
check_server_limits(struct doctor *d, const struct config *cfg)
{
	glob_t g;
	size_t i, k;

	for (i = 0; server_globs[i] != NULL; i++) {
		if (glob(server_globs[i], 0, NULL, &g) != 0)
			continue;
		for (k = 0; k < g.gl_pathc; k++)
			check_server_file(d, cfg, g.gl_pathv[k], 0);
		globfree(&g);
	}
}

int
cmd_check(int argc, char **argv, const char *opt, const char *argv0)
{
	struct doctor d = { NULL, 0 };
	struct config *cfg;
	struct passwd *pw;
	char *path = NULL;
	size_t i;
	int j;

	for (j = 1; j < argc; j++)
		if (strcmp(argv[j], "--server-config") != 0 || j + 1 >= argc) {
			fprintf(stderr, "usage: hookgate check "
			    "[--server-config FILE]...\n");
			return 2;
		} else
			j++;
	pw = getpwuid(geteuid());
	printf("effective user: %s (uid %u)\n", pw != NULL ? pw->pw_name :
	    "?", (unsigned)geteuid());
	if ((cfg = cli_config(opt, argv0, &path)) == NULL)
		return 1;
	printf("config: %s\n", cfg->path);
	d.path = path;
	for (i = 0; i < cfg->nroutes; i++)
		check_route(&d, &cfg->routes[i]);
	check_state_dir(&d, cfg);
	check_server_limits(&d, cfg);
	for (j = 2; j < argc; j += 2)
		check_server_file(&d, cfg, argv[j], 1);
	if (d.problems == 0)
		printf("%s: configuration OK (%zu event section%s)\n",
		    cfg->path, cfg->nroutes, cfg->nroutes == 1 ? "" : "s");
	else
		printf("%d problem%s\n", d.problems,
		    d.problems == 1 ? "" : "s");
	config_free(cfg);
	free(path);
	return d.problems == 0 ? 0 : 1;
}
