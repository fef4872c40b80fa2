/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token verification (DESIGN §3): strict compact-JWS parsing, an algorithm
 * allow-list, the signature with a key chosen by kid, then the claims.
 * Nothing in the payload is trusted before the signature verified; its iss
 * only picks which of the issuers the rules name (each an exact string from
 * the configuration) the token is checked against, and so whose key set.
 *
 * Decisions where the design leaves a choice:
 * - A header with jku, x5u, jwk or x5c is refused (not merely ignored): no
 *   provider we serve needs them and a token that carries them is either
 *   broken or an attack. crit is refused too.
 * - kid is required (Cognito and the OIDC providers we know always send
 *   it); at most UP_MAX_KID bytes.
 * - typ, when present, is JWT, at+jwt, application/jwt or
 *   application/at+jwt (case-insensitive).
 * - A key that does not fit the alg (kty, crv, the key's own alg) gives
 *   UP_ESIG: the token cannot have been signed with that key.
 * - exp: the token is expired when now >= exp + leeway (RFC 7519: "on or
 *   after"); nbf: not yet valid when nbf > now + leeway; iat more than leeway
 *   in the future is UP_EJWT. All sums saturate: no overflow.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include <userpool/userpool.h>

#include "codec.h"
#include "jwt.h"
#include "jwt_int.h"
#include "log.h"
#include "secret.h"

static const struct {
	const char *name;
	const char *md;
	enum up_jwk_kty kty;
	int ec_nid;
	size_t ec_len; /* bytes of r and of s */
	bool pss;
} algs[UP_ALG_COUNT] = {
    [UP_ALG_RS256] = {"RS256", "SHA256", UP_KTY_RSA, 0, 0, false},
    [UP_ALG_RS384] = {"RS384", "SHA384", UP_KTY_RSA, 0, 0, false},
    [UP_ALG_RS512] = {"RS512", "SHA512", UP_KTY_RSA, 0, 0, false},
    [UP_ALG_PS256] = {"PS256", "SHA256", UP_KTY_RSA, 0, 0, true},
    [UP_ALG_ES256] = {"ES256", "SHA256", UP_KTY_EC, NID_X9_62_prime256v1, 32, false},
    [UP_ALG_ES384] = {"ES384", "SHA384", UP_KTY_EC, NID_secp384r1, 48, false},
};

int up_jws_alg_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < UP_ALG_COUNT; i++)
		if (strcmp(name, algs[i].name) == 0)
			return i;
	return -1;
}

const char *up_jws_alg_name(enum up_jws_alg alg)
{
	if ((int)alg < 0 || alg >= UP_ALG_COUNT)
		return NULL;
	return algs[alg].name;
}

static const char *kty_name(enum up_jwk_kty kty)
{
	return kty == UP_KTY_RSA ? "RSA" : "EC";
}

/* base64url alphabet, no padding; no locale. */
static bool b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* A printable, bounded copy of an untrusted string for a detail. */
static void printable(const char *s, char *out, size_t outsz)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < outsz; i++)
		out[i] = ((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

static bool depth_ok(json_t *j, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > UP_JWT_MAX_DEPTH)
		return false;
	if (json_is_object(j)) {
		json_object_foreach(j, key, v) if (!depth_ok(v, depth + 1)) return false;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) if (!depth_ok(v, depth + 1)) return false;
	}
	return true;
}

/* Decode one segment into a JSON object; `what` names it in the detail. */
static up_err segment_json(struct up_ctx *ctx, const char *seg, size_t len, const char *what,
			   json_t **ret)
{
	uint8_t *buf = NULL;
	size_t blen = 0;
	json_t *j = NULL;
	char why[160];
	up_err rc;

	rc = up_b64url_decode(seg, len, &buf, &blen);
	if (rc == UP_ENOMEM)
		return up_fail(ctx, rc, "out of memory decoding the token %s", what);
	if (rc)
		return up_fail(ctx, UP_EJWT, "token %s is not base64url", what);
	rc = up_json_parse(ctx, (const char *)buf, blen, UP_MAX_TOKEN, &j);
	up_free_secret_len(buf, blen);
	if (rc) {
		/* up_json_parse left its reason in the detail: keep it. */
		printable(up_ctx_detail(ctx), why, sizeof(why));
		/* jansson quotes the text "near" the error: that is token
		 * content, which never goes into a detail. */
		if (strstr(why, " near "))
			*strstr(why, " near ") = '\0';
		return up_fail(ctx, rc == UP_ENOMEM ? UP_ENOMEM : UP_EJWT,
			       "token %s is not a valid JSON object (%s)", what, why);
	}
	if (!json_is_object(j)) {
		json_decref(j);
		return up_fail(ctx, UP_EJWT, "token %s is not a JSON object", what);
	}
	if (!depth_ok(j, 0)) {
		json_decref(j);
		return up_fail(ctx, UP_EJWT, "token %s is nested too deeply", what);
	}
	*ret = j;
	return UP_OK;
}

