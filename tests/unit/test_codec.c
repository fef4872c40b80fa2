/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "testlib.h"

/* Reference encodings come from OpenSSL's EVP_EncodeBlock (standard
 * alphabet, padded), an implementation independent of lib/codec.c. */
static char *ref_b64(const uint8_t *d, size_t len)
{
	char *out = malloc(len / 3 * 4 + 8);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, d, (int)len);
	return out;
}

static char *ref_b64url(const uint8_t *d, size_t len)
{
	char *s = ref_b64(d, len);
	size_t n = strlen(s);

	while (n && s[n - 1] == '=')
		s[--n] = '\0';
	for (char *p = s; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return s;
}

static void test_b64url_roundtrip(void **state)
{
	uint8_t data[64];

	(void)state;
	for (size_t len = 0; len <= 64; len++) {
		for (int round = 0; round < 8; round++) {
			char *enc = NULL, *ref;
			uint8_t *dec = NULL;
			size_t dlen = 12345;

			assert_int_equal(RAND_bytes(data, sizeof(data)), 1);
			if (round == 0)
				memset(data, 0xff, sizeof(data)); /* maps to '_' */
			else if (round == 1)
				memset(data, 0xfb, sizeof(data)); /* maps to '-' among others */
			assert_int_equal(up_b64url_encode(data, len, &enc), UP_OK);
			ref = ref_b64url(data, len);
			assert_string_equal(enc, ref);
			assert_null(strchr(enc, '='));
			assert_null(strchr(enc, '+'));
			assert_null(strchr(enc, '/'));
			assert_int_equal(up_b64url_decode(enc, strlen(enc), &dec, &dlen), UP_OK);
			assert_int_equal(dlen, len);
			assert_memory_equal(dec, data, len);
			free(dec);
			free(enc);
			free(ref);
		}
	}
}

static void expect_b64url_bad(const char *s)
{
	uint8_t *dec = (uint8_t *)0x1;
	size_t dlen = 777;

	if (up_b64url_decode(s, strlen(s), &dec, &dlen) != UP_EINVAL)
		fail_msg("base64url \"%s\" was accepted", s);
	assert_ptr_equal(dec, (uint8_t *)0x1);
	assert_int_equal(dlen, 777);
}

static void test_b64url_strict(void **state)
{
	uint8_t *dec = NULL;
	size_t dlen = 0;

	(void)state;
	/* "AB" is QUI, "A" is QQ; padded, whitespace, std alphabet refused. */
	expect_b64url_bad("QUI=");
	expect_b64url_bad("QQ==");
	expect_b64url_bad("QQ=");
	expect_b64url_bad("QU I");
	expect_b64url_bad(" QUI");
	expect_b64url_bad("QUI\n");
	expect_b64url_bad("QU\tI");
	expect_b64url_bad("++++");
	expect_b64url_bad("////");
	expect_b64url_bad("a+b/");
	expect_b64url_bad("Q");      /* 6 bits are not a byte */
	expect_b64url_bad("QUJDR");
	expect_b64url_bad("A");      /* zero bits left over, still not a byte */
	expect_b64url_bad("QUJDA");
	expect_b64url_bad("QUJD.");
	/* Non-canonical: unused low bits of the last symbol set. */
	expect_b64url_bad("QR");     /* 'A' is QQ */
	expect_b64url_bad("QX");
	expect_b64url_bad("QUJ");    /* "AB" is QUI */
	expect_b64url_bad("QUL");
	expect_b64url_bad("_x");     /* 0xff is _w */
	expect_b64url_bad("__9");    /* 0xff 0xff is __8 */

	assert_int_equal(up_b64url_decode("QQ", 2, &dec, &dlen), UP_OK);
	assert_int_equal(dlen, 1);
	assert_int_equal(dec[0], 'A');
	free(dec);
	assert_int_equal(up_b64url_decode("__8", 3, &dec, &dlen), UP_OK);
	assert_int_equal(dlen, 2);
	assert_int_equal(dec[0], 0xff);
	assert_int_equal(dec[1], 0xff);
	free(dec);
	assert_int_equal(up_b64url_decode("", 0, &dec, &dlen), UP_OK);
	assert_int_equal(dlen, 0);
	free(dec);
	/* slen bounds the input: an embedded NUL inside it is refused, bytes
	 * after it are not read. */
	assert_int_equal(up_b64url_decode("QUI\0", 4, &dec, &dlen), UP_EINVAL);
	assert_int_equal(up_b64url_decode("QUIxxxx!", 3, &dec, &dlen), UP_OK);
	assert_int_equal(dlen, 2);
	assert_memory_equal(dec, "AB", 2);
	free(dec);
	assert_int_equal(up_b64url_decode(NULL, 0, &dec, &dlen), UP_EINVAL);
}

static void test_b64_std(void **state)
{
	uint8_t data[64];
	uint8_t *dec = NULL;
	size_t dlen = 0;
	char *enc = NULL;

	(void)state;
	for (size_t len = 0; len <= 64; len++) {
		char *ref;

		assert_int_equal(RAND_bytes(data, sizeof(data)), 1);
		assert_int_equal(up_b64_encode(data, len, &enc), UP_OK);
		ref = ref_b64(data, len);
		assert_string_equal(enc, ref);
		assert_int_equal(strlen(enc) % 4, 0);
		assert_int_equal(up_b64_decode(enc, &dec, &dlen), UP_OK);
		assert_int_equal(dlen, len);
		assert_memory_equal(dec, data, len);
		free(dec);
		free(enc);
		free(ref);
	}
	/* RFC 4648 §10 vectors. */
	static const char *const vec[][2] = {
		{ "", "" },         { "f", "Zg==" },         { "fo", "Zm8=" },
		{ "foo", "Zm9v" },  { "foob", "Zm9vYg==" },  { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		assert_int_equal(up_b64_encode((const uint8_t *)vec[i][0], strlen(vec[i][0]), &enc),
				 UP_OK);
		assert_string_equal(enc, vec[i][1]);
		free(enc);
		assert_int_equal(up_b64_decode(vec[i][1], &dec, &dlen), UP_OK);
		assert_int_equal(dlen, strlen(vec[i][0]));
		assert_memory_equal(dec, vec[i][0], dlen);
		free(dec);
	}
	assert_int_equal(up_b64_encode((const uint8_t *)"\xfb\xff", 2, &enc), UP_OK);
	assert_string_equal(enc, "+/8=");
	free(enc);

	static const char *const bad[] = {
		"Zg",   "Zg=",  "Zm8",  "Z===", "Zg=a", "Z=g=", "Zm9v====", "Zm9", "Zh==",
		"Zm9=", "Zm-_", "Zm9 v", "QUJDA===", "Zm9v\n", " Zm9v", "====", "Zm9vYg=", "=Zm9",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dec = (uint8_t *)0x1;
		if (up_b64_decode(bad[i], &dec, &dlen) != UP_EINVAL)
			fail_msg("base64 \"%s\" was accepted", bad[i]);
		assert_ptr_equal(dec, (uint8_t *)0x1);
	}
	assert_int_equal(up_b64_decode(NULL, &dec, &dlen), UP_EINVAL);
	assert_int_equal(up_b64_encode(NULL, 1, &enc), UP_EINVAL);
}

static void test_hex(void **state)
{
	static const uint8_t d[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char *out = NULL;

	(void)state;
	assert_int_equal(up_hex_encode(d, sizeof(d), &out), UP_OK);
	assert_string_equal(out, "00017f80abff");
	free(out);
	assert_int_equal(up_hex_encode(d, 0, &out), UP_OK);
	assert_string_equal(out, "");
	free(out);
	out = (char *)0x1;
	assert_int_equal(up_hex_encode(NULL, 3, &out), UP_EINVAL);
	assert_ptr_equal(out, (char *)0x1);
}

static void test_sha256_hex(void **state)
{
	char out[65];

	(void)state;
	assert_int_equal(up_sha256_hex("abc", 3, out), UP_OK);
	assert_string_equal(out,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(up_sha256_hex("", 0, out), UP_OK);
	assert_string_equal(out,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* FIPS 180-2 two-block vector. */
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_int_equal(up_sha256_hex(m, strlen(m), out), UP_OK);
	assert_string_equal(out,
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

struct jctx {
	struct up_ctx *ctx;
	struct t_log log;
};

static int jsetup(void **state)
{
	struct jctx *j = calloc(1, sizeof(*j));

	if (!j || up_ctx_new(&j->ctx) != UP_OK)
		return -1;
	up_ctx_set_logger(j->ctx, t_log_fn, &j->log);
	*state = j;
	return 0;
}

static int jteardown(void **state)
{
	struct jctx *j = *state;

	up_ctx_free(j->ctx);
	free(j);
	return 0;
}

static void expect_json_bad(struct up_ctx *ctx, const char *text, size_t len, size_t cap,
			    const char *detail_part)
{
	json_t *j = (json_t *)0x1;
	up_err r;

	up_clear_detail(ctx);
	r = up_json_parse(ctx, text, len, cap, &j);
	if (r != UP_EPROTO)
		fail_msg("JSON \"%.40s\" gave %d (%s), want UP_EPROTO", text, r, up_strerror(r));
	assert_ptr_equal(j, (json_t *)0x1);
	if (detail_part && !strstr(up_ctx_detail(ctx), detail_part))
		fail_msg("detail \"%s\" lacks \"%s\"", up_ctx_detail(ctx), detail_part);
	assert_true(up_ctx_detail(ctx)[0] != '\0');
}

static void test_json_parse(void **state)
{
	struct jctx *jc = *state;
	struct up_ctx *ctx = jc->ctx;
	const char *ok = "{\"a\":1,\"b\":{\"a\":2},\"s\":\"x\\u00e9\"}";
	json_t *j = NULL;

	assert_int_equal(up_json_parse(ctx, ok, strlen(ok), 0, &j), UP_OK);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "s")), "x\xc3\xa9");
	json_decref(j);

	/* Exactly at the cap is fine, one byte more is not. */
	assert_int_equal(up_json_parse(ctx, ok, strlen(ok), strlen(ok), &j), UP_OK);
	json_decref(j);
	expect_json_bad(ctx, ok, strlen(ok), strlen(ok) - 1, "cap");

	expect_json_bad(ctx, "{\"a\":1,\"a\":2}", 13, 0, "duplicate");
	expect_json_bad(ctx, "{\"a\":{\"k\":1,\"k\":1}}", 19, 0, "duplicate");
	expect_json_bad(ctx, "{\"a\":\"x\\u0000y\"}", 16, 0, NULL);
	expect_json_bad(ctx, "{\"a\\u0000\":1}", 13, 0, NULL);
	/* A raw NUL byte inside the given length. */
	expect_json_bad(ctx, "{\"a\":\"x\0y\"}", 11, 0, NULL);
	/* Trailing garbage after the document. */
	expect_json_bad(ctx, "{}x", 3, 0, NULL);
	/* Surrounding white space is JSON. */
	assert_int_equal(up_json_parse(ctx, " {} \n", 5, 0, &j), UP_OK);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
}

static void test_json_not_object(void **state)
{
	struct jctx *jc = *state;
	static const char *const arrays[] = { "[1,2]", "[]", "[{}]" };
	static const char *const scalars[] = { "\"s\"", "1", "null", "true" };

	for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
		expect_json_bad(jc->ctx, arrays[i], strlen(arrays[i]), 0, "not an object");
	/* jansson refuses scalars at the top itself (no JSON_DECODE_ANY). */
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		expect_json_bad(jc->ctx, scalars[i], strlen(scalars[i]), 0, NULL);
	static const char *const malformed[] = {
		"", "{", "{\"a\":}", "{a:1}", "{\"a\":1,}", "{} {}", "{}x", "{'a':1}",
		"{\"a\":01}", "{\"a\":\"\\x41\"}", "{\"a\":NaN}",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		expect_json_bad(jc->ctx, malformed[i], strlen(malformed[i]), 0, "malformed");
}

static void test_json_deep(void **state)
{
	struct jctx *jc = *state;
	size_t n = 100000;
	char *buf = malloc(2 * n + 1);

	assert_non_null(buf);
	memset(buf, '[', n);
	memset(buf + n, ']', n);
	buf[2 * n] = '\0';
	expect_json_bad(jc->ctx, buf, 2 * n, 0, NULL);
	buf[0] = '{';
	expect_json_bad(jc->ctx, buf, n, 0, NULL);
	/* Objects nested too. */
	for (size_t i = 0; i + 5 <= n; i += 5)
		memcpy(buf + i, "{\"a\":", 5);
	expect_json_bad(jc->ctx, buf, n, 0, NULL);
	free(buf);
}

static void test_json_dump(void **state)
{
	struct jctx *jc = *state;
	const char *in = "{ \"a\" : 1, \"b\" : [ \"x\", null ] }";
	json_t *j = NULL;
	char *out;

	assert_int_equal(up_json_parse(jc->ctx, in, strlen(in), 0, &j), UP_OK);
	out = up_json_dump(j);
	assert_non_null(out);
	assert_string_equal(out, "{\"a\":1,\"b\":[\"x\",null]}");
	free(out);
	json_decref(j);
}

static void test_json_wipe(void **state)
{
	struct jctx *jc = *state;
	const char *in = "{\"k\":\"secret-one\",\"arr\":[\"abc\",{\"n\":\"xyz123\"},7],"
			 "\"num\":5,\"t\":true,\"e\":\"\"}";
	json_t *j = NULL;
	const char *p1, *p2, *p3;

	assert_int_equal(up_json_parse(jc->ctx, in, strlen(in), 0, &j), UP_OK);
	p1 = json_string_value(json_object_get(j, "k"));
	p2 = json_string_value(json_array_get(json_object_get(j, "arr"), 0));
	p3 = json_string_value(json_object_get(json_array_get(json_object_get(j, "arr"), 1), "n"));
	assert_non_null(p1);
	assert_non_null(p2);
	assert_non_null(p3);
	assert_string_equal(p1, "secret-one");
	up_json_wipe(j);
	/* The same buffers, still owned by jansson, now hold zeros. */
	for (size_t i = 0; i < strlen("secret-one"); i++)
		assert_int_equal(p1[i], 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(p2[i], 0);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(p3[i], 0);
	/* Non-strings untouched. */
	assert_int_equal(json_integer_value(json_object_get(j, "num")), 5);
	assert_true(json_is_true(json_object_get(j, "t")));
	json_decref(j);
	up_json_wipe(NULL);
}

static void test_url_encode(void **state)
{
	char *out = NULL;
	char all[256];

	(void)state;
	assert_int_equal(up_url_encode("AZaz09-._~", &out), UP_OK);
	assert_string_equal(out, "AZaz09-._~");
	free(out);
	assert_int_equal(up_url_encode("a b", &out), UP_OK);
	assert_string_equal(out, "a%20b");
	free(out);
	assert_int_equal(up_url_encode("p+w&d=1/2?#%\"'", &out), UP_OK);
	assert_string_equal(out, "p%2Bw%26d%3D1%2F2%3F%23%25%22%27");
	free(out);
	assert_int_equal(up_url_encode("\xc3\xa9\xe2\x82\xac", &out), UP_OK); /* é€ */
	assert_string_equal(out, "%C3%A9%E2%82%AC");
	free(out);
	assert_int_equal(up_url_encode("", &out), UP_OK);
	assert_string_equal(out, "");
	free(out);

	/* Every byte: unreserved kept, everything else %XX upper-case. */
	for (int c = 1; c < 256; c++)
		all[c - 1] = (char)c;
	all[255] = '\0';
	assert_int_equal(up_url_encode(all, &out), UP_OK);
	{
		const char *p = out;
		for (int c = 1; c < 256; c++) {
			bool unres = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
				     c == '~';
			if (unres) {
				assert_int_equal((unsigned char)*p, c);
				p++;
			} else {
				char want[4];
				snprintf(want, sizeof(want), "%%%02X", c);
				assert_memory_equal(p, want, 3);
				p += 3;
			}
		}
		assert_int_equal(*p, '\0');
	}
	free(out);
	out = (char *)0x1;
	assert_int_equal(up_url_encode(NULL, &out), UP_EINVAL);
	assert_ptr_equal(out, (char *)0x1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_b64url_strict),
		cmocka_unit_test(test_b64_std),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_sha256_hex),
		cmocka_unit_test_setup_teardown(test_json_parse, jsetup, jteardown),
		cmocka_unit_test_setup_teardown(test_json_not_object, jsetup, jteardown),
		cmocka_unit_test_setup_teardown(test_json_deep, jsetup, jteardown),
		cmocka_unit_test_setup_teardown(test_json_dump, jsetup, jteardown),
		cmocka_unit_test_setup_teardown(test_json_wipe, jsetup, jteardown),
		cmocka_unit_test(test_url_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
