/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_OIDC_H
#define USERPOOL_OIDC_H

#include <userpool/signin.h>

UP_BEGIN_DECLS

/* Generic OpenID Connect (DESIGN §3). Endpoints come from discovery
 * (<issuer>/.well-known/openid-configuration), cached on disk. */

/* ROPC (auth_flow = password) or device authorization (auth_flow = device). */
UP_EXPORT up_err up_oidc_signin(struct up_ctx *ctx, const char *username, const char *password,
				const struct up_conv *conv, struct up_auth **ret_auth);
UP_EXPORT up_err up_oidc_refresh(struct up_ctx *ctx, const char *username,
				 const char *refresh_token, struct up_auth **ret_auth);
/* RFC 7009, when the provider advertises a revocation endpoint. */
UP_EXPORT up_err up_oidc_revoke(struct up_ctx *ctx, const char *refresh_token);

UP_END_DECLS

#endif