static bool typ_ok(const char *typ)
{
	static const char *const ok[] = {"JWT", "at+jwt", "application/jwt", "application/at+jwt"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(typ, ok[i]) == 0)
			return true;
	return false;
}

static up_err header_check(struct up_ctx *ctx, struct up_jws *jws)
{
	static const char *const refused[] = {"crit", "jku", "x5u", "jwk", "x5c"};
	json_t *h = jws->header;
	const char *alg, *kid;
	json_t *typ;
	char buf[40];
	int a;

	alg = json_string_value(json_object_get(h, "alg"));
	if (!alg)
		return up_fail(ctx, UP_EJWT, "token header has no alg");
	a = up_jws_alg_from_name(alg);
	if (a < 0) {
		printable(alg, buf, sizeof(buf));
		return up_fail(ctx, UP_EJWT, "token alg %s is not allowed", buf);
	}
	jws->alg = (enum up_jws_alg)a;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (json_object_get(h, refused[i]))
			return up_fail(ctx, UP_EJWT, "token header carries %s: refused",
				       refused[i]);
	typ = json_object_get(h, "typ");
	if (typ && !(json_is_string(typ) && typ_ok(json_string_value(typ)))) {
		printable(json_string_value(typ), buf, sizeof(buf));
		return up_fail(ctx, UP_EJWT, "token typ %s is not JWT", buf);
	}
	kid = json_string_value(json_object_get(h, "kid"));
	if (!kid || !kid[0])
		return up_fail(ctx, UP_EJWT, "token header has no kid");
	if (strlen(kid) > UP_MAX_KID)
		return up_fail(ctx, UP_EJWT, "token kid is longer than %u bytes", UP_MAX_KID);
	jws->kid = kid;
	return UP_OK;
}

void up_jws_free(struct up_jws *jws)
{
	if (!jws)
		return;
	json_decref(jws->header);
	if (jws->payload) {
		up_json_wipe(jws->payload);
		json_decref(jws->payload);
	}
	up_free_secret_len(jws->signing_input, jws->signing_input_len);
	free(jws->sig);
	free(jws);
}

up_err up_jws_parse(struct up_ctx *ctx, const char *token, size_t len, struct up_jws **ret_jws)
{
	struct up_jws *jws;
	size_t dot[2], ndots = 0;
	up_err rc;

	if (!token || !ret_jws)
		return up_fail(ctx, UP_EINVAL, "no token");
	if (len == 0)
		return up_fail(ctx, UP_EJWT, "token is empty");
	if (len > UP_MAX_TOKEN)
		return up_fail(ctx, UP_EJWT, "token is longer than %u bytes", UP_MAX_TOKEN);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)token[i];

		if (c == '.') {
			if (ndots < 2)
				dot[ndots] = i;
			ndots++;
		} else if (!b64url_char(c)) {
			return up_fail(ctx, UP_EJWT,
				       "token has a character outside base64url at offset %zu", i);
		}
	}
	if (ndots != 2)
		return up_fail(ctx, UP_EJWT, "token has %zu segments, expected 3", ndots + 1);
	if (dot[0] == 0)
		return up_fail(ctx, UP_EJWT, "token header is empty");
	if (dot[1] == dot[0] + 1)
		return up_fail(ctx, UP_EJWT, "token payload is empty");
	if (dot[1] == len - 1)
		return up_fail(ctx, UP_EJWT, "token signature is empty");

	jws = calloc(1, sizeof(*jws));
	if (!jws)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	rc = segment_json(ctx, token, dot[0], "header", &jws->header);
	if (rc)
		goto out;
	rc = header_check(ctx, jws);
	if (rc)
		goto out;
	rc = segment_json(ctx, token + dot[0] + 1, dot[1] - dot[0] - 1, "payload", &jws->payload);
	if (rc)
		goto out;
	rc = up_b64url_decode(token + dot[1] + 1, len - dot[1] - 1, &jws->sig, &jws->sig_len);
	if (rc) {
		rc = up_fail(ctx, rc == UP_ENOMEM ? UP_ENOMEM : UP_EJWT,
			     "token signature is not base64url");
		goto out;
	}
	if (jws->sig_len == 0) {
		rc = up_fail(ctx, UP_EJWT, "token signature is empty");
		goto out;
	}
	jws->signing_input = strndup(token, dot[1]);
	if (!jws->signing_input) {
		rc = up_fail(ctx, UP_ENOMEM, "out of memory");
		goto out;
	}
	jws->signing_input_len = dot[1];
	*ret_jws = jws;
	return UP_OK;
