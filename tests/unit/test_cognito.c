/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/cognito.c against the test user pool (tests/pool/pool.py) over HTTPS
 * with its own CA: every flow and challenge, the error mapping, the account
 * calls, network and TLS faults, and forged tokens.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "poolctl.h"


#define PW "Passw0rd-x"
#define PW2 "Passw0rd-y2"

static struct t_pool *P;
static int user_seq;

/* ---------------------------------------------------------------------- */
/* a scripted conversation */

struct conv {
	const char *answers[8]; /* given in order; "@CODE" = a TOTP code for `secret` */
	int n_answers;
	int next;
	int prompts;
	int wrong_codes;        /* "@CODE" answers given wrong first */
	bool fail_prompt;       /* prompt() returns an error */
	char secret[128];       /* from enroll() or the info text */
	char text[16384];       /* everything shown: "I:...", "E:...", "P:..." */
	size_t text_len;
	int enrolls;
};

static void conv_log(struct conv *c, const char *kind, const char *text)
{
	int n = snprintf(c->text + c->text_len, sizeof(c->text) - c->text_len, "%s%s\n", kind,
			 text);
	if (n > 0 && (size_t)n < sizeof(c->text) - c->text_len)
		c->text_len += (size_t)n;
}

static void secret_from_uri(struct conv *c, const char *text)
{
	const char *s = strstr(text, "secret=");
	size_t n;

	if (!s)
		return;
	s += 7;
	n = strcspn(s, "&\n ");
	if (n < sizeof(c->secret)) {
		memcpy(c->secret, s, n);
		c->secret[n] = '\0';
	}
}

static up_err cv_prompt(void *ud, const char *text, bool echo, char **ret)
{
	struct conv *c = ud;
	const char *a;

	(void)echo;
	c->prompts++;
	conv_log(c, "P:", text);
	if (c->fail_prompt || c->next >= c->n_answers)
		return UP_ECONV;
	a = c->answers[c->next++];
	if (strcmp(a, "@CODE") == 0) {
		char code[9];
		assert_true(c->secret[0] != '\0');
		t_totp_code(c->secret, -1, code);
		if (c->wrong_codes > 0) {
			c->wrong_codes--;
			code[5] = (char)('0' + (code[5] - '0' + 1) % 10);
		}
		*ret = strdup(code);
	} else {
		*ret = strdup(a);
	}
	return *ret ? UP_OK : UP_ENOMEM;
}

static up_err cv_info(void *ud, const char *text)
{
	struct conv *c = ud;

	conv_log(c, "I:", text);
	secret_from_uri(c, text);
	return UP_OK;
}

static up_err cv_error(void *ud, const char *text)
{
	conv_log(ud, "E:", text);
	return UP_OK;
}

static up_err cv_enroll(void *ud, const char *secret, const char *uri)
{
	struct conv *c = ud;

	c->enrolls++;
	assert_non_null(strstr(uri, "otpauth://totp/"));
	assert_true(strlen(secret) < sizeof(c->secret));
	memcpy(c->secret, secret, strlen(secret) + 1);
	return UP_OK;
}

static struct up_conv make_conv(struct conv *c, bool with_enroll)
{
	struct up_conv uc = { .prompt = cv_prompt, .info = cv_info, .error = cv_error,
			      .enroll = with_enroll ? cv_enroll : NULL, .ud = c };
	return uc;
}

static void answers(struct conv *c, int n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n && i < 8; i++)
		c->answers[c->n_answers++] = va_arg(ap, const char *);
	va_end(ap);
}

/* ---------------------------------------------------------------------- */
/* fixtures */

struct fx {
	char *dir;     /* config + state */
	struct t_log log;
	struct up_ctx *ctx;
};

static struct fx *fx_new(const char *extra)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *cfg;

	assert_non_null(f);
	f->dir = t_state_dir();
	cfg = t_pool_config(P, f->dir, extra);
	f->ctx = t_ctx_with_config(f->dir, cfg, &f->log, NULL);
	free(cfg);
	return f;
}

static void fx_free(struct fx *f)
{
	if (!f)
		return;
	up_ctx_free(f->ctx);
	t_rmtree(f->dir);
	free(f->dir);
	free(f);
}

static void pool_mfa(const char *mode)
{
	json_decref(t_pool_admin(P, "set_pool_mfa", "{s:s}", "mfa", mode));
}

static void new_user(char *name, size_t len, const char *prefix)
{
	snprintf(name, len, "%s%d", prefix, ++user_seq);
	t_pool_user(P, name, PW, NULL);
}

static int group_setup(void **state)
{
	(void)state;
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	P = t_pool_start(NULL);
	return P ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	t_pool_stop(P);
	P = NULL;
	return 0;
}

static int test_setup(void **state)
{
	(void)state;
	t_pool_clear_faults(P);
	pool_mfa("OPTIONAL");
	json_decref(t_pool_admin(P, "set_session_ttl", "{s:i}", "seconds", 180));
	json_decref(t_pool_admin(P, "set_client", "{s:s,s:n}", "client_id", P->client_id,
				 "secret"));
	return 0;
}

/* A sign-in that must fail with `want`; no result is handed out. */
#define expect_signin(f, u, p, c, w) expect_signin_at(__LINE__, f, u, p, c, w)
static void expect_signin_at(int line, struct fx *f, const char *user, const char *pw,
			     const struct up_conv *uc, up_err want)
{
	struct up_auth *auth = NULL;
	up_err r = up_cognito_signin(f->ctx, user, pw, uc, &auth);

	if (r != want)
		print_error("line %d: sign-in: got %s (%s), want %s\n", line, up_strerror(r),
			    up_ctx_detail(f->ctx), up_strerror(want));
	assert_int_equal(r, want);
	if (r)
		assert_null(auth);
	up_auth_free(auth);
}

static struct up_auth *signin_ok(struct fx *f, const char *user, const char *pw,
				 const struct up_conv *uc)
{
	struct up_auth *auth = NULL;
	up_err r = up_cognito_signin(f->ctx, user, pw, uc, &auth);

	if (r)
		print_error("sign-in: %s (%s)\n", up_strerror(r), up_ctx_detail(f->ctx));
	assert_int_equal(r, UP_OK);
	assert_non_null(auth);
	assert_non_null(auth->claims);
	assert_string_equal(auth->claims->username, user);
	assert_non_null(auth->id_token);
	assert_non_null(auth->access_token);
	return auth;
}

