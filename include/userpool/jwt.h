/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_JWT_H
#define USERPOOL_JWT_H

#include <userpool/ctx.h>

UP_BEGIN_DECLS

enum up_token_kind {
	UP_TOKEN_ID = 0, /* ID token: aud (string or array) = client_id; Cognito token_use "id" */
	UP_TOKEN_ACCESS, /* Cognito access token: client_id = client_id, token_use "access" */
	UP_TOKEN_ANY	 /* detect from token_use (Cognito) or treat as ID token (OIDC) */
};

/* Verified claims of one token. Owned by the caller: up_claims_free(). */
struct up_claims {
	enum up_token_kind kind; /* the kind that was verified */
	char *sub;
	char *username; /* value of username_claim; NULL if absent (access/ANY) */
	char **groups;	/* groups_claim; NULL-terminated, never NULL */
	char **amr;	/* amr claim (OIDC); NULL-terminated, never NULL */
	char *issuer;
	int64_t auth_time; /* 0 when absent */
	int64_t iat;	   /* 0 when absent */
	int64_t exp;
	/* uid_claim and gid_claim (uid_source = claim) as text: a string as it
	 * is (at most 64 bytes kept), an integer in decimal, "" for any other
	 * JSON type; NULL when absent. Checked where they are used (nss_store). */
	char *uid_value;
	char *gid_value;
};

UP_EXPORT void up_claims_free(struct up_claims *claims);

/* Flags for up_token_verify() */
#define UP_VERIFY_OFFLINE 0x1u /* no network; cached JWKS whatever its age; exp not applied */

UP_END_DECLS

#endif
