/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/jwks.c: strict key-set parsing, the on-disk cache, the re-fetch
 * policy and concurrency, against tests/unit/jwks_server.py which counts
 * every fetch.
 */
#include <fcntl.h>
#include <sys/file.h>

#include "jwt_testutil.h"

static struct {
	EVP_PKEY *rsa1, *rsa2, *ec256, *rsa1024;
} K;

struct t {
	char *dir;
	struct t_log log;
	struct t_clock clock;
	struct up_ctx *ctx;
	struct tu_server srv;
	char *cfgtext;
};

static int group_setup(void **state)
{
	(void)state;
	K.rsa1 = tu_rsa(2048);
	K.rsa2 = tu_rsa(2048);
	K.ec256 = tu_ec("P-256");
	K.rsa1024 = tu_rsa(1024);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(K.rsa1);
	EVP_PKEY_free(K.rsa2);
	EVP_PKEY_free(K.ec256);
	EVP_PKEY_free(K.rsa1024);
	return 0;
}

static char *jwks1(void)
{
	return tu_jwks(tu_jwk(K.rsa1, "rsa1", "RS256", "sig"), NULL);
}

static char *jwks12(void)
{
	return tu_jwks(tu_jwk(K.rsa1, "rsa1", "RS256", "sig"),
		       tu_jwk(K.rsa2, "rsa2", "RS256", "sig"), NULL);
}

/* A context against the server, which serves `rsa1` to begin with. */
static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	char *body;

	assert_non_null(t);
	t->dir = t_mkdtemp();
	t->clock.now = T_NOW;
	tu_server_start(t->dir, &t->srv);
	body = jwks1();
	tu_server_serve(&t->srv, body, 0);
	free(body);
	t->cfgtext = tu_config(t->dir, "cognito", t->srv.uri, NULL);
	t->ctx = t_ctx_with_config(t->dir, t->cfgtext, &t->log, &t->clock);
	*state = t;
	return 0;
}

/* A context for parser tests only. */
static int setup_plain(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_int_equal(up_ctx_new(&t->ctx), UP_OK);
	up_ctx_set_logger(t->ctx, t_log_fn, &t->log);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	up_ctx_free(t->ctx);
	tu_server_stop(&t->srv);
	if (t->dir)
		t_rmtree(t->dir);
	free(t->dir);
	free(t->cfgtext);
	free(t);
	return 0;
}

/* A second, independent context on the same state (another process's view). */
static struct up_ctx *other_ctx(struct t *t)
{
	return t_ctx_with_config(t->dir, t->cfgtext, &t->log, &t->clock);
}

static char *token(EVP_PKEY *pk, const char *kid)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "sub", "sub-1", "iss", T_ISS,
			      "aud", T_CLIENT, "token_use", "id", "cognito:username", "alice",
			      "exp", (json_int_t)(T_NOW + 3600), "iat", (json_int_t)(T_NOW - 10));
	char *payload = json_dumps(c, JSON_COMPACT), *header = NULL, *tok;

	json_decref(c);
	assert_true(asprintf(&header, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid) > 0);
	tok = tu_token(pk, "RS256", header, payload);
	free(header);
	free(payload);
	return tok;
}

static up_err verify_with(struct up_ctx *ctx, const char *tok, unsigned flags)
{
	struct up_claims *c = NULL;
	up_err rc = up_token_verify(ctx, tok, UP_TOKEN_ID, "alice", flags, &c);

	up_claims_free(c);
	return rc;
}

static up_err verify_kid(struct t *t, EVP_PKEY *pk, const char *kid, unsigned flags)
{
	char *tok = token(pk, kid);
	up_err rc = verify_with(t->ctx, tok, flags);

	free(tok);
	return rc;
}

static json_t *read_cache(struct t *t)
{
	char *path = tu_cache_path(t->ctx);
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	struct stat st;

	assert_non_null(j);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	free(path);
	return j;
}

static int64_t cache_int(struct t *t, const char *key)
{
	json_t *j = read_cache(t);
	int64_t v = (int64_t)json_integer_value(json_object_get(j, key));

	json_decref(j);
	return v;
}

