/*
 * check_config.c -- config_load(), config_route() and config_find().
 *
 * Every test writes its files into one temporary folder per TCase (made
 * and removed in the parent, so a failing test leaves nothing behind);
 * Check runs each test in its own child, so chdir() and setenv() are safe.
 */
#include <sys/stat.h>

#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "signature.h"
#include "testutil.h"
#include "util.h"

/* Two lines that make a config valid without secrets. */
#define UNSIGNED	"[signature]\nscheme = none\n"

static char	*tmpdir;	/* realpath()ed, so it compares with cfg->dir */
static char	 err[1024];

static void
setup(void)
{
	char buf[PATH_MAX], *d = make_tmpdir();

	ck_assert_ptr_nonnull(realpath(d, buf));
	free(d);
	tmpdir = strdup(buf);
}

static void
teardown(void)
{
	rm_rf(tmpdir);
	free(tmpdir);
}

/* Writes len bytes to tmpdir/name with mode; returns the path to free. */
static char *
write_bytes(const char *name, const char *data, size_t len, mode_t mode)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f;

	/* A file left read-only by an earlier test cannot be reopened. */
	(void)unlink(path);
	f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static char *
write_file(const char *name, const char *text, mode_t mode)
{
	return write_bytes(name, text, strlen(text), mode);
}

/* Loads text as tmpdir/hookgate.conf; on failure err holds the message. */
static struct config *
load(const char *text)
{
	char *path = write_file("hookgate.conf", text, 0644);
	struct config *cfg = config_load(path, err, sizeof(err));

	free(path);
	return cfg;
}

/* Asserts that text fails at line with a message starting with msg. */
static void
assert_error(const char *text, int line, const char *msg)
{
	char *want = xasprintf("%s/hookgate.conf:%d: %s", tmpdir, line, msg);
	struct config *cfg = load(text);

	ck_assert_msg(cfg == NULL, "loaded, expected: %s", want);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "got '%s', expected '%s...'", err, want);
	free(want);
}

/* A tmpdir-relative path, absolute; the caller frees. */
static char *
in_tmp(const char *rel)
{
	return xasprintf("%s/%s", tmpdir, rel);
}

static void
assert_path(const char *got, const char *rel)
{
	char *want = in_tmp(rel);

	ck_assert_str_eq(got, want);
	free(want);
}

/* SPEC.md's example, comments and all. */
static const char spec_example[] =
    "[hookgate]\n"
    "state_dir = state        ; the Berkeley DB environment\n"
    "max_body  = 1M           ; up to 32M must work\n"
    "accepted_status = 202    ; 202 | 200\n"
    "workers   = 2            ; commands running at once\n"
    "max_queue = 10000        ; pending events before 503\n"
    "retention = 30d          ; how long ids are kept\n"
    "durability = fsync       ; fsync | write\n"
    "unrouted  = accept       ; accept | reject\n"
    "require_https = off      ; on: refuse plain HTTP\n"
    "health    = off\n"
    "log       = stderr       ; stderr | a file | syslog\n"
    "\n"
    "[signature]\n"
    "scheme    = standard\n"
    "secret    = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
    "tolerance = 5m\n"
    "\n"
    "[event user.created]\n"
    "run     = ./hooks/user-created.sh\n"
    "timeout = 30s\n"
    "retries = 8\n"
    "concurrency = 1          ; at most one at a time\n"
    "require = data.user_id data.email data.username\n"
    "\n"
    "[event project.*]\n"
    "run = ./hooks/project.sh\n"
    "\n"
    "[event *]\n"
    "run = ./hooks/other.sh\n";

