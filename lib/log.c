/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "log.h"

static void emit(struct up_ctx *ctx, int priority, const char *fmt, va_list ap)
{
	char msg[1024];

	if (!ctx || !ctx->log_fn)
		return;
	if (priority == LOG_DEBUG && !(ctx->cfg && ctx->cfg->debug))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One line per message: a value from the network must not forge a
	 * second log line. */
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	ctx->log_fn(ctx->log_ud, priority, msg);
}

void up_log(struct up_ctx *ctx, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(ctx, priority, fmt, ap);
	va_end(ap);
}

up_err up_fail(struct up_ctx *ctx, up_err err, const char *fmt, ...)
{
	va_list ap;

	if (!ctx)
		return err;
	va_start(ap, fmt);
	vsnprintf(ctx->detail, sizeof(ctx->detail), fmt, ap);
	va_end(ap);
	for (char *p = ctx->detail; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	up_log(ctx, LOG_DEBUG, "%s: %s", up_strerror(err), ctx->detail);
	return err;
}

void up_clear_detail(struct up_ctx *ctx)
{
	if (ctx)
		ctx->detail[0] = '\0';
}

void up_text_printable(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	if (!cap)
		return;
	for (; src && *src && n + 1 < cap; src++) {
		unsigned char c = (unsigned char)*src;

		if (c < 0x20 || c == 0x7f)
			continue;
		dst[n++] = c < 0x7f ? (char)c : '?';
	}
	dst[n] = '\0';
	if (src && *src && cap > 4)
		memcpy(dst + cap - 4, "...", 4);
}

void up_set_user_msg(struct up_ctx *ctx, const char *fmt, ...)
{
	char buf[sizeof(ctx->user_msg)];
	va_list ap;

	if (!ctx)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	up_text_printable(ctx->user_msg, sizeof(ctx->user_msg), buf);
}

void up_clear_user_msg(struct up_ctx *ctx)
{
	if (ctx)
		ctx->user_msg[0] = '\0';
}