static size_t cache_nkeys(struct t *t)
{
	json_t *j = read_cache(t);
	size_t n = json_array_size(json_object_get(json_object_get(j, "jwks"), "keys"));

	json_decref(j);
	return n;
}

/* ---- parsing ---- */

static up_err parse(struct t *t, const char *text, size_t *ret_n)
{
	struct up_jwks *set = NULL;
	up_err rc = up_jwks_parse(t->ctx, text, strlen(text), &set);

	if (rc == UP_OK) {
		assert_non_null(set);
		*ret_n = set->n;
	} else {
		assert_null(set);
		*ret_n = 0;
	}
	up_jwks_free(set);
	return rc;
}

static void test_parse_shapes(void **state)
{
	struct t *t = *state;
	const char *bad[] = {
		"{\"keys\":{}}", "{\"keys\":\"x\"}", "{\"keys\":[]}", "{}", "[]", "[{\"kty\":\"RSA\"}]",
		"<html><body>Service Unavailable</body></html>", "", "{\"keys\":[1,\"a\",null]}",
		"{\"keys\":[],\"keys\":[]}",
	};
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(t, bad[i], &n) != UP_EPROTO)
			fail_msg("case %zu accepted: %s", i, bad[i]);
	{
		char *s = jwks12();

		assert_int_equal(parse(t, s, &n), UP_OK);
		assert_int_equal(n, 2);
		free(s);
	}
	/* A 5 MB document is refused by size before parsing. */
	{
		size_t big = 5 * 1024 * 1024;
		char *s = malloc(big + 1);
		struct up_jwks *set = NULL;

		memset(s, ' ', big);
		memcpy(s, "{\"keys\":[", 9);
		s[big - 2] = ']';
		s[big - 1] = '}';
		s[big] = '\0';
		assert_int_equal(up_jwks_parse(t->ctx, s, big, &set), UP_EPROTO);
		assert_null(set);
		free(s);
	}
}

/* One good key plus `bad`, which must be skipped with a log line. */
static void expect_skipped(struct t *t, json_t *bad, const char *why)
{
	char *s = tu_jwks(tu_jwk(K.ec256, "good", NULL, NULL), bad, NULL);
	struct up_jwks *set = NULL;

	t_log_reset(&t->log);
	assert_int_equal(up_jwks_parse(t->ctx, s, strlen(s), &set), UP_OK);
	assert_int_equal(set->n, 1);
	assert_string_equal(set->keys[0].kid, "good");
	if (!t_log_contains(&t->log, why))
		fail_msg("log lacks \"%s\": %s", why, t->log.buf);
	up_jwks_free(set);
	free(s);
}

