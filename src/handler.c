/*
 * handler.c -- one delivery through the checks of SPEC.md's HTTP table, in
 * the table's order; the first failing check decides the answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "dispatch.h"
#include "event.h"
#include "handler.h"
#include "log.h"
#include "respond.h"
#include "signature.h"
#include "util.h"

/* Seconds a sender is asked to wait before retrying after a 503. */
#define RETRY_AFTER_BUSY	60
#define RETRY_AFTER_UNAVAILABLE	10
/* How often a long-lived process looks at its config file's mtime. */
#define RELOAD_CHECK_MS		1000

/*
 * A config and the store opened for it. Each request holds the setup in
 * force when it starts until it has answered, so a reload never frees a
 * config or closes a store under a request of another thread: the last
 * holder frees it. Setups whose store settings match share the one
 * store the handler keeps open (setup_store()).
 */
struct setup {
	struct config	*cfg;		/* owned */
	struct store	*store;		/* a hold; opened on first use */
	int		 refs;		/* under handler.mu */
};

/* What one request carries through the checks; lives on the stack. */
struct delivery {
	struct request	*req;
	struct setup	*su;		/* held for the request */
	const struct config *cfg;	/* su->cfg */
	struct answer	 ans;
	struct event	 ev;
	const char	*method;
	int		 authenticated;	/* the id may be logged */
};

static struct timespec
file_mtime(const char *path)
{
	struct timespec zero = { 0, 0 };
	struct stat st;

	if (path == NULL || stat(path, &st) == -1)
		return zero;
	return st.st_mtim;
}

/* Loads the config file; logs and returns NULL when it cannot. */
static struct config *
handler_load(const char *path)
{
	struct config *cfg;
	char err[512], q[600];

	if ((cfg = config_load(path, err, sizeof(err))) == NULL)
		log_write(LOG_LEVEL_ERROR, "msg=\"config failed to load\" "
		    "error=%s", log_quote(err, q, sizeof(q)));
	return cfg;
}

/* A setup of cfg (taken over) with one reference: the handler's. */
static struct setup *
setup_new(struct config *cfg)
{
	struct setup *su = xcalloc(1, sizeof(*su));

	su->cfg = cfg;
	su->refs = 1;
	return su;
}

/* Drops a reference; under h->mu. The last frees the setup. */
static void
setup_unref(struct setup *su)
{
	if (su == NULL || --su->refs > 0)
		return;
	store_close(su->store);
	config_free(su->cfg);
	free(su);
}

void
handler_init(struct handler *h, const char *path)
{
	struct config *cfg;

	memset(h, 0, sizeof(*h));
	if (pthread_mutex_init(&h->mu, NULL) != 0)
		fatal_oom();
	h->config_path = xstrdup(path);
	h->mtime = file_mtime(path);
	h->checked_ms = now_ms();
	if ((cfg = handler_load(path)) == NULL)
		return;
	h->cur = setup_new(cfg);
	if (log_open(cfg->log) == -1)
		log_write(LOG_LEVEL_ERROR, "msg=\"cannot open log file, "
		    "using stderr\" path=%s", cfg->log);
}

/* After every request thread has ended. */
void
handler_cleanup(struct handler *h)
{
	setup_unref(h->cur);
	store_close(h->store);
	free(h->store_dir);
	free(h->config_path);
	pthread_mutex_destroy(&h->mu);
	memset(h, 0, sizeof(*h));
}

/* Was the handler's store opened with cfg's settings? Under h->mu. */
static int
store_fits(const struct handler *h, const struct config *cfg)
{
	return h->store != NULL && strcmp(h->store_dir, cfg->state_dir) == 0 &&
	    h->store_opt.durability == cfg->durability &&
	    h->store_opt.max_body == cfg->max_body;
}

/* Lets go of the handler's store; setups that hold it keep it open. */
static void
handler_drop_store(struct handler *h)
{
	store_close(h->store);
	free(h->store_dir);
	h->store = NULL;
	h->store_dir = NULL;
}

/*
 * Reloads the config when its file changed; under h->mu. A config that
 * fails to load is logged and the last good one stays in force. Checked
 * at most once a second so a busy responder does not stat() per request.
 */
