/*
 * config.h -- the INI config file (parsed with libinih) as an immutable
 * struct config. See README.md "Configuration" for every key.
 */
#ifndef HOOKGATE_CONFIG_H
#define HOOKGATE_CONFIG_H

#include <stddef.h>

enum durability {
	DURABILITY_FSYNC,	/* commit flushes the log: survives an OS crash */
	DURABILITY_WRITE	/* commit writes the log: survives a process crash */
};

enum scheme {
	SCHEME_NONE,
	SCHEME_STANDARD,	/* Standard Webhooks, also under svix-* names */
	SCHEME_GITHUB,
	SCHEME_STRIPE,
	SCHEME_SLACK,
	SCHEME_HMAC		/* generic: header, algorithm, encoding, prefix */
};

enum hmac_alg {
	HMAC_SHA256,
	HMAC_SHA512,
	HMAC_SHA1
};

enum hmac_enc {
	ENC_HEX,
	ENC_BASE64
};

/* The JSON type a `require` path must have; REQ_ANY only needs it to exist. */
enum req_type {
	REQ_ANY,
	REQ_STRING,
	REQ_NUMBER,
	REQ_OBJECT,
	REQ_ARRAY,
	REQ_BOOL
};

struct require {
	char		*path;		/* dotted, e.g. "data.user_id" */
	enum req_type	 type;
};

/* One [event PATTERN] section. */
struct route {
	char		*pattern;	/* "user.created", "project.*" or "*" */
	char		*run;		/* passed to /bin/sh -c */
	char		*workdir;	/* absolute; the config's folder by default */
	long long	 timeout;	/* seconds */
	int		 retries;
	long long	 backoff;	/* seconds, first retry delay */
	int		 concurrency;	/* 0: no limit beyond workers */
	struct require	*require;
	size_t		 nrequire;
	char		**env;		/* names of variables to pass on */
	size_t		 nenv;
	int		 line;		/* where the section starts */
	int		 run_line;	/* where run = is */
};

struct sigconfig {
	enum scheme	 scheme;
	char		**secrets;	/* as written (whsec_... kept verbatim) */
	size_t		 nsecrets;
	long long	 tolerance;	/* seconds, both directions */
	char		*header;	/* hmac: header name as sent, e.g. X-Foo-Sig */
	enum hmac_alg	 algorithm;	/* hmac */
	enum hmac_enc	 encoding;	/* hmac */
	char		*prefix;	/* hmac: e.g. "sha256=", or NULL */
};

#define CONFIG_THREADS_DEFAULT	8
#define CONFIG_THREADS_MAX	64

struct config {
	char		*path;		/* absolute path of the file loaded */
	char		*dir;		/* its folder: base of relative paths */
	char		*state_dir;	/* absolute */
	size_t		 max_body;
	int		 accepted_status;	/* 202 or 200 */
	int		 workers;
	int		 threads;	/* requests in flight per FastCGI process */
	long		 max_queue;
	long long	 retention;	/* seconds */
	enum durability	 durability;
	int		 unrouted_reject;
	int		 require_https;
	int		 health;
	char		*log;		/* "stderr", "syslog" or an absolute path */
	struct sigconfig sig;
	struct route	*routes;
	size_t		 nroutes;
	struct {			/* where keys were set, for messages */
		int	 state_dir;
		int	 max_body;
		int	 secret_file;	/* 0: none */
	}		 lines;
};

/*
 * Loads and validates the file at path. On success returns a config the
 * caller frees with config_free(). On failure returns NULL and writes
 * "file:line: message" into err.
 */
struct config	*config_load(const char *path, char *err, size_t errlen);
void		 config_free(struct config *);

/*
 * Finds the config file in the order SPEC.md gives: the -c argument (may be
 * NULL), $HOOKGATE_CONFIG, hookgate.conf beside the executable (argv0 or
 * /proc/self/exe), then SYSCONFDIR/hookgate.conf. Returns a malloc'd path
 * the caller frees, or NULL (with a message in err) when none exists.
 */
char		*config_find(const char *opt, const char *argv0, char *err,
		    size_t errlen);

/*
 * The one section an event type goes to: exact type, else the longest
 * matching "prefix.*", else "*". NULL when none matches. The route is
 * owned by cfg.
 */
const struct route *config_route(const struct config *cfg, const char *type);

#endif