/* ---------------------------------------------------------------------- */
/* the error table */

static void test_map_error_table(void **state)
{
	static const struct {
		const char *type, *msg;
		up_err want;
	} cases[] = {
		{ "NotAuthorizedException", "Incorrect username or password.", UP_EDENIED },
		{ "NotAuthorizedException", "User is disabled.", UP_EDISABLED },
		{ "NotAuthorizedException", "Invalid session for the user, session is expired.",
		  UP_ESESSION },
		{ "NotAuthorizedException", "Password attempts exceeded", UP_ERATE },
		{ "com.amazonaws.cognito#NotAuthorizedException:http://internal.amazon.com/x",
		  "nope", UP_EDENIED },
		{ "NotAuthorizedException:", "User is disabled.", UP_EDISABLED },
		{ "UserNotFoundException", "User does not exist.", UP_ENOUSER },
		{ "CodeMismatchException", NULL, UP_ECODE },
		{ "ExpiredCodeException", NULL, UP_ECODEEXPIRED },
		{ "PasswordResetRequiredException", NULL, UP_ERESET },
		{ "UserNotConfirmedException", NULL, UP_ENOTCONFIRMED },
		{ "TooManyRequestsException", NULL, UP_ERATE },
		{ "LimitExceededException", NULL, UP_ERATE },
		{ "TooManyFailedAttemptsException", NULL, UP_ERATE },
		{ "InvalidPasswordException", "Password not long enough", UP_EPOLICY },
		{ "InvalidParameterException", NULL, UP_EPARAM },
		{ "SoftwareTokenMFANotFoundException", NULL, UP_ENOMFA },
		{ "EnableSoftwareTokenMFAException", NULL, UP_ECODE },
		{ "InternalErrorException", NULL, UP_ESERVER },
		/* issue 18: clear causes, not "malformed response" */
		{ "ResourceNotFoundException", "User pool client x does not exist.", UP_ENOTFOUND },
		{ "UserLambdaValidationException", "PreAuthentication failed with error No.", UP_ELAMBDA },
		{ "InvalidUserPoolConfigurationException", "x", UP_EPOOLCONFIG },
		{ "ForbiddenException", "x", UP_EFORBIDDEN },
		{ "aws#SomethingNewException:xyz", NULL, UP_EPROTO },
		{ "", NULL, UP_EHTTP },
		{ NULL, NULL, UP_EHTTP },
	};
	struct up_ctx *ctx = NULL;

	(void)state;
	assert_int_equal(up_ctx_new(&ctx), UP_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		up_err r = up_cognito_map_error(ctx, "Act", 400, cases[i].type, cases[i].msg);
		if (r != cases[i].want)
			print_error("case %zu (%s): got %d\n", i, cases[i].type ? cases[i].type : "",
				    r);
		assert_int_equal(r, cases[i].want);
	}
	/* The detail keeps the stripped name and the pool's message. */
	up_cognito_map_error(ctx, "InitiateAuth", 400, "x#SomethingNewException:zz", "hello");
	assert_non_null(strstr(up_ctx_detail(ctx), "SomethingNewException"));
	assert_null(strstr(up_ctx_detail(ctx), "x#"));
	assert_null(strstr(up_ctx_detail(ctx), ":zz"));
	assert_non_null(strstr(up_ctx_detail(ctx), "hello"));
	up_ctx_free(ctx);
}

/* ---------------------------------------------------------------------- */
/* flows */

static void test_srp_totp_three_requests(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\n");
	struct up_ctx *ctx2 = NULL;
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	struct up_auth *auth;
	char user[64], code[9], *secret, *cfg;

	(void)state;
	pool_mfa("ON");
	new_user(user, sizeof(user), "srp");
	secret = t_pool_enable_totp(P, user);
	/* Warm the JWKS cache, then sign in with a new context (a new process). */
	assert_int_equal(up_jwks_refresh(f->ctx), UP_OK);
	cfg = t_pool_config(P, f->dir, "auth_flow = srp\n");
	ctx2 = t_ctx_with_config(f->dir, cfg, NULL, NULL);
	free(cfg);
	t_pool_totp_code(P, user, code);
	answers(&c, 1, code);
	t_pool_reset_stats(P);
	up_ctx_free(f->ctx);
	f->ctx = ctx2;
	auth = signin_ok(f, user, PW, &uc);
	assert_true(auth->mfa);
	assert_false(auth->offline);
	assert_non_null(auth->refresh_token);
	assert_int_equal(c.prompts, 1);
	assert_non_null(strstr(c.text, "P:" UP_PROMPT_CODE));
	/* Exactly 3 API requests, no JWKS fetch, one connection. */
	assert_int_equal(t_pool_stat_target(P, "InitiateAuth"), 1);
	assert_int_equal(t_pool_stat_target(P, "RespondToAuthChallenge"), 2);
	assert_int_equal(t_pool_stat_path(P, "/us-east-1_TestPool1/.well-known/jwks.json"), 0);
	assert_int_equal(t_pool_stat_connections(P), 1);
	assert_int_equal(up_http_connects(f->ctx), 1);
	up_auth_free(auth);
	free(secret);
	fx_free(f);
}

static void test_password_totp_two_requests(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	struct up_auth *auth;
	char user[64], code[9], *secret;

	(void)state;
	pool_mfa("ON");
	new_user(user, sizeof(user), "pwd");
	secret = t_pool_enable_totp(P, user);
	assert_int_equal(up_jwks_refresh(f->ctx), UP_OK);
	t_pool_totp_code(P, user, code);
	answers(&c, 1, code);
	t_pool_reset_stats(P);
	auth = signin_ok(f, user, PW, &uc);
	assert_true(auth->mfa);
	assert_int_equal(t_pool_stat_target(P, "InitiateAuth"), 1);
	assert_int_equal(t_pool_stat_target(P, "RespondToAuthChallenge"), 1);
	assert_int_equal(t_pool_stat_path(P, "/us-east-1_TestPool1/.well-known/jwks.json"), 0);
	/* The connection of the JWKS fetch was reused. */
	assert_int_equal(t_pool_stat_connections(P), 0);
	assert_int_equal(up_http_connects(f->ctx), 1);
	up_auth_free(auth);
	free(secret);
	fx_free(f);
}

