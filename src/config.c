/*
 * config.c -- the INI config file into a struct config.
 *
 * libinih tokenizes; we hand it lines through our own reader. Debian's inih
 * gives the handler no line number, and it silently splits a line longer
 * than its buffer and truncates long section names, so the reader counts
 * lines, refuses long ones, and opens each [section] itself (which also
 * lets an [event] section without keys be checked at all).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "signature.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR	"/usr/local/etc"
#endif

#define CONFIG_NAME	"hookgate.conf"
/* inih's MAX_SECTION: longer [section] names are cut short without notice. */
#define SECTION_MAX	50
/* The most keys one section's table may have (see struct secstate). */
#define KEYS_MAX	16
/* A secret file is one line; anything bigger is the wrong file. */
#define SECRET_FILE_MAX	4096
/* max_body: SPEC.md wants 32M to work; more is allowed, within reason. */
#define MAX_BODY_LIMIT	(1024LL * 1024 * 1024)

#define KEY_REPEAT	0x01	/* may appear several times (secret) */
#define KEY_CONTINUE	0x02	/* indented lines that follow append */
#define KEY_HMAC	0x04	/* only meaningful with scheme = hmac */

#define HINT_WHOLE0	"a whole number >= 0"
#define HINT_WHOLE1	"a whole number >= 1"
#define HINT_DURATION	"a duration of at least 1s, such as 30s, 5m, 2h or 30d"
#define HINT_BOOL	"on or off"

enum section {
	SEC_NONE,
	SEC_HOOKGATE,
	SEC_SIGNATURE,
	SEC_EVENT
};

/* One word a key accepts and the value it stands for. */
struct choice {
	const char	*name;
	int		 value;
};

struct parse;

/*
 * One key of a section: how to parse it, where the value goes (an offset
 * into the section's struct: config, sigconfig or route) and its limits.
 * Setters return 0, or -1 after recording an error with fail().
 */
struct key {
	const char	*name;
	int		(*set)(struct parse *, const struct key *,
			    const char *);
	size_t		 off;
	long long	 min;		/* numbers, sizes, durations */
	long long	 max;
	const struct choice *choices;	/* set_choice */
	const char	*hint;		/* what is expected, for messages */
	unsigned	 flags;
};

/* What one section has seen so far, for duplicates and later checks. */
struct secstate {
	int		 line;			/* of its header; 0: absent */
	int		 keyline[KEYS_MAX];	/* where each key was set */
};

/* The state of one config_load(), shared by the reader and the handler. */
struct parse {
	const char	*path;		/* as given: the file in messages */
	FILE		*fp;
	struct config	*cfg;
	char		*err;
	size_t		 errlen;
	int		 errline;	/* line of the first error; 0: none */
	int		 lineno;	/* of the line inih is working on */
	int		 cont;		/* that line continues the last key */
	int		 has_prev;	/* a key line since the last header */
	enum section	 sec;
	char		 secname[SECTION_MAX];
	const struct key *keys;		/* the current section's table */
	void		*base;		/* the struct its offsets point into */
	struct secstate	*cur;
	struct secstate	 hookgate, signature, event;
	int		*seclines;	/* where each secret was set */
};

static int	set_string(struct parse *, const struct key *, const char *);
static int	set_header(struct parse *, const struct key *, const char *);
static int	set_path(struct parse *, const struct key *, const char *);
static int	set_log(struct parse *, const struct key *, const char *);
static int	set_int(struct parse *, const struct key *, const char *);
static int	set_long(struct parse *, const struct key *, const char *);
static int	set_size(struct parse *, const struct key *, const char *);
static int	set_duration(struct parse *, const struct key *,
		    const char *);
static int	set_choice(struct parse *, const struct key *, const char *);
static int	set_secret(struct parse *, const struct key *, const char *);
static int	set_secret_file(struct parse *, const struct key *,
		    const char *);
static int	set_require(struct parse *, const struct key *, const char *);
static int	set_env(struct parse *, const struct key *, const char *);

