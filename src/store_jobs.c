/*
 * store_jobs.c -- the dispatcher's side of the store: inbox entries moved
 * into jobs, scans of due jobs, claims under a lease, finishes that record
 * the attempt and move the event on, the next due time, and the requeue of
 * jobs a dead drainer left running.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/*
 * Dispatch: claims and finishes. Only the drainer writes jobs; its
 * transactions are short and touch a bounded batch.
 */

/* One jobs.db entry as a scan saw it, read committed: a hint only. */
struct job_item {
	struct time_key	 key;
	int		 found;		/* its event record exists */
	int		 state;		/* 0: a record we cannot read */
	char		 type[256];
};

/* A batch of due entries of jobs.db, in due order (op_job_scan()). */
struct job_scan {
	int64_t		 until;		/* entries due at or before */
	size_t		 limit;		/* entries to read, <= SCAN_BATCH */
	struct time_key	 from;		/* start after it; len 0: first */
	struct time_key	 last;		/* the last entry seen */
	struct job_item	 items[SCAN_BATCH];
	size_t		 n;
	int		 more;		/* stopped with the batch full */
};

struct claim_arg {
	const struct time_key *key;
	int64_t		 now;
	int64_t		 lease;
	struct store_job *job;
	int		 claimed;
};

struct finish_arg {
	const struct store_job *job;
	const struct store_attempt *at;
	enum event_state next;
	int64_t		 due;
	int		 found;
};

struct requeue_arg {
	const struct job_scan *js;
	int64_t		 now;
	long		 n;
};

/* Logs something odd about a job, with its id (not NUL-terminated). */
static void
log_job(const char *msg, const char *id, size_t id_len)
{
	char buf[STORE_ID_MAX + 1], q[2 * STORE_ID_MAX + 8];

	if (id_len > STORE_ID_MAX)
		id_len = STORE_ID_MAX;
	memcpy(buf, id, id_len);
	buf[id_len] = '\0';
	log_write(LOG_LEVEL_WARN, "msg=\"store: %s\" id=%s", msg,
	    log_quote(buf, q, sizeof(q)));
}

static int
job_put(struct store *s, DB_TXN *txn, const struct time_key *jk)
{
	unsigned char v = JOB_VERSION;
	DBT k, d;

	dbt_in(&k, jk->b, jk->len);
	dbt_in(&d, &v, 1);
	return s->jobs->put(s->jobs, txn, &k, &d, 0);
}

static int
job_del(struct store *s, DB_TXN *txn, const struct time_key *jk)
{
	DBT k;

	dbt_in(&k, jk->b, jk->len);
	return s->jobs->del(s->jobs, txn, &k, 0);
}

/* Write-locks the job entry jk (DB_RMW). Returns 0 or DB_NOTFOUND. */
static int
job_lock(struct store *s, DB_TXN *txn, const struct time_key *jk)
{
	unsigned char v;
	DBT k, d;

	dbt_in(&k, jk->b, jk->len);
	dbt_out(&d, DB_DBT_USERMEM | DB_DBT_PARTIAL);
	d.data = &v;
	d.ulen = sizeof(v);
	return s->jobs->get(s->jobs, txn, &k, &d, DB_RMW);
}

/*
 * Reads the record of id, with flags (DB_RMW to write it back: two
 * writers then queue on the write lock instead of deadlocking on an
 * upgrade). r points into *buf, which the caller frees (also on error).
 * Returns 0, DB_NOTFOUND, EINVAL for a record we cannot decode, or a
 * Berkeley DB error.
 */
int
event_read(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    u_int32_t flags, struct rec *r, void **buf)
{
	DBT k, d;
	int ret;

	*buf = NULL;
	dbt_in(&k, id, id_len);
	dbt_out(&d, DB_DBT_MALLOC);
	if ((ret = s->events->get(s->events, txn, &k, &d, flags)) != 0)
		return ret;
	*buf = d.data;
	return rec_decode(d.data, d.size, r) == 0 ? 0 : EINVAL;
}

