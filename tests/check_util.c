/*
 * check_util.c -- number parsing, byte order and sleeping.
 */
#include <sys/time.h>

#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "testutil.h"
#include "util.h"

static const struct {
	const char	*in;
	int		 rc;
	size_t		 out;
} sizes[] = {
	{ "1024", 0, 1024 },
	{ "1M", 0, 1048576 },
	{ "1m", 0, 1048576 },
	{ "512K", 0, 524288 },
	{ "32M", 0, 33554432 },
	{ "2G", 0, 2147483648UL },
	{ "10B", 0, 10 },
	{ "", -1, 0 },
	{ "M", -1, 0 },
	{ "1.5M", -1, 0 },
	{ "-1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1T", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "17179869184G", -1, 0 },
};

START_TEST(test_parse_size)
{
	size_t out = 0;

	ck_assert_int_eq(parse_size(sizes[_i].in, &out), sizes[_i].rc);
	if (sizes[_i].rc == 0)
		ck_assert_uint_eq(out, sizes[_i].out);
}
END_TEST

static const struct {
	const char	*in;
	int		 rc;
	long long	 out;
} durations[] = {
	{ "30", 0, 30 },
	{ "30s", 0, 30 },
	{ "5m", 0, 300 },
	{ "2h", 0, 7200 },
	{ "30d", 0, 2592000 },
	{ "1w", 0, 604800 },
	{ "0s", 0, 0 },
	{ "5M", 0, 300 },
	{ "", -1, 0 },
	{ "s", -1, 0 },
	{ "5y", -1, 0 },
	{ "-5s", -1, 0 },
	{ "1.5h", -1, 0 },
	{ "5 m", -1, 0 },
	{ "999999999999999999d", -1, 0 },
};

START_TEST(test_parse_duration)
{
	long long out = -1;

	ck_assert_int_eq(parse_duration(durations[_i].in, &out),
	    durations[_i].rc);
	if (durations[_i].rc == 0)
		ck_assert_int_eq(out, durations[_i].out);
}
END_TEST

START_TEST(test_parse_u64)
{
	uint64_t v;

	ck_assert_int_eq(parse_u64("18446744073709551615", 20, &v), 0);
	ck_assert(v == UINT64_MAX);
	ck_assert_int_eq(parse_u64("18446744073709551616", 20, &v), -1);
	ck_assert_int_eq(parse_u64("12a", 3, &v), -1);
	ck_assert_int_eq(parse_u64("12a", 2, &v), 0);
	ck_assert(v == 12);
	ck_assert_int_eq(parse_u64("", 0, &v), -1);
	ck_assert_int_eq(parse_u64("+1", 2, &v), -1);
}
END_TEST

START_TEST(test_be64_sorts)
{
	unsigned char a[8], b[8];

	be64_put(a, 255);
	be64_put(b, 256);
	ck_assert_int_lt(memcmp(a, b, 8), 0);
	ck_assert(be64_get(a) == 255);
	be64_put(a, UINT64_MAX - 1);
	ck_assert(be64_get(a) == UINT64_MAX - 1);
}
END_TEST

START_TEST(test_xasprintf)
{
	char *s = xasprintf("%s-%d", "a", 7);

	ck_assert_str_eq(s, "a-7");
	free(s);
}
END_TEST

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A signal caught 20 ms into a 100 ms sleep does not shorten it. */
START_TEST(test_sleep_ms_whole)
{
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	struct sigaction sa;
	struct timespec a, b;
	long ms;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: nanosleep() fails */
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	sleep_ms(100);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (long)(b.tv_sec - a.tv_sec) * 1000 +
	    (b.tv_nsec - a.tv_nsec) / 1000000;
	ck_assert_int_eq(alarms, 1);
	ck_assert_int_ge(ms, 95);	/* 95: rounding, not a cut sleep (20) */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_parse_size, 0,
	    sizeof(sizes) / sizeof(sizes[0]));
	tcase_add_loop_test(tc, test_parse_duration, 0,
	    sizeof(durations) / sizeof(durations[0]));
	tcase_add_test(tc, test_parse_u64);
	tcase_add_test(tc, test_be64_sorts);
	tcase_add_test(tc, test_xasprintf);
	tcase_add_test(tc, test_sleep_ms_whole);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