START_TEST(spec_example_loads)
{
	struct config *cfg = load(spec_example);
	const struct route *r;

	ck_assert_msg(cfg != NULL, "%s", err);
	assert_path(cfg->path, "hookgate.conf");
	ck_assert_str_eq(cfg->dir, tmpdir);
	assert_path(cfg->state_dir, "state");
	ck_assert_uint_eq(cfg->max_body, 1024 * 1024);
	ck_assert_int_eq(cfg->accepted_status, 202);
	ck_assert_int_eq(cfg->workers, 2);
	ck_assert_int_eq(cfg->threads, 8);
	ck_assert_int_eq(cfg->max_queue, 10000);
	ck_assert_int_eq(cfg->retention, 30 * 86400);
	ck_assert_int_eq(cfg->durability, DURABILITY_FSYNC);
	ck_assert_int_eq(cfg->unrouted_reject, 0);
	ck_assert_int_eq(cfg->require_https, 0);
	ck_assert_int_eq(cfg->health, 0);
	ck_assert_str_eq(cfg->log, "stderr");

	ck_assert_int_eq(cfg->sig.scheme, SCHEME_STANDARD);
	ck_assert_uint_eq(cfg->sig.nsecrets, 1);
	ck_assert_str_eq(cfg->sig.secrets[0],
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
	ck_assert_int_eq(cfg->sig.tolerance, 300);
	ck_assert_ptr_null(cfg->sig.header);
	ck_assert_ptr_null(cfg->sig.prefix);

	ck_assert_uint_eq(cfg->nroutes, 3);
	r = &cfg->routes[0];
	ck_assert_str_eq(r->pattern, "user.created");
	ck_assert_str_eq(r->run, "./hooks/user-created.sh");
	ck_assert_str_eq(r->workdir, tmpdir);
	ck_assert_int_eq(r->timeout, 30);
	ck_assert_int_eq(r->retries, 8);
	ck_assert_int_eq(r->backoff, 10);
	ck_assert_int_eq(r->concurrency, 1);
	ck_assert_int_eq(r->line, 19);
	ck_assert_uint_eq(r->nrequire, 3);
	ck_assert_str_eq(r->require[0].path, "data.user_id");
	ck_assert_str_eq(r->require[1].path, "data.email");
	ck_assert_str_eq(r->require[2].path, "data.username");
	ck_assert_int_eq(r->require[2].type, REQ_ANY);
	ck_assert_uint_eq(r->nenv, 0);

	r = &cfg->routes[1];
	ck_assert_str_eq(r->pattern, "project.*");
	ck_assert_str_eq(r->run, "./hooks/project.sh");
	ck_assert_int_eq(r->concurrency, 0);
	ck_assert_uint_eq(r->nrequire, 0);
	ck_assert_int_eq(r->line, 26);
	r = &cfg->routes[2];
	ck_assert_str_eq(r->pattern, "*");
	ck_assert_str_eq(r->run, "./hooks/other.sh");
	ck_assert_int_eq(r->line, 29);
	config_free(cfg);
}
END_TEST

START_TEST(defaults)
{
	struct config *cfg = load(UNSIGNED);

	ck_assert_msg(cfg != NULL, "%s", err);
	assert_path(cfg->state_dir, "state");
	ck_assert_uint_eq(cfg->max_body, 1024 * 1024);
	ck_assert_int_eq(cfg->accepted_status, 202);
	ck_assert_int_eq(cfg->workers, 2);
	ck_assert_int_eq(cfg->max_queue, 10000);
	ck_assert_int_eq(cfg->retention, 30 * 86400);
	ck_assert_int_eq(cfg->durability, DURABILITY_FSYNC);
	ck_assert_int_eq(cfg->unrouted_reject, 0);
	ck_assert_int_eq(cfg->require_https, 0);
	ck_assert_int_eq(cfg->health, 0);
	ck_assert_str_eq(cfg->log, "stderr");
	ck_assert_int_eq(cfg->sig.scheme, SCHEME_NONE);
	ck_assert_uint_eq(cfg->sig.nsecrets, 0);
	ck_assert_int_eq(cfg->sig.tolerance, 300);
	ck_assert_int_eq(cfg->sig.algorithm, HMAC_SHA256);
	ck_assert_int_eq(cfg->sig.encoding, ENC_HEX);
	ck_assert_uint_eq(cfg->nroutes, 0);
	ck_assert_ptr_null(config_route(cfg, "user.created"));
	config_free(cfg);
}
END_TEST

START_TEST(every_value_set)
{
	struct config *cfg = load(
	    "[hookgate]\n"
	    "state_dir = /var/lib/hookgate\n"
	    "max_body = 32M\n"
	    "accepted_status = 200\n"
	    "workers = 7\n"
	    "threads = 64\n"
	    "max_queue = 5\n"
	    "retention = 1w\n"
	    "durability = write\n"
	    "unrouted = reject\n"
	    "require_https = on\n"
	    "health = yes\n"
	    "log = syslog\n"
	    "[signature]\n"
	    "scheme = hmac\n"
	    "secret = shpss_abc\n"
	    "tolerance = 1h\n"
	    "header = X-Shopify-Hmac-Sha256\n"
	    "algorithm = sha512\n"
	    "encoding = base64\n"
	    "prefix = sha512=\n"
	    "[event a.b]\n"
	    "run = exec ./x.sh --flag\n"
	    "timeout = 2m\n"
	    "retries = 0\n"
	    "backoff = 1\n"
	    "concurrency = 3\n"
	    "workdir = /srv/hooks\n"
	    "env = HOME TZ\n");
	const struct route *r;

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->state_dir, "/var/lib/hookgate");
	ck_assert_uint_eq(cfg->max_body, 32 * 1024 * 1024);
	ck_assert_int_eq(cfg->accepted_status, 200);
	ck_assert_int_eq(cfg->workers, 7);
	ck_assert_int_eq(cfg->threads, 64);
	ck_assert_int_eq(cfg->max_queue, 5);
	ck_assert_int_eq(cfg->retention, 7 * 86400);
	ck_assert_int_eq(cfg->durability, DURABILITY_WRITE);
	ck_assert_int_eq(cfg->unrouted_reject, 1);
	ck_assert_int_eq(cfg->require_https, 1);
	ck_assert_int_eq(cfg->health, 1);
	ck_assert_str_eq(cfg->log, "syslog");
	ck_assert_int_eq(cfg->sig.scheme, SCHEME_HMAC);
	ck_assert_int_eq(cfg->sig.tolerance, 3600);
	ck_assert_str_eq(cfg->sig.header, "X-Shopify-Hmac-Sha256");
	ck_assert_int_eq(cfg->sig.algorithm, HMAC_SHA512);
	ck_assert_int_eq(cfg->sig.encoding, ENC_BASE64);
	ck_assert_str_eq(cfg->sig.prefix, "sha512=");
	r = &cfg->routes[0];
	ck_assert_str_eq(r->run, "exec ./x.sh --flag");
	ck_assert_int_eq(r->timeout, 120);
	ck_assert_int_eq(r->retries, 0);
	ck_assert_int_eq(r->backoff, 1);
	ck_assert_int_eq(r->concurrency, 3);
	ck_assert_str_eq(r->workdir, "/srv/hooks");
	ck_assert_uint_eq(r->nenv, 2);
	ck_assert_str_eq(r->env[0], "HOME");
	ck_assert_str_eq(r->env[1], "TZ");
	config_free(cfg);
}
END_TEST

