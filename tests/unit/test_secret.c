/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

static void test_memeq_ct(void **state)
{
	uint8_t a[64], b[64];

	(void)state;
	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i * 7 + 1);
	assert_true(up_memeq_ct(a, b, sizeof(a)));
	/* A difference in any byte, in any bit, is seen. */
	for (size_t i = 0; i < sizeof(a); i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (uint8_t)(1u << bit);
			if (up_memeq_ct(a, b, sizeof(a)))
				fail_msg("difference at byte %zu bit %d not seen", i, bit);
			b[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_true(up_memeq_ct(a, b, sizeof(a)));
	/* Only `len` bytes are compared. */
	b[10] ^= 0xff;
	assert_true(up_memeq_ct(a, b, 10));
	assert_false(up_memeq_ct(a, b, 11));
	assert_true(up_memeq_ct(a, b, 0));
	assert_true(up_memeq_ct("abc", "abd", 2));
	assert_false(up_memeq_ct("abc", "abd", 3));
}

static void test_wipe(void **state)
{
	char buf[16];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	up_wipe(buf + 4, 8);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], i >= 4 && i < 12 ? 0 : 'x');
	/* NULL and zero length are no-ops. */
	up_wipe(NULL, 10);
	up_wipe(buf, 0);
	assert_int_equal(buf[0], 'x');
}

static void test_free_secret(void **state)
{
	char *s = strdup("correct horse battery staple");
	void *p = malloc(32);

	(void)state;
	assert_non_null(s);
	assert_non_null(p);
	memset(p, 0xaa, 32);
	up_free_secret(NULL);
	up_free_secret_len(NULL, 100);
	up_free_secret(s);       /* valgrind: no leak, no invalid access */
	up_free_secret_len(p, 32);
}

static void test_strdup(void **state)
{
	char *s;

	(void)state;
	assert_null(up_strdup(NULL));
	s = up_strdup("abc");
	assert_non_null(s);
	assert_string_equal(s, "abc");
	free(s);
	s = up_strdup("");
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
}

static void test_strv(void **state)
{
	char a[] = "root", b[] = "admins", c[] = "";
	char *v[] = { a, b, c, NULL };
	char *empty[] = { NULL };
	char **d;

	(void)state;
	assert_int_equal(up_strv_len(NULL), 0);
	assert_int_equal(up_strv_len(empty), 0);
	assert_int_equal(up_strv_len(v), 3);

	assert_true(up_strv_contains(v, "root"));
	assert_true(up_strv_contains(v, "admins"));
	assert_true(up_strv_contains(v, ""));
	assert_false(up_strv_contains(v, "Root"));
	assert_false(up_strv_contains(v, "admin"));
	assert_false(up_strv_contains(v, "admins2"));
	assert_false(up_strv_contains(NULL, "root"));
	assert_false(up_strv_contains(v, NULL));
	assert_false(up_strv_contains(empty, ""));

	d = up_strv_dup(v);
	assert_non_null(d);
	assert_int_equal(up_strv_len(d), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_ptr_not_equal(d[i], v[i]); /* deep copy */
		assert_string_equal(d[i], v[i]);
	}
	assert_null(d[3]);
	up_strv_free(d);

	d = up_strv_dup(NULL);
	assert_non_null(d);
	assert_null(d[0]);
	assert_int_equal(up_strv_len(d), 0);
	up_strv_free(d);

	up_strv_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memeq_ct),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_free_secret),
		cmocka_unit_test(test_strdup),
		cmocka_unit_test(test_strv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
