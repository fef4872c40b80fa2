/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_PROVIDER_H
#define USERPOOL_PROVIDER_H

#include <userpool/jwks.h>
#include <userpool/jwt.h>
#include <userpool/signin.h>

UP_BEGIN_DECLS

/*
 * The configured provider (Cognito or OIDC), reached without naming it: the
 * adapters (PAM module, tools) ask what it can do and call it through these,
 * and the library picks the provider's operations.
 */
enum up_provider_cap {
	UP_CAP_PASSWORD = 1,	/* a sign-in with this configuration asks for a password */
	UP_CAP_CHANGE_PASSWORD, /* the password is changed here (else: at the provider) */
	UP_CAP_ENROLL,		/* userpool-enroll can add a second factor here */
	UP_CAP_CLIENT_PROBE,	/* up_provider_probe_client checks the app client */
};

/* false also when no configuration is loaded */
UP_EXPORT bool up_provider_has(struct up_ctx *ctx, enum up_provider_cap cap);

/* Revoke a refresh token at the provider (Cognito RevokeToken, RFC 7009). */
UP_EXPORT up_err up_provider_revoke(struct up_ctx *ctx, const char *refresh_token);

/*
 * userpool status: check the app client with a sign-in that must be refused
 * (see up_cognito_probe). UP_ECONFIG when the provider has no such probe
 * (!up_provider_has(ctx, UP_CAP_CLIENT_PROBE)).
 */
UP_EXPORT up_err up_provider_probe_client(struct up_ctx *ctx, int64_t *ret_skew,
					  bool *ret_have_date);

/*
 * Verify a compact JWS token of `kind` (signature with the pool's JWKS,
 * iss, aud/client_id, token_use, exp/nbf/iat with leeway) and, when
 * `expected_username` is not NULL, that username_claim equals it. The JWKS
 * comes from the on-disk cache while fresh; an unknown kid causes at most
 * one re-fetch per 5 minutes.
 */
UP_EXPORT up_err up_token_verify(struct up_ctx *ctx, const char *token, enum up_token_kind kind,
				 const char *expected_username, unsigned flags,
				 struct up_claims **ret_claims);

/* Fetch the JWKS now and store it (userpool jwks refresh). */
UP_EXPORT up_err up_jwks_refresh(struct up_ctx *ctx);

/* What the JWKS cache holds (userpool status); up_jwks_info_free(). */
UP_EXPORT up_err up_jwks_info(struct up_ctx *ctx, struct up_jwks_info **ret_info);

/* Is the pool reachable? One GET of the JWKS URI (OIDC: the discovery
 * document), timed; *ret_ms is the round trip in milliseconds. */
UP_EXPORT up_err up_pool_ping(struct up_ctx *ctx, int64_t *ret_ms);

UP_END_DECLS

#endif