int
event_write(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    const struct rec *r)
{
	unsigned char *buf;
	size_t len;
	DBT k, d;
	int ret;

	if ((buf = rec_encode(r, &len)) == NULL)
		return EINVAL;
	dbt_in(&k, id, id_len);
	dbt_in(&d, buf, len);
	ret = s->events->put(s->events, txn, &k, &d, 0);
	free(buf);
	return ret;
}

/* The job key an inbox entry becomes. Returns 0, or EINVAL if bad. */
static int
inbox_job_key(const DBT *k, const DBT *d, struct time_key *jk)
{
	const unsigned char *v = d->data;

	if (k->size == 0 || k->size > STORE_ID_MAX || d->size != 9 ||
	    v[0] != JOB_VERSION) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: undecodable inbox "
		    "entry\"");
		return EINVAL;
	}
	time_key_make(jk, (int64_t)be64_get(v + 1), k->data, k->size);
	return 0;
}

/*
 * Takes up to INBOX_BATCH inbox entries over into jobs, in one short
 * transaction: responders write the inbox all the time, and the pages
 * this walk write-locks stay locked until the commit. The commit is not
 * flushed: a crash that loses it only leaves the entries in the inbox,
 * and the next flushed commit writes it too, the log being sequential.
 * *arg gets the number moved.
 */
static int
op_inbox_move(struct store *s, void *arg)
{
	size_t *moved = arg;
	struct time_key jk;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret;

	*moved = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->inbox->cursor(s->inbox, txn, &c, 0)) != 0)
		goto done;
	while (*moved < INBOX_BATCH &&
	    (ret = c->get(c, &k, &d, DB_NEXT | DB_RMW)) == 0) {
		if ((ret = inbox_job_key(&k, &d, &jk)) != 0 ||
		    (ret = job_put(s, txn, &jk)) != 0 ||
		    (ret = c->del(c, 0)) != 0)
			break;
		(*moved)++;
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
	return txn->commit(txn, DB_TXN_NOSYNC);
}

/* Moves the whole inbox into jobs, a batch per transaction. 0 or -1. */
static int
inbox_drain(struct store *s)
{
	size_t moved;
	int ret;

	do {
		if ((ret = store_run(s, op_inbox_move, &moved)) != 0) {
			store_log_fail("inbox move", ret);
			return -1;
		}
	} while (moved == INBOX_BATCH);
	return 0;
}

/* Positions c on the first jobs entry after from (the first if none). */
static int
job_cursor_after(DBC *c, const struct time_key *from, DBT *k, DBT *d)
{
	int ret;

	if (from->len == 0)
		return c->get(c, k, d, DB_FIRST);
	k->data = xrealloc(k->data, from->len);
	memcpy(k->data, from->b, from->len);
	k->size = (u_int32_t)from->len;
	if ((ret = c->get(c, k, d, DB_SET_RANGE)) == 0 &&
	    k->size == from->len && memcmp(k->data, from->b, from->len) == 0)
		ret = c->get(c, k, d, DB_NEXT);
	return ret;
}

/* Fills in the event record of a scanned entry, if there is one. */
static int
job_item_fill(struct store *s, DB_TXN *txn, struct job_item *it)
{
	struct rec r;
	void *buf;
	int ret;

	it->state = 0;
	it->type[0] = '\0';
	ret = event_read(s, txn, time_key_id(&it->key), it->key.len - 8, 0,
	    &r, &buf);
	if (ret == 0) {
		it->state = r.state;
		span_copy(it->type, sizeof(it->type), r.type);
	}
	free(buf);
	it->found = ret != DB_NOTFOUND;
	return ret == DB_NOTFOUND || ret == EINVAL ? 0 : ret;
}

