/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/jwt.c: parsing, the algorithm allow-list, signatures and claims. The
 * key set comes from a pre-seeded cache (no server); the jwks_uri points
 * at a closed port, so a fetch that should not happen fails loudly.
 */
#include "jwt_testutil.h"

static struct {
	EVP_PKEY *rsa1, *rsa2, *ec256, *ec384;
} K;

struct t {
	char *dir;
	struct t_log log;
	struct t_clock clock;
	struct up_ctx *ctx;
};

static int group_setup(void **state)
{
	(void)state;
	K.rsa1 = tu_rsa(2048);
	K.rsa2 = tu_rsa(3072);
	K.ec256 = tu_ec("P-256");
	K.ec384 = tu_ec("P-384");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(K.rsa1);
	EVP_PKEY_free(K.rsa2);
	EVP_PKEY_free(K.ec256);
	EVP_PKEY_free(K.ec384);
	return 0;
}

static char *std_jwks(void)
{
	return tu_jwks(tu_jwk(K.rsa1, "rsa1", "RS256", "sig"), tu_jwk(K.rsa2, "rsa2", NULL, NULL),
		       tu_jwk(K.ec256, "ec256", "ES256", "sig"), tu_jwk(K.ec384, "ec384", NULL, NULL),
		       tu_jwk(K.rsa1, "enc1", NULL, "enc"), NULL);
}

static int setup_provider(void **state, const char *provider)
{
	struct t *t = calloc(1, sizeof(*t));
	char *cfg, *jwks;

	assert_non_null(t);
	t->dir = t_mkdtemp();
	t->clock.now = T_NOW;
	cfg = tu_config(t->dir, provider, T_DEAD_URI, NULL);
	t->ctx = t_ctx_with_config(t->dir, cfg, &t->log, &t->clock);
	free(cfg);
	jwks = std_jwks();
	tu_seed_cache(t->ctx, jwks, T_NOW, T_NOW);
	free(jwks);
	*state = t;
	return 0;
}

static int setup(void **state)
{
	return setup_provider(state, "cognito");
}

static int setup_oidc(void **state)
{
	return setup_provider(state, "oidc");
}

static int teardown(void **state)
{
	struct t *t = *state;

	up_ctx_free(t->ctx);
	t_rmtree(t->dir);
	free(t->dir);
	free(t);
	return 0;
}

/* Standard Cognito ID-token claims, to be edited by a test. */
static json_t *id_claims(void)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s,s], s:I, s:I, s:I}", "sub", "sub-1",
			      "iss", T_ISS, "aud", T_CLIENT, "token_use", "id", "cognito:username",
			      "alice", "cognito:groups", "admins", "dev", "exp",
			      (json_int_t)(T_NOW + 3600), "iat", (json_int_t)(T_NOW - 10),
			      "auth_time", (json_int_t)(T_NOW - 10));

	assert_non_null(c);
	return c;
}

static char *id_payload(void)
{
	json_t *c = id_claims();
	char *s = json_dumps(c, JSON_COMPACT);

	json_decref(c);
	assert_non_null(s);
	return s;
}

static json_t *access_claims(void)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "sub", "sub-1", "iss", T_ISS,
			      "client_id", T_CLIENT, "token_use", "access", "username", "alice",
			      "exp", (json_int_t)(T_NOW + 3600), "iat", (json_int_t)(T_NOW - 10));

	assert_non_null(c);
	return c;
}

/* Sign `claims` (consumed) with the key and alg, kid `kid`. */
static char *sign(EVP_PKEY *pk, const char *alg, const char *kid, json_t *claims)
{
	char *payload = json_dumps(claims, JSON_COMPACT), *header = NULL, *tok;

	assert_true(asprintf(&header, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid) > 0);
	tok = tu_token(pk, alg, header, payload);
	json_decref(claims);
	free(payload);
	free(header);
	return tok;
}

static up_err verify(struct t *t, const char *tok, enum up_token_kind kind, const char *user,
		     unsigned flags)
{
	struct up_claims *c = NULL;
	up_err rc = up_token_verify(t->ctx, tok, kind, user, flags, &c);

	if (rc == UP_OK)
		assert_non_null(c);
	else
		assert_null(c);
	up_claims_free(c);
	return rc;
}

/* The detail of a failure must never quote the token. */
static void assert_detail(struct t *t, const char *tok, const char *needle)
{
	const char *d = up_ctx_detail(t->ctx);
	const char *dot = strchr(tok, '.');

	if (needle && !strstr(d, needle))
		fail_msg("detail \"%s\" lacks \"%s\"", d, needle);
	if (strlen(tok) > 8)
		assert_null(strstr(d, tok));
	if (dot && strlen(dot + 1) > 16) {
		char part[17];

		memcpy(part, dot + 1, 16);
		part[16] = '\0';
		assert_null(strstr(d, part));
	}
}

static void expect(struct t *t, const char *tok, enum up_token_kind kind, up_err want,
		   const char *needle)
{
	up_err rc = verify(t, tok, kind, NULL, 0);

	if (rc != want)
		fail_msg("got %s (%s), want %s", up_strerror(rc), up_ctx_detail(t->ctx),
			 up_strerror(want));
	if (want != UP_OK)
		assert_detail(t, tok, needle);
}

/* ---- every allowed algorithm ---- */