static const struct {
	const char	*value;
	size_t		 bytes;
} size_cases[] = {
	{ "1", 1 },
	{ "100b", 100 },
	{ "1048576", 1048576 },
	{ "512K", 512 * 1024 },
	{ "512k", 512 * 1024 },
	{ "1M", 1024 * 1024 },
	{ "32m", 32 * 1024 * 1024 },
	{ "1G", 1024 * 1024 * 1024 },
};

START_TEST(sizes)
{
	char *text = xasprintf(UNSIGNED "[hookgate]\nmax_body = %s\n",
	    size_cases[_i].value);
	struct config *cfg = load(text);

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->max_body, size_cases[_i].bytes);
	config_free(cfg);
	free(text);
}
END_TEST

static const struct {
	const char	*value;
	long long	 seconds;
} duration_cases[] = {
	{ "1", 1 },
	{ "45", 45 },
	{ "30s", 30 },
	{ "5m", 300 },
	{ "2h", 7200 },
	{ "30d", 30 * 86400 },
	{ "1w", 7 * 86400 },
	{ "2W", 14 * 86400 },
};

/* The same parser serves every duration key; try it on each. */
START_TEST(durations)
{
	char *text = xasprintf(UNSIGNED "tolerance = %s\n"
	    "[hookgate]\nretention = %s\n"
	    "[event a.b]\nrun = x\ntimeout = %s\nbackoff = %s\n",
	    duration_cases[_i].value, duration_cases[_i].value,
	    duration_cases[_i].value, duration_cases[_i].value);
	struct config *cfg = load(text);
	long long want = duration_cases[_i].seconds;

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->sig.tolerance, want);
	ck_assert_int_eq(cfg->retention, want);
	ck_assert_int_eq(cfg->routes[0].timeout, want);
	ck_assert_int_eq(cfg->routes[0].backoff, want);
	config_free(cfg);
	free(text);
}
END_TEST

