/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_TPM_H
#define UP_LIB_TPM_H

/*
 * Private to libuserpool: the machine's TPM (issue 22), through tpm2-tss's
 * ESAPI and TCTI loader (never tpm2-tools).
 *
 * The machine key is an HMAC-SHA256 key (a keyedhash object) that the TPM
 * generates under a primary key derived from the owner hierarchy with a
 * fixed template (ECC P-256 storage key, the same bytes every time: the same
 * TPM re-derives the same primary until it is cleared). Its sensitive part
 * never leaves the TPM: state_dir/tpm/hmac.key (0600, atomic write,
 * O_NOFOLLOW + fstat read) holds only the public area and the private part
 * wrapped under the primary, which no other TPM (and this one after
 * TPM2_Clear) can load.
 *
 * Dictionary-attack protection: both objects carry noDA. A wrong password
 * never reaches the TPM as a failed authorisation (the HMAC key's auth value
 * is empty; the password goes in as data), so one user's guesses can never
 * put the TPM into lockout for every other user (or for the disk
 * encryption sharing the TPM). Guessing stays bounded by the per-uid
 * offline failure counter in software, and a root who bypasses it still has
 * to run every guess through this machine's TPM at its speed. Commands run
 * in a salted, encrypted session (AES-128-CFB, keyed through the primary),
 * so the scrypt output and the HMAC do not cross the bus in the clear.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <userpool/userpool.h>

struct up_ctx;

#define UP_TPM_HMAC_LEN 32
#define UP_TPM_KEYID_LEN 16 /* hex characters of the key's id */
#define UP_TPM_IN_MAX 64    /* bytes up_tpm_hmac accepts */

/* True when this build has TPM support (tpm2-tss found by configure). */
bool up_tpm_built(void);

/*
 * Whether new offline records are bound to the TPM, by the `tpm` key: no →
 * false; auto → true when the TCTI (`tpm_tcti`) opens and the TPM answers;
 * yes → true, or UP_EINTERNAL when the TPM is not usable. Never fails for
 * auto.
 */
up_err up_tpm_wanted(struct up_ctx *ctx, bool *ret_use);

/*
 * out = HMAC-SHA256(machine key, in[0..in_len)), computed inside the TPM;
 * keyid (UP_TPM_KEYID_LEN hex + NUL) names the machine key (the first bytes
 * of SHA-256 of its public area). With `create`, a missing machine key is
 * generated, and so is a new one when the TPM no longer loads the old one
 * (cleared): records bound to the old key then fail (their key id differs).
 *
 * Returns UP_OK; UP_ENOKEY when the machine key is missing (without create)
 * or does not belong to this TPM (cleared, or state_dir copied from another
 * machine); UP_ESTATE when the key file is refused; UP_EINTERNAL when the TPM
 * cannot be reached or fails; UP_EINVAL. out is wiped on failure.
 */
up_err up_tpm_hmac(struct up_ctx *ctx, bool create, const uint8_t *in, size_t in_len,
		   uint8_t out[UP_TPM_HMAC_LEN], char keyid[UP_TPM_KEYID_LEN + 1]);

/*
 * For `userpool status`: the key id of state_dir/tpm/hmac.key without using
 * the TPM (UP_ENOENT when there is none), and whether the TPM is reachable
 * and loads it (*ret_loads; left false on any failure).
 */
up_err up_tpm_key_state(struct up_ctx *ctx, char keyid[UP_TPM_KEYID_LEN + 1], bool *ret_reachable,
			bool *ret_loads);

#endif
