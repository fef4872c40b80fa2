/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "testlib.h"

/* Every cause has its own non-empty message: two causes that print the
 * same text would make logs ambiguous. */
static void test_messages_distinct(void **state)
{
	(void)state;
	for (int i = 0; i < UP_ERR_MAX; i++) {
		const char *m = up_strerror((up_err)i);
		assert_non_null(m);
		assert_true(strlen(m) > 0);
		if (strcmp(m, "unknown error") == 0)
			fail_msg("error %d has no message", i);
		for (int j = 0; j < i; j++)
			if (strcmp(m, up_strerror((up_err)j)) == 0)
				fail_msg("errors %d and %d share the message \"%s\"", j, i, m);
	}
}

static void test_known_messages(void **state)
{
	(void)state;
	assert_string_equal(up_strerror(UP_OK), "success");
	assert_string_equal(up_strerror(UP_ENET), "user pool unreachable");
	assert_string_equal(up_strerror(UP_EINTERNAL), "internal error");
}

static void test_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(up_strerror(UP_ERR_MAX), "unknown error");
	assert_string_equal(up_strerror((up_err)(UP_ERR_MAX + 1)), "unknown error");
	assert_string_equal(up_strerror((up_err)1000000), "unknown error");
	assert_string_equal(up_strerror((up_err)-1), "unknown error");
}

/* DESIGN §5: only these two causes may lead to an offline sign-in; a TLS
 * certificate or host-name failure is an attack, never "unreachable". */
static void test_unreachable(void **state)
{
	(void)state;
	for (int i = -1; i <= UP_ERR_MAX + 1; i++) {
		bool want = i == UP_ENET || i == UP_ESERVER;
		if (up_err_unreachable((up_err)i) != want)
			fail_msg("up_err_unreachable(%d \"%s\") is %d", i, up_strerror((up_err)i),
				 !want);
	}
	assert_true(up_err_unreachable(UP_ENET));
	assert_false(up_err_unreachable(UP_EDENIED));
	assert_false(up_err_unreachable(UP_EHTTP));
	assert_false(up_err_unreachable(UP_ETLS));
	assert_false(up_err_unreachable(UP_OK));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages_distinct),
		cmocka_unit_test(test_known_messages),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