static void test_all_algs_verify(void **state)
{
	struct t *t = *state;
	static const struct {
		const char *alg, *kid;
	} cases[] = { { "RS256", "rsa1" }, { "RS384", "rsa2" }, { "RS512", "rsa2" },
		      { "PS256", "rsa2" }, { "ES256", "ec256" }, { "ES384", "ec384" } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *pk = strcmp(cases[i].kid, "rsa1") == 0   ? K.rsa1
			       : strcmp(cases[i].kid, "rsa2") == 0 ? K.rsa2
			       : strcmp(cases[i].kid, "ec256") == 0 ? K.ec256
								    : K.ec384;
		char *tok = sign(pk, cases[i].alg, cases[i].kid, id_claims());
		struct up_claims *c = NULL;
		up_err rc = up_token_verify(t->ctx, tok, UP_TOKEN_ID, "alice", 0, &c);

		if (rc)
			fail_msg("%s: %s: %s", cases[i].alg, up_strerror(rc), up_ctx_detail(t->ctx));
		assert_int_equal(c->kind, UP_TOKEN_ID);
		assert_string_equal(c->sub, "sub-1");
		assert_string_equal(c->username, "alice");
		assert_string_equal(c->issuer, T_ISS);
		assert_string_equal(c->groups[0], "admins");
		assert_string_equal(c->groups[1], "dev");
		assert_null(c->groups[2]);
		assert_non_null(c->amr);
		assert_null(c->amr[0]);
		assert_int_equal(c->exp, T_NOW + 3600);
		assert_int_equal(c->iat, T_NOW - 10);
		assert_int_equal(c->auth_time, T_NOW - 10);
		up_claims_free(c);
		/* The same token with one signature bit flipped. */
		tok[strlen(tok) - 3] = tok[strlen(tok) - 3] == 'A' ? 'B' : 'A';
		expect(t, tok, UP_TOKEN_ID, UP_ESIG, "signature");
		free(tok);
	}
}

static void test_tampered_payload(void **state)
{
	struct t *t = *state;
	char *good = sign(K.rsa1, "RS256", "rsa1", id_claims());
	json_t *c = id_claims();
	char *other, *tok = NULL;

	/* Someone else's payload under our signature. */
	json_object_set_new(c, "cognito:username", json_string("mallory"));
	other = sign(K.rsa1, "RS256", "rsa1", c);
	*strrchr(other, '.') = '\0';
	assert_true(asprintf(&tok, "%s%s", other, strrchr(good, '.')) > 0);
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, NULL);
	free(tok);
	/* Truncated RSA signature. */
	good[strlen(good) - 2] = '\0';
	expect(t, good, UP_TOKEN_ID, UP_ESIG, NULL);
	free(good);
	free(other);
}

static void test_signature_before_claims(void **state)
{
	struct t *t = *state;
	json_t *c = id_claims();
	char *tok;

	/* A forged token with a wrong issuer: the signature is what fails. */
	json_object_set_new(c, "iss", json_string("https://evil.example"));
	tok = sign(K.rsa2, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, NULL);
	free(tok);
}

/* ---- algorithm and key confusion ---- */

static void test_alg_none(void **state)
{
	struct t *t = *state;
	char *payload = id_payload();
	char *tok;

	tok = tu_token(NULL, "none", "{\"alg\":\"none\",\"kid\":\"rsa1\"}", payload);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "signature is empty");
	free(tok);
	tok = tu_token_raw("{\"alg\":\"none\",\"kid\":\"rsa1\"}", payload, "xx", 2);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "alg none is not allowed");
	free(tok);
	tok = tu_token_raw("{\"alg\":\"NONE\",\"kid\":\"rsa1\"}", payload, "xx", 2);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "not allowed");
	free(tok);
	free(payload);
}

static void test_hs256_with_public_key(void **state)
{
	struct t *t = *state;
	const char *algs[] = { "HS256", "HS384", "HS512" };

	for (size_t i = 0; i < 3; i++) {
		char *tok = sign(K.rsa1, algs[i], "rsa1", id_claims());

		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "not allowed");
		free(tok);
	}
}

static void test_unlisted_algs(void **state)
{
	struct t *t = *state;
	const char *algs[] = { "ES512", "EdDSA", "RS1", "PS384", "rs256", "" };
	char *payload = id_payload(), *h = NULL, *tok;

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		assert_true(asprintf(&h, "{\"alg\":\"%s\",\"kid\":\"rsa1\"}", algs[i]) > 0);
		tok = tu_token_raw(h, payload, "xxxx", 4);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "not allowed");
		free(tok);
		free(h);
	}
	tok = tu_token_raw("{\"kid\":\"rsa1\"}", payload, "xxxx", 4);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "no alg");
	free(tok);
	tok = tu_token_raw("{\"alg\":256,\"kid\":\"rsa1\"}", payload, "xxxx", 4);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "no alg");
	free(tok);
	free(payload);
}

static void test_key_alg_mismatch(void **state)
{
	struct t *t = *state;
	char *tok;

	/* rsa1 is published with alg RS256: an RS384 token naming it fails. */
	tok = sign(K.rsa1, "RS384", "rsa1", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, "key's alg RS256");
	free(tok);
	/* PS256 against an RS256 key, signed correctly with PSS. */
	tok = sign(K.rsa1, "PS256", "rsa1", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, "key's alg");
	free(tok);
	/* RS256 naming an EC key. */
	tok = sign(K.rsa1, "RS256", "ec384", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, "needs an RSA key");
	free(tok);
	/* ES256 naming an RSA key. */
	tok = sign(K.ec256, "ES256", "rsa2", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, "needs an EC key");
	free(tok);
	/* ES256 naming the P-384 key (no alg on it): the curve decides. */
	tok = sign(K.ec256, "ES256", "ec384", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, "curve");
	free(tok);
	/* ES384 naming the P-256 key published as ES256. */
	tok = sign(K.ec384, "ES384", "ec256", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ESIG, NULL);
	free(tok);
}

static void test_use_enc_key(void **state)
{
	struct t *t = *state;
	char *tok = sign(K.rsa1, "RS256", "enc1", id_claims());

	expect(t, tok, UP_TOKEN_ID, UP_ENOKEY, "no key for kid enc1");
	free(tok);
}

