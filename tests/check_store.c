/*
 * check_store.c -- the store against a real Berkeley DB environment in a
 * fresh temporary folder per test, with real child processes for the
 * races and the crashes. Check forks per test, so every test opens its
 * own store; children fork AFTER the folder exists and open their own.
 *
 * The store's static helpers are tested directly by including the
 * store's source files (the test then links none of the store objects of
 * libhookgate.a).
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* The whole store in this unit, so the tests reach its static helpers
   (and no store_*.o of libhookgate.a is linked). */
#include "../src/store_codec.c"
#include "../src/store_env.c"
#include "../src/store_accept.c"
#include "../src/store_jobs.c"
#include "../src/store_admin.c"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define MiB		(1024 * 1024)
#define TYPE		"user.created"
#define CREATED		"2023-01-01T12:00:00Z"
#define ROUTE		"user.*"

/* Exit codes of helper children beyond the enum store_status values. */
#define CHILD_OPEN_FAIL	10
#define CHILD_IO_FAIL	11

static struct store *
open_store(const char *dir, size_t max_body, enum durability dur)
{
	struct store_options o;
	char err[512];
	struct store *s;

	o.max_body = max_body;
	o.durability = dur;
	s = store_open(dir, &o, err, sizeof(err));
	ck_assert_msg(s != NULL, "store_open: %s", err);
	return s;
}

static struct store *
open_default(const char *dir)
{
	return open_store(dir, MiB, DURABILITY_FSYNC);
}

/*
 * Opens a store whose environment another process will panic. Berkeley DB
 * never frees the handles of a panicked environment (DB->close refuses to
 * run, DB_ENV->close only closes the files), so LeakSanitizer must not
 * count what this open allocates.
 */
static struct store *
open_to_be_panicked(const char *dir)
{
	struct store *s;

#ifdef HAVE_LSAN
	__lsan_disable();
#endif
	s = open_default(dir);
#ifdef HAVE_LSAN
	__lsan_enable();
#endif
	return s;
}

/* A new event with the usual envelope; queue 0 records it as ignored. */
static struct store_new_event
new_event(const char *id, const void *body, size_t len, int queue,
    long max_queue)
{
	struct store_new_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = id;
	ev.id_len = strlen(id);
	ev.type = TYPE;
	ev.created_at = CREATED;
	ev.route = queue ? ROUTE : NULL;
	ev.body = body;
	ev.body_len = len;
	ev.queue = queue;
	ev.max_queue = max_queue;
	return ev;
}

static enum store_status
accept_id(struct store *s, const char *id, int queue, long max_queue)
{
	struct store_new_event ev;
	char body[128];

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	ev = new_event(id, body, strlen(body), queue, max_queue);
	return store_accept(s, &ev);
}

/* 1 if id is recorded, 0 if not (failing the test on error). */
static int
has_id(struct store *s, const char *id)
{
	struct store_event_info info;
	int r = store_get(s, id, strlen(id), &info, NULL, NULL);

	ck_assert_int_ge(r, 0);
	return r;
}

/* Bytes that are not text: every byte value, NULs and 0xff included. */
static unsigned char *
make_body(size_t len, unsigned seed)
{
	unsigned char *b = xmalloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
	return b;
}

/* Accepts a body of len bytes and reads it back byte for byte. */
static void
roundtrip(struct store *s, const char *id, size_t len)
{
	struct store_new_event ev;
	struct store_event_info info;
	unsigned char *body = make_body(len, (unsigned)len), *got = NULL;
	size_t glen = 0;

	ev = new_event(id, body, len, 1, 0);
	ck_assert_int_eq(store_accept(s, &ev), STORE_OK);
	ck_assert_int_eq(store_get(s, id, strlen(id), &info, &got, &glen), 1);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(glen, len);
	ck_assert(memcmp(got, body, len) == 0);
	ck_assert_uint_eq(info.body_len, len);
	free(got);
	free(body);
}

/* Entries in inbox and jobs, counted directly, without the cache. */
static long
queued_count(struct store *s)
{
	struct pending_arg a;

	a.limit = LONG_MAX;
	ck_assert_int_eq(store_run(s, op_pending, &a), 0);
	return a.count;
}

/* The due time the inbox holds for id, or -1 if it holds none. */
static int64_t
inbox_due(struct store *s, const char *id)
{
	unsigned char buf[16];
	DBT k, d;
	int ret;

	dbt_in(&k, id, strlen(id));
	dbt_out(&d, DB_DBT_USERMEM);
	d.data = buf;
	d.ulen = sizeof(buf);
	ret = s->inbox->get(s->inbox, NULL, &k, &d, 0);
	if (ret == DB_NOTFOUND)
		return -1;
	ck_assert_int_eq(ret, 0);
	ck_assert_uint_eq(d.size, 9);
	ck_assert_uint_eq(buf[0], JOB_VERSION);
	return (int64_t)be64_get(buf + 1);
}

/* Open file descriptors of this process. */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static int		 wait_exit(pid_t);
static struct store	*child_open(const char *);

START_TEST(accept_then_get)
{
	static const unsigned char bin[] = { 0, 1, 2, 0xff, 0xfe, '\n', 0,
	    '"', '\\', 0x80, 0x7f, 0 };
	struct store_new_event ev;
	struct store_event_info info;
	unsigned char *got;
	size_t glen;
	int64_t t0, t1;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);

	t0 = now_ms();
	ev = new_event("evt_bin", bin, sizeof(bin), 1, 0);
	ck_assert_int_eq(store_accept(s, &ev), STORE_OK);
	t1 = now_ms();
	ck_assert_int_eq(store_get(s, "evt_bin", 7, &info, &got, &glen), 1);
	ck_assert_uint_eq(glen, sizeof(bin));
	ck_assert(memcmp(got, bin, sizeof(bin)) == 0);
	free(got);
	ck_assert_int_eq(info.state, STATE_QUEUED);
	ck_assert(info.received_ms >= t0 && info.received_ms <= t1);
	ck_assert_int_eq(info.due_ms, info.received_ms);
	ck_assert_uint_eq(info.attempts, 0);
	ck_assert_uint_eq(info.body_len, sizeof(bin));
	ck_assert_str_eq(info.type, TYPE);
	ck_assert_str_eq(info.created_at, CREATED);
	ck_assert_str_eq(info.route, ROUTE);
	ck_assert_int_eq(inbox_due(s, "evt_bin"), info.due_ms);

	/* Without a body pointer only the record is read. */
	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(store_get(s, "evt_bin", 7, &info, NULL, NULL), 1);
	ck_assert_str_eq(info.type, TYPE);

	roundtrip(s, "evt_1mib", MiB);
	roundtrip(s, "evt_empty", 0);
	ck_assert_int_eq(store_get(s, "evt_nope", 8, &info, NULL, NULL), 0);
	ck_assert_int_eq(queued_count(s), 3);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A body larger than a log file: overflow pages are logged one by one. */
