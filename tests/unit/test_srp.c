/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/srp.c against AWS's own JavaScript SDK: tests/sdk/srp_vectors.js runs
 * amazon-cognito-identity-js's real USER_SRP_AUTH code with a pinned private
 * value and clock and prints the values the SDK sends (SRP_A, TIMESTAMP,
 * PASSWORD_CLAIM_SIGNATURE). Expected values never come from our code. The
 * script is run at test time: no node or no SDK is a failure, not a skip.
 */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "srp.h"
#include "testlib.h"

/* lib/srp.c: the u == 0 check, not in srp.h (see there). */

extern char **environ;

#define VECTORS_CAP (4u * 1024u * 1024u)

static json_t *vectors;

/* Run `node tests/sdk/srp_vectors.js` and parse its JSON (once). */
static json_t *sdk_vectors(void)
{
	const char *top = getenv("top_srcdir");
	const char *node = getenv("NODE");
	char *script = NULL, *buf = NULL;
	size_t len = 0;
	int pipefd[2], status = 0;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	json_error_t jerr;

	if (vectors)
		return vectors;
	if (!top || !*top)
		top = ".";
	if (!node || !*node)
		node = "node";
	assert_true(asprintf(&script, "%s/tests/sdk/srp_vectors.js", top) > 0);
	char *argv[] = {(char *)(uintptr_t)node, script, NULL};

	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
	assert_int_equal(posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1), 0);
	assert_int_equal(posix_spawn_file_actions_addclose(&fa, pipefd[0]), 0);
	int rc = posix_spawnp(&pid, node, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0)
		fail_msg("cannot run %s %s: %s (node is required for the SDK vectors)", node,
			 script, strerror(rc));
	buf = malloc(VECTORS_CAP + 1);
	assert_non_null(buf);
	for (;;) {
		ssize_t n = read(pipefd[0], buf + len, VECTORS_CAP - len);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
		assert_true(len < VECTORS_CAP);
	}
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s %s failed (status 0x%x): is tests/sdk/node_modules installed?", node,
			 script, status);
	vectors = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!vectors)
		fail_msg("SDK vectors are not JSON: %s (line %d)", jerr.text, jerr.line);
	free(buf);
	free(script);
	assert_true(json_is_object(vectors));
	return vectors;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s)
		fail_msg("vector has no string \"%s\"", key);
	return s;
}

static int64_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("vector has no integer \"%s\"", key);
	return (int64_t)json_integer_value(v);
}