static void test_ecdsa_r_s_range(void **state)
{
	struct t *t = *state;
	char *payload = id_payload();
	const char *h = "{\"alg\":\"ES256\",\"kid\":\"ec256\"}";
	unsigned char sig[64], n[32];
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	char *good, *tok;

	assert_int_equal(BN_bn2binpad(EC_GROUP_get0_order(g), n, 32), 32);
	EC_GROUP_free(g);
	good = tu_token(K.ec256, "ES256", h, payload);
	expect(t, good, UP_TOKEN_ID, UP_OK, NULL);
	{
		uint8_t *raw = NULL;
		size_t rl = 0;
		const char *s = strrchr(good, '.') + 1;

		assert_int_equal(up_b64url_decode(s, strlen(s), &raw, &rl), UP_OK);
		assert_int_equal(rl, 64);
		memcpy(sig, raw, 64);
		free(raw);
	}
	/* r = 0 */
	{
		unsigned char b[64];

		memcpy(b, sig, 64);
		memset(b, 0, 32);
		tok = tu_token_raw(h, payload, b, 64);
		expect(t, tok, UP_TOKEN_ID, UP_ESIG, "out of range");
		free(tok);
		/* s = 0 */
		memcpy(b, sig, 64);
		memset(b + 32, 0, 32);
		tok = tu_token_raw(h, payload, b, 64);
		expect(t, tok, UP_TOKEN_ID, UP_ESIG, "out of range");
		free(tok);
		/* r = n */
		memcpy(b, sig, 64);
		memcpy(b, n, 32);
		tok = tu_token_raw(h, payload, b, 64);
		expect(t, tok, UP_TOKEN_ID, UP_ESIG, "out of range");
		free(tok);
		/* s = n (s + n would be the classic malleability trick, too long here) */
		memcpy(b, sig, 64);
		memcpy(b + 32, n, 32);
		tok = tu_token_raw(h, payload, b, 64);
		expect(t, tok, UP_TOKEN_ID, UP_ESIG, "out of range");
		free(tok);
		/* r = 2^256 - 1 > n */
		memcpy(b, sig, 64);
		memset(b, 0xff, 32);
		tok = tu_token_raw(h, payload, b, 64);
		expect(t, tok, UP_TOKEN_ID, UP_ESIG, "out of range");
		free(tok);
		/* wrong lengths: 63, 65, 96 bytes, and DER as some libraries send it */
		tok = tu_token_raw(h, payload, sig, 63);
		expect(t, tok, UP_TOKEN_ID, UP_ESIG, "expected 64");
		free(tok);
		{
			unsigned char big[96] = { 0 };

			memcpy(big, sig, 64);
			tok = tu_token_raw(h, payload, big, 65);
			expect(t, tok, UP_TOKEN_ID, UP_ESIG, "expected 64");
			free(tok);
			tok = tu_token_raw(h, payload, big, 96);
			expect(t, tok, UP_TOKEN_ID, UP_ESIG, "expected 64");
			free(tok);
		}
	}
	free(good);
	free(payload);
}

/* ---- header ---- */

static void test_kid_attacks(void **state)
{
	struct t *t = *state;
	char *tok, *big = malloc(10 * 1024 + 1);
	struct stat st;

	tok = sign(K.rsa1, "RS256", "../../etc/passwd", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ENOKEY, "no key for kid");
	free(tok);
	tok = sign(K.rsa1, "RS256", "rsa1\\\"", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_ENOKEY, "no key for kid rsa1\"");
	free(tok);
	tok = sign(K.rsa1, "RS256", "rsa1\\u0000", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "header");
	free(tok);
	memset(big, 'k', 10 * 1024);
	big[10 * 1024] = '\0';
	tok = sign(K.rsa1, "RS256", big, id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "kid is longer");
	free(tok);
	free(big);
	tok = sign(K.rsa1, "RS256", "", id_claims());
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "no kid");
	free(tok);
	/* Nothing was created from the kid. */
	assert_int_equal(stat("/etc/passwd.json", &st), -1);
}

static void test_refused_header_fields(void **state)
{
	struct t *t = *state;
	const char *fields[] = { "jku", "x5u", "jwk", "x5c", "crit" };
	char *payload = id_payload(), *h = NULL, *tok;

	for (size_t i = 0; i < 5; i++) {
		const char *v = strcmp(fields[i], "jwk") == 0	 ? "{\"kty\":\"RSA\"}"
				: strcmp(fields[i], "x5c") == 0	 ? "[\"MIIB\"]"
				: strcmp(fields[i], "crit") == 0 ? "[\"exp\"]"
								 : "\"https://evil.example/k\"";
		char needle[64];

		assert_true(asprintf(&h, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"%s\":%s}", fields[i],
				     v) > 0);
		/* Correctly signed: the field alone is the reason. */
		tok = tu_token(K.rsa1, "RS256", h, payload);
		snprintf(needle, sizeof(needle), "carries %s", fields[i]);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, needle);
		free(tok);
		free(h);
	}
	free(payload);
}

static void test_typ(void **state)
{
	struct t *t = *state;
	const char *good[] = { "JWT", "jwt", "at+jwt", "application/at+JWT" };
	const char *bad[] = { "\"JOSE\"", "\"JWE\"", "1", "null" };
	char *payload = id_payload(), *h = NULL, *tok;

	for (size_t i = 0; i < 4; i++) {
		assert_true(asprintf(&h, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"%s\"}",
				     good[i]) > 0);
		tok = tu_token(K.rsa1, "RS256", h, payload);
		expect(t, tok, UP_TOKEN_ID, UP_OK, NULL);
		free(tok);
		free(h);
		assert_true(asprintf(&h, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":%s}", bad[i]) >
			    0);
		tok = tu_token(K.rsa1, "RS256", h, payload);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "typ");
		free(tok);
		free(h);
	}
	free(payload);
}

/* ---- structure ---- */