out:
	up_jws_free(jws);
	return rc;
}

/* JWS ECDSA signatures are r||s of fixed length; OpenSSL wants DER. r and s
 * must lie in [1, n-1]: anything else is refused before OpenSSL sees it. */
static up_err ecdsa_to_der(struct up_ctx *ctx, const struct up_jws *jws, uint8_t **ret,
			   size_t *ret_len)
{
	size_t clen = algs[jws->alg].ec_len;
	EC_GROUP *group = NULL;
	BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;
	const BIGNUM *order;
	up_err rc = UP_OK;
	int dlen;

	if (jws->sig_len != 2 * clen)
		return up_fail(ctx, UP_ESIG, "%s signature is %zu bytes, expected %zu",
			       algs[jws->alg].name, jws->sig_len, 2 * clen);
	group = EC_GROUP_new_by_curve_name(algs[jws->alg].ec_nid);
	r = BN_bin2bn(jws->sig, (int)clen, NULL);
	s = BN_bin2bn(jws->sig + clen, (int)clen, NULL);
	if (!group || !r || !s) {
		rc = up_fail(ctx, UP_ENOMEM, "out of memory (ECDSA)");
		goto out;
	}
	order = EC_GROUP_get0_order(group);
	if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, order) >= 0 || BN_cmp(s, order) >= 0) {
		rc =
		    up_fail(ctx, UP_ESIG, "%s signature: r or s out of range", algs[jws->alg].name);
		goto out;
	}
	es = ECDSA_SIG_new();
	if (!es || ECDSA_SIG_set0(es, r, s) != 1) {
		rc = up_fail(ctx, UP_ENOMEM, "out of memory (ECDSA)");
		goto out;
	}
	r = s = NULL; /* owned by es now */
	dlen = i2d_ECDSA_SIG(es, &der);
	if (dlen <= 0) {
		rc = up_fail(ctx, UP_EINTERNAL, "ECDSA signature encoding failed");
		goto out;
	}
	*ret = der;
	*ret_len = (size_t)dlen;
out:
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	EC_GROUP_free(group);
	return rc;
}

/* A verifier context for `alg` and `key`: a copy of the key's memo when it
 * has one for this alg, else set up (and kept in the memo). */