static void test_parse_bad_keys(void **state)
{
	struct t *t = *state;
	json_t *k;

	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "n", json_string(""));
	expect_skipped(t, k, "n missing or empty");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "n", json_string("abc+/=="));
	expect_skipped(t, k, "n not base64url");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_del(k, "e");
	expect_skipped(t, k, "e missing");
	/* 16384-bit modulus (random odd bytes: refused on size alone) */
	{
		unsigned char n[2048];
		char *b;

		memset(n, 0xA5, sizeof(n));
		n[0] = 0xC1;
		n[sizeof(n) - 1] |= 1;
		b = tu_b64(n, sizeof(n));
		k = tu_jwk(K.rsa1, "k", NULL, NULL);
		json_object_set_new(k, "n", json_string(b));
		free(b);
		expect_skipped(t, k, "RSA modulus of 16384 bits refused");
	}
	expect_skipped(t, tu_jwk(K.rsa1024, "k", NULL, NULL), "RSA modulus of 1024 bits refused");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "e", json_string("AQAA")); /* 65536: even */
	expect_skipped(t, k, "RSA exponent refused");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "e", json_string("AQ")); /* 1 */
	expect_skipped(t, k, "RSA exponent refused");
	expect_skipped(t, tu_jwk(K.rsa1, "k", NULL, "enc"), "use is not sig");
	/* issue 20: private members, key_ops without verify */
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "d", json_string("AQAB"));
	expect_skipped(t, k, "carries private key members");
	k = tu_jwk(K.ec256, "k", NULL, NULL);
	json_object_set_new(k, "d", json_string("AQAB"));
	expect_skipped(t, k, "carries private key members");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "p", json_string("AQAB"));
	expect_skipped(t, k, "carries private key members");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "key_ops", json_pack("[s]", "encrypt"));
	expect_skipped(t, k, "key_ops does not include verify");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "key_ops", json_string("verify"));
	expect_skipped(t, k, "key_ops is not a list");
	expect_skipped(t, tu_jwk(K.rsa1, "k", "HS256", NULL), "alg is not in the allow-list");
	expect_skipped(t, tu_jwk(K.rsa1, "k", "ES256", NULL), "alg does not fit");
	expect_skipped(t, tu_jwk(K.ec256, "k", "RS256", NULL), "alg does not fit");
	expect_skipped(t, tu_jwk(K.ec256, "k", "ES384", NULL), "alg does not fit");
	expect_skipped(t, tu_jwk(K.rsa1, "", NULL, NULL), "kid missing");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_del(k, "kid");
	expect_skipped(t, k, "kid missing");
	k = tu_jwk(K.rsa1, "k", NULL, NULL);
	json_object_set_new(k, "kty", json_string("oct"));
	expect_skipped(t, k, "kty is not RSA or EC");
	expect_skipped(t, json_string("rsa"), "not an object");
	/* EC: other curve, short x, a point off the curve */
	k = tu_jwk(K.ec256, "k", NULL, NULL);
	json_object_set_new(k, "crv", json_string("P-521"));
	expect_skipped(t, k, "crv is not");
	k = tu_jwk(K.ec256, "k", NULL, NULL);
	json_object_set_new(k, "x", json_string("AAAA"));
	expect_skipped(t, k, "not 32 bytes");
	{
		unsigned char y[32];
		char *b;

		memset(y, 0x11, sizeof(y));
		b = tu_b64(y, sizeof(y));
		k = tu_jwk(K.ec256, "k", NULL, NULL);
		json_object_set_new(k, "y", json_string(b));
		free(b);
		expect_skipped(t, k, "EC point");
	}
}

static void test_parse_duplicate_kid(void **state)
{
	struct t *t = *state;
	char *s = tu_jwks(tu_jwk(K.rsa1, "dup", NULL, NULL), tu_jwk(K.rsa2, "dup", NULL, NULL),
			  tu_jwk(K.ec256, "ec", NULL, NULL), NULL);
	struct up_jwks *set = NULL;

	assert_int_equal(up_jwks_parse(t->ctx, s, strlen(s), &set), UP_OK);
	assert_int_equal(set->n, 1);
	assert_string_equal(set->keys[0].kid, "ec");
	assert_null(up_jwks_find(set, "dup"));
	assert_true(t_log_contains(&t->log, "kid appears more than once"));
	up_jwks_free(set);
	free(s);
	/* Only duplicates: nothing usable. */
	s = tu_jwks(tu_jwk(K.rsa1, "dup", NULL, NULL), tu_jwk(K.rsa1, "dup", NULL, NULL), NULL);
	assert_int_equal(up_jwks_parse(t->ctx, s, strlen(s), &set), UP_EPROTO);
	free(s);
}

/* ---- fetch and cache ---- */

static void test_cold_cache_one_fetch(void **state)
{
	struct t *t = *state;
	json_t *j;

	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	t->clock.now += UP_JWKS_FRESH - 1;
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", UP_VERIFY_OFFLINE), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	j = read_cache(t);
	assert_int_equal(json_integer_value(json_object_get(j, "fetched_at")), T_NOW);
	assert_string_equal(json_string_value(json_object_get(j, "jwks_uri")), t->srv.uri);
	assert_true(json_is_array(json_object_get(json_object_get(j, "jwks"), "keys")));
	json_decref(j);
}