static void test_segments_and_encoding(void **state)
{
	struct t *t = *state;
	char *good = sign(K.rsa1, "RS256", "rsa1", id_claims());
	size_t len = strlen(good);
	char *tok = malloc(len + 16), *big;
	const char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');

	expect(t, good, UP_TOKEN_ID, UP_OK, NULL);
	/* 2 segments */
	snprintf(tok, len + 16, "%.*s", (int)(dot2 - good), good);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "2 segments");
	/* 4 segments */
	snprintf(tok, len + 16, "%s.AAAA", good);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "4 segments");
	/* padding on the signature */
	snprintf(tok, len + 16, "%s==", good);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "outside base64url");
	/* standard-base64 characters */
	snprintf(tok, len + 16, "%s", good);
	tok[dot2 - good + 2] = '+';
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "outside base64url");
	tok[dot2 - good + 2] = '/';
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "outside base64url");
	/* whitespace */
	snprintf(tok, len + 16, "%s\n", good);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "outside base64url");
	snprintf(tok, len + 16, " %s", good);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "outside base64url");
	/* empty segments */
	snprintf(tok, len + 16, "%.*s.", (int)(dot2 - good), good);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "signature is empty");
	snprintf(tok, len + 16, "%.*s.%s", (int)(dot1 - good), good, dot2);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "payload is empty");
	snprintf(tok, len + 16, "%s", dot1);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "header is empty");
	expect(t, "", UP_TOKEN_ID, UP_EJWT, "empty");
	expect(t, "..", UP_TOKEN_ID, UP_EJWT, "empty");
	/* a segment of impossible length (4n+1) */
	snprintf(tok, len + 16, "%sAAA", good);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "signature is not base64url");
	/* a header that is not JSON, or JSON but not an object */
	free(tok);
	tok = tu_token_raw("not json", "{}", "xxxx", 4);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "header is not a valid JSON object");
	free(tok);
	tok = tu_token_raw("[\"alg\"]", "{}", "xxxx", 4);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "header");
	free(tok);
	/* 1 MB token, and one just over the cap */
	big = malloc(1024 * 1024 + 1);
	memset(big, 'A', 1024 * 1024);
	big[1024 * 1024] = '\0';
	memcpy(big, good, len);
	expect(t, big, UP_TOKEN_ID, UP_EJWT, "longer than");
	big[UP_MAX_TOKEN + 1] = '\0';
	expect(t, big, UP_TOKEN_ID, UP_EJWT, "longer than");
	free(big);
	free(good);
}

static void test_duplicate_keys_and_nul(void **state)
{
	struct t *t = *state;
	char *payload = NULL, *tok;

	assert_true(asprintf(&payload,
			     "{\"sub\":\"sub-1\",\"iss\":\"%s\",\"aud\":\"%s\",\"token_use\":\"id\","
			     "\"cognito:username\":\"alice\",\"cognito:username\":\"root\","
			     "\"exp\":%lld}",
			     T_ISS, T_CLIENT, (long long)T_NOW + 100) > 0);
	tok = tu_token(K.rsa1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", payload);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "payload is not a valid JSON object");
	free(tok);
	free(payload);
	payload = id_payload();
	tok = tu_token(K.rsa1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"alg\":\"none\"}",
		       payload);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "header is not a valid JSON object");
	free(tok);
	free(payload);
	assert_true(asprintf(&payload,
			     "{\"sub\":\"sub-1\",\"iss\":\"%s\",\"aud\":\"%s\",\"token_use\":\"id\","
			     "\"cognito:username\":\"alice\\u0000root\",\"exp\":%lld}",
			     T_ISS, T_CLIENT, (long long)T_NOW + 100) > 0);
	tok = tu_token(K.rsa1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", payload);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "payload");
	free(tok);
	free(payload);
}

static void test_deep_nesting(void **state)
{
	struct t *t = *state;
	size_t depths[] = { 20, 5000 };

	for (size_t d = 0; d < 2; d++) {
		size_t n = depths[d];
		char *payload = malloc(2 * n + 64), *tok;
		size_t o = 0;

		o += (size_t)snprintf(payload, 64, "{\"sub\":\"s\",\"x\":");
		memset(payload + o, '[', n);
		o += n;
		memset(payload + o, ']', n);
		o += n;
		payload[o++] = '}';
		payload[o] = '\0';
		tok = tu_token(K.rsa1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", payload);
		/* 5000 levels is beyond jansson's own depth limit. */
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, d == 0 ? "nested too deeply" : NULL);
		free(tok);
		free(payload);
	}
}

/* ---- claims ---- */

static void test_issuer(void **state)
{
	struct t *t = *state;
	const char *bad[] = {
		"https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool",
		"https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_TestPool1",
		T_ISS "/",
		"http://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1",
		"HTTPS://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1",
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *c = id_claims();
		char *tok;

		json_object_set_new(c, "iss", json_string(bad[i]));
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "iss mismatch");
		free(tok);
	}
	{
		json_t *c = id_claims();
		char *tok;

		json_object_del(c, "iss");
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "iss missing");
		free(tok);
		c = id_claims();
		json_object_set_new(c, "iss", json_array());
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "iss missing");
		free(tok);
	}
}