static up_err verifier_new(struct up_ctx *ctx, enum up_jws_alg alg, const struct up_jwk *key,
			   EVP_MD_CTX **ret)
{
	struct up_jwk_memo *memo = key->memo;
	EVP_MD_CTX *mctx = EVP_MD_CTX_new(), *tmpl;
	EVP_PKEY_CTX *pctx = NULL;

	if (!mctx)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	*ret = mctx;
	if (memo && memo->tmpl && memo->alg == (int)alg) {
		if (EVP_MD_CTX_copy_ex(mctx, memo->tmpl) != 1)
			return up_fail(ctx, UP_EINTERNAL, "%s: verifier copy failed",
				       algs[alg].name);
		return UP_OK;
	}
	if (EVP_DigestVerifyInit_ex(mctx, &pctx, algs[alg].md, NULL, NULL, key->pkey, NULL) != 1)
		return up_fail(ctx, UP_EINTERNAL, "%s: verifier setup failed", algs[alg].name);
	if (algs[alg].pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		return up_fail(ctx, UP_EINTERNAL, "%s: PSS setup failed", algs[alg].name);
	if (memo && (tmpl = EVP_MD_CTX_new()) != NULL) {
		if (EVP_MD_CTX_copy_ex(tmpl, mctx) == 1) {
			EVP_MD_CTX_free(memo->tmpl);
			memo->tmpl = tmpl;
			memo->alg = (int)alg;
		} else {
			EVP_MD_CTX_free(tmpl);
		}
	}
	return UP_OK;
}

up_err up_jws_verify_sig(struct up_ctx *ctx, const struct up_jws *jws, const struct up_jwk *key)
{
	const char *name;
	EVP_MD_CTX *mctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *sig;
	size_t sig_len = 0;
	up_err rc = UP_OK;
	int v;

	if (!jws || !key || !key->pkey || (int)jws->alg < 0 || jws->alg >= UP_ALG_COUNT)
		return up_fail(ctx, UP_EINVAL, "no token or key");
	name = algs[jws->alg].name;
	if (key->kty != algs[jws->alg].kty)
		return up_fail(ctx, UP_ESIG, "token alg %s needs an %s key, key is %s", name,
			       kty_name(algs[jws->alg].kty), kty_name(key->kty));
	if (key->kty == UP_KTY_EC && key->ec_nid != algs[jws->alg].ec_nid)
		return up_fail(ctx, UP_ESIG, "token alg %s does not fit the key's curve", name);
	if (key->alg >= 0 && key->alg != (int)jws->alg)
		return up_fail(ctx, UP_ESIG, "token alg %s differs from the key's alg %s", name,
			       algs[key->alg].name);

	if (key->kty == UP_KTY_EC) {
		rc = ecdsa_to_der(ctx, jws, &der, &sig_len);
		if (rc)
			return rc;
		sig = der;
	} else {
		if (EVP_PKEY_get_size(key->pkey) <= 0 ||
		    jws->sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
			return up_fail(ctx, UP_ESIG, "%s signature has the wrong length", name);
		sig = jws->sig;
		sig_len = jws->sig_len;
	}

	rc = verifier_new(ctx, jws->alg, key, &mctx);
	if (rc)
		goto out;
	v = EVP_DigestVerify(mctx, sig, sig_len, (const unsigned char *)jws->signing_input,
			     jws->signing_input_len);
	if (v != 1)
		rc = up_fail(ctx, UP_ESIG, "%s signature does not verify", name);
out:
	ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	return rc;
}

/* ---- claims ---- */

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* An integer claim: absent is fine unless `required`; any other type is not. */
static up_err claim_int(struct up_ctx *ctx, json_t *p, const char *name, bool required,
			int64_t *ret, bool *ret_present)
{
	json_t *v = json_object_get(p, name);

	*ret_present = false;
	if (!v) {
		if (required)
			return up_fail(ctx, UP_EJWT, "%s missing", name);
		return UP_OK;
	}
	if (!json_is_integer(v))
		return up_fail(ctx, UP_EJWT, "%s is not an integer", name);
	*ret = (int64_t)json_integer_value(v);
	*ret_present = true;
	return UP_OK;
}

/* An ID claim (uid_claim, gid_claim) as text, for nss_store to check:
 * Cognito custom attributes are strings, OIDC providers may send a JSON
 * integer. Any other type gives "", which no check accepts. */
static up_err claim_text(struct up_ctx *ctx, json_t *p, const char *name, char **ret)
{
	json_t *v = name ? json_object_get(p, name) : NULL;

	*ret = NULL;
	if (!v)
		return UP_OK;
	if (json_is_string(v)) {
		*ret = strndup(json_string_value(v), 64);
	} else if (json_is_integer(v)) {
		if (asprintf(ret, "%lld", (long long)json_integer_value(v)) < 0)
			*ret = NULL;
	} else {
		*ret = strdup("");
	}
	return *ret ? UP_OK : up_fail(ctx, UP_ENOMEM, "out of memory");
}

/* A list claim: an array of strings, or one string; absent is empty. */
static up_err claim_strv(struct up_ctx *ctx, json_t *p, const char *name, char ***ret)
{
	json_t *v = name ? json_object_get(p, name) : NULL;
	json_t *e;
	char **out;
	size_t n, i;

	n = !v ? 0 : json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : (size_t)-1;
	if (n == (size_t)-1)
		return up_fail(ctx, UP_EJWT, "%s is not a list of strings", name);
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	if (json_is_string(v)) {
		out[0] = strdup(json_string_value(v));
		if (!out[0])
			goto nomem;
	} else if (v) {
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e)) {
				up_strv_free(out);
				return up_fail(ctx, UP_EJWT, "%s has a non-string entry", name);
			}
			out[i] = strdup(json_string_value(e));
			if (!out[i])
				goto nomem;
		}
	}
	*ret = out;
	return UP_OK;
