/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_CTX_H
#define UP_LIB_CTX_H

/* Private to libuserpool (lib/ctx.c): the context. Its configuration
 * (config_def.h) comes with it: most modules read ctx->cfg. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <userpool/userpool.h>

#include "config_def.h"
#include "oidc.h"

struct up_http;
struct up_jwks_memo;

struct up_ctx {
	struct up_config *cfg; /* NULL until loaded */
	up_log_fn log_fn;
	void *log_ud;
	up_clock_fn clock_fn;
	void *clock_ud;
	char detail[512];
	char user_msg[256];   /* what to tell the person about the last
				 failure ("" when the adapter's own text fits) */
	struct up_http *http; /* created on first use, reused within the context */
	struct up_oidc_endpoints oidc;
	int64_t jwks_last_refetch; /* in-process memory of the last unknown-kid fetch */
	bool pool_answered;	   /* this sign-in got a well-formed answer from the
				      pool (set by cognito.c / oidc.c, cleared by
				      up_signin): no offline fallback after that */
	bool http_answered;	   /* an HTTP response arrived since up_signin began
				      (set by http.c, cleared by up_signin) */
	int64_t http_date;	   /* Date header of the last HTTP response; 0: none */
	int64_t http_date_local;   /* the local clock when it arrived */
	int64_t requester;	   /* uid asking for the sign-in; -1: getuid() */
	char remote_host[48];	   /* numeric address the sign-in comes from (PAM_RHOST);
				      "" when unknown */
	/* Called once when pool_answered turns true (up_pool_answered): how
	 * up_signin starts the verifier derivation (issue 21). */
	void (*answered_fn)(struct up_ctx *ctx, void *ud);
	void *answered_ud;
	struct up_jwks_memo *jwks_memo; /* jwks.c: the parsed cache file, while unchanged */
	int64_t kdf_ns;			/* kdf.c: wall time inside scrypt (slot wait
					   excluded) in this context, for make bench */
	bool kdf_yield;			/* kdf.c: let a burst of sign-ins finish before the first
					   derivation (the verifier helper: background work) */
	uid_t state_uid;		/* owner of state_dir and its files (default 0) */
	gid_t state_gid;		/* its group, recorded only (default 0) */
};

#endif
