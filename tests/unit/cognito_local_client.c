/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drives lib/cognito.c against cognito-local (npm), a second, independent
 * implementation of the Cognito API, for tests/unit/cognito_local.sh.
 * Prints TAP result lines (no plan: the script prints it).
 *
 * usage: cognito_local_client CONFIG USERNAME PASSWORD DISABLED_USER
 *        cognito_local_client --sms CONFIG USERNAME PASSWORD NODE_LOG
 * --sms: SMS_MFA; the person's phone is cognito-local's log, where its
 * console message sender prints the code it sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

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

/* The conversation of the SMS run: the info lines it got, the prompts it
 * answered, and how many wrong codes to give first. */
struct sms_conv {
	const char *node_log;
	int wrong_first;
	int prompts;
	char info[256];
};

/* The last "Code: NNNNNN" cognito-local logged. */
static bool last_code(const char *log, char *code, size_t cap)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(log, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "Code:");
		size_t n = 0;

		if (!p)
			continue;
		for (p += 5; *p == ' '; p++)
			;
		while (p[n] >= '0' && p[n] <= '9' && n + 1 < cap)
			n++;
		if (n > 0) {
			memcpy(code, p, n);
			code[n] = '\0';
			found = true;
		}
	}
	fclose(f);
	return found;
}

static up_err sms_prompt(void *ud, const char *text, bool echo, char **ret)
{
	struct sms_conv *c = ud;
	char code[16];

	(void)echo;
	if (strcmp(text, UP_PROMPT_SMS_CODE) != 0)
		return UP_ECONV;
	c->prompts++;
	if (!last_code(c->node_log, code, sizeof(code)))
		return UP_ECONV;
	if (c->wrong_first-- > 0)
		code[0] = code[0] == '9' ? '0' : (char)(code[0] + 1);
	*ret = strdup(code);
	return *ret ? UP_OK : UP_ENOMEM;
}

static up_err sms_info(void *ud, const char *text)
{
	struct sms_conv *c = ud;

	snprintf(c->info, sizeof(c->info), "%s", text);
	return UP_OK;
}

static up_err sms_error(void *ud, const char *text)
{
	(void)ud;
	printf("# error line: %s\n", text);
	return UP_OK;
}

/* SMS_MFA against cognito-local, which checks the code it sent. */
static int sms_run(const char *config, const char *username, const char *password,
		   const char *node_log)
{
	struct sms_conv c = {.node_log = node_log};
	struct up_conv conv = {
	    .prompt = sms_prompt, .info = sms_info, .error = sms_error, .ud = &c};
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL;
	up_err r;

	if (up_ctx_new(&ctx) != UP_OK)
		return 2;
	r = up_ctx_load_config(ctx, config, 0, NULL, false);
	tap(r == UP_OK, "configuration loads (SMS)", ctx, r);
	if (r)
		return 1;
	r = up_cognito_signin(ctx, username, password, &conv, &auth);
	tap(r == UP_OK && auth && auth->mfa && auth->mfa_method == UP_MFA_SMS && c.prompts == 1,
	    "SMS_MFA: the code cognito-local sent signs in, recorded as SMS", ctx, r);
	tap(strncmp(c.info, "Code sent by SMS to ", 20) == 0,
	    "SMS_MFA: the person is told where the code went", ctx, r);
	printf("# info line: %s (AWS masks the number: +*******0100)\n", c.info);
	up_auth_free(auth);
	auth = NULL;

	c.prompts = 0;
	c.wrong_first = 1;
	r = up_cognito_signin(ctx, username, password, &conv, &auth);
	tap(r == UP_OK && auth && c.prompts == 2,
	    "SMS_MFA: a wrong code (CodeMismatchException), asked again, then the right one", ctx,
	    r);
	up_auth_free(auth);
	auth = NULL;

	c.prompts = 0;
	c.wrong_first = 5;
	r = up_cognito_signin(ctx, username, password, &conv, &auth);
	tap(r == UP_ECODE && !auth && c.prompts == 3, "SMS_MFA: three wrong codes are refused", ctx,
	    r);
	up_auth_free(auth);
	up_ctx_free(ctx);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL, *ref = NULL, *bad = NULL;
	struct up_jwks_info *info = NULL;
	struct up_cognito_user *user = NULL;
	bool has_kid = false;
	up_err r;

	if (argc == 6 && strcmp(argv[1], "--sms") == 0)
		return sms_run(argv[2], argv[3], argv[4], argv[5]);
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
		tap(r == UP_OK && user && strcmp(up_cognito_user_name(user), auth->claims->sub) == 0,
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
