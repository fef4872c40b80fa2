/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <userpool/userpool.h>

#include "config_int.h"
#include "ctx.h"
#include "http.h"
#include "jwks.h"
#include "oidc.h"
#include "secret.h"

up_err up_ctx_new(struct up_ctx **ret_ctx)
{
	struct up_ctx *ctx;

	if (!ret_ctx)
		return UP_EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return UP_ENOMEM;
	ctx->requester = -1;
	*ret_ctx = ctx;
	return UP_OK;
}

void up_ctx_free(struct up_ctx *ctx)
{
	if (!ctx)
		return;
	up_http_free(ctx->http);
	up_jwks_memo_free(ctx);
	up_oidc_endpoints_clear(&ctx->oidc);
	up_config_free(ctx->cfg);
	up_wipe(ctx->detail, sizeof(ctx->detail));
	free(ctx);
}

void up_ctx_set_logger(struct up_ctx *ctx, up_log_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->log_fn = fn;
	ctx->log_ud = userdata;
}

void up_ctx_set_clock(struct up_ctx *ctx, up_clock_fn fn, void *userdata)
{
	if (!ctx)
		return;
	ctx->clock_fn = fn;
	ctx->clock_ud = userdata;
}

void up_ctx_set_requester(struct up_ctx *ctx, int64_t uid)
{
	if (ctx)
		ctx->requester = uid >= 0 && uid <= UINT32_MAX ? uid : -1;
}

void up_ctx_set_remote_host(struct up_ctx *ctx, const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (!ctx)
		return;
	ctx->remote_host[0] = '\0';
	/* Only a numeric address (what sshd passes with UseDNS no): a host name
	 * is not an IpAddress, and is never resolved here. */
	if (host && strlen(host) < sizeof(ctx->remote_host) &&
	    (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1))
		snprintf(ctx->remote_host, sizeof(ctx->remote_host), "%s", host);
}

void up_ctx_set_state_owner(struct up_ctx *ctx, uid_t uid, gid_t gid)
{
	if (!ctx)
		return;
	ctx->state_uid = uid;
	ctx->state_gid = gid;
}

int64_t up_ctx_requester(const struct up_ctx *ctx)
{
	if (ctx && ctx->requester >= 0)
		return ctx->requester;
	return (int64_t)getuid();
}

int64_t up_ctx_now(const struct up_ctx *ctx)
{
	struct timespec ts;

	if (ctx && ctx->clock_fn)
		return ctx->clock_fn(ctx->clock_ud);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

const char *up_ctx_detail(const struct up_ctx *ctx)
{
	return ctx ? ctx->detail : "";
}

const char *up_ctx_user_message(const struct up_ctx *ctx)
{
	return ctx && ctx->user_msg[0] ? ctx->user_msg : NULL;
}

const struct up_config *up_ctx_config(const struct up_ctx *ctx)
{
	return ctx ? ctx->cfg : NULL;
}
