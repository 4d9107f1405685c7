/*
 * store_accept.c -- the responder's side of the store: recording a
 * delivery (store_accept(), with the count of pending jobs that max_queue
 * is checked against) and reading an event back (store_get()).
 */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <db.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/*
 * One delivery to record, queued in its process until a transaction takes
 * it (accept_lead()). Lives on the stack of the thread that waits for it.
 */
struct accept_item {
	const struct store_new_event *ev;
	unsigned char	*rec;		/* the encoded event record; owned */
	size_t		 rec_len;
	int64_t		 now;
	int		 full;		/* the queue was at max_queue */
	int		 ret;		/* 0, DB_KEYEXIST, STORE_EFULL or an
					   error of the whole transaction */
	int		 lead;		/* woken to lead the next batch */
	sem_t		 wake;		/* posted when done, or to lead */
	struct accept_item *next;	/* under s->qmu while queued */
};

struct get_arg {
	const char	*id;
	size_t		 id_len;
	int		 want_body;
	int		 found;
	struct store_event_info info;
	unsigned char	*body;
	size_t		 len;
};

struct pending_arg {
	long		 limit;
	long		 count;
};

/*
 * Encodes the item's event record before any transaction: a record that
 * cannot be encoded fails its own delivery, not the others of its batch.
 */
static int
item_encode(struct accept_item *it)
{
	const struct store_new_event *ev = it->ev;
	struct rec r;

	memset(&r, 0, sizeof(r));
	r.state = ev->queue ? STATE_QUEUED : STATE_IGNORED;
	r.received_ms = it->now;
	r.due_ms = ev->queue ? it->now : 0;
	r.body_len = ev->body_len;
	r.type = span_str(ev->type);
	r.created_at = span_str(ev->created_at);
	r.route = span_str(ev->route);
	if ((it->rec = rec_encode(&r, &it->rec_len)) == NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: type, created_at or "
		    "route longer than %d bytes\"", REC_STR_MAX);
		return -1;
	}
	return 0;
}

/* Puts the event record; DB_KEYEXIST if the id is already recorded. */
static int
put_event(struct store *s, DB_TXN *txn, const struct accept_item *it)
{
	DBT k, d;

	dbt_in(&k, it->ev->id, it->ev->id_len);
	dbt_in(&d, it->rec, it->rec_len);
	return s->events->put(s->events, txn, &k, &d, DB_NOOVERWRITE);
}

/* Puts the body under be64(received) || id (see struct time_key). */
static int
put_body(struct store *s, DB_TXN *txn, const struct store_new_event *ev,
    int64_t received)
{
	struct time_key bk;
	DBT k, d;

	time_key_make(&bk, received, ev->id, ev->id_len);
	dbt_in(&k, bk.b, bk.len);
	dbt_in(&d, ev->body, ev->body_len);
	return s->bodies->put(s->bodies, txn, &k, &d, 0);
}

/*
 * Queues id in the inbox, due at due. The dispatcher takes entries over
 * in batches (op_inbox_move()): it deletes them here and inserts
 * be64(due) || id into jobs in one transaction.
 */
int
inbox_put(struct store *s, DB_TXN *txn, const char *id, size_t id_len,
    int64_t due)
{
	unsigned char val[1 + 8];
	DBT k, d;

	val[0] = JOB_VERSION;
	be64_put(val + 1, (uint64_t)due);
	dbt_in(&k, id, id_len);
	dbt_in(&d, val, sizeof(val));
	return s->inbox->put(s->inbox, txn, &k, &d, 0);
}

static int
put_inbox(struct store *s, DB_TXN *txn, const struct store_new_event *ev,
    int64_t due)
{
	return inbox_put(s, txn, ev->id, ev->id_len, due);
}