static uint8_t *unhex(const char *hex, size_t *ret_len)
{
	size_t n = strlen(hex);
	uint8_t *out;

	assert_int_equal(n % 2, 0);
	out = malloc(n / 2 + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*ret_len = n / 2;
	return out;
}

static void ctx_init(struct up_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

/* Every SDK vector: same SRP_A, same TIMESTAMP, same signature. */
static void test_sdk_vectors(void **state)
{
	json_t *srp = json_object_get(sdk_vectors(), "srp");
	size_t i;
	json_t *v;

	(void)state;
	assert_true(json_is_array(srp));
	/* srp_vectors.js holds 8 shapes (B top bit, odd-length A and B, salt
	 * with a zero byte, UTF-8, long user id, short a, B > N, short u):
	 * losing any of them is a failure. */
	assert_true(json_array_size(srp) >= 8);
	json_array_foreach(srp, i, v)
	{
		struct up_ctx ctx;
		struct up_srp *s = NULL;
		size_t a_len;
		uint8_t *a = unhex(jstr(v, "a"), &a_len);
		char *A = NULL, *sig = NULL, *ts = NULL;
		up_err rc;

		ctx_init(&ctx);
		assert_int_equal(up_srp_new_with_a(&ctx, a, a_len, &s), UP_OK);
		assert_int_equal(up_srp_public_hex(&ctx, s, &A), UP_OK);
		if (strcmp(A, jstr(v, "srp_a")) != 0)
			fail_msg("vector %zu (%s): SRP_A differs from the SDK's", i,
				 jstr(v, "name"));
		rc = up_srp_answer(&ctx, s, jstr(v, "pool_name"), jstr(v, "user_id_for_srp"),
				   jstr(v, "password"), jstr(v, "salt"), jstr(v, "srp_b"),
				   jstr(v, "secret_block"), jint(v, "now"), &sig, &ts);
		if (rc != UP_OK)
			fail_msg("vector %zu (%s): %s: %s", i, jstr(v, "name"), up_strerror(rc),
				 ctx.detail);
		assert_string_equal(ts, jstr(v, "timestamp"));
		if (strcmp(sig, jstr(v, "signature")) != 0)
			fail_msg("vector %zu (%s): signature %s, SDK %s", i, jstr(v, "name"), sig,
				 jstr(v, "signature"));
		/* The same exchange answers again identically (nothing consumed). */
		free(sig);
		free(ts);
		sig = ts = NULL;
		assert_int_equal(up_srp_answer(&ctx, s, jstr(v, "pool_name"),
					       jstr(v, "user_id_for_srp"), jstr(v, "password"),
					       jstr(v, "salt"), jstr(v, "srp_b"),
					       jstr(v, "secret_block"), jint(v, "now"), &sig, &ts),
				 UP_OK);
		assert_string_equal(sig, jstr(v, "signature"));
		free(sig);
		free(ts);
		free(A);
		free(a);
		up_srp_free(s);
	}
}

/*
 * The vectors themselves: the SDK's signature is HMAC-SHA256(hkdf_key,
 * pool || user || secret block || timestamp), the message NOTES.md states.
 * This checks our reading of the SDK, independently of lib/srp.c.
 */
static void test_vectors_consistent(void **state)
{
	json_t *srp = json_object_get(sdk_vectors(), "srp");
	size_t i;
	json_t *v;

	(void)state;
	json_array_foreach(srp, i, v)
	{
		size_t key_len, blen;
		uint8_t *key = unhex(jstr(v, "hkdf_key"), &key_len);
		const char *b64 = jstr(v, "secret_block");
		uint8_t block[4096], mac[32], b64mac[64];
		unsigned int mlen = 0;
		int n;

		assert_int_equal(key_len, 16);
		assert_true(strlen(b64) < sizeof(block));
		n = EVP_DecodeBlock(block, (const unsigned char *)b64, (int)strlen(b64));
		assert_true(n >= 0);
		blen = (size_t)n - (strlen(b64) >= 2 && b64[strlen(b64) - 2] == '='   ? 2
				    : strlen(b64) >= 1 && b64[strlen(b64) - 1] == '=' ? 1
										      : 0);
		/* One HMAC over the concatenation, through a different OpenSSL
		 * API than lib/srp.c uses. */
		size_t msg_len = strlen(jstr(v, "pool_name")) + strlen(jstr(v, "user_id_for_srp")) +
				 blen + strlen(jstr(v, "timestamp"));
		uint8_t *msg = malloc(msg_len), *p = msg;
		assert_non_null(msg);
		memcpy(p, jstr(v, "pool_name"), strlen(jstr(v, "pool_name")));
		p += strlen(jstr(v, "pool_name"));
		memcpy(p, jstr(v, "user_id_for_srp"), strlen(jstr(v, "user_id_for_srp")));
		p += strlen(jstr(v, "user_id_for_srp"));
		memcpy(p, block, blen);
		p += blen;
		memcpy(p, jstr(v, "timestamp"), strlen(jstr(v, "timestamp")));
		assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, mac, &mlen));
		assert_int_equal(mlen, 32);
		assert_int_equal(EVP_EncodeBlock(b64mac, mac, 32), 44);
		assert_string_equal((char *)b64mac, jstr(v, "signature"));
		free(msg);
		free(key);
	}
}