static void
handler_maybe_reload(struct handler *h)
{
	struct config *cfg;
	struct setup *su;
	struct timespec mt;
	int64_t now = now_ms();

	if (now - h->checked_ms < RELOAD_CHECK_MS)
		return;
	h->checked_ms = now;
	mt = file_mtime(h->config_path);
	if (mt.tv_sec == h->mtime.tv_sec && mt.tv_nsec == h->mtime.tv_nsec)
		return;
	h->mtime = mt;
	if ((cfg = handler_load(h->config_path)) == NULL)
		return;		/* the last good config stays in force */
	/* New settings: the old store closes with its last request. */
	if (!store_fits(h, cfg))
		handler_drop_store(h);
	su = setup_new(cfg);
	setup_unref(h->cur);
	h->cur = su;
	log_write(LOG_LEVEL_INFO, "msg=\"config reloaded\" path=%s",
	    h->config_path);
}

/* The setup in force, held until setup_release(); NULL if none loads. */
static struct setup *
setup_acquire(struct handler *h)
{
	struct setup *su;

	pthread_mutex_lock(&h->mu);
	handler_maybe_reload(h);
	if ((su = h->cur) != NULL)
		su->refs++;
	pthread_mutex_unlock(&h->mu);
	return su;
}

static void
setup_release(struct handler *h, struct setup *su)
{
	pthread_mutex_lock(&h->mu);
	setup_unref(su);
	pthread_mutex_unlock(&h->mu);
}

/*
 * Opens a store for su, which the handler's does not fit; under h->mu. It
 * becomes the handler's when su is in force (or the handler has none): a
 * setup a reload replaced keeps its store to itself.
 */
static void
setup_open_store(struct handler *h, struct setup *su)
{
	struct store_options opt;
	char err[512];

	opt.max_body = su->cfg->max_body;
	opt.durability = su->cfg->durability;
	if ((su->store = store_open(su->cfg->state_dir, &opt, err,
	    sizeof(err))) == NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store unavailable\" "
		    "error=\"%s\"", err);
		return;
	}
	if (su != h->cur && h->store != NULL)
		return;
	handler_drop_store(h);
	h->store = store_hold(su->store);
	h->store_dir = xstrdup(su->cfg->state_dir);
	h->store_opt = opt;
}

/*
 * The setup's store, opened on first use (under h->mu, so one thread
 * opens it while the others wait). Returns NULL (logged) when it cannot.
 *
 * A process may hold one handle per environment, so the handler keeps
 * the store it opened, and every setup whose settings match takes a hold
 * on it: the setup in force, one a reload replaced while a request still
 * held it, or a new one, whichever asks first. A reload that changes the
 * settings lets the handler's hold go; until the old store's last
 * request is done, the new one cannot open (a 503, and the next request
 * tries again).
 */
static struct store *
setup_store(struct handler *h, struct setup *su)
{
	struct store *st;

	pthread_mutex_lock(&h->mu);
	if (su->store == NULL && store_fits(h, su->cfg))
		su->store = store_hold(h->store);
	else if (su->store == NULL)
		setup_open_store(h, su);
	st = su->store;
	pthread_mutex_unlock(&h->mu);
	return st;
}

/* The path below the mount: PATH_INFO, else REQUEST_URI without query. */
static int
is_health_path(const struct request *req)
{
	const char *p = request_param(req, "PATH_INFO");
	size_t n;

	if (p == NULL || *p == '\0')
		p = request_param(req, "REQUEST_URI");
	if (p == NULL)
		return 0;
	n = strcspn(p, "?");
	return n >= 7 && strncmp(p + n - 7, "/health", 7) == 0;
}

/* "application/json", any case, optionally followed by ";params". */
static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static int
reject(struct delivery *d, int http, const char *error)
{
	answer_set(&d->ans, http, "rejected", error);
	return -1;
}

static int
check_health(struct handler *h, struct delivery *d,
    struct store_counts *counts)
{
	struct store *st;