static void test_audience(void **state)
{
	struct t *t = *state;
	struct {
		json_t *aud;
		const char *azp;
		up_err want;
		const char *needle;
	} cases[] = {
		{ json_string("other"), NULL, UP_EJWT, "aud does not contain" },
		{ json_string(T_CLIENT "x"), NULL, UP_EJWT, "aud does not contain" },
		{ json_pack("[s]", T_CLIENT), NULL, UP_OK, NULL },
		{ json_pack("[s,s]", "other", T_CLIENT), NULL, UP_EJWT, "no azp" },
		{ json_pack("[s,s]", "other", T_CLIENT), T_CLIENT, UP_OK, NULL },
		{ json_pack("[s,s]", "other", T_CLIENT), "other", UP_EJWT, "azp" },
		{ json_string(T_CLIENT), "other", UP_EJWT, "azp" },
		{ json_pack("[s,s]", "a", "b"), T_CLIENT, UP_EJWT, "aud does not contain" },
		{ json_array(), NULL, UP_EJWT, "empty" },
		{ json_pack("[s,i]", T_CLIENT, 1), T_CLIENT, UP_EJWT, "non-string" },
		{ json_integer(5), NULL, UP_EJWT, "not a string or an array" },
		{ NULL, NULL, UP_EJWT, "aud missing" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *c = id_claims();
		char *tok;

		if (cases[i].aud)
			json_object_set_new(c, "aud", cases[i].aud);
		else
			json_object_del(c, "aud");
		if (cases[i].azp)
			json_object_set_new(c, "azp", json_string(cases[i].azp));
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		expect(t, tok, UP_TOKEN_ID, cases[i].want, cases[i].needle);
		free(tok);
	}
}

static void test_oidc_no_token_use(void **state)
{
	struct t *t = *state;
	json_t *c = id_claims();
	struct up_claims *cl = NULL;
	char *tok;

	/* OIDC: no token_use; ANY means ID; username from preferred_username;
	 * groups from "groups"; amr kept. */
	json_object_del(c, "token_use");
	json_object_set_new(c, "preferred_username", json_string("bob"));
	json_object_set_new(c, "groups", json_string("ops"));
	json_object_set_new(c, "amr", json_pack("[s,s]", "pwd", "otp"));
	tok = sign(K.ec256, "ES256", "ec256", c);
	assert_int_equal(up_token_verify(t->ctx, tok, UP_TOKEN_ANY, "bob", 0, &cl), UP_OK);
	assert_int_equal(cl->kind, UP_TOKEN_ID);
	assert_string_equal(cl->username, "bob");
	assert_string_equal(cl->groups[0], "ops");
	assert_null(cl->groups[1]);
	assert_string_equal(cl->amr[0], "pwd");
	assert_string_equal(cl->amr[1], "otp");
	assert_null(cl->amr[2]);
	up_claims_free(cl);
	free(tok);
}

static void test_access_token(void **state)
{
	struct t *t = *state;
	struct up_claims *cl = NULL;
	json_t *c;
	char *tok;

	tok = sign(K.rsa1, "RS256", "rsa1", access_claims());
	assert_int_equal(up_token_verify(t->ctx, tok, UP_TOKEN_ACCESS, "alice", 0, &cl), UP_OK);
	assert_int_equal(cl->kind, UP_TOKEN_ACCESS);
	assert_string_equal(cl->username, "alice");
	up_claims_free(cl);
	cl = NULL;
	assert_int_equal(up_token_verify(t->ctx, tok, UP_TOKEN_ANY, NULL, 0, &cl), UP_OK);
	assert_int_equal(cl->kind, UP_TOKEN_ACCESS);
	up_claims_free(cl);
	/* token_use swapped */
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "token_use is access, expected id");
	free(tok);
	tok = sign(K.rsa1, "RS256", "rsa1", id_claims());
	expect(t, tok, UP_TOKEN_ACCESS, UP_EJWT, "token_use is id, expected access");
	free(tok);
	/* wrong and missing client_id */
	c = access_claims();
	json_object_set_new(c, "client_id", json_string("otherclient"));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ACCESS, UP_EJWT, "client_id mismatch");
	free(tok);
	c = access_claims();
	json_object_del(c, "client_id");
	json_object_set_new(c, "aud", json_string(T_CLIENT));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ACCESS, UP_EJWT, "client_id missing");
	free(tok);
	/* token_use missing or unknown */
	c = access_claims();
	json_object_del(c, "token_use");
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ANY, UP_EJWT, "token_use missing");
	free(tok);
	c = access_claims();
	json_object_set_new(c, "token_use", json_string("refresh"));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ANY, UP_EJWT, "token_use is refresh");
	free(tok);
}

static void test_exp(void **state)
{
	struct t *t = *state;
	struct {
		json_t *exp;
		up_err want;
		const char *needle;
	} cases[] = {
		{ NULL, UP_EJWT, "exp missing" },
		{ json_integer(T_NOW - 3600), UP_EEXPIRED, "expired" },
		{ json_string("9999999999"), UP_EJWT, "exp is not an integer" },
		{ json_real(9999999999.0), UP_EJWT, "exp is not an integer" },
		{ json_true(), UP_EJWT, "exp is not an integer" },
		{ json_integer(INT64_MAX), UP_OK, NULL },
		{ json_integer(INT64_MIN), UP_EEXPIRED, "expired" },
		{ json_integer(0), UP_EEXPIRED, "expired" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *c = id_claims();
		char *tok;

		if (cases[i].exp)
			json_object_set_new(c, "exp", cases[i].exp);
		else
			json_object_del(c, "exp");
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		expect(t, tok, UP_TOKEN_ID, cases[i].want, cases[i].needle);
		free(tok);
	}
	/* A number beyond 64 bits. */
	{
		char *payload = NULL, *tok;

		assert_true(asprintf(&payload,
				     "{\"sub\":\"s\",\"iss\":\"%s\",\"aud\":\"%s\",\"token_use\":\"id\","
				     "\"exp\":99999999999999999999999}",
				     T_ISS, T_CLIENT) > 0);
		tok = tu_token(K.rsa1, "RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", payload);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "payload");
		free(tok);
		free(payload);
	}
}

