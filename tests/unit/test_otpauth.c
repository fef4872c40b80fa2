/* SPDX-License-Identifier: Apache-2.0 */
/* lib/otpauth.c: base32, TOTP against the RFC vectors, otpauth:// URIs. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <userpool/otpauth.h>

#include "testlib.h"

static char *sentinel(void)
{
	static char s;
	return &s;
}

/* --- base32 ------------------------------------------------------------ */

/* RFC 4648 §10, encoded without padding. */
static const struct {
	const char *data;
	const char *b32;
	const char *padded;
} rfc4648[] = {
    {"f", "MY", "MY======"},	       {"fo", "MZXQ", "MZXQ===="},
    {"foo", "MZXW6", "MZXW6==="},      {"foob", "MZXW6YQ", "MZXW6YQ="},
    {"fooba", "MZXW6YTB", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"},
};

static void assert_decodes(const char *text, const void *want, size_t want_len)
{
	uint8_t *got = NULL;
	size_t got_len = 0;
	assert_int_equal(up_base32_decode(text, &got, &got_len), UP_OK);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	up_free_secret_len(got, got_len);
}

static void test_base32_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char *enc = NULL;
		size_t len = strlen(rfc4648[i].data);
		assert_int_equal(up_base32_encode((const uint8_t *)rfc4648[i].data, len, &enc),
				 UP_OK);
		assert_string_equal(enc, rfc4648[i].b32);
		up_free_secret(enc);

		assert_decodes(rfc4648[i].b32, rfc4648[i].data, len);
		assert_decodes(rfc4648[i].padded, rfc4648[i].data, len);
	}
}

static void test_base32_tolerant_decode(void **state)
{
	(void)state;
	static const uint8_t hello[] = {'H', 'e', 'l', 'l', 'o', '!', 0xde, 0xad, 0xbe, 0xef};
	assert_decodes("JBSWY3DPEHPK3PXP", hello, sizeof(hello));
	assert_decodes("jbswy3dpehpk3pxp", hello, sizeof(hello));
	assert_decodes("JBSW Y3DP EHPK 3PXP", hello, sizeof(hello));
	assert_decodes("  jbsw y3Dp ehPK 3pxp  ", hello, sizeof(hello));
	assert_decodes("MZXW6===", "foo", 3);
	assert_decodes("mzxw 6= ==", "foo", 3);
}

static void test_base32_hostile(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",		/* nothing */
	    "   ",	/* only spaces */
	    "====",	/* only padding */
	    "MZXW6YT!", /* not in the alphabet */
	    "MZXW0YTB", /* 0, 1, 8, 9 are not base32 */
	    "MZXW1YTB",
	    "MZXW8YTB",
	    "MZXW9YTB",
	    "MZ=XW", /* data after padding */
	    "MZXW6===A",
	    "M", /* impossible final quanta: 1, 3, 6 characters */
	    "MZX",
	    "MZXW6Y",
	    "MZXW6YTBO",
	    "MZXW\n6YTB", /* control characters */
	    "MZXW\t6YTB",
	    "MZXW\x1b[6YTB",
	    "MZ\xc3\xa9W6YTB", /* non-ASCII */
	    "MZXW-6YTB",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *out = (uint8_t *)sentinel();
		size_t len = 4242;
		assert_int_equal(up_base32_decode(bad[i], &out, &len), UP_EINVAL);
		/* out-params untouched on failure */
		assert_ptr_equal(out, sentinel());
		assert_int_equal(len, 4242);
	}
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(up_base32_decode(NULL, &out, &len), UP_EINVAL);
	assert_int_equal(up_base32_decode("MZXW6", NULL, &len), UP_EINVAL);
	assert_int_equal(up_base32_decode("MZXW6", &out, NULL), UP_EINVAL);

	char *text = sentinel();
	assert_int_equal(up_base32_encode(NULL, 3, &text), UP_EINVAL);
	assert_int_equal(up_base32_encode((const uint8_t *)"foo", 0, &text), UP_EINVAL);
	assert_int_equal(up_base32_encode((const uint8_t *)"foo", 3, NULL), UP_EINVAL);
	assert_ptr_equal(text, sentinel());

	/* a very long input is refused, not processed */
	size_t big = 1024 * 1024;
	char *huge = malloc(big + 1);
	assert_non_null(huge);
	memset(huge, 'A', big);
	huge[big] = '\0';
	assert_int_equal(up_base32_decode(huge, &out, &len), UP_EINVAL);
	free(huge);
}