nomem:
	up_strv_free(out);
	return up_fail(ctx, UP_ENOMEM, "out of memory");
}

static up_err check_aud(struct up_ctx *ctx, json_t *p, const char *client_id)
{
	json_t *aud = json_object_get(p, "aud"), *e, *azp;
	bool found = false;
	size_t n = 1, i;

	if (!aud)
		return up_fail(ctx, UP_EJWT, "aud missing");
	if (json_is_string(aud)) {
		found = strcmp(json_string_value(aud), client_id) == 0;
	} else if (json_is_array(aud)) {
		n = json_array_size(aud);
		if (n == 0)
			return up_fail(ctx, UP_EJWT, "aud is an empty array");
		json_array_foreach(aud, i, e)
		{
			if (!json_is_string(e))
				return up_fail(ctx, UP_EJWT, "aud has a non-string entry");
			if (strcmp(json_string_value(e), client_id) == 0)
				found = true;
		}
	} else {
		return up_fail(ctx, UP_EJWT, "aud is not a string or an array");
	}
	if (!found)
		return up_fail(ctx, UP_EJWT, "aud does not contain client_id");
	/* OpenID Connect Core 3.1.3.7: several audiences need azp = client_id;
	 * an azp that is present must name us in any case. */
	azp = json_object_get(p, "azp");
	if (azp) {
		if (!json_is_string(azp) || strcmp(json_string_value(azp), client_id) != 0)
			return up_fail(ctx, UP_EJWT, "azp is not client_id");
	} else if (n > 1) {
		return up_fail(ctx, UP_EJWT, "aud has %zu entries and no azp", n);
	}
	return UP_OK;
}

/* An access token names its client: client_id (RFC 9068; required with
 * `need_client_id`, as Cognito's carry it), else azp, else aud (OIDC
 * providers that put the client there). */
static up_err check_access_client(struct up_ctx *ctx, json_t *p, const char *client_id,
				  bool need_client_id)
{
	json_t *cid = json_object_get(p, "client_id");

	if (cid || need_client_id) {
		if (!cid)
			return up_fail(ctx, UP_EJWT, "client_id missing");
		if (!json_is_string(cid) || strcmp(json_string_value(cid), client_id) != 0)
			return up_fail(ctx, UP_EJWT, "client_id mismatch");
		return UP_OK;
	}
	if (json_object_get(p, "azp")) {
		if (!json_is_string(json_object_get(p, "azp")) ||
		    strcmp(json_string_value(json_object_get(p, "azp")), client_id) != 0)
			return up_fail(ctx, UP_EJWT, "azp is not client_id");
		return UP_OK;
	}
	return check_aud(ctx, p, client_id);
}

static const char *kind_use(enum up_token_kind kind)
{
	return kind == UP_TOKEN_ACCESS ? "access" : "id";
}

void up_claims_free(struct up_claims *claims)
{
	if (!claims)
		return;
	free(claims->sub);
	free(claims->username);
	up_strv_free(claims->groups);
	up_strv_free(claims->amr);
	free(claims->issuer);
	free(claims->uid_value);
	free(claims->gid_value);
	free(claims);
}

/* token_use (Cognito) against the kind asked for; UP_TOKEN_ANY becomes the
 * token's own kind (without token_use: an ID token). */
static up_err check_kind(struct up_ctx *ctx, const struct up_token_rules *rules, json_t *p,
			 enum up_token_kind *kind)
{
	json_t *tu = json_object_get(p, "token_use");
	const char *use;
	char buf[40];