static void test_timestamps_sdk(void **state)
{
	json_t *list = json_object_get(sdk_vectors(), "timestamps");
	size_t i;
	json_t *v;
	bool one_digit = false, two_digits = false;

	(void)state;
	assert_true(json_array_size(list) >= 60);
	json_array_foreach(list, i, v)
	{
		char out[64];
		const char *want = jstr(v, "text");

		memset(out, 'X', sizeof(out));
		assert_int_equal(up_srp_timestamp(jint(v, "now"), out, sizeof(out)), UP_OK);
		if (strcmp(out, want) != 0)
			fail_msg("epoch %lld: \"%s\", SDK \"%s\"", (long long)jint(v, "now"), out,
				 want);
		/* "ddd MMM D ...": the day is the third field. */
		const char *day = strchr(strchr(want, ' ') + 1, ' ') + 1;
		if (day[1] == ' ')
			one_digit = true;
		else
			two_digits = true;
	}
	assert_true(one_digit && two_digits);
}

static void test_timestamp_format(void **state)
{
	char out[64], small[28];

	(void)state;
	/* Written from the SDK's DateHelper, not from our code. */
	assert_int_equal(up_srp_timestamp(0, out, sizeof(out)), UP_OK);
	assert_string_equal(out, "Thu Jan 1 00:00:00 UTC 1970");
	assert_int_equal(up_srp_timestamp(1793696707, out, sizeof(out)), UP_OK);
	assert_string_equal(out, "Tue Nov 3 09:05:07 UTC 2026");
	assert_int_equal(up_srp_timestamp(951782400, out, sizeof(out)), UP_OK);
	assert_string_equal(out, "Tue Feb 29 00:00:00 UTC 2000");
	/* Exactly fits (27 characters + NUL), one byte short fails untouched. */
	assert_int_equal(up_srp_timestamp(1793696707, small, sizeof(small)), UP_OK);
	assert_string_equal(small, "Tue Nov 3 09:05:07 UTC 2026");
	memset(small, 'X', sizeof(small));
	assert_int_equal(up_srp_timestamp(1793696707, small, sizeof(small) - 1), UP_EINVAL);
	assert_int_equal(small[0], 'X');
	assert_int_equal(up_srp_timestamp(0, NULL, 10), UP_EINVAL);
	assert_int_equal(up_srp_timestamp(0, out, 0), UP_EINVAL);
	/* Beyond JavaScript's Date range there is no SDK string. */
	assert_int_equal(up_srp_timestamp(INT64_MAX, out, sizeof(out)), UP_ERANGE);
	assert_int_equal(up_srp_timestamp(INT64_MIN, out, sizeof(out)), UP_ERANGE);
	assert_int_equal(up_srp_timestamp(INT64_C(8640000000001), out, sizeof(out)), UP_ERANGE);
	assert_int_equal(up_srp_timestamp(-INT64_C(8640000000001), out, sizeof(out)), UP_ERANGE);
	/* English whatever the locale (when another locale is installed). */
	if (setlocale(LC_ALL, "de_DE.UTF-8") || setlocale(LC_ALL, "fr_FR.UTF-8")) {
		assert_int_equal(up_srp_timestamp(1793696707, out, sizeof(out)), UP_OK);
		assert_string_equal(out, "Tue Nov 3 09:05:07 UTC 2026");
		setlocale(LC_ALL, "C");
	}
}

static void test_secret_hash_sdk(void **state)
{
	json_t *list = json_object_get(sdk_vectors(), "secret_hash");
	size_t i;
	json_t *v;
	char *h = (char *)(uintptr_t) "untouched";

	(void)state;
	assert_true(json_array_size(list) >= 3);
	json_array_foreach(list, i, v)
	{
		char *out = NULL;
		assert_int_equal(up_secret_hash(jstr(v, "username"), jstr(v, "client_id"),
						jstr(v, "client_secret"), &out),
				 UP_OK);
		assert_string_equal(out, jstr(v, "hash"));
		free(out);
	}
	assert_int_equal(up_secret_hash(NULL, "c", "s", &h), UP_EINVAL);
	assert_int_equal(up_secret_hash("u", NULL, "s", &h), UP_EINVAL);
	assert_int_equal(up_secret_hash("u", "c", NULL, &h), UP_EINVAL);
	assert_int_equal(up_secret_hash("u", "c", "s", NULL), UP_EINVAL);
	assert_string_equal(h, "untouched");
}