static void test_time_edges(void **state)
{
	struct t *t = *state;
	struct {
		const char *claim;
		int64_t v;
		up_err want;
	} cases[] = {
		/* leeway is 60: exp must be > now - 60 */
		{ "exp", T_NOW - 59, UP_OK },
		{ "exp", T_NOW - 60, UP_EEXPIRED },
		{ "exp", T_NOW - 61, UP_EEXPIRED },
		{ "nbf", T_NOW + 60, UP_OK },
		/* issue 18: a token valid only in the future means this clock is behind */
		{ "nbf", T_NOW + 61, UP_ESKEW },
		{ "nbf", T_NOW - 1000, UP_OK },
		{ "iat", T_NOW + 60, UP_OK },
		{ "iat", T_NOW + 61, UP_ESKEW },
		{ "nbf", INT64_MAX, UP_ESKEW },
		{ "iat", INT64_MAX, UP_ESKEW },
		{ "iat", INT64_MIN, UP_OK },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *c = id_claims();
		char *tok;

		json_object_set_new(c, cases[i].claim, json_integer(cases[i].v));
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		if (verify(t, tok, UP_TOKEN_ID, NULL, 0) != cases[i].want)
			fail_msg("case %zu (%s=%lld): %s", i, cases[i].claim, (long long)cases[i].v,
				 up_ctx_detail(t->ctx));
		free(tok);
	}
	{
		json_t *c = id_claims();
		char *tok;

		json_object_set_new(c, "nbf", json_string("0"));
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		expect(t, tok, UP_TOKEN_ID, UP_EJWT, "nbf is not an integer");
		free(tok);
	}
	{
		/* The message names the offset, not "incorrect password". */
		json_t *c = id_claims();
		char *tok;

		json_object_set_new(c, "iat", json_integer(T_NOW + 600));
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		expect(t, tok, UP_TOKEN_ID, UP_ESKEW, "the clock of this machine is 600 s off");
		free(tok);
	}
}

static void test_offline_ignores_exp(void **state)
{
	struct t *t = *state;
	json_t *c = id_claims();
	char *tok;

	json_object_set_new(c, "exp", json_integer(T_NOW - 86400 * 3));
	json_object_set_new(c, "nbf", json_integer(T_NOW + 86400));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "alice", 0), UP_EEXPIRED);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "alice", UP_VERIFY_OFFLINE), UP_OK);
	free(tok);
	/* Signature, iss and aud still apply offline. */
	c = id_claims();
	json_object_set_new(c, "aud", json_string("other"));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, NULL, UP_VERIFY_OFFLINE), UP_EJWT);
	free(tok);
	tok = sign(K.rsa2, "RS256", "rsa1", id_claims());
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, NULL, UP_VERIFY_OFFLINE), UP_ESIG);
	free(tok);
	/* exp stays required. */
	c = id_claims();
	json_object_del(c, "exp");
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, NULL, UP_VERIFY_OFFLINE), UP_EJWT);
	free(tok);
}

static void test_username(void **state)
{
	struct t *t = *state;
	char *tok = sign(K.rsa1, "RS256", "rsa1", id_claims());
	json_t *c;

	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "alice", 0), UP_OK);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "Alice", 0), UP_EJWT);
	assert_string_equal(up_ctx_detail(t->ctx), "cognito:username does not match the user");
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "alic", 0), UP_EJWT);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "alice ", 0), UP_EJWT);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "", 0), UP_EJWT);
	free(tok);
	c = id_claims();
	json_object_del(c, "cognito:username");
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, NULL, 0), UP_OK);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "alice", 0), UP_EJWT);
	assert_string_equal(up_ctx_detail(t->ctx), "cognito:username missing");
	free(tok);
	c = id_claims();
	json_object_set_new(c, "cognito:username", json_integer(7));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, NULL, 0), UP_EJWT);
	free(tok);
	/* sub is required */
	c = id_claims();
	json_object_del(c, "sub");
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "sub missing");
	free(tok);
}

/* Write a key-set cache file for `uri` as jwks.c would (fetched now, no
 * re-fetch within the cooling time: an unknown kid makes no request). */
static void seed_uri(struct up_ctx *ctx, const char *uri, const char *jwks_text)
{
	char name[70], *text;
	json_t *root;
	json_error_t jerr;
	int fd = -1;

	assert_int_equal(up_jwks_cache_name(uri, name), UP_OK);
	assert_int_equal(up_state_dir(ctx, "jwks", &fd), UP_OK);
	root =
	    json_pack("{s:I, s:I, s:s, s:o}", "fetched_at", (json_int_t)T_NOW, "refetch_at",
		      (json_int_t)T_NOW, "jwks_uri", uri, "jwks", json_loads(jwks_text, 0, &jerr));
	assert_non_null(root);
	text = json_dumps(root, JSON_COMPACT);
	assert_int_equal(up_state_write(ctx, fd, name, text, strlen(text), 0600), UP_OK);
	free(text);
	json_decref(root);
	close(fd);
}

#define T_ISS_ALT "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1"

static up_err verify_iss(struct t *t, EVP_PKEY *pk, const char *kid, const char *iss)
{
	json_t *c = id_claims();
	char *tok;
	up_err rc;

	json_object_set_new(c, "iss", json_string(iss));
	tok = sign(pk, "RS256", kid, c);
	rc = verify(t, tok, UP_TOKEN_ID, "alice", 0);
	free(tok);
	return rc;
}

/* Issue 20: with issuer unset, a Cognito pool's tokens verify under both
 * issuer forms AWS's verifier accepts, each with the key set of its own
 * host (here: different keys on each); any other form, another pool or
 * region named by the token, is refused. Setting issuer allows only it. */
