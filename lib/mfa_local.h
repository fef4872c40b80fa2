/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_MFA_LOCAL_H
#define USERPOOL_MFA_LOCAL_H

/*
 * Private to libuserpool: the building blocks of the offline second factor
 * (issue 16 item 5c). Not yet wired into the record or the sign-in flow.
 *
 * One scrypt output per sign-in (UP_MFA_IKM_LEN bytes) is split with HKDF
 * (SHA-256, OpenSSL EVP_KDF) into the verifier key and the key-encryption
 * key (KEK); the TOTP secret is wrapped under the KEK with AES-256-GCM, a
 * fresh random 12-byte nonce per wrap, and AAD binding issuer, sub,
 * username and the record version. Wrapped form:
 * "gcm1$<nonce b64>$<ciphertext b64>$<tag b64>".
 */

#include <stddef.h>
#include <stdint.h>

#include <userpool/userpool.h>

struct up_ctx;

#define UP_MFA_IKM_LEN 32
#define UP_MFA_KEY_LEN 32
#define UP_MFA_SECRET_MAX 128
#define UP_MFA_WRAPPED_MAX 512

/* HKDF-SHA256(ikm) -> verifier key ("userpool offline verifier v1") and KEK
 * ("userpool offline totp kek v1"). Both outputs wiped on failure. */
up_err up_mfa_split(const uint8_t *ikm, size_t ikm_len, uint8_t verifier_key[UP_MFA_KEY_LEN],
		    uint8_t kek[UP_MFA_KEY_LEN]);

struct up_mfa_aad {
	const char *issuer;
	const char *sub;
	const char *username;
	uint32_t version;
};

/* Wrap secret[0..len) (1..UP_MFA_SECRET_MAX bytes) under kek. */
up_err up_mfa_wrap(struct up_ctx *ctx, const uint8_t kek[UP_MFA_KEY_LEN],
		   const struct up_mfa_aad *aad, const uint8_t *secret, size_t len,
		   char **ret_wrapped);

/* Unwrap: UP_OK with *ret_secret (malloc'd, wipe with up_free_secret_len),
 * UP_EDENIED when the key or the AAD is wrong or the ciphertext was changed,
 * UP_ESTATE when the wrapped form is malformed. */
up_err up_mfa_unwrap(struct up_ctx *ctx, const uint8_t kek[UP_MFA_KEY_LEN],
		     const struct up_mfa_aad *aad, const char *wrapped, uint8_t **ret_secret,
		     size_t *ret_len);

/* RFC 6238 check of `code` (6 digits, 30 s steps) at `now`, accepting the
 * steps now-1, now, now+1 that are greater than last_step (the last accepted
 * step; -1 for none). UP_OK with *ret_step set, UP_EDENIED otherwise (a reused
 * step included). */
up_err up_mfa_totp_check(const uint8_t *key, size_t key_len, const char *code, int64_t now,
			 int64_t last_step, int64_t *ret_step);

#endif
