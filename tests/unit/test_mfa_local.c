/* SPDX-License-Identifier: Apache-2.0 */
/* lib/mfa_local.c: HKDF split, AES-256-GCM wrap/unwrap of the TOTP secret,
 * the local RFC 6238 check with its window and reuse refusal. */
#include <stdlib.h>
#include <string.h>

#include <userpool/otpauth.h>

#include "../../lib/mfa_local.h"
#include "testlib.h"

static const uint8_t ikm_a[UP_MFA_IKM_LEN] = "scrypt output of the password A";
static const uint8_t ikm_b[UP_MFA_IKM_LEN] = "scrypt output of the password B";
/* RFC 6238 appendix B SHA-1 seed */
static const uint8_t seed[] = "12345678901234567890";
static const struct up_mfa_aad aad = {"https://issuer.example/pool", "sub-0001", "alice", 3};

static void split(const uint8_t *ikm, uint8_t vk[UP_MFA_KEY_LEN], uint8_t kek[UP_MFA_KEY_LEN])
{
	assert_int_equal(up_mfa_split(ikm, UP_MFA_IKM_LEN, vk, kek), UP_OK);
}

static void test_split(void **state)
{
	uint8_t vk[UP_MFA_KEY_LEN], kek[UP_MFA_KEY_LEN], vk2[UP_MFA_KEY_LEN], kek2[UP_MFA_KEY_LEN];
	(void)state;
	split(ikm_a, vk, kek);
	assert_memory_not_equal(vk, kek, UP_MFA_KEY_LEN);
	split(ikm_a, vk2, kek2);
	assert_memory_equal(vk, vk2, UP_MFA_KEY_LEN);
	assert_memory_equal(kek, kek2, UP_MFA_KEY_LEN);
	split(ikm_b, vk2, kek2);
	assert_memory_not_equal(vk, vk2, UP_MFA_KEY_LEN);
	assert_memory_not_equal(kek, kek2, UP_MFA_KEY_LEN);
	assert_int_equal(up_mfa_split(NULL, 32, vk, kek), UP_EINVAL);
	assert_int_equal(up_mfa_split(ikm_a, 8, vk, kek), UP_EINVAL);
}

static char *wrap(const uint8_t *ikm, const struct up_mfa_aad *a)
{
	uint8_t vk[UP_MFA_KEY_LEN], kek[UP_MFA_KEY_LEN];
	char *w = NULL;
	split(ikm, vk, kek);
	assert_int_equal(up_mfa_wrap(NULL, kek, a, seed, 20, &w), UP_OK);
	assert_non_null(w);
	return w;
}

static up_err unwrap(const uint8_t *ikm, const struct up_mfa_aad *a, const char *w)
{
	uint8_t vk[UP_MFA_KEY_LEN], kek[UP_MFA_KEY_LEN], *pt = NULL;
	size_t len = 0;
	split(ikm, vk, kek);
	up_err r = up_mfa_unwrap(NULL, kek, a, w, &pt, &len);
	if (r == UP_OK) {
		assert_int_equal(len, 20);
		assert_memory_equal(pt, seed, 20);
		up_free_secret_len(pt, len);
	} else {
		assert_null(pt);
	}
	return r;
}

static void test_wrap_roundtrip(void **state)
{
	(void)state;
	char *w = wrap(ikm_a, &aad), *w2 = wrap(ikm_a, &aad);
	assert_true(strncmp(w, "gcm1$", 5) == 0);
	assert_null(strstr(w, "12345678901234567890"));
	/* a fresh nonce each time */
	assert_string_not_equal(w, w2);
	assert_int_equal(unwrap(ikm_a, &aad, w), UP_OK);
	assert_int_equal(unwrap(ikm_a, &aad, w2), UP_OK);
	free(w);
	free(w2);
}

static void test_wrong_password(void **state)
{
	(void)state;
	char *w = wrap(ikm_a, &aad);
	assert_int_equal(unwrap(ikm_b, &aad, w), UP_EDENIED);
	free(w);
}