	if (!d->cfg->health || !is_health_path(d->req) ||
	    (strcmp(d->method, "GET") != 0 && strcmp(d->method, "HEAD") != 0))
		return 0;
	d->ans.head = strcmp(d->method, "HEAD") == 0;
	if ((st = setup_store(h, d->su)) == NULL || store_count(st, counts) == -1) {
		answer_set(&d->ans, 503, "unavailable", "store unavailable");
		d->ans.retry_after = RETRY_AFTER_UNAVAILABLE;
		return 1;
	}
	answer_set(&d->ans, 200, "ok", NULL);
	d->ans.counts = counts;
	d->ans.now_ms = now_ms();
	return 1;
}

/* Method, transport, size, length and content type: the HTTP-level rows. */
static int
check_http(struct delivery *d,
    const struct body_reader *rd)
{
	const char *https;

	if (strcmp(d->method, "POST") != 0) {
		d->ans.allow_post = 1;
		return reject(d, 405, "method not allowed");
	}
	https = request_param(d->req, "HTTPS");
	if (d->cfg->require_https &&
	    (https == NULL || strcasecmp(https, "on") != 0))
		return reject(d, 403, "HTTPS required");
	switch (request_read_body(d->req, rd, d->cfg->max_body)) {
	case BODY_OK:
		break;
	case BODY_TOO_LARGE:
		return reject(d, 413, "body larger than max_body");
	case BODY_LENGTH_MISMATCH:
		return reject(d, 400, "body length differs from Content-Length");
	case BODY_BAD_LENGTH:
		return reject(d, 400, "invalid Content-Length");
	default:
		return reject(d, 400, "body could not be read");
	}
	if (d->req->dup_param)
		return reject(d, 400, "a header was sent twice");
	if (!is_json_type(request_param(d->req, "CONTENT_TYPE")))
		return reject(d, 415, "Content-Type must be application/json");
	return 0;
}

static int
check_signature(struct delivery *d)
{
	const char *reason = NULL;

	if (d->cfg->sig.scheme == SCHEME_NONE)
		log_write(LOG_LEVEL_WARN, "msg=\"signature checks are off "
		    "(scheme = none)\"");
	if (signature_verify(&d->cfg->sig, d->req, d->req->body,
	    d->req->body_len, time(NULL), &reason) != SIG_OK)
		return reject(d, 401, reason != NULL ? reason :
		    "invalid signature");
	d->authenticated = 1;
	return 0;
}

static int
check_event(struct delivery *d)
{
	char msg[300];

	switch (event_parse(&d->ev, d->req->body, d->req->body_len, d->cfg)) {
	case EVENT_OK:
		break;
	case EVENT_UNROUTED:
		answer_set_id(&d->ans, d->ev.id, d->ev.id_len);
		if (!d->cfg->unrouted_reject)
			break;
		snprintf(msg, sizeof(msg), "no route for type %s", d->ev.type);
		return reject(d, 422, msg);
	case EVENT_INVALID:
		if (d->ev.id != NULL)
			answer_set_id(&d->ans, d->ev.id, d->ev.id_len);
		return reject(d, 422, d->ev.error);
	default:
		return reject(d, 400, d->ev.error);
	}
	answer_set_id(&d->ans, d->ev.id, d->ev.id_len);
	return 0;
}

/* Records the event; the answer goes out only after the commit. */
static void
record_event(struct handler *h, struct delivery *d)
{
	struct store_new_event ne;
	struct store *st;

	memset(&ne, 0, sizeof(ne));
	ne.id = d->ev.id;
	ne.id_len = d->ev.id_len;
	ne.type = d->ev.type;
	ne.created_at = d->ev.created_at;
	ne.route = d->ev.route != NULL ? d->ev.route->pattern : NULL;
	ne.body = d->req->body;
	ne.body_len = d->req->body_len;
	ne.queue = d->ev.route != NULL;
	ne.max_queue = d->cfg->max_queue;
	if ((st = setup_store(h, d->su)) == NULL) {
		answer_set(&d->ans, 503, "unavailable", "store unavailable");
		d->ans.retry_after = RETRY_AFTER_UNAVAILABLE;
		return;
	}
	switch (store_accept(st, &ne)) {
	case STORE_OK:
		if (ne.queue) {
			answer_set(&d->ans, d->cfg->accepted_status,
			    "accepted", NULL);
			pthread_mutex_lock(&h->mu);
			h->work_queued = 1;
			pthread_mutex_unlock(&h->mu);
		} else
			answer_set(&d->ans, 202, "ignored", NULL);
		break;
	case STORE_DUPLICATE:
		answer_set(&d->ans, 200, "duplicate", NULL);
		break;
	case STORE_FULL:
		answer_set(&d->ans, 503, "busy", "queue full");
		d->ans.retry_after = RETRY_AFTER_BUSY;
		break;
	default:
		answer_set(&d->ans, 503, "unavailable", "store unavailable");
		d->ans.retry_after = RETRY_AFTER_UNAVAILABLE;
		break;
	}
}