static const struct choice bool_choices[] = {
	{ "on", 1 }, { "off", 0 }, { "yes", 1 }, { "no", 0 },
	{ "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 },
	{ NULL, 0 }
};
static const struct choice status_choices[] = {
	{ "202", 202 }, { "200", 200 }, { NULL, 0 }
};
static const struct choice durability_choices[] = {
	{ "fsync", DURABILITY_FSYNC }, { "write", DURABILITY_WRITE },
	{ NULL, 0 }
};
static const struct choice unrouted_choices[] = {
	{ "accept", 0 }, { "reject", 1 }, { NULL, 0 }
};
static const struct choice scheme_choices[] = {
	{ "none", SCHEME_NONE }, { "standard", SCHEME_STANDARD },
	{ "github", SCHEME_GITHUB }, { "stripe", SCHEME_STRIPE },
	{ "slack", SCHEME_SLACK }, { "hmac", SCHEME_HMAC },
	{ NULL, 0 }
};
static const struct choice algorithm_choices[] = {
	{ "sha256", HMAC_SHA256 }, { "sha512", HMAC_SHA512 },
	{ "sha1", HMAC_SHA1 }, { NULL, 0 }
};
static const struct choice encoding_choices[] = {
	{ "hex", ENC_HEX }, { "base64", ENC_BASE64 }, { NULL, 0 }
};
static const struct choice req_type_choices[] = {
	{ "string", REQ_STRING }, { "number", REQ_NUMBER },
	{ "object", REQ_OBJECT }, { "array", REQ_ARRAY },
	{ "bool", REQ_BOOL }, { NULL, 0 }
};

/* set_choice stores enums through an int. */
_Static_assert(sizeof(enum durability) == sizeof(int), "enum size");
_Static_assert(sizeof(enum scheme) == sizeof(int), "enum size");
_Static_assert(sizeof(enum hmac_alg) == sizeof(int), "enum size");
_Static_assert(sizeof(enum hmac_enc) == sizeof(int), "enum size");

#define CFG(f)	.off = offsetof(struct config, f)
#define SIG(f)	.off = offsetof(struct sigconfig, f)
#define RT(f)	.off = offsetof(struct route, f)
#define CHOICE(c, h)	.set = set_choice, .choices = (c), .hint = (h)
#define RANGE(lo, hi, h)	.min = (lo), .max = (hi), .hint = (h)

static const struct key hookgate_keys[] = {
	{ "state_dir", set_path, CFG(state_dir) },
	{ "max_body", set_size, CFG(max_body), RANGE(1, MAX_BODY_LIMIT,
	    "a size from 1 to 1G, such as 512K or 1M") },
	{ "accepted_status", CHOICE(status_choices, "202 or 200"),
	    CFG(accepted_status) },
	{ "workers", set_int, CFG(workers), RANGE(1, INT_MAX, HINT_WHOLE1) },
	{ "threads", set_int, CFG(threads), RANGE(1, CONFIG_THREADS_MAX,
	    "a whole number from 1 to 64") },
	{ "max_queue", set_long, CFG(max_queue),
	    RANGE(1, LONG_MAX, HINT_WHOLE1) },
	{ "retention", set_duration, CFG(retention),
	    RANGE(1, LLONG_MAX, HINT_DURATION) },
	{ "durability", CHOICE(durability_choices, "fsync or write"),
	    CFG(durability) },
	{ "unrouted", CHOICE(unrouted_choices, "accept or reject"),
	    CFG(unrouted_reject) },
	{ "require_https", CHOICE(bool_choices, HINT_BOOL),
	    CFG(require_https) },
	{ "health", CHOICE(bool_choices, HINT_BOOL), CFG(health) },
	{ "log", set_log, CFG(log) },
	{ .name = NULL }
};

static const struct key signature_keys[] = {
	{ "scheme", CHOICE(scheme_choices,
	    "none, standard, github, stripe, slack or hmac"), SIG(scheme) },
	{ "secret", set_secret, .flags = KEY_REPEAT },
	{ "secret_file", set_secret_file, .off = 0 },
	{ "tolerance", set_duration, SIG(tolerance),
	    RANGE(1, LLONG_MAX, HINT_DURATION) },
	{ "header", set_header, SIG(header), .flags = KEY_HMAC },
	{ "algorithm", CHOICE(algorithm_choices, "sha256, sha512 or sha1"),
	    SIG(algorithm), .flags = KEY_HMAC },
	{ "encoding", CHOICE(encoding_choices, "hex or base64"),
	    SIG(encoding), .flags = KEY_HMAC },
	{ "prefix", set_string, SIG(prefix), .flags = KEY_HMAC },
	{ .name = NULL }
};

static const struct key event_keys[] = {
	{ "run", set_string, RT(run) },
	{ "timeout", set_duration, RT(timeout),
	    RANGE(1, LLONG_MAX, HINT_DURATION) },
	{ "retries", set_int, RT(retries), RANGE(0, INT_MAX, HINT_WHOLE0) },
	{ "backoff", set_duration, RT(backoff),
	    RANGE(1, LLONG_MAX, HINT_DURATION) },
	{ "concurrency", set_int, RT(concurrency),
	    RANGE(1, INT_MAX, HINT_WHOLE1) },
	{ "require", set_require, .flags = KEY_CONTINUE },
	{ "workdir", set_path, RT(workdir) },
	{ "env", set_env, .flags = KEY_CONTINUE },
	{ .name = NULL }
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
_Static_assert(NELEM(hookgate_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(NELEM(signature_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(NELEM(event_keys) <= KEYS_MAX, "raise KEYS_MAX");

/*
 * Records "file:line: message" unless an error is already recorded: the
 * first one is what the user fixes first. Always returns -1.
 */
static int HG_PRINTF(3, 4)
fail(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->errline != 0)
		return -1;
	p->errline = line;
	if (p->errlen == 0)
		return -1;
	n = snprintf(p->err, p->errlen, "%s:%d: ", p->path, line);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Returns value joined to dir unless it is absolute; the caller frees. */
static char *
path_resolve(const char *dir, const char *value)
{
	if (value[0] == '/')
		return xstrdup(value);
	if (strcmp(dir, "/") == 0)
		return xasprintf("/%s", value);
	return xasprintf("%s/%s", dir, value);
}

/* Returns the folder part of an absolute path; the caller frees. */
static char *
path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static const struct choice *
choice_find(const struct choice *c, const char *name)
{
	for (; c->name != NULL; c++)
		if (strcasecmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* The first word for a value, for messages; static. */
static const char *
choice_name(const struct choice *c, int value)
{
	for (; c->name != NULL; c++)
		if (c->value == value)
			return c->name;
	return "?";
}

static const struct key *
key_find(const struct key *k, const char *name)
{
	for (; k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Where the key was set in the section state st, or 0. */
static int
key_line(const struct secstate *st, const struct key *tab, const char *name)
{
	const struct key *k = key_find(tab, name);

	return k == NULL ? 0 : st->keyline[k - tab];
}

/* The field a key's value goes to, in the current section's struct. */
static void *
key_field(struct parse *p, const struct key *k)
{
	return (char *)p->base + k->off;
}

static int
bad_value(struct parse *p, const struct key *k, const char *value)
{
	return fail(p, p->lineno, "bad value '%s' for %s: expected %s",
	    value, k->name, k->hint);
}

static int
set_string(struct parse *p, const struct key *k, const char *value)
{
	char **field = key_field(p, k);

	free(*field);
	*field = xstrdup(value);
	return 0;
}

/* A header name as sent: letters, digits and '-' (CGI turns '-' to '_'). */
static int
set_header(struct parse *p, const struct key *k, const char *value)
{
	if (strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-") != strlen(value))
		return fail(p, p->lineno, "bad header name '%s': use letters, "
		    "digits and '-', without a colon", value);
	return set_string(p, k, value);
}

static int
set_path(struct parse *p, const struct key *k, const char *value)
{
	char **field = key_field(p, k);

	free(*field);
	*field = path_resolve(p->cfg->dir, value);
	return 0;
}

/* "stderr" and "syslog" are destinations; any other value is a file. */
static int
set_log(struct parse *p, const struct key *k, const char *value)
{
	if (strcmp(value, "stderr") == 0 || strcmp(value, "syslog") == 0)
		return set_string(p, k, value);
	return set_path(p, k, value);
}

/* Parses a whole number within the key's range into *out. */
static int
number(struct parse *p, const struct key *k, const char *value,
    long long *out)
{
	uint64_t n;

	if (parse_u64(value, strlen(value), &n) == -1 ||
	    n > (uint64_t)k->max || (long long)n < k->min)
		return bad_value(p, k, value);
	*out = (long long)n;
	return 0;
}

static int
set_int(struct parse *p, const struct key *k, const char *value)
{
	long long n;

	if (number(p, k, value, &n) == -1)
		return -1;
	*(int *)key_field(p, k) = (int)n;
	return 0;
}

static int
set_long(struct parse *p, const struct key *k, const char *value)
{
	long long n;

	if (number(p, k, value, &n) == -1)
		return -1;
	*(long *)key_field(p, k) = (long)n;
	return 0;
}

static int
set_size(struct parse *p, const struct key *k, const char *value)
{
	size_t n;

	if (parse_size(value, &n) == -1 || n < (size_t)k->min ||
	    n > (size_t)k->max)
		return bad_value(p, k, value);
	*(size_t *)key_field(p, k) = n;
	return 0;
}

static int
set_duration(struct parse *p, const struct key *k, const char *value)
{
	long long n;

	if (parse_duration(value, &n) == -1 || n < k->min || n > k->max)
		return bad_value(p, k, value);
	*(long long *)key_field(p, k) = n;
	return 0;
}

/* Words from the key's table, case-insensitive; enums are stored as int. */
static int
set_choice(struct parse *p, const struct key *k, const char *value)
{
	const struct choice *c = choice_find(k->choices, value);

	if (c == NULL)
		return bad_value(p, k, value);
	*(int *)key_field(p, k) = c->value;
	return 0;
}

/* Appends a secret (taking ownership) and remembers its line for checks. */
static void
secret_add(struct parse *p, char *secret)
{
	struct sigconfig *sig = &p->cfg->sig;

	sig->secrets = xrealloc(sig->secrets,
	    (sig->nsecrets + 1) * sizeof(*sig->secrets));
	p->seclines = xrealloc(p->seclines,
	    (sig->nsecrets + 1) * sizeof(*p->seclines));
	sig->secrets[sig->nsecrets] = secret;
	p->seclines[sig->nsecrets] = p->lineno;
	sig->nsecrets++;
}

/* Messages about a secret name the key, never the value. */
static int
set_secret(struct parse *p, const struct key *k, const char *value)
{
	(void)k;
	secret_add(p, xstrdup(value));
	return 0;
}

/*
 * Reads the file's content, less trailing whitespace, into *out (the caller
 * frees). Refuses a file group or others may access: a secret that every
 * account on a shared host can read is no secret.
 */
static int
secret_read(struct parse *p, const char *path, int fd, char **out)
{
	char buf[SECRET_FILE_MAX + 1];
	struct stat st;
	size_t len = 0, i;
	ssize_t n;
	int too_big;

	if (fstat(fd, &st) == -1)
		return fail(p, p->lineno, "secret_file %s: %s", path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(p, p->lineno, "secret_file %s is not a regular "
		    "file", path);
	if (st.st_mode & 077)
		return fail(p, p->lineno, "secret_file %s is open to group or "
		    "others (mode %04o): chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return fail(p, p->lineno, "secret_file %s: %s", path,
			    strerror(errno));
		len += (size_t)n;
	}
	too_big = len > SECRET_FILE_MAX;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	for (i = 0; i < len; i++)
		if (iscntrl((unsigned char)buf[i]))
			break;
	if (too_big || i < len || len == 0) {
		explicit_bzero(buf, sizeof(buf));
		if (len == 0)
			return fail(p, p->lineno, "secret_file %s is empty",
			    path);
		return fail(p, p->lineno, "secret_file %s must hold one line "
		    "of at most %d bytes", path, SECRET_FILE_MAX);
	}
	*out = xstrndup(buf, len);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static int
set_secret_file(struct parse *p, const struct key *k, const char *value)
{
	char *path, *secret;
	int fd, rc;

	(void)k;
	path = path_resolve(p->cfg->dir, value);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		rc = fail(p, p->lineno, "secret_file %s: %s", path,
		    strerror(errno));
	else {
		if ((rc = secret_read(p, path, fd, &secret)) == 0)
			secret_add(p, secret);
		close(fd);
	}
	free(path);
	return rc;
}

/*
 * Returns the next space-separated word of *s (advancing *s) and its length
 * in *len, or NULL at the end.
 */
static const char *
next_word(const char **s, size_t *len)
{
	const char *w = *s + strspn(*s, " \t");

	if (*w == '\0')
		return NULL;
	*len = strcspn(w, " \t");
	*s = w + *len;
	return w;
}

/* Why a dotted require path is unusable, or NULL; static text. */
static const char *
require_path_check(const char *path)
{
	const char *s;
	size_t seg = 0;

	for (s = path; ; s++) {
		if (*s == '.' || *s == '\0') {
			if (seg == 0)
				return "empty part between dots";
			if (*s == '\0')
				return NULL;
			seg = 0;
		} else if (*s == ',')
			return "separate paths with spaces, not commas";
		else if (iscntrl((unsigned char)*s))
			return "control character";
		else
			seg++;
	}
}

/* Adds one "path" or "path:type" word to the current route. */
static int
require_add(struct parse *p, const char *word, size_t len)
{
	struct route *r = p->base;
	const struct choice *type = NULL;
	const char *why;
	char *path, *colon;

	path = xstrndup(word, len);
	if ((colon = strchr(path, ':')) != NULL) {
		*colon = '\0';
		if ((type = choice_find(req_type_choices, colon + 1)) == NULL) {
			fail(p, p->lineno, "bad require type '%s' for %s: "
			    "expected string, number, object, array or bool",
			    colon + 1, path);
			free(path);
			return -1;
		}
	}
	if ((why = require_path_check(path)) != NULL) {
		fail(p, p->lineno, "bad require path '%s': %s", path, why);
		free(path);
		return -1;
	}
	r->require = xrealloc(r->require,
	    (r->nrequire + 1) * sizeof(*r->require));
	r->require[r->nrequire].path = path;
	r->require[r->nrequire].type = type ? (enum req_type)type->value :
	    REQ_ANY;
	r->nrequire++;
	return 0;
}

static int
set_require(struct parse *p, const struct key *k, const char *value)
{
	const char *w;
	size_t len;

	(void)k;
	while ((w = next_word(&value, &len)) != NULL)
		if (require_add(p, w, len) == -1)
			return -1;
	return 0;
}

/* Variable names as the shell writes them: [A-Za-z_][A-Za-z0-9_]*. */
static int
env_name_ok(const char *w, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(w[i] == '_' || (w[i] >= 'A' && w[i] <= 'Z') ||
		    (w[i] >= 'a' && w[i] <= 'z') ||
		    (i > 0 && w[i] >= '0' && w[i] <= '9')))
			return 0;
	return 1;
}

static int
set_env(struct parse *p, const struct key *k, const char *value)
{
	struct route *r = p->base;
	const char *w;
	size_t len;

	(void)k;
	while ((w = next_word(&value, &len)) != NULL) {
		if (!env_name_ok(w, len))
			return fail(p, p->lineno, "bad variable name '%.*s' "
			    "in env: use letters, digits and '_'", (int)len, w);
		r->env = xrealloc(r->env, (r->nenv + 1) * sizeof(*r->env));
		r->env[r->nenv++] = xstrndup(w, len);
	}
	return 0;
}

/*
 * Why an [event PATTERN] pattern is unusable, or NULL: "*", a type such as
 * user.created, or a prefix such as user.* or a.b.*; static text.
 */
static const char *
pattern_check(const char *pat)
{
	const char *s;
	size_t seg = 0;
	int dots = 0;

	if (strcmp(pat, "*") == 0)
		return NULL;
	for (s = pat; ; s++) {
		if (*s == '.' || *s == '\0') {
			if (seg == 0)
				return "empty part between dots";
			if (*s == '\0')
				break;
			if (strcmp(s, ".*") == 0)
				return NULL;
			dots++;
			seg = 0;
		} else if ((*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_')
			seg++;
		else
			return "use lowercase letters, digits, '_' and dots, "
			    "optionally ending in .*";
	}
	if (dots == 0)
		return "event types have a dot: write TYPE.* for a prefix "
		    "or * for every type";
	return NULL;
}

/* Makes the section the one keys go to, with a fresh record of keys. */
static void
section_enter(struct parse *p, enum section sec, const struct key *keys,
    void *base, struct secstate *st)
{
	p->sec = sec;
	p->keys = keys;
	p->base = base;
	p->cur = st;
	memset(st, 0, sizeof(*st));
	st->line = p->lineno;
}

/* [hookgate] and [signature] exist once each. */
static void
section_single(struct parse *p, enum section sec, const struct key *keys,
    void *base, struct secstate *st)
{
	if (st->line != 0) {
		fail(p, p->lineno, "duplicate section [%s] (first at line %d)",
		    p->secname, st->line);
		return;
	}
	section_enter(p, sec, keys, base, st);
}

/* Adds a route with the defaults of SPEC.md for an [event PATTERN]. */
static void
section_event(struct parse *p, const char *pattern)
{
	struct config *cfg = p->cfg;
	struct route *r;
	const char *why;
	size_t i;

	if (*pattern == '\0') {
		fail(p, p->lineno, "[%s] needs a pattern: [event TYPE], "
		    "[event PREFIX.*] or [event *]", p->secname);
		return;
	}
	if ((why = pattern_check(pattern)) != NULL) {
		fail(p, p->lineno, "bad event pattern '%s': %s", pattern, why);
		return;
	}
	for (i = 0; i < cfg->nroutes; i++)
		if (strcmp(cfg->routes[i].pattern, pattern) == 0) {
			fail(p, p->lineno, "duplicate section [event %s] "
			    "(first at line %d)", pattern, cfg->routes[i].line);
			return;
		}
	cfg->routes = xrealloc(cfg->routes,
	    (cfg->nroutes + 1) * sizeof(*cfg->routes));
	r = &cfg->routes[cfg->nroutes++];
	memset(r, 0, sizeof(*r));
	r->pattern = xstrdup(pattern);
	r->timeout = 30;
	r->retries = 8;
	r->backoff = 10;
	r->line = p->lineno;
	section_enter(p, SEC_EVENT, event_keys, r, &p->event);
}

/* Checks the section being left: an [event] needs run = . */
static void
section_close(struct parse *p)
{
	struct route *r = p->base;

	if (p->sec != SEC_EVENT)
		return;
	if (r->run == NULL)
		fail(p, r->line, "[event %s] has no run = command",
		    r->pattern);
	else if (r->workdir == NULL)
		r->workdir = xstrdup(p->cfg->dir);
	r->run_line = key_line(&p->event, event_keys, "run");
}

/* Opens the section named by the len bytes at name. */
static void
section_open(struct parse *p, const char *name, size_t len)
{
	section_close(p);
	p->sec = SEC_NONE;
	if (len >= sizeof(p->secname)) {
		fail(p, p->lineno, "section name longer than %d characters",
		    SECTION_MAX - 1);
		return;
	}
	memcpy(p->secname, name, len);
	p->secname[len] = '\0';
	if (strcmp(p->secname, "hookgate") == 0)
		section_single(p, SEC_HOOKGATE, hookgate_keys, p->cfg,
		    &p->hookgate);
	else if (strcmp(p->secname, "signature") == 0)
		section_single(p, SEC_SIGNATURE, signature_keys, &p->cfg->sig,
		    &p->signature);
	else if (strcmp(p->secname, "event") == 0)
		section_event(p, "");
	else if (strncmp(p->secname, "event ", 6) == 0)
		section_event(p, p->secname + 6);
	else
		fail(p, p->lineno, "unknown section [%s]", p->secname);
}

/*
 * Sorts the line just read the way inih will: comment, continuation of
 * the last key (indented, after a key), section header, or key. A header
 * is opened here; a name runs to ']' or to an inline comment (then inih
 * calls the line a syntax error, and so do we, by not opening it).
 */
static void
line_classify(struct parse *p, const char *line)
{
	const char *s = line, *name;
	int indented, was_space = 0;

	if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	indented = isspace((unsigned char)*s);
	while (isspace((unsigned char)*s))
		s++;
	p->cont = 0;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (indented && p->has_prev) {
		p->cont = 1;
		return;
	}
	if (*s != '[')
		return;
	for (name = ++s; *s != '\0' && *s != ']'; s++) {
		if (was_space && *s == ';')
			return;
		was_space = isspace((unsigned char)*s);
	}
	if (*s == ']') {
		p->has_prev = 0;
		section_open(p, name, (size_t)(s - name));
	}
}

/*
 * inih's fgets-style reader: one line into buf, counted. A line that does
 * not fit is an error (inih would parse the rest as a line of its own), as
 * is a NUL byte; either stops parsing, as does any recorded error.
 */
static char *
read_line(char *buf, int size, void *arg)
{
	struct parse *p = arg;
	size_t n = 0;
	int c = EOF;

	if (p->errline != 0 || size < 2)
		return NULL;
	while (n < (size_t)size - 1 && (c = getc(p->fp)) != EOF) {
		if (c == '\0') {
			fail(p, p->lineno + 1, "NUL byte");
			return NULL;
		}
		buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (n == 0)
		return NULL;
	buf[n] = '\0';
	p->lineno++;
	/* A full buffer is fine if the newline or the end comes next. */
	if (c != '\n' && c != EOF && (c = getc(p->fp)) != '\n' && c != EOF) {
		fail(p, p->lineno, "line longer than %d characters", size - 1);
		return NULL;
	}
	line_classify(p, buf);
	return p->errline != 0 ? NULL : buf;
}

/*
 * Applies one "name = value" of the current section, or an indented line
 * continuing the last name (p->cont). Returns 0, or -1 after fail().
 */
static int
key_set(struct parse *p, const char *name, const char *value)
{
	const struct key *k;
	size_t i;

	if (p->sec == SEC_NONE)
		return fail(p, p->lineno, "'%s' is outside any [section]",
		    name);
	if ((k = key_find(p->keys, name)) == NULL)
		return fail(p, p->lineno, "unknown key '%s' in [%s]", name,
		    p->secname);
	i = (size_t)(k - p->keys);
	if (p->cont && !(k->flags & KEY_CONTINUE))
		return fail(p, p->lineno, "indented line continues '%s', "
		    "which takes one line (only require and env take more): "
		    "remove the indentation", name);
	if (!p->cont && p->cur->keyline[i] != 0 && !(k->flags & KEY_REPEAT))
		return fail(p, p->lineno, "duplicate key '%s' in [%s] "
		    "(first at line %d)", name, p->secname, p->cur->keyline[i]);
	if (*value == '\0' && !(k->flags & KEY_CONTINUE))
		return fail(p, p->lineno, "'%s' needs a value", name);
	if (p->cur->keyline[i] == 0)
		p->cur->keyline[i] = p->lineno;
	return k->set(p, k, value);
}

/*
 * inih's handler. The section argument is not needed: it is the one
 * line_classify() opened, from the same header line. Returns 0 (to inih:
 * an error) once an error is recorded.
 */
static int
handler(void *arg, const char *section, const char *name, const char *value)
{
	struct parse *p = arg;

	(void)section;
	if (p->errline != 0)
		return 0;
	/* inih remembers the name of every key line for continuations. */
	if (!p->cont)
		p->has_prev = 1;
	return key_set(p, name, value) == 0;
}

/* Checks [signature] as a whole, once every key is known. */
static int
signature_check(struct parse *p)
{
	const struct sigconfig *sig = &p->cfg->sig;
	const struct secstate *st = &p->signature;
	const char *name = choice_name(scheme_choices, (int)sig->scheme);
	const char *why;
	const struct key *k;
	int line;
	size_t i;

	for (k = signature_keys; k->name != NULL; k++)
		if ((k->flags & KEY_HMAC) && sig->scheme != SCHEME_HMAC &&
		    st->keyline[k - signature_keys] != 0)
			return fail(p, st->keyline[k - signature_keys],
			    "%s applies only to scheme = hmac", k->name);
	/* Point at the scheme, else the section, else the end of the file. */
	if ((line = key_line(st, signature_keys, "scheme")) == 0)
		line = st->line != 0 ? st->line : p->lineno > 0 ? p->lineno : 1;
	if (sig->scheme != SCHEME_NONE && sig->nsecrets == 0)
		return fail(p, line, "no secret for scheme %s (set scheme = "
		    "none to accept unsigned deliveries)", name);
	if (sig->scheme == SCHEME_HMAC && sig->header == NULL)
		return fail(p, line, "scheme = hmac needs header = (the "
		    "request header that carries the signature)");
	for (i = 0; sig->scheme != SCHEME_NONE && i < sig->nsecrets; i++)
		if ((why = signature_check_secret(sig->scheme,
		    sig->secrets[i])) != NULL)
			return fail(p, p->seclines[i], "secret unusable with "
			    "scheme %s: %s", name, why);
	return 0;
}

/* Checks that need the whole file, then fills in the remaining defaults. */
static int
config_check(struct parse *p)
{
	struct config *cfg = p->cfg;

	section_close(p);
	if (p->errline != 0)
		return -1;
	if (cfg->state_dir == NULL)
		cfg->state_dir = path_resolve(cfg->dir, "state");
	if (cfg->log == NULL)
		cfg->log = xstrdup("stderr");
	/* Where `hookgate check` points its findings; 1 when defaulted. */
	cfg->lines.state_dir = key_line(&p->hookgate, hookgate_keys,
	    "state_dir");
	cfg->lines.max_body = key_line(&p->hookgate, hookgate_keys,
	    "max_body");
	cfg->lines.secret_file = key_line(&p->signature, signature_keys,
	    "secret_file");
	if (cfg->lines.state_dir == 0)
		cfg->lines.state_dir = p->hookgate.line ? p->hookgate.line : 1;
	if (cfg->lines.max_body == 0)
		cfg->lines.max_body = cfg->lines.state_dir;
	return signature_check(p);
}

/* A config with SPEC.md's defaults for the file at the absolute path. */
static struct config *
config_new(const char *path)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->path = xstrdup(path);
	cfg->dir = path_dir(path);
	cfg->max_body = 1024 * 1024;
	cfg->accepted_status = 202;
	cfg->workers = 2;
	cfg->threads = CONFIG_THREADS_DEFAULT;
	cfg->max_queue = 10000;
	cfg->retention = 30 * 86400;
	cfg->durability = DURABILITY_FSYNC;
	cfg->sig.scheme = SCHEME_STANDARD;
	cfg->sig.tolerance = 300;
	cfg->sig.algorithm = HMAC_SHA256;
	cfg->sig.encoding = ENC_HEX;
	return cfg;
}

/* Opens path for config_load(); on failure writes "path: reason". */
static FILE *
config_open(const char *path, char *abs, char *err, size_t errlen)
{
	struct stat st;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL ||
	    realpath(path, abs) == NULL || fstat(fileno(fp), &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
		fclose(fp);
		return NULL;
	}
	return fp;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	char abs[PATH_MAX];
	struct parse p;
	int r;

	if (errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	if ((p.fp = config_open(path, abs, err, errlen)) == NULL)
		return NULL;
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	p.cfg = config_new(abs);
	r = ini_parse_stream(read_line, &p, handler, &p);
	if (r == -2)
		fatal_oom();
	if (ferror(p.fp))
		fail(&p, p.lineno + 1, "%s", strerror(errno));
	fclose(p.fp);
	/* inih's own complaint wins if its line comes first. */
	if (r > 0 && (p.errline == 0 || r < p.errline)) {
		p.errline = 0;
		fail(&p, r, "syntax error: expected [section], name = value "
		    "or a comment");
	}
	if (p.errline == 0)
		config_check(&p);
	free(p.seclines);
	if (p.errline != 0) {
		config_free(p.cfg);
		return NULL;
	}
	return p.cfg;
}

static void
route_free(struct route *r)
{
	size_t i;

	for (i = 0; i < r->nrequire; i++)
		free(r->require[i].path);
	for (i = 0; i < r->nenv; i++)
		free(r->env[i]);
	free(r->require);
	free(r->env);
	free(r->pattern);
	free(r->run);
	free(r->workdir);
}

/* Frees cfg and all it owns; secrets are wiped first (core dumps). */
void
config_free(struct config *cfg)
{
	size_t i;
	char *s;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nroutes; i++)
		route_free(&cfg->routes[i]);
	for (i = 0; i < cfg->sig.nsecrets; i++) {
		s = cfg->sig.secrets[i];
		explicit_bzero(s, strlen(s));
		free(s);
	}
	free(cfg->sig.secrets);
	free(cfg->sig.header);
	free(cfg->sig.prefix);
	free(cfg->routes);
	free(cfg->path);
	free(cfg->dir);
	free(cfg->state_dir);
	free(cfg->log);
	free(cfg);
}

/*
 * The folder of the running executable, from /proc/self/exe (which names
 * the file even when started through a symlink); NULL without /proc.
 * The caller frees.
 */
static char *
exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) <= 0)
		return NULL;
	buf[n] = '\0';
	return path_dir(buf);
}

/* Appends the candidates of config_find() in order; returns the count. */
static size_t
find_candidates(const char *argv0, char **cand)
{
	const char *env = getenv("HOOKGATE_CONFIG");
	char *dir, *bydir = NULL;
	size_t n = 0;

	if (env != NULL && *env != '\0')
		cand[n++] = xstrdup(env);
	if ((dir = exe_dir()) != NULL) {
		cand[n++] = bydir = path_resolve(dir, CONFIG_NAME);
		free(dir);
	}
	/*
	 * argv0 is the fallback without /proc, and a second chance when the
	 * program is a symlink placed in the web folder.
	 */
	if (argv0 != NULL && strchr(argv0, '/') != NULL) {
		dir = path_dir(argv0);
		cand[n] = path_resolve(dir, CONFIG_NAME);
		free(dir);
		if (bydir != NULL && strcmp(cand[n], bydir) == 0)
			free(cand[n]);
		else
			n++;
	}
	cand[n++] = xstrdup(SYSCONFDIR "/" CONFIG_NAME);
	return n;
}

char *
config_find(const char *opt, const char *argv0, char *err, size_t errlen)
{
	char *cand[4], *found = NULL;
	size_t n, i, len;

	if (errlen > 0)
		err[0] = '\0';
	if (opt != NULL) {
		if (access(opt, F_OK) == 0)
			return xstrdup(opt);
		snprintf(err, errlen, "%s: %s", opt, strerror(errno));
		return NULL;
	}
	n = find_candidates(argv0, cand);
	for (i = 0; i < n && found == NULL; i++)
		if (access(cand[i], F_OK) == 0)
			found = xstrdup(cand[i]);
	if (found == NULL && errlen > 0) {
		snprintf(err, errlen, "no config file (give -c FILE or set "
		    "HOOKGATE_CONFIG); tried");
		for (i = 0; i < n; i++) {
			len = strlen(err);
			snprintf(err + len, errlen - len, "%s %s",
			    i == 0 ? ":" : ",", cand[i]);
		}
	}
	for (i = 0; i < n; i++)
		free(cand[i]);
	return found;
}

/*
 * Exact pattern, else the longest "prefix.*" whose prefix and a dot start
 * the type, else "*". The route belongs to cfg.
 */
const struct route *
config_route(const struct config *cfg, const char *type)
{
	const struct route *best = NULL, *any = NULL, *r;
	size_t i, plen, bestlen = 0;

	if (cfg == NULL || type == NULL)
		return NULL;
	for (i = 0; i < cfg->nroutes; i++) {
		r = &cfg->routes[i];
		plen = strlen(r->pattern);
		if (strcmp(r->pattern, type) == 0)
			return r;
		if (strcmp(r->pattern, "*") == 0)
			any = r;
		else if (plen > 2 && strcmp(r->pattern + plen - 2, ".*") == 0 &&
		    strncmp(r->pattern, type, plen - 1) == 0 &&
		    plen - 1 > bestlen) {
			best = r;
			bestlen = plen - 1;
		}
	}
	return best != NULL ? best : any;
}