static const struct {
	const char	*value;
	int		 on;
} bool_cases[] = {
	{ "on", 1 }, { "off", 0 }, { "yes", 1 }, { "no", 0 },
	{ "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 },
	{ "ON", 1 }, { "Off", 0 },
};

START_TEST(booleans)
{
	char *text = xasprintf(UNSIGNED "[hookgate]\nhealth = %s\n"
	    "require_https = %s\n", bool_cases[_i].value, bool_cases[_i].value);
	struct config *cfg = load(text);

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_int_eq(cfg->health, bool_cases[_i].on);
	ck_assert_int_eq(cfg->require_https, bool_cases[_i].on);
	config_free(cfg);
	free(text);
}
END_TEST

/* Each: a file, the line its error names, and how the message starts. */
static const struct {
	const char	*text;
	int		 line;
	const char	*msg;
} error_cases[] = {
	/* structure */
	{ "[hookgate]\nstate_dir = s\nbogus = 1\n", 3,
	    "unknown key 'bogus' in [hookgate]" },
	{ "[event a.b]\nrun = x\nrunn = y\n", 3,
	    "unknown key 'runn' in [event a.b]" },
	{ "[hookgate]\n\n[nope]\n", 3, "unknown section [nope]" },
	{ "[ hookgate ]\n", 1, "unknown section [ hookgate ]" },
	{ "[hookgate]\nworkers = 2\n; comment\nworkers = 3\n", 4,
	    "duplicate key 'workers' in [hookgate] (first at line 2)" },
	{ "[signature]\nscheme = none\nscheme = none\n", 3,
	    "duplicate key 'scheme' in [signature] (first at line 2)" },
	{ "[event a.b]\nrun = x\nrun = y\n", 3, "duplicate key 'run'" },
	{ "[event a.b]\nrun = x\nrequire = a\nrequire = b\n", 4,
	    "duplicate key 'require'" },
	{ "[hookgate]\n[hookgate]\n", 2,
	    "duplicate section [hookgate] (first at line 1)" },
	{ "[event a.b]\nrun = x\n\n[event a.b]\nrun = y\n", 4,
	    "duplicate section [event a.b] (first at line 1)" },
	{ "workers = 2\n[hookgate]\n", 1,
	    "'workers' is outside any [section]" },
	{ "[hookgate]\nstate_dir =\n", 2, "'state_dir' needs a value" },
	{ "[hookgate]\nworkers\n", 2, "syntax error" },
	{ "[hookgate\nworkers = 2\n", 1, "syntax error" },
	{ "[hookgate ; comment]\n", 1, "syntax error" },
	/* inih's syntax error and ours: the earlier line wins */
	{ "[hookgate]\nfoo\nbogus = 1\n", 2, "syntax error" },
	{ "[hookgate]\nbogus = 1\nfoo\n", 2, "unknown key 'bogus'" },
	{ "[event a.b]\ntimeout = 1s\nfoo\n[event *]\nrun = x\n", 1,
	    "[event a.b] has no run = command" },
	/* indentation continues the key above */
	{ "[hookgate]\n  workers = 1\n  health = on\n", 3,
	    "indented line continues 'workers'" },
	{ "[event a.b]\nrun = ./x.sh\n    --verbose\n", 3,
	    "indented line continues 'run'" },
	/* [hookgate] values */
	{ "[hookgate]\nmax_body = 0\n", 2,
	    "bad value '0' for max_body: expected a size from 1 to 1G" },
	{ "[hookgate]\nmax_body = 2G\n", 2, "bad value '2G' for max_body" },
	{ "[hookgate]\nmax_body = 1.5M\n", 2, "bad value '1.5M' for max_body" },
	{ "[hookgate]\nmax_body = 1MB\n", 2, "bad value '1MB' for max_body" },
	{ "[hookgate]\naccepted_status = 201\n", 2,
	    "bad value '201' for accepted_status: expected 202 or 200" },
	{ "[hookgate]\nworkers = 0\n", 2,
	    "bad value '0' for workers: expected a whole number >= 1" },
	{ "[hookgate]\nthreads = 65\n", 2,
	    "bad value '65' for threads: expected a whole number from 1 to 64" },
	{ "[hookgate]\nthreads = 0\n", 2,
	    "bad value '0' for threads: expected a whole number from 1 to 64" },
	{ "[hookgate]\nworkers = -1\n", 2, "bad value '-1' for workers" },
	{ "[hookgate]\nworkers = two\n", 2, "bad value 'two' for workers" },
	{ "[hookgate]\nworkers = 3000000000\n", 2,
	    "bad value '3000000000' for workers" },
	{ "[hookgate]\nmax_queue = 0\n", 2, "bad value '0' for max_queue" },
	{ "[hookgate]\nretention = 0\n", 2,
	    "bad value '0' for retention: expected a duration" },
	{ "[hookgate]\nretention = 30x\n", 2, "bad value '30x' for retention" },
	{ "[hookgate]\nretention = -1d\n", 2, "bad value '-1d' for retention" },
	{ "[hookgate]\ndurability = maybe\n", 2,
	    "bad value 'maybe' for durability: expected fsync or write" },
	{ "[hookgate]\nunrouted = drop\n", 2,
	    "bad value 'drop' for unrouted: expected accept or reject" },
	{ "[hookgate]\nrequire_https = maybe\n", 2,
	    "bad value 'maybe' for require_https: expected on or off" },
	{ "[hookgate]\nhealth = 2\n", 2, "bad value '2' for health" },
	/* [signature] values and consistency */
	{ "[signature]\nscheme = rsa\n", 2,
	    "bad value 'rsa' for scheme: expected none, standard, github, "
	    "stripe, slack or hmac" },
	{ "[signature]\nscheme = none\ntolerance = 5q\n", 3,
	    "bad value '5q' for tolerance" },
	{ "[signature]\nscheme = hmac\nalgorithm = md5\n", 3,
	    "bad value 'md5' for algorithm: expected sha256, sha512 or sha1" },
	{ "[signature]\nscheme = hmac\nencoding = base32\n", 3,
	    "bad value 'base32' for encoding: expected hex or base64" },
	{ "[signature]\nscheme = hmac\nheader = X-Sig:\n", 3,
	    "bad header name 'X-Sig:'" },
	{ "[signature]\nscheme = github\n", 2,
	    "no secret for scheme github (set scheme = none to accept "
	    "unsigned deliveries)" },
	{ "[hookgate]\n\n[signature]\ntolerance = 1m\n", 3,
	    "no secret for scheme standard" },
	{ "[hookgate]\nworkers = 1\n", 2, "no secret for scheme standard" },
	{ "", 1, "no secret for scheme standard" },
	{ "[signature]\nscheme = hmac\nsecret = s\n", 2,
	    "scheme = hmac needs header =" },
	{ "[signature]\nscheme = github\nsecret = s\nheader = X-Sig\n", 4,
	    "header applies only to scheme = hmac" },
	{ "[signature]\nsecret = s\nprefix = v1=\n", 3,
	    "prefix applies only to scheme = hmac" },
	{ "[signature]\nscheme = stripe\nsecret = s\nencoding = hex\n", 4,
	    "encoding applies only to scheme = hmac" },
	{ "[signature]\nscheme = slack\nsecret = s\nalgorithm = sha1\n", 4,
	    "algorithm applies only to scheme = hmac" },
	/* [event] sections */
	{ UNSIGNED "[event user.created]\n", 3,
	    "[event user.created] has no run = command" },
	{ "[event a.b]\nrun = x\n[event b.c]\nretries = 1\n[hookgate]\n", 3,
	    "[event b.c] has no run = command" },
	{ "[event User.created]\n", 1, "bad event pattern 'User.created': "
	    "use lowercase letters" },
	{ "[event user]\n", 1, "bad event pattern 'user': event types have "
	    "a dot" },
	{ "[event user.*.x]\n", 1, "bad event pattern 'user.*.x'" },
	{ "[event *.created]\n", 1, "bad event pattern '*.created'" },
	{ "[event .a]\n", 1, "bad event pattern '.a': empty part" },
	{ "[event a.]\n", 1, "bad event pattern 'a.': empty part" },
	{ "[event a..b]\n", 1, "bad event pattern 'a..b': empty part" },
	{ "[event .*]\n", 1, "bad event pattern '.*'" },
	{ "[event  a.b]\n", 1, "bad event pattern ' a.b'" },
	{ "[event user-x.y]\n", 1, "bad event pattern 'user-x.y'" },
	{ "[event]\n", 1, "[event] needs a pattern" },
	{ "[event ]\n", 1, "[event ] needs a pattern" },
	{ "[events a.b]\n", 1, "unknown section [events a.b]" },
	{ "[event a.b]\nrun = x\ntimeout = 0\n", 3,
	    "bad value '0' for timeout: expected a duration" },
	{ "[event a.b]\nrun = x\nretries = -1\n", 3,
	    "bad value '-1' for retries: expected a whole number >= 0" },
	{ "[event a.b]\nrun = x\nbackoff = soon\n", 3,
	    "bad value 'soon' for backoff" },
	{ "[event a.b]\nrun = x\nconcurrency = 0\n", 3,
	    "bad value '0' for concurrency: expected a whole number >= 1" },
	{ "[event a.b]\nrun = x\nrequire = data.a:int\n", 3,
	    "bad require type 'int' for data.a: expected string, number, "
	    "object, array or bool" },
	{ "[event a.b]\nrun = x\nrequire = data.a\n  data..b\n", 4,
	    "bad require path 'data..b': empty part between dots" },
	{ "[event a.b]\nrun = x\nrequire = .a\n", 3,
	    "bad require path '.a'" },
	{ "[event a.b]\nrun = x\nrequire = a, b\n", 3,
	    "bad require path 'a,': separate paths with spaces" },
	{ "[event a.b]\nrun = x\nrequire = :string\n", 3,
	    "bad require path ''" },
	{ "[event a.b]\nrun = x\nenv = 1ABC\n", 3,
	    "bad variable name '1ABC' in env" },
	{ "[event a.b]\nrun = x\nenv = OK\n  A-B\n", 4,
	    "bad variable name 'A-B' in env" },
};

START_TEST(errors)
{
	assert_error(error_cases[_i].text, error_cases[_i].line,
	    error_cases[_i].msg);
}
END_TEST

/* Errors about secrets name the key, never the value. */
START_TEST(secret_never_in_message)
{
	assert_error("[signature]\nscheme = github\nsecret = topsecret\n"
	    "  moresecret\n", 4, "indented line continues 'secret'");
	ck_assert_ptr_null(strstr(err, "topsecret"));
	ck_assert_ptr_null(strstr(err, "moresecret"));
}
END_TEST

/* Whatever signature.c refuses, config_load refuses, at the secret. */
START_TEST(secret_checked_by_scheme)
{
	const char *bad = "whsec_%%%bad%%%";

	if (signature_check_secret(SCHEME_STANDARD, bad) == NULL)
		return;		/* signature.c accepts it: nothing to check */
	assert_error("[signature]\nscheme = standard\n"
	    "secret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
	    "secret = whsec_%%%bad%%%\n", 4,
	    "secret unusable with scheme standard: ");
	ck_assert_ptr_null(strstr(err, "%%%bad"));
}
END_TEST

START_TEST(multiple_secrets)
{
	char *key = write_file("key", "from-file\n", 0600);
	struct config *cfg = load("[signature]\nscheme = github\n"
	    "secret = old\nsecret = new\nsecret_file = key\n");

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(cfg->sig.nsecrets, 3);
	ck_assert_str_eq(cfg->sig.secrets[0], "old");
	ck_assert_str_eq(cfg->sig.secrets[1], "new");
	ck_assert_str_eq(cfg->sig.secrets[2], "from-file");
	config_free(cfg);
	free(key);
}
END_TEST

static const struct {
	mode_t		 mode;
	int		 ok;
} secret_mode_cases[] = {
	{ 0600, 1 }, { 0400, 1 }, { 0700, 1 },
	{ 0644, 0 }, { 0640, 0 }, { 0604, 0 }, { 0610, 0 }, { 0601, 0 },
};

START_TEST(secret_file_mode)
{
	char *key = write_file("key", "s3cr3t\n", secret_mode_cases[_i].mode);
	char *msg = xasprintf("secret_file %s is open to group or others "
	    "(mode %04o): chmod 600 it", key,
	    (unsigned)secret_mode_cases[_i].mode);
	const char *text = "[signature]\nsecret_file = key\nscheme = github\n";
	struct config *cfg;

	if (secret_mode_cases[_i].ok) {
		cfg = load(text);
		ck_assert_msg(cfg != NULL, "%s", err);
		ck_assert_str_eq(cfg->sig.secrets[0], "s3cr3t");
		config_free(cfg);
	} else
		assert_error(text, 2, msg);
	free(msg);
	free(key);
}
END_TEST

/* Relative to the config's folder, not the working directory. */
START_TEST(secret_file_relative_and_trimmed)
{
	struct config *cfg;
	char *key, *dir = in_tmp("keys");

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	free(dir);
	key = write_file("keys/hook", "whsec_abc \t\r\n\n", 0600);
	ck_assert_int_eq(chdir("/"), 0);
	cfg = load("[signature]\nsecret_file = keys/hook\n");
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->sig.secrets[0], "whsec_abc");
	config_free(cfg);
	free(key);
}
END_TEST