static void test_no_mfa_signin(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\n");
	struct up_auth *auth;
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "plain");
	/* No challenge after the password: no conversation needed. */
	auth = signin_ok(f, user, PW, NULL);
	assert_false(auth->mfa);
	assert_non_null(auth->claims->sub);
	up_auth_free(auth);
	/* A wrong password, an unknown user. */
	expect_signin(f, user, "Wrong-pass1", NULL, UP_EDENIED);
	expect_signin(f, "nobody-here", PW, NULL, UP_ENOUSER);
	fx_free(f);
}

static void test_select_mfa_type(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	struct up_auth *auth;
	char user[64], code[9], *secret;

	(void)state;
	new_user(user, sizeof(user), "sel");
	secret = t_pool_enable_totp(P, user);
	json_decref(t_pool_admin(P, "set_select_mfa", "{s:s,s:b}", "username", user, "enabled", 1));
	t_pool_totp_code(P, user, code);
	answers(&c, 1, code);
	t_pool_reset_stats(P);
	auth = signin_ok(f, user, PW, &uc);
	assert_true(auth->mfa);
	assert_int_equal(t_pool_stat_target(P, "RespondToAuthChallenge"), 2);
	up_auth_free(auth);
	free(secret);
	fx_free(f);
}

static void test_select_mfa_without_totp(void **state)
{
	/* issue 20: SMS is a factor this machine may refuse (mfa_methods) */
	struct fx *f = fx_new("auth_flow = password\nmfa_methods = totp, email\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "selsms");
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body",
		     "{\"ChallengeName\":\"SELECT_MFA_TYPE\",\"ChallengeParameters\":"
		     "{\"MFAS_CAN_CHOOSE\":\"[\\\"SMS_MFA\\\"]\"},\"Session\":\"abc\"}");
	expect_signin(f, user, PW, &uc, UP_ENOMFA);
	assert_int_equal(c.prompts, 0);
	assert_non_null(up_ctx_user_message(f->ctx));
	fx_free(f);
}

static void test_new_password_required(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	struct up_auth *auth;
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "newpw");
	json_decref(t_pool_admin(P, "require_new_password", "{s:s}", "username", user));
	/* A mismatch, then a password the policy refuses, then a good one. */
	answers(&c, 6, "Fresh-pass1", "Fresh-pass2", "short", "short", PW2, PW2);
	auth = signin_ok(f, user, PW, &uc);
	assert_false(auth->mfa);
	assert_int_equal(c.prompts, 6);
	assert_non_null(strstr(c.text, "E:Passwords do not match"));
	assert_non_null(strstr(c.text, "E:Password does not conform to policy"));
	assert_non_null(strstr(c.text, "P:" UP_PROMPT_NEW_PASSWORD));
	assert_non_null(strstr(c.text, "P:" UP_PROMPT_RETYPE_PASSWORD));
	/* The info text comes before the first prompt. */
	assert_true(strncmp(c.text, "I:", 2) == 0);
	up_auth_free(auth);
	/* The new password is now the password; the old one is refused. */
	auth = signin_ok(f, user, PW2, NULL);
	up_auth_free(auth);
	expect_signin(f, user, PW, NULL, UP_EDENIED);
	fx_free(f);
}

static void test_new_password_gives_up(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct conv c = { 0 }, c2 = { 0 };
	struct up_conv uc = make_conv(&c, true), uc2 = make_conv(&c2, true);
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "newpw2");
	json_decref(t_pool_admin(P, "require_new_password", "{s:s}", "username", user));
	answers(&c, 6, "A-pass1111", "B-pass1111", "A-pass1111", "C-pass1111", "x1", "y1");
	expect_signin(f, user, PW, &uc, UP_ECONV);
	assert_int_equal(c.prompts, 6);
	/* Three refusals by the policy: the pool's answer is returned. */
	answers(&c2, 6, "short", "short", "short", "short", "short", "short");
	expect_signin(f, user, PW, &uc2, UP_EPOLICY);
	fx_free(f);
}

static void test_mfa_setup(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\nenroll_on_login = yes\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	struct up_auth *auth;
	json_t *u;
	char user[64];

	(void)state;
	pool_mfa("ON");
	new_user(user, sizeof(user), "setup");
	c.wrong_codes = 1;
	answers(&c, 2, "@CODE", "@CODE");
	t_pool_reset_stats(P);
	auth = signin_ok(f, user, PW, &uc);
	assert_true(auth->mfa);
	assert_int_equal(c.enrolls, 1);
	assert_int_equal(c.prompts, 2);
	assert_non_null(strstr(c.text, "E:Verification code rejected"));
	assert_int_equal(t_pool_stat_target(P, "AssociateSoftwareToken"), 1);
	assert_int_equal(t_pool_stat_target(P, "VerifySoftwareToken"), 2);
	up_auth_free(auth);
	/* The pool now holds the secret shown to the user. */
	u = t_pool_admin(P, "get_totp_secret", "{s:s}", "username", user);
	assert_string_equal(json_string_value(json_object_get(u, "secret")), c.secret);
	assert_true(json_is_true(json_object_get(u, "enabled")));
	json_decref(u);
	fx_free(f);
}

static void test_mfa_setup_text(void **state)
{
	struct fx *f = fx_new("auth_flow = password\ntotp_issuer = Example Corp\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, false);
	struct up_auth *auth;
	char user[64];

	(void)state;
	pool_mfa("ON");
	new_user(user, sizeof(user), "setuptxt");
	answers(&c, 1, "@CODE");
	auth = signin_ok(f, user, PW, &uc);
	assert_true(auth->mfa);
	/* The library's own text: QR, URI and the secret in groups of four,
	 * followed by the code prompt. */
	assert_non_null(strstr(c.text, "I:"));
	assert_non_null(strstr(c.text, "otpauth://totp/Example%20Corp:"));
	assert_true(strlen(c.secret) >= 16);
	{
		char grp[6];
		memcpy(grp, c.secret, 4);
		grp[4] = ' ';
		grp[5] = '\0';
		assert_non_null(strstr(c.text, grp));
	}
	assert_true(strstr(c.text, "I:") < strstr(c.text, "P:" UP_PROMPT_CODE));
	up_auth_free(auth);
	fx_free(f);
}

static void test_mfa_setup_three_wrong(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	char user[64];

	(void)state;
	pool_mfa("ON");
	new_user(user, sizeof(user), "setupbad");
	c.wrong_codes = 3;
	answers(&c, 4, "@CODE", "@CODE", "@CODE", "@CODE");
	expect_signin(f, user, PW, &uc, UP_ECODE);
	assert_int_equal(c.prompts, 3);
	fx_free(f);
}

static void test_mfa_setup_disabled(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\nenroll_on_login = no\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	char user[64];

	(void)state;
	pool_mfa("ON");
	new_user(user, sizeof(user), "noenroll");
	t_pool_reset_stats(P);
	expect_signin(f, user, PW, &uc, UP_ENOMFA);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "userpool-enroll"));
	assert_int_equal(c.prompts, 0);
	assert_int_equal(t_pool_stat_target(P, "AssociateSoftwareToken"), 0);
	fx_free(f);
}