/*
 * Puts the log on disk up to its end, in the environment the accept used:
 * a flush retried in a reopened environment would miss what the old one
 * held in memory. Concurrent calls share a flush.
 *
 * Then asks once more, for a record surely on disk (asking for the end
 * again would wait for another flush, of other requests' commits, and
 * halved the rate), which fails if the environment panicked meanwhile:
 * a process that finds a dead one sets the panic flag before its recovery
 * reads the log, so no panic after our write means the recovery, if any,
 * will see it; a panic means it may not have, and the caller's retry in
 * the reopened environment decides. (A commit that syncs inside
 * txn->commit() has the same window, unchecked.)
 */
static int
log_durable(struct store *s)
{
	/* The log's first record: always on disk once anything is, so the
	   second call only enters the environment, where a panic shows. */
	static const DB_LSN first = { 1, 0 };
	int ret;

	if (s->opt.durability != DURABILITY_FSYNC)
		return 0;	/* the commit wrote the log */
	if ((ret = s->env->log_flush(s->env, NULL)) != 0)
		return ret;
	return s->env->log_flush(s->env, &first);
}

/*
 * Records one delivery in the batch's transaction. A known id, or a queue
 * at max_queue, is the item's outcome (it->ret), not a failure of the
 * transaction: the others of the batch go on. The duplicate check comes
 * first so that a redelivery of a known id is "duplicate" even when the
 * queue is full; a full item looks the id up instead of putting it, as
 * a put cannot be taken back without aborting the whole batch.
 */
static int
accept_one(struct store *s, DB_TXN *txn, struct accept_item *it)
{
	const struct store_new_event *ev = it->ev;
	DBT k;
	int ret;

	if (ev->queue && it->full) {
		dbt_in(&k, ev->id, ev->id_len);
		ret = s->events->exists(s->events, txn, &k, 0);
		if (ret == 0 || ret == DB_NOTFOUND)
			it->ret = ret == 0 ? DB_KEYEXIST : STORE_EFULL;
		return ret == DB_NOTFOUND ? 0 : ret;
	}
	if ((ret = put_event(s, txn, it)) == DB_KEYEXIST) {
		it->ret = DB_KEYEXIST;
		return 0;
	}
	if (ret != 0 || (ret = put_body(s, txn, ev, it->now)) != 0)
		return ret;
	return ev->queue ? put_inbox(s, txn, ev, it->now) : 0;
}

/* The deliveries one accept transaction records. */
struct accept_batch {
	struct accept_item *first;	/* a list */
	unsigned long	 gen;		/* the environment it committed in */
};

/*
 * The accept transaction: every delivery of the batch, one commit. Only
 * one runs at a time in a process (accept_lead()), so the accepts of a
 * process do not deadlock one another (but for a batch recorded again
 * after a reopen, op_flush(), whose deadlocks store_run() retries as any
 * other's). With write durability the environment writes the log at
 * commit; with fsync the commit lets its locks go before the log is on
 * disk (early lock release), and op_flush() puts it there.
 */
static int
op_accept(struct store *s, void *arg)
{
	struct accept_batch *b = arg;
	struct accept_item *it;
	DB_TXN *txn;
	int ret;

	if ((ret = s->env->txn_begin(s->env, NULL, &txn, 0)) != 0)
		return ret;
	for (it = b->first; it != NULL; it = it->next) {
		it->ret = 0;
		if ((ret = accept_one(s, txn, it)) != 0) {
			(void)txn->abort(txn);
			return ret;
		}
	}
	/* The flags: no sync in the commit with fsync; write's are the
	   environment's (DB_TXN_WRITE_NOSYNC). */
	if ((ret = txn->commit(txn, s->opt.durability == DURABILITY_FSYNC ?
	    DB_TXN_NOSYNC : 0)) == 0)
		b->gen = s->gen;
	return ret;
}

/*
 * With fsync, puts a committed batch's log on disk. A duplicate waits for
 * the same flush, since the record it saw may not be on disk yet. The
 * flush must happen in the environment of the commit: one reopened since
 * (a panic, here or seen by another thread) may have lost what the old
 * one held in memory, so the batch is recorded anew there, where each id
 * is either present (recovered: duplicate) or not (accepted anew).
 */