/* A working exchange and the first vector's inputs, for the refusal tests. */
struct fixture {
	struct up_ctx ctx;
	struct up_srp *srp;
	json_t *v;
};

static void fixture_init(struct fixture *f)
{
	size_t a_len;
	uint8_t *a;

	ctx_init(&f->ctx);
	f->v = json_array_get(json_object_get(sdk_vectors(), "srp"), 0);
	assert_non_null(f->v);
	a = unhex(jstr(f->v, "a"), &a_len);
	assert_int_equal(up_srp_new_with_a(&f->ctx, a, a_len, &f->srp), UP_OK);
	free(a);
}

static up_err answer_with(struct fixture *f, const char *salt, const char *b, const char *block)
{
	char *sig = (char *)(uintptr_t) "sig untouched", *ts = (char *)(uintptr_t) "ts untouched";
	up_err rc;

	f->ctx.detail[0] = '\0';
	rc = up_srp_answer(&f->ctx, f->srp, jstr(f->v, "pool_name"), jstr(f->v, "user_id_for_srp"),
			   jstr(f->v, "password"), salt ? salt : jstr(f->v, "salt"),
			   b ? b : jstr(f->v, "srp_b"), block ? block : jstr(f->v, "secret_block"),
			   jint(f->v, "now"), &sig, &ts);
	if (rc == UP_OK) {
		free(sig);
		free(ts);
	} else {
		/* Out-parameters are not clobbered on failure. */
		assert_string_equal(sig, "sig untouched");
		assert_string_equal(ts, "ts untouched");
	}
	return rc;
}

static char *bn_hex_lower(const BIGNUM *bn)
{
	char *h = BN_bn2hex(bn), *out;

	assert_non_null(h);
	out = strdup(h);
	assert_non_null(out);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	OPENSSL_free(h);
	return out;
}

/* SRP-6a's abort: B mod N == 0 (B = 0, N, 2N, 0 with leading zeros). */
static void test_b_zero_mod_n(void **state)
{
	struct fixture f;
	BIGNUM *N = BN_get_rfc3526_prime_3072(NULL), *N2 = BN_new(), *N1 = BN_new();
	char *hn, *hn2, *hn1, *upper;

	(void)state;
	fixture_init(&f);
	assert_non_null(N);
	assert_non_null(N2);
	assert_non_null(N1);
	assert_true(BN_lshift1(N2, N));
	assert_true(BN_copy(N1, N) && BN_add_word(N1, 1));
	hn = bn_hex_lower(N);
	hn2 = bn_hex_lower(N2);
	hn1 = bn_hex_lower(N1);
	upper = BN_bn2hex(N);
	/* The N we test with is the SDK's (its first and last digits). */
	assert_int_equal(strlen(hn), 768);
	assert_true(strncmp(hn, "ffffffffffffffffc90fdaa22168c234", 32) == 0);

	const char *bad[] = {"0", "00", "0000000000", hn, hn2, upper};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(answer_with(&f, NULL, bad[i], NULL), UP_EPROTO);
		assert_non_null(strstr(f.ctx.detail, "B is 0 mod N"));
	}
	/* N + 1 is 1 mod N: allowed, as in the SDK (the check is mod N). */
	assert_int_equal(answer_with(&f, NULL, hn1, NULL), UP_OK);
	/* And the fixture itself answers. */
	assert_int_equal(answer_with(&f, NULL, NULL, NULL), UP_OK);

	free(hn);
	free(hn2);
	free(hn1);
	OPENSSL_free(upper);
	BN_free(N);
	BN_free(N2);
	BN_free(N1);
	up_srp_free(f.srp);
}