/* Reads up to js->limit keys due by js->until, after js->from. */
static int
job_scan_keys(struct store *s, DB_TXN *txn, struct job_scan *js)
{
	DBC *c;
	DBT k, d;
	int ret;

	if ((ret = s->jobs->cursor(s->jobs, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	for (ret = job_cursor_after(c, &js->from, &k, &d); ret == 0;
	    ret = c->get(c, &k, &d, DB_NEXT)) {
		if (k.size <= 8 || k.size > TIME_KEY_MAX)
			continue;	/* not one of ours */
		if ((int64_t)be64_get(k.data) > js->until)
			break;
		if (js->n == js->limit) {
			js->more = 1;
			break;
		}
		memcpy(js->items[js->n].key.b, k.data, k.size);
		js->items[js->n++].key.len = k.size;
	}
	(void)c->close(c);
	free(k.data);
	free(d.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Reads up to js->limit jobs entries due by js->until, after js->from,
 * then their events, degree 2: nothing stays locked after the read, so
 * the caller may decide what to take (and call allow()) lock-free. The
 * cursor is closed before the events are read: it holds its page, and
 * waiting for an event while holding a jobs page is the reverse of the
 * order every writer takes.
 */
static int
op_job_scan(struct store *s, void *arg)
{
	struct job_scan *js = arg;
	DB_TXN *txn;
	size_t i;
	int ret;

	js->n = 0;
	js->more = 0;
	js->last = js->from;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	ret = job_scan_keys(s, txn, js);
	for (i = 0; i < js->n && ret == 0; i++)
		ret = job_item_fill(s, txn, &js->items[i]);
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	if (js->n > 0)
		js->last = js->items[js->n - 1].key;
	return txn->commit(txn, 0);
}

/* Copies what a run needs from an event record into job. */
static void
job_fill(struct store_job *job, const char *id, size_t id_len,
    const struct rec *r)
{
	memcpy(job->id, id, id_len);
	job->id[id_len] = '\0';
	job->id_len = id_len;
	span_copy(job->type, sizeof(job->type), r->type);
	span_copy(job->created_at, sizeof(job->created_at), r->created_at);
	span_copy(job->route, sizeof(job->route), r->route);
	job->attempt = r->attempts;
}

/* 1 for the states whose event has a job entry. */
static int
state_has_job(int state)
{
	return state == STATE_QUEUED || state == STATE_RETRYING ||
	    state == STATE_RUNNING;
}

/* 1 if r is waiting for (or running under) the job entry due at due. */
static int
rec_owns_job(const struct rec *r, int64_t due)
{
	return state_has_job(r->state) && r->due_ms == due;
}

/*
 * Claims the job at a->key if it is still there: the event becomes
 * running with one more attempt, and the entry moves to the end of the
 * lease. A job entry whose event is missing or no longer waits for it
 * is dropped, with a log line. Sets a->claimed.
 */
static int
op_claim(struct store *s, void *arg)
{
	struct claim_arg *a = arg;
	const char *id = time_key_id(a->key);
	size_t id_len = a->key->len - 8;
	struct time_key next;
	struct rec r;
	void *buf = NULL;
	DB_TXN *txn;
	int ret, found;

	a->claimed = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	ret = event_read(s, txn, id, id_len, DB_RMW, &r, &buf);
	if (ret != 0 && ret != DB_NOTFOUND)
		goto fail;
	found = ret == 0;
	if ((ret = job_lock(s, txn, a->key)) != 0)
		goto fail;	/* DB_NOTFOUND: finished or moved meanwhile */
	if (!found || !rec_owns_job(&r, time_key_ms(a->key))) {
		log_job(found ? "dropped a stale job" : "dropped a job "
		    "without an event", id, id_len);
		if ((ret = job_del(s, txn, a->key)) != 0)
			goto fail;
		free(buf);
		return txn->commit(txn, 0);
	}
	r.state = STATE_RUNNING;
	r.attempts++;
	r.due_ms = a->now + a->lease;
	time_key_make(&next, r.due_ms, id, id_len);
	if ((ret = job_del(s, txn, a->key)) != 0 ||
	    (ret = job_put(s, txn, &next)) != 0 ||
	    (ret = event_write(s, txn, id, id_len, &r)) != 0)
		goto fail;
	job_fill(a->job, id, id_len, &r);
	free(buf);
	if ((ret = txn->commit(txn, DISPATCH_COMMIT)) == 0)
		a->claimed = 1;
	return ret;
fail:
	free(buf);
	(void)txn->abort(txn);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Tries to claim one scanned entry: skipped when its record is one we
 * cannot read or allow() refuses its type. Returns 1 when claimed, 0
 * when not, -1 on error.
 */
static int
claim_item(struct store *s, const struct job_item *it, int64_t now,
    int64_t lease, int (*allow)(void *, const char *), void *ctx,
    struct store_job *job)
{
	struct claim_arg a;
	int ret;

	if (it->found && (it->state == 0 || (allow != NULL &&
	    state_has_job(it->state) && !allow(ctx, it->type))))
		return 0;
	a.key = &it->key;
	a.now = now;
	a.lease = lease;
	a.job = job;
	if ((ret = store_run(s, op_claim, &a)) != 0) {
		store_log_fail("claim", ret);
		return -1;
	}
	return a.claimed;
}

/* Reads the body of a job just claimed. Returns 0 or -1. */
static int
claim_body(struct store *s, struct store_job *job)
{
	if (store_get(s, job->id, job->id_len, NULL, &job->body,
	    &job->body_len) == 1)
		return 0;
	log_job("claimed a job whose body cannot be read; it runs again "
	    "when its lease ends", job->id, job->id_len);
	return -1;
}

int
store_claim(struct store *s, int64_t now, int64_t lease_ms,
    int (*allow)(void *, const char *), void *ctx, struct store_job *job)
{
	struct job_scan *js;
	size_t i;
	int ret;

	memset(job, 0, sizeof(*job));
	if (inbox_drain(s) == -1)
		return -1;
	js = xcalloc(1, sizeof(*js));
	js->until = now;
	js->limit = SCAN_FIRST;
	do {
		if ((ret = store_run(s, op_job_scan, js)) != 0) {
			store_log_fail("job scan", ret);
			free(js);
			return -1;
		}
		for (i = 0, ret = 0; i < js->n && ret == 0; i++)
			ret = claim_item(s, &js->items[i], now, lease_ms,
			    allow, ctx, job);
		js->from = js->last;
		js->limit = SCAN_BATCH;
	} while (ret == 0 && js->more);
	free(js);
	if (ret == 1 && claim_body(s, job) == -1)
		ret = -1;
	return ret;
}

void
store_job_free(struct store_job *job)
{
	if (job == NULL)
		return;
	free(job->body);
	job->body = NULL;
	job->body_len = 0;
}

/* Writes the attempts.db key id || be32(seq) into key. */
static void
att_key(unsigned char *key, const char *id, size_t id_len, uint32_t seq)
{
	memcpy(key, id, id_len);
	be32_put(key + id_len, seq);
}

/*
 * Steps c to the next attempt of id, in seq order (to its first when
 * first is set). An id's keys are adjacent: a key sorting between two of
 * them would have to start with the id and a NUL byte (seq < 2^24), and
 * ids hold no NUL (store_accept()). Returns 0, DB_NOTFOUND after the
 * last, or a Berkeley DB error. k must be a DB_DBT_REALLOC DBT.
 */
int
att_next(DBC *c, const char *id, size_t id_len, DBT *k, DBT *d,
    u_int32_t flags, int first)
{
	int ret;

	if (first) {
		k->data = xrealloc(k->data, id_len + 4);
		att_key(k->data, id, id_len, 0);
		k->size = (u_int32_t)(id_len + 4);
		ret = c->get(c, k, d, DB_SET_RANGE | flags);
	} else
		ret = c->get(c, k, d, DB_NEXT | flags);
	if (ret == 0 && (k->size != id_len + 4 ||
	    memcmp(k->data, id, id_len) != 0))
		ret = DB_NOTFOUND;
	return ret;
}

/*
 * Visits the attempts of id with a cursor in txn: deletes them when del
 * is set, else sets *last to the highest seq (0: none). Write-locks what
 * it reads (DB_RMW) since it writes next. Returns 0 or an error.
 */
int
att_walk(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    int del, uint32_t *last)
{
	DBC *c;
	DBT k, d;
	int ret, first = 1;

	if (last != NULL)
		*last = 0;
	if ((ret = s->attempts->cursor(s->attempts, txn, &c, 0)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC | DB_DBT_PARTIAL);
	while ((ret = att_next(c, id, id_len, &k, &d, DB_RMW, first)) == 0) {
		first = 0;
		if (del && (ret = c->del(c, 0)) != 0)
			break;
		if (last != NULL)
			*last = be32_get((unsigned char *)k.data + id_len);
	}
	(void)c->close(c);
	free(k.data);
	free(d.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/* Appends the attempt of job as id's next seq. */
static int
att_append(struct store *s, DB_TXN *txn, const struct store_job *job,
    const struct store_attempt *at)
{
	unsigned char key[ATT_KEY_MAX], *val;
	uint32_t seq;
	size_t len;
	DBT k, d;
	int ret;

	if ((ret = att_walk(s, txn, job->id, job->id_len, 0, &seq)) != 0)
		return ret;
	if ((val = att_encode(job->attempt, at, &len)) == NULL)
		return EINVAL;
	att_key(key, job->id, job->id_len, seq + 1);
	dbt_in(&k, key, job->id_len + 4);
	dbt_in(&d, val, len);
	ret = s->attempts->put(s->attempts, txn, &k, &d, DB_NOOVERWRITE);
	free(val);
	return ret;
}

/* Moves a running event on to next, its job entry with it. */
static int
event_move_on(struct store *s, DB_TXN *txn, const struct store_job *job,
    struct rec *r, enum event_state next, int64_t due)
{
	struct time_key jk;
	int ret;

	time_key_make(&jk, r->due_ms, job->id, job->id_len);
	if ((ret = job_del(s, txn, &jk)) == DB_NOTFOUND)
		log_job("a running job had no job entry", job->id,
		    job->id_len);
	else if (ret != 0)
		return ret;
	r->state = next;
	r->due_ms = 0;
	if (next == STATE_RETRYING) {
		r->due_ms = due;
		time_key_make(&jk, due, job->id, job->id_len);
		if ((ret = job_put(s, txn, &jk)) != 0)
			return ret;
	}
	return event_write(s, txn, job->id, job->id_len, r);
}

/*
 * Records an attempt and, if the event still runs under this claim,
 * moves it on. The event is locked first, as in op_claim().
 */
static int
op_finish(struct store *s, void *arg)
{
	struct finish_arg *a = arg;
	const struct store_job *job = a->job;
	struct rec r;
	void *buf = NULL;
	DB_TXN *txn;
	int ret;

	a->found = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	if ((ret = event_read(s, txn, job->id, job->id_len, DB_RMW, &r,
	    &buf)) != 0)
		goto fail;
	a->found = 1;
	if ((ret = att_append(s, txn, job, a->at)) != 0)
		goto fail;
	if (r.state == STATE_RUNNING && r.attempts == job->attempt &&
	    (ret = event_move_on(s, txn, job, &r, a->next, a->due)) != 0)
		goto fail;
	free(buf);
	return txn->commit(txn, DISPATCH_COMMIT);
fail:
	free(buf);
	(void)txn->abort(txn);
	return ret == DB_NOTFOUND && !a->found ? 0 : ret;
}

int
store_finish(struct store *s, const struct store_job *job,
    const struct store_attempt *at, enum event_state next, int64_t due_ms)
{
	struct finish_arg a;
	int ret;

	if ((next != STATE_DONE && next != STATE_FAILED &&
	    next != STATE_RETRYING) || job->id_len == 0 ||
	    job->id_len > STORE_ID_MAX) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: bad finish\"");
		return -1;
	}
	a.job = job;
	a.at = at;
	a.next = next;
	a.due = due_ms;
	if ((ret = store_run(s, op_finish, &a)) != 0) {
		store_log_fail("finish", ret);
		return -1;
	}
	if (!a.found)
		log_job("finished a job whose event is gone", job->id,
		    job->id_len);
	return 0;
}

/*
 * The earliest due time of jobs (its first key) and of the inbox (every
 * entry: the drainer keeps it small), degree 2. *arg gets it, 0: none.
 */
static int
op_next_due(struct store *s, void *arg)
{
	int64_t *due = arg, t;
	DB_TXN *txn;
	DBC *c = NULL;
	DBT k, d;
	int ret;

	*due = INT64_MAX;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	if ((ret = s->jobs->cursor(s->jobs, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	ret = c->get(c, &k, &d, DB_FIRST);
	(void)c->close(c);
	c = NULL;
	if (ret == 0 && k.size > 8)
		*due = (int64_t)be64_get(k.data);
	if ((ret != 0 && ret != DB_NOTFOUND) ||
	    (ret = s->inbox->cursor(s->inbox, txn, &c,
	    DB_READ_COMMITTED)) != 0)
		goto done;
	while ((ret = c->get(c, &k, &d, DB_NEXT)) == 0)
		if (d.size == 9 && (t = (int64_t)be64_get(
		    (unsigned char *)d.data + 1)) < *due)
			*due = t;
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

int64_t
store_next_due(struct store *s)
{
	int64_t due;
	int ret;

	if ((ret = store_run(s, op_next_due, &due)) != 0) {
		store_log_fail("next due", ret);
		return -1;
	}
	if (due == INT64_MAX)
		return 0;
	return due > 0 ? due : 1;	/* 0 means none */
}

/* Makes the running jobs of a scanned batch due at a->now. */
static int
op_requeue(struct store *s, void *arg)
{
	struct requeue_arg *a = arg;
	const struct job_item *it;
	struct time_key jk;
	struct rec r;
	void *buf;
	DB_TXN *txn;
	size_t i, id_len;
	int ret = 0;

	a->n = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	for (i = 0; i < a->js->n && ret == 0; i++) {
		it = &a->js->items[i];
		if (it->state != STATE_RUNNING)
			continue;
		id_len = it->key.len - 8;
		ret = event_read(s, txn, time_key_id(&it->key), id_len, DB_RMW,
		    &r, &buf);
		if (ret == 0 && r.state == STATE_RUNNING &&
		    r.due_ms == time_key_ms(&it->key) &&
		    (ret = job_del(s, txn, &it->key)) == 0) {
			r.state = STATE_RETRYING;
			r.due_ms = a->now;
			time_key_make(&jk, a->now, time_key_id(&it->key), id_len);
			if ((ret = job_put(s, txn, &jk)) == 0 &&
			    (ret = event_write(s, txn, time_key_id(&it->key),
			    id_len, &r)) == 0)
				a->n++;
		}
		free(buf);
		if (ret == DB_NOTFOUND || ret == EINVAL)
			ret = 0;
	}
	if (ret != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

long
store_requeue_running(struct store *s, int64_t now)
{
	struct requeue_arg a;
	struct job_scan *js;
	long n = 0;
	int ret;

	js = xcalloc(1, sizeof(*js));
	js->until = INT64_MAX;
	js->limit = SCAN_BATCH;
	a.js = js;
	a.now = now;
	do {
		if ((ret = store_run(s, op_job_scan, js)) != 0 ||
		    (ret = store_run(s, op_requeue, &a)) != 0) {
			store_log_fail("requeue", ret);
			free(js);
			return -1;
		}
		n += a.n;
		js->from = js->last;
	} while (js->more);
	free(js);
	return n;
}
