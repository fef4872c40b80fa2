/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client side of SRP-6a exactly as AWS's SDKs do it for Cognito's
 * USER_SRP_AUTH (amazon-cognito-identity-js AuthenticationHelper.js and
 * CognitoUser.js), on OpenSSL 3:
 *
 *   N, g    RFC 5054 3072-bit group (the RFC 3526 prime), g = 2
 *   k       H(padHex(N) || padHex(g))
 *   A       g^a mod N, a = 128 random bytes
 *   u       H(padHex(A) || padHex(B)), B as sent (not reduced)
 *   x       H(padHex(salt) || H(poolName || userIdForSrp || ":" || password))
 *   S       (B - k * g^x)^(a + u*x) mod N
 *   key     HKDF-SHA256(salt = padHex(u), ikm = padHex(S),
 *                       info = "Caldera Derived Key", 16 bytes)
 *   claim   base64(HMAC-SHA256(key, poolName || userIdForSrp ||
 *                              base64dec(SECRET_BLOCK) || TIMESTAMP))
 *
 * padHex() is the SDK's: the minimal big-endian bytes of the integer with
 * a 0x00 byte in front when the top bit is set (Java's toByteArray()), so
 * hashes cover variable-length values, never values padded to |N|.
 *
 * Secret values (a, x, S, the exponent, the password hashes, the key) use
 * BN_FLG_CONSTTIME and constant-time exponentiation, and are wiped on every
 * path. Nothing here logs: no SRP value may reach a log.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <userpool/userpool.h>

#include "codec.h"
#include "log.h"
#include "secret.h"
#include "srp.h"

#define SRP_A_BYTES 128	    /* the SDK's generateRandomSmallA() */
#define SRP_N_BYTES 384	    /* 3072 bits */
#define SRP_MAX_HEX 2048    /* SALT and SRP_B: N is 768 hex digits */
#define SRP_MAX_BLOCK 65536 /* SECRET_BLOCK (base64); Cognito's is ~1.5 KiB */
#define SRP_KEY_LEN 16
#define SRP_HASH_LEN 32
#define SRP_TS_MAX 64

/* JavaScript's Date range (±8.64e15 ms): beyond it the SDK has no string. */
#define SRP_TS_LIMIT INT64_C(8640000000000)

static const char srp_info[] = "Caldera Derived Key";

struct up_srp {
	BIGNUM *a; /* private value: BN_FLG_CONSTTIME */
	BIGNUM *A; /* g^a mod N */
};

/* Not in srp.h: exposed only so that tests/unit/test_srp.c can reach the
 * u == 0 check, which no input can trigger (it needs a SHA-256 preimage of
 * zero). up_srp_answer() uses exactly this function. */

struct part {
	const void *p;
	size_t len;
};

static up_err sha256_parts(const struct part *parts, size_t n, uint8_t out[SRP_HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int olen = 0;
	up_err rc = UP_EINTERNAL;

	if (!md)
		return UP_ENOMEM;
	if (!EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (parts[i].len && !EVP_DigestUpdate(md, parts[i].p, parts[i].len))
			goto out;
	if (!EVP_DigestFinal_ex(md, out, &olen) || olen != SRP_HASH_LEN)
		goto out;
	rc = UP_OK;
out:
	/* EVP_MD_CTX_free cleanses the state (it held password bytes). */
	EVP_MD_CTX_free(md);
	return rc;
}

static up_err hmac_sha256_parts(const uint8_t *key, size_t key_len, const struct part *parts,
				size_t n, uint8_t out[SRP_HASH_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mctx = NULL;
	OSSL_PARAM params[2];
	char digest[] = "SHA256";
	size_t olen = 0;
	up_err rc = UP_EINTERNAL;

	if (!mac)
		return UP_EINTERNAL;
	mctx = EVP_MAC_CTX_new(mac);
	if (!mctx) {
		rc = UP_ENOMEM;
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(mctx, key, key_len, params))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (parts[i].len && !EVP_MAC_update(mctx, parts[i].p, parts[i].len))
			goto out;
	if (!EVP_MAC_final(mctx, out, &olen, SRP_HASH_LEN) || olen != SRP_HASH_LEN)
		goto out;
	rc = UP_OK;
out:
	EVP_MAC_CTX_free(mctx);
	EVP_MAC_free(mac);
	return rc;
}

static up_err hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
			  uint8_t out[SRP_KEY_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5];
	char digest[] = "SHA256";
	up_err rc = UP_EINTERNAL;

	if (!kdf)
		return UP_EINTERNAL;
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx) {
		rc = UP_ENOMEM;
		goto out;
	}
	/* OSSL_PARAM takes non-const pointers; the KDF only reads them. */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikm_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
						      salt_len);
	params[3] = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)srp_info, sizeof(srp_info) - 1);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, SRP_KEY_LEN, params) != 1)
		goto out;
	rc = UP_OK;
