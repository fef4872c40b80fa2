/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_VJOB_H
#define USERPOOL_VJOB_H

/* Private to libuserpool: the offline verifier derived in a worker thread
 * while the sign-in talks to the pool (issue 21 item 1). */

#include <userpool/userpool.h>

#include "mfa_local.h"

struct up_ctx;

struct up_vjob;

/*
 * Start deriving a fresh verifier (and its TOTP key-encryption key) for
 * `password`, copied, in a thread of its own with every signal blocked, so
 * the scrypt runs while the pool's round trips do. NULL when no thread could
 * be started (the caller then derives in line). Nothing it computes leaves
 * memory: the caller decides, after the pool accepted the password, whether
 * to write it.
 */
struct up_vjob *up_vjob_start(struct up_ctx *ctx, const char *password);

/*
 * Wait for the derivation. UP_OK: *ret_verifier (free with up_free_secret)
 * and, when kek is not NULL, the KEK of the same derivation. `password` must
 * be the one the job was started with: another one (a password replaced at
 * NEW_PASSWORD_REQUIRED) gives UP_EINVAL and nothing. A failed derivation's
 * code and detail are handed to ctx.
 */
up_err up_vjob_join(struct up_ctx *ctx, struct up_vjob *job, const char *password,
		    char **ret_verifier, uint8_t kek[UP_MFA_KEY_LEN]);

/* Tell a job not yet in scrypt to give up (its result will not be used),
 * wait for it, wipe and free. NULL is a no-op. */
void up_vjob_free(struct up_vjob *job);

#endif