static void test_cognito_issuer_forms(void **state)
{
	struct t *t = *state;
	char *cfg, *one, *two;
	const char *bad[] = {
	    "https://cognito-idp-fips.eu-west-1.amazonaws.com/eu-west-1_TestPool1",
	    "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1/",
	    "https://issuer-cognito-idp.us-east-1.amazonaws.com/eu-west-1_TestPool1",
	    "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Evil",
	    "https://issuer.cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1",
	    "http://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1",
	};

	up_ctx_free(t->ctx);
	assert_true(asprintf(&cfg,
			     "region = eu-west-1\nuser_pool_id = eu-west-1_TestPool1\n"
			     "client_id = %s\nstate_dir = %s/state\nleeway = 60\n",
			     T_CLIENT, t->dir) > 0);
	t->ctx = t_ctx_with_config(t->dir, cfg, &t->log, &t->clock);
	free(cfg);
	assert_string_equal(t->ctx->cfg->issuer, T_ISS);
	assert_string_equal(t->ctx->cfg->issuer_alt, T_ISS_ALT);
	assert_string_equal(t->ctx->cfg->jwks_uri, T_ISS "/.well-known/jwks.json");
	assert_string_equal(t->ctx->cfg->jwks_uri_alt, T_ISS_ALT "/.well-known/jwks.json");
	one = tu_jwks(tu_jwk(K.rsa1, "rsa1", "RS256", "sig"), NULL);
	two = tu_jwks(tu_jwk(K.rsa2, "rsa2", "RS256", "sig"), NULL);
	seed_uri(t->ctx, t->ctx->cfg->jwks_uri, one);
	seed_uri(t->ctx, t->ctx->cfg->jwks_uri_alt, two);
	free(one);
	free(two);

	assert_int_equal(verify_iss(t, K.rsa1, "rsa1", T_ISS), UP_OK);
	assert_int_equal(verify_iss(t, K.rsa2, "rsa2", T_ISS_ALT), UP_OK);
	/* each form with the keys of its own host only */
	assert_int_equal(verify_iss(t, K.rsa1, "rsa1", T_ISS_ALT), UP_ENOKEY);
	assert_int_equal(verify_iss(t, K.rsa2, "rsa2", T_ISS), UP_ENOKEY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(verify_iss(t, K.rsa1, "rsa1", bad[i]), UP_EJWT);
		assert_non_null(strstr(up_ctx_detail(t->ctx), "iss mismatch"));
	}

	/* issuer set: only that one */
	up_ctx_free(t->ctx);
	assert_true(asprintf(&cfg,
			     "region = eu-west-1\nuser_pool_id = eu-west-1_TestPool1\n"
			     "client_id = %s\nstate_dir = %s/state\nleeway = 60\n"
			     "issuer = %s\njwks_uri = %s/.well-known/jwks.json\n",
			     T_CLIENT, t->dir, T_ISS, T_ISS_ALT) > 0);
	t->ctx = t_ctx_with_config(t->dir, cfg, &t->log, &t->clock);
	free(cfg);
	assert_null(t->ctx->cfg->issuer_alt);
	assert_int_equal(verify_iss(t, K.rsa2, "rsa2", T_ISS), UP_OK);
	assert_int_equal(verify_iss(t, K.rsa2, "rsa2", T_ISS_ALT), UP_EJWT);
	assert_non_null(strstr(up_ctx_detail(t->ctx), "iss mismatch"));
}

/* jwt.c verifies against the rules it is handed, not the configuration:
 * another issuer and client id in the rules decide; no token_use rule
 * lets a token without token_use pass; a NULL jwks_uri offline is
 * UP_ENOKEY without any network or discovery. */
static void test_rules_handed(void **state)
{
	struct t *t = *state;
	struct up_token_rules r;
	struct up_claims *cl = NULL;
	const char *uri = NULL;
	json_t *c = id_claims();
	char *tok;

	assert_int_equal(up_jwks_uri(t->ctx, &uri), UP_OK);
	memset(&r, 0, sizeof(r));
	r.issuer = "https://other.example/iss";
	r.client_id = "other-client";
	r.jwks_uri = uri;
	r.username_claim = "cognito:username";
	r.groups_claim = "cognito:groups";
	r.leeway = 60;
	json_object_set_new(c, "iss", json_string(r.issuer));
	json_object_set_new(c, "aud", json_string(r.client_id));
	json_object_del(c, "token_use");
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	/* the configuration (Cognito, T_ISS) refuses it ... */
	assert_int_equal(verify(t, tok, UP_TOKEN_ID, "alice", 0), UP_EJWT);
	/* ... the rules accept it */
	assert_int_equal(up_token_verify_rules(t->ctx, &r, tok, UP_TOKEN_ID, "alice", 0, &cl),
			 UP_OK);
	assert_string_equal(cl->issuer, r.issuer);
	up_claims_free(cl);
	cl = NULL;
	/* a token_use rule refuses it */
	r.token_use = true;
	assert_int_equal(up_token_verify_rules(t->ctx, &r, tok, UP_TOKEN_ID, "alice", 0, &cl),
			 UP_EJWT);
	assert_non_null(strstr(up_ctx_detail(t->ctx), "token_use missing"));
	r.token_use = false;
	/* another issuer in the rules refuses it */
	r.issuer = T_ISS;
	assert_int_equal(up_token_verify_rules(t->ctx, &r, tok, UP_TOKEN_ID, "alice", 0, &cl),
			 UP_EJWT);
	assert_non_null(strstr(up_ctx_detail(t->ctx), "iss mismatch"));
	/* no JWKS URI: offline UP_ENOKEY, online a configuration error */
	r.issuer = "https://other.example/iss";
	r.jwks_uri = NULL;
	assert_int_equal(
	    up_token_verify_rules(t->ctx, &r, tok, UP_TOKEN_ID, "alice", UP_VERIFY_OFFLINE, &cl),
	    UP_ENOKEY);
	assert_int_equal(up_token_verify_rules(t->ctx, &r, tok, UP_TOKEN_ID, "alice", 0, &cl),
			 UP_ECONFIG);
	assert_null(cl);
	free(tok);
}

static void test_groups_and_amr(void **state)
{
	struct t *t = *state;
	struct up_claims *cl = NULL;
	json_t *c = id_claims();
	char *tok;

	json_object_del(c, "cognito:groups");
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	assert_int_equal(up_token_verify(t->ctx, tok, UP_TOKEN_ID, NULL, 0, &cl), UP_OK);
	assert_non_null(cl->groups);
	assert_null(cl->groups[0]);
	up_claims_free(cl);
	free(tok);
	c = id_claims();
	json_object_set_new(c, "cognito:groups", json_pack("[s,i]", "a", 1));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "cognito:groups has a non-string entry");
	free(tok);
	c = id_claims();
	json_object_set_new(c, "cognito:groups", json_object());
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "not a list");
	free(tok);
	c = id_claims();
	json_object_set_new(c, "amr", json_integer(1));
	tok = sign(K.rsa1, "RS256", "rsa1", c);
	expect(t, tok, UP_TOKEN_ID, UP_EJWT, "amr");
	free(tok);
}