static void test_stale_cache_refetched(void **state)
{
	struct t *t = *state;
	char *s = jwks1();

	tu_seed_cache(t->ctx, s, T_NOW - UP_JWKS_FRESH, 0);
	free(s);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	assert_int_equal(cache_int(t, "fetched_at"), T_NOW);
	/* A cache "from the future" (clock went back) is not trusted as fresh. */
	s = jwks1();
	tu_seed_cache(t->ctx, s, T_NOW + 3600, 0);
	free(s);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 2);
}

static void test_stale_cache_server_down(void **state)
{
	struct t *t = *state;
	char *s = jwks1();

	tu_seed_cache(t->ctx, s, T_NOW - 10 * UP_JWKS_FRESH, 0);
	free(s);
	tu_server_serve(&t->srv, "oops", 503);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	assert_true(t_log_contains(&t->log, "keeping the cached set"));
	assert_int_equal(cache_int(t, "fetched_at"), T_NOW - 10 * UP_JWKS_FRESH);
}

static void test_unknown_kid_cooldown(void **state)
{
	struct t *t = *state;
	char *s = jwks1();
	struct up_ctx *ctx2;
	char *tok;

	tu_seed_cache(t->ctx, s, T_NOW, 0);
	free(s);
	/* Unknown kid: exactly one fetch, still unknown. */
	assert_int_equal(verify_kid(t, K.rsa2, "nope1", 0), UP_ENOKEY);
	assert_string_equal(up_ctx_detail(t->ctx), "no key for kid nope1");
	assert_int_equal(tu_server_count(&t->srv), 1);
	assert_int_equal(cache_int(t, "refetch_at"), T_NOW);
	/* A second unknown kid inside the cooldown: no fetch, in this context... */
	t->clock.now = T_NOW + UP_JWKS_REFETCH_COOLDOWN - 1;
	assert_int_equal(verify_kid(t, K.rsa2, "nope2", 0), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 1);
	/* ...nor in another process's context (the cooldown is on disk). */
	ctx2 = other_ctx(t);
	tok = token(K.rsa2, "nope3");
	assert_int_equal(verify_with(ctx2, tok, 0), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 1);
	/* Known kids keep working meanwhile, without network. */
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	/* After the cooldown: one more fetch. */
	t->clock.now = T_NOW + UP_JWKS_REFETCH_COOLDOWN;
	assert_int_equal(verify_with(ctx2, tok, 0), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 2);
	free(tok);
	up_ctx_free(ctx2);
}

static void test_in_process_cooldown(void **state)
{
	struct t *t = *state;
	char *s = jwks1();

	tu_seed_cache(t->ctx, s, T_NOW, 0);
	assert_int_equal(verify_kid(t, K.rsa2, "nope1", 0), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 1);
	/* The disk record is lost: the context still remembers. */
	tu_seed_cache(t->ctx, s, T_NOW, 0);
	free(s);
	t->clock.now += 10;
	assert_int_equal(verify_kid(t, K.rsa2, "nope2", 0), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 1);
}

static void test_kid_attacks_fetch_once(void **state)
{
	struct t *t = *state;
	char *s = jwks1();

	tu_seed_cache(t->ctx, s, T_NOW, 0);
	free(s);
	assert_int_equal(verify_kid(t, K.rsa2, "../../etc/passwd", 0), UP_ENOKEY);
	assert_int_equal(verify_kid(t, K.rsa2, "a\\\"b", 0), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 1);
}

static void test_rotation(void **state)
{
	struct t *t = *state;
	char *s = jwks1();

	tu_seed_cache(t->ctx, s, T_NOW - 3600, T_NOW - 3600);
	free(s);
	s = jwks12();
	tu_server_serve(&t->srv, s, 0);
	free(s);
	assert_int_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	assert_int_equal(cache_nkeys(t), 2);
	assert_int_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
}