out:
	/* EVP_KDF_CTX_free cleanses the HKDF state. */
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

/*
 * The SDK's padHex() as bytes: minimal big-endian, 0x00 for zero, and a
 * 0x00 sign byte when the top bit is set. The buffer is `*ret_len` bytes;
 * free it with up_free_secret_len(buf, *ret_len).
 */
static up_err pad_bin(const BIGNUM *x, uint8_t **ret, size_t *ret_len)
{
	int n = BN_num_bytes(x);
	uint8_t *buf;
	size_t len;

	if (n < 0)
		return UP_EINTERNAL;
	buf = malloc((size_t)n + 1);
	if (!buf)
		return UP_ENOMEM;
	buf[0] = 0;
	if (n > 0 && BN_bn2bin(x, buf + 1) != n) {
		up_free_secret_len(buf, (size_t)n + 1);
		return UP_EINTERNAL;
	}
	if (n == 0 || (buf[1] & 0x80)) {
		len = (size_t)n + 1;
	} else {
		memmove(buf, buf + 1, (size_t)n);
		up_wipe(buf + n, 1); /* the stale copy of the last byte */
		len = (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return UP_OK;
}

static int hex_value(char c)
{
	/* No isxdigit(): its answer depends on the locale. */
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict hex (either case, leading zeros allowed, nothing else) to a BIGNUM. */
static up_err parse_hex(struct up_ctx *ctx, const char *what, const char *hex, BIGNUM **ret)
{
	size_t len = strnlen(hex, SRP_MAX_HEX + 1), nbytes, o = 0, i = 0;
	uint8_t *buf;
	BIGNUM *bn;

	if (len == 0)
		return up_fail(ctx, UP_EPROTO, "SRP: the pool sent an empty %s", what);
	if (len > SRP_MAX_HEX)
		return up_fail(ctx, UP_EPROTO, "SRP: the pool's %s is longer than %u hex digits",
			       what, (unsigned)SRP_MAX_HEX);
	nbytes = (len + 1) / 2;
	buf = malloc(nbytes);
	if (!buf)
		return up_fail(ctx, UP_ENOMEM, "SRP: out of memory");
	if (len % 2) {
		int v = hex_value(hex[0]);
		if (v < 0)
			goto bad;
		buf[o++] = (uint8_t)v;
		i = 1;
	}
	for (; i < len; i += 2) {
		int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
		if (hi < 0 || lo < 0)
			goto bad;
		buf[o++] = (uint8_t)(hi << 4 | lo);
	}
	bn = BN_bin2bn(buf, (int)nbytes, NULL);
	free(buf);
	if (!bn)
		return up_fail(ctx, UP_ENOMEM, "SRP: out of memory");
	*ret = bn;
	return UP_OK;
bad:
	free(buf);
	return up_fail(ctx, UP_EPROTO, "SRP: the pool's %s is not hexadecimal", what);
}

/* Lower-case hex without leading zeros (BN_bn2hex is upper case and keeps
 * a leading zero nibble); the SDK sends SRP_A as aValue.toString(16). */
static up_err minimal_hex(const BIGNUM *x, char **ret)
{
	static const char digits[] = "0123456789abcdef";
	int n = BN_num_bytes(x);
	uint8_t *buf;
	char *out, *p;

	if (n <= 0) {
		out = strdup("0");
		if (!out)
			return UP_ENOMEM;
		*ret = out;
		return UP_OK;
	}
	buf = malloc((size_t)n);
	out = malloc((size_t)n * 2 + 1);
	if (!buf || !out) {
		free(buf);
		free(out);
		return UP_ENOMEM;
	}
	if (BN_bn2bin(x, buf) != n) {
		free(buf);
		free(out);
		return UP_EINTERNAL;
	}
	p = out;
	for (int i = 0; i < n; i++) {
		if (i > 0 || buf[i] >> 4)
			*p++ = digits[buf[i] >> 4];
		*p++ = digits[buf[i] & 15];
	}
	*p = '\0';
	free(buf);
	*ret = out;
	return UP_OK;
}

static BIGNUM *group_n(void)
{
	/* RFC 5054's 3072-bit group is the RFC 3526 MODP prime. */
	return BN_get_rfc3526_prime_3072(NULL);
}

/* A = g^a mod N; UP_EPROTO when A mod N == 0 (never for a prime N, but it is
 * SRP-6a's rule and costs nothing). */
static up_err compute_A(struct up_ctx *ctx, const BIGNUM *a, BIGNUM **ret_A)
{
	BN_CTX *bctx = BN_CTX_secure_new();
	BIGNUM *N = group_n(), *g = BN_new(), *A = BN_new();
	up_err rc = UP_ENOMEM;

	if (!bctx || !N || !g || !A)
		goto out;
	rc = UP_EINTERNAL;
	if (!BN_set_word(g, 2) || !BN_mod_exp_mont_consttime(A, g, a, N, bctx, NULL))
		goto out;
	if (BN_is_zero(A)) {
		rc = UP_EPROTO;
		goto out;
	}
	*ret_A = A;
	A = NULL;
	rc = UP_OK;
out:
	BN_clear_free(A);
	BN_free(g);
	BN_free(N);
	BN_CTX_free(bctx);
	if (rc == UP_EPROTO)
		return up_fail(ctx, rc, "SRP: A mod N is 0");
	if (rc)
		return up_fail(ctx, rc, "SRP: computing A failed");
	return UP_OK;
}

static up_err srp_from_bn(struct up_ctx *ctx, BIGNUM *a, struct up_srp **ret_srp)
{
	struct up_srp *srp;
	BIGNUM *A = NULL;
	up_err rc;

	BN_set_flags(a, BN_FLG_CONSTTIME);
	rc = compute_A(ctx, a, &A);
	if (rc)
		return rc;
	srp = calloc(1, sizeof(*srp));
	if (!srp) {
		BN_clear_free(A);
		return up_fail(ctx, UP_ENOMEM, "SRP: out of memory");
	}
	srp->a = a;
	srp->A = A;
	*ret_srp = srp;
	return UP_OK;
}

up_err up_srp_new_with_a(struct up_ctx *ctx, const uint8_t *a, size_t a_len,
			 struct up_srp **ret_srp)
{
	BIGNUM *bn;
	up_err rc;

	if (!a || !ret_srp || a_len == 0 || a_len > SRP_N_BYTES)
		return up_fail(ctx, UP_EINVAL, "SRP: private value must be 1..%d bytes",
			       SRP_N_BYTES);
	bn = BN_secure_new();
	if (!bn)
		return up_fail(ctx, UP_ENOMEM, "SRP: out of memory");
	BN_set_flags(bn, BN_FLG_CONSTTIME);
	if (!BN_bin2bn(a, (int)a_len, bn)) {
		BN_clear_free(bn);
		return up_fail(ctx, UP_EINTERNAL, "SRP: BN_bin2bn failed");
	}
	if (BN_is_zero(bn)) {
		BN_clear_free(bn);
		return up_fail(ctx, UP_EINVAL, "SRP: private value is zero");
	}
	rc = srp_from_bn(ctx, bn, ret_srp);
	if (rc)
		BN_clear_free(bn);
	return rc;
}

up_err up_srp_new(struct up_ctx *ctx, struct up_srp **ret_srp)
{
	uint8_t buf[SRP_A_BYTES];
	up_err rc = UP_EPROTO;

	if (!ret_srp)
		return up_fail(ctx, UP_EINVAL, "SRP: no result pointer");
	/* A mod N == 0 (impossible for a prime N) or a == 0 (2^-1024): draw
	 * again, a bounded number of times. */
	for (int tries = 0; tries < 4; tries++) {
		if (RAND_priv_bytes(buf, sizeof(buf)) != 1) {
			rc = up_fail(ctx, UP_EINTERNAL, "SRP: RAND_priv_bytes failed");
			break;
		}
		rc = up_srp_new_with_a(ctx, buf, sizeof(buf), ret_srp);
		if (rc != UP_EPROTO && rc != UP_EINVAL)
			break;
	}
	up_wipe(buf, sizeof(buf));
	return rc;
}

up_err up_srp_public_hex(struct up_ctx *ctx, const struct up_srp *srp, char **ret_hex)
{
	up_err rc;

	if (!srp || !ret_hex)
		return up_fail(ctx, UP_EINVAL, "SRP: no exchange");
	rc = minimal_hex(srp->A, ret_hex);
	if (rc)
		return up_fail(ctx, rc, "SRP: encoding A failed");
	return UP_OK;
}

up_err up_srp_check_u(struct up_ctx *ctx, const uint8_t *u_hash, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= u_hash[i];
	if (acc == 0)
		return up_fail(ctx, UP_EPROTO, "SRP: u = H(A, B) is 0: refusing the pool's B");
	return UP_OK;
}

/* H(padHex(a) || padHex(b)) as a number (u and k of SRP-6a); the hash also
 * in `hash` when it is not NULL. */
static up_err hash_pair(const BIGNUM *a, const BIGNUM *b, BIGNUM *ret, uint8_t hash[SRP_HASH_LEN])
{
	uint8_t *pa = NULL, *pb = NULL, h[SRP_HASH_LEN];
	size_t la = 0, lb = 0;
	up_err rc;

	if ((rc = pad_bin(a, &pa, &la)) || (rc = pad_bin(b, &pb, &lb)))
		goto out;
	rc = sha256_parts((const struct part[]){{pa, la}, {pb, lb}}, 2, h);
	if (rc)
		goto out;
	rc = BN_bin2bn(h, sizeof(h), ret) ? UP_OK : UP_EINTERNAL;
	if (hash)
		memcpy(hash, h, sizeof(h));
out:
	up_free_secret_len(pa, la);
	up_free_secret_len(pb, lb);
	up_wipe(h, sizeof(h));
	return rc;
}

/* x = H(padHex(salt) || H(poolName || userIdForSrp || ":" || password)) */
static up_err srp_x(const char *pool_name, const char *user_id_for_srp, const char *password,
		    const BIGNUM *salt, BIGNUM *x)
{
	uint8_t up_hash[SRP_HASH_LEN], x_hash[SRP_HASH_LEN], *psalt = NULL;
	size_t lsalt = 0;
	up_err rc;

	rc = sha256_parts((const struct part[]){{pool_name, strlen(pool_name)},
						{user_id_for_srp, strlen(user_id_for_srp)},
						{":", 1},
						{password, strlen(password)}},
			  4, up_hash);
	if (rc || (rc = pad_bin(salt, &psalt, &lsalt)))
		goto out;
	rc = sha256_parts((const struct part[]){{psalt, lsalt}, {up_hash, sizeof(up_hash)}}, 2,
			  x_hash);
	if (!rc && !BN_bin2bn(x_hash, sizeof(x_hash), x))
		rc = UP_EINTERNAL;
out:
	up_free_secret_len(psalt, lsalt);
	up_wipe(up_hash, sizeof(up_hash));
	up_wipe(x_hash, sizeof(x_hash));
	return rc;
}

/* The numbers of one answer; the secret ones in secure memory, constant time. */
struct srp_nums {
	BN_CTX *bctx;
	BIGNUM *N, *g, *k, *B, *Bm, *salt, *u;
	BIGNUM *x, *gx, *kgx, *base, *e, *S;
};

static up_err nums_new(struct srp_nums *n)
{
	BIGNUM **secret[] = {&n->x, &n->gx, &n->kgx, &n->base, &n->e, &n->S};

	n->bctx = BN_CTX_secure_new();
	n->N = group_n();
	n->g = BN_new();
	n->k = BN_new();
	n->Bm = BN_new();
	n->u = BN_new();
	if (!n->bctx || !n->N || !n->g || !n->k || !n->Bm || !n->u)
		return UP_ENOMEM;
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		*secret[i] = BN_secure_new();
		if (!*secret[i])
			return UP_ENOMEM;
		BN_set_flags(*secret[i], BN_FLG_CONSTTIME);
	}
	return BN_set_word(n->g, 2) ? UP_OK : UP_EINTERNAL;
}

static void nums_free(struct srp_nums *n)
{
	BN_free(n->N);
	BN_free(n->g);
	BN_free(n->k);
	BN_free(n->B);
	BN_free(n->Bm);
	BN_free(n->salt);
	BN_clear_free(n->u);
	BN_clear_free(n->x);
	BN_clear_free(n->gx);
	BN_clear_free(n->kgx);
	BN_clear_free(n->base);
	BN_clear_free(n->e);
	BN_clear_free(n->S);
	/* BN_CTX_free clears its temporaries (BN_clear_free in BN_POOL_finish). */
	BN_CTX_free(n->bctx);
}

/* The pool's SALT, SRP_B and SECRET_BLOCK, checked and decoded. */
static up_err parse_challenge(struct up_ctx *ctx, const char *salt_hex, const char *srp_b_hex,
			      const char *secret_block_b64, struct srp_nums *n, uint8_t **block,
			      size_t *lblock)
{
	up_err rc;

	if ((rc = parse_hex(ctx, "SALT", salt_hex, &n->salt)) ||
	    (rc = parse_hex(ctx, "SRP_B", srp_b_hex, &n->B)))
		return rc;
	if (strnlen(secret_block_b64, SRP_MAX_BLOCK + 1) > SRP_MAX_BLOCK)
		return up_fail(ctx, UP_EPROTO, "SRP: the pool's SECRET_BLOCK is too long");
	rc = up_b64_decode(secret_block_b64, block, lblock);
	if (rc == UP_ENOMEM)
		return up_fail(ctx, rc, "SRP: out of memory");
	if (rc || *lblock == 0)
		return up_fail(ctx, UP_EPROTO, "SRP: the pool's SECRET_BLOCK is not base64");
	return UP_OK;
}

/* S = (B - k * g^x) ^ (a + u * x) mod N, after the SRP-6a checks (B mod N
 * and u not 0); the SDK reduces the base mod N (its Montgomery conversion),
 * so B - k*g^x < 0 is the same number. A refusal is reported (UP_EPROTO),
 * other failures are not. */
static up_err premaster(struct up_ctx *ctx, const struct up_srp *srp, const char *pool_name,
			const char *user_id_for_srp, const char *password, struct srp_nums *n)
{
	uint8_t u_hash[SRP_HASH_LEN];
	up_err rc;

	if (!BN_nnmod(n->Bm, n->B, n->N, n->bctx))
		return UP_EINTERNAL;
	if (BN_is_zero(n->Bm))
		return up_fail(ctx, UP_EPROTO, "SRP: the pool's B is 0 mod N");
	/* u = H(padHex(A) || padHex(B)), with B as the pool sent it. */
	rc = hash_pair(srp->A, n->B, n->u, u_hash);
	if (!rc)
		rc = up_srp_check_u(ctx, u_hash, sizeof(u_hash));
	up_wipe(u_hash, sizeof(u_hash));
	if (rc)
		return rc;
	/* k = H(padHex(N) || padHex(g)) */
	if ((rc = hash_pair(n->N, n->g, n->k, NULL)) ||
	    (rc = srp_x(pool_name, user_id_for_srp, password, n->salt, n->x)))
		return rc;
	if (!BN_mod_exp_mont_consttime(n->gx, n->g, n->x, n->N, n->bctx, NULL) ||
	    !BN_mod_mul(n->kgx, n->k, n->gx, n->N, n->bctx) ||
	    !BN_mod_sub(n->base, n->Bm, n->kgx, n->N, n->bctx) ||
	    !BN_mul(n->e, n->u, n->x, n->bctx) || !BN_add(n->e, n->e, srp->a))
		return UP_EINTERNAL;
	BN_set_flags(n->e, BN_FLG_CONSTTIME);
	if (!BN_mod_exp_mont_consttime(n->S, n->base, n->e, n->N, n->bctx, NULL))
		return UP_EINTERNAL;
	return UP_OK;
}

/* PASSWORD_CLAIM_SIGNATURE = base64(HMAC(key, poolName || userIdForSrp ||
 * SECRET_BLOCK || TIMESTAMP)), key = HKDF(salt = padHex(u), ikm = padHex(S),
 * "Caldera Derived Key"). */
static up_err claim_signature(const struct srp_nums *n, const char *pool_name,
			      const char *user_id_for_srp, const uint8_t *block, size_t lblock,
			      const char *ts, char **ret_b64)
{
	uint8_t *pu = NULL, *pS = NULL, key[SRP_KEY_LEN], sig[SRP_HASH_LEN];
	size_t lu = 0, lS = 0;
	up_err rc;

	if ((rc = pad_bin(n->u, &pu, &lu)) || (rc = pad_bin(n->S, &pS, &lS)) ||
	    (rc = hkdf_sha256(pS, lS, pu, lu, key)))
		goto out;
	rc = hmac_sha256_parts(key, sizeof(key),
			       (const struct part[]){{pool_name, strlen(pool_name)},
						     {user_id_for_srp, strlen(user_id_for_srp)},
						     {block, lblock},
						     {ts, strlen(ts)}},
			       4, sig);
	if (!rc)
		rc = up_b64_encode(sig, sizeof(sig), ret_b64);
out:
	up_free_secret_len(pu, lu);
	up_free_secret_len(pS, lS);
	up_wipe(key, sizeof(key));
	up_wipe(sig, sizeof(sig));
	return rc;
}

up_err up_srp_answer(struct up_ctx *ctx, struct up_srp *srp, const char *pool_name,
		     const char *user_id_for_srp, const char *password, const char *salt_hex,
		     const char *srp_b_hex, const char *secret_block_b64, int64_t now,
		     char **ret_signature_b64, char **ret_timestamp)
{
	char ts[SRP_TS_MAX], *sig_b64 = NULL, *ts_copy = NULL;
	struct srp_nums n = {0};
	uint8_t *block = NULL;
	size_t lblock = 0;
	up_err rc;

	if (!srp || !pool_name || !user_id_for_srp || !password || !salt_hex || !srp_b_hex ||
	    !secret_block_b64 || !ret_signature_b64 || !ret_timestamp)
		return up_fail(ctx, UP_EINVAL, "SRP: missing argument");
	rc = up_srp_timestamp(now, ts, sizeof(ts));
	if (rc)
		return up_fail(ctx, rc, "SRP: the clock is outside the range of TIMESTAMP");
	rc = parse_challenge(ctx, salt_hex, srp_b_hex, secret_block_b64, &n, &block, &lblock);
	if (rc)
		goto out;
	rc = nums_new(&n);
	if (!rc)
		rc = premaster(ctx, srp, pool_name, user_id_for_srp, password, &n);
	if (rc == UP_EPROTO)
		goto out; /* a refusal, reported */
	if (!rc)
		rc = claim_signature(&n, pool_name, user_id_for_srp, block, lblock, ts, &sig_b64);
	if (!rc && !(ts_copy = strdup(ts)))
		rc = UP_ENOMEM;
	if (rc) {
		rc = up_fail(ctx, rc, "SRP: computing PASSWORD_CLAIM_SIGNATURE failed");
		goto out;
	}
	*ret_signature_b64 = sig_b64;
	*ret_timestamp = ts_copy;
	sig_b64 = NULL;
out:
	up_free_secret(sig_b64);
	up_free_secret_len(block, lblock);
	nums_free(&n);
	return rc;
}

void up_srp_free(struct up_srp *srp)
{
	if (!srp)
		return;
	BN_clear_free(srp->a);
	BN_clear_free(srp->A);
	up_wipe(srp, sizeof(*srp));
	free(srp);
}

up_err up_srp_timestamp(int64_t now, char *out, size_t out_len)
{
	static const char *const days[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char buf[SRP_TS_MAX];
	struct tm tm;
	time_t t;
	int n;

	if (!out || out_len == 0)
		return UP_EINVAL;
	if (now < -SRP_TS_LIMIT || now > SRP_TS_LIMIT)
		return UP_ERANGE;
	t = (time_t)now;
	if ((int64_t)t != now || !gmtime_r(&t, &tm))
		return UP_ERANGE;
	if (tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
		return UP_EINTERNAL;
	/* DateHelper.getNowString(): "ddd MMM D HH:mm:ss UTC YYYY", English
	 * names from our own tables (no strftime: it follows the locale). */
	n = snprintf(buf, sizeof(buf), "%s %s %d %02d:%02d:%02d UTC %lld", days[tm.tm_wday],
		     months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long long)tm.tm_year + 1900);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return UP_EINTERNAL;
	if ((size_t)n >= out_len)
		return UP_EINVAL;
	memcpy(out, buf, (size_t)n + 1);
	return UP_OK;
}

up_err up_secret_hash(const char *username, const char *client_id, const char *client_secret,
		      char **ret_b64)
{
	uint8_t mac[SRP_HASH_LEN];
	up_err rc;

	if (!username || !client_id || !client_secret || !ret_b64)
		return UP_EINVAL;
	rc = hmac_sha256_parts(
	    (const uint8_t *)client_secret, strlen(client_secret),
	    (const struct part[]){{username, strlen(username)}, {client_id, strlen(client_id)}}, 2,
	    mac);
	if (!rc)
		rc = up_b64_encode(mac, sizeof(mac), ret_b64);
	up_wipe(mac, sizeof(mac));
	return rc;
}