/* One logfmt line per request outcome; ids only once authenticated. */
static void
log_outcome(const struct delivery *d)
{
	char id[600], type[600], err[600];

	if (!d->authenticated || d->ev.id == NULL) {
		log_write(d->ans.http >= 500 ? LOG_LEVEL_ERROR :
		    LOG_LEVEL_INFO, "status=%s http=%d error=%s", d->ans.status,
		    d->ans.http, log_quote(d->ans.error, err, sizeof(err)));
		return;
	}
	log_write(d->ans.http >= 500 ? LOG_LEVEL_ERROR : LOG_LEVEL_INFO,
	    "id=%s type=%s status=%s http=%d%s%s",
	    log_quote(d->ans.id, id, sizeof(id)),
	    log_quote(d->ev.type != NULL ? d->ev.type : "", type, sizeof(type)),
	    d->ans.status, d->ans.http, d->ans.error[0] ? " error=" : "",
	    d->ans.error[0] ? log_quote(d->ans.error, err, sizeof(err)) : "");
}

/* The answer when no config has loaded yet. */
static char *
serve_unconfigured(struct delivery *d, size_t *len)
{
	answer_set(&d->ans, 503, "unavailable", "configuration error");
	d->ans.retry_after = RETRY_AFTER_UNAVAILABLE;
	log_outcome(d);
	return respond_render(&d->ans, len);
}

char *
handler_serve(struct handler *h, struct request *req,
    const struct body_reader *rd, size_t *len)
{
	struct store_counts counts;
	struct delivery d;
	char *out;

	memset(&d, 0, sizeof(d));
	d.req = req;
	d.method = request_param(req, "REQUEST_METHOD");
	if (d.method == NULL)
		d.method = "";
	if ((d.su = setup_acquire(h)) == NULL)
		return serve_unconfigured(&d, len);
	d.cfg = d.su->cfg;
	if (check_health(h, &d, &counts)) {
		out = respond_render(&d.ans, len);
		setup_release(h, d.su);
		return out;
	}
	if (check_http(&d, rd) == 0 && check_signature(&d) == 0 &&
	    check_event(&d) == 0)
		record_event(h, &d);
	log_outcome(&d);
	out = respond_render(&d.ans, len);
	event_free(&d.ev);
	setup_release(h, d.su);
	return out;
}

/* The drainer is started outside the request's hold (a fork), with the
   config then in force. */
void
handler_idle(struct handler *h)
{
	struct setup *su;
	int queued;

	pthread_mutex_lock(&h->mu);
	queued = h->work_queued;
	h->work_queued = 0;
	pthread_mutex_unlock(&h->mu);
	if (!queued || (su = setup_acquire(h)) == NULL)
		return;
	dispatch_kick(su->cfg, h->config_path);
	setup_release(h, su);
}

/* Berkeley DB skips the checkpoint when the log has not grown enough. */
void
handler_checkpoint(struct handler *h)
{
	struct setup *su;

	if ((su = setup_acquire(h)) == NULL)
		return;
	if (su->store != NULL)
		store_checkpoint(su->store);
	setup_release(h, su);
}

int
handler_threads(struct handler *h)
{
	int n = 1;

	pthread_mutex_lock(&h->mu);
	if (h->cur != NULL)
		n = h->cur->cfg->threads;
	pthread_mutex_unlock(&h->mu);
	return n;
}