/* Rotation is several secret = lines; secret_file is one file. */
START_TEST(secret_file_twice)
{
	char *key = write_file("key", "k\n", 0600);

	assert_error("[signature]\nsecret_file = key\nsecret = s\n"
	    "secret_file = key\n", 4, "duplicate key 'secret_file' in "
	    "[signature] (first at line 2)");
	free(key);
}
END_TEST

START_TEST(secret_file_missing)
{
	char *msg = xasprintf("secret_file %s/nothere: No such file", tmpdir);

	assert_error("[signature]\nscheme = github\nsecret_file = nothere\n",
	    3, msg);
	free(msg);
}
END_TEST

START_TEST(secret_file_bad_content)
{
	char *a = write_file("empty", "\n\n", 0600);
	char *b = write_file("two", "one\ntwo\n", 0600);
	char *msg;

	msg = xasprintf("secret_file %s is empty", a);
	assert_error("[signature]\nsecret_file = empty\n", 2, msg);
	free(msg);
	msg = xasprintf("secret_file %s must hold one line", b);
	assert_error("[signature]\nsecret_file = two\n", 2, msg);
	free(msg);
	free(a);
	free(b);
}
END_TEST

START_TEST(relative_paths)
{
	struct config *cfg;

	ck_assert_int_eq(chdir("/"), 0);
	cfg = load(UNSIGNED "[hookgate]\nstate_dir = data/state\n"
	    "log = logs/hookgate.log\n[event a.b]\nrun = x\nworkdir = hooks\n"
	    "[event c.d]\nrun = y\nworkdir = /opt/h\n");
	ck_assert_msg(cfg != NULL, "%s", err);
	assert_path(cfg->state_dir, "data/state");
	assert_path(cfg->log, "logs/hookgate.log");
	assert_path(cfg->routes[0].workdir, "hooks");
	ck_assert_str_eq(cfg->routes[1].workdir, "/opt/h");
	config_free(cfg);
}
END_TEST

