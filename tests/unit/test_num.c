/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdio.h>

#include "testlib.h"

#define SENTINEL ((int64_t)0x5a5a5a5a5a5a5a5aLL)

static void expect_int(const char *s, int64_t min, int64_t max, up_err want, int64_t want_v)
{
	int64_t v = SENTINEL;
	up_err r = up_parse_int64(s, min, max, &v);

	if (r != want)
		fail_msg("up_parse_int64(\"%s\") = %d (%s), want %d (%s)", s ? s : "(null)", r,
			 up_strerror(r), want, up_strerror(want));
	/* On success the value; on failure the out-param is untouched. */
	if (want == UP_OK)
		assert_int_equal(v, want_v);
	else
		assert_int_equal(v, SENTINEL);
}

static void test_int64_valid(void **state)
{
	(void)state;
	expect_int("0", INT64_MIN, INT64_MAX, UP_OK, 0);
	expect_int("1", INT64_MIN, INT64_MAX, UP_OK, 1);
	expect_int("-1", INT64_MIN, INT64_MAX, UP_OK, -1);
	expect_int("-0", INT64_MIN, INT64_MAX, UP_OK, 0);
	expect_int("007", INT64_MIN, INT64_MAX, UP_OK, 7);
	expect_int("123456789012", INT64_MIN, INT64_MAX, UP_OK, 123456789012LL);
	expect_int("9223372036854775807", INT64_MIN, INT64_MAX, UP_OK, INT64_MAX);
	expect_int("-9223372036854775808", INT64_MIN, INT64_MAX, UP_OK, INT64_MIN);
}

static void test_int64_range(void **state)
{
	(void)state;
	expect_int("10", 0, 10, UP_OK, 10);
	expect_int("0", 0, 10, UP_OK, 0);
	expect_int("11", 0, 10, UP_ERANGE, 0);
	expect_int("-1", 0, 10, UP_ERANGE, 0);
	expect_int("-0", 0, 10, UP_OK, 0);
	expect_int("5", 6, 6, UP_ERANGE, 0);
	expect_int("9223372036854775808", INT64_MIN, INT64_MAX, UP_ERANGE, 0);
	expect_int("-9223372036854775809", INT64_MIN, INT64_MAX, UP_ERANGE, 0);
	expect_int("99999999999999999999999", INT64_MIN, INT64_MAX, UP_ERANGE, 0);
	expect_int("-99999999999999999999999", INT64_MIN, INT64_MAX, UP_ERANGE, 0);
}

static void test_int64_syntax(void **state)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "+1", "1x", "x1", "-", "--1", "-+1", "- 1", "0x10", "1.0",
		"1e3", "\t1", "1\n", "١", "0b1", "1,000",
	};
	int64_t v = SENTINEL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_int(bad[i], INT64_MIN, INT64_MAX, UP_EINVAL, 0);
	assert_int_equal(up_parse_int64(NULL, 0, 10, &v), UP_EINVAL);
	assert_int_equal(up_parse_int64("1", 0, 10, NULL), UP_EINVAL);
	assert_int_equal(v, SENTINEL);
}

static void expect_dur(const char *s, up_err want, int64_t want_v)
{
	int64_t v = SENTINEL;
	up_err r = up_parse_duration(s, &v);

	if (r != want)
		fail_msg("up_parse_duration(\"%s\") = %d (%s), want %d (%s)", s ? s : "(null)", r,
			 up_strerror(r), want, up_strerror(want));
	if (want == UP_OK)
		assert_int_equal(v, want_v);
	else
		assert_int_equal(v, SENTINEL);
}

static void test_duration_suffixes(void **state)
{
	(void)state;
	expect_dur("0", UP_OK, 0);
	expect_dur("10", UP_OK, 10);
	expect_dur("10s", UP_OK, 10);
	expect_dur("10m", UP_OK, 600);
	expect_dur("2h", UP_OK, 7200);
	expect_dur("7d", UP_OK, 7 * 86400);
	expect_dur("0d", UP_OK, 0);
	expect_dur("90m", UP_OK, 5400);
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"", "s", "m", "h", "d", "10x", "-1", "-1s", "+1", " 1", "1 s", "1S", "1H", "1ss",
		"1sm", "1.5h", "s1", "1w", "1ms", "999999999999999999999999999999999999d",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_dur(bad[i], UP_EINVAL, 0);
	expect_dur(NULL, UP_EINVAL, 0);
	assert_int_equal(up_parse_duration("1", NULL), UP_EINVAL);
}

/* The multiplication must never overflow: the number is capped at
 * INT64_MAX / 86400 whatever the suffix. */
static void test_duration_overflow(void **state)
{
	char buf[64];
	const int64_t lim = INT64_MAX / 86400;

	(void)state;
	snprintf(buf, sizeof(buf), "%lldd", (long long)lim);
	expect_dur(buf, UP_OK, lim * 86400);
	assert_true(lim * 86400 > 0);
	snprintf(buf, sizeof(buf), "%lldd", (long long)lim + 1);
	expect_dur(buf, UP_ERANGE, 0);
	snprintf(buf, sizeof(buf), "%lldh", (long long)lim + 1);
	expect_dur(buf, UP_ERANGE, 0);
	expect_dur("9223372036854775807d", UP_ERANGE, 0);
	expect_dur("9223372036854775808", UP_ERANGE, 0);
	snprintf(buf, sizeof(buf), "%lld", (long long)lim);
	expect_dur(buf, UP_OK, lim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int64_valid),
		cmocka_unit_test(test_int64_range),
		cmocka_unit_test(test_int64_syntax),
		cmocka_unit_test(test_duration_suffixes),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