static void test_unknown_challenge(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "custom");
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body",
		     "{\"ChallengeName\":\"CUSTOM_CHALLENGE\",\"ChallengeParameters\":{},"
		     "\"Session\":\"abc\"}");
	expect_signin(f, user, PW, &uc, UP_ECHALLENGE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "CUSTOM_CHALLENGE"));
	t_pool_clear_faults(P);
	/* A 200 with neither tokens nor a challenge, or with both. */
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body", "{\"ChallengeParameters\":{}}");
	expect_signin(f, user, PW, &uc, UP_EPROTO);
	t_pool_clear_faults(P);
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body",
		     "{\"ChallengeName\":\"SOFTWARE_TOKEN_MFA\",\"AuthenticationResult\":"
		     "{\"IdToken\":\"a.b.c\",\"AccessToken\":\"a.b.c\"}}");
	expect_signin(f, user, PW, &uc, UP_EPROTO);
	t_pool_clear_faults(P);
	/* Tokens that are not strings, and a result without tokens. */
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body", "{\"AuthenticationResult\":{\"IdToken\":5}}");
	expect_signin(f, user, PW, &uc, UP_EPROTO);
	t_pool_clear_faults(P);
	/* A duplicate key: strict parsing. */
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body", "{\"ChallengeName\":\"X\",\"ChallengeName\":\"Y\"}");
	expect_signin(f, user, PW, &uc, UP_EPROTO);
	assert_int_equal(c.prompts, 0);
	fx_free(f);
}

/* Issue 20: device challenges (never asked of a client that sends no
 * DEVICE_KEY), passkeys and one-time codes as a first factor are refused
 * before anything is asked; a CUSTOM_CHALLENGE outside auth_flow = custom
 * too; USER_AUTH's SELECT_CHALLENGE needs a top-level AvailableChallenges. */
static void test_refused_challenges(void **state)
{
	static const char *const names[] = {"DEVICE_SRP_AUTH", "DEVICE_PASSWORD_VERIFIER",
					    "WEB_AUTHN", "SMS_OTP"};
	struct fx *f = fx_new("auth_flow = password\n");
	struct fx *ua = fx_new("auth_flow = user_auth\n");
	struct conv c = {0};
	struct up_conv uc = make_conv(&c, true);
	char user[64], body[256];

	(void)state;
	new_user(user, sizeof(user), "refuse");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"ChallengeName\":\"%s\",\"ChallengeParameters\":{},\"Session\":\"s\"}",
			 names[i]);
		t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth",
			     "code", 200, "body", body);
		expect_signin(f, user, PW, &uc, UP_ECHALLENGE);
		assert_non_null(strstr(up_ctx_detail(f->ctx), names[i]));
		t_pool_clear_faults(P);
	}
	/* the last one, SMS_OTP: a one-time code instead of the password */
	assert_non_null(strstr(up_ctx_user_message(f->ctx), "A one-time code alone"));
	/* USER_AUTH: SELECT_CHALLENGE without (or with a malformed)
	 * AvailableChallenges; one that offers only a passkey */
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body",
		     "{\"ChallengeName\":\"SELECT_CHALLENGE\",\"ChallengeParameters\":"
		     "{\"AvailableChallenges\":\"[\\\"PASSWORD_SRP\\\"]\"},\"Session\":\"s\"}");
	expect_signin(ua, user, PW, &uc, UP_EPROTO);
	t_pool_clear_faults(P);
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     200, "body",
		     "{\"ChallengeName\":\"SELECT_CHALLENGE\",\"AvailableChallenges\":"
		     "[\"WEB_AUTHN\"],\"Session\":\"s\"}");
	expect_signin(ua, user, PW, &uc, UP_ECHALLENGE);
	assert_string_equal(up_ctx_user_message(ua->ctx),
			    "passkeys need a browser; this sign-in is text only");
	t_pool_clear_faults(P);
	assert_int_equal(c.prompts, 0);
	fx_free(ua);
	fx_free(f);
}

static void test_challenge_loop_bounded(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "loop");
	/* A pool that keeps asking SELECT_MFA_TYPE for ever. */
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "Auth", "code", 200,
		     "body",
		     "{\"ChallengeName\":\"SELECT_MFA_TYPE\",\"ChallengeParameters\":"
		     "{\"MFAS_CAN_CHOOSE\":\"[\\\"SOFTWARE_TOKEN_MFA\\\"]\"},\"Session\":\"s\"}");
	t_pool_reset_stats(P);
	expect_signin(f, user, PW, &uc, UP_ECHALLENGE);
	assert_true(t_pool_stat_target(P, "RespondToAuthChallenge") <= 8);
	fx_free(f);
}

/* ---------------------------------------------------------------------- */
/* errors from the pool */

static void test_pool_errors(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	char user[64], code[9], *secret;
	json_t *st;

	(void)state;
	new_user(user, sizeof(user), "err");
	json_decref(t_pool_admin(P, "disable_user", "{s:s}", "username", user));
	expect_signin(f, user, PW, NULL, UP_EDISABLED);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "User is disabled."));
	json_decref(t_pool_admin(P, "enable_user", "{s:s}", "username", user));
	json_decref(t_pool_admin(P, "set_status", "{s:s,s:s}", "username", user, "status",
				 "RESET_REQUIRED"));
	expect_signin(f, user, PW, NULL, UP_ERESET);
	json_decref(t_pool_admin(P, "set_status", "{s:s,s:s}", "username", user, "status",
				 "UNCONFIRMED"));
	expect_signin(f, user, PW, NULL, UP_ENOTCONFIRMED);
	json_decref(t_pool_admin(P, "set_status", "{s:s,s:s}", "username", user, "status",
				 "CONFIRMED"));

	/* TOTP: a wrong code, a reused one, an expired session. */
	secret = t_pool_enable_totp(P, user);
	answers(&c, 1, "000000");
	t_totp_code(secret, -1, code);
	if (strcmp(code, "000000") == 0)
		c.answers[0] = "111111";
	expect_signin(f, user, PW, &uc, UP_ECODE);
	t_pool_totp_code(P, user, code);
	c.next = c.n_answers = 0;
	answers(&c, 2, code, code);
	{
		struct up_auth *auth = signin_ok(f, user, PW, &uc);
		up_auth_free(auth);
	}
	expect_signin(f, user, PW, &uc, UP_ECODEEXPIRED);
	json_decref(t_pool_admin(P, "set_session_ttl", "{s:f}", "seconds", 0.0));
	c.next = c.n_answers = 0;
	answers(&c, 1, "123456");
	expect_signin(f, user, PW, &uc, UP_ESESSION);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "session is expired"));
	json_decref(t_pool_admin(P, "set_session_ttl", "{s:i}", "seconds", 180));
	st = t_pool_admin(P, "stats", NULL);
	json_decref(st);
	free(secret);
	fx_free(f);
}