/* A relative or symlinked config path still gives absolute path and dir. */
START_TEST(config_path_resolved)
{
	struct config *cfg;
	char *real, *link, *dir = in_tmp("etc");

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	free(dir);
	real = write_file("etc/real.conf", UNSIGNED, 0644);
	link = in_tmp("link.conf");
	ck_assert_int_eq(symlink(real, link), 0);
	ck_assert_int_eq(chdir(tmpdir), 0);

	cfg = config_load("link.conf", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->path, real);
	assert_path(cfg->dir, "etc");
	assert_path(cfg->state_dir, "etc/state");
	config_free(cfg);

	cfg = config_load("etc/../etc/real.conf", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->path, real);
	config_free(cfg);
	free(real);
	free(link);
}
END_TEST

START_TEST(missing_file)
{
	ck_assert_ptr_null(config_load("/nonexistent/hookgate.conf", err,
	    sizeof(err)));
	ck_assert_str_eq(err,
	    "/nonexistent/hookgate.conf: No such file or directory");
	ck_assert_ptr_null(config_load(tmpdir, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "Is a directory"));
	config_free(NULL);
}
END_TEST

START_TEST(require_and_env)
{
	struct config *cfg = load(UNSIGNED
	    "[event user.created]\n"
	    "run = x\n"
	    "require = data.user_id data.email:string\n"
	    "    data.n:number\tdata.o:object\n"
	    "    ; a comment does not end the list\n"
	    "\n"
	    "    data.a:array data.b:bool id:STRING\n"
	    "env = HOME\n"
	    "  MY_VAR _x\n"
	    "[event user.*]\n"
	    "run = y\n"
	    "require =\n"
	    "  data.user_id\n"
	    "env =\n");
	const struct route *r;
	static const struct {
		const char	*path;
		enum req_type	 type;
	} want[] = {
		{ "data.user_id", REQ_ANY }, { "data.email", REQ_STRING },
		{ "data.n", REQ_NUMBER }, { "data.o", REQ_OBJECT },
		{ "data.a", REQ_ARRAY }, { "data.b", REQ_BOOL },
		{ "id", REQ_STRING },
	};
	size_t i;

	ck_assert_msg(cfg != NULL, "%s", err);
	r = &cfg->routes[0];
	ck_assert_uint_eq(r->nrequire, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r->nrequire; i++) {
		ck_assert_str_eq(r->require[i].path, want[i].path);
		ck_assert_int_eq(r->require[i].type, want[i].type);
	}
	ck_assert_uint_eq(r->nenv, 3);
	ck_assert_str_eq(r->env[0], "HOME");
	ck_assert_str_eq(r->env[1], "MY_VAR");
	ck_assert_str_eq(r->env[2], "_x");
	r = &cfg->routes[1];
	ck_assert_uint_eq(r->nrequire, 1);
	ck_assert_str_eq(r->require[0].path, "data.user_id");
	ck_assert_uint_eq(r->nenv, 0);
	config_free(cfg);
}
END_TEST