	if (!rules->token_use) {
		if (*kind == UP_TOKEN_ANY)
			*kind = UP_TOKEN_ID;
		return UP_OK;
	}
	if (!json_is_string(tu))
		return up_fail(ctx, UP_EJWT, "token_use missing");
	use = json_string_value(tu);
	if (*kind == UP_TOKEN_ANY) {
		if (strcmp(use, "id") == 0)
			*kind = UP_TOKEN_ID;
		else if (strcmp(use, "access") == 0)
			*kind = UP_TOKEN_ACCESS;
	}
	if (*kind != UP_TOKEN_ANY && strcmp(use, kind_use(*kind)) == 0)
		return UP_OK;
	printable(use, buf, sizeof(buf));
	if (*kind == UP_TOKEN_ANY)
		return up_fail(ctx, UP_EJWT, "token_use is %s, expected id or access", buf);
	return up_fail(ctx, UP_EJWT, "token_use is %s, expected %s", buf, kind_use(*kind));
}

/* The token's times, read into c (exp, and iat/auth_time when present):
 * expiry and not-before (online only), and an issue time in the future,
 * which means this machine's clock is off (DESIGN §5). */
static up_err check_times(struct up_ctx *ctx, const struct up_token_rules *rules, json_t *p,
			  unsigned flags, struct up_claims *c)
{
	int64_t now = up_ctx_now(ctx), leeway = rules->leeway > 0 ? rules->leeway : 0;
	int64_t exp = 0, nbf = 0, iat = 0, auth_time = 0;
	bool has_exp, has_nbf, has_iat, has_auth;
	up_err rc;

	if ((rc = claim_int(ctx, p, "exp", true, &exp, &has_exp)) ||
	    (rc = claim_int(ctx, p, "nbf", false, &nbf, &has_nbf)) ||
	    (rc = claim_int(ctx, p, "iat", false, &iat, &has_iat)) ||
	    (rc = claim_int(ctx, p, "auth_time", false, &auth_time, &has_auth)))
		return rc;
	if (!(flags & UP_VERIFY_OFFLINE)) {
		if (now >= sat_add(exp, leeway))
			return up_fail(ctx, UP_EEXPIRED, "token expired");
		/* A token the provider just issued that is not yet valid here:
		 * this machine's clock is behind (DESIGN §5). Say so. */
		if (has_nbf && nbf > sat_add(now, leeway))
			return up_fail(ctx, UP_ESKEW,
				       "the clock of this machine is %lld s off (token not valid "
				       "before %lld, leeway %lld s)",
				       (long long)(nbf - now), (long long)nbf, (long long)leeway);
	}
	if (has_iat && iat > sat_add(now, leeway))
		return up_fail(ctx, UP_ESKEW,
			       "the clock of this machine is %lld s off (token issued at %lld, "
			       "leeway %lld s)",
			       (long long)(iat - now), (long long)iat, (long long)leeway);
	c->exp = exp;
	c->iat = has_iat ? iat : 0;
	c->auth_time = has_auth ? auth_time : 0;
	return UP_OK;
}

/* The user name claim (a string when present; Cognito access tokens carry
 * it as "username"), equal to expected_username when one is given. */
static up_err check_username(struct up_ctx *ctx, const struct up_token_rules *rules, json_t *p,
			     enum up_token_kind kind, const char *expected_username,
			     const char **ret_name)
{
	const char *uclaim = rules->username_claim;
	json_t *uv = json_object_get(p, uclaim);

	if (!uv && rules->access_username_claim && kind == UP_TOKEN_ACCESS)
		uv = json_object_get(p, rules->access_username_claim);
	if (uv && !json_is_string(uv))
		return up_fail(ctx, UP_EJWT, "%s is not a string", uclaim);
	*ret_name = json_string_value(uv);
	if (!expected_username)
		return UP_OK;
	if (!*ret_name)
		return up_fail(ctx, UP_EJWT, "%s missing", uclaim);
	if (strcmp(*ret_name, expected_username) != 0)
		return up_fail(ctx, UP_EJWT, "%s does not match the user", uclaim);
	return UP_OK;
}

static up_err check_claims(struct up_ctx *ctx, const struct up_token_rules *rules, json_t *p,
			   enum up_token_kind kind, const char *expected_username, unsigned flags,
			   struct up_claims **ret_claims)
{
	const char *iss, *sub, *uname = NULL;
	struct up_claims *c;
	up_err rc;

