/*
 * check_respond.c -- answer heads and JSON bodies.
 */
#include <json-c/json.h>

#include "respond.h"
#include "store.h"
#include "testutil.h"

/* Renders a and splits it at the blank line; returns the parsed body. */
static struct json_object *
render(const struct answer *a, char **head)
{
	size_t len;
	char *out = respond_render(a, &len), *sep;
	struct json_object *body;

	ck_assert_uint_eq(strlen(out), len);
	sep = strstr(out, "\r\n\r\n");
	ck_assert_ptr_nonnull(sep);
	*head = strndup(out, (size_t)(sep - out) + 2);
	body = json_tokener_parse(sep + 4);
	free(out);
	return body;
}

static const char *
str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

START_TEST(test_accepted)
{
	struct answer a;
	struct json_object *b;
	char *head;

	memset(&a, 0, sizeof(a));
	answer_set(&a, 202, "accepted", NULL);
	answer_set_id(&a, "evt_\"1\"\\", 8);
	b = render(&a, &head);
	ck_assert_ptr_nonnull(strstr(head, "Status: 202 Accepted\r\n"));
	ck_assert_ptr_nonnull(strstr(head,
	    "Content-Type: application/json\r\n"));
	ck_assert_ptr_null(strstr(head, "Allow:"));
	ck_assert_ptr_null(strstr(head, "Retry-After:"));
	ck_assert_str_eq(str(b, "status"), "accepted");
	ck_assert_str_eq(str(b, "id"), "evt_\"1\"\\");
	ck_assert_ptr_null(str(b, "error"));
	json_object_put(b);
	free(head);
}
END_TEST

START_TEST(test_rejected_405)
{
	struct answer a;
	struct json_object *b;
	char *head;

	memset(&a, 0, sizeof(a));
	answer_set(&a, 405, "rejected", "method \x01 not allowed");
	a.allow_post = 1;
	b = render(&a, &head);
	ck_assert_ptr_nonnull(strstr(head, "Status: 405 Method Not Allowed"));
	ck_assert_ptr_nonnull(strstr(head, "Allow: POST\r\n"));
	ck_assert_str_eq(str(b, "error"), "method \x01 not allowed");
	ck_assert_ptr_null(str(b, "id"));
	json_object_put(b);
	free(head);
}
END_TEST

START_TEST(test_busy_retry_after)
{
	struct answer a;
	struct json_object *b;
	char *head;

	memset(&a, 0, sizeof(a));
	answer_set(&a, 503, "busy", "queue full");
	a.retry_after = 60;
	b = render(&a, &head);
	ck_assert_ptr_nonnull(strstr(head, "Retry-After: 60\r\n"));
	ck_assert_str_eq(str(b, "status"), "busy");
	json_object_put(b);
	free(head);
}
END_TEST

START_TEST(test_health_counts)
{
	struct store_counts c = { 1, 2, 3, 4, 5, 6, 1000 };
	struct json_object *b, *counts, *v;
	struct answer a;
	char *head;

	memset(&a, 0, sizeof(a));
	answer_set(&a, 200, "ok", NULL);
	a.counts = &c;
	a.now_ms = 61000;
	b = render(&a, &head);
	ck_assert(json_object_object_get_ex(b, "counts", &counts));
	ck_assert(json_object_object_get_ex(counts, "failed", &v));
	ck_assert_int_eq(json_object_get_int(v), 5);
	ck_assert(json_object_object_get_ex(counts, "ignored", &v));
	ck_assert_int_eq(json_object_get_int(v), 6);
	ck_assert(json_object_object_get_ex(b, "oldest_pending_age", &v));
	ck_assert_int_eq(json_object_get_int(v), 60);
	json_object_put(b);
	free(head);
}
END_TEST

START_TEST(test_head_has_no_body)
{
	struct answer a;
	size_t len;
	char *out;

	memset(&a, 0, sizeof(a));
	answer_set(&a, 200, "ok", NULL);
	a.head = 1;
	out = respond_render(&a, &len);
	ck_assert_uint_eq(len, strlen(out));
	ck_assert_str_eq(out + len - 4, "\r\n\r\n");
	free(out);
}
END_TEST

START_TEST(test_reasons)
{
	static const int codes[] = { 200, 202, 400, 401, 403, 405, 413, 415,
	    422, 503 };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_str_ne(respond_reason(codes[i]),
		    "Internal Server Error");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("respond");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_accepted);
	tcase_add_test(tc, test_rejected_405);
	tcase_add_test(tc, test_busy_retry_after);
	tcase_add_test(tc, test_health_counts);
	tcase_add_test(tc, test_head_has_no_body);
	tcase_add_test(tc, test_reasons);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
