/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives lib/cognito.c against cognito-local (npm), a second, independent
 * implementation of the Cognito API, for tests/unit/cognito_local.sh.
 * Prints TAP result lines (no plan: the script prints it).
 *
 * usage: cognito_local_client CONFIG USERNAME PASSWORD DISABLED_USER
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int failures;

static void tap(bool ok, const char *what, struct up_ctx *ctx, up_err r)
{
	printf("%s - cognito-local: %s", ok ? "ok" : "not ok", what);
	if (!ok)
		printf(" (%s: %s)", up_strerror(r), up_ctx_detail(ctx));
	printf("\n");
	if (!ok)
		failures++;
}

int main(int argc, char **argv)
{
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL, *ref = NULL, *bad = NULL;
	struct up_jwks_info *info = NULL;
	struct up_cognito_user *user = NULL;
	bool has_kid = false;
	up_err r;

	if (argc != 5) {
		fprintf(stderr, "usage: %s CONFIG USERNAME PASSWORD DISABLED_USER\n", argv[0]);
		return 2;
	}
	if (up_ctx_new(&ctx) != UP_OK)
		return 2;
	r = up_ctx_load_config(ctx, argv[1], 0, NULL, false);
	tap(r == UP_OK, "configuration loads", ctx, r);
	if (r)
		return 1;

	/* USER_PASSWORD_AUTH; the ID token is verified against the JWKS fetched
	 * from cognito-local (key id "CognitoLocal"). */
	r = up_cognito_signin(ctx, argv[2], argv[3], NULL, &auth);
	tap(r == UP_OK && auth && auth->claims && auth->claims->username &&
		    strcmp(auth->claims->username, argv[2]) == 0 && auth->claims->sub &&
		    auth->refresh_token,
	    "USER_PASSWORD_AUTH sign-in with verified tokens", ctx, r);

	r = up_jwks_info(ctx, &info);
	for (char **k = info ? info->kids : NULL; k && *k; k++)
		if (strcmp(*k, "CognitoLocal") == 0)
			has_kid = true;
	tap(r == UP_OK && info && info->fetched_at > 0 && has_kid,
	    "JWKS fetched and cached (kid CognitoLocal)", ctx, r);
	up_jwks_info_free(info);

	if (auth && auth->refresh_token) {
		/* cognito-local's cognito:username is the sub for e-mail pools,
		 * as on AWS; SECRET_HASH is not used (no client secret). */
		r = up_cognito_refresh(ctx, argv[2], auth->refresh_token, &ref);
		tap(r == UP_OK && ref && strcmp(ref->claims->sub, auth->claims->sub) == 0,
		    "REFRESH_TOKEN_AUTH gives verified tokens for the same subject", ctx, r);
	} else {
		tap(false, "REFRESH_TOKEN_AUTH (no refresh token)", ctx, UP_EPROTO);
	}

	if (auth) {
		r = up_cognito_get_user(ctx, auth->access_token, &user);
		tap(r == UP_OK && user && strcmp(user->username, auth->claims->sub) == 0,
		    "GetUser names the user by its sub", ctx, r);
		up_cognito_user_free(user);
	} else {
		tap(false, "GetUser (no sign-in)", ctx, UP_EPROTO);
	}

	/* AWS answers NotAuthorizedException (UP_EDENIED); cognito-local
	 * answers InvalidPasswordException (UP_EPOLICY). Either way: refused. */
	r = up_cognito_signin(ctx, argv[2], "Wrong-passw0rd!", NULL, &bad);
	tap(r != UP_OK && !bad, "a wrong password is refused", ctx, r);
	printf("# wrong password: %s (AWS: incorrect user name or password)\n", up_strerror(r));
	up_auth_free(bad);
	bad = NULL;

	/* UserNotFoundException, or NotAuthorizedException when the client
	 * prevents user-existence errors (AWS's default for new clients);
	 * cognito-local answers NotAuthorizedException "User not authorized". */
	r = up_cognito_signin(ctx, "nobody@example.org", argv[3], NULL, &bad);
	tap((r == UP_ENOUSER || r == UP_EDENIED) && !bad, "an unknown user is refused", ctx, r);
	printf("# unknown user: %s\n", up_strerror(r));
	up_auth_free(bad);
	bad = NULL;

	/* AWS refuses a disabled user ("User is disabled."); cognito-local
	 * lets them sign in. Reported, not asserted. */
	r = up_cognito_signin(ctx, argv[4], argv[3], NULL, &bad);
	printf("# disabled user: %s%s\n", up_strerror(r),
	       r == UP_OK ? " (differs from AWS: UP_EDISABLED)" : "");
	up_auth_free(bad);

	up_auth_free(ref);
	up_auth_free(auth);
	up_ctx_free(ctx);
	return failures ? 1 : 0;
}
