/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_SRP_H
#define UP_SRP_H

/*
 * The client side of SRP-6a as AWS's SDKs do it for Cognito USER_SRP_AUTH
 * (RFC 5054 3072-bit group, g = 2, SHA-256, HKDF "Caldera Derived Key").
 * Private to libuserpool.
 */

#include <userpool/userpool.h>

struct up_ctx;

struct up_srp;

/* New exchange with a random private value a (and A = g^a mod N, A mod N != 0). */
up_err up_srp_new(struct up_ctx *ctx, struct up_srp **ret_srp);
/* Same with a given private value (big-endian bytes), for test vectors. */
up_err up_srp_new_with_a(struct up_ctx *ctx, const uint8_t *a, size_t a_len,
			 struct up_srp **ret_srp);
/* SRP_A as lower-case hex (no leading zeros, as the SDK sends it). */
up_err up_srp_public_hex(struct up_ctx *ctx, const struct up_srp *srp, char **ret_hex);

/*
 * Answer the PASSWORD_VERIFIER challenge: checks B mod N != 0 and u != 0,
 * derives the HKDF key and returns PASSWORD_CLAIM_SIGNATURE (base64) over
 * pool_name || user_id_for_srp || base64dec(secret_block) || timestamp,
 * where timestamp is the AWS format of `now` (also returned).
 * `pool_name` is the user pool id after '_'.
 */
up_err up_srp_answer(struct up_ctx *ctx, struct up_srp *srp, const char *pool_name,
		     const char *user_id_for_srp, const char *password, const char *salt_hex,
		     const char *srp_b_hex, const char *secret_block_b64, int64_t now,
		     char **ret_signature_b64, char **ret_timestamp);

/* Exposed for tests: the u == 0 check on the SHA-256 digest u. */
up_err up_srp_check_u(struct up_ctx *ctx, const uint8_t *u_hash, size_t len);

/* Wipes a, A and every derived value. NULL is a no-op. */
void up_srp_free(struct up_srp *srp);

/* "Tue Nov 3 09:05:07 UTC 2026" (day not padded, English names, UTC). */
up_err up_srp_timestamp(int64_t now, char *out, size_t out_len);

/* SECRET_HASH = base64(HMAC-SHA256(client_secret, username || client_id)). */
up_err up_secret_hash(const char *username, const char *client_id, const char *client_secret,
		      char **ret_b64);

#endif
