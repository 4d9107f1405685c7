/*
 * check_request.c -- CGI variables and bounded body reading.
 */
#include <sys/types.h>

#include "request.h"
#include "testutil.h"

/* A body source that hands out a buffer in chunks of `step` bytes. */
struct src {
	const char	*data;
	size_t		 len;
	size_t		 off;
	size_t		 step;
	int		 fail_at;	/* return -1 once off reaches this */
};

static ssize_t
src_read(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;
	size_t n = s->len - s->off;

	if (s->fail_at >= 0 && s->off >= (size_t)s->fail_at)
		return -1;
	if (n > len)
		n = len;
	if (n > s->step)
		n = s->step;
	memcpy(buf, s->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

static enum body_status
read_body(const char *cl, const char *data, size_t len, size_t step,
    size_t max, struct request **out)
{
	struct src s = { data, len, 0, step, -1 };
	struct body_reader rd = { src_read, &s };
	struct request *req = request_new();
	enum body_status st;

	if (cl != NULL)
		request_add_param(req, "CONTENT_LENGTH", cl);
	st = request_read_body(req, &rd, max);
	if (out != NULL)
		*out = req;
	else
		request_free(req);
	return st;
}

static const struct {
	const char		*cl;
	size_t			 len;
	size_t			 max;
	enum body_status	 want;
} bodies[] = {
	{ "10", 10, 100, BODY_OK },
	{ NULL, 10, 100, BODY_OK },		/* chunked: no length */
	{ "", 10, 100, BODY_OK },
	{ "100", 100, 100, BODY_OK },		/* exactly max_body */
	{ "101", 101, 100, BODY_TOO_LARGE },	/* refused before reading */
	{ NULL, 101, 100, BODY_TOO_LARGE },	/* refused while reading */
	{ "10", 101, 100, BODY_TOO_LARGE },	/* lies, and too long */
	{ "10", 11, 100, BODY_LENGTH_MISMATCH },
	{ "10", 9, 100, BODY_LENGTH_MISMATCH },
	{ "0", 0, 100, BODY_OK },
	{ "1x", 1, 100, BODY_BAD_LENGTH },
	{ "-1", 1, 100, BODY_BAD_LENGTH },
	{ " 1", 1, 100, BODY_BAD_LENGTH },
	{ "99999999999999999999999", 1, 100, BODY_BAD_LENGTH },
};

START_TEST(test_body_table)
{
	char *data = malloc(bodies[_i].len + 1);
	size_t step;

	memset(data, 'x', bodies[_i].len);
	/* Same verdict whatever the chunking of the transport. */
	for (step = 1; step <= 4096; step *= 8)
		ck_assert_int_eq(read_body(bodies[_i].cl, data,
		    bodies[_i].len, step, bodies[_i].max, NULL),
		    bodies[_i].want);
	free(data);
}
END_TEST

START_TEST(test_body_bytes_exact)
{
	struct request *req;
	size_t len = 300000, i;
	char *data = malloc(len), cl[32];

	for (i = 0; i < len; i++)
		data[i] = (char)(i * 7 + 3);
	snprintf(cl, sizeof(cl), "%zu", len);
	ck_assert_int_eq(read_body(cl, data, len, 7777, 1 << 20, &req),
	    BODY_OK);
	ck_assert_uint_eq(req->body_len, len);
	ck_assert_int_eq(memcmp(req->body, data, len), 0);
	ck_assert_int_eq(req->body[len], '\0');
	/* Reuse keeps nothing of the previous request. */
	request_reset(req);
	ck_assert_uint_eq(req->nparams, 0);
	ck_assert_uint_eq(req->body_len, 0);
	request_free(req);
	free(data);
}
END_TEST

START_TEST(test_read_error)
{
	struct src s = { "abcdef", 6, 0, 2, 4 };
	struct body_reader rd = { src_read, &s };
	struct request *req = request_new();

	ck_assert_int_eq(request_read_body(req, &rd, 100), BODY_READ_ERROR);
	request_free(req);
}
END_TEST

START_TEST(test_params_and_headers)
{
	struct request *req = request_new();

	request_add_env(req, "REQUEST_METHOD=POST");
	request_add_env(req, "HTTP_WEBHOOK_ID=  msg_1 \t");
	request_add_env(req, "HTTP_X_HUB_SIGNATURE_256=sha256=ab");
	request_add_env(req, "HTTP_EMPTY=");
	request_add_env(req, "NOEQUALS");
	request_add_env(req, "=novalue");
	ck_assert_str_eq(request_param(req, "REQUEST_METHOD"), "POST");
	ck_assert_str_eq(request_header(req, "webhook-id"), "msg_1");
	ck_assert_str_eq(request_header(req, "Webhook-Id"), "msg_1");
	ck_assert_str_eq(request_header(req, "X-Hub-Signature-256"),
	    "sha256=ab");
	ck_assert_ptr_null(request_header(req, "empty"));
	ck_assert_ptr_null(request_header(req, "absent"));
	ck_assert_ptr_null(request_param(req, "NOEQUALS"));
	ck_assert_uint_eq(req->nparams, 4);
	ck_assert_int_eq(req->dup_param, 0);
	request_add_env(req, "HTTP_WEBHOOK_ID=other");
	ck_assert_int_eq(req->dup_param, 1);
	/* The first occurrence wins for lookups. */
	ck_assert_str_eq(request_header(req, "webhook-id"), "msg_1");
	request_free(req);
}
END_TEST

START_TEST(test_free_null)
{
	request_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("request");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_body_table, 0,
	    sizeof(bodies) / sizeof(bodies[0]));
	tcase_add_test(tc, test_body_bytes_exact);
	tcase_add_test(tc, test_read_error);
	tcase_add_test(tc, test_params_and_headers);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
