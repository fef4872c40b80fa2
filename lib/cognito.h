/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_COGNITO_H
#define UP_LIB_COGNITO_H

/* Private to libuserpool (lib/cognito.c): Cognito's error names and token
 * rules (its operations are in provider.h). */

#include <userpool/err.h>

struct up_ctx;
struct up_token_rules;

/* GetUser's answer (opaque in <userpool/cognito.h>: accessors). */
struct up_cognito_user {
	char *username;
	char *preferred_mfa; /* "SOFTWARE_TOKEN_MFA", ... or NULL */
	char **mfa_settings; /* NULL-terminated */
	char **attr_names;   /* NULL-terminated, parallel to attr_values */
	char **attr_values;
};

/* The one mapping of the pool's error names (__type / x-amzn-ErrorType,
 * prefix and suffix stripped) to causes; the message becomes the detail. */
up_err up_cognito_map_error(struct up_ctx *ctx, const char *action, long status, const char *type,
			    const char *message);
up_err up_cognito_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules);

#endif
