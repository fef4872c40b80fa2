/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's token rules and the public token calls that need them:
 * up_token_verify, up_jwks_refresh, up_jwks_info. The provider (cognito.c,
 * oidc.c) says which issuer, client, claims and key set a token is checked
 * against; jwt.c and jwks.c apply that and know no provider.
 */
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "ctx.h"
#include "http.h"
#include "jwks.h"
#include "jwt.h"
#include "jwt_int.h"
#include "log.h"
#include "provider.h"

/* The one selector by the configured provider. */
const struct up_provider_ops *up_provider(struct up_ctx *ctx)
{
	if (!ctx || !ctx->cfg) {
		if (ctx)
			up_fail(ctx, UP_ECONFIG, "no configuration loaded");
		return NULL;
	}
	return ctx->cfg->provider == UP_PROVIDER_OIDC ? &up_oidc_ops : &up_cognito_ops;
}

bool up_provider_has(struct up_ctx *ctx, enum up_provider_cap cap)
{
	const struct up_provider_ops *ops = up_provider(ctx);

	if (!ops)
		return false;
	switch (cap) {
	case UP_CAP_PASSWORD:
		return ops->needs_password(ctx->cfg);
	case UP_CAP_CHANGE_PASSWORD:
		return ops->change_password != NULL;
	case UP_CAP_ENROLL:
		return ops->enrolls_here;
	case UP_CAP_CLIENT_PROBE:
		return ops->probe_client != NULL;
	}
	return false;
}

up_err up_provider_revoke(struct up_ctx *ctx, const char *refresh_token)
{
	const struct up_provider_ops *ops;

	if (!ctx)
		return UP_EINVAL;
	if (!(ops = up_provider(ctx)))
		return UP_ECONFIG;
	return ops->revoke(ctx, refresh_token);
}

up_err up_provider_probe_client(struct up_ctx *ctx, int64_t *ret_skew, bool *ret_have_date)
{
	const struct up_provider_ops *ops;

	if (!ctx)
		return UP_EINVAL;
	if (!(ops = up_provider(ctx)))
		return UP_ECONFIG;
	if (!ops->probe_client)
		return up_fail(ctx, UP_ECONFIG, "provider = %s has no app client probe", ops->name);
	return ops->probe_client(ctx, ret_skew, ret_have_date);
}

up_err up_provider_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules)
{
	const struct up_provider_ops *ops;

	if (!ctx)
		return UP_EINVAL;
	if (!(ops = up_provider(ctx)))
		return UP_ECONFIG;
	memset(rules, 0, sizeof(*rules));
	return ops->token_rules(ctx, flags, rules);
}

up_err up_jwks_uri(struct up_ctx *ctx, const char **ret_uri)
{
	struct up_token_rules rules;
	up_err rc;

	if (!ctx || !ret_uri)
		return up_fail(ctx, UP_EINVAL, "bad argument to up_jwks_uri");
	rc = up_provider_token_rules(ctx, 0, &rules);
	if (rc)
		return rc;
	if (!rules.jwks_uri)
		return up_fail(ctx, UP_ECONFIG, "jwks_uri is not set");
	*ret_uri = rules.jwks_uri;
	return UP_OK;
}

up_err up_token_verify(struct up_ctx *ctx, const char *token, enum up_token_kind kind,
		       const char *expected_username, unsigned flags, struct up_claims **ret_claims)
{
	struct up_token_rules rules;
	up_err rc;

	/* up_token_verify_rules checks the other arguments */
	if (!ctx)
		return UP_EINVAL;
	if (!ctx->cfg || !ctx->cfg->issuer || !ctx->cfg->client_id)
		return up_fail(ctx, UP_ECONFIG, "issuer and client_id are required");
	rc = up_provider_token_rules(ctx, flags & UP_VERIFY_OFFLINE, &rules);
	if (rc)
		return rc;
	return up_token_verify_rules(ctx, &rules, token, kind, expected_username, flags,
				     ret_claims);
}

up_err up_jwks_refresh(struct up_ctx *ctx)
{
	const char *uri = NULL;
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	rc = up_jwks_uri(ctx, &uri);
	return rc ? rc : up_jwks_refresh_uri(ctx, uri);
}

up_err up_jwks_info(struct up_ctx *ctx, struct up_jwks_info **ret_info)
{
	const char *uri = NULL;
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!ret_info)
		return up_fail(ctx, UP_EINVAL, "bad argument to up_jwks_info");
	rc = up_jwks_uri(ctx, &uri);
	return rc ? rc : up_jwks_info_uri(ctx, uri, ret_info);
}

/* One GET of the provider's probe URL, timed (userpool status). */
up_err up_pool_ping(struct up_ctx *ctx, int64_t *ret_ms)
{
	struct up_http_req req = {0};
	struct up_http_resp resp = {0};
	struct timespec t0, t1;
	char *url = NULL;
	up_err r;

	if (!ctx || !ctx->cfg || !ret_ms)
		return UP_EINVAL;
	r = up_provider(ctx)->probe_url(ctx, &url);
	if (r)
		return r;
	req.url = url;
	req.method = "GET";
	req.cap = UP_MAX_JWKS;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = up_http_do(ctx, &req, &resp);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!r && resp.status != 200)
		r = up_fail(ctx, resp.status == 404 ? UP_ENOTFOUND : UP_EHTTP, "%s: HTTP %ld", url,
			    resp.status);
	up_http_resp_clear(&resp);
	free(url);
	if (r)
		return r;
	*ret_ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	return UP_OK;
}
