/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_LOG_H
#define UP_LIB_LOG_H

/* Private to libuserpool (lib/log.c): the log, the detail and the message
 * for the person. */

#include <stddef.h>
#include <syslog.h>

#include <userpool/err.h>

struct up_ctx;

void up_log(struct up_ctx *ctx, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Set the context's detail and return `err`: `return up_fail(ctx, UP_EPROTO, "...")`. */
up_err up_fail(struct up_ctx *ctx, up_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void up_clear_detail(struct up_ctx *ctx);
/* Set the message for the person (up_ctx_user_message); printable ASCII
 * only, capped. */
void up_set_user_msg(struct up_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void up_clear_user_msg(struct up_ctx *ctx);
/* Copy `src` into `dst` (size `cap`) for showing: control characters
 * dropped, other bytes outside printable ASCII as '?', at most cap - 1
 * bytes ("..." marks a cut). */
void up_text_printable(char *dst, size_t cap, const char *src);

#endif