static void test_failed_refetch_keeps_set(void **state)
{
	struct t *t = *state;
	const char *bodies[] = { "<html>502 Bad Gateway</html>", "{\"keys\":[]}", "{\"keys\":[" };
	const int statuses[] = { 200, 200, 200 };
	char *s = jwks1();
	struct up_ctx *ctx2;

	tu_seed_cache(t->ctx, s, T_NOW, 0);
	free(s);
	for (size_t i = 0; i < 3; i++) {
		t->clock.now = T_NOW + (int64_t)(i + 1) * UP_JWKS_REFETCH_COOLDOWN;
		/* a fresh context each time: no in-process memory */
		ctx2 = other_ctx(t);
		tu_server_serve(&t->srv, bodies[i], statuses[i]);
		{
			char *tok = token(K.rsa2, "rsa2");

			assert_int_equal(verify_with(ctx2, tok, 0), UP_ENOKEY);
			free(tok);
		}
		assert_int_equal(tu_server_count(&t->srv), (long)i + 1);
		/* The last good set is still on disk and still works. */
		assert_int_equal(cache_nkeys(t), 1);
		assert_int_equal(cache_int(t, "fetched_at"), T_NOW);
		assert_int_equal(cache_int(t, "refetch_at"), t->clock.now);
		{
			char *tok = token(K.rsa1, "rsa1");

			assert_int_equal(verify_with(ctx2, tok, 0), UP_OK);
			free(tok);
		}
		up_ctx_free(ctx2);
	}
	/* HTTP errors and oversize bodies through up_jwks_refresh */
	tu_server_serve(&t->srv, "{}", 404);
	/* issue 18: a 404 is "not found", not "unreachable" */
	assert_int_equal(up_jwks_refresh(t->ctx), UP_ENOTFOUND);
	tu_server_serve(&t->srv, "{}", 500);
	assert_int_equal(up_jwks_refresh(t->ctx), UP_ESERVER);
	{
		size_t big = 5 * 1024 * 1024;
		char *b = malloc(big + 1);

		memset(b, ' ', big);
		b[big] = '\0';
		memcpy(b, "{\"keys\":[]", 10);
		b[big - 1] = '}';
		tu_server_serve(&t->srv, b, 0);
		free(b);
		assert_int_equal(up_jwks_refresh(t->ctx), UP_EPROTO);
	}
	tu_server_serve(&t->srv, "<html><body>hello</body></html>", 0);
	assert_int_equal(up_jwks_refresh(t->ctx), UP_EPROTO);
	assert_int_equal(cache_nkeys(t), 1);
	assert_int_equal(cache_int(t, "fetched_at"), T_NOW);
}

static void test_cold_cache_garbage(void **state)
{
	struct t *t = *state;
	char *path;
	struct stat st;

	tu_server_serve(&t->srv, "<html>nope</html>", 0);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_EPROTO);
	path = tu_cache_path(t->ctx);
	assert_int_equal(lstat(path, &st), -1);
	free(path);
	tu_server_serve(&t->srv, "x", 503);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_ESERVER);
}

static void test_offline(void **state)
{
	struct t *t = *state;
	json_t *c;
	char *s, *payload, *tok;

	/* No cache: offline verification fails without touching the network. */
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", UP_VERIFY_OFFLINE), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 0);
	/* A month-old cache and an expired token: fine offline, no fetch. */
	s = jwks1();
	tu_seed_cache(t->ctx, s, T_NOW - 30 * 86400, 0);
	free(s);
	c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "sub", "s", "iss", T_ISS, "aud", T_CLIENT,
		      "token_use", "id", "cognito:username", "alice", "exp",
		      (json_int_t)(T_NOW - 7 * 86400));
	payload = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	tok = tu_token(K.rsa1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", payload);
	assert_int_equal(verify_with(t->ctx, tok, UP_VERIFY_OFFLINE), UP_OK);
	/* Unknown kid offline: no re-fetch either. */
	assert_int_equal(verify_kid(t, K.rsa2, "rsa2", UP_VERIFY_OFFLINE), UP_ENOKEY);
	assert_int_equal(tu_server_count(&t->srv), 0);
	assert_int_equal(up_http_connects(t->ctx), 0);
	/* Online, the same token is expired (after a refresh of the stale set). */
	assert_int_equal(verify_with(t->ctx, tok, 0), UP_EEXPIRED);
	assert_int_equal(tu_server_count(&t->srv), 1);
	free(tok);
	free(payload);
}