static void test_injected_errors(void **state)
{
	static const struct {
		const char *type, *msg;
		int code;
		up_err want;
	} cases[] = {
		{ "TooManyRequestsException", "Rate exceeded", 400, UP_ERATE },
		{ "LimitExceededException", "Attempt limit exceeded", 400, UP_ERATE },
		{ "TooManyFailedAttemptsException", "x", 400, UP_ERATE },
		{ "InvalidPasswordException", "Password not long enough", 400, UP_EPOLICY },
		{ "InvalidParameterException", "x", 400, UP_EPARAM },
		{ "SoftwareTokenMFANotFoundException", "x", 400, UP_ENOMFA },
		{ "EnableSoftwareTokenMFAException", "x", 400, UP_ECODE },
		{ "CodeMismatchException", "x", 400, UP_ECODE },
		{ "ExpiredCodeException", "x", 400, UP_ECODEEXPIRED },
		{ "PasswordResetRequiredException", "x", 400, UP_ERESET },
		{ "UserNotConfirmedException", "x", 400, UP_ENOTCONFIRMED },
		{ "UserNotFoundException", "x", 400, UP_ENOUSER },
		{ "NotAuthorizedException", "User is disabled.", 400, UP_EDISABLED },
		{ "NotAuthorizedException", "Invalid session for the user, session is expired.", 400,
		  UP_ESESSION },
		{ "com.amazon.cognito#NotAuthorizedException", "Incorrect", 400, UP_EDENIED },
		{ "InternalErrorException", "x", 400, UP_ESERVER },
		{ "InternalErrorException", "x", 500, UP_ESERVER },
		{ "WeirdNewException", "x", 400, UP_EPROTO },
		{ "ResourceNotFoundException", "User pool client x does not exist.", 400, UP_ENOTFOUND },
		{ "UserLambdaValidationException", "PreAuthentication failed with error Closed.", 400,
		  UP_ELAMBDA },
		{ "InvalidUserPoolConfigurationException", "x", 400, UP_EPOOLCONFIG },
		{ "ForbiddenException", "x", 403, UP_EFORBIDDEN },
	};
	struct fx *f = fx_new("auth_flow = password\n");
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "inj");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_pool_clear_faults(P);
		t_pool_fault(P, "{s:s,s:s,s:i,s:s,s:s,s:i}", "action", "status", "match",
			     "InitiateAuth", "code", cases[i].code, "type", cases[i].type,
			     "message", cases[i].msg, "count", 1);
		expect_signin(f, user, PW, NULL, cases[i].want);
	}
	/* Only the header names the error (no __type in the body). */
	t_pool_clear_faults(P);
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     400, "body", "{\"message\":\"no type here\"}");
	expect_signin(f, user, PW, NULL, UP_EHTTP);
	/* A 404 with a non-JSON body. */
	t_pool_clear_faults(P);
	t_pool_fault(P, "{s:s,s:s,s:i,s:s}", "action", "status", "match", "InitiateAuth", "code",
		     404, "body", "not found");
	expect_signin(f, user, PW, NULL, UP_ENOTFOUND); /* not found, not unreachable */
	fx_free(f);
}

/* ---------------------------------------------------------------------- */
/* account calls */

static void test_refresh_revoke(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct up_auth *auth, *ref = NULL;
	char user[64], *rt;

	(void)state;
	new_user(user, sizeof(user), "refresh");
	auth = signin_ok(f, user, PW, NULL);
	assert_non_null(auth->refresh_token);
	assert_int_equal(up_cognito_refresh(f->ctx, user, auth->refresh_token, &ref), UP_OK);
	assert_non_null(ref);
	assert_string_equal(ref->claims->username, user);
	assert_string_equal(ref->claims->sub, auth->claims->sub);
	assert_null(ref->refresh_token);
	assert_false(ref->mfa);
	up_auth_free(ref);
	ref = NULL;
	/* A refresh token that is not one. */
	assert_int_equal(up_cognito_refresh(f->ctx, user, "garbage", &ref), UP_EDENIED);
	assert_null(ref);
	/* Revoked: refresh fails afterwards. */
	rt = strdup(auth->refresh_token);
	assert_int_equal(up_cognito_revoke(f->ctx, rt), UP_OK);
	assert_int_equal(up_cognito_refresh(f->ctx, user, rt, &ref), UP_EDENIED);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "revoked"));
	assert_null(ref);
	free(rt);
	up_auth_free(auth);
	/* Bad arguments. */
	assert_int_equal(up_cognito_revoke(f->ctx, ""), UP_EINVAL);
	assert_int_equal(up_cognito_refresh(f->ctx, user, NULL, &ref), UP_EINVAL);
	fx_free(f);
}