static int
op_flush(struct store *s, void *arg)
{
	struct accept_batch *b = arg;
	int ret;

	if (b->gen != s->gen && (ret = op_accept(s, b)) != 0)
		return ret;
	return log_durable(s);
}

/* Takes the batch of it, the queue's first, off the queue; under qmu. */
static void
batch_take(struct store *s, struct accept_item *it)
{
	struct accept_item **tail = &it->next;
	size_t bytes = it->ev->body_len;
	int n;

	for (n = 1; *tail != NULL && n < ACCEPT_BATCH &&
	    bytes + (*tail)->ev->body_len <= ACCEPT_BATCH_BYTES; n++) {
		bytes += (*tail)->ev->body_len;
		tail = &(*tail)->next;
	}
	s->qhead = *tail;
	*tail = NULL;
	if (s->qhead == NULL)
		s->qtail = &s->qhead;
}

/* Hands the lead to the first queued delivery's thread, if any. */
static void
lead_pass(struct store *s)
{
	struct accept_item *next;

	pthread_mutex_lock(&s->qmu);
	if ((next = s->qhead) != NULL)
		next->lead = 1;
	else
		s->qleading = 0;
	pthread_mutex_unlock(&s->qmu);
	if (next != NULL)
		sem_post(&next->wake);
}

/*
 * Records a batch of deliveries in one transaction, led by the thread of
 * its first, it: that thread found no batch running, or was handed the
 * lead. The deliveries that come in meanwhile queue for the next batch.
 * Once this one has committed, the first of them leads the next, while
 * this thread waits for the disk (fsync) and then wakes the threads of
 * its batch.
 *
 * Per delivery, a transaction of its own cost a begin, a commit, a write
 * of the log and, as the threads of a process had to take turns, a
 * sleep and wake-up on a mutex, dear on a VM (bench/RESULTS.md).
 * Waking each thread by its own semaphore, rather than all of them by
 * one condition variable, spares the others a wake-up and a fight for
 * the mutex.
 */
static void
accept_lead(struct store *s, struct accept_item *it)
{
	struct accept_batch b = { it, 0 };
	struct accept_item *o, *next;
	int ret;

	pthread_mutex_lock(&s->qmu);
	batch_take(s, it);
	pthread_mutex_unlock(&s->qmu);
	ret = store_run(s, op_accept, &b);
	lead_pass(s);
	if (ret == 0 && s->opt.durability == DURABILITY_FSYNC)
		ret = store_run(s, op_flush, &b);
	/* An item is gone once its thread wakes: next is read first. */
	for (o = it->next; o != NULL; o = next) {
		next = o->next;
		if (ret != 0)
			o->ret = ret;
		sem_post(&o->wake);
	}
	if (ret != 0)
		it->ret = ret;
}

/*
 * Queues it and returns when a batch has recorded it: at once leading
 * one when none runs, else asleep until the batch that took it is done
 * or this thread is handed the lead of the next.
 */
static void
accept_wait(struct store *s, struct accept_item *it)
{
	int lead;

	it->next = NULL;
	it->lead = 0;
	if (sem_init(&it->wake, 0, 0) != 0)
		fatal_oom();
	pthread_mutex_lock(&s->qmu);
	*s->qtail = it;
	s->qtail = &it->next;
	if ((lead = !s->qleading))
		s->qleading = 1;
	pthread_mutex_unlock(&s->qmu);
	if (!lead) {
		/* Only EINTR (a signal for the thread) can fail it; going on
		   before a post would answer an unrecorded delivery. */
		while (sem_wait(&it->wake) == -1)
			;
		lead = it->lead;
	}
	if (lead)
		accept_lead(s, it);
	sem_destroy(&it->wake);
}

