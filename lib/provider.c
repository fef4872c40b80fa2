/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider's token rules and the public token calls that need them:
 * up_token_verify, up_jwks_refresh, up_jwks_info. The provider (cognito.c,
 * oidc.c) says which issuer, client, claims and key set a token is checked
 * against; jwt.c and jwks.c apply that and know no provider.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "jwt_int.h"

/* The provider selector (see lib/provider.h's table, to come). */
up_err up_provider_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules)
{
	if (!ctx)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	memset(rules, 0, sizeof(*rules));
	if (ctx->cfg->provider == UP_PROVIDER_OIDC)
		return up_oidc_token_rules(ctx, flags, rules);
	return up_cognito_token_rules(ctx, flags, rules);
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

	if (!ctx)
		return UP_EINVAL;
	if (!token || !ret_claims || (flags & ~UP_VERIFY_OFFLINE) ||
	    (kind != UP_TOKEN_ID && kind != UP_TOKEN_ACCESS && kind != UP_TOKEN_ANY))
		return up_fail(ctx, UP_EINVAL, "bad argument to up_token_verify");
	if (!ctx->cfg || !ctx->cfg->issuer || !ctx->cfg->client_id)
		return up_fail(ctx, UP_ECONFIG, "issuer and client_id are required");
	rc = up_provider_token_rules(ctx, flags, &rules);
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