static void test_get_user_and_token_enrolment(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct up_cognito_user *u = NULL;
	struct up_auth *auth;
	char user[64], code[9], bad[9], *secret = NULL;
	bool has_sub = false;

	(void)state;
	new_user(user, sizeof(user), "acct");
	json_decref(t_pool_admin(P, "set_email", "{s:s,s:s}", "username", user, "email",
				 "a@example.org"));
	auth = signin_ok(f, user, PW, NULL);
	assert_int_equal(up_cognito_get_user(f->ctx, auth->access_token, &u), UP_OK);
	assert_string_equal(u->username, user);
	assert_null(u->preferred_mfa);
	assert_null(u->mfa_settings[0]);
	for (size_t i = 0; u->attr_names[i]; i++) {
		assert_non_null(u->attr_values[i]);
		if (strcmp(u->attr_names[i], "sub") == 0) {
			assert_string_equal(u->attr_values[i], auth->claims->sub);
			has_sub = true;
		}
	}
	assert_true(has_sub);
	/* the public accessors read the same fields */
	assert_string_equal(up_cognito_user_name(u), user);
	assert_null(up_cognito_user_preferred_mfa(u));
	assert_null(up_cognito_user_mfa_settings(u)[0]);
	assert_string_equal(up_cognito_user_attr(u, "sub"), auth->claims->sub);
	assert_string_equal(up_cognito_user_attr(u, "email"), "a@example.org");
	assert_null(up_cognito_user_attr(u, "custom:none"));
	assert_null(up_cognito_user_attr(u, NULL));
	up_cognito_user_free(u);
	u = NULL;
	assert_null(up_cognito_user_name(NULL));
	assert_null(up_cognito_user_preferred_mfa(NULL));
	assert_null(up_cognito_user_mfa_settings(NULL));
	assert_null(up_cognito_user_attr(NULL, "sub"));

	/* Set-preference before any token: refused by the pool. */
	assert_int_equal(up_cognito_set_mfa_preference(f->ctx, auth->access_token, true, true),
			 UP_EPARAM);
	assert_int_equal(up_cognito_associate_token(f->ctx, auth->access_token, &secret), UP_OK);
	assert_non_null(secret);
	t_totp_code(secret, -1, code);
	memcpy(bad, code, sizeof(bad));
	bad[0] = (char)('0' + (bad[0] - '0' + 1) % 10);
	assert_int_equal(up_cognito_verify_token(f->ctx, auth->access_token, bad, "host1"), UP_ECODE);
	assert_int_equal(up_cognito_verify_token(f->ctx, auth->access_token, code, "host1"), UP_OK);
	assert_int_equal(up_cognito_set_mfa_preference(f->ctx, auth->access_token, true, true),
			 UP_OK);
	assert_int_equal(up_cognito_get_user(f->ctx, auth->access_token, &u), UP_OK);
	assert_string_equal(u->preferred_mfa, "SOFTWARE_TOKEN_MFA");
	assert_string_equal(u->mfa_settings[0], "SOFTWARE_TOKEN_MFA");
	assert_string_equal(up_cognito_user_preferred_mfa(u), "SOFTWARE_TOKEN_MFA");
	assert_string_equal(up_cognito_user_mfa_settings(u)[0], "SOFTWARE_TOKEN_MFA");
	assert_null(up_cognito_user_mfa_settings(u)[1]);
	up_cognito_user_free(u);
	up_free_secret(secret);
	/* A token the pool does not accept. */
	assert_int_equal(up_cognito_get_user(f->ctx, "a.b.c", &u), UP_EDENIED);
	up_auth_free(auth);
	up_cognito_user_free(NULL);
	fx_free(f);
}

/* userpool-enroll's enrolment (up_cognito_enroll): the routine of the
 * MFA_SETUP answer with an access token: shown through the enroll hook (or
 * the library's text), the code asked through the conversation, a wrong one
 * said with the try count, three tries in all. */
static void test_enroll_access_token(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct conv c = { 0 }, t = { 0 }, w = { 0 };
	struct up_conv uc = make_conv(&c, true), ut = make_conv(&t, false), uw = make_conv(&w, true);
	struct up_auth *auth;
	char user[64], *secret = NULL, *code = NULL;
	json_t *u;

	(void)state;
	new_user(user, sizeof(user), "enr");
	auth = signin_ok(f, user, PW, NULL);
	assert_int_equal(up_cognito_enroll(f->ctx, auth->access_token, user, "host1", NULL, &secret,
					   NULL),
			 UP_EINVAL);
	c.wrong_codes = 1;
	answers(&c, 2, "@CODE", "@CODE");
	t_pool_reset_stats(P);
	assert_int_equal(up_cognito_enroll(f->ctx, auth->access_token, user, "host1", &uc, &secret,
					   &code),
			 UP_OK);
	assert_int_equal(c.enrolls, 1);
	assert_int_equal(c.prompts, 2);
	assert_non_null(strstr(c.text, "E:Verification code rejected; try the next code (2 of 3).\n"));
	assert_string_equal(secret, c.secret);
	assert_int_equal(strlen(code), 6);
	assert_int_equal(t_pool_stat_target(P, "AssociateSoftwareToken"), 1);
	assert_int_equal(t_pool_stat_target(P, "VerifySoftwareToken"), 2);
	u = t_pool_admin(P, "get_totp_secret", "{s:s}", "username", user);
	/* verified (no longer pending); enabled only by SetUserMFAPreference */
	assert_string_equal(json_string_value(json_object_get(u, "secret")), secret);
	assert_true(json_is_null(json_object_get(u, "pending")));
	json_decref(u);
	up_free_secret(secret);
	up_free_secret(code);
	secret = code = NULL;

	/* No enroll hook: the library's text through info(), then the prompt. */
	answers(&t, 1, "@CODE");
	assert_int_equal(up_cognito_enroll(f->ctx, auth->access_token, user, NULL, &ut, &secret,
					   NULL),
			 UP_OK);
	assert_string_equal(secret, t.secret);
	assert_non_null(strstr(t.text, "otpauth://totp/userpool:"));
	assert_true(strstr(t.text, "I:") < strstr(t.text, "P:" UP_PROMPT_CODE));
	up_free_secret(secret);
	secret = NULL;

	/* Three wrong codes: UP_ECODE, no fourth prompt, outputs untouched. */
	w.wrong_codes = 3;
	answers(&w, 4, "@CODE", "@CODE", "@CODE", "@CODE");
	assert_int_equal(up_cognito_enroll(f->ctx, auth->access_token, user, "host1", &uw, &secret,
					   &code),
			 UP_ECODE);
	assert_int_equal(w.prompts, 3);
	assert_null(secret);
	assert_null(code);
	assert_non_null(strstr(w.text, "(3 of 3)"));
	assert_null(strstr(w.text, "(4 of 3)"));
	up_auth_free(auth);
	fx_free(f);
}