/* Adds the entries of db to a->count, stopping at a->limit. */
static int
count_entries(DB *db, DB_TXN *txn, struct pending_arg *a)
{
	DBC *c;
	DBT k, d;
	int ret;

	if (a->count >= a->limit)
		return 0;
	if ((ret = db->cursor(db, txn, &c, DB_READ_COMMITTED)) != 0)
		return ret;
	dbt_out(&k, DB_DBT_REALLOC);
	dbt_out(&d, DB_DBT_REALLOC);
	while (a->count < a->limit && (ret = c->get(c, &k, &d, DB_NEXT)) == 0)
		a->count++;
	(void)c->close(c);
	free(k.data);
	free(d.data);
	return ret == DB_NOTFOUND ? 0 : ret;
}

/*
 * Counts inbox and jobs entries up to a->limit in a degree-2 transaction
 * of its own: read locks are let go page by page, so writers wait at
 * most for one page read, and it holds no lock of any accept.
 */
static int
op_pending(struct store *s, void *arg)
{
	struct pending_arg *a = arg;
	DB_TXN *txn;
	int ret;

	a->count = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	if ((ret = count_entries(s->inbox, txn, a)) != 0 ||
	    (ret = count_entries(s->jobs, txn, a)) != 0) {
		(void)txn->abort(txn);
		return ret;
	}
	return txn->commit(txn, 0);
}

/* How long a count of count pending, for a limit (LONG_MAX: none), that
   took walk_ms to make, is trusted. */
static int64_t
pending_ttl(int64_t walk_ms, long count, long limit)
{
	int64_t ttl = walk_ms * 50;	/* a long walk: 2 % of the time */
	int64_t headroom = count < limit && limit != LONG_MAX ?
	    (int64_t)(limit - count) * 1000 / PENDING_RATE_MAX : 0;

	if (ttl < headroom)
		ttl = headroom;
	if (ttl > PENDING_TTL_MAX)
		ttl = PENDING_TTL_MAX;
	return ttl < PENDING_TTL_MS ? PENDING_TTL_MS : ttl;
}

/*
 * Pending jobs, exact up to limit: a walk of inbox and jobs at most once
 * a second per handle (less often when the walk is long or the count far
 * below the limit: pending_ttl()), plus the jobs
 * this handle queued since that walk started (so one process is exact;
 * other processes' accepts show within a second or so). A fresh process
 * (CGI) always walks. Returns -1 on error.
 */
static long
pending_get(struct store *s, long limit)
{
	struct pending_arg a;
	unsigned long own;
	int64_t now = now_ms();
	long n = -1;
	int ret;

	pthread_mutex_lock(&s->pmu);
	/* While one thread walks, the others take the last count. */
	if (s->pend_at != 0 && ((now >= s->pend_at &&
	    now - s->pend_at < s->pend_ttl) || s->pend_walking) &&
	    (s->pend_complete || s->pend_count >= limit))
		n = s->pend_count + (long)(s->pend_own - s->pend_own_at);
	else
		s->pend_walking++;
	own = s->pend_own;
	pthread_mutex_unlock(&s->pmu);
	if (n >= 0)
		return n;
	a.limit = limit;
	ret = store_run(s, op_pending, &a);
	pthread_mutex_lock(&s->pmu);
	s->pend_walking--;
	if (ret != 0) {
		pthread_mutex_unlock(&s->pmu);
		store_log_fail("pending count", ret);
		return -1;
	}
	s->pend_at = now;
	/* A long backlog takes long to count: at most 2 % of the time. */
	s->pend_ttl = pending_ttl(now_ms() - now, a.count, limit);
	s->pend_count = a.count;
	s->pend_complete = a.count < limit;
	s->pend_own_at = own;
	n = a.count + (long)(s->pend_own - own);
	pthread_mutex_unlock(&s->pmu);
	return n;
}

long
store_pending(struct store *s)
{
	return pending_get(s, LONG_MAX);
}

