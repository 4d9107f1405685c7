/*
 * cli_store.c -- the commands that look into or steer the store: status,
 * list, show, replay, purge, drain. Text for people, --json for programs;
 * never a secret, and payloads only on request (show --payload).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "config.h"
#include "dispatch.h"
#include "store.h"
#include "util.h"

/* Opens the store for a command; prints why not and returns NULL. */
static struct store *
cli_store(const struct config *cfg)
{
	struct store_options so;
	struct store *st;
	char err[512];

	so.max_body = cfg->max_body;
	so.durability = cfg->durability;
	if ((st = store_open(cfg->state_dir, &so, err, sizeof(err))) == NULL)
		fprintf(stderr, "hookgate: %s\n", err);
	return st;
}

/* "2026-11-27T12:00:00Z" for a time in ms, into buf. */
static const char *
fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* "exit 1", "signal 9", "timeout", "not started" for an attempt. */
static const char *
fmt_outcome(const struct store_attempt *a, char *buf, size_t len)
{
	if (a->spawn_error)
		snprintf(buf, len, "not started (errno %d)", a->spawn_error);
	else if (a->timed_out)
		snprintf(buf, len, "timeout (signal %d)", a->signal);
	else if (a->exited)
		snprintf(buf, len, "exit %d", a->status);
	else if (a->signal)
		snprintf(buf, len, "signal %d", a->signal);
	else
		snprintf(buf, len, "not run");
	return buf;
}

static void
print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/* Every recorded event, collected for sorting and filtering. */
struct listing {
	struct listed {
		char			*id;
		struct store_event_info	 info;
	}		*v;
	size_t		 n;
};

static int
collect(void *ctx, const char *id, size_t id_len,
    const struct store_event_info *info)
{
	struct listing *l = ctx;

	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].id = xstrndup(id, id_len);
	l->v[l->n].info = *info;
	l->n++;
	return 0;
}

static int
newest_first(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	if (x->info.received_ms != y->info.received_ms)
		return x->info.received_ms < y->info.received_ms ? 1 : -1;
	return strcmp(x->id, y->id);
}

/* Loads every event, newest first. Returns 0, or -1 (printed). */
static int
listing_load(struct store *st, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	if (store_foreach(st, collect, l) == -1) {
		fprintf(stderr, "hookgate: cannot read the store\n");
		return -1;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), newest_first);
	return 0;
}

static void
listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].id);
	free(l->v);
}

/* The failed event received last and its last attempt, if any. */
static struct json_object *
last_failure(struct store *st, const struct listing *l)
{
	struct store_attempt_info *at = NULL;
	struct json_object *o;
	char buf[64];
	size_t i, n = 0;

	for (i = 0; i < l->n && l->v[i].info.state != STATE_FAILED; i++)
		;
	if (i == l->n)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(l->v[i].id));
	json_object_object_add(o, "type",
	    json_object_new_string(l->v[i].info.type));
	if (store_attempts(st, l->v[i].id, strlen(l->v[i].id), &at, &n) == 0 &&
	    n > 0) {
		json_object_object_add(o, "at", json_object_new_string(
		    fmt_time(at[n - 1].a.start_ms, buf, sizeof(buf))));
		json_object_object_add(o, "outcome", json_object_new_string(
		    fmt_outcome(&at[n - 1].a, buf, sizeof(buf))));
	}
	store_attempts_free(at, n);
	return o;
}

static struct json_object *
counts_json(const struct store_counts *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "queued", json_object_new_int64(c->queued));
	json_object_object_add(o, "running", json_object_new_int64(c->running));
	json_object_object_add(o, "retrying",
	    json_object_new_int64(c->retrying));
	json_object_object_add(o, "done", json_object_new_int64(c->done));
	json_object_object_add(o, "failed", json_object_new_int64(c->failed));
	json_object_object_add(o, "ignored", json_object_new_int64(c->ignored));
	return o;
}

static void
print_status_text(const struct store_counts *c, int64_t age,
    struct json_object *fail)
{
	struct json_object *v;

