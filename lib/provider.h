/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_PROVIDER_H
#define UP_LIB_PROVIDER_H

/*
 * One identity provider's operations (as SSSD's providers register
 * handlers in a method table). cognito.c and oidc.c each fill one in;
 * sign-in policy (signin.c and its neighbours) reaches a provider only
 * through up_provider(ctx), the one selector by the configured provider.
 * A NULL operation is one the provider does not have (the caller says so).
 */

#include <stdbool.h>
#include <stdint.h>

#include <userpool/userpool.h>

struct up_ctx;
struct up_token_rules;

struct up_provider_ops {
	const char *name; /* "cognito", "oidc" */
	/* userpool-enroll can add a second factor here (else the provider
	 * decides which factors it asks for) */
	bool enrolls_here;
	/* Fetch what the provider needs before a call (OIDC discovery);
	 * NULL: nothing to prepare. */
	up_err (*prepare)(struct up_ctx *ctx);
	/* The rules tokens of this provider are verified against (jwt.c);
	 * UP_VERIFY_OFFLINE in flags: no network (jwks_uri may stay NULL). */
	up_err (*token_rules)(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules);
	/* Does a sign-in with this configuration ask for a password? */
	bool (*needs_password)(const struct up_config *cfg);
	up_err (*signin)(struct up_ctx *ctx, const char *username, const char *password,
			 const struct up_conv *conv, struct up_auth **ret_auth);
	up_err (*refresh)(struct up_ctx *ctx, const char *username, const char *refresh_token,
			  struct up_auth **ret_auth);
	up_err (*revoke)(struct up_ctx *ctx, const char *refresh_token);
	/* NULL: the provider has no password change API */
	up_err (*change_password)(struct up_ctx *ctx, const char *access_token,
				  const char *old_password, const char *new_password);
	/* userpool status: check the app client (up_provider_probe_client);
	 * NULL: the provider has no such probe. */
	up_err (*probe_client)(struct up_ctx *ctx, int64_t *ret_skew, bool *ret_have_date);
	/* A URL a GET of which shows the provider is reachable (malloc'd). */
	up_err (*probe_url)(struct up_ctx *ctx, char **ret_url);
	/* Drop what the provider keeps in ctx (discovered endpoints). */
	void (*free)(struct up_ctx *ctx);
};

extern const struct up_provider_ops up_cognito_ops;
extern const struct up_provider_ops up_oidc_ops;

/* The operations of the configured provider; NULL (with a detail) when no
 * configuration is loaded. */
const struct up_provider_ops *up_provider(struct up_ctx *ctx);

/* The rules of the configured provider; `flags` UP_VERIFY_OFFLINE: no
 * discovery (jwks_uri may stay NULL). The strings belong to ctx. */
up_err up_provider_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules);
/* The JWKS URI in force (config, or OIDC discovery). */
up_err up_jwks_uri(struct up_ctx *ctx, const char **ret_uri);

#endif
