/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <userpool/otpauth.h>

#include <userpool/userpool.h>

#include "codec.h"
#include "log.h"
#include "mfa_local.h"
#include "secret.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define TOTP_STEP 30
#define TOTP_DIGITS 6

static bool hkdf(const uint8_t *ikm, size_t ikm_len, const char *info, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[] = "SHA256";
	static const char salt[] = "userpool offline mfa";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikm_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
					      sizeof(salt) - 1),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info,
					      strlen(info)),
	    OSSL_PARAM_construct_end(),
	};
	bool ok = kctx && EVP_KDF_derive(kctx, out, out_len, params) == 1;

	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	if (!ok)
		up_wipe(out, out_len);
	return ok;
}

up_err up_mfa_split(const uint8_t *ikm, size_t ikm_len, uint8_t verifier_key[UP_MFA_KEY_LEN],
		    uint8_t kek[UP_MFA_KEY_LEN])
{
	if (!ikm || ikm_len < 16 || !verifier_key || !kek)
		return UP_EINVAL;
	if (hkdf(ikm, ikm_len, "userpool offline verifier v1", verifier_key, UP_MFA_KEY_LEN) &&
	    hkdf(ikm, ikm_len, "userpool offline totp kek v1", kek, UP_MFA_KEY_LEN))
		return UP_OK;
	up_wipe(verifier_key, UP_MFA_KEY_LEN);
	up_wipe(kek, UP_MFA_KEY_LEN);
	return UP_EINTERNAL;
}

/* "issuer\0sub\0username\0<version>" with lengths implied by the NULs (none
 * of the fields may contain one). */
static char *aad_text(const struct up_mfa_aad *aad, size_t *ret_len)
{
	char *s = NULL;
	int n;

	if (!aad || !aad->issuer || !aad->sub || !aad->username)
		return NULL;
	n = asprintf(&s, "%s%c%s%c%s%c%u", aad->issuer, 0, aad->sub, 0, aad->username, 0,
		     (unsigned)aad->version);
	if (n < 0)
		return NULL;
	*ret_len = (size_t)n;
	return s;
}

/* AES-256-GCM in one direction; *out has room for in_len bytes. */
static bool gcm(bool enc, const uint8_t kek[UP_MFA_KEY_LEN], const uint8_t nonce[NONCE_LEN],
		const char *aad, size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out,
		uint8_t tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0;
	bool ok = c && in_len <= INT_MAX && aad_len <= INT_MAX &&
		  EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc ? 1 : 0) == 1 &&
		  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
		  EVP_CipherInit_ex(c, NULL, NULL, kek, nonce, enc ? 1 : 0) == 1 &&
		  EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)aad, (int)aad_len) == 1 &&
		  EVP_CipherUpdate(c, out, &len, in, (int)in_len) == 1 && (size_t)len == in_len &&
		  (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1) &&
		  EVP_CipherFinal_ex(c, out + len, &fin) == 1 && fin == 0 &&
		  (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) == 1);

	EVP_CIPHER_CTX_free(c);
	if (!ok)
		up_wipe(out, in_len);
	return ok;
}

up_err up_mfa_wrap(struct up_ctx *ctx, const uint8_t kek[UP_MFA_KEY_LEN],
		   const struct up_mfa_aad *aad, const uint8_t *secret, size_t len,
		   char **ret_wrapped)
{
	uint8_t nonce[NONCE_LEN], tag[TAG_LEN], *ct = NULL;
	char *a = NULL, *n64 = NULL, *c64 = NULL, *t64 = NULL, *out = NULL;
	size_t a_len = 0;
	up_err r = UP_ENOMEM;

	if (!kek || !secret || len == 0 || len > UP_MFA_SECRET_MAX || !ret_wrapped)
		return UP_EINVAL;
	a = aad_text(aad, &a_len);
	if (!a)
		return aad ? UP_ENOMEM : UP_EINVAL;
	ct = malloc(len);
	if (!ct)
		goto out;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		r = up_fail(ctx, UP_EINTERNAL, "no randomness for a nonce");
		goto out;
	}
	if (!gcm(true, kek, nonce, a, a_len, secret, len, ct, tag)) {
		r = up_fail(ctx, UP_EINTERNAL, "AES-256-GCM encryption failed");
		goto out;
	}
	r = up_b64_encode(nonce, sizeof(nonce), &n64);
	if (!r)
		r = up_b64_encode(ct, len, &c64);
	if (!r)
		r = up_b64_encode(tag, sizeof(tag), &t64);
	if (!r && asprintf(&out, "gcm1$%s$%s$%s", n64, c64, t64) < 0) {
		out = NULL;
		r = UP_ENOMEM;
	}
	if (!r)
		*ret_wrapped = out;