	printf("queued    %lu\nrunning   %lu\nretrying  %lu\n", c->queued,
	    c->running, c->retrying);
	printf("done      %lu\nfailed    %lu\nignored   %lu\n", c->done,
	    c->failed, c->ignored);
	if (age >= 0)
		printf("oldest pending: %llds ago\n", (long long)age);
	else
		printf("oldest pending: -\n");
	if (fail == NULL) {
		printf("last failure: -\n");
		return;
	}
	printf("last failure: %s", json_object_get_string(
	    json_object_object_get(fail, "id")));
	printf(" (%s)", json_object_get_string(
	    json_object_object_get(fail, "type")));
	if (json_object_object_get_ex(fail, "at", &v))
		printf(" at %s", json_object_get_string(v));
	if (json_object_object_get_ex(fail, "outcome", &v))
		printf(", %s", json_object_get_string(v));
	printf("\n");
}

int
cmd_status(int argc, char **argv, const struct config *cfg)
{
	struct store_counts c;
	struct json_object *o, *fail;
	struct listing l;
	struct store *st;
	int64_t age = -1;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: hookgate status [--json]\n");
		return 2;
	}
	if ((st = cli_store(cfg)) == NULL)
		return 1;
	if (store_count(st, &c) == -1 || listing_load(st, &l) == -1) {
		store_close(st);
		return 1;
	}
	if (c.oldest_pending_ms > 0)
		age = (now_ms() - c.oldest_pending_ms) / 1000;
	fail = last_failure(st, &l);
	if (json) {
		o = json_object_new_object();
		json_object_object_add(o, "counts", counts_json(&c));
		json_object_object_add(o, "oldest_pending_age",
		    age >= 0 ? json_object_new_int64(age) : NULL);
		json_object_object_add(o, "last_failure", fail);
		print_json(o);
	} else {
		print_status_text(&c, age, fail);
		json_object_put(fail);
	}
	listing_free(&l);
	store_close(st);
	return 0;
}

static struct json_object *
event_json(const char *id, const struct store_event_info *in)
{
	struct json_object *o = json_object_new_object();
	char buf[64];

	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "type", json_object_new_string(in->type));
	json_object_object_add(o, "state",
	    json_object_new_string(store_state_str(in->state)));
	json_object_object_add(o, "received", json_object_new_string(
	    fmt_time(in->received_ms, buf, sizeof(buf))));
	json_object_object_add(o, "created_at",
	    json_object_new_string(in->created_at));
	json_object_object_add(o, "attempts",
	    json_object_new_int64(in->attempts));
	json_object_object_add(o, "bytes", json_object_new_int64(
	    (int64_t)in->body_len));
	if (in->route[0] != '\0')
		json_object_object_add(o, "section",
		    json_object_new_string(in->route));
	if (in->due_ms > 0 && (in->state == STATE_RETRYING ||
	    in->state == STATE_QUEUED))
		json_object_object_add(o, "next_run", json_object_new_string(
		    fmt_time(in->due_ms, buf, sizeof(buf))));
	return o;
}

/* Parses a state name; -1 when unknown. */
static int
parse_state(const char *s)
{
	int st;

	for (st = STATE_QUEUED; st <= STATE_IGNORED; st++)
		if (strcmp(s, store_state_str((enum event_state)st)) == 0)
			return st;
	return -1;
}