/* Sections listed out of order, so the file's order cannot decide. */
static const char route_conf[] =
    UNSIGNED
    "[event *]\nrun = any\n"
    "[event project.sub.*]\nrun = project.sub.*\n"
    "[event project.*]\nrun = project.*\n"
    "[event project.sub.deploy]\nrun = project.sub.deploy\n"
    "[event user.*]\nrun = user.*\n"
    "[event user.created]\nrun = user.created\n";

static const struct {
	const char	*type;
	const char	*run;		/* of the route, NULL: none */
	const char	*run_no_star;	/* the same without [event *] */
} route_cases[] = {
	{ "user.created", "user.created", "user.created" },
	{ "user.deleted", "user.*", "user.*" },
	{ "user.created.x", "user.*", "user.*" },
	{ "project.updated", "project.*", "project.*" },
	{ "project.a.b", "project.*", "project.*" },
	{ "project.sub", "project.*", "project.*" },
	{ "project.sub.x", "project.sub.*", "project.sub.*" },
	{ "project.sub.x.y", "project.sub.*", "project.sub.*" },
	{ "project.sub.deploy", "project.sub.deploy", "project.sub.deploy" },
	{ "projects.created", "any", NULL },
	{ "project", "any", NULL },
	{ "users.created", "any", NULL },
	{ "other.thing", "any", NULL },
};

START_TEST(routing)
{
	struct config *cfg = load(route_conf);
	const struct route *r;
	const char *star = strstr(route_conf, "[event *]\nrun = any\n");
	char *text;

	ck_assert_msg(cfg != NULL, "%s", err);
	r = config_route(cfg, route_cases[_i].type);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->run, route_cases[_i].run);
	config_free(cfg);

	/* Again without the catch-all section. */
	text = xasprintf("%.*s%s", (int)(star - route_conf), route_conf,
	    star + strlen("[event *]\nrun = any\n"));
	cfg = load(text);
	ck_assert_msg(cfg != NULL, "%s", err);
	r = config_route(cfg, route_cases[_i].type);
	if (route_cases[_i].run_no_star == NULL)
		ck_assert_ptr_null(r);
	else {
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(r->run, route_cases[_i].run_no_star);
	}
	config_free(cfg);
	free(text);
}
END_TEST

/* The longest line inih can hold loads; one more character is an error. */
START_TEST(long_lines)
{
	int max = INI_MAX_LINE - 1;
	char line[INI_MAX_LINE + 2], *text;
	struct config *cfg;

	memset(line, 'x', sizeof(line));
	memcpy(line, "run = ", 6);
	line[max] = '\0';
	text = xasprintf(UNSIGNED "[event a.b]\n%s\n", line);
	cfg = load(text);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_uint_eq(strlen(cfg->routes[0].run), (size_t)max - 6);
	config_free(cfg);
	free(text);

	/* Without a final newline, too. */
	text = xasprintf(UNSIGNED "[event a.b]\n%s", line);
	cfg = load(text);
	ck_assert_msg(cfg != NULL, "%s", err);
	config_free(cfg);
	free(text);

	line[max] = 'x';
	line[max + 1] = '\0';
	text = xasprintf(UNSIGNED "[event a.b]\n%s\nretries = 1\n", line);
	assert_error(text, 4, "line longer than");
	free(text);
}
END_TEST

/* inih would cut a longer section name short; we refuse it. */
START_TEST(long_section_name)
{
	char pat[64], *text;
	struct config *cfg;

	memset(pat, 'a', sizeof(pat));
	memcpy(pat, "a.", 2);
	pat[49 - 6] = '\0';		/* "event " + 43 = 49 */
	text = xasprintf(UNSIGNED "[event %s]\nrun = x\n", pat);
	cfg = load(text);
	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->routes[0].pattern, pat);
	config_free(cfg);
	free(text);

	pat[43] = 'a';
	pat[44] = '\0';
	text = xasprintf(UNSIGNED "[event %s]\nrun = x\n", pat);
	assert_error(text, 3, "section name longer than 49 characters");
	free(text);
}
END_TEST

START_TEST(nul_byte)
{
	static const char text[] = UNSIGNED "[hookgate]\nlog = a\0b\n";
	char *path = write_bytes("hookgate.conf", text, sizeof(text) - 1,
	    0644);
	char *want = xasprintf("%s:4: NUL byte", path);

	ck_assert_ptr_null(config_load(path, err, sizeof(err)));
	ck_assert_str_eq(err, want);
	free(want);
	free(path);
}
END_TEST

/* Files edited on Windows: CRLF line ends and a byte order mark. */
START_TEST(crlf_and_bom)
{
	struct config *cfg = load("\xEF\xBB\xBF[signature]\r\nscheme = none\r\n"
	    "[event a.b]\r\nrun = x\r\nrequire = a\r\n  b:string\r\n");

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(cfg->routes[0].run, "x");
	ck_assert_uint_eq(cfg->routes[0].nrequire, 2);
	ck_assert_str_eq(cfg->routes[0].require[1].path, "b");
	ck_assert_int_eq(cfg->routes[0].require[1].type, REQ_STRING);
	config_free(cfg);
}
END_TEST