static void test_change_password(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\n");
	struct up_auth *auth;
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "chpw");
	auth = signin_ok(f, user, PW, NULL);
	assert_int_equal(up_cognito_change_password(f->ctx, auth->access_token, "Wrong-1111", PW2),
			 UP_EDENIED);
	assert_int_equal(up_cognito_change_password(f->ctx, auth->access_token, PW, "short"),
			 UP_EPOLICY);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "Password not long enough"));
	assert_int_equal(up_cognito_change_password(f->ctx, auth->access_token, PW, PW2), UP_OK);
	up_auth_free(auth);
	auth = signin_ok(f, user, PW2, NULL);
	up_auth_free(auth);
	expect_signin(f, user, PW, NULL, UP_EDENIED);
	fx_free(f);
}

static void test_global_signout(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct up_auth *auth, *ref = NULL;
	struct up_cognito_user *u = NULL;
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "gso");
	auth = signin_ok(f, user, PW, NULL);
	assert_int_equal(up_cognito_global_signout(f->ctx, auth->access_token), UP_OK);
	assert_int_equal(up_cognito_refresh(f->ctx, user, auth->refresh_token, &ref), UP_EDENIED);
	assert_int_equal(up_cognito_get_user(f->ctx, auth->access_token, &u), UP_EDENIED);
	assert_null(u);
	up_auth_free(auth);
	fx_free(f);
}

static void test_client_secret(void **state)
{
	static const char secret[] = "s3cr3t-client-secret-value";
	struct fx *f;
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	struct up_auth *auth, *ref = NULL;
	char user[64], code[9], *totp;

	(void)state;
	json_decref(t_pool_admin(P, "set_client", "{s:s,s:s}", "client_id", P->client_id,
				 "secret", secret));
	f = fx_new("auth_flow = srp\nclient_secret = s3cr3t-client-secret-value\n");
	new_user(user, sizeof(user), "sech");
	totp = t_pool_enable_totp(P, user);
	t_pool_totp_code(P, user, code);
	answers(&c, 1, code);
	auth = signin_ok(f, user, PW, &uc);
	assert_int_equal(up_cognito_refresh(f->ctx, user, auth->refresh_token, &ref), UP_OK);
	up_auth_free(ref);
	assert_int_equal(up_cognito_revoke(f->ctx, auth->refresh_token), UP_OK);
	up_auth_free(auth);
	fx_free(f);
	/* Without the secret the pool refuses. */
	f = fx_new("auth_flow = password\n");
	expect_signin(f, user, PW, NULL, UP_EDENIED);
	fx_free(f);
	json_decref(t_pool_admin(P, "set_client", "{s:s,s:n}", "client_id", P->client_id,
				 "secret"));
	free(totp);
}

/* ---------------------------------------------------------------------- */
/* network and TLS */

static double mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_network_faults(void **state)
{
	struct fx *f = fx_new("auth_flow = password\ntimeout = 2s\n");
	char user[64];
	double t0;
	up_err r;
	struct up_auth *auth = NULL;

	(void)state;
	new_user(user, sizeof(user), "net");
	t_pool_fault(P, "{s:s,s:s,s:i,s:i}", "action", "hang", "match", "InitiateAuth", "seconds",
		     20, "count", 1);
	t0 = mono();
	expect_signin(f, user, PW, NULL, UP_ENET);
	assert_true(mono() - t0 < 6.0);
	t_pool_clear_faults(P);
	/* Drip-fed: every byte arrives in time, the whole does not. */
	t_pool_fault(P, "{s:s,s:s,s:i,s:i}", "action", "drip", "match", "InitiateAuth",
		     "interval_ms", 50, "count", 1);
	t0 = mono();
	expect_signin(f, user, PW, NULL, UP_ENET);
	assert_true(mono() - t0 < 6.0);
	t_pool_clear_faults(P);
	t_pool_fault(P, "{s:s,s:s,s:i,s:i}", "action", "status", "match", "InitiateAuth", "code",
		     503, "count", 1);
	expect_signin(f, user, PW, NULL, UP_ESERVER);
	t_pool_fault(P, "{s:s,s:s,s:i,s:i}", "action", "status", "match", "InitiateAuth", "code",
		     429, "count", 1);
	expect_signin(f, user, PW, NULL, UP_ERATE);
	t_pool_fault(P, "{s:s,s:s,s:i}", "action", "truncate", "match", "InitiateAuth", "count", 1);
	r = up_cognito_signin(f->ctx, user, PW, NULL, &auth);
	assert_true(r == UP_ENET || r == UP_EPROTO);
	assert_null(auth);
	t_pool_fault(P, "{s:s,s:s,s:i}", "action", "nonjson", "match", "InitiateAuth", "count", 1);
	expect_signin(f, user, PW, NULL, UP_EPROTO);
	/* A dropped connection: lib/http.c retries once on a fresh connection
	 * when a reused one dies before any answer (as libcurl did), so drop
	 * every attempt. */
	t_pool_fault(P, "{s:s,s:s}", "action", "drop", "match", "InitiateAuth");
	expect_signin(f, user, PW, NULL, UP_ENET);
	t_pool_clear_faults(P);
	t_pool_reset_stats(P);
	t_pool_fault(P, "{s:s,s:s,s:i}", "action", "redirect", "match", "InitiateAuth", "count", 1);
	expect_signin(f, user, PW, NULL, UP_EHTTP);
	/* Not followed: nothing reached the redirect target. */
	assert_int_equal(t_pool_stat_path(P, "/redirected/"), 0);
	assert_int_equal(t_pool_stat_target(P, "InitiateAuth"), 1);
	/* A fault in the middle of the challenge loop. */
	{
		struct conv c = { 0 };
		struct up_conv uc = make_conv(&c, true);
		char code[9], *secret = t_pool_enable_totp(P, user);
		t_pool_totp_code(P, user, code);
		answers(&c, 1, code);
		t_pool_fault(P, "{s:s,s:s,s:i,s:i}", "action", "status", "match",
			     "RespondToAuthChallenge", "code", 502, "count", 1);
		expect_signin(f, user, PW, &uc, UP_ESERVER);
		free(secret);
	}
	/* After all that, the client still works. */
	json_decref(t_pool_admin(P, "disable_totp", "{s:s}", "username", user));
	auth = signin_ok(f, user, PW, NULL);
	up_auth_free(auth);
	fx_free(f);
}