int
cmd_list(int argc, char **argv, const struct config *cfg)
{
	const char *type = NULL;
	struct json_object *arr = NULL;
	struct listing l;
	struct store *st;
	char buf[64];
	long limit = 50, shown = 0;
	int i, state = 0, json = 0;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--state") == 0) {
			if ((state = parse_state(argv[++i])) == -1)
				goto usage;
		} else if (i + 1 < argc && strcmp(argv[i], "--type") == 0)
			type = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--limit") == 0) {
			limit = strtol(argv[++i], NULL, 10);
			if (limit <= 0)
				goto usage;
		} else
			goto usage;
	}
	if ((st = cli_store(cfg)) == NULL)
		return 1;
	if (listing_load(st, &l) == -1) {
		store_close(st);
		return 1;
	}
	if (json)
		arr = json_object_new_array();
	for (k = 0; k < l.n && shown < limit; k++) {
		const struct store_event_info *in = &l.v[k].info;

		if ((state != 0 && (int)in->state != state) ||
		    (type != NULL && strcmp(type, in->type) != 0))
			continue;
		shown++;
		if (json)
			json_object_array_add(arr, event_json(l.v[k].id, in));
		else
			printf("%s  %-8s  %-20s  %s  (attempts %u)\n",
			    fmt_time(in->received_ms, buf, sizeof(buf)),
			    store_state_str(in->state), in->type, l.v[k].id,
			    in->attempts);
	}
	if (json)
		print_json(arr);
	listing_free(&l);
	store_close(st);
	return 0;
usage:
	fprintf(stderr, "usage: hookgate list [--state S] [--type T] "
	    "[--limit N] [--json]\n");
	return 2;
}

/* Writes all of buf to stdout; raw bodies go out byte for byte. */
static int
write_out(const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, p, len)) <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
print_attempts_text(const struct store_attempt_info *at, size_t n)
{
	char buf[64], how[64];
	size_t i;

	for (i = 0; i < n; i++) {
		printf("attempt %u: %s, %s after %lld ms\n", at[i].attempt,
		    fmt_time(at[i].a.start_ms, buf, sizeof(buf)),
		    fmt_outcome(&at[i].a, how, sizeof(how)),
		    (long long)at[i].a.duration_ms);
		if (at[i].a.output_len > 0) {
			fwrite(at[i].a.output, 1, at[i].a.output_len, stdout);
			if (at[i].a.output[at[i].a.output_len - 1] != '\n')
				putchar('\n');
		}
	}
}

static struct json_object *
attempts_json(const struct store_attempt_info *at, size_t n)
{
	struct json_object *arr = json_object_new_array(), *o;
	char buf[64];
	size_t i;

	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "attempt",
		    json_object_new_int64(at[i].attempt));
		json_object_object_add(o, "start", json_object_new_string(
		    fmt_time(at[i].a.start_ms, buf, sizeof(buf))));
		json_object_object_add(o, "duration_ms",
		    json_object_new_int64(at[i].a.duration_ms));
		json_object_object_add(o, "outcome", json_object_new_string(
		    fmt_outcome(&at[i].a, buf, sizeof(buf))));
		if (at[i].a.exited)
			json_object_object_add(o, "exit",
			    json_object_new_int(at[i].a.status));
		json_object_object_add(o, "output", json_object_new_string_len(
		    at[i].a.output ? at[i].a.output : "",
		    (int)at[i].a.output_len));
		json_object_array_add(arr, o);
	}
	return arr;
}

enum show_what {
	SHOW_EVENT,
	SHOW_PAYLOAD,
	SHOW_OUTPUT
};

/* Prints one event as asked. Returns the exit status. */
static int
show_event(struct store *st, const char *id, enum show_what what, int json)
{
	struct store_attempt_info *at = NULL;
	struct store_event_info in;
	struct json_object *o;
	unsigned char *body = NULL;
	size_t len = 0, n = 0;
	int rc;

	rc = store_get(st, id, strlen(id), &in,
	    what == SHOW_PAYLOAD ? &body : NULL, &len);
	if (rc != 1) {
		fprintf(stderr, "hookgate: %s: %s\n", id,
		    rc == 0 ? "no such event" : "cannot read the store");
		return 1;
	}
	if (what == SHOW_PAYLOAD) {
		rc = write_out(body, len) == 0 ? 0 : 1;
		free(body);
		return rc;
	}
	if (store_attempts(st, id, strlen(id), &at, &n) == -1) {
		fprintf(stderr, "hookgate: cannot read the attempts\n");
		return 1;
	}
	if (what == SHOW_OUTPUT) {
		if (n > 0)
			write_out(at[n - 1].a.output, at[n - 1].a.output_len);
	} else if (json) {
		o = event_json(id, &in);
		json_object_object_add(o, "history", attempts_json(at, n));
		print_json(o);
	} else {
		o = event_json(id, &in);
		json_object_object_foreach(o, key, val)
			printf("%-11s %s\n", key, json_object_get_string(val));
		json_object_put(o);
		print_attempts_text(at, n);
	}
	store_attempts_free(at, n);
	return 0;
}

