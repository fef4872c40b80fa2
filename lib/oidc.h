/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_OIDC_H
#define UP_LIB_OIDC_H

/* Private to libuserpool (lib/oidc.c): discovery and the discovered
 * endpoints (its operations are in provider.h). */

#include <userpool/err.h>

struct up_ctx;
struct up_token_rules;

/* Discovered OIDC endpoints (lib/oidc.c); all NULL until discovery. */
struct up_oidc_endpoints {
	char *token_endpoint;
	char *device_authorization_endpoint;
	char *jwks_uri;
	char *userinfo_endpoint;
	char *revocation_endpoint;
};

up_err up_oidc_discover(struct up_ctx *ctx);
void up_oidc_endpoints_clear(struct up_oidc_endpoints *e);
up_err up_oidc_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules);

#endif
