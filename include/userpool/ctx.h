/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_CTX_H
#define USERPOOL_CTX_H

#include <sys/types.h>

#include <userpool/common.h>
#include <userpool/config.h>
#include <userpool/err.h>

UP_BEGIN_DECLS

/*
 * The context: configuration, logger, clock, last-error detail and the
 * network handle reused within one sign-in. One context per thread; no
 * global mutable state in the library.
 */
struct up_ctx;

/* Log priorities are syslog's (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
 * LOG_DEBUG). The message never holds a secret. */
typedef void (*up_log_fn)(void *userdata, int priority, const char *msg);
/* Seconds since the epoch. */
typedef int64_t (*up_clock_fn)(void *userdata);

UP_EXPORT up_err up_ctx_new(struct up_ctx **ret_ctx);
UP_EXPORT void up_ctx_free(struct up_ctx *ctx);

/* Without a logger, messages are dropped. Debug messages reach the logger
 * only when the configuration has `debug`. */
UP_EXPORT void up_ctx_set_logger(struct up_ctx *ctx, up_log_fn fn, void *userdata);
UP_EXPORT void up_ctx_set_clock(struct up_ctx *ctx, up_clock_fn fn, void *userdata);
UP_EXPORT int64_t up_ctx_now(const struct up_ctx *ctx);
/* The uid on whose behalf the sign-in runs (PAM_RUSER's uid, or the calling
 * uid): offline failures are counted per requester. Default (or a negative
 * uid): getuid(). */
UP_EXPORT void up_ctx_set_requester(struct up_ctx *ctx, int64_t uid);
UP_EXPORT int64_t up_ctx_requester(const struct up_ctx *ctx);
/* Who must own state_dir, every file in it and a configuration file that
 * holds client_secret (default root, uid 0): the owner checks accept `uid`
 * instead, so the unit tests and a test build can run without root on files
 * of their own. Call it before up_ctx_load_config. The PAM and NSS modules
 * and the tools never call it. `gid` is recorded; the group of these files
 * is not checked (group-writable modes are refused instead). */
UP_EXPORT void up_ctx_set_state_owner(struct up_ctx *ctx, uid_t uid, gid_t gid);
/* Where the sign-in comes from (PAM_RHOST), for send_context = yes: kept
 * only when it is a numeric IPv4/IPv6 address; NULL or anything else
 * clears it. */
UP_EXPORT void up_ctx_set_remote_host(struct up_ctx *ctx, const char *host);

/* The detail of the last failure ("" when none); valid until the next call. */
UP_EXPORT const char *up_ctx_detail(const struct up_ctx *ctx);

/* What to tell the person about the last failed sign-in when the library
 * knows better than the cause alone ("Sign-in took too long: start again",
 * a Lambda trigger's text, ...), or NULL. Printable ASCII, under 256 bytes,
 * no secret. Valid until the next sign-in on this context. */
UP_EXPORT const char *up_ctx_user_message(const struct up_ctx *ctx);

/* NULL before a successful load. */
UP_EXPORT const struct up_config *up_ctx_config(const struct up_ctx *ctx);

UP_END_DECLS

#endif