/* uid_claim (default custom:uid_number) as text for nss_store (issue 24):
 * a Cognito custom attribute is a string and stays as it is, an OIDC
 * integer claim arrives as its decimal text, any other JSON type as ""
 * (refused there as not an integer), absent as NULL. */
static void test_uid_claim_text(void **state)
{
	struct t *t = *state;
	const struct {
		json_t *v;
		const char *want;
	} cases[] = {
	    {json_string("1073741999"), "1073741999"},
	    {json_integer(1073742000), "1073742000"},
	    {json_integer(-5), "-5"},
	    {json_real(1073742000.0), ""},
	    {json_true(), ""},
	    {NULL, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct up_claims *cl = NULL;
		json_t *c = id_claims();
		char *tok;

		if (cases[i].v)
			json_object_set_new(c, "custom:uid_number", cases[i].v);
		tok = sign(K.rsa1, "RS256", "rsa1", c);
		assert_int_equal(up_token_verify(t->ctx, tok, UP_TOKEN_ID, NULL, 0, &cl), UP_OK);
		if (cases[i].want)
			assert_string_equal(cl->uid_value, cases[i].want);
		else
			assert_null(cl->uid_value);
		/* gid_claim is unset by default: nothing copied */
		assert_null(cl->gid_value);
		up_claims_free(cl);
		free(tok);
	}
}

static void test_bad_arguments(void **state)
{
	struct t *t = *state;
	struct up_claims *cl = NULL;
	char *tok = sign(K.rsa1, "RS256", "rsa1", id_claims());

	assert_int_equal(up_token_verify(NULL, tok, UP_TOKEN_ID, NULL, 0, &cl), UP_EINVAL);
	assert_int_equal(up_token_verify(t->ctx, NULL, UP_TOKEN_ID, NULL, 0, &cl), UP_EINVAL);
	assert_int_equal(up_token_verify(t->ctx, tok, UP_TOKEN_ID, NULL, 0, NULL), UP_EINVAL);
	assert_int_equal(up_token_verify(t->ctx, tok, (enum up_token_kind)7, NULL, 0, &cl),
			 UP_EINVAL);
	assert_int_equal(up_token_verify(t->ctx, tok, UP_TOKEN_ID, NULL, 0x80, &cl), UP_EINVAL);
	assert_null(cl);
	up_claims_free(NULL);
	up_jws_free(NULL);
	up_jwks_free(NULL);
	free(tok);
}

static void test_parse_api(void **state)
{
	struct t *t = *state;
	char *tok = sign(K.ec384, "ES384", "ec384", id_claims());
	struct up_jws *jws = NULL;

	assert_int_equal(up_jws_parse(t->ctx, tok, strlen(tok), &jws), UP_OK);
	assert_int_equal(jws->alg, UP_ALG_ES384);
	assert_string_equal(jws->kid, "ec384");
	assert_int_equal(jws->sig_len, 96);
	assert_int_equal(jws->signing_input_len, (size_t)(strrchr(tok, '.') - tok));
	up_jws_free(jws);
	/* A length that cuts the token short is honoured (no reliance on NUL). */
	jws = NULL;
	assert_int_equal(up_jws_parse(t->ctx, tok, strlen(tok) - 20, &jws), UP_OK);
	up_jws_free(jws);
	jws = NULL;
	assert_int_equal(up_jws_parse(t->ctx, tok, (size_t)(strrchr(tok, '.') - tok), &jws),
			 UP_EJWT);
	assert_null(jws);
	assert_string_equal(up_jws_alg_name(UP_ALG_PS256), "PS256");
	assert_null(up_jws_alg_name(UP_ALG_COUNT));
	assert_int_equal(up_jws_alg_from_name("RS512"), UP_ALG_RS512);
	assert_int_equal(up_jws_alg_from_name("HS256"), -1);
	free(tok);
}

/* One key verifies tokens of several algorithms in turn, and tampered ones
 * between good ones: its memoized verifier context (issue 21 item 5) is
 * per algorithm and never carries one verification's state into the next. */
static void test_verifier_memo(void **state)
{
	struct t *t = *state;
	static const char *const algs[] = { "RS256", "PS256", "RS256", "RS512", "PS256", "PS256" };
	struct up_jwks *set = NULL;
	const struct up_jwk *key;
	char *text = std_jwks();

	assert_int_equal(up_jwks_parse(t->ctx, text, strlen(text), &set), UP_OK);
	key = up_jwks_find(set, "rsa2");
	assert_non_null(key);
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		for (int bad = 0; bad < 2; bad++) {
			char *tok = sign(K.rsa2, algs[i], "rsa2", id_claims());
			struct up_jws *jws = NULL;

			if (bad)
				tok[strlen(tok) - 3] = tok[strlen(tok) - 3] == 'A' ? 'B' : 'A';
			assert_int_equal(up_jws_parse(t->ctx, tok, strlen(tok), &jws), UP_OK);
			if (up_jws_verify_sig(t->ctx, jws, key) != (bad ? UP_ESIG : UP_OK))
				fail_msg("%s round %zu %s: %s", algs[i], i, bad ? "tampered" : "good",
					 up_ctx_detail(t->ctx));
			up_jws_free(jws);
			free(tok);
		}
	}
	assert_non_null(key->memo);
	assert_non_null(key->memo->tmpl);
	up_jwks_free(set);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_all_algs_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tampered_payload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signature_before_claims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alg_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hs256_with_public_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlisted_algs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_alg_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_use_enc_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecdsa_r_s_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kid_attacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_header_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_typ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_and_encoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_keys_and_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deep_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issuer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cognito_issuer_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audience, setup_oidc, teardown),
		cmocka_unit_test_setup_teardown(test_oidc_no_token_use, setup_oidc, teardown),
		cmocka_unit_test_setup_teardown(test_access_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_ignores_exp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_username, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups_and_amr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uid_claim_text, setup_oidc, teardown),
		cmocka_unit_test_setup_teardown(test_rules_handed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verifier_memo, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
