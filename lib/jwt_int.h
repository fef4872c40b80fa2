/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_JWT_INT_H
#define UP_JWT_INT_H

/*
 * Private to lib/jwt.c and lib/jwks.c, their unit tests and the fuzz
 * targets: the parsed JWS, the parsed key set and the steps of token
 * verification that can run without network.
 */

#include <openssl/evp.h>

#include <jansson.h>

#include <userpool/userpool.h>

struct up_ctx;

/* Longest kid accepted, in a token or in a key set. */
#define UP_MAX_KID 256u
/* Keys looked at in one key set; the rest are skipped with a log line. */
#define UP_JWKS_MAX_KEYS 100u
/* Nesting depth allowed in a token's header and payload. */
#define UP_JWT_MAX_DEPTH 16
/* RSA modulus size range, in bits. */
#define UP_RSA_MIN_BITS 2048
#define UP_RSA_MAX_BITS 8192
/* A cached key set is served without network while younger than this. */
#define UP_JWKS_FRESH (24 * 3600)
/* At most one unknown-kid re-fetch per this many seconds (shared on disk). */
#define UP_JWKS_REFETCH_COOLDOWN 300
/* Cap of the cache file: the key set plus the wrapper. */
#define UP_JWKS_CACHE_CAP (UP_MAX_JWKS + 4096u)

/* The allow-list. */
enum up_jws_alg {
	UP_ALG_RS256 = 0,
	UP_ALG_RS384,
	UP_ALG_RS512,
	UP_ALG_PS256,
	UP_ALG_ES256,
	UP_ALG_ES384,
	UP_ALG_COUNT
};

enum up_jwk_kty { UP_KTY_RSA = 1, UP_KTY_EC };

/* A compact JWS, split, decoded and parsed; nothing in it is trusted yet. */
struct up_jws {
	json_t *header;	 /* JSON object */
	json_t *payload; /* JSON object */
	enum up_jws_alg alg;
	const char *kid;     /* borrowed from header; never NULL after parse */
	char *signing_input; /* "<header b64>.<payload b64>" as received */
	size_t signing_input_len;
	uint8_t *sig;
	size_t sig_len;
};

struct up_jwk {
	char *kid;
	enum up_jwk_kty kty;
	int alg;    /* enum up_jws_alg, or -1 when the key has no "alg" */
	int ec_nid; /* NID_X9_62_prime256v1 / NID_secp384r1; 0 for RSA */
	EVP_PKEY *pkey;
	struct up_jwk_memo *memo; /* jwt.c's verifier set up for this key; may be NULL */
};

/* A verifier context set up once (EVP_DigestVerifyInit_ex, PSS options) for
 * one key and algorithm; each verification copies it instead of setting one
 * up again (issue 21 item 5). Allocated with the key by jwks.c. */
struct up_jwk_memo {
	EVP_MD_CTX *tmpl;
	int alg;
};

struct up_jwks {
	struct up_jwk *keys;
	size_t n;
	unsigned refs; /* holders beyond the first (the context's memo); see up_jwks_free */
};

/* Name and number of algorithms in the allow-list; -1 / NULL when unlisted. */
int up_jws_alg_from_name(const char *name);
const char *up_jws_alg_name(enum up_jws_alg alg);

/*
 * Split and parse a compact JWS strictly: three non-empty base64url
 * segments, header and payload JSON objects (duplicate keys refused, no NUL,
 * depth bounded), alg in the allow-list, a kid, no crit/jku/x5u/jwk/x5c, typ
 * absent or JWT/at+jwt. UP_EJWT with a detail on any refusal.
 */
up_err up_jws_parse(struct up_ctx *ctx, const char *token, size_t len, struct up_jws **ret_jws);
void up_jws_free(struct up_jws *jws);

/* Check the signature of `jws` with `key` (kty/crv/alg/use already fit or
 * are checked here). UP_ESIG when it does not verify. */
up_err up_jws_verify_sig(struct up_ctx *ctx, const struct up_jws *jws, const struct up_jwk *key);

/*
 * Parse a key set {"keys": [...]}: UP_EPROTO when it is not an object with a
 * "keys" array or holds no usable key. Unusable keys are skipped with a log
 * line; two keys with the same kid are both dropped.
 */
up_err up_jwks_parse(struct up_ctx *ctx, const char *text, size_t len, struct up_jwks **ret_set);
up_err up_jwks_from_json(struct up_ctx *ctx, const json_t *jwks, struct up_jwks **ret_set);
void up_jwks_free(struct up_jwks *set);
const struct up_jwk *up_jwks_find(const struct up_jwks *set, const char *kid);

/*
 * The key set at `uri` for a token with `kid` (jwks.c): the cache while
 * fresh (any age with UP_VERIFY_OFFLINE), else a fetch under a lock; when
 * `kid` is not in it, one re-fetch unless another happened within the
 * cooldown. The set is returned even when `kid` is still missing (the
 * caller reports UP_ENOKEY).
 */
up_err up_jwks_for_kid(struct up_ctx *ctx, const char *uri, const char *kid, unsigned flags,
		       struct up_jwks **ret_set);

/* Name of the cache file of `uri` inside state_dir/jwks: "<sha256-hex>.json". */
up_err up_jwks_cache_name(const char *uri, char out[70]);

#endif