static void test_base32_round_trip(void **state)
{
	(void)state;
	uint8_t data[80];
	for (size_t len = 1; len <= sizeof(data); len++) {
		assert_int_equal(RAND_bytes(data, (int)len), 1);
		char *enc = NULL;
		assert_int_equal(up_base32_encode(data, len, &enc), UP_OK);
		assert_int_equal(strlen(enc), (len * 8 + 4) / 5);
		for (const char *p = enc; *p; p++)
			assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", *p));
		assert_decodes(enc, data, len);

		/* the grouped, lower-case form a user types back decodes too */
		char *groups = NULL;
		assert_int_equal(up_secret_groups(enc, &groups), UP_OK);
		for (char *p = groups; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		assert_decodes(groups, data, len);
		up_free_secret(groups);
		up_free_secret(enc);
	}
}

/* --- TOTP ---------------------------------------------------------------- */

static const uint8_t rfc_key[] = "12345678901234567890";

static void test_totp_rfc6238(void **state)
{
	(void)state;
	/* RFC 6238 Appendix B, SHA1 rows */
	static const struct {
		int64_t t;
		const char *code;
	} v[] = {
	    {59, "94287082"},	      {1111111109, "07081804"}, {1111111111, "14050471"},
	    {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char out[9];
		assert_int_equal(up_totp(rfc_key, 20, v[i].t, 30, 8, out), UP_OK);
		assert_string_equal(out, v[i].code);
		/* fewer digits are the low digits of the same truncated value */
		assert_int_equal(up_totp(rfc_key, 20, v[i].t, 30, 7, out), UP_OK);
		assert_string_equal(out, v[i].code + 1);
		assert_int_equal(up_totp(rfc_key, 20, v[i].t, 30, 6, out), UP_OK);
		assert_string_equal(out, v[i].code + 2);
	}
}

static void test_totp_rfc4226(void **state)
{
	(void)state;
	/* RFC 4226 Appendix D: HOTP(counter) == TOTP(t = counter * step) */
	static const char *const hotp[] = {"755224", "287082", "359152", "969429", "338314",
					   "254676", "287922", "162583", "399871", "520489"};
	for (unsigned c = 0; c < 10; c++) {
		char out[9];
		assert_int_equal(up_totp(rfc_key, 20, (int64_t)c * 30, 30, 6, out), UP_OK);
		assert_string_equal(out, hotp[c]);
		/* any t inside the step gives the same code; another step size too */
		assert_int_equal(up_totp(rfc_key, 20, (int64_t)c * 30 + 29, 30, 6, out), UP_OK);
		assert_string_equal(out, hotp[c]);
		assert_int_equal(up_totp(rfc_key, 20, (int64_t)c * 60 + 59, 60, 6, out), UP_OK);
		assert_string_equal(out, hotp[c]);
	}
}

static void test_totp_from_base32(void **state)
{
	(void)state;
	/* The RFC key as an authenticator app would receive it. */
	char *b32 = NULL;
	assert_int_equal(up_base32_encode(rfc_key, 20, &b32), UP_OK);
	assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	uint8_t *key = NULL;
	size_t len = 0;
	assert_int_equal(up_base32_decode(b32, &key, &len), UP_OK);
	char out[9];
	assert_int_equal(up_totp(key, len, 1234567890, 30, 8, out), UP_OK);
	assert_string_equal(out, "89005924");
	up_free_secret_len(key, len);
	up_free_secret(b32);
}

static void test_totp_bad_args(void **state)
{
	(void)state;
	char out[9] = "XXXXXXXX";
	assert_int_equal(up_totp(rfc_key, 20, 59, 30, 5, out), UP_EINVAL);
	assert_int_equal(up_totp(rfc_key, 20, 59, 30, 9, out), UP_EINVAL);
	assert_int_equal(up_totp(rfc_key, 20, 59, 30, 0, out), UP_EINVAL);
	assert_int_equal(up_totp(rfc_key, 20, 59, 0, 6, out), UP_EINVAL);
	assert_int_equal(up_totp(rfc_key, 20, -1, 30, 6, out), UP_EINVAL);
	assert_int_equal(up_totp(rfc_key, 20, INT64_MIN, 30, 6, out), UP_EINVAL);
	assert_int_equal(up_totp(NULL, 20, 59, 30, 6, out), UP_EINVAL);
	assert_int_equal(up_totp(rfc_key, 0, 59, 30, 6, out), UP_EINVAL);
	assert_int_equal(up_totp(rfc_key, 20, 59, 30, 6, NULL), UP_EINVAL);
	assert_string_equal(out, "XXXXXXXX");
	/* the far future still works */
	assert_int_equal(up_totp(rfc_key, 20, INT64_MAX, 1, 6, out), UP_OK);
	assert_int_equal(strlen(out), 6);
}

/* --- otpauth:// URIs ----------------------------------------------------- */

static void assert_uri(const char *issuer, const char *account, const char *secret,
		       const char *want)
{
	char *uri = NULL;
	assert_int_equal(up_otpauth_uri(issuer, account, secret, &uri), UP_OK);
	assert_string_equal(uri, want);
	up_free_secret(uri);
}

static void test_uri_basic(void **state)
{
	(void)state;
	assert_uri("Example", "alice", "JBSWY3DPEHPK3PXP",
		   "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example");
	/* issuer with spaces: %20, never '+' */
	assert_uri("Example Co Ltd", "alice@example.org", "JBSWY3DPEHPK3PXP",
		   "otpauth://totp/Example%20Co%20Ltd:alice%40example.org"
		   "?secret=JBSWY3DPEHPK3PXP&issuer=Example%20Co%20Ltd");
	/* unreserved characters are kept */
	assert_uri("a-b.c_d~e", "AZaz09-._~", "JBSWY3DPEHPK3PXP",
		   "otpauth://totp/a-b.c_d~e:AZaz09-._~?secret=JBSWY3DPEHPK3PXP&issuer=a-b.c_d~e");
	/* the secret is normalised: upper case, no spaces, no padding */
	assert_uri("X", "y", "jbsw y3dp ehpk 3pxp",
		   "otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&issuer=X");
	assert_uri("X", "y", "MZXW6===", "otpauth://totp/X:y?secret=MZXW6&issuer=X");
}

static void test_uri_delimiters(void **state)
{
	(void)state;
	/* everything that could change the URI's structure is encoded */
	assert_uri("A:B&C#D/E?F=G+H%I", "u:v&w#x/y?z=1+2%3 ;,!*'()[]@$", "JBSWY3DPEHPK3PXP",
		   "otpauth://totp/A%3AB%26C%23D%2FE%3FF%3DG%2BH%25I"
		   ":u%3Av%26w%23x%2Fy%3Fz%3D1%2B2%253%20%3B%2C%21%2A%27%28%29%5B%5D%40%24"
		   "?secret=JBSWY3DPEHPK3PXP&issuer=A%3AB%26C%23D%2FE%3FF%3DG%2BH%25I");
}

static void test_uri_utf8(void **state)
{
	(void)state;
	assert_uri("Zoë Ünal", "zoë", "JBSWY3DPEHPK3PXP",
		   "otpauth://totp/Zo%C3%AB%20%C3%9Cnal:zo%C3%AB"
		   "?secret=JBSWY3DPEHPK3PXP&issuer=Zo%C3%AB%20%C3%9Cnal");
	/* 3- and 4-byte sequences: each byte is encoded, upper-case hex */
	assert_uri(
	    "\xe2\x82\xac", "\xf0\x9f\x94\x91", "JBSWY3DPEHPK3PXP",
	    "otpauth://totp/%E2%82%AC:%F0%9F%94%91?secret=JBSWY3DPEHPK3PXP&issuer=%E2%82%AC");
}

static void test_uri_rejects(void **state)
{
	(void)state;
	static const char *const bad_label[] = {
	    "",
	    "ali\nce",
	    "ali\rce",
	    "\x1b[31mred",
	    "tab\there",
	    "del\x7f",
	    "c1\xc2\x9b",      /* U+009B, a C1 control (CSI) */
	    "bad\xff",	       /* invalid UTF-8 */
	    "over\xc0\xaf",    /* overlong '/' */
	    "trunc\xc3",       /* truncated sequence */
	    "sur\xed\xa0\x80", /* UTF-16 surrogate */
	};
	for (size_t i = 0; i < sizeof(bad_label) / sizeof(bad_label[0]); i++) {
		char *uri = sentinel();
		assert_int_equal(up_otpauth_uri(bad_label[i], "alice", "JBSWY3DPEHPK3PXP", &uri),
				 UP_EINVAL);
		assert_int_equal(up_otpauth_uri("Example", bad_label[i], "JBSWY3DPEHPK3PXP", &uri),
				 UP_EINVAL);
		assert_ptr_equal(uri, sentinel());
	}
	static const char *const bad_secret[] = {
	    "", "JBSW&Y3DP", "JBSWY3DP#", "JBSW%20Y3DP", "JBSWY3DP\n", "M"};
	for (size_t i = 0; i < sizeof(bad_secret) / sizeof(bad_secret[0]); i++) {
		char *uri = sentinel();
		assert_int_equal(up_otpauth_uri("Example", "alice", bad_secret[i], &uri),
				 UP_EINVAL);
		assert_ptr_equal(uri, sentinel());
	}
	char *uri = NULL;
	assert_int_equal(up_otpauth_uri(NULL, "alice", "JBSWY3DPEHPK3PXP", &uri), UP_EINVAL);
	assert_int_equal(up_otpauth_uri("Example", NULL, "JBSWY3DPEHPK3PXP", &uri), UP_EINVAL);
	assert_int_equal(up_otpauth_uri("Example", "alice", NULL, &uri), UP_EINVAL);
	assert_int_equal(up_otpauth_uri("Example", "alice", "JBSWY3DPEHPK3PXP", NULL), UP_EINVAL);
	assert_null(uri);
}

/* --- secret groups --------------------------------------------------------- */

static void assert_groups(const char *in, const char *want)
{
	char *g = NULL;
	assert_int_equal(up_secret_groups(in, &g), UP_OK);
	assert_string_equal(g, want);
	up_free_secret(g);
}

static void test_secret_groups(void **state)
{
	(void)state;
	assert_groups("JBSWY3DPEHPK3PXP", "JBSW Y3DP EHPK 3PXP");
	assert_groups("ABCDEFGHIJ", "ABCD EFGH IJ");
	assert_groups("ABCDE", "ABCD E");
	assert_groups("ABCD", "ABCD");
	assert_groups("AB", "AB");
	assert_groups("abcd efgh", "ABCD EFGH");
	assert_groups("MZXW6===", "MZXW 6");
	/* a 32-byte Cognito-style seed: 52 characters, 13 groups */
	assert_groups("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST",
		      "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567 ABCD EFGH IJKL MNOP QRST");

	char *g = sentinel();
	assert_int_equal(up_secret_groups("ABC!", &g), UP_EINVAL);
	assert_int_equal(up_secret_groups("", &g), UP_EINVAL);
	assert_int_equal(up_secret_groups("AB\nCD", &g), UP_EINVAL);
	assert_int_equal(up_secret_groups(NULL, &g), UP_EINVAL);
	assert_int_equal(up_secret_groups("ABCD", NULL), UP_EINVAL);
	assert_ptr_equal(g, sentinel());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base32_rfc4648),   cmocka_unit_test(test_base32_tolerant_decode),
	    cmocka_unit_test(test_base32_hostile),   cmocka_unit_test(test_base32_round_trip),
	    cmocka_unit_test(test_totp_rfc6238),     cmocka_unit_test(test_totp_rfc4226),
	    cmocka_unit_test(test_totp_from_base32), cmocka_unit_test(test_totp_bad_args),
	    cmocka_unit_test(test_uri_basic),	     cmocka_unit_test(test_uri_delimiters),
	    cmocka_unit_test(test_uri_utf8),	     cmocka_unit_test(test_uri_rejects),
	    cmocka_unit_test(test_secret_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