	iss = json_string_value(json_object_get(p, "iss"));
	if (!iss)
		return up_fail(ctx, UP_EJWT, "iss missing");
	if (strcmp(iss, rules->issuer) != 0)
		return up_fail(ctx, UP_EJWT, "iss mismatch");
	if ((rc = check_kind(ctx, rules, p, &kind)))
		return rc;
	rc = kind == UP_TOKEN_ID ? check_aud(ctx, p, rules->client_id)
				 : check_access_client(ctx, p, rules->client_id, rules->token_use);
	if (rc)
		return rc;
	sub = json_string_value(json_object_get(p, "sub"));
	if (!sub || !sub[0])
		return up_fail(ctx, UP_EJWT, "sub missing");
	c = calloc(1, sizeof(*c));
	if (!c)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	c->kind = kind;
	if ((rc = check_times(ctx, rules, p, flags, c)) ||
	    (rc = check_username(ctx, rules, p, kind, expected_username, &uname)) ||
	    (rc = claim_strv(ctx, p, rules->groups_claim, &c->groups)) ||
	    (rc = claim_strv(ctx, p, "amr", &c->amr)) ||
	    (rc = claim_text(ctx, p, rules->uid_claim, &c->uid_value)) ||
	    (rc = claim_text(ctx, p, rules->gid_claim, &c->gid_value)))
		goto fail;
	c->sub = strdup(sub);
	c->issuer = strdup(iss);
	c->username = up_strdup(uname);
	if (!c->sub || !c->issuer || (uname && !c->username)) {
		rc = up_fail(ctx, UP_ENOMEM, "out of memory");
		goto fail;
	}
	*ret_claims = c;
	return UP_OK;
fail:
	up_claims_free(c);
	return rc;
}

/* The rules of the issuer the token names when that is the rules' second
 * issuer (Cognito's issuer-cognito-idp form): that exact string and its own
 * key set. Otherwise the first; check_claims then compares iss exactly. */
static const struct up_token_rules *pick_issuer(const struct up_token_rules *rules,
						const struct up_jws *jws,
						struct up_token_rules *alt)
{
	const char *iss = json_string_value(json_object_get(jws->payload, "iss"));

	if (!rules->alt_issuer || !iss || strcmp(iss, rules->alt_issuer) != 0)
		return rules;
	*alt = *rules;
	alt->issuer = rules->alt_issuer;
	alt->jwks_uri = rules->alt_jwks_uri;
	alt->alt_issuer = NULL;
	alt->alt_jwks_uri = NULL;
	return alt;
}

up_err up_token_verify_rules(struct up_ctx *ctx, const struct up_token_rules *rules,
			     const char *token, enum up_token_kind kind,
			     const char *expected_username, unsigned flags,
			     struct up_claims **ret_claims)
{
	struct up_jws *jws = NULL;
	struct up_jwks *set = NULL;
	const struct up_jwk *key;
	struct up_claims *claims = NULL;
	struct up_token_rules alt;
	char kidbuf[72];
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!token || !ret_claims || (flags & ~UP_VERIFY_OFFLINE) ||
	    (kind != UP_TOKEN_ID && kind != UP_TOKEN_ACCESS && kind != UP_TOKEN_ANY))
		return up_fail(ctx, UP_EINVAL, "bad argument to up_token_verify");
	if (!rules || !rules->issuer || !rules->client_id || !rules->username_claim ||
	    !rules->groups_claim)
		return up_fail(ctx, UP_ECONFIG, "issuer and client_id are required");

	rc = up_jws_parse(ctx, token, strnlen(token, UP_MAX_TOKEN + 1), &jws);
	if (rc)
		goto out;
	rules = pick_issuer(rules, jws, &alt);
	rc = up_jwks_for_kid(ctx, rules->jwks_uri, jws->kid, flags, &set);
	if (rc)
		goto out;
	key = up_jwks_find(set, jws->kid);
	if (!key) {
		printable(jws->kid, kidbuf, sizeof(kidbuf));
		rc = up_fail(ctx, UP_ENOKEY, "no key for kid %s", kidbuf);
		goto out;
	}
	rc = up_jws_verify_sig(ctx, jws, key);
	if (rc)
		goto out;
	rc = check_claims(ctx, rules, jws->payload, kind, expected_username, flags, &claims);
	if (rc)
		goto out;
	up_log(ctx, LOG_DEBUG, "token verified (%s, kid %.64s)%s", up_jws_alg_name(jws->alg),
	       key->kid, (flags & UP_VERIFY_OFFLINE) ? " offline" : "");
	up_clear_detail(ctx);
	*ret_claims = claims;
out:
	up_jwks_free(set);
	up_jws_free(jws);
	return rc;
}