enum store_status
store_accept(struct store *s, const struct store_new_event *ev)
{
	struct accept_item it;
	long pending;

	/* Job and attempt keys hold the id; a NUL would break their order. */
	if (ev->id_len == 0 || ev->id_len > STORE_ID_MAX ||
	    memchr(ev->id, '\0', ev->id_len) != NULL) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: id empty, longer than "
		    "%d bytes or with a NUL\"", STORE_ID_MAX);
		return STORE_UNAVAILABLE;
	}
	if (ev->body_len > UINT32_MAX) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: body too large\"");
		return STORE_UNAVAILABLE;
	}
	memset(&it, 0, sizeof(it));
	it.ev = ev;
	it.now = now_ms();
	if (ev->queue && ev->max_queue > 0) {
		if ((pending = pending_get(s, ev->max_queue)) < 0)
			return STORE_UNAVAILABLE;
		it.full = pending >= ev->max_queue;
	}
	if (item_encode(&it) == -1)
		return STORE_UNAVAILABLE;
	accept_wait(s, &it);
	free(it.rec);
	switch (it.ret) {
	case 0:
		break;
	case DB_KEYEXIST:
		return STORE_DUPLICATE;
	case STORE_EFULL:
		return STORE_FULL;
	default:
		store_log_fail("accept", it.ret);
		return STORE_UNAVAILABLE;
	}
	if (ev->queue) {
		pthread_mutex_lock(&s->pmu);
		s->pend_own++;
		pthread_mutex_unlock(&s->pmu);
	}
	return STORE_OK;
}

/* Reads the event record of a->id into a->info. */
static int
get_event(struct store *s, DB_TXN *txn, struct get_arg *a)
{
	struct rec r;
	DBT k, d;
	int ret;

	dbt_in(&k, a->id, a->id_len);
	dbt_out(&d, DB_DBT_MALLOC);
	if ((ret = s->events->get(s->events, txn, &k, &d, 0)) != 0)
		return ret;
	if (rec_decode(d.data, d.size, &r) == -1) {
		log_write(LOG_LEVEL_ERROR, "msg=\"store: undecodable event "
		    "record\"");
		free(d.data);
		return EINVAL;
	}
	rec_to_info(&r, &a->info);
	free(d.data);
	return 0;
}

/* Reads the body of a->id, whose record is in a->info, into a malloc'd
   a->body (never NULL). */
static int
get_body(struct store *s, DB_TXN *txn, struct get_arg *a)
{
	struct time_key bk;
	DBT k, d;
	int ret;

	time_key_make(&bk, a->info.received_ms, a->id, a->id_len);
	dbt_in(&k, bk.b, bk.len);
	dbt_out(&d, DB_DBT_MALLOC);
	if ((ret = s->bodies->get(s->bodies, txn, &k, &d, 0)) != 0)
		return ret;
	if (d.data == NULL)
		d.data = xmalloc(1);
	a->body = d.data;
	a->len = d.size;
	return 0;
}

static int
op_get(struct store *s, void *arg)
{
	struct get_arg *a = arg;
	DB_TXN *txn;
	int ret;

	free(a->body);
	a->body = NULL;
	a->found = 0;
	if ((ret = s->env->txn_begin(s->env, NULL, &txn,
	    DB_READ_COMMITTED)) != 0)
		return ret;
	if ((ret = get_event(s, txn, a)) != 0 ||
	    (a->want_body && (ret = get_body(s, txn, a)) != 0)) {
		(void)txn->abort(txn);
		return ret == DB_NOTFOUND ? 0 : ret;
	}
	a->found = 1;
	return txn->commit(txn, 0);
}

int
store_get(struct store *s, const char *id, size_t id_len,
    struct store_event_info *info, unsigned char **body, size_t *len)
{
	struct get_arg a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.id = id;
	a.id_len = id_len;
	a.want_body = body != NULL;
	if ((ret = store_run(s, op_get, &a)) != 0) {
		free(a.body);
		store_log_fail("get", ret);
		return -1;
	}
	if (!a.found) {
		free(a.body);
		return 0;
	}
	if (info != NULL)
		*info = a.info;
	if (body != NULL) {
		*body = a.body;
		if (len != NULL)
			*len = a.len;
	}
	return 1;
}