START_TEST(body_larger_than_log_file)
{
	char *dir = make_tmpdir();
	struct store *s = open_store(dir, 16 * MiB, DURABILITY_FSYNC);
	u_int32_t lg_max = 0;

	ck_assert_int_eq(s->env->get_lg_max(s->env, &lg_max), 0);
	ck_assert_uint_lt(lg_max, 12 * MiB);
	roundtrip(s, "evt_12mib", 12 * MiB);
	store_close(s);
	s = open_store(dir, 16 * MiB, DURABILITY_FSYNC);
	ck_assert_int_eq(has_id(s, "evt_12mib"), 1);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(duplicate_keeps_first)
{
	struct store_new_event ev;
	struct store_event_info info;
	unsigned char *got;
	size_t glen;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);

	ev = new_event("evt_dup", "first", 5, 1, 0);
	ck_assert_int_eq(store_accept(s, &ev), STORE_OK);
	ev = new_event("evt_dup", "second body", 11, 0, 0);
	ev.type = "project.updated";
	ck_assert_int_eq(store_accept(s, &ev), STORE_DUPLICATE);
	ck_assert_int_eq(store_get(s, "evt_dup", 7, &info, &got, &glen), 1);
	ck_assert_uint_eq(glen, 5);
	ck_assert(memcmp(got, "first", 5) == 0);
	free(got);
	ck_assert_int_eq(info.state, STATE_QUEUED);
	ck_assert_str_eq(info.type, TYPE);
	ck_assert_int_eq(queued_count(s), 1);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(ignored_has_no_job)
{
	struct store_event_info info;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);

	ck_assert_int_eq(accept_id(s, "evt_ign", 0, 0), STORE_OK);
	ck_assert_int_eq(store_get(s, "evt_ign", 7, &info, NULL, NULL), 1);
	ck_assert_int_eq(info.state, STATE_IGNORED);
	ck_assert_int_eq(info.due_ms, 0);
	ck_assert_str_eq(info.route, "");
	ck_assert_int_eq(queued_count(s), 0);
	ck_assert_int_eq(inbox_due(s, "evt_ign"), -1);
	ck_assert_int_eq(store_pending(s), 0);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(counts_by_state)
{
	struct store_counts c;
	struct store_event_info first;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);

	ck_assert_int_eq(store_count(s, &c), 0);
	ck_assert_uint_eq(c.queued + c.ignored + c.done, 0);
	ck_assert_int_eq(c.oldest_pending_ms, 0);
	ck_assert_int_eq(accept_id(s, "evt_q1", 1, 0), STORE_OK);
	usleep(5000);
	ck_assert_int_eq(accept_id(s, "evt_q2", 1, 0), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_q3", 1, 0), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_i1", 0, 0), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_i2", 0, 0), STORE_OK);
	ck_assert_int_eq(store_count(s, &c), 0);
	ck_assert_uint_eq(c.queued, 3);
	ck_assert_uint_eq(c.ignored, 2);
	ck_assert_uint_eq(c.running + c.retrying + c.done + c.failed, 0);
	ck_assert_int_eq(store_get(s, "evt_q1", 6, &first, NULL, NULL), 1);
	ck_assert_int_eq(c.oldest_pending_ms, first.received_ms);
	ck_assert_int_eq(store_pending(s), 3);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(queue_full)
{
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);

	ck_assert_int_eq(accept_id(s, "evt_a", 1, 2), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_b", 1, 2), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_c", 1, 2), STORE_FULL);
	ck_assert_int_eq(has_id(s, "evt_c"), 0);
	/* A redelivery of a recorded id is still a duplicate. */
	ck_assert_int_eq(accept_id(s, "evt_a", 1, 2), STORE_DUPLICATE);
	/* Ignored events take no queue slot. */
	ck_assert_int_eq(accept_id(s, "evt_i", 0, 2), STORE_OK);
	ck_assert_int_eq(queued_count(s), 2);
	store_close(s);

	/* A fresh process (CGI) walks the jobs and sees the true count. */
	s = open_default(dir);
	ck_assert_int_eq(accept_id(s, "evt_c", 1, 2), STORE_FULL);
	ck_assert_int_eq(accept_id(s, "evt_c", 1, 3), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_d", 1, 3), STORE_FULL);
	ck_assert_int_eq(accept_id(s, "evt_d", 1, 0), STORE_OK);
	ck_assert_int_eq(has_id(s, "evt_c"), 1);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* Another process's jobs count once this handle's cache is a second old. */
START_TEST(pending_cache_expires)
{
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	pid_t pid;

	ck_assert_int_eq(store_pending(s), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct store *t = child_open(dir);

		_exit(accept_id(t, "evt_other", 1, 0));
	}
	ck_assert_int_eq(wait_exit(pid), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_mine", 1, 0), STORE_OK);
	/* Within the second: the walk plus our own accept. */
	ck_assert_int_eq(store_pending(s), 1);
	/* Rewind the cache instead of sleeping a second. */
	s->pend_at -= PENDING_TTL_MS;
	ck_assert_int_eq(store_pending(s), 2);
	ck_assert_int_eq(accept_id(s, "evt_full", 1, 2), STORE_FULL);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

static const enum durability durabilities[] = {
	DURABILITY_FSYNC, DURABILITY_WRITE
};

START_TEST(durability_and_reopen)
{
	struct store_counts c;
	char *dir = make_tmpdir();
	struct store *s = open_store(dir, MiB, durabilities[_i]);
	u_int32_t flags = 0;

	ck_assert_int_eq(s->env->get_flags(s->env, &flags), 0);
	ck_assert_int_eq((flags & DB_TXN_WRITE_NOSYNC) != 0,
	    durabilities[_i] == DURABILITY_WRITE);
	ck_assert_int_eq((flags & DB_TXN_NOSYNC) != 0, 0);
	ck_assert_int_eq(accept_id(s, "evt_1", 1, 0), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_2", 0, 0), STORE_OK);
	ck_assert_int_eq(store_checkpoint(s), 0);
	store_close(s);
	s = open_store(dir, MiB, durabilities[_i]);
	ck_assert_int_eq(has_id(s, "evt_1"), 1);
	ck_assert_int_eq(has_id(s, "evt_2"), 1);
	ck_assert_int_eq(store_count(s, &c), 0);
	ck_assert_uint_eq(c.queued, 1);
	ck_assert_uint_eq(c.ignored, 1);
	ck_assert_int_eq(accept_id(s, "evt_1", 1, 0), STORE_DUPLICATE);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(files_and_modes)
{
	static const char *files[] = { "events.db", "bodies.db", "inbox.db",
	    "jobs.db", "attempts.db", "__db.register", "__db.001",
	    "log.0000000001" };
	struct stat st;
	char *dir = make_tmpdir(), *sub, path[512];
	struct store *s;
	size_t i;

	sub = xasprintf("%s/state", dir);
	s = open_default(sub);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", sub, files[i]);
		ck_assert_msg(stat(path, &st) == 0, "%s missing", files[i]);
		ck_assert_msg((st.st_mode & 077) == 0, "%s mode %o", files[i],
		    st.st_mode & 0777);
	}
	store_close(s);
	free(sub);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(bad_state_dir)
{
	struct store_options o = { MiB, DURABILITY_FSYNC };
	char *dir = make_tmpdir(), *p, err[512];
	int fd;

	/* Only one level is created. */
	p = xasprintf("%s/a/b", dir);
	ck_assert_ptr_null(store_open(p, &o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	free(p);
	p = xasprintf("%s/file", dir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_null(store_open(p, &o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	free(p);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(remote_fs_magic)
{
	char *dir = make_tmpdir(), err[256];

	ck_assert_str_eq(fs_remote_name(0x6969), "NFS");
	ck_assert_str_eq(fs_remote_name(0x517B), "SMB");
	ck_assert_str_eq(fs_remote_name(0xFF534D42UL), "CIFS");
	ck_assert_str_eq(fs_remote_name(0xFE534D42UL), "SMB2");
	/* f_type is a signed 32-bit word on some ABIs. */
	ck_assert_str_eq(fs_remote_name((unsigned long)(long)(int32_t)
	    0xFF534D42U), "CIFS");
	ck_assert_ptr_null(fs_remote_name(0xEF53));	/* ext4 */
	ck_assert_ptr_null(fs_remote_name(0x01021994));	/* tmpfs */
	ck_assert_ptr_null(fs_remote_name(0x58465342));	/* xfs */
	ck_assert_ptr_null(fs_remote_name(0x9123683E));	/* btrfs */
	ck_assert_int_eq(dir_check_local(dir, err, sizeof(err)), 0);
	rm_rf(dir);
	free(dir);
}
END_TEST

static void
write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(p, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	free(p);
}

START_TEST(db_config_refused)
{
	struct store_options o = { MiB, DURABILITY_FSYNC };
	char *dir = make_tmpdir(), err[512];
	struct store *s;

	write_file(dir, "DB_CONFIG", "set_lg_bsize 65536\n"
	    "set_flags DB_TXN_NOSYNC\n");
	ck_assert_ptr_null(store_open(dir, &o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "DB_CONFIG:2: DB_TXN_NOSYNC") != NULL,
	    "%s", err);
	write_file(dir, "DB_CONFIG", "  set_flags DB_TXN_WRITE_NOSYNC on\n");
	ck_assert_ptr_null(store_open(dir, &o, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "DB_TXN_WRITE_NOSYNC"));
	/* Comments and harmless settings are fine. */
	write_file(dir, "DB_CONFIG", "# set_flags DB_TXN_NOSYNC\n"
	    "set_lg_bsize 65536\n");
	s = open_default(dir);
	ck_assert_int_eq(accept_id(s, "evt_1", 1, 0), STORE_OK);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(record_codec)
{
	struct rec r, d;
	unsigned char *buf;
	size_t len, cut;
	char big[300];

	memset(&r, 0, sizeof(r));
	r.state = STATE_RETRYING;
	r.received_ms = 1700000000123LL;
	r.due_ms = 1700000060000LL;
	r.attempts = 3;
	r.body_len = 5ULL << 32;
	memset(big, 't', sizeof(big));
	r.type.p = big;
	r.type.len = sizeof(big);
	r.created_at = span_str(CREATED);
	r.route = span_str(NULL);
	buf = rec_encode(&r, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(buf[0], REC_VERSION);
	ck_assert_int_eq(rec_decode(buf, len, &d), 0);
	ck_assert_int_eq(d.state, STATE_RETRYING);
	ck_assert_int_eq(d.received_ms, r.received_ms);
	ck_assert_int_eq(d.due_ms, r.due_ms);
	ck_assert_uint_eq(d.attempts, 3);
	ck_assert_uint_eq(d.body_len, r.body_len);
	ck_assert_uint_eq(d.type.len, sizeof(big));
	ck_assert_uint_eq(d.route.len, 0);
	for (cut = 0; cut < len; cut++)
		ck_assert_int_eq(rec_decode(buf, cut, &d), -1);
	buf[0] = 2;
	ck_assert_int_eq(rec_decode(buf, len, &d), -1);
	buf[0] = REC_VERSION;
	buf[1] = 0;
	ck_assert_int_eq(rec_decode(buf, len, &d), -1);
	free(buf);
	r.route.len = REC_STR_MAX + 1;
	ck_assert_ptr_null(rec_encode(&r, &len));
}
END_TEST

START_TEST(small_helpers)
{
	ck_assert_str_eq(store_state_str(STATE_QUEUED), "queued");
	ck_assert_str_eq(store_state_str(STATE_RUNNING), "running");
	ck_assert_str_eq(store_state_str(STATE_RETRYING), "retrying");
	ck_assert_str_eq(store_state_str(STATE_DONE), "done");
	ck_assert_str_eq(store_state_str(STATE_FAILED), "failed");
	ck_assert_str_eq(store_state_str(STATE_IGNORED), "ignored");
	store_close(NULL);
}
END_TEST

/* How long a pending count is trusted: a second at least, longer for a
   long walk or far below the limit, never over a minute. */
START_TEST(pending_ttls)
{
	ck_assert_int_eq(pending_ttl(0, 0, 10000), PENDING_TTL_MS);
	ck_assert_int_eq(pending_ttl(0, 20000, 10000), PENDING_TTL_MS);
	ck_assert_int_eq(pending_ttl(100, 0, 100), 5000);
	ck_assert_int_eq(pending_ttl(0, 9000000, 10000000), 10000);
	ck_assert_int_eq(pending_ttl(0, 0, 10000000), PENDING_TTL_MAX);
	ck_assert_int_eq(pending_ttl(10000, 0, 100), PENDING_TTL_MAX);
	/* No limit (store_pending()): no headroom to wait on. */
	ck_assert_int_eq(pending_ttl(0, 0, LONG_MAX), PENDING_TTL_MS);
}
END_TEST

/*
 * Children wait for the parent: each writes a byte to `ready` once its
 * store is open, then blocks reading `go` until the parent closes it.
 */
struct barrier {
	int	 ready[2];
	int	 go[2];
};

static void
barrier_init(struct barrier *b)
{
	ck_assert_int_eq(pipe(b->ready), 0);
	ck_assert_int_eq(pipe(b->go), 0);
}

static void
barrier_child_wait(struct barrier *b)
{
	char c;

	close(b->go[1]);
	close(b->ready[0]);
	if (write(b->ready[1], "r", 1) != 1)
		_exit(CHILD_IO_FAIL);
	close(b->ready[1]);
	(void)!read(b->go[0], &c, 1);
	close(b->go[0]);
}

/* Waits until n children are ready, then releases them all at once. */
static void
barrier_release(struct barrier *b, int n)
{
	char c;
	int i;

	close(b->ready[1]);
	close(b->go[0]);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(read(b->ready[0], &c, 1), 1);
	close(b->ready[0]);
	close(b->go[1]);
}

static int
wait_exit(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "child killed by signal %d",
	    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return WEXITSTATUS(st);
}

static struct store *
child_open(const char *dir)
{
	struct store_options o = { MiB, DURABILITY_FSYNC };
	char err[512];
	struct store *s;

	if ((s = store_open(dir, &o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "child: %s\n", err);
		_exit(CHILD_OPEN_FAIL);
	}
	return s;
}

START_TEST(race_one_id_two_processes)
{
	struct barrier b;
	char *dir = make_tmpdir();
	pid_t pid[2];
	int i, rc, ok = 0, dup = 0;

	barrier_init(&b);
	for (i = 0; i < 2; i++) {
		ck_assert_int_ge(pid[i] = fork(), 0);
		if (pid[i] == 0) {
			struct store *s = child_open(dir);

			barrier_child_wait(&b);
			rc = accept_id(s, "evt_same", 1, 0);
			store_close(s);
			_exit(rc);
		}
	}
	barrier_release(&b, 2);
	for (i = 0; i < 2; i++) {
		rc = wait_exit(pid[i]);
		ck_assert_msg(rc == STORE_OK || rc == STORE_DUPLICATE,
		    "child exit %d", rc);
		ok += rc == STORE_OK;
		dup += rc == STORE_DUPLICATE;
	}
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(dup, 1);
	rm_rf(dir);
	free(dir);
}
END_TEST

#define RACE_IDS	20
#define RACE_PROCS	4

/* One child of the race: every id once, starting at its own offset. */
static void
race_child(const char *dir, struct barrier *b, int me, int out)
{
	struct store *s = child_open(dir);
	unsigned char rec[2];
	char id[32];
	int k, n;

	barrier_child_wait(b);
	for (k = 0; k < RACE_IDS; k++) {
		n = (k + me * RACE_IDS / RACE_PROCS) % RACE_IDS;
		snprintf(id, sizeof(id), "evt_%04d", n);
		rec[0] = (unsigned char)n;
		rec[1] = (unsigned char)accept_id(s, id, 1, 0);
		if (write(out, rec, 2) != 2)
			_exit(CHILD_IO_FAIL);
	}
	store_close(s);
	_exit(0);
}

#define BATCH_THREADS	8
#define BATCH_IDS	200

struct batch_arg {
	struct store	*s;
	int		 me;
	int		 rc[BATCH_IDS];	/* -1: not offered by this thread */
};

static void
batch_body(int n, char *buf, size_t len)
{
	snprintf(buf, len, "{\"id\":\"evt_%04d\",\"n\":%d}", n, n * 7);
}

/* Offers a window of the ids, each also offered by the next thread. */
static void *
batch_thread(void *arg)
{
	struct batch_arg *a = arg;
	struct store_new_event ev;
	char id[32], body[64];
	int k, n, per = 2 * BATCH_IDS / BATCH_THREADS;

	for (k = 0; k < BATCH_IDS; k++)
		a->rc[k] = -1;
	for (k = 0; k < per; k++) {
		n = (a->me * per / 2 + k) % BATCH_IDS;
		snprintf(id, sizeof(id), "evt_%04d", n);
		batch_body(n, body, sizeof(body));
		ev = new_event(id, body, strlen(body), 1, 0);
		a->rc[n] = (int)store_accept(a->s, &ev);
	}
	return NULL;
}

/*
 * The threads of one process record their deliveries in shared
 * transactions (accept_lead()): each id offered twice at once is accepted
 * exactly once, and every body is stored under its own id.
 */
START_TEST(accepts_from_threads)
{
	static struct batch_arg a[BATCH_THREADS];
	pthread_t th[BATCH_THREADS];
	char *dir = make_tmpdir(), id[32], want[64];
	unsigned char *body;
	size_t len;
	struct store *s = open_default(dir);
	int i, n, ok, dup;

	for (i = 0; i < BATCH_THREADS; i++) {
		a[i].s = s;
		a[i].me = i;
		ck_assert_int_eq(pthread_create(&th[i], NULL, batch_thread,
		    &a[i]), 0);
	}
	for (i = 0; i < BATCH_THREADS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (n = 0; n < BATCH_IDS; n++) {
		for (i = ok = dup = 0; i < BATCH_THREADS; i++) {
			ok += a[i].rc[n] == STORE_OK;
			dup += a[i].rc[n] == STORE_DUPLICATE;
		}
		ck_assert_msg(ok == 1 && dup == 1, "id %d: %d accepted, "
		    "%d duplicate", n, ok, dup);
		snprintf(id, sizeof(id), "evt_%04d", n);
		batch_body(n, want, sizeof(want));
		ck_assert_int_eq(store_get(s, id, strlen(id), NULL, &body,
		    &len), 1);
		ck_assert_uint_eq(len, strlen(want));
		ck_assert(memcmp(body, want, len) == 0);
		free(body);
	}
	ck_assert_int_eq(queued_count(s), BATCH_IDS);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* Lines up n items with the given body lengths in s's queue. */
static void
queue_items(struct store *s, struct accept_item *it,
    struct store_new_event *ev, const size_t *len, int n)
{
	int i;

	s->qhead = NULL;
	s->qtail = &s->qhead;
	for (i = 0; i < n; i++) {
		memset(&it[i], 0, sizeof(it[i]));
		ev[i] = new_event("evt_q", "{}", 2, 1, 0);
		ev[i].body_len = len[i];
		it[i].ev = &ev[i];
		*s->qtail = &it[i];
		s->qtail = &it[i].next;
	}
}

static int
list_len(const struct accept_item *it)
{
	int n = 0;

	for (; it != NULL; it = it->next)
		n++;
	return n;
}

/* A batch stops at ACCEPT_BATCH items or ACCEPT_BATCH_BYTES of bodies. */
START_TEST(batch_bounds)
{
	static struct accept_item it[40];
	static struct store_new_event ev[40];
	size_t len[40];
	struct store s;
	int i;

	memset(&s, 0, sizeof(s));
	len[0] = 600 * 1024;
	len[1] = 300 * 1024;
	len[2] = 200 * 1024;
	len[3] = 10;
	queue_items(&s, it, ev, len, 4);
	batch_take(&s, &it[0]);
	ck_assert_int_eq(list_len(&it[0]), 2);
	ck_assert_ptr_eq(s.qhead, &it[2]);
	ck_assert_ptr_eq(s.qtail, &it[3].next);

	len[0] = 5 * 1024 * 1024;	/* alone over the bound: still taken */
	queue_items(&s, it, ev, len, 2);
	batch_take(&s, &it[0]);
	ck_assert_int_eq(list_len(&it[0]), 1);
	ck_assert_ptr_eq(s.qhead, &it[1]);

	for (i = 0; i < 40; i++)
		len[i] = 1024;
	queue_items(&s, it, ev, len, 40);
	batch_take(&s, &it[0]);
	ck_assert_int_eq(list_len(&it[0]), ACCEPT_BATCH);
	ck_assert_ptr_eq(s.qhead, &it[ACCEPT_BATCH]);
	queue_items(&s, it, ev, len, 3);
	batch_take(&s, &it[0]);
	ck_assert_int_eq(list_len(&it[0]), 3);
	ck_assert_ptr_null(s.qhead);
	ck_assert_ptr_eq(s.qtail, &s.qhead);
}
END_TEST

/*
 * Records ev as b, a batch of one item, it: committed (with fsync
 * durability, without a sync) and not yet flushed. The caller frees
 * it->rec.
 */
static void
batch_of_one(struct store *s, struct store_new_event *ev,
    struct accept_item *it, struct accept_batch *b)
{
	memset(it, 0, sizeof(*it));
	it->ev = ev;
	it->now = now_ms();
	ck_assert_int_eq(item_encode(it), 0);
	memset(b, 0, sizeof(*b));
	b->first = it;
	ck_assert_int_eq(store_run(s, op_accept, b), 0);
	ck_assert_int_eq(it->ret, 0);
	ck_assert_uint_eq(b->gen, s->gen);
}

/*
 * A batch committed in one environment and flushed after a reopen is
 * recorded again in the new one (op_flush()): the flush of the new
 * environment would not hold what the old one had in memory. Here the
 * old commit reached the log, so the second recording finds the id.
 */
START_TEST(flush_after_reopen_records_again)
{
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	struct store_new_event ev = new_event("evt_r", "{}", 2, 1, 0);
	struct accept_item it;
	struct accept_batch b;

	batch_of_one(s, &ev, &it, &b);
	ck_assert_int_eq(store_reopen(s, s->gen, DB_RUNRECOVERY), 0);
	ck_assert_int_eq(store_run(s, op_flush, &b), 0);
	ck_assert_int_eq(it.ret, DB_KEYEXIST);
	ck_assert_uint_eq(b.gen, s->gen);
	ck_assert_int_eq(has_id(s, "evt_r"), 1);
	free(it.rec);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(race_many_ids_many_processes)
{
	struct barrier b;
	struct store *s;
	unsigned char rec[2];
	char *dir = make_tmpdir();
	int out[2], ok[RACE_IDS] = { 0 }, dup[RACE_IDS] = { 0 }, i;
	pid_t pid[RACE_PROCS];

	barrier_init(&b);
	ck_assert_int_eq(pipe(out), 0);
	for (i = 0; i < RACE_PROCS; i++) {
		ck_assert_int_ge(pid[i] = fork(), 0);
		if (pid[i] == 0) {
			close(out[0]);
			race_child(dir, &b, i, out[1]);
		}
	}
	close(out[1]);
	barrier_release(&b, RACE_PROCS);
	while (read(out[0], rec, 2) == 2) {
		ck_assert_int_lt(rec[0], RACE_IDS);
		ck_assert_msg(rec[1] == STORE_OK || rec[1] == STORE_DUPLICATE,
		    "status %d", rec[1]);
		ok[rec[0]] += rec[1] == STORE_OK;
		dup[rec[0]] += rec[1] == STORE_DUPLICATE;
	}
	close(out[0]);
	for (i = 0; i < RACE_PROCS; i++)
		ck_assert_int_eq(wait_exit(pid[i]), 0);
	for (i = 0; i < RACE_IDS; i++) {
		ck_assert_msg(ok[i] == 1, "id %d accepted %d times", i, ok[i]);
		ck_assert_int_eq(dup[i], RACE_PROCS - 1);
	}
	s = open_default(dir);
	ck_assert_int_eq(queued_count(s), RACE_IDS);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * In a child: commit A and B, then write C in a transaction that never
 * commits, and die by SIGKILL holding its locks.
 */
static void
die_in_txn(const char *dir, int commit_ab)
{
	struct store *s = child_open(dir);
	struct store_new_event ev;
	struct accept_item it;
	DB_TXN *txn;

	if (commit_ab && (accept_id(s, "evt_A", 1, 0) != STORE_OK ||
	    accept_id(s, "evt_B", 1, 0) != STORE_OK))
		_exit(CHILD_IO_FAIL);
	ev = new_event("evt_C", "{}", 2, 1, 0);
	memset(&it, 0, sizeof(it));
	it.ev = &ev;
	it.now = now_ms();
	if (item_encode(&it) == -1 ||
	    s->env->txn_begin(s->env, NULL, &txn, 0) != 0 ||
	    accept_one(s, txn, &it) != 0 || it.ret != 0)
		_exit(CHILD_IO_FAIL);
	raise(SIGKILL);
	_exit(CHILD_IO_FAIL);
}

static void
expect_killed(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	    "child did not die by SIGKILL (exit %d)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

START_TEST(crash_mid_transaction)
{
	char *dir = make_tmpdir();
	struct store *s;
	pid_t pid;

	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0)
		die_in_txn(dir, 1);
	expect_killed(pid);
	s = open_default(dir);	/* DB_REGISTER finds the dead slot */
	ck_assert_int_eq(has_id(s, "evt_A"), 1);
	ck_assert_int_eq(has_id(s, "evt_B"), 1);
	ck_assert_int_eq(has_id(s, "evt_C"), 0);
	ck_assert_int_eq(queued_count(s), 2);
	ck_assert_int_eq(accept_id(s, "evt_C", 1, 0), STORE_OK);
	ck_assert_int_eq(accept_id(s, "evt_A", 1, 0), STORE_DUPLICATE);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(crash_with_open_env)
{
	char *dir = make_tmpdir();
	struct store *s;
	pid_t pid;

	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		s = child_open(dir);
		if (accept_id(s, "evt_A", 1, 0) != STORE_OK)
			_exit(CHILD_IO_FAIL);
		raise(SIGKILL);
		_exit(CHILD_IO_FAIL);
	}
	expect_killed(pid);
	s = open_default(dir);
	ck_assert_int_eq(has_id(s, "evt_A"), 1);
	ck_assert_int_eq(accept_id(s, "evt_B", 1, 0), STORE_OK);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * A child dies inside a transaction (evt_C, not committed), and another
 * opens the environment: its recovery panics the handles open here.
 */
static void
die_and_recover_elsewhere(const char *dir)
{
	struct store *t;
	pid_t pid;

	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0)
		die_in_txn(dir, 0);
	expect_killed(pid);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		t = child_open(dir);
		store_close(t);
		_exit(0);
	}
	ck_assert_int_eq(wait_exit(pid), 0);
}

/*
 * A process dies inside a transaction while ours stays open, and a third
 * process opens the environment: its recovery panics our handle, whose
 * next call must reopen and succeed.
 */
START_TEST(reopen_after_other_recovers)
{
	char *dir = make_tmpdir();
	struct store *s = open_to_be_panicked(dir);
	unsigned long gen;
	int fds;

	ck_assert_int_eq(accept_id(s, "evt_A", 1, 0), STORE_OK);
	gen = s->gen;
	fds = count_fds();
	die_and_recover_elsewhere(dir);
	ck_assert_int_eq(accept_id(s, "evt_D", 1, 0), STORE_OK);
	ck_assert_uint_eq(s->gen, gen + 1);
	/*
	 * The panicked environment's handles were let go, not closed (a
	 * close can wait for ever on a dead process's mutex): a bounded
	 * number of descriptors stays open.
	 */
	ck_assert_uint_eq(s->abandoned, 1);
	ck_assert_int_le(count_fds(), fds + 16);
	ck_assert_int_eq(has_id(s, "evt_A"), 1);
	ck_assert_int_eq(has_id(s, "evt_C"), 0);
	ck_assert_int_eq(has_id(s, "evt_D"), 1);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * A batch commits without a sync (fsync durability), then another
 * process's recovery panics our environment before the flush. The commit
 * was only in the old environment's log buffer, which the recovery never
 * read: op_flush() must see the panic, reopen and record the batch anew,
 * not take a flush of the new environment for this batch's.
 */
START_TEST(flush_after_other_recovers_records_again)
{
	char *dir = make_tmpdir();
	struct store *s = open_to_be_panicked(dir);
	struct store_new_event ev = new_event("evt_p", "{}", 2, 1, 0);
	struct accept_item it;
	struct accept_batch b;
	unsigned long gen = s->gen;

	batch_of_one(s, &ev, &it, &b);
	die_and_recover_elsewhere(dir);
	ck_assert_int_eq(store_run(s, op_flush, &b), 0);
	ck_assert_int_eq(has_id(s, "evt_p"), 1);
	ck_assert_int_eq(it.ret, 0);	/* lost with the old buffer: anew */
	ck_assert_uint_eq(s->gen, gen + 1);
	ck_assert_uint_eq(s->abandoned, 1);
	ck_assert_uint_eq(b.gen, s->gen);
	ck_assert_int_eq(has_id(s, "evt_C"), 0);
	free(it.rec);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * A process dies inside a transaction and nobody else opens: our accept
 * of the same id waits on the dead transaction's lock, times out, and the
 * reopen it then does runs recovery itself.
 */
START_TEST(reopen_after_stuck_lock)
{
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	unsigned long gen;
	int64_t t0, took;
	pid_t pid;

	ck_assert_int_eq(accept_id(s, "evt_A", 1, 0), STORE_OK);
	gen = s->gen;
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0)
		die_in_txn(dir, 0);
	expect_killed(pid);
	t0 = now_ms();
	ck_assert_int_eq(accept_id(s, "evt_C", 1, 0), STORE_OK);
	took = now_ms() - t0;
	ck_assert_uint_eq(s->gen, gen + 1);
	ck_assert_msg(took >= LOCK_TIMEOUT_US / 1000 &&
	    took < LOCK_TIMEOUT_US / 1000 + 2000,
	    "took %lld ms", (long long)took);
	ck_assert_int_eq(has_id(s, "evt_A"), 1);
	ck_assert_int_eq(queued_count(s), 2);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * Dispatch: claim, finish, leases, replay, purge, walks.
 */

#define LEASE		60000
#define OTHER_TYPE	"other.type"

static void
must_accept(struct store *s, const char *id, int queue)
{
	ck_assert_int_eq(accept_id(s, id, queue, 0), STORE_OK);
}

/* Accepts a queued event of the given type. */
static void
accept_typed(struct store *s, const char *id, const char *type)
{
	struct store_new_event ev;
	char body[128];

	snprintf(body, sizeof(body), "{\"id\":\"%s\"}", id);
	ev = new_event(id, body, strlen(body), 1, 0);
	ev.type = type;
	ck_assert_int_eq(store_accept(s, &ev), STORE_OK);
}

/* Claims the next due job, which must be id at attempt; fills job. */
static void
claim_expect(struct store *s, int64_t now, int64_t lease, const char *id,
    uint32_t attempt, struct store_job *job)
{
	ck_assert_int_eq(store_claim(s, now, lease, NULL, NULL, job), 1);
	ck_assert_str_eq(job->id, id);
	ck_assert_uint_eq(job->id_len, strlen(id));
	ck_assert_uint_eq(job->attempt, attempt);
	store_job_free(job);
	ck_assert_ptr_null(job->body);
}

static void
claim_none(struct store *s, int64_t now)
{
	struct store_job job;

	ck_assert_int_eq(store_claim(s, now, LEASE, NULL, NULL, &job), 0);
}

/* Records an attempt with a short text output and moves the job on. */
static void
finish_out(struct store *s, const struct store_job *job,
    enum event_state next, int64_t due, const char *out)
{
	struct store_attempt at;

	memset(&at, 0, sizeof(at));
	at.start_ms = now_ms();
	at.duration_ms = 12;
	at.exited = 1;
	at.status = next == STATE_DONE ? 0 : 1;
	at.output = out;
	at.output_len = strlen(out);
	ck_assert_int_eq(store_finish(s, job, &at, next, due), 0);
}

static struct store_event_info
info_of(struct store *s, const char *id)
{
	struct store_event_info info;

	ck_assert_int_eq(store_get(s, id, strlen(id), &info, NULL, NULL), 1);
	return info;
}

/* Entries of one database, counted directly. */
static long
db_entries(DB *db)
{
	struct pending_arg a;

	a.limit = LONG_MAX;
	a.count = 0;
	ck_assert_int_eq(count_entries(db, NULL, &a), 0);
	return a.count;
}

static int
allow_other(void *ctx, const char *type)
{
	(void)ctx;
	return strcmp(type, OTHER_TYPE) == 0;
}

static int
allow_none(void *ctx, const char *type)
{
	(void)ctx;
	(void)type;
	return 0;
}

START_TEST(attempt_codec)
{
	struct store_attempt at;
	struct store_attempt_info ai;
	unsigned char *buf;
	size_t len, cut;

	memset(&at, 0, sizeof(at));
	at.start_ms = 1700000000123LL;
	at.duration_ms = 30005;
	at.exited = 0;
	at.status = -1;
	at.signal = 9;
	at.timed_out = 1;
	at.spawn_error = ENOENT;
	at.output = "out\0put";
	at.output_len = 7;
	buf = att_encode(7, &at, &len);
	ck_assert_uint_eq(len, ATT_FIXED + 7);
	ck_assert_int_eq(att_decode(buf, len, &ai), 0);
	ck_assert_uint_eq(ai.attempt, 7);
	ck_assert_int_eq(ai.a.start_ms, at.start_ms);
	ck_assert_int_eq(ai.a.duration_ms, 30005);
	ck_assert_int_eq(ai.a.exited, 0);
	ck_assert_int_eq(ai.a.status, -1);
	ck_assert_int_eq(ai.a.signal, 9);
	ck_assert_int_eq(ai.a.timed_out, 1);
	ck_assert_int_eq(ai.a.spawn_error, ENOENT);
	ck_assert_uint_eq(ai.a.output_len, 7);
	ck_assert(memcmp(ai.a.output, "out\0put", 7) == 0);
	for (cut = 0; cut < len; cut++)
		ck_assert_int_eq(att_decode(buf, cut, &ai), -1);
	buf[0] = ATT_VERSION + 1;
	ck_assert_int_eq(att_decode(buf, len, &ai), -1);
	free(buf);
}
END_TEST

/* Ids the store cannot key jobs by are refused at the door. */
START_TEST(accept_refuses_bad_ids)
{
	struct store_new_event ev;
	char long_id[STORE_ID_MAX + 2];
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);

	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	ck_assert_int_eq(accept_id(s, long_id, 1, 0), STORE_UNAVAILABLE);
	long_id[STORE_ID_MAX] = '\0';
	ck_assert_int_eq(accept_id(s, long_id, 1, 0), STORE_OK);
	ev = new_event("evt_nul", "{}", 2, 1, 0);
	ev.id_len = 8;		/* takes the NUL */
	ck_assert_int_eq(store_accept(s, &ev), STORE_UNAVAILABLE);
	ev.id_len = 0;
	ck_assert_int_eq(store_accept(s, &ev), STORE_UNAVAILABLE);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(claim_in_due_order)
{
	struct store_job job, j1, j2, j3;
	struct store_event_info info;
	struct store_counts c;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	int64_t t0 = now_ms(), t;

	claim_none(s, t0);
	must_accept(s, "evt_1", 1);
	usleep(2000);
	must_accept(s, "evt_2", 1);
	usleep(2000);
	must_accept(s, "evt_3", 1);
	/* Nothing is due before it was accepted. */
	claim_none(s, t0 - 1000);
	t = now_ms();
	ck_assert_int_eq(store_claim(s, t, LEASE, NULL, NULL, &j1), 1);
	ck_assert_str_eq(j1.id, "evt_1");
	ck_assert_uint_eq(j1.attempt, 1);
	ck_assert_str_eq(j1.type, TYPE);
	ck_assert_str_eq(j1.created_at, CREATED);
	ck_assert_str_eq(j1.route, ROUTE);
	ck_assert_uint_eq(j1.body_len, strlen("{\"id\":\"evt_1\"}"));
	ck_assert(memcmp(j1.body, "{\"id\":\"evt_1\"}", j1.body_len) == 0);
	store_job_free(&j1);
	store_job_free(&j1);		/* twice is fine */
	store_job_free(NULL);
	info = info_of(s, "evt_1");
	ck_assert_int_eq(info.state, STATE_RUNNING);
	ck_assert_uint_eq(info.attempts, 1);
	ck_assert_int_eq(info.due_ms, t + LEASE);
	claim_expect(s, t, LEASE, "evt_2", 1, &j2);
	claim_expect(s, t, LEASE, "evt_3", 1, &j3);
	claim_none(s, t);
	ck_assert_int_eq(store_count(s, &c), 0);
	ck_assert_uint_eq(c.running, 3);
	ck_assert_uint_eq(c.queued, 0);
	ck_assert_int_eq(c.oldest_pending_ms, info.received_ms);

	/* Retries come back in the order of their due times. */
	finish_out(s, &j1, STATE_RETRYING, t + 30, "");
	finish_out(s, &j2, STATE_RETRYING, t + 10, "");
	finish_out(s, &j3, STATE_RETRYING, t + 20, "");
	claim_none(s, t + 5);
	claim_expect(s, t + 100, LEASE, "evt_2", 2, &job);
	claim_expect(s, t + 100, LEASE, "evt_3", 2, &job);
	claim_expect(s, t + 100, LEASE, "evt_1", 2, &job);
	claim_none(s, t + 100);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(claim_moves_inbox)
{
	struct store_event_info first;
	char *dir = make_tmpdir(), id[32];
	struct store *s = open_store(dir, MiB, DURABILITY_WRITE);
	int i, n = 2 * INBOX_BATCH + 50;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "evt_%04d", i);
		ck_assert_int_eq(accept_id(s, id, 1, 0), STORE_OK);
	}
	first = info_of(s, "evt_0000");
	ck_assert_int_eq(db_entries(s->inbox), n);
	ck_assert_int_eq(store_next_due(s), first.received_ms);
	claim_none(s, first.received_ms - 1);
	ck_assert_int_eq(db_entries(s->inbox), 0);
	ck_assert_int_eq(db_entries(s->jobs), n);
	ck_assert_int_eq(inbox_due(s, "evt_0000"), -1);
	ck_assert_int_eq(store_next_due(s), first.received_ms);
	ck_assert_int_eq(queued_count(s), n);
	ck_assert_int_eq(info_of(s, "evt_0100").state, STATE_QUEUED);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* The filter skips types, also past a whole scan batch of them. */
START_TEST(claim_allow_filter)
{
	struct store_job job;
	char *dir = make_tmpdir(), id[32];
	struct store *s = open_store(dir, MiB, DURABILITY_WRITE);
	int i;

	for (i = 0; i < SCAN_BATCH + 5; i++) {
		snprintf(id, sizeof(id), "evt_%03d", i);
		accept_typed(s, id, TYPE);
	}
	usleep(2000);
	accept_typed(s, "evt_other", OTHER_TYPE);
	ck_assert_int_eq(store_claim(s, now_ms(), LEASE, allow_other, NULL,
	    &job), 1);
	ck_assert_str_eq(job.id, "evt_other");
	ck_assert_str_eq(job.type, OTHER_TYPE);
	store_job_free(&job);
	ck_assert_int_eq(store_claim(s, now_ms(), LEASE, allow_other, NULL,
	    &job), 0);
	ck_assert_int_eq(store_claim(s, now_ms(), LEASE, allow_none, NULL,
	    &job), 0);
	claim_expect(s, now_ms(), LEASE, "evt_000", 1, &job);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(finish_done_and_failed)
{
	struct store_job a, b;
	struct store_event_info info;
	struct store_counts c;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	int64_t t;

	ck_assert_int_eq(store_next_due(s), 0);
	must_accept(s, "evt_a", 1);
	usleep(2000);
	must_accept(s, "evt_b", 1);
	t = now_ms();
	claim_expect(s, t, LEASE, "evt_a", 1, &a);
	ck_assert_int_eq(store_next_due(s), info_of(s, "evt_b").received_ms);
	claim_expect(s, t, LEASE, "evt_b", 1, &b);
	ck_assert_int_eq(store_next_due(s), t + LEASE);
	ck_assert_int_eq(queued_count(s), 2);
	finish_out(s, &a, STATE_DONE, 0, "ok\n");
	ck_assert_int_eq(queued_count(s), 1);
	info = info_of(s, "evt_a");
	ck_assert_int_eq(info.state, STATE_DONE);
	ck_assert_int_eq(info.due_ms, 0);
	ck_assert_uint_eq(info.attempts, 1);
	finish_out(s, &b, STATE_FAILED, 0, "bad\n");
	ck_assert_int_eq(queued_count(s), 0);
	ck_assert_int_eq(store_next_due(s), 0);
	ck_assert_int_eq(info_of(s, "evt_b").state, STATE_FAILED);
	claim_none(s, t + 2 * LEASE);
	ck_assert_int_eq(store_count(s, &c), 0);
	ck_assert_uint_eq(c.done, 1);
	ck_assert_uint_eq(c.failed, 1);
	ck_assert_uint_eq(c.queued + c.running + c.retrying, 0);
	ck_assert_int_eq(c.oldest_pending_ms, 0);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A retry is not claimable before its due time, then counts up. */
START_TEST(finish_retrying_and_attempts)
{
	struct store_job job;
	struct store_attempt at;
	struct store_attempt_info *v;
	struct store_event_info info;
	unsigned char *big = make_body(64 * 1024, 3);
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	size_t n;
	int64_t t;

	must_accept(s, "evt_r", 1);
	t = now_ms();
	claim_expect(s, t, LEASE, "evt_r", 1, &job);
	memset(&at, 0, sizeof(at));
	at.start_ms = t;
	at.duration_ms = 30000;
	at.signal = SIGKILL;
	at.timed_out = 1;
	at.output = (const char *)big;
	at.output_len = 64 * 1024;
	ck_assert_int_eq(store_finish(s, &job, &at, STATE_RETRYING, t + 1000),
	    0);
	info = info_of(s, "evt_r");
	ck_assert_int_eq(info.state, STATE_RETRYING);
	ck_assert_int_eq(info.due_ms, t + 1000);
	ck_assert_int_eq(store_next_due(s), t + 1000);
	claim_none(s, t + 999);
	claim_expect(s, t + 1000, LEASE, "evt_r", 2, &job);
	finish_out(s, &job, STATE_RETRYING, t + 2000, "");
	claim_expect(s, t + 2000, LEASE, "evt_r", 3, &job);
	memset(&at, 0, sizeof(at));
	at.start_ms = t + 2000;
	at.duration_ms = 5;
	at.exited = 1;
	at.status = 65;
	at.output = "bad event\n";
	at.output_len = 10;
	ck_assert_int_eq(store_finish(s, &job, &at, STATE_FAILED, 0), 0);
	ck_assert_int_eq(info_of(s, "evt_r").state, STATE_FAILED);

	ck_assert_int_eq(store_attempts(s, "evt_r", 5, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v[0].attempt, 1);
	ck_assert_int_eq(v[0].a.start_ms, t);
	ck_assert_int_eq(v[0].a.duration_ms, 30000);
	ck_assert_int_eq(v[0].a.exited, 0);
	ck_assert_int_eq(v[0].a.signal, SIGKILL);
	ck_assert_int_eq(v[0].a.timed_out, 1);
	ck_assert_uint_eq(v[0].a.output_len, 64 * 1024);
	ck_assert(memcmp(v[0].a.output, big, 64 * 1024) == 0);
	ck_assert_uint_eq(v[1].attempt, 2);
	ck_assert_uint_eq(v[1].a.output_len, 0);
	ck_assert_ptr_nonnull(v[1].a.output);
	ck_assert_uint_eq(v[2].attempt, 3);
	ck_assert_int_eq(v[2].a.exited, 1);
	ck_assert_int_eq(v[2].a.status, 65);
	ck_assert_str_eq(v[2].a.output, "bad event\n");
	store_attempts_free(v, n);
	ck_assert_int_eq(store_attempts(s, "evt_none", 8, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
	store_attempts_free(NULL, 0);
	free(big);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * Attempt keys of an id stay apart from those of ids it is a prefix of
 * ("evt_1" and "evt_10" sort next to each other).
 */
START_TEST(attempts_of_prefix_ids)
{
	struct store_job job;
	struct store_attempt_info *v;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	size_t n;
	int64_t t;
	int i;

	must_accept(s, "evt_1", 1);
	must_accept(s, "evt_10", 1);
	t = now_ms();
	for (i = 0; i < 3; i++) {
		while (store_claim(s, t + i, LEASE, NULL, NULL, &job) == 1) {
			store_job_free(&job);
			finish_out(s, &job, STATE_RETRYING, t + i + 1, job.id);
		}
	}
	ck_assert_int_eq(store_attempts(s, "evt_1", 5, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(v[i].attempt, (uint32_t)i + 1);
		ck_assert_str_eq(v[i].a.output, "evt_1");
	}
	store_attempts_free(v, n);
	ck_assert_int_eq(store_attempts(s, "evt_10", 6, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[2].a.output, "evt_10");
	store_attempts_free(v, n);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/*
 * A claimed job that is never finished runs again when its lease ends;
 * the late finish of the first run only adds to the history.
 */
START_TEST(lease_expiry)
{
	struct store_job j1, j2;
	struct store_event_info info;
	struct store_attempt_info *v;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	size_t n;
	int64_t t;

	must_accept(s, "evt_l", 1);
	t = now_ms();
	claim_expect(s, t, 50, "evt_l", 1, &j1);
	claim_none(s, t + 49);
	usleep(60 * 1000);
	claim_expect(s, now_ms(), LEASE, "evt_l", 2, &j2);
	finish_out(s, &j1, STATE_DONE, 0, "late");
	info = info_of(s, "evt_l");
	ck_assert_int_eq(info.state, STATE_RUNNING);
	ck_assert_uint_eq(info.attempts, 2);
	ck_assert_int_eq(queued_count(s), 1);
	finish_out(s, &j2, STATE_DONE, 0, "second");
	ck_assert_int_eq(info_of(s, "evt_l").state, STATE_DONE);
	ck_assert_int_eq(queued_count(s), 0);
	ck_assert_int_eq(store_attempts(s, "evt_l", 5, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(v[0].attempt, 1);
	ck_assert_str_eq(v[0].a.output, "late");
	ck_assert_uint_eq(v[1].attempt, 2);
	store_attempts_free(v, n);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(requeue_running)
{
	struct store_job job;
	struct store_event_info info;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	int64_t t;

	must_accept(s, "evt_a", 1);
	must_accept(s, "evt_b", 1);
	usleep(2000);
	must_accept(s, "evt_q", 1);
	t = now_ms();
	ck_assert_int_eq(store_requeue_running(s, t), 0);
	claim_expect(s, t, LEASE, "evt_a", 1, &job);
	claim_expect(s, t, LEASE, "evt_b", 1, &job);
	ck_assert_int_eq(store_requeue_running(s, t + 1), 2);
	info = info_of(s, "evt_a");
	ck_assert_int_eq(info.state, STATE_RETRYING);
	ck_assert_int_eq(info.due_ms, t + 1);
	ck_assert_int_eq(info_of(s, "evt_q").state, STATE_QUEUED);
	ck_assert_int_eq(store_next_due(s), info_of(s, "evt_q").received_ms);
	claim_expect(s, t + 1, LEASE, "evt_q", 1, &job);
	claim_expect(s, t + 1, LEASE, "evt_a", 2, &job);
	claim_expect(s, t + 1, LEASE, "evt_b", 2, &job);
	claim_none(s, t + 1);
	ck_assert_int_eq(queued_count(s), 3);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A drainer dies by SIGKILL after a claim; the next one runs it again. */
START_TEST(claim_then_killed)
{
	struct store_job job;
	char *dir = make_tmpdir(), id[64];
	struct store *s;
	int pfd[2];
	ssize_t len;
	pid_t pid;

	s = open_default(dir);
	must_accept(s, "evt_k", 1);
	store_close(s);
	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		struct store *t = child_open(dir);

		close(pfd[0]);
		if (store_claim(t, now_ms(), LEASE, NULL, NULL, &job) != 1 ||
		    write(pfd[1], job.id, job.id_len) != (ssize_t)job.id_len)
			_exit(CHILD_IO_FAIL);
		raise(SIGKILL);
		_exit(CHILD_IO_FAIL);
	}
	close(pfd[1]);
	len = read(pfd[0], id, sizeof(id) - 1);
	close(pfd[0]);
	expect_killed(pid);
	ck_assert_int_gt(len, 0);
	id[len] = '\0';
	ck_assert_str_eq(id, "evt_k");
	s = open_default(dir);
	ck_assert_int_eq(info_of(s, "evt_k").state, STATE_RUNNING);
	claim_none(s, now_ms());
	ck_assert_int_eq(store_requeue_running(s, now_ms()), 1);
	claim_expect(s, now_ms(), LEASE, "evt_k", 2, &job);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* Claims and finishes id at once with next. */
/*
 * Bodies are kept in received order, under be64(received_ms) || id, and a
 * 1 KiB body sits on a leaf page: no overflow page of its own per accept
 * (bench/RESULTS.md says what those cost).
 */
START_TEST(bodies_in_received_order)
{
	static const char *ids[] = { "evt_z", "evt_a", "evt_m", "evt_b" };
	char *dir = make_tmpdir(), body[1024];
	struct store *s = open_default(dir);
	struct store_new_event ev;
	DB_BTREE_STAT *st;
	uint64_t last = 0;
	DBC *c;
	DBT k, d;
	size_t i;

	memset(body, 'x', sizeof(body));
	for (i = 0; i < 40; i++) {
		char id[32];

		snprintf(id, sizeof(id), "%s%02zu", ids[i % 4], 99 - i);
		ev = new_event(id, body, sizeof(body), 1, 0);
		ck_assert_int_eq(store_accept(s, &ev), STORE_OK);
		if (i % 8 == 0)
			usleep(2000);
	}
	ck_assert_int_eq(s->bodies->cursor(s->bodies, NULL, &c, 0), 0);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	for (i = 0; c->get(c, &k, &d, DB_NEXT) == 0; i++) {
		struct store_event_info info;
		char id[32];

		ck_assert_uint_gt(k.size, 8);
		ck_assert_uint_lt(k.size - 8, sizeof(id));
		memcpy(id, (char *)k.data + 8, k.size - 8);
		id[k.size - 8] = '\0';
		ck_assert_int_eq(store_get(s, id, strlen(id), &info, NULL,
		    NULL), 1);
		ck_assert_uint_eq(be64_get(k.data), (uint64_t)info.received_ms);
		ck_assert_uint_ge(be64_get(k.data), last);
		last = be64_get(k.data);
		ck_assert_uint_eq(d.size, sizeof(body));
	}
	ck_assert_int_eq(c->close(c), 0);
	ck_assert_uint_eq(i, 40);
	ck_assert_int_eq(s->bodies->stat(s->bodies, NULL, &st, 0), 0);
	ck_assert_uint_eq(st->bt_over_pg, 0);
	ck_assert_uint_eq(st->bt_pagesize, BODY_PAGESIZE);
	free(st);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* A store whose bodies.db is a hash (hookgate before the Btree of
   bodies) is refused with a message that says what it is. */
START_TEST(old_bodies_refused)
{
	struct store_options o = { MiB, DURABILITY_FSYNC };
	char *dir = make_tmpdir(), *p, err[512];
	DB *db;

	p = xasprintf("%s/bodies.db", dir);
	ck_assert_int_eq(db_create(&db, NULL, 0), 0);
	ck_assert_int_eq(db->open(db, NULL, p, NULL, DB_HASH, DB_CREATE,
	    0600), 0);
	ck_assert_int_eq(db->close(db, 0), 0);
	ck_assert_ptr_null(store_open(dir, &o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "bodies.db: Invalid argument (a store of "
	    "an older hookgate?") != NULL, "%s", err);
	free(p);
	rm_rf(dir);
	free(dir);
}
END_TEST

static void
run_once(struct store *s, const char *id, enum event_state next)
{
	struct store_job job;

	claim_expect(s, now_ms() + 10, LEASE, id, 1, &job);
	finish_out(s, &job, next, 0, "output");
}

START_TEST(purge_finished)
{
	struct store_job job;
	struct store_attempt_info *v;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	unsigned long n;
	size_t na;
	int64_t cut;

	must_accept(s, "evt_done", 1);
	run_once(s, "evt_done", STATE_DONE);
	must_accept(s, "evt_fail", 1);
	run_once(s, "evt_fail", STATE_FAILED);
	must_accept(s, "evt_ign", 0);
	must_accept(s, "evt_running", 1);
	usleep(3000);
	cut = now_ms();
	usleep(3000);
	must_accept(s, "evt_new", 1);
	claim_expect(s, now_ms() + 10, LEASE, "evt_running", 1, &job);
	run_once(s, "evt_new", STATE_DONE);

	ck_assert_int_eq(store_purge(s, cut, 0, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(has_id(s, "evt_done"), 0);
	ck_assert_int_eq(has_id(s, "evt_ign"), 0);
	ck_assert_int_eq(has_id(s, "evt_fail"), 1);
	ck_assert_int_eq(has_id(s, "evt_running"), 1);
	ck_assert_int_eq(has_id(s, "evt_new"), 1);
	ck_assert_int_eq(store_attempts(s, "evt_done", 8, &v, &na), 0);
	ck_assert_uint_eq(na, 0);
	ck_assert_int_eq(store_attempts(s, "evt_fail", 8, &v, &na), 0);
	ck_assert_uint_eq(na, 1);
	store_attempts_free(v, na);
	ck_assert_int_eq(store_purge(s, cut, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(has_id(s, "evt_fail"), 0);
	ck_assert_int_eq(store_purge(s, now_ms() + 1, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(has_id(s, "evt_new"), 0);
	ck_assert_int_eq(has_id(s, "evt_running"), 1);
	/* Records, bodies and attempts of the purged are all gone. */
	ck_assert_int_eq(db_entries(s->events), 1);
	ck_assert_int_eq(db_entries(s->bodies), 1);
	ck_assert_int_eq(db_entries(s->attempts), 0);
	/* A purged id may be accepted again, with a history of its own. */
	ck_assert_int_eq(accept_id(s, "evt_done", 1, 0), STORE_OK);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

/* Many batches, of events and of body bytes, in one purge. */
START_TEST(purge_in_batches)
{
	struct store_new_event ev;
	unsigned char *body = make_body(MiB, 1);
	char *dir = make_tmpdir(), id[32];
	struct store *s = open_store(dir, 2 * MiB, DURABILITY_WRITE);
	unsigned long n;
	int i;

	for (i = 0; i < 2 * EVENT_BATCH + 30; i++) {
		snprintf(id, sizeof(id), "evt_%04d", i);
		ev = new_event(id, body, i < 10 ? MiB : 10, 0, 0);
		ck_assert_int_eq(store_accept(s, &ev), STORE_OK);
	}
	ck_assert_int_eq(store_purge(s, now_ms() + 1, 0, &n), 0);
	ck_assert_uint_eq(n, 2 * EVENT_BATCH + 30);
	ck_assert_int_eq(db_entries(s->events), 0);
	ck_assert_int_eq(db_entries(s->bodies), 0);
	free(body);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(replay_events)
{
	struct store_job job;
	struct store_event_info info;
	struct store_attempt_info *v;
	char *dir = make_tmpdir();
	struct store *s = open_default(dir);
	size_t n;
	int64_t t;

	must_accept(s, "evt_f", 1);
	claim_expect(s, now_ms(), LEASE, "evt_f", 1, &job);
	finish_out(s, &job, STATE_RETRYING, now_ms(), "one");
	claim_expect(s, now_ms(), LEASE, "evt_f", 2, &job);
	finish_out(s, &job, STATE_FAILED, 0, "two");
	t = now_ms();
	ck_assert_int_eq(store_replay(s, "evt_f", 5, t), 1);
	info = info_of(s, "evt_f");
	ck_assert_int_eq(info.state, STATE_QUEUED);
	ck_assert_uint_eq(info.attempts, 0);
	ck_assert_int_eq(info.due_ms, t);
	ck_assert_int_eq(inbox_due(s, "evt_f"), t);
	ck_assert_int_eq(store_next_due(s), t);
	ck_assert_int_eq(store_replay(s, "evt_f", 5, t), 2);
	claim_expect(s, t, LEASE, "evt_f", 1, &job);
	ck_assert_int_eq(store_replay(s, "evt_f", 5, t), 2);
	finish_out(s, &job, STATE_DONE, 0, "three");
	ck_assert_int_eq(store_attempts(s, "evt_f", 5, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(v[0].attempt, 1);
	ck_assert_str_eq(v[0].a.output, "one");
	ck_assert_uint_eq(v[1].attempt, 2);
	ck_assert_uint_eq(v[2].attempt, 1);
	ck_assert_str_eq(v[2].a.output, "three");
	store_attempts_free(v, n);
	ck_assert_int_eq(store_replay(s, "evt_f", 5, t), 1);
	ck_assert_int_eq(store_replay(s, "evt_nope", 8, t), 0);
	/* Ignored events can be queued too. */
	must_accept(s, "evt_i", 0);
	ck_assert_int_eq(store_replay(s, "evt_i", 5, t), 1);
	ck_assert_int_eq(info_of(s, "evt_i").state, STATE_QUEUED);
	ck_assert_int_eq(queued_count(s), 2);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

#define WALK_N	250

struct walk {
	struct store	*s;
	int		 seen[WALK_N];
	int		 calls;
	int		 stop_after;
	int		 replayed;
};

/*
 * Counts visits; with w->s set, also checks states and replays ignored
 * events from inside the walk.
 */
static int
walk_fn(void *ctx, const char *id, size_t id_len,
    const struct store_event_info *info)
{
	struct walk *w = ctx;
	int i;

	ck_assert_uint_eq(id_len, 8);
	ck_assert(memcmp(id, "evt_", 4) == 0);
	i = atoi(id + 4);
	ck_assert_int_lt(i, WALK_N);
	w->seen[i]++;
	ck_assert_str_eq(info->type, TYPE);
	if (w->s == NULL)
		return ++w->calls == w->stop_after;
	ck_assert_int_eq(info->state, i % 3 == 0 ? STATE_IGNORED :
	    STATE_QUEUED);
	if (info->state == STATE_IGNORED) {
		ck_assert_int_eq(store_replay(w->s, id, id_len, now_ms()), 1);
		w->replayed++;
	}
	return ++w->calls == w->stop_after;
}

START_TEST(foreach_once_each)
{
	struct walk *w = xcalloc(1, sizeof(*w));
	char *dir = make_tmpdir(), id[32];
	struct store *s = open_store(dir, MiB, DURABILITY_WRITE);
	int i;

	for (i = 0; i < WALK_N; i++) {
		snprintf(id, sizeof(id), "evt_%04d", i);
		ck_assert_int_eq(accept_id(s, id, i % 3 != 0, 0), STORE_OK);
	}
	w->s = s;
	ck_assert_int_eq(store_foreach(s, walk_fn, w), 0);
	ck_assert_int_eq(w->calls, WALK_N);
	for (i = 0; i < WALK_N; i++)
		ck_assert_msg(w->seen[i] == 1, "evt_%04d seen %d times", i,
		    w->seen[i]);
	ck_assert_int_eq(w->replayed, (WALK_N + 2) / 3);
	ck_assert_int_eq(queued_count(s), WALK_N);

	/* A non-zero return stops the walk. */
	memset(w, 0, sizeof(*w));
	w->stop_after = 10;
	ck_assert_int_eq(store_foreach(s, walk_fn, w), 0);
	ck_assert_int_eq(w->calls, 10);
	free(w);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

#define MANY	1000

/* Every accepted event is claimed exactly once, then finished. */
START_TEST(many_claimed_once)
{
	struct store_job *jobs = xcalloc(MANY, sizeof(*jobs));
	struct store_counts c;
	char *dir = make_tmpdir(), id[32], *seen = xcalloc(MANY, 1);
	struct store *s = open_store(dir, MiB, DURABILITY_WRITE);
	int64_t t;
	int i, k;

	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "evt_%04d", i);
		ck_assert_int_eq(accept_id(s, id, 1, 0), STORE_OK);
	}
	t = now_ms();
	for (i = 0; i < MANY; i++) {
		ck_assert_int_eq(store_claim(s, t, LEASE, NULL, NULL,
		    &jobs[i]), 1);
		k = atoi(jobs[i].id + 4);
		ck_assert_int_eq(seen[k]++, 0);
		store_job_free(&jobs[i]);
	}
	claim_none(s, t);
	for (i = 0; i < MANY; i++)
		finish_out(s, &jobs[i], STATE_DONE, 0, "");
	ck_assert_int_eq(queued_count(s), 0);
	ck_assert_int_eq(store_next_due(s), 0);
	ck_assert_int_eq(store_count(s, &c), 0);
	ck_assert_uint_eq(c.done, MANY);
	claim_none(s, t + 2 * LEASE);
	free(seen);
	free(jobs);
	store_close(s);
	rm_rf(dir);
	free(dir);
}
END_TEST

#define THREADED	300

/* Jobs handed from the claiming thread to two finishing threads. */
struct handoff {
	struct store	*s;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct store_job q[THREADED * 2];
	size_t		 head, tail;
	int		 closed;
	int		 done;		/* events finished as done */
	int		 errors;
};

/* A worker: the first attempt asks for a retry now, the second is done. */
static void *
finisher(void *arg)
{
	struct handoff *h = arg;
	struct store_attempt at;
	struct store_job job;
	enum event_state next;
	int rc;

	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (h->head == h->tail && !h->closed)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->head == h->tail) {
			pthread_mutex_unlock(&h->mu);
			return NULL;
		}
		job = h->q[h->head++];
		pthread_mutex_unlock(&h->mu);
		memset(&at, 0, sizeof(at));
		at.exited = 1;
		at.output = job.id;
		at.output_len = job.id_len;
		next = job.attempt == 1 ? STATE_RETRYING : STATE_DONE;
		rc = store_finish(h->s, &job, &at, next, now_ms());
		pthread_mutex_lock(&h->mu);
		if (rc != 0)
			h->errors++;
		else if (next == STATE_DONE)
			h->done++;
		pthread_mutex_unlock(&h->mu);
	}
}

START_TEST(finish_from_threads)
{
	struct handoff *h = xcalloc(1, sizeof(*h));
	struct store_attempt_info *v;
	struct store_job job;
	struct store_counts c;
	char *dir = make_tmpdir(), id[32];
	pthread_t th[2];
	int64_t deadline;
	size_t n;
	int i, rc, done;

	h->s = open_store(dir, MiB, DURABILITY_WRITE);
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	for (i = 0; i < THREADED; i++) {
		snprintf(id, sizeof(id), "evt_%04d", i);
		ck_assert_int_eq(accept_id(h->s, id, 1, 0), STORE_OK);
	}
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, finisher, h), 0);
	deadline = now_ms() + 20000;
	do {
		rc = store_claim(h->s, now_ms(), LEASE, NULL, NULL, &job);
		ck_assert_int_ge(rc, 0);
		store_job_free(&job);
		pthread_mutex_lock(&h->mu);
		if (rc == 1) {
			ck_assert_uint_lt(h->tail, THREADED * 2);
			h->q[h->tail++] = job;
			pthread_cond_signal(&h->cv);
		}
		done = h->done;
		pthread_mutex_unlock(&h->mu);
		if (rc == 0)
			usleep(500);
	} while (done < THREADED && now_ms() < deadline);
	pthread_mutex_lock(&h->mu);
	h->closed = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(h->errors, 0);
	ck_assert_int_eq(h->done, THREADED);
	ck_assert_uint_eq(h->tail, THREADED * 2);
	ck_assert_int_eq(queued_count(h->s), 0);
	ck_assert_int_eq(store_count(h->s, &c), 0);
	ck_assert_uint_eq(c.done, THREADED);
	ck_assert_int_eq(store_attempts(h->s, "evt_0123", 8, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[1].a.output, "evt_0123");
	store_attempts_free(v, n);
	store_close(h->s);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
	rm_rf(dir);
	free(dir);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("records");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, accept_then_get);
	tcase_add_test(tc, body_larger_than_log_file);
	tcase_add_test(tc, duplicate_keeps_first);
	tcase_add_test(tc, ignored_has_no_job);
	tcase_add_test(tc, counts_by_state);
	tcase_add_test(tc, queue_full);
	tcase_add_test(tc, pending_cache_expires);
	tcase_add_loop_test(tc, durability_and_reopen, 0,
	    sizeof(durabilities) / sizeof(durabilities[0]));
	tcase_add_test(tc, record_codec);
	tcase_add_test(tc, small_helpers);
	tcase_add_test(tc, pending_ttls);
	suite_add_tcase(s, tc);

	tc = tcase_create("state_dir");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, files_and_modes);
	tcase_add_test(tc, bad_state_dir);
	tcase_add_test(tc, remote_fs_magic);
	tcase_add_test(tc, db_config_refused);
	tcase_add_test(tc, bodies_in_received_order);
	tcase_add_test(tc, old_bodies_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, race_one_id_two_processes);
	tcase_add_test(tc, race_many_ids_many_processes);
	tcase_add_test(tc, accepts_from_threads);
	tcase_add_test(tc, batch_bounds);
	tcase_add_test(tc, flush_after_reopen_records_again);
	tcase_add_test(tc, crash_mid_transaction);
	tcase_add_test(tc, crash_with_open_env);
	tcase_add_test(tc, reopen_after_other_recovers);
	tcase_add_test(tc, flush_after_other_recovers_records_again);
	tcase_add_test(tc, reopen_after_stuck_lock);
	tcase_add_test(tc, claim_then_killed);
	suite_add_tcase(s, tc);

	tc = tcase_create("dispatch");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, attempt_codec);
	tcase_add_test(tc, accept_refuses_bad_ids);
	tcase_add_test(tc, claim_in_due_order);
	tcase_add_test(tc, claim_moves_inbox);
	tcase_add_test(tc, claim_allow_filter);
	tcase_add_test(tc, finish_done_and_failed);
	tcase_add_test(tc, finish_retrying_and_attempts);
	tcase_add_test(tc, attempts_of_prefix_ids);
	tcase_add_test(tc, lease_expiry);
	tcase_add_test(tc, requeue_running);
	tcase_add_test(tc, purge_finished);
	tcase_add_test(tc, purge_in_batches);
	tcase_add_test(tc, replay_events);
	tcase_add_test(tc, foreach_once_each);
	tcase_add_test(tc, many_claimed_once);
	tcase_add_test(tc, finish_from_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return run_suite(store_suite());
}