/*
 * u = SHA-256(padHex(A) || padHex(B)) == 0 needs a SHA-256 preimage, so no
 * input reaches it; up_srp_answer() calls up_srp_check_u() on the digest,
 * which is tested here directly.
 */
static void test_u_zero(void **state)
{
	struct up_ctx ctx;
	uint8_t u[32] = {0};

	(void)state;
	ctx_init(&ctx);
	assert_int_equal(up_srp_check_u(&ctx, u, sizeof(u)), UP_EPROTO);
	assert_non_null(strstr(ctx.detail, "u = H(A, B) is 0"));
	for (size_t i = 0; i < sizeof(u); i += 7) {
		memset(u, 0, sizeof(u));
		u[i] = 1;
		assert_int_equal(up_srp_check_u(&ctx, u, sizeof(u)), UP_OK);
	}
	u[0] = 0x80;
	assert_int_equal(up_srp_check_u(&ctx, u, sizeof(u)), UP_OK);
}

static void test_malformed(void **state)
{
	struct fixture f;
	char *long_hex;

	(void)state;
	fixture_init(&f);
	long_hex = malloc(2050);
	assert_non_null(long_hex);
	memset(long_hex, '1', 2049);
	long_hex[2049] = '\0';

	const char *bad_hex[] = {"",	  "xyz",    "12 34", " 1234", "1234\n", "-1234",
				 "+1234", "0x1234", "12g4",  "١٢",    long_hex};
	for (size_t i = 0; i < sizeof(bad_hex) / sizeof(bad_hex[0]); i++) {
		assert_int_equal(answer_with(&f, bad_hex[i], NULL, NULL), UP_EPROTO);
		assert_non_null(strstr(f.ctx.detail, "SALT"));
		assert_int_equal(answer_with(&f, NULL, bad_hex[i], NULL), UP_EPROTO);
		assert_non_null(strstr(f.ctx.detail, "SRP_B"));
	}
	/* 2048 digits is the cap: accepted (and not 0 mod N). */
	long_hex[2048] = '\0';
	assert_int_equal(answer_with(&f, NULL, long_hex, NULL), UP_OK);
	/* Upper case and leading zeros are hex too (the SDK accepts them). */
	assert_int_equal(answer_with(&f, "00ABCDEF", NULL, NULL), UP_OK);

	const char *bad_b64[] = {"",	  "not base64!", "abc",	 "YQ",	     "YQ=", "YQ===",
				 "Y Q==", "YQ==\n",	 "YR==", "YQ==YQ==", "-_-_"};
	for (size_t i = 0; i < sizeof(bad_b64) / sizeof(bad_b64[0]); i++) {
		assert_int_equal(answer_with(&f, NULL, NULL, bad_b64[i]), UP_EPROTO);
		assert_non_null(strstr(f.ctx.detail, "SECRET_BLOCK"));
	}
	assert_int_equal(answer_with(&f, NULL, NULL, "YQ=="), UP_OK);

	/* Missing arguments. */
	char *sig = NULL, *ts = NULL;
	assert_int_equal(
	    up_srp_answer(&f.ctx, NULL, "p", "u", "pw", "01", "02", "YQ==", 0, &sig, &ts),
	    UP_EINVAL);
	assert_int_equal(
	    up_srp_answer(&f.ctx, f.srp, NULL, "u", "pw", "01", "02", "YQ==", 0, &sig, &ts),
	    UP_EINVAL);
	assert_int_equal(
	    up_srp_answer(&f.ctx, f.srp, "p", "u", NULL, "01", "02", "YQ==", 0, &sig, &ts),
	    UP_EINVAL);
	assert_int_equal(
	    up_srp_answer(&f.ctx, f.srp, "p", "u", "pw", "01", "02", "YQ==", 0, NULL, &ts),
	    UP_EINVAL);
	/* A clock outside JavaScript's Date range. */
	assert_int_equal(
	    up_srp_answer(&f.ctx, f.srp, "p", "u", "pw", "01", "02", "YQ==", INT64_MAX, &sig, &ts),
	    UP_ERANGE);
	assert_null(sig);
	assert_null(ts);

	free(long_hex);
	up_srp_free(f.srp);
}

