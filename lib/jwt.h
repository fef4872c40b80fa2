/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_JWT_H
#define UP_LIB_JWT_H

/* Private to libuserpool (lib/jwt.c): tokens verified against the rules
 * they are handed. */

#include <stdbool.h>
#include <stdint.h>

#include <userpool/err.h>
#include <userpool/jwt.h>

struct up_ctx;

/* What a provider hands the verifier; jwt.c and jwks.c know no provider. */
struct up_token_rules {
	const char *issuer;		   /* iss must equal it */
	const char *client_id;		   /* aud (ID tokens); client_id, azp or aud (access) */
	const char *jwks_uri;		   /* NULL: unknown (only when offline: UP_ENOKEY) */
	const char *alt_issuer;		   /* NULL, or a second accepted iss ... */
	const char *alt_jwks_uri;	   /* ... whose keys come from here */
	bool token_use;			   /* token_use names the kind; access tokens carry
					      client_id (Cognito) */
	const char *username_claim;	   /* the name claim */
	const char *access_username_claim; /* in access tokens when the name claim is
					      absent; NULL: none */
	const char *groups_claim;
	const char *uid_claim, *gid_claim; /* copied as text into the claims; NULL: none */
	int64_t leeway;			   /* seconds of clock skew allowed */
};
up_err up_token_verify_rules(struct up_ctx *ctx, const struct up_token_rules *rules,
			     const char *token, enum up_token_kind kind,
			     const char *expected_username, unsigned flags,
			     struct up_claims **ret_claims);

#endif