/* Makes tmpdir/sub/hookgate.conf; returns its path to free. */
static char *
conf_in(const char *sub)
{
	char *dir = in_tmp(sub), *name = xasprintf("%s/hookgate.conf", sub);
	char *path;

	ck_assert_int_eq(mkdir(dir, 0755), 0);
	path = write_file(name, UNSIGNED, 0644);
	free(dir);
	free(name);
	return path;
}

/* Skips config_find tests whose answer a real installed file would change. */
static int
stray_config(void)
{
	char exe[PATH_MAX], *slash, *beside;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int found;

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	beside = xasprintf("%s/hookgate.conf", exe);
	found = access(beside, F_OK) == 0 ||
	    access(SYSCONFDIR "/hookgate.conf", F_OK) == 0;
	free(beside);
	return found;
}

START_TEST(find_order)
{
	char *opt = conf_in("opt"), *env = conf_in("env");
	char *bin = conf_in("bin"), *argv0 = in_tmp("bin/hookgate");
	char *missing = in_tmp("nothere.conf"), *got;

	if (stray_config())
		return;
	/* -c wins over everything, and a missing one has no fallback */
	setenv("HOOKGATE_CONFIG", env, 1);
	got = config_find(opt, argv0, err, sizeof(err));
	ck_assert_str_eq(got, opt);
	free(got);
	ck_assert_ptr_null(config_find(missing, argv0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, missing));

	/* then $HOOKGATE_CONFIG, over the executable's folder */
	got = config_find(NULL, argv0, err, sizeof(err));
	ck_assert_str_eq(got, env);
	free(got);

	/* unset, empty or missing: beside the executable */
	unsetenv("HOOKGATE_CONFIG");
	got = config_find(NULL, argv0, err, sizeof(err));
	ck_assert_str_eq(got, bin);
	free(got);
	setenv("HOOKGATE_CONFIG", "", 1);
	got = config_find(NULL, argv0, err, sizeof(err));
	ck_assert_str_eq(got, bin);
	free(got);
	setenv("HOOKGATE_CONFIG", missing, 1);
	got = config_find(NULL, argv0, err, sizeof(err));
	ck_assert_str_eq(got, bin);
	free(got);

	free(opt);
	free(env);
	free(bin);
	free(argv0);
	free(missing);
}
END_TEST

START_TEST(find_nothing)
{
	char *missing = in_tmp("nothere.conf"), *argv0 = in_tmp("hookgate");
	char *beside = in_tmp("hookgate.conf");

	if (stray_config())
		return;
	setenv("HOOKGATE_CONFIG", missing, 1);
	ck_assert_ptr_null(config_find(NULL, argv0, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no config file"));
	ck_assert_ptr_nonnull(strstr(err, missing));
	ck_assert_ptr_nonnull(strstr(err, beside));
	ck_assert_ptr_nonnull(strstr(err, SYSCONFDIR "/hookgate.conf"));
	/* $HOOKGATE_CONFIG is tried before the executable's folder */
	ck_assert(strstr(err, missing) < strstr(err, beside));

	unsetenv("HOOKGATE_CONFIG");
	ck_assert_ptr_null(config_find(NULL, "hookgate", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, SYSCONFDIR "/hookgate.conf"));
	free(missing);
	free(argv0);
	free(beside);
}
END_TEST

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

static TCase *
tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, setup, teardown);
	return tc;
}

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase("load");
	tcase_add_test(tc, spec_example_loads);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, every_value_set);
	tcase_add_loop_test(tc, sizes, 0, NCASES(size_cases));
	tcase_add_loop_test(tc, durations, 0, NCASES(duration_cases));
	tcase_add_loop_test(tc, booleans, 0, NCASES(bool_cases));
	tcase_add_test(tc, require_and_env);
	tcase_add_test(tc, relative_paths);
	tcase_add_test(tc, config_path_resolved);
	tcase_add_test(tc, crlf_and_bom);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, long_section_name);
	suite_add_tcase(s, tc);

	tc = tcase("errors");
	tcase_add_loop_test(tc, errors, 0, NCASES(error_cases));
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, nul_byte);
	suite_add_tcase(s, tc);

	tc = tcase("secrets");
	tcase_add_test(tc, multiple_secrets);
	tcase_add_loop_test(tc, secret_file_mode, 0, NCASES(secret_mode_cases));
	tcase_add_test(tc, secret_file_relative_and_trimmed);
	tcase_add_test(tc, secret_file_missing);
	tcase_add_test(tc, secret_file_twice);
	tcase_add_test(tc, secret_file_bad_content);
	tcase_add_test(tc, secret_never_in_message);
	tcase_add_test(tc, secret_checked_by_scheme);
	suite_add_tcase(s, tc);

	tc = tcase("route");
	tcase_add_loop_test(tc, routing, 0, NCASES(route_cases));
	suite_add_tcase(s, tc);

	tc = tcase("find");
	tcase_add_test(tc, find_order);
	tcase_add_test(tc, find_nothing);
	suite_add_tcase(s, tc);

	return run_suite(s);
}