static void test_cache_refused(void **state)
{
	struct t *t = *state;
	char *path = tu_cache_path(t->ctx), *target = NULL, *s = jwks1();
	struct stat st;
	long n = 0;

	/* symlink: refused (never followed), re-fetched, replaced by a file */
	assert_true(asprintf(&target, "%s/elsewhere.json", t->dir) > 0);
	free(t_write_file(t->dir, "elsewhere.json", "{\"keep\":1}", 0600));
	tu_seed_cache(t->ctx, s, T_NOW, 0);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), ++n);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 10);
	assert_true(t_log_contains(&t->log, "refused"));
	/* wrong owner */
	if (geteuid() == 0) {
		tu_seed_cache(t->ctx, s, T_NOW, 0);
		assert_int_equal(chown(path, 1234, 1234), 0);
		assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
		assert_int_equal(tu_server_count(&t->srv), ++n);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 0);
	}
	/* group-writable */
	tu_seed_cache(t->ctx, s, T_NOW, 0);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), ++n);
	/* corrupt JSON, a wrong shape, another URI's set */
	{
		const char *bad[] = { "{\"fetched_at\":", "{\"fetched_at\":\"1\",\"jwks_uri\":\"x\"}",
				      NULL };
		char *dir = strdup(path), *name = strrchr(dir, '/');

		*name++ = '\0';
		for (size_t i = 0; bad[i]; i++) {
			free(t_write_file(dir, name, bad[i], 0600));
			assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
			assert_int_equal(tu_server_count(&t->srv), ++n);
		}
		{
			char *other = NULL;

			assert_true(asprintf(&other,
					     "{\"fetched_at\":%lld,\"jwks_uri\":\"https://x/\","
					     "\"jwks\":%s}",
					     (long long)T_NOW, s) > 0);
			free(t_write_file(dir, name, other, 0600));
			free(other);
			assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
			assert_int_equal(tu_server_count(&t->srv), ++n);
		}
		free(dir);
	}
	/* and it is good again now */
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), n);
	free(s);
	free(target);
	free(path);
}

/* Set the cache file's mtime `ago` seconds back (the memo takes only a
 * settled file: one whose mtime is at least 2 s old). */
static void backdate_cache(struct t *t, time_t ago)
{
	char *path = tu_cache_path(t->ctx);
	struct timespec ts[2];

	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
	ts[0].tv_sec -= ago;
	ts[1] = ts[0];
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
	free(path);
}

/* Issue 21 item 5: the context keeps the parsed key set of the cache file
 * while the file is unchanged, and never once it changed: a key removed
 * from the file (rotated out at the pool, another process's re-fetch) is
 * no longer accepted, even when the file was rewritten in place at the
 * same size and its mtime put back (its ctime moved). */
