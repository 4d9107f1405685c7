/*
 * store_admin.c -- the store as the CLI sees it: counts by state, walks
 * of events.db in batches (purge, foreach), replay, the attempts of an
 * event, and the names of the states.
 */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/* Adds one decoded record to the counts. */
static void
counts_add(struct store_counts *c, const struct rec *r)
{
	switch (r->state) {
	case STATE_QUEUED:
		c->queued++;
		break;
	case STATE_RUNNING:
		c->running++;
		break;
	case STATE_RETRYING:
		c->retrying++;
		break;
	case STATE_DONE:
		c->done++;
		break;
	case STATE_FAILED:
		c->failed++;
		break;
	case STATE_IGNORED:
		c->ignored++;
		break;
	}
	if ((r->state == STATE_QUEUED || r->state == STATE_RETRYING ||
	    r->state == STATE_RUNNING) && (c->oldest_pending_ms == 0 ||
	    r->received_ms < c->oldest_pending_ms))
		c->oldest_pending_ms = r->received_ms;
}

/* Walks every event record, degree 2, counting by state. */
static int
op_count(struct store *s, void *arg)
{
	struct store_counts *c = arg;
	struct rec r;
	DB_TXN *txn;
	DBC *cur = NULL;
	DBT k, d;
	int ret;

	memset(c, 0, sizeof(*c));
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->events->cursor(s->events, txn, &cur,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	while ((ret = cur->get(cur, &k, &d, DB_NEXT)) == 0)
		if (rec_decode(d.data, d.size, &r) == 0)
			counts_add(c, &r);
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (cur != NULL)
		(void)cur->close(cur);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

int
store_count(struct store *s, struct store_counts *c)
{
	int ret;

	if ((ret = store_run(s, op_count, c)) != 0) {
		store_log_fail("count", ret);
		return -1;
	}
	return 0;
}

struct replay_arg {
	const char	*id;
	size_t		 id_len;
	int64_t		 now;
	int		 result;
};

struct event_item {
	char		 id[STORE_ID_MAX + 1];
	size_t		 id_len;
	struct store_event_info info;
};

/*
 * A batch of events.db records in hash order (op_event_scan()). A hash
 * has no order to resume from, so a batch ends on the key the next one
 * starts at (inclusive), which it has not taken.
 */
struct event_scan {
	unsigned	 states;	/* 1 << state for each wanted state */
	int64_t		 before;	/* received before */
	uint64_t	 max_bytes;	/* body bytes per batch (at least one) */
	unsigned char	 from[STORE_ID_MAX];
	size_t		 from_len;	/* 0: from the first */
	struct event_item items[EVENT_BATCH];
	size_t		 n;
	unsigned char	 next[STORE_ID_MAX];
	size_t		 next_len;	/* 0: the walk is over */
};

struct purge_arg {
	const struct event_scan *es;
	unsigned long	 removed;
};

struct attempts_arg {
	const char	*id;
	size_t		 id_len;
	struct store_attempt_info *v;
	size_t		 n;
};

/* 1 if the scan wants the record r. */
static int
event_wanted(const struct event_scan *es, const struct rec *r)
{
	return (es->states & (1u << r->state)) != 0 &&
	    r->received_ms < es->before;
}

/* Positions c on es->from, or on the first record. */
static int
event_cursor_start(DBC *c, const struct event_scan *es, DBT *k, DBT *d)
{
	int ret;

	if (es->from_len == 0)
		return c->get(c, k, d, DB_FIRST);
	k->data = xrealloc(k->data, es->from_len);
	memcpy(k->data, es->from, es->from_len);
	k->size = (u_int32_t)es->from_len;
	if ((ret = c->get(c, k, d, DB_SET)) != DB_NOTFOUND)
		return ret;
	/* Purged since the last batch: start over rather than stop. */
	log_write(LOG_LEVEL_INFO, "msg=\"store: events changed during a "
	    "walk; it starts over\"");
	return c->get(c, k, d, DB_FIRST);
}

/* Adds the record at k/d to the batch if wanted. */
static void
event_take(struct event_scan *es, const DBT *k, const DBT *d,
    uint64_t *bytes)
{
	struct event_item *it;
	struct rec r;

	if (rec_decode(d->data, d->size, &r) == -1 || !event_wanted(es, &r))
		return;
	it = &es->items[es->n++];
	memcpy(it->id, k->data, k->size);
	it->id[k->size] = '\0';
	it->id_len = k->size;
	rec_to_info(&r, &it->info);
	*bytes += r.body_len;
}

/*
 * Reads the next batch of wanted records, degree 2, ending at the key
 * the next batch starts at (es->next, which this one has not taken).
 */
static int
op_event_scan(struct store *s, void *arg)
{
	struct event_scan *es = arg;
	uint64_t bytes = 0;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret;

	es->n = 0;
	es->next_len = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->events->cursor(s->events, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	for (ret = event_cursor_start(c, es, &k, &d); ret == 0;
	    ret = c->get(c, &k, &d, DB_NEXT)) {
		if (k.size == 0 || k.size > STORE_ID_MAX)
			continue;	/* not one of ours */
		if (es->n == EVENT_BATCH || bytes >= es->max_bytes) {
			memcpy(es->next, k.data, k.size);
			es->next_len = k.size;
			break;
		}
		event_take(es, &k, &d, &bytes);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (c != NULL)
		(void)c->close(c);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

/* Makes the next op_event_scan() start where the last one ended. */
static void
event_scan_advance(struct event_scan *es)
{
	memcpy(es->from, es->next, es->next_len);
	es->from_len = es->next_len;
}

/* Deletes one purgeable event: record, body, attempts. */
static int
purge_one(struct store *s, DB_TXN *txn, const struct event_scan *es,
    const struct event_item *it, unsigned long *removed)
{
	struct time_key bk;
	struct rec r;
	void *buf;
	DBT k, bk_dbt;
	int ret;

	ret = event_read(s, txn, it->id, it->id_len, DB_RMW, &r, &buf);
	if (ret == 0 && !event_wanted(es, &r))
		ret = DB_NOTFOUND;	/* replayed since the scan: keep */
	free(buf);
	if (ret == DB_NOTFOUND || ret == EINVAL)
		return 0;
	if (ret != 0)
		return ret;
	dbt_in(&k, it->id, it->id_len);
	time_key_make(&bk, r.received_ms, it->id, it->id_len);
	dbt_in(&bk_dbt, bk.b, bk.len);
	if ((ret = s->events->del(s->events, txn, &k, 0)) != 0 ||
	    ((ret = s->bodies->del(s->bodies, txn, &bk_dbt, 0)) != 0 &&
	    ret != DB_NOTFOUND) ||
	    (ret = att_walk(s, txn, it->id, it->id_len, 1, NULL)) != 0)
		return ret;
	(*removed)++;
	return 0;
}

/* Deletes a scanned batch of events, checking each again under lock. */
static int
op_purge(struct store *s, void *arg)
{
	struct purge_arg *a = arg;
	DB_TXN *txn;
	size_t i;
	int ret = 0;

	a->removed = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	for (i = 0; i < a->es->n && ret == 0; i++)
		ret = purge_one(s, txn, a->es, &a->es->items[i], &a->removed);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

int
store_purge(struct store *s, int64_t before_ms, int failed_too,
    unsigned long *removed)
{
	struct event_scan *es;
	struct purge_arg a;
	int ret;

	*removed = 0;
	es = xcalloc(1, sizeof(*es));
	es->states = 1u << STATE_DONE | 1u << STATE_IGNORED |
	    (failed_too ? 1u << STATE_FAILED : 0);
	es->before = before_ms;
	es->max_bytes = PURGE_BYTES;
	a.es = es;
	do {
		if ((ret = store_run(s, op_event_scan, es)) != 0 ||
		    (es->n > 0 && (ret = store_run(s, op_purge, &a)) != 0)) {
			store_log_fail("purge", ret);
			free(es);
			return -1;
		}
		if (es->n > 0)
			*removed += a.removed;
		event_scan_advance(es);
	} while (es->from_len > 0);
	free(es);
	return 0;
}

/* Queues a finished event again; a->result as store_replay() returns. */
static int
op_replay(struct store *s, void *arg)
{
	struct replay_arg *a = arg;
	struct rec r;
	void *buf;
	DB_TXN *txn;
	int ret;

	a->result = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	if ((ret = event_read(s, txn, a->id, a->id_len, DB_RMW, &r,
	    &buf)) != 0)
		goto fail;
	a->result = 2;
	if (r.state == STATE_DONE || r.state == STATE_FAILED ||
	    r.state == STATE_IGNORED) {
		r.state = STATE_QUEUED;
		r.attempts = 0;
		r.due_ms = a->now;
		if ((ret = event_write(s, txn, a->id, a->id_len, &r)) != 0 ||
		    (ret = inbox_put(s, txn, a->id, a->id_len, a->now)) != 0)
			goto fail;
		a->result = 1;
	}
	free(buf);
	return txn->commit(txn, 0);
fail:
	free(buf);
	(void)txn->abort(txn);
	a->result = 0;
	return ret == DB_NOTFOUND ? 0 : ret;
}

int
store_replay(struct store *s, const char *id, size_t id_len, int64_t now)
{
	struct replay_arg a;
	int ret;

	if (id_len == 0 || id_len > STORE_ID_MAX)
		return 0;
	a.id = id;
	a.id_len = id_len;
	a.now = now;
	if ((ret = store_run(s, op_replay, &a)) != 0) {
		store_log_fail("replay", ret);
		return -1;
	}
	if (a.result == 1) {
		pthread_mutex_lock(&s->pmu);
		s->pend_own++;
		pthread_mutex_unlock(&s->pmu);
	}
	return a.result;
}

int
store_foreach(struct store *s, int (*fn)(void *, const char *, size_t,
    const struct store_event_info *), void *ctx)
{
	struct event_scan *es;
	size_t i;
	int ret, stop = 0;

	es = xcalloc(1, sizeof(*es));
	es->states = ~0u;
	es->before = INT64_MAX;
	es->max_bytes = UINT64_MAX;
	do {
		if ((ret = store_run(s, op_event_scan, es)) != 0) {
			store_log_fail("walk", ret);
			free(es);
			return -1;
		}
		/* No transaction is open here: fn may use the store. */
		for (i = 0; i < es->n && !stop; i++)
			stop = fn(ctx, es->items[i].id, es->items[i].id_len,
			    &es->items[i].info) != 0;
		event_scan_advance(es);
	} while (!stop && es->from_len > 0);
	free(es);
	return 0;
}

void
store_attempts_free(struct store_attempt_info *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free((void *)(uintptr_t)v[i].a.output);
	free(v);
}

/* Appends a decoded attempt to a->v, with a copy of its output. */
static void
attempts_add(struct attempts_arg *a, const struct store_attempt_info *ai)
{
	char *out;

	a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
	out = xmalloc(ai->a.output_len + 1);
	if (ai->a.output_len > 0)
		memcpy(out, ai->a.output, ai->a.output_len);
	out[ai->a.output_len] = '\0';
	a->v[a->n] = *ai;
	a->v[a->n++].a.output = out;
}

/* Reads every attempt of a->id, oldest first, degree 2. */
static int
op_attempts(struct store *s, void *arg)
{
	struct attempts_arg *a = arg;
	struct store_attempt_info ai;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret, first = 1;

	store_attempts_free(a->v, a->n);	/* from a try that failed */
	a->v = NULL;
	a->n = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->attempts->cursor(s->attempts, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	while ((ret = att_next(c, a->id, a->id_len, &k, &d, 0, first)) == 0) {
		first = 0;
		if (att_decode(d.data, d.size, &ai) == 0)
			attempts_add(a, &ai);
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
done:
	if (c != NULL)
		(void)c->close(c);
	free(k.data);
	free(d.data);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

int
store_attempts(struct store *s, const char *id, size_t id_len,
    struct store_attempt_info **out, size_t *n)
{
	struct attempts_arg a;
	int ret;

	*out = NULL;
	*n = 0;
	if (id_len == 0 || id_len > STORE_ID_MAX)
		return 0;
	memset(&a, 0, sizeof(a));
	a.id = id;
	a.id_len = id_len;
	if ((ret = store_run(s, op_attempts, &a)) != 0) {
		store_attempts_free(a.v, a.n);
		store_log_fail("attempts", ret);
		return -1;
	}
	*out = a.v;
	*n = a.n;
	return 0;
}

const char *
store_state_str(enum event_state st)
{
	switch (st) {
	case STATE_QUEUED:
		return "queued";
	case STATE_RUNNING:
		return "running";
	case STATE_RETRYING:
		return "retrying";
	case STATE_DONE:
		return "done";
	case STATE_FAILED:
		return "failed";
	case STATE_IGNORED:
		return "ignored";
	}
	return "unknown";
}
