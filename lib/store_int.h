/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_STORE_INT_H
#define USERPOOL_STORE_INT_H

/* Private to libuserpool, its unit tests and fuzz targets. */

#include <userpool/userpool.h>

#include "mfa_local.h"
#include "store_def.h"

struct up_ctx;

/* The state-record reader: the bytes of a users/<hash>.json file (at most
 * the store's size cap) into a record, every field checked. The binding to
 * issuer, client and file name is the caller's (store.c's load). */
up_err up_store_record_parse(struct up_ctx *ctx, const char *data, size_t len,
			     struct up_user_record **ret_rec);

/*
 * The verifier and the key-encryption key of the offline TOTP secret from
 * ONE password derivation (store.c's verifier_derive, the only place that
 * runs scrypt for a verifier): the scrypt output is split with HKDF
 * (up_mfa_split) into the stored verifier key and the KEK, never stored.
 * `kek` may be NULL. up_verifier_check_kek sets *ret_has_kek (may be NULL)
 * only for a "scrypt2$" or "tpm1$" verifier that matched; an older "scrypt$" one
 * matches without a KEK. Both wipe every intermediate.
 */
up_err up_verifier_new_kek(struct up_ctx *ctx, const char *password, char **ret_verifier,
			   uint8_t kek[UP_MFA_KEY_LEN]);
up_err up_verifier_check_kek(struct up_ctx *ctx, const char *verifier, const char *password,
			     uint8_t kek[UP_MFA_KEY_LEN], bool *ret_has_kek);
/* A verifier of the scheme and parameters this version writes now: tpm1
 * when the TPM is used (`tpm`, up_tpm_wanted), else scrypt2 (otherwise the
 * next online sign-in replaces it). May probe the TPM. */
bool up_verifier_current(struct up_ctx *ctx, const char *verifier);

#endif