static void test_wrong_aad(void **state)
{
	(void)state;
	char *w = wrap(ikm_a, &aad);
	struct up_mfa_aad a = aad;
	a.username = "mallory";
	assert_int_equal(unwrap(ikm_a, &a, w), UP_EDENIED);
	a = aad;
	a.sub = "sub-0002";
	assert_int_equal(unwrap(ikm_a, &a, w), UP_EDENIED);
	a = aad;
	a.issuer = "https://other.example/pool";
	assert_int_equal(unwrap(ikm_a, &a, w), UP_EDENIED);
	a = aad;
	a.version = 4;
	assert_int_equal(unwrap(ikm_a, &a, w), UP_EDENIED);
	/* field boundaries are part of the AAD: "alice"/"sub-0001" cannot be
	 * shifted between fields */
	a = aad;
	a.sub = "sub-000";
	a.username = "1alice";
	assert_int_equal(unwrap(ikm_a, &a, w), UP_EDENIED);
	free(w);
}

static void test_tampered(void **state)
{
	(void)state;
	char *w = wrap(ikm_a, &aad);
	size_t n = strlen(w);
	/* flip one base64 character in each of nonce, ciphertext and tag */
	char *d1 = strchr(w, '$'), *d2 = strchr(d1 + 1, '$'), *d3 = strchr(d2 + 1, '$');
	size_t pos[] = {(size_t)(d1 - w) + 2, (size_t)(d2 - w) + 2, (size_t)(d3 - w) + 2};
	for (size_t i = 0; i < 3; i++) {
		char *t = strdup(w);
		assert_true(pos[i] < n);
		t[pos[i]] = t[pos[i]] == 'A' ? 'B' : 'A';
		assert_int_equal(unwrap(ikm_a, &aad, t), UP_EDENIED);
		free(t);
	}
	/* malformed */
	assert_int_equal(unwrap(ikm_a, &aad, "gcm1$AAAA$AAAA"), UP_ESTATE);
	assert_int_equal(unwrap(ikm_a, &aad, "gcm2$AAAAAAAAAAAAAAAA$AAAA$AAAAAAAAAAAAAAAAAAAAAA=="),
			 UP_ESTATE);
	assert_int_equal(unwrap(ikm_a, &aad, ""), UP_ESTATE);
	free(w);
}

static void code_at(int64_t t, char out[9])
{
	assert_int_equal(up_totp(seed, 20, t, 30, 6, out), UP_OK);
}

static void test_totp_window(void **state)
{
	(void)state;
	const int64_t now = 1111111109; /* RFC 6238 vector time */
	char c[9];
	int64_t step = -7;

	code_at(now, c);
	assert_string_equal(c, "081804"); /* RFC 6238 vector, last 6 digits */
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, -1, &step), UP_OK);
	assert_int_equal(step, now / 30);
	code_at(now - 30, c);
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, -1, &step), UP_OK);
	assert_int_equal(step, now / 30 - 1);
	code_at(now + 30, c);
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, -1, &step), UP_OK);
	assert_int_equal(step, now / 30 + 1);
	code_at(now - 60, c);
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, -1, &step), UP_EDENIED);
	code_at(now + 60, c);
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, -1, &step), UP_EDENIED);
	assert_int_equal(up_mfa_totp_check(seed, 20, "", now, -1, &step), UP_EDENIED);
	assert_int_equal(up_mfa_totp_check(seed, 20, "08180", now, -1, &step), UP_EDENIED);
	assert_int_equal(up_mfa_totp_check(seed, 20, "0818044", now, -1, &step), UP_EDENIED);
	assert_int_equal(up_mfa_totp_check(seed, 20, "08a804", now, -1, &step), UP_EDENIED);
}

static void test_totp_reuse(void **state)
{
	(void)state;
	const int64_t now = 2000000000;
	char c[9];
	int64_t step = -1, last;

	code_at(now, c);
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, -1, &step), UP_OK);
	last = step;
	/* the same code again: refused */
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, last, &step), UP_EDENIED);
	/* the previous step's code after a later one was accepted: refused */
	code_at(now - 30, c);
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now, last, &step), UP_EDENIED);
	/* the next step: accepted */
	code_at(now + 30, c);
	assert_int_equal(up_mfa_totp_check(seed, 20, c, now + 30, last, &step), UP_OK);
	assert_int_equal(step, last + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),	   cmocka_unit_test(test_wrap_roundtrip),
	    cmocka_unit_test(test_wrong_password), cmocka_unit_test(test_wrong_aad),
	    cmocka_unit_test(test_tampered),	   cmocka_unit_test(test_totp_window),
	    cmocka_unit_test(test_totp_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
