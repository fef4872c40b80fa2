/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_KDF_H
#define USERPOOL_KDF_H

/* Private to libuserpool: the password KDF (scrypt through OpenSSL's
 * EVP_KDF), bounded machine-wide by flock'd derivation slots. */

#include <stddef.h>
#include <stdint.h>

#include <userpool/userpool.h>

struct up_ctx;

struct up_scrypt_params {
	uint64_t n; /* cost, a power of two */
	uint32_t r; /* block size */
	uint32_t p; /* parallelism */
};

/* The bytes OpenSSL's scrypt allocates for these parameters:
 * 128*r*(N+2) for V plus 128*r*p for B. */
uint64_t up_kdf_scrypt_mem(const struct up_scrypt_params *params);

/*
 * scrypt(password, salt, params) into out[0..out_len). With a loaded
 * configuration the derivation first takes one of the machine's derivation
 * slots (state_dir/kdf/slot.<i>, i < kdf_slots, an flock each; kdf_slots 0
 * means the number of online CPUs) and holds it only while deriving, so at
 * most kdf_slots derivations (and their memory) run at once on the machine;
 * the others wait, at most `timeout`. With ctx->kdf_yield (the verifier
 * helper) it first lets a burst of sign-ins finish (up_kdf_debounce).
 * Without a configuration there are no
 * slots and the derivation runs at once.
 *
 * Returns UP_OK, UP_EINVAL, UP_ESTATE (the slot directory or a slot file is
 * refused), or UP_EINTERNAL (no slot within `timeout`, or OpenSSL could not
 * derive: typically out of memory). out is wiped on every failure.
 */
/*
 * The verifier helper's debounce (ctx->kdf_yield): a burst of sign-ins
 * starts a burst of helpers, and their derivations would take the CPU the
 * burst's sign-ins need. Each helper notes its start in the file `name`
 * under `dirfd` (its mtime) and waits, in steps of `step_ms` and for at most
 * `max_ms`, until no helper has started for `quiet_ms`. The first helper of
 * a burst waits too: it cannot know that others follow, and a derivation
 * running beside the burst slows it (memory bandwidth, caches) even at
 * nice 19. A lone sign-in's record is written quiet_ms later. Returns the
 * steps slept times step_ms, or -1 when the file cannot be used (no wait).
 */
int64_t up_kdf_debounce(int dirfd, const char *name, unsigned quiet_ms, unsigned step_ms,
			unsigned max_ms);

up_err up_kdf_scrypt(struct up_ctx *ctx, const char *password, const uint8_t *salt, size_t salt_len,
		     const struct up_scrypt_params *params, uint8_t *out, size_t out_len);

#endif