static void test_tls_wrong_ca(void **state)
{
	struct fx *f = fx_new("auth_flow = password\nca_file = /etc/ssl/certs/ca-certificates.crt\n");
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "tls");
	expect_signin(f, user, PW, NULL, UP_ETLS);
	/* The environment never chooses the trust anchors. */
	setenv("SSL_CERT_FILE", P->ca_file, 1);
	setenv("CURL_CA_BUNDLE", P->ca_file, 1);
	setenv("SSL_CERT_DIR", "/nonexistent", 1);
	expect_signin(f, user, PW, NULL, UP_ETLS);
	unsetenv("SSL_CERT_FILE");
	unsetenv("CURL_CA_BUNDLE");
	unsetenv("SSL_CERT_DIR");
	fx_free(f);
}

static void test_tls_wrong_host(void **state)
{
	struct t_pool_opts o = { .tls = true, .wrong_host_cert = true };
	struct t_pool *main_pool = P, *wrong;
	struct fx *f;
	char user[64], *cadir, *slash;

	(void)state;
	cadir = strdup(P->ca_file);
	slash = strrchr(cadir, '/');
	*slash = '\0';
	o.ca_dir = cadir;
	wrong = t_pool_start(&o);
	P = wrong;
	new_user(user, sizeof(user), "wronghost");
	/* The right CA, the wrong name in the certificate. */
	f = fx_new("auth_flow = password\n");
	expect_signin(f, user, PW, NULL, UP_ETLS);
	fx_free(f);
	P = main_pool;
	t_pool_stop(wrong);
	free(cadir);
}

static void test_proxy_env_ignored(void **state)
{
	struct fx *f = fx_new("auth_flow = password\n");
	struct up_auth *auth;
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "proxy");
	setenv("https_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:9", 1);
	setenv("all_proxy", "http://127.0.0.1:9", 1);
	auth = signin_ok(f, user, PW, NULL);
	up_auth_free(auth);
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	fx_free(f);
}

/* ---------------------------------------------------------------------- */
/* forged tokens */

static void test_forged_tokens(void **state)
{
	static const char *const kinds[] = {
		"none", "hs256", "bad_sig", "wrong_iss", "wrong_aud", "wrong_token_use",
		"expired", "no_exp", "unknown_key", "crit", "jku", "embedded_jwk",
		"wrong_username",
	};
	struct fx *f = fx_new("auth_flow = password\n");
	struct up_auth *auth;
	char user[64];

	(void)state;
	new_user(user, sizeof(user), "forge");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		for (int which = 0; which < 2; which++) {
			up_err r;
			auth = NULL;
			t_pool_clear_faults(P);
			t_pool_fault(P, "{s:s,s:s,s:s,s:s}", "action", "forge", "match",
				     "InitiateAuth", "kind", kinds[i], "token",
				     which ? "access" : "id");
			r = up_cognito_signin(f->ctx, user, PW, NULL, &auth);
			if (strcmp(kinds[i], "wrong_username") == 0 && which == 1) {
				/* The access token's username is not checked; its
				 * subject is. */
				assert_int_equal(r, UP_OK);
				up_auth_free(auth);
				continue;
			}
			if (r == UP_OK)
				print_error("forged %s %s token accepted\n", kinds[i],
					    which ? "access" : "id");
			assert_int_not_equal(r, UP_OK);
			assert_null(auth);
		}
	}
	t_pool_clear_faults(P);
	/* An honest token still passes. */
	auth = signin_ok(f, user, PW, NULL);
	up_auth_free(auth);
	fx_free(f);
}

/* ---------------------------------------------------------------------- */
/* conversation and arguments */

static void test_conversation_failure(void **state)
{
	struct fx *f = fx_new("auth_flow = srp\n");
	struct conv c = { 0 };
	struct up_conv uc = make_conv(&c, true);
	char user[64], *secret;

	(void)state;
	new_user(user, sizeof(user), "conv");
	secret = t_pool_enable_totp(P, user);
	c.fail_prompt = true;
	expect_signin(f, user, PW, &uc, UP_ECONV);
	assert_int_equal(c.prompts, 1);
	/* No conversation at all while the pool asks for a code. */
	expect_signin(f, user, PW, NULL, UP_ECONV);
	/* Arguments. */
	expect_signin(f, "", PW, NULL, UP_EINVAL);
	expect_signin(f, user, NULL, NULL, UP_EINVAL);
	assert_int_equal(up_cognito_signin(NULL, user, PW, NULL, NULL), UP_EINVAL);
	up_auth_free(NULL);
	free(secret);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_error_table),
	    cmocka_unit_test_setup(test_srp_totp_three_requests, test_setup),
	    cmocka_unit_test_setup(test_password_totp_two_requests, test_setup),
	    cmocka_unit_test_setup(test_no_mfa_signin, test_setup),
	    cmocka_unit_test_setup(test_select_mfa_type, test_setup),
	    cmocka_unit_test_setup(test_select_mfa_without_totp, test_setup),
	    cmocka_unit_test_setup(test_new_password_required, test_setup),
	    cmocka_unit_test_setup(test_new_password_gives_up, test_setup),
	    cmocka_unit_test_setup(test_mfa_setup, test_setup),
	    cmocka_unit_test_setup(test_mfa_setup_text, test_setup),
	    cmocka_unit_test_setup(test_mfa_setup_three_wrong, test_setup),
	    cmocka_unit_test_setup(test_mfa_setup_disabled, test_setup),
	    cmocka_unit_test_setup(test_unknown_challenge, test_setup),
	    cmocka_unit_test_setup(test_refused_challenges, test_setup),
	    cmocka_unit_test_setup(test_challenge_loop_bounded, test_setup),
	    cmocka_unit_test_setup(test_pool_errors, test_setup),
	    cmocka_unit_test_setup(test_injected_errors, test_setup),
	    cmocka_unit_test_setup(test_refresh_revoke, test_setup),
	    cmocka_unit_test_setup(test_get_user_and_token_enrolment, test_setup),
	    cmocka_unit_test_setup(test_enroll_access_token, test_setup),
	    cmocka_unit_test_setup(test_change_password, test_setup),
	    cmocka_unit_test_setup(test_global_signout, test_setup),
	    cmocka_unit_test_setup(test_client_secret, test_setup),
	    cmocka_unit_test_setup(test_network_faults, test_setup),
	    cmocka_unit_test_setup(test_tls_wrong_ca, test_setup),
	    cmocka_unit_test_setup(test_tls_wrong_host, test_setup),
	    cmocka_unit_test_setup(test_proxy_env_ignored, test_setup),
	    cmocka_unit_test_setup(test_forged_tokens, test_setup),
	    cmocka_unit_test_setup(test_conversation_failure, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