out:
	up_free_secret_len(ct, len);
	free(a);
	free(n64);
	free(c64);
	free(t64);
	return r;
}

up_err up_mfa_unwrap(struct up_ctx *ctx, const uint8_t kek[UP_MFA_KEY_LEN],
		     const struct up_mfa_aad *aad, const char *wrapped, uint8_t **ret_secret,
		     size_t *ret_len)
{
	char *copy = NULL, *a = NULL, *field[4];
	uint8_t *nonce = NULL, *ct = NULL, *tag = NULL, *pt = NULL;
	size_t nonce_len = 0, ct_len = 0, tag_len = 0, a_len = 0;
	up_err r = UP_ESTATE;

	if (!kek || !wrapped || !ret_secret || !ret_len)
		return UP_EINVAL;
	if (strlen(wrapped) >= UP_MFA_WRAPPED_MAX)
		return up_fail(ctx, UP_ESTATE, "wrapped secret too long");
	copy = strdup(wrapped);
	if (!copy)
		return UP_ENOMEM;
	char *s = copy;
	for (int i = 0; i < 4; i++) {
		char *end = strchr(s, '$');

		field[i] = s;
		if (i < 3) {
			if (!end)
				goto malformed;
			*end = '\0';
			s = end + 1;
		} else if (end) {
			goto malformed;
		}
	}
	if (strcmp(field[0], "gcm1") != 0 || up_b64_decode(field[1], &nonce, &nonce_len) ||
	    nonce_len != NONCE_LEN || up_b64_decode(field[2], &ct, &ct_len) || ct_len == 0 ||
	    ct_len > UP_MFA_SECRET_MAX || up_b64_decode(field[3], &tag, &tag_len) ||
	    tag_len != TAG_LEN)
		goto malformed;
	a = aad_text(aad, &a_len);
	pt = malloc(ct_len);
	if (!a || !pt) {
		r = a || aad ? UP_ENOMEM : UP_EINVAL;
		goto out;
	}
	if (!gcm(false, kek, nonce, a, a_len, ct, ct_len, pt, tag)) {
		r = UP_EDENIED;
		goto out;
	}
	*ret_secret = pt;
	*ret_len = ct_len;
	pt = NULL;
	r = UP_OK;
	goto out;
malformed:
	r = up_fail(ctx, UP_ESTATE, "wrapped secret malformed");
out:
	up_free_secret_len(pt, ct_len);
	free(nonce);
	free(ct);
	free(tag);
	free(a);
	free(copy);
	return r;
}

up_err up_mfa_totp_check(const uint8_t *key, size_t key_len, const char *code, int64_t now,
			 int64_t last_step, int64_t *ret_step)
{
	char want[9];
	int64_t step;
	up_err r = UP_EDENIED;

	if (!key || key_len == 0 || !code || now < TOTP_STEP || !ret_step)
		return UP_EINVAL;
	if (strlen(code) != TOTP_DIGITS || strspn(code, "0123456789") != TOTP_DIGITS)
		return UP_EDENIED;
	step = now / TOTP_STEP;
	/* Try every window step (no early exit on a match) */
	for (int64_t s = step - 1; s <= step + 1; s++) {
		if (up_totp(key, key_len, s * TOTP_STEP, TOTP_STEP, TOTP_DIGITS, want) != UP_OK) {
			r = UP_EINTERNAL;
			break;
		}
		if (up_memeq_ct(want, code, TOTP_DIGITS + 1) && s > last_step && r == UP_EDENIED) {
			*ret_step = s;
			r = UP_OK;
		}
	}
	up_wipe(want, sizeof(want));
	return r;
}
