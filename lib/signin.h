/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_SIGNIN_H
#define UP_LIB_SIGNIN_H

/* Private to libuserpool (lib/signin.c). */

struct up_ctx;

/* The pool answered this sign-in well-formed (a challenge, a session,
 * tokens): sets pool_answered, and the first time calls answered_fn. */
void up_pool_answered(struct up_ctx *ctx);

#endif