int
cmd_show(int argc, char **argv, const struct config *cfg)
{
	enum show_what what = SHOW_EVENT;
	const char *id = NULL;
	struct store *st;
	int i, json = 0, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--payload") == 0)
			what = SHOW_PAYLOAD;
		else if (strcmp(argv[i], "--output") == 0)
			what = SHOW_OUTPUT;
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (id == NULL && argv[i][0] != '-')
			id = argv[i];
		else
			goto usage;
	}
	if (id == NULL)
		goto usage;
	if ((st = cli_store(cfg)) == NULL)
		return 1;
	rc = show_event(st, id, what, json);
	store_close(st);
	return rc;
usage:
	fprintf(stderr, "usage: hookgate show ID [--payload | --output] "
	    "[--json]\n");
	return 2;
}

/* Replays one id and says what happened. Returns 0 or 1. */
static int
replay_one(struct store *st, const char *id)
{
	switch (store_replay(st, id, strlen(id), now_ms())) {
	case 1:
		printf("%s: queued\n", id);
		return 0;
	case 0:
		fprintf(stderr, "hookgate: %s: no such event\n", id);
		return 1;
	case 2:
		printf("%s: already pending\n", id);
		return 0;
	default:
		fprintf(stderr, "hookgate: %s: cannot write the store\n", id);
		return 1;
	}
}

int
cmd_replay(int argc, char **argv, const struct config *cfg,
    const char *path)
{
	struct listing l;
	struct store *st;
	size_t k;
	int i, rc = 0, failed = argc == 2 && strcmp(argv[1], "--failed") == 0;

	if (argc < 2 || (!failed && argv[1][0] == '-')) {
		fprintf(stderr, "usage: hookgate replay ID... | --failed\n");
		return 2;
	}
	if ((st = cli_store(cfg)) == NULL)
		return 1;
	if (failed) {
		if (listing_load(st, &l) == -1)
			rc = 1;
		else {
			for (k = 0; k < l.n; k++)
				if (l.v[k].info.state == STATE_FAILED)
					rc |= replay_one(st, l.v[k].id);
			listing_free(&l);
		}
	} else
		for (i = 1; i < argc; i++)
			rc |= replay_one(st, argv[i]);
	store_close(st);
	dispatch_kick(cfg, path);
	return rc;
}

int
cmd_purge(int argc, char **argv, const struct config *cfg)
{
	long long older = cfg->retention;
	unsigned long n = 0;
	struct store *st;
	int rc;

	if (argc == 3 && strcmp(argv[1], "--older-than") == 0) {
		if (parse_duration(argv[2], &older) == -1) {
			fprintf(stderr, "hookgate: bad duration %s\n", argv[2]);
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: hookgate purge [--older-than D]\n");
		return 2;
	}
	if ((st = cli_store(cfg)) == NULL)
		return 1;
	rc = store_purge(st, now_ms() - older * 1000, 1, &n);
	store_close(st);
	if (rc == -1) {
		fprintf(stderr, "hookgate: cannot write the store\n");
		return 1;
	}
	printf("purged %lu event%s\n", n, n == 1 ? "" : "s");
	return 0;
}

int
cmd_drain(int argc, char **argv, const char *path)
{
	struct dispatch_options opt;
	long long secs;
	int i;

	memset(&opt, 0, sizeof(opt));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--background") == 0)
			opt.background = 1;
		else if (i + 1 < argc && strcmp(argv[i], "--max-time") == 0 &&
		    parse_duration(argv[i + 1], &secs) == 0) {
			opt.max_time_ms = secs * 1000;
			i++;
		} else {
			fprintf(stderr, "usage: hookgate drain "
			    "[--max-time S]\n");
			return 2;
		}
	}
	return dispatch_drain(path, &opt);
}