static void test_new_random(void **state)
{
	struct up_ctx ctx;
	struct up_srp *s1 = NULL, *s2 = NULL;
	char *A1 = NULL, *A2 = NULL;
	json_t *v = json_array_get(json_object_get(sdk_vectors(), "srp"), 0);

	(void)state;
	ctx_init(&ctx);
	assert_int_equal(up_srp_new(&ctx, &s1), UP_OK);
	assert_int_equal(up_srp_new(&ctx, &s2), UP_OK);
	assert_int_equal(up_srp_public_hex(&ctx, s1, &A1), UP_OK);
	assert_int_equal(up_srp_public_hex(&ctx, s2, &A2), UP_OK);
	assert_string_not_equal(A1, A2);
	for (const char *p = A1; *p; p++)
		assert_non_null(strchr("0123456789abcdef", *p));
	assert_true(A1[0] != '0');
	assert_true(strlen(A1) >= 700 && strlen(A1) <= 768);
	/* A random exchange answers a real challenge. */
	char *sig = NULL, *ts = NULL;
	assert_int_equal(up_srp_answer(&ctx, s1, jstr(v, "pool_name"), jstr(v, "user_id_for_srp"),
				       jstr(v, "password"), jstr(v, "salt"), jstr(v, "srp_b"),
				       jstr(v, "secret_block"), jint(v, "now"), &sig, &ts),
			 UP_OK);
	assert_int_equal(strlen(sig), 44);
	assert_string_not_equal(sig, jstr(v, "signature"));
	assert_string_equal(ts, jstr(v, "timestamp"));
	free(sig);
	free(ts);
	free(A1);
	free(A2);
	up_srp_free(s1);
	up_srp_free(s2);
	up_srp_free(NULL);
	assert_int_equal(up_srp_new(&ctx, NULL), UP_EINVAL);
}

static void test_new_with_a_invalid(void **state)
{
	struct up_ctx ctx;
	struct up_srp *s = (struct up_srp *)(uintptr_t)0x1;
	uint8_t zero[128] = {0}, big[385];
	char *hex = NULL;

	(void)state;
	ctx_init(&ctx);
	memset(big, 0x5a, sizeof(big));
	assert_int_equal(up_srp_new_with_a(&ctx, zero, sizeof(zero), &s), UP_EINVAL);
	assert_int_equal(up_srp_new_with_a(&ctx, zero, 0, &s), UP_EINVAL);
	assert_int_equal(up_srp_new_with_a(&ctx, NULL, 16, &s), UP_EINVAL);
	assert_int_equal(up_srp_new_with_a(&ctx, big, sizeof(big), &s), UP_EINVAL);
	assert_ptr_equal(s, (struct up_srp *)(uintptr_t)0x1);
	/* a = 1: A = g = 2. */
	s = NULL;
	assert_int_equal(up_srp_new_with_a(&ctx, (const uint8_t[]){1}, 1, &s), UP_OK);
	assert_int_equal(up_srp_public_hex(&ctx, s, &hex), UP_OK);
	assert_string_equal(hex, "2");
	free(hex);
	assert_int_equal(up_srp_public_hex(&ctx, NULL, &hex), UP_EINVAL);
	up_srp_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sdk_vectors),	    cmocka_unit_test(test_vectors_consistent),
	    cmocka_unit_test(test_timestamps_sdk),  cmocka_unit_test(test_timestamp_format),
	    cmocka_unit_test(test_secret_hash_sdk), cmocka_unit_test(test_b_zero_mod_n),
	    cmocka_unit_test(test_u_zero),	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_new_random),	    cmocka_unit_test(test_new_with_a_invalid),
	};
	int rc;

	/* Bounded in time: node and 3072-bit arithmetic take seconds, not minutes. */
	alarm(300);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	json_decref(vectors);
	return rc;
}