static void test_memo_follows_the_file(void **state)
{
	struct t *t = *state;
	char *s = jwks12(), *path = tu_cache_path(t->ctx), *text, *at;
	size_t len = 0;
	struct stat st;
	int fd;

	tu_seed_cache(t->ctx, s, T_NOW, 0);
	backdate_cache(t, 10);
	assert_int_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	assert_int_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 0);

	/* In place, same size: kid rsa2 renamed rsa3, the mtime restored. */
	assert_int_equal(stat(path, &st), 0);
	{
		FILE *fp = fopen(path, "r");

		assert_non_null(fp);
		text = calloc(1, (size_t)st.st_size + 1);
		assert_non_null(text);
		len = fread(text, 1, (size_t)st.st_size, fp);
		fclose(fp);
		assert_int_equal(len, (size_t)st.st_size);
	}
	at = strstr(text, "\"rsa2\"");
	assert_non_null(at);
	at[4] = '3';
	fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	{
		struct timespec ts[2] = {st.st_mtim, st.st_mtim};

		assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
	}
	/* rsa2 is gone from the file: the pool (which serves rsa1 only) is
	 * asked once, and the token refused. */
	assert_int_not_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);

	/* Replaced by rename (how the cache is written): the new set counts. */
	tu_seed_cache(t->ctx, s, T_NOW, 0);
	backdate_cache(t, 10);
	assert_int_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	free(s);
	s = jwks1();
	tu_seed_cache(t->ctx, s, T_NOW, T_NOW); /* refetch_at now: no re-fetch */
	backdate_cache(t, 10);
	assert_int_not_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	assert_int_equal(verify_kid(t, K.rsa1, "rsa1", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	free(text);
	free(path);
	free(s);
}

static void test_concurrent_cold_cache(void **state)
{
	struct t *t = *state;
	enum { N = 20 };
	char *tok = token(K.rsa1, "rsa1"), *cfgpath = NULL, go;
	pid_t pids[N];
	int gate[2];

	assert_true(asprintf(&cfgpath, "%s/userpool.conf", t->dir) > 0);
	assert_int_equal(pipe(gate), 0);
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct up_ctx *ctx = NULL;
			struct up_claims *c = NULL;
			struct t_clock clk = { T_NOW };
			up_err rc;

			close(gate[1]);
			/* wait until all are forked, then go together */
			if (read(gate[0], &go, 1) < 0)
				_exit(100);
			if (up_ctx_new(&ctx) != UP_OK)
				_exit(101);
			up_ctx_set_state_owner(ctx, geteuid(), getegid());
			up_ctx_set_clock(ctx, t_clock_fn, &clk);
			rc = up_ctx_load_config(ctx, cfgpath, 0, NULL, false);
			if (!rc)
				rc = up_token_verify(ctx, tok, UP_TOKEN_ID, "alice", 0, &c);
			up_claims_free(c);
			up_ctx_free(ctx);
			free(tok);
			free(cfgpath);
			_exit(rc);
		}
	}
	close(gate[0]);
	close(gate[1]); /* EOF: every child reads 0 bytes and starts */
	for (int i = 0; i < N; i++) {
		int st = 0;

		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) != 0)
			fail_msg("child %d exited %d", i, WEXITSTATUS(st));
	}
	assert_int_equal(tu_server_count(&t->srv), 1);
	free(tok);
	free(cfgpath);
}

static void test_refresh_and_info(void **state)
{
	struct t *t = *state;
	struct up_jwks_info *info = NULL;
	char *s;

	assert_int_equal(up_jwks_info(t->ctx, &info), UP_OK);
	assert_int_equal(info->fetched_at, 0);
	assert_null(info->kids[0]);
	up_jwks_info_free(info);
	assert_int_equal(up_jwks_refresh(t->ctx), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 1);
	s = jwks12();
	tu_server_serve(&t->srv, s, 0);
	free(s);
	t->clock.now += 10;
	/* forced even though the cache is fresh */
	assert_int_equal(up_jwks_refresh(t->ctx), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 2);
	assert_int_equal(up_jwks_info(t->ctx, &info), UP_OK);
	assert_int_equal(info->fetched_at, T_NOW + 10);
	assert_string_equal(info->kids[0], "rsa1");
	assert_string_equal(info->kids[1], "rsa2");
	assert_null(info->kids[2]);
	up_jwks_info_free(info);
	up_jwks_info_free(NULL);
	assert_int_equal(verify_kid(t, K.rsa2, "rsa2", 0), UP_OK);
	assert_int_equal(tu_server_count(&t->srv), 2);
}

static void test_jwks_uri(void **state)
{
	struct t *t = *state;
	const char *uri = NULL;
	char name[70];

	assert_int_equal(up_jwks_uri(t->ctx, &uri), UP_OK);
	assert_string_equal(uri, t->srv.uri);
	assert_int_equal(up_jwks_cache_name("https://x/jwks", name), UP_OK);
	assert_int_equal(strlen(name), 64 + 5);
	assert_string_equal(name + 64, ".json");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_parse_shapes, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_bad_keys, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_duplicate_kid, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_cold_cache_one_fetch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_cache_refetched, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_cache_server_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_kid_cooldown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_process_cooldown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kid_attacks_fetch_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_refetch_keeps_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cold_cache_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_memo_follows_the_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_cold_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_and_info, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jwks_uri, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
