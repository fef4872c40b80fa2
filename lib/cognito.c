/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Cognito user-pool API (DESIGN §3): InitiateAuth with USER_SRP_AUTH or
 * USER_PASSWORD_AUTH, the challenge loop, and the account calls the tools
 * need. Every request is a JSON POST on the context's reused connection;
 * every body is wiped after use because most carry a password, a code, a
 * token or an SRP value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "codec.h"
#include "cognito.h"
#include "ctx.h"
#include "http.h"
#include "jwt.h"
#include "log.h"
#include "provider.h"
#include "secret.h"
#include "signin.h"
#include "srp.h"

/* Challenges answered in one sign-in besides CUSTOM_CHALLENGE rounds
 * (MAX_CUSTOM_ROUNDS); a pool that keeps asking is refused. */
#define MAX_STEPS 8
/* New-password and enrolment-code attempts inside one sign-in. */
#define MAX_ATTEMPTS 3
/* CUSTOM_CHALLENGE rounds answered in one sign-in, at most */
#define MAX_CUSTOM_ROUNDS 8
/* Caps on small values from the pool. */
#define MAX_SESSION 8192u
#define MAX_PARAM 4096u

#define TARGET_PREFIX "X-Amz-Target: AWSCognitoIdentityProviderService."

/* ---------------------------------------------------------------------- */
/* helpers */

static void json_put_secret(json_t *j)
{
	if (!j)
		return;
	up_json_wipe(j);
	json_decref(j);
}

/* The value of a string member, or NULL when absent or not a string. */
static const char *jstr(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A required non-empty string member of at most `cap` bytes. */
static up_err jstr_req(struct up_ctx *ctx, const char *action, const json_t *obj, const char *key,
		       size_t cap, const char **ret)
{
	const json_t *v = json_object_get(obj, key);

	if (!json_is_string(v) || json_string_length(v) == 0)
		return up_fail(ctx, UP_EPROTO, "%s: response without %s", action, key);
	if (json_string_length(v) > cap || strlen(json_string_value(v)) != json_string_length(v))
		return up_fail(ctx, UP_EPROTO, "%s: %s is too long or malformed", action, key);
	*ret = json_string_value(v);
	return UP_OK;
}

/* Adds a string member; a NULL value is skipped. */
static up_err jset(json_t *obj, const char *key, const char *value)
{
	if (!value)
		return UP_OK;
	return json_object_set_new(obj, key, json_string(value)) == 0 ? UP_OK : UP_ENOMEM;
}

/* {"key": value}, NULL when out of memory: the credential of a call. */
static json_t *body_with(const char *key, const char *value)
{
	json_t *b = json_object();

	if (b && jset(b, key, value)) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static json_t *access_body(const char *access_token)
{
	return body_with("AccessToken", access_token);
}

/* The name part of "namespace#Name:extra". */
static void error_name(const char *raw, char *out, size_t out_len)
{
	const char *p, *hash;
	size_t n;

	out[0] = '\0';
	if (!raw)
		return;
	p = raw;
	hash = strrchr(p, '#');
	if (hash)
		p = hash + 1;
	n = strcspn(p, ":");
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n >= out_len)
		n = out_len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* A NotAuthorizedException of a Lambda trigger: "<Trigger> failed with error <text>". */
static const char *trigger_text(const char *msg)
{
	const char *p = msg;

	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	if (p == msg || strncmp(p, " failed with error ", 19) != 0)
		return NULL;
	return msg;
}

#define MSG_MISCONFIGURED                                                                          \
	"Sign-in failed: the user pool is misconfigured; contact your administrator"

up_err up_cognito_map_error(struct up_ctx *ctx, const char *action, long status, const char *type,
			    const char *message)
{
	/* DESIGN §3 "Mapped errors"; `user` is what the person is told. None of
	 * these is "unreachable": none falls back to the offline cache. */
	static const struct {
		const char *name;
		up_err err;
		const char *user;
	} table[] = {
	    {"NotAuthorizedException", UP_EDENIED, NULL},
	    {"UserNotFoundException", UP_ENOUSER, NULL},
	    {"CodeMismatchException", UP_ECODE, NULL},
	    {"ExpiredCodeException", UP_ECODEEXPIRED, NULL},
	    {"PasswordResetRequiredException", UP_ERESET, NULL},
	    {"UserNotConfirmedException", UP_ENOTCONFIRMED, NULL},
	    {"TooManyRequestsException", UP_ERATE, NULL},
	    {"LimitExceededException", UP_ERATE, NULL},
	    {"TooManyFailedAttemptsException", UP_ERATE, NULL},
	    {"InvalidPasswordException", UP_EPOLICY, NULL},
	    {"PasswordHistoryPolicyViolationException", UP_EPOLICY, NULL},
	    {"InvalidParameterException", UP_EPARAM, NULL},
	    {"SoftwareTokenMFANotFoundException", UP_ENOMFA, NULL},
	    {"MFAMethodNotFoundException", UP_ENOMFA,
	     "No usable second factor for this account: contact your administrator"},
	    {"EnableSoftwareTokenMFAException", UP_ECODE, NULL},
	    {"InternalErrorException", UP_ESERVER, NULL},
	    {"ResourceNotFoundException", UP_ENOTFOUND, MSG_MISCONFIGURED},
	    {"UserLambdaValidationException", UP_ELAMBDA, NULL},
	    {"InvalidLambdaResponseException", UP_EPOOLCONFIG, MSG_MISCONFIGURED},
	    {"UnexpectedLambdaException", UP_EPOOLCONFIG, MSG_MISCONFIGURED},
	    {"InvalidUserPoolConfigurationException", UP_EPOOLCONFIG, MSG_MISCONFIGURED},
	    {"InvalidSmsRoleAccessPolicyException", UP_EPOOLCONFIG, MSG_MISCONFIGURED},
	    {"InvalidSmsRoleTrustRelationshipException", UP_EPOOLCONFIG, MSG_MISCONFIGURED},
	    {"InvalidEmailRoleAccessPolicyException", UP_EPOOLCONFIG, MSG_MISCONFIGURED},
	    {"UnsupportedOperationException", UP_EPOOLCONFIG, MSG_MISCONFIGURED},
	    {"CodeDeliveryFailureException", UP_EDELIVERY,
	     "The user pool could not send the code: try again later or contact your "
	     "administrator"},
	    {"ForbiddenException", UP_EFORBIDDEN,
	     "Sign-in blocked by the user pool's firewall rules: contact your administrator"},
	};
	char name[128];
	const char *msg = message ? message : "";
	const char *user = NULL;
	up_err err = UP_EPROTO;

	error_name(type, name, sizeof(name));
	if (!name[0])
		return up_fail(ctx, status == 404 ? UP_ENOTFOUND : UP_EHTTP,
			       "%s: HTTP %ld without an error name", action, status);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (strcmp(name, table[i].name) == 0) {
			err = table[i].err;
			user = table[i].user;
			break;
		}
	}
	if (err == UP_EDENIED) {
		/* Cognito tells these apart only by the message. */
		if (strcmp(msg, "User is disabled.") == 0)
			err = UP_EDISABLED;
		else if (strncmp(msg, "Invalid session", 15) == 0)
			err = UP_ESESSION; /* "... session is expired." */
		else if (strcmp(msg, "Password attempts exceeded") == 0)
			err = UP_ERATE;
		else if (trigger_text(msg))
			err = UP_ELAMBDA; /* a trigger refused: its text is for the person */
		else if (strcmp(msg, "Unable to login because of security reasons.") == 0)
			user = msg; /* threat protection blocked it: say so */
	}
	if (err == UP_ELAMBDA) {
		char text[201];

		/* AWS: the trigger's message is returned to the client. */
		up_text_printable(text, sizeof(text), msg);
		up_set_user_msg(ctx, "Sign-in refused by the user pool: %s", text);
	} else if (user) {
		up_set_user_msg(ctx, "%s", user);
	}
	if (err == UP_EPROTO)
		return up_fail(ctx, UP_EPROTO, "%s: unexpected error %s: %s", action, name, msg);
	return up_fail(ctx, err, "%s: %s: %s", action, name, msg);
}

/*
 * One API call. `body` is consumed (wiped and released). On success
 * *ret_json is the parsed response: release it with json_put_secret().
 */
static up_err call(struct up_ctx *ctx, const char *action, json_t *body, json_t **ret_json)
{
	char target[128];
	const char *headers[3];
	struct up_http_req req = {0};
	struct up_http_resp resp = {0};
	char *text = NULL;
	size_t text_len = 0;
	json_t *j = NULL;
	up_err r;

	if (!body)
		return UP_ENOMEM;
	if (!ctx->cfg || !ctx->cfg->endpoint) {
		json_put_secret(body);
		return up_fail(ctx, UP_ECONFIG, "no Cognito endpoint configured");
	}
	text = up_json_dump(body);
	json_put_secret(body);
	if (!text)
		return UP_ENOMEM;
	text_len = strlen(text);
	snprintf(target, sizeof(target), "%s%s", TARGET_PREFIX, action);
	headers[0] = "Content-Type: application/x-amz-json-1.1";
	headers[1] = target;
	headers[2] = NULL;
	req.url = ctx->cfg->endpoint;
	req.method = "POST";
	req.headers = headers;
	req.body = text;
	req.body_len = text_len;
	req.cap = UP_MAX_RESPONSE;
	up_log(ctx, LOG_DEBUG, "cognito: %s", action);
	r = up_http_do(ctx, &req, &resp);
	up_free_secret_len(text, text_len + 1);
	if (r)
		return r;

	if (resp.status >= 200 && resp.status < 300) {
		if (resp.len == 0)
			j = json_object(); /* a bare 200: nothing to read */
		else if (up_json_parse(ctx, resp.body, resp.len, UP_MAX_RESPONSE, &j) != UP_OK)
			j = NULL;
		if (!j)
			r = up_fail(ctx, UP_EPROTO,
				    "%s: HTTP %ld with a body that is not a JSON object", action,
				    resp.status);
		else {
			/* The pool has answered this sign-in (a challenge, a
			 * session): a later drop is no longer "unreachable". */
			up_pool_answered(ctx);
			*ret_json = j;
		}
		up_http_resp_clear(&resp);
		return r;
	}

	/* An error: the name from __type, else from the x-amzn-ErrorType header. */
	{
		const char *type = NULL, *msg = NULL;

		if (resp.len &&
		    up_json_parse(NULL, resp.body, resp.len, UP_MAX_RESPONSE, &j) == UP_OK) {
			type = jstr(j, "__type");
			msg = jstr(j, "message");
			if (!msg)
				msg = jstr(j, "Message");
		}
		if (!type || !*type)
			type = resp.error_type;
		if (!type || !*type) {
			r = up_fail(ctx, resp.status == 404 ? UP_ENOTFOUND : UP_EHTTP,
				    "%s: HTTP %ld", action, resp.status);
		} else {
			r = up_cognito_map_error(ctx, action, resp.status, type, msg);
		}
		json_put_secret(j);
	}
	up_http_resp_clear(&resp);
	return r;
}

static json_t *new_body(struct up_ctx *ctx)
{
	json_t *b = json_object();

	if (b && json_object_set_new(b, "ClientId", json_string(ctx->cfg->client_id)) != 0) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static up_err add_secret_hash(struct up_ctx *ctx, json_t *params, const char *username)
{
	char *hash = NULL;
	up_err r;

	if (!ctx->cfg->client_secret)
		return UP_OK;
	r = up_secret_hash(username, ctx->cfg->client_id, ctx->cfg->client_secret, &hash);
	if (r)
		return up_fail(ctx, r, "SECRET_HASH failed");
	r = jset(params, "SECRET_HASH", hash);
	up_free_secret(hash); /* derived from client_secret */
	return r;
}

static bool valid_text(const char *s, size_t cap)
{
	return s && *s && strlen(s) <= cap;
}

static up_err check_ctx(struct up_ctx *ctx)
{
	if (!ctx)
		return UP_EINVAL;
	up_clear_detail(ctx);
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	if (up_provider(ctx) != &up_cognito_ops)
		return up_fail(ctx, UP_ECONFIG, "provider is not cognito");
	if (!ctx->cfg->client_id || !ctx->cfg->endpoint)
		return up_fail(ctx, UP_ECONFIG, "client_id or endpoint missing");
	return UP_OK;
}

/* A call whose answer we do not need beyond success. */
static up_err call_simple(struct up_ctx *ctx, const char *action, json_t *body)
{
	json_t *resp = NULL;
	up_err r = call(ctx, action, body, &resp);

	json_put_secret(resp);
	return r;
}

/* ---------------------------------------------------------------------- */
/* results */

/*
 * AuthenticationResult → verified struct up_auth. The ID token must name
 * `expected_username` (the user the pool says signed in); the access token
 * must verify too and belong to the same subject.
 */
static up_err finish(struct up_ctx *ctx, const char *action, const json_t *resp,
		     const char *expected_username, bool mfa, struct up_auth **ret_auth)
{
	const json_t *res = json_object_get(resp, "AuthenticationResult");
	const char *id = NULL, *access = NULL, *refresh = NULL;
	struct up_claims *id_claims = NULL, *ac_claims = NULL;
	struct up_auth *auth = NULL;
	struct up_token_rules rules;
	up_err r;

	if (!json_is_object(res))
		return up_fail(ctx, UP_EPROTO, "%s: no AuthenticationResult", action);
	if ((r = jstr_req(ctx, action, res, "IdToken", UP_MAX_TOKEN, &id)) ||
	    (r = jstr_req(ctx, action, res, "AccessToken", UP_MAX_TOKEN, &access)))
		return r;
	if (json_object_get(res, "RefreshToken") &&
	    (r = jstr_req(ctx, action, res, "RefreshToken", UP_MAX_TOKEN, &refresh)))
		return r;

	r = up_cognito_token_rules(ctx, 0, &rules);
	if (!r)
		r = up_token_verify_rules(ctx, &rules, id, UP_TOKEN_ID, expected_username, 0,
					  &id_claims);
	if (r) {
		up_log(ctx, LOG_WARNING, "%s: ID token refused: %s", action, up_ctx_detail(ctx));
		goto out;
	}
	r = up_token_verify_rules(ctx, &rules, access, UP_TOKEN_ACCESS, NULL, 0, &ac_claims);
	if (r) {
		up_log(ctx, LOG_WARNING, "%s: access token refused: %s", action,
		       up_ctx_detail(ctx));
		goto out;
	}
	if (!id_claims->sub || !ac_claims->sub || strcmp(id_claims->sub, ac_claims->sub) != 0) {
		r = up_fail(ctx, UP_EJWT, "%s: ID and access tokens name different subjects",
			    action);
		goto out;
	}
	auth = calloc(1, sizeof(*auth));
	if (!auth) {
		r = UP_ENOMEM;
		goto out;
	}
	auth->id_token = strdup(id);
	auth->access_token = strdup(access);
	auth->refresh_token = refresh ? strdup(refresh) : NULL;
	if (!auth->id_token || !auth->access_token || (refresh && !auth->refresh_token)) {
		up_auth_free(auth);
		auth = NULL;
		r = UP_ENOMEM;
		goto out;
	}
	auth->claims = id_claims;
	id_claims = NULL;
	auth->mfa = mfa;
	*ret_auth = auth;
	r = UP_OK;
out:
	up_claims_free(id_claims);
	up_claims_free(ac_claims);
	return r;
}

/* ---------------------------------------------------------------------- */
/* sign-in */

struct signin {
	struct up_ctx *ctx;
	const struct up_conv *conv;
	const char *username; /* as given */
	char *user_id;	      /* the pool's name for the user (USER_ID_FOR_SRP) */
	char *session;	      /* the Session of the last response */
	char *new_password;   /* chosen at NEW_PASSWORD_REQUIRED (secret) */
	char *totp_secret;    /* set up at MFA_SETUP (secret, base32) */
	char *totp_code;      /* the TOTP code the pool accepted (secret) */
	bool mfa;
	enum up_mfa_method method; /* the second factor used */
	int custom_rounds;	   /* CUSTOM_CHALLENGE answers given */
};

static up_err conv_prompt(struct signin *s, const char *text, bool echo, char **ret)
{
	char *ans = NULL;
	up_err r;

	if (!s->conv || !s->conv->prompt)
		return up_fail(s->ctx, UP_ECONV,
			       "the pool asks a question and there is no conversation");
	r = s->conv->prompt(s->conv->ud, text, echo, &ans);
	if (r || !ans) {
		up_free_secret(ans);
		return up_fail(s->ctx, UP_ECONV, "conversation failed at \"%s\"", text);
	}
	if (strlen(ans) > UP_MAX_PASSWORD) {
		up_free_secret(ans);
		return up_fail(s->ctx, UP_ECONV, "answer too long");
	}
	*ret = ans;
	return UP_OK;
}

static up_err conv_text(struct signin *s, bool error, const char *text)
{
	up_err (*fn)(void *, const char *);

	if (!s->conv)
		return up_fail(s->ctx, UP_ECONV, "no conversation");
	fn = error ? s->conv->error : s->conv->info;
	if (!fn)
		return UP_OK; /* optional callback */
	if (fn(s->conv->ud, text) != UP_OK)
		return up_fail(s->ctx, UP_ECONV, "conversation failed");
	return UP_OK;
}

static up_err set_session(struct signin *s, const char *action, const json_t *resp)
{
	const json_t *v = json_object_get(resp, "Session");
	char *dup;

	if (!v || json_is_null(v)) {
		/* Each step uses the Session of the previous one: none now. */
		up_free_secret(s->session);
		s->session = NULL;
		return UP_OK;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > MAX_SESSION)
		return up_fail(s->ctx, UP_EPROTO, "%s: malformed Session", action);
	dup = strdup(json_string_value(v));
	if (!dup)
		return UP_ENOMEM;
	up_free_secret(s->session);
	s->session = dup;
	return UP_OK;
}

static up_err set_user_id(struct signin *s, const char *id)
{
	char *dup;

	if (!id || !*id)
		return UP_OK;
	if (strlen(id) > UP_MAX_USERNAME)
		return up_fail(s->ctx, UP_EPROTO, "USER_ID_FOR_SRP too long");
	dup = strdup(id);
	if (!dup)
		return UP_ENOMEM;
	free(s->user_id);
	s->user_id = dup;
	return UP_OK;
}

/* send_context = yes (app client with a secret): UserContextData with the
 * address the sign-in comes from, for the pool's threat protection.
 * EncodedData (the browser SDK's device fingerprint) is optional and not
 * sent; without a known address nothing is sent. */
static up_err add_context(struct up_ctx *ctx, json_t *body)
{
	json_t *ucd;

	if (!ctx->cfg->send_context || !ctx->cfg->client_secret || !ctx->remote_host[0])
		return UP_OK;
	ucd = json_pack("{s:s}", "IpAddress", ctx->remote_host);
	if (!ucd || json_object_set_new(body, "UserContextData", ucd) != 0)
		return UP_ENOMEM;
	return UP_OK;
}

/* RespondToAuthChallenge with `responses` (consumed; USERNAME and
 * SECRET_HASH are added here). */
static up_err respond(struct signin *s, const char *challenge, json_t *responses, json_t **ret_resp)
{
	json_t *body = new_body(s->ctx);
	up_err r = UP_ENOMEM;

	if (!body || !responses)
		goto fail;
	if ((r = jset(responses, "USERNAME", s->user_id)) ||
	    (r = add_secret_hash(s->ctx, responses, s->user_id)))
		goto fail;
	if ((r = jset(body, "ChallengeName", challenge)) ||
	    (r = jset(body, "Session", s->session)) || (r = add_context(s->ctx, body)))
		goto fail;
	/* The body takes the responses over: wiped with it in call(). */
	if (json_object_set_new(body, "ChallengeResponses", responses) != 0) {
		json_put_secret(body);
		return UP_ENOMEM;
	}
	return call(s->ctx, "RespondToAuthChallenge", body, ret_resp);
fail:
	json_put_secret(responses);
	json_put_secret(body);
	return r;
}

static up_err initiate(struct signin *s, const char *flow, json_t *params, json_t **ret_resp)
{
	json_t *body = new_body(s->ctx);

	if (!body || !params || jset(body, "AuthFlow", flow) || add_context(s->ctx, body)) {
		json_put_secret(params);
		json_put_secret(body);
		return UP_ENOMEM;
	}
	/* json_object_set_new releases `params` even when it fails. */
	if (json_object_set_new(body, "AuthParameters", params) != 0) {
		json_put_secret(body);
		return UP_ENOMEM;
	}
	return call(s->ctx, "InitiateAuth", body, ret_resp);
}

static bool list_has(const json_t *list, const char *want);

/* Beyond this, a NotAuthorized answer to PASSWORD_VERIFIER is put down to this
 * machine's clock (the pool's Date header against ours). */
#define SRP_CLOCK_SKEW 300

/* The InitiateAuth flow of an SRP sign-in and its extra parameter:
 * CUSTOM_AUTH proves the password by SRP first (CHALLENGE_NAME = SRP_A),
 * USER_AUTH asks for PASSWORD_SRP. */
static const char *srp_flow(const struct up_config *cfg, const char **key, const char **value)
{
	*key = *value = NULL;
	if (cfg->auth_flow == UP_FLOW_CUSTOM) {
		*key = "CHALLENGE_NAME";
		*value = "SRP_A";
		return "CUSTOM_AUTH";
	}
	if (cfg->auth_flow == UP_FLOW_USER_AUTH) {
		*key = "PREFERRED_CHALLENGE";
		*value = "PASSWORD_SRP";
		return "USER_AUTH";
	}
	return "USER_SRP_AUTH";
}

static const char MSG_PASSKEY[] = "passkeys need a browser; this sign-in is text only";
static const char MSG_CODE_FIRST[] =
    "A one-time code alone is not accepted here: this sign-in needs your password";

/* First factors of USER_AUTH this module does not take: a passkey
 * (WEB_AUTHN) or a one-time code instead of the password. */
static up_err refuse_first_factor(struct signin *s, const char *name)
{
	bool passkey = strcmp(name, "WEB_AUTHN") == 0;

	up_set_user_msg(s->ctx, "%s", passkey ? MSG_PASSKEY : MSG_CODE_FIRST);
	return up_fail(s->ctx, UP_ECHALLENGE,
		       "the pool offers %s as the first factor, not a password", name);
}

/*
 * USER_AUTH's SELECT_CHALLENGE (AvailableChallenges at the top level of
 * the response): PASSWORD_SRP with SRP_A in the same call, else PASSWORD
 * (the password goes to the pool, as with auth_flow = password; *ret_done:
 * the password step is over). Passkeys and one-time codes are refused.
 */
static up_err select_first_factor(struct signin *s, const char *a_hex, const char *password,
				  json_t **io_resp, bool *ret_done)
{
	const json_t *avail = json_object_get(*io_resp, "AvailableChallenges");
	bool srp, pw;
	json_t *ans;
	up_err r;

	*ret_done = false;
	if (!json_is_array(avail) || json_array_size(avail) > 32)
		return up_fail(s->ctx, UP_EPROTO, "SELECT_CHALLENGE without AvailableChallenges");
	srp = list_has(avail, "PASSWORD_SRP");
	pw = list_has(avail, "PASSWORD");
	if (!srp && !pw)
		return refuse_first_factor(s, list_has(avail, "WEB_AUTHN") ? "WEB_AUTHN"
									   : "a one-time code");
	if ((r = set_session(s, "InitiateAuth", *io_resp)))
		return r;
	ans = json_object();
	if (!ans || jset(ans, "ANSWER", srp ? "PASSWORD_SRP" : "PASSWORD") ||
	    jset(ans, srp ? "SRP_A" : "PASSWORD", srp ? a_hex : password)) {
		json_put_secret(ans);
		return UP_ENOMEM;
	}
	if (!srp)
		up_log(s->ctx, LOG_NOTICE,
		       "USER_AUTH offers PASSWORD, not PASSWORD_SRP: the password is sent to the "
		       "pool");
	json_put_secret(*io_resp);
	*io_resp = NULL;
	r = respond(s, "SELECT_CHALLENGE", ans, io_resp);
	*ret_done = !r && !srp;
	return r;
}

/* USER_SRP_AUTH (or CUSTOM_AUTH / USER_AUTH with SRP): InitiateAuth and
 * the PASSWORD_VERIFIER answer. */
/* The pool's first answer to an SRP InitiateAuth must be PASSWORD_VERIFIER
 * (after SELECT_CHALLENGE for USER_AUTH, which may end the sign-in: *done). */
static up_err srp_first_challenge(struct signin *s, const char *flow, const char *a_hex,
				  const char *password, json_t **resp, bool *done)
{
	struct up_ctx *ctx = s->ctx;
	const char *name = jstr(*resp, "ChallengeName");
	bool user_auth = ctx->cfg->auth_flow == UP_FLOW_USER_AUTH;
	up_err r;

	if (name && strcmp(name, "SELECT_CHALLENGE") == 0 && user_auth) {
		r = select_first_factor(s, a_hex, password, resp, done);
		if (r || *done)
			return r;
		name = jstr(*resp, "ChallengeName");
	}
	if (name && user_auth &&
	    (strcmp(name, "WEB_AUTHN") == 0 || strcmp(name, "EMAIL_OTP") == 0 ||
	     strcmp(name, "SMS_OTP") == 0))
		return refuse_first_factor(s, name);
	if (name &&
	    strcmp(name, "CUSTOM_CHALLENGE") == 0) /* the password is proven first, by SRP */
		return up_fail(ctx, UP_ECHALLENGE,
			       "%s: the pool asks CUSTOM_CHALLENGE before PASSWORD_VERIFIER", flow);
	if (!name || strcmp(name, "PASSWORD_VERIFIER") != 0)
		return up_fail(ctx, UP_EPROTO, "%s: expected PASSWORD_VERIFIER, got %s", flow,
			       name ? name : "no challenge");
	return UP_OK;
}

/* Answer PASSWORD_VERIFIER (in *resp, consumed) with the SRP proof; the
 * pool's next answer in *resp. */
static up_err srp_verify(struct signin *s, struct up_srp *srp, const char *password, json_t **resp)
{
	struct up_ctx *ctx = s->ctx;
	const char *salt, *b, *block, *uid;
	json_t *cp = json_object_get(*resp, "ChallengeParameters"), *ans = NULL;
	char *sig = NULL, *ts = NULL;
	up_err r;

	if (!json_is_object(cp))
		return up_fail(ctx, UP_EPROTO, "PASSWORD_VERIFIER without ChallengeParameters");
	if ((r = jstr_req(ctx, "PASSWORD_VERIFIER", cp, "SALT", MAX_PARAM, &salt)) ||
	    (r = jstr_req(ctx, "PASSWORD_VERIFIER", cp, "SRP_B", MAX_PARAM, &b)) ||
	    (r = jstr_req(ctx, "PASSWORD_VERIFIER", cp, "SECRET_BLOCK", MAX_SESSION, &block)) ||
	    (r = jstr_req(ctx, "PASSWORD_VERIFIER", cp, "USER_ID_FOR_SRP", UP_MAX_USERNAME, &uid)))
		return r;
	/* As the SDK does: from now on the user is USER_ID_FOR_SRP (the pool's
	 * own name when the person signed in with an alias). */
	if ((r = set_user_id(s, uid)) || (r = set_session(s, "InitiateAuth", *resp)))
		return r;
	r = up_srp_answer(ctx, srp, ctx->cfg->pool_name, s->user_id, password, salt, b, block,
			  up_ctx_now(ctx), &sig, &ts);
	if (r)
		return r;
	ans = json_object();
	if (!ans || jset(ans, "PASSWORD_CLAIM_SECRET_BLOCK", block) ||
	    jset(ans, "PASSWORD_CLAIM_SIGNATURE", sig) || jset(ans, "TIMESTAMP", ts)) {
		json_put_secret(ans);
		r = UP_ENOMEM;
		goto out;
	}
	json_put_secret(*resp);
	*resp = NULL;
	ctx->http_date = 0;
	r = respond(s, "PASSWORD_VERIFIER", ans, resp);
	if (r == UP_EDENIED && ctx->http_date &&
	    llabs(ctx->http_date - ctx->http_date_local) > SRP_CLOCK_SKEW) {
		/* The pool checks TIMESTAMP against its clock: with this machine's
		 * clock minutes off, the right password is refused too. */
		long long off = (long long)(ctx->http_date - ctx->http_date_local);
		r = up_fail(ctx, UP_ESKEW,
			    "the clock of this machine is %lld s off (the pool's Date says %s); "
			    "the pool refuses the SRP timestamp",
			    off < 0 ? -off : off, off > 0 ? "later" : "earlier");
	}
out:
	up_free_secret(sig);
	free(ts);
	return r;
}

static up_err srp_start(struct signin *s, const char *password, json_t **ret_resp)
{
	struct up_ctx *ctx = s->ctx;
	struct up_srp *srp = NULL;
	char *a_hex = NULL;
	const char *xkey, *xval;
	const char *flow = srp_flow(ctx->cfg, &xkey, &xval);
	json_t *params = NULL, *resp = NULL;
	bool done = false;
	up_err r;

	if (!ctx->cfg->pool_name)
		return up_fail(ctx, UP_ECONFIG, "SRP needs user_pool_id");
	if ((r = up_srp_new(ctx, &srp)) || (r = up_srp_public_hex(ctx, srp, &a_hex)))
		goto out;
	params = json_object();
	if (!params || jset(params, "USERNAME", s->username) || jset(params, "SRP_A", a_hex) ||
	    (xkey && jset(params, xkey, xval)) || (r = add_secret_hash(ctx, params, s->username))) {
		json_put_secret(params);
		r = r ? r : UP_ENOMEM;
		goto out;
	}
	if ((r = initiate(s, flow, params, &resp)) ||
	    (r = srp_first_challenge(s, flow, a_hex, password, &resp, &done)))
		goto out;
	if (!done && (r = srp_verify(s, srp, password, &resp)))
		goto out;
	*ret_resp = resp;
	resp = NULL;
out:
	json_put_secret(resp);
	up_srp_free(srp);
	up_free_secret(a_hex);
	return r;
}

static up_err password_start(struct signin *s, const char *password, json_t **ret_resp)
{
	json_t *params = json_object();
	up_err r = UP_ENOMEM;

	if (!params || jset(params, "USERNAME", s->username) ||
	    jset(params, "PASSWORD", password) ||
	    (r = add_secret_hash(s->ctx, params, s->username))) {
		json_put_secret(params);
		return r ? r : UP_ENOMEM;
	}
	return initiate(s, "USER_PASSWORD_AUTH", params, ret_resp);
}

static bool method_allowed(const struct up_config *cfg, enum up_mfa_method m)
{
	for (size_t i = 0; i <= UP_MFA_MAX && cfg->mfa_methods[i] != UP_MFA_NONE; i++)
		if (cfg->mfa_methods[i] == m)
			return true;
	return false;
}

/* The three code challenges: name, answer key, prompt, mfa_methods word. */
static const struct code_challenge {
	const char *name;
	const char *key;
	const char *prompt;
	const char *medium; /* for the messages */
	enum up_mfa_method method;
} code_challenges[] = {
    {"SOFTWARE_TOKEN_MFA", "SOFTWARE_TOKEN_MFA_CODE", UP_PROMPT_CODE, "authenticator", UP_MFA_TOTP},
    {"EMAIL_OTP", "EMAIL_OTP_CODE", UP_PROMPT_EMAIL_CODE, "email", UP_MFA_EMAIL},
    {"SMS_MFA", "SMS_MFA_CODE", UP_PROMPT_SMS_CODE, "SMS", UP_MFA_SMS},
};

static const struct code_challenge *code_challenge_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(code_challenges) / sizeof(code_challenges[0]); i++)
		if (strcmp(name, code_challenges[i].name) == 0)
			return &code_challenges[i];
	return NULL;
}

static const struct code_challenge *code_challenge_by_method(enum up_mfa_method m)
{
	for (size_t i = 0; i < sizeof(code_challenges) / sizeof(code_challenges[0]); i++)
		if (code_challenges[i].method == m)
			return &code_challenges[i];
	return NULL;
}

/* "Code sent by SMS to +*******0100" from CODE_DELIVERY_DELIVERY_MEDIUM and
 * CODE_DELIVERY_DESTINATION (the pool's masked address): control characters
 * dropped, length capped. */
static up_err announce_delivery(struct signin *s, const struct code_challenge *cc, const json_t *cp)
{
	const char *medium = jstr(cp, "CODE_DELIVERY_DELIVERY_MEDIUM");
	const char *dest = jstr(cp, "CODE_DELIVERY_DESTINATION");
	char d[65], line[128];

	if (!medium || strcmp(medium, "EMAIL") == 0)
		medium = cc->method == UP_MFA_SMS ? "SMS" : "email";
	else if (strcmp(medium, "SMS") == 0)
		medium = "SMS";
	else
		medium = cc->method == UP_MFA_SMS ? "SMS" : "email";
	up_text_printable(d, sizeof(d), dest);
	if (d[0])
		snprintf(line, sizeof(line), "Code sent by %s to %s", medium, d);
	else
		snprintf(line, sizeof(line), "Code sent by %s", medium);
	return conv_text(s, false, line);
}

/*
 * SOFTWARE_TOKEN_MFA, SMS_MFA, EMAIL_OTP. A wrong code
 * (CodeMismatchException) brings no new Session and the last one stays
 * valid: ask again with it, up to MAX_ATTEMPTS, so the error is shown above
 * a live field (greeters replace a failure's text with their own).
 */
static up_err answer_code(struct signin *s, const struct code_challenge *cc, const json_t *cp,
			  json_t **io_resp)
{
	up_err r, last = UP_OK;
	char again[96];

	if (!method_allowed(s->ctx->cfg, cc->method)) {
		up_set_user_msg(s->ctx,
				"This machine does not accept %s codes as a second factor: contact "
				"your administrator",
				cc->medium);
		return up_fail(s->ctx, UP_ENOMFA, "the pool asks for %s, not in mfa_methods",
			       cc->name);
	}
	if (cc->method != UP_MFA_TOTP && (r = announce_delivery(s, cc, cp)))
		return r;
	snprintf(again, sizeof(again), "%s rejected: try again",
		 cc->method == UP_MFA_TOTP  ? "Verification code"
		 : cc->method == UP_MFA_SMS ? "SMS code"
					    : "Email code");
	for (int attempt = 1;; attempt++) {
		char *code = NULL;
		json_t *ans;

		r = conv_prompt(s, cc->prompt, s->conv->echo_code, &code);
		if (r)
			return last ? last : r; /* no new answer: the code's error */
		ans = json_object();
		if (!ans || jset(ans, cc->key, code)) {
			json_put_secret(ans);
			up_free_secret(code);
			return UP_ENOMEM;
		}
		json_put_secret(*io_resp);
		*io_resp = NULL;
		r = respond(s, cc->name, ans, io_resp);
		if (r == UP_OK) {
			s->mfa = true;
			s->method = cc->method;
			/* Kept (wiped) for the offline secret's check in signin.c. */
			if (cc->method == UP_MFA_TOTP) {
				up_free_secret(s->totp_code);
				s->totp_code = code;
				code = NULL;
			}
			up_free_secret(code);
			return UP_OK;
		}
		up_free_secret(code);
		if (r == UP_ESESSION)
			up_set_user_msg(s->ctx, "Sign-in took too long: start again");
		if (r != UP_ECODE || attempt >= MAX_ATTEMPTS || !s->session)
			return r;
		last = r;
		if ((r = conv_text(s, true, again)))
			return last;
	}
}

/* A JSON-encoded list of names in a challenge parameter, as a JSON array
 * (release with json_decref). */
static up_err list_param(struct up_ctx *ctx, const json_t *cp, const char *key, json_t **ret)
{
	const char *text = jstr(cp, key);
	json_error_t jerr;
	json_t *list;

	if (!text)
		return up_fail(ctx, UP_EPROTO, "challenge without %s", key);
	if (strlen(text) > MAX_PARAM)
		return up_fail(ctx, UP_EPROTO, "%s too long", key);
	list = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_array(list)) {
		json_decref(list);
		return up_fail(ctx, UP_EPROTO, "%s is not a JSON list", key);
	}
	*ret = list;
	return UP_OK;
}

static bool list_has(const json_t *list, const char *want)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v) if (json_is_string(v) &&
					   strcmp(json_string_value(v), want) == 0) return true;
	return false;
}

/* SELECT_MFA_TYPE: the first of mfa_methods that MFAS_CAN_CHOOSE offers. */
static up_err answer_select(struct signin *s, const json_t *cp, json_t **io_resp)
{
	const struct up_config *cfg = s->ctx->cfg;
	const struct code_challenge *pick = NULL;
	json_t *list = NULL, *ans;
	up_err r;

	if ((r = list_param(s->ctx, cp, "MFAS_CAN_CHOOSE", &list)))
		return r;
	for (size_t i = 0; !pick && i <= UP_MFA_MAX && cfg->mfa_methods[i] != UP_MFA_NONE; i++) {
		const struct code_challenge *cc = code_challenge_by_method(cfg->mfa_methods[i]);

		if (cc && list_has(list, cc->name))
			pick = cc;
	}
	json_decref(list);
	if (!pick) {
		up_set_user_msg(s->ctx, "None of your second factors is accepted on this machine: "
					"contact your administrator");
		return up_fail(s->ctx, UP_ENOMFA,
			       "SELECT_MFA_TYPE offers %s, none of them in mfa_methods",
			       jstr(cp, "MFAS_CAN_CHOOSE"));
	}
	up_log(s->ctx, LOG_DEBUG, "SELECT_MFA_TYPE: choosing %s", pick->name);
	ans = json_object();
	if (!ans || jset(ans, "ANSWER", pick->name)) {
		json_put_secret(ans);
		return UP_ENOMEM;
	}
	json_put_secret(*io_resp);
	*io_resp = NULL;
	return respond(s, "SELECT_MFA_TYPE", ans, io_resp);
}

/*
 * CUSTOM_CHALLENGE (auth_flow = custom): the prompt is the public challenge
 * parameter custom_prompt_param (shown printable, capped), else "Answer: ";
 * echo per custom_echo; the answer goes back as ANSWER. The pool's own
 * logic decides whether it passed (a new challenge, tokens or a refusal).
 */
static up_err answer_custom(struct signin *s, const json_t *cp, json_t **io_resp)
{
	const struct up_config *cfg = s->ctx->cfg;
	const char *param = cfg->custom_prompt_param ? cfg->custom_prompt_param : "question";
	const char *q = jstr(cp, param);
	char prompt[256];
	char *answer = NULL;
	size_t n;
	json_t *ans;
	up_err r;

	if (cfg->auth_flow != UP_FLOW_CUSTOM)
		return up_fail(s->ctx, UP_ECHALLENGE,
			       "the pool asks for CUSTOM_CHALLENGE and auth_flow is not custom");
	if (++s->custom_rounds > MAX_CUSTOM_ROUNDS) {
		up_set_user_msg(s->ctx, "Too many sign-in questions: contact your administrator");
		return up_fail(s->ctx, UP_ECHALLENGE, "more than %d custom challenges",
			       MAX_CUSTOM_ROUNDS);
	}
	up_text_printable(prompt, sizeof(prompt) - 1, q);
	n = strlen(prompt);
	if (n == 0)
		snprintf(prompt, sizeof(prompt), "%s", UP_PROMPT_ANSWER);
	else if (prompt[n - 1] != ' ') {
		prompt[n] = ' '; /* room kept: printable text is at most size - 2 */
		prompt[n + 1] = '\0';
	}
	if ((r = conv_prompt(s, prompt, cfg->custom_echo, &answer)))
		return r;
	ans = json_object();
	if (!ans || jset(ans, "ANSWER", answer)) {
		json_put_secret(ans);
		up_free_secret(answer);
		return UP_ENOMEM;
	}
	up_free_secret(answer);
	json_put_secret(*io_resp);
	*io_resp = NULL;
	r = respond(s, "CUSTOM_CHALLENGE", ans, io_resp);
	if (r == UP_ESESSION)
		up_set_user_msg(s->ctx, "Sign-in took too long: start again");
	return r;
}

static up_err answer_new_password(struct signin *s, const json_t *cp, json_t **io_resp)
{
	const char *req_attrs = jstr(cp, "requiredAttributes");
	json_t *resp = NULL;
	up_err r;

	if (req_attrs && strcmp(req_attrs, "[]") != 0)
		return up_fail(s->ctx, UP_ECHALLENGE,
			       "NEW_PASSWORD_REQUIRED asks for attributes %s; set them in the pool",
			       req_attrs);
	r = conv_text(s, false, "You must choose a new password.");
	if (r)
		return r;
	for (int attempt = 1;; attempt++) {
		char *pw1 = NULL, *pw2 = NULL;
		json_t *ans;
		bool same;

		if ((r = conv_prompt(s, UP_PROMPT_NEW_PASSWORD, false, &pw1)))
			return r;
		if ((r = conv_prompt(s, UP_PROMPT_RETYPE_PASSWORD, false, &pw2))) {
			up_free_secret(pw1);
			return r;
		}
		same = strlen(pw1) == strlen(pw2) && up_memeq_ct(pw1, pw2, strlen(pw1));
		up_free_secret(pw2);
		if (!same || !*pw1) {
			up_free_secret(pw1);
			if (attempt >= MAX_ATTEMPTS)
				return up_fail(s->ctx, UP_ECONV, "new passwords did not match");
			if ((r = conv_text(s, true,
					   same ? "Password must not be empty"
						: "Passwords do not match")))
				return r;
			continue;
		}
		ans = json_object();
		if (!ans || jset(ans, "NEW_PASSWORD", pw1)) {
			json_put_secret(ans);
			up_free_secret(pw1);
			return UP_ENOMEM;
		}
		/* The same Session serves a retry after a policy failure. */
		r = respond(s, "NEW_PASSWORD_REQUIRED", ans, &resp);
		if (r == UP_OK) {
			/* The caller's offline verifier must follow the new password. */
			up_free_secret(s->new_password);
			s->new_password = pw1;
		} else {
			up_free_secret(pw1);
		}
		if (r == UP_EPOLICY && attempt < MAX_ATTEMPTS) {
			/* The pool's policy message is what the user needs. */
			const char *msg = strstr(up_ctx_detail(s->ctx), "Exception: ");
			if ((r = conv_text(s, true,
					   msg && msg[11] ? msg + 11
							  : "Password does not meet the policy")))
				return r;
			continue;
		}
		if (r)
			return r;
		json_put_secret(*io_resp);
		*io_resp = resp;
		return UP_OK;
	}
}

static up_err show_enrolment(struct signin *s, const char *secret)
{
	const struct up_config *cfg = s->ctx->cfg;
	char *uri = NULL, *text = NULL;
	up_err r;

	r = up_otpauth_uri(cfg->totp_issuer ? cfg->totp_issuer : "userpool", s->username, secret,
			   &uri);
	if (r)
		return up_fail(s->ctx, r, "cannot build the otpauth URI");
	if (s->conv->enroll) {
		if (s->conv->enroll(s->conv->ud, secret, uri) != UP_OK)
			r = up_fail(s->ctx, UP_ECONV, "conversation failed (enrolment)");
	} else if (s->conv->no_qr || cfg->qr == UP_QR_OFF) {
		/* a text QR code cannot be read here (a greeter): the short text */
		r = up_enroll_fallback(cfg->totp_issuer ? cfg->totp_issuer : "userpool",
				       s->username, secret, &text);
		if (r)
			r = up_fail(s->ctx, r, "cannot build the enrolment text");
		else
			r = conv_text(s, false, text);
	} else {
		r = up_enroll_text(uri, secret, UP_QR_UTF8, &text);
		if (r)
			r = up_fail(s->ctx, r, "cannot render the enrolment text");
		else
			r = conv_text(s, false, text);
	}
	up_free_secret(text);
	up_free_secret(uri);
	return r;
}

/* MFA_SETUP is answered here only with an authenticator app, when the pool
 * offers one, mfa_methods allows it and enroll_on_login is on. */
static up_err mfa_setup_allowed(struct signin *s, const json_t *cp)
{
	struct up_ctx *ctx = s->ctx;
	const char *offer = jstr(cp, "MFAS_CAN_SETUP");
	bool offered = true;
	up_err r;

	if (offer) {
		json_t *list = NULL;

		if ((r = list_param(ctx, cp, "MFAS_CAN_SETUP", &list)))
			return r;
		offered = list_has(list, "SOFTWARE_TOKEN_MFA");
		json_decref(list);
	}
	/* Only an authenticator app is set up here: a mailbox or a phone
	 * number typed at a shared terminal would bind someone else's. */
	if (!offered || !method_allowed(ctx->cfg, UP_MFA_TOTP)) {
		up_set_user_msg(ctx, "Your account needs a second factor that cannot be set up "
				     "at this sign-in: contact your administrator");
		return up_fail(
		    ctx, UP_ENOMFA, "MFA_SETUP offers %s; only SOFTWARE_TOKEN_MFA%s is set up here",
		    offer ? offer : "nothing",
		    method_allowed(ctx->cfg, UP_MFA_TOTP) ? "" : " (not in mfa_methods)");
	}
	if (!ctx->cfg->enroll_on_login)
		return up_fail(ctx, UP_ENOMFA, "No authenticator enrolled: run userpool-enroll");
	if (!s->session)
		return up_fail(ctx, UP_EPROTO, "MFA_SETUP without a Session");
	return UP_OK;
}

/*
 * Authenticator enrolment, one routine for both callers: the MFA_SETUP
 * answer (the sign-in's Session, which each step carries on) and
 * userpool-enroll (an access token, up_cognito_enroll). Associate, show the
 * enrolment through the conversation, ask for the first code (MAX_ATTEMPTS
 * in all) and verify it.
 */
struct enrolment {
	const char *access_token; /* NULL: the sign-in's Session (s->session) */
	const char *device;	  /* FriendlyDeviceName; NULL or "" for none */
	bool counted;		  /* the retry message counts the tries (userpool-enroll) */
	char *secret;		  /* out: the new secret, base32 (secret) */
	char *code;		  /* out: the code the pool accepted (secret) */
};

static json_t *enrol_body(const struct signin *s, const struct enrolment *en)
{
	return en->access_token ? access_body(en->access_token) : body_with("Session", s->session);
}

/* AssociateSoftwareToken (`body` consumed): the new secret, and the answer in
 * *ret_resp when that is not NULL (release with json_put_secret). */
static up_err associate_call(struct up_ctx *ctx, json_t *body, char **ret_secret, json_t **ret_resp)
{
	json_t *resp = NULL;
	const char *v;
	char *dup = NULL;
	up_err r;

	r = call(ctx, "AssociateSoftwareToken", body, &resp);
	if (r)
		return r;
	r = jstr_req(ctx, "AssociateSoftwareToken", resp, "SecretCode", MAX_PARAM, &v);
	if (!r && !(dup = strdup(v)))
		r = UP_ENOMEM;
	if (r || !ret_resp) {
		json_put_secret(resp);
		resp = NULL;
	}
	if (r)
		return r;
	*ret_secret = dup;
	if (ret_resp)
		*ret_resp = resp;
	return UP_OK;
}

/* VerifySoftwareToken (`body` consumed, the code and device added): UP_OK
 * only with Status SUCCESS; the answer in *ret_resp when that is not NULL. */
static up_err verify_call(struct up_ctx *ctx, json_t *body, const char *code, const char *device,
			  json_t **ret_resp)
{
	json_t *resp = NULL;
	const char *status;
	up_err r;

	if (body && (jset(body, "UserCode", code) ||
		     (device && *device && jset(body, "FriendlyDeviceName", device)))) {
		json_put_secret(body);
		return UP_ENOMEM;
	}
	r = call(ctx, "VerifySoftwareToken", body, &resp);
	if (r)
		return r;
	status = jstr(resp, "Status");
	if (!status || strcmp(status, "SUCCESS") != 0)
		r = up_fail(ctx, UP_ECODE, "VerifySoftwareToken: status %s",
			    status ? status : "missing");
	if (r || !ret_resp)
		json_put_secret(resp);
	else
		*ret_resp = resp;
	return r;
}

/* The code the person reads off the new authenticator, asked again after a
 * wrong one (MAX_ATTEMPTS in all); en->code the one the pool accepted. */
static up_err verify_new_token(struct signin *s, struct enrolment *en, json_t **ret_resp)
{
	char again[96];
	up_err r;

	for (int attempt = 1;; attempt++) {
		char *code = NULL;

		if ((r = conv_prompt(s, UP_PROMPT_CODE, s->conv->echo_code, &code)))
			return r;
		r = verify_call(s->ctx, enrol_body(s, en), code, en->device, ret_resp);
		if (r == UP_OK) {
			up_free_secret(en->code);
			en->code = code;
			return UP_OK;
		}
		up_free_secret(code);
		if ((r != UP_ECODE && r != UP_ECODEEXPIRED) || attempt >= MAX_ATTEMPTS)
			return r;
		/* A wrong code leaves the credential (the access token, or the
		 * Session from AssociateSoftwareToken) standing. */
		if (en->counted)
			snprintf(again, sizeof(again),
				 "Verification code rejected; try the next code (%d of %d).",
				 attempt + 1, MAX_ATTEMPTS);
		else
			snprintf(again, sizeof(again), "Verification code rejected");
		if ((r = conv_text(s, true, again)))
			return r;
	}
}

/* The enrolment: en->secret and en->code set on success, both NULL after a
 * failure. With a Session, s->session is the one VerifySoftwareToken gave. */
static up_err enrol(struct signin *s, struct enrolment *en)
{
	bool session = !en->access_token;
	json_t *resp = NULL;
	up_err r;

	r = associate_call(s->ctx, enrol_body(s, en), &en->secret, session ? &resp : NULL);
	if (!r && session)
		r = set_session(s, "AssociateSoftwareToken", resp);
	json_put_secret(resp);
	resp = NULL;
	if (!r)
		r = show_enrolment(s, en->secret);
	if (!r)
		r = verify_new_token(s, en, session ? &resp : NULL);
	if (!r && session)
		r = set_session(s, "VerifySoftwareToken", resp);
	json_put_secret(resp);
	if (r) {
		up_free_secret(en->secret);
		en->secret = NULL;
		up_free_secret(en->code);
		en->code = NULL;
	}
	return r;
}

static up_err answer_mfa_setup(struct signin *s, const json_t *cp, json_t **io_resp)
{
	struct up_ctx *ctx = s->ctx;
	char host[256] = "";
	struct enrolment en = {.device = host};
	json_t *resp = NULL, *ans;
	up_err r;

	if ((r = mfa_setup_allowed(s, cp)))
		return r;
	if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
		snprintf(host, sizeof(host), "userpool");
	host[sizeof(host) - 1] = '\0';
	if ((r = enrol(s, &en)))
		return r;
	/* Audit (issue 18): who enrolled which device, at sign-in. */
	up_log(ctx, LOG_NOTICE, "enrolment: %s enrolled authenticator \"%s\" at sign-in",
	       s->username, host);
	ans = json_object();
	r = ans ? respond(s, "MFA_SETUP", ans, &resp) : UP_ENOMEM;
	if (r)
		goto out;
	s->mfa = true;
	s->method = UP_MFA_TOTP;
	/* The module saw the secret: signin.c keeps it wrapped under this
	 * sign-in's password for offline sign-in (issue 16 item 5c). */
	up_free_secret(s->totp_secret);
	s->totp_secret = en.secret;
	en.secret = NULL;
	up_free_secret(s->totp_code);
	s->totp_code = en.code;
	en.code = NULL;
	json_put_secret(*io_resp);
	*io_resp = resp;
	resp = NULL;
out:
	json_put_secret(resp);
	up_free_secret(en.secret);
	up_free_secret(en.code);
	return r;
}

/* One challenge answered: the pool's next answer in *resp. */
static up_err answer_challenge(struct signin *s, const char *name, const json_t *cp, json_t **resp)
{
	struct up_ctx *ctx = s->ctx;
	bool conv = s->conv != NULL;

	if (code_challenge_by_name(name))
		return conv ? answer_code(s, code_challenge_by_name(name), cp, resp)
			    : up_fail(ctx, UP_ECONV, "no conversation");
	if (strcmp(name, "SELECT_MFA_TYPE") == 0)
		return answer_select(s, cp, resp);
	if (strcmp(name, "NEW_PASSWORD_REQUIRED") == 0)
		return conv ? answer_new_password(s, cp, resp)
			    : up_fail(ctx, UP_ECONV, "no conversation");
	if (strcmp(name, "MFA_SETUP") == 0)
		return conv ? answer_mfa_setup(s, cp, resp)
			    : up_fail(ctx, UP_ECONV, "no conversation");
	if (strcmp(name, "CUSTOM_CHALLENGE") == 0)
		return conv ? answer_custom(s, cp, resp)
			    : up_fail(ctx, UP_ECONV, "no conversation");
	if (strcmp(name, "WEB_AUTHN") == 0 || strcmp(name, "SMS_OTP") == 0)
		return refuse_first_factor(s, name);
	if (strncmp(name, "DEVICE_", 7) == 0)
		/* Only asked of a client that sent DEVICE_KEY; this one never
		 * does (a remembered shared machine is not a factor). */
		return up_fail(ctx, UP_ECHALLENGE,
			       "the pool asks for %s; this module never remembers devices", name);
	return up_fail(ctx, UP_ECHALLENGE, "the pool asks for %s, which is not supported", name);
}

/* Answer challenges until the pool's answer holds tokens (then UP_OK, the
 * answer in *resp); at most MAX_STEPS besides the custom rounds. */
static up_err challenges(struct signin *s, json_t **resp)
{
	struct up_ctx *ctx = s->ctx;
	up_err r;

	for (int step = 0;; step++) {
		const char *name = jstr(*resp, "ChallengeName");
		const json_t *cp;

		if (json_object_get(*resp, "AuthenticationResult")) {
			/* Every response with a challenge is not a sign-in. */
			if (json_object_get(*resp, "ChallengeName") &&
			    !json_is_null(json_object_get(*resp, "ChallengeName")))
				return up_fail(ctx, UP_EPROTO,
					       "response holds both a challenge and tokens");
			return UP_OK;
		}
		if (!name || !*name)
			return up_fail(ctx, UP_EPROTO,
				       "response holds neither tokens nor a challenge");
		if (step - s->custom_rounds >= MAX_STEPS)
			return up_fail(ctx, UP_ECHALLENGE, "too many challenges (last %s)", name);
		cp = json_object_get(*resp, "ChallengeParameters");
		if (cp && !json_is_object(cp))
			return up_fail(ctx, UP_EPROTO, "%s: malformed ChallengeParameters", name);
		if ((r = set_session(s, name, *resp)) ||
		    (r = set_user_id(s, jstr(cp, "USER_ID_FOR_SRP"))))
			return r;
		up_log(ctx, LOG_INFO, "user %s: challenge %s", s->username, name);
		if ((r = answer_challenge(s, name, cp, resp)))
			return r;
	}
}

up_err up_cognito_signin(struct up_ctx *ctx, const char *username, const char *password,
			 const struct up_conv *conv, struct up_auth **ret_auth)
{
	struct signin s = {.ctx = ctx, .conv = conv, .username = username};
	json_t *resp = NULL;
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	up_clear_user_msg(ctx);
	if (!ret_auth || !valid_text(username, UP_MAX_USERNAME) || !password ||
	    strlen(password) > UP_MAX_PASSWORD)
		return up_fail(ctx, UP_EINVAL, "bad user name or password argument");
	s.user_id = strdup(username);
	if (!s.user_id)
		return UP_ENOMEM;
	switch (ctx->cfg->auth_flow) {
	case UP_FLOW_SRP:
	case UP_FLOW_CUSTOM:
	case UP_FLOW_USER_AUTH:
		r = srp_start(&s, password, &resp);
		break;
	case UP_FLOW_PASSWORD:
		r = password_start(&s, password, &resp);
		break;
	default:
		r = up_fail(ctx, UP_ECONFIG,
			    "auth_flow must be srp, password, custom or user_auth for cognito");
		break;
	}
	if (r || (r = challenges(&s, &resp)))
		goto out;
	/*
	 * The ID token's username_claim must equal the pool username this
	 * sign-in was for (DESIGN §3), not whatever the pool resolved it to:
	 * a case-insensitive pool must not let "Alice" become "alice" (a second
	 * local account), nor an alias stand in for the name. Pools whose users
	 * sign in with an alias set username_claim (e.g. email) to match.
	 */
	/* A custom challenge is a second factor only when the administrator
	 * says so; the password was proven by SRP before it. */
	if (s.custom_rounds > 0 && ctx->cfg->custom_is_mfa)
		s.mfa = true;
	r = finish(ctx, "sign-in", resp, username, s.mfa, ret_auth);
	if (r == UP_OK) {
		(*ret_auth)->mfa_method = s.mfa ? s.method : UP_MFA_NONE;
		(*ret_auth)->new_password = s.new_password;
		s.new_password = NULL;
		(*ret_auth)->totp_secret = s.totp_secret;
		s.totp_secret = NULL;
		(*ret_auth)->totp_code = s.totp_code;
		s.totp_code = NULL;
		up_log(ctx, LOG_INFO, "user %s: signed in to the pool%s", username,
		       s.mfa ? " with a second factor" : "");
	}
out:
	json_put_secret(resp);
	up_free_secret(s.new_password);
	up_free_secret(s.totp_secret);
	up_free_secret(s.totp_code);
	free(s.user_id);
	up_free_secret(s.session);
	return r;
}

/* ---------------------------------------------------------------------- */
/* other calls */

static up_err probe_prompt(void *ud, const char *text, bool echo, char **ret_answer)
{
	(void)ud;
	(void)text;
	(void)echo;
	(void)ret_answer;
	return UP_ECONV;
}

static up_err probe_text(void *ud, const char *text)
{
	(void)ud;
	(void)text;
	return UP_OK;
}

up_err up_cognito_probe(struct up_ctx *ctx, int64_t *ret_skew, bool *ret_have_date)
{
	unsigned char rnd[24];
	char *hex = NULL, name[64], password[64];
	struct up_conv conv = {0};
	struct up_auth *auth = NULL;
	up_err r;

	if (!ctx || !ret_skew || !ret_have_date)
		return UP_EINVAL;
	*ret_skew = 0;
	*ret_have_date = false;
	if ((r = check_ctx(ctx)))
		return r;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || up_hex_encode(rnd, sizeof(rnd), &hex))
		return up_fail(ctx, UP_EINTERNAL, "no random bytes for the probe");
	/* Neither is a secret: a name no one has and a password no one uses. */
	snprintf(name, sizeof(name), "userpool-probe-%.16s", hex);
	snprintf(password, sizeof(password), "Probe-%.32s", hex + 16);
	free(hex);
	conv.prompt = probe_prompt;
	conv.info = probe_text;
	conv.error = probe_text;
	ctx->http_date = 0;
	r = up_cognito_signin(ctx, name, password, &conv, &auth);
	up_auth_free(auth);
	if (ctx->http_date) {
		*ret_skew = ctx->http_date - ctx->http_date_local;
		*ret_have_date = true;
	}
	if (r == UP_EDENIED || r == UP_ENOUSER) {
		up_clear_detail(ctx);
		return UP_OK;
	}
	return r ? r : up_fail(ctx, UP_EPROTO, "the pool accepted a random user name");
}

up_err up_cognito_refresh(struct up_ctx *ctx, const char *username, const char *refresh_token,
			  struct up_auth **ret_auth)
{
	json_t *params, *body, *resp = NULL;
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!ret_auth || !valid_text(refresh_token, UP_MAX_TOKEN) ||
	    (username && strlen(username) > UP_MAX_USERNAME) ||
	    (ctx->cfg->client_secret && !valid_text(username, UP_MAX_USERNAME)))
		return up_fail(ctx, UP_EINVAL, "bad refresh arguments");
	params = json_object();
	body = new_body(ctx);
	if (!params || !body || jset(params, "REFRESH_TOKEN", refresh_token) ||
	    (r = add_secret_hash(ctx, params, username)) ||
	    jset(body, "AuthFlow", "REFRESH_TOKEN_AUTH")) {
		json_put_secret(params);
		json_put_secret(body);
		return r ? r : UP_ENOMEM;
	}
	if (json_object_set_new(body, "AuthParameters", params) != 0) {
		json_put_secret(body);
		return UP_ENOMEM;
	}
	r = call(ctx, "InitiateAuth", body, &resp);
	if (r)
		return r;
	if (jstr(resp, "ChallengeName"))
		r = up_fail(ctx, UP_ECHALLENGE, "REFRESH_TOKEN_AUTH answered with challenge %s",
			    jstr(resp, "ChallengeName"));
	else
		r = finish(ctx, "REFRESH_TOKEN_AUTH", resp, username, false, ret_auth);
	json_put_secret(resp);
	return r;
}

void up_cognito_user_free(struct up_cognito_user *user)
{
	if (!user)
		return;
	free(user->username);
	free(user->preferred_mfa);
	up_strv_free(user->mfa_settings);
	up_strv_free(user->attr_names);
	up_strv_free(user->attr_values);
	free(user);
}

const char *up_cognito_user_name(const struct up_cognito_user *user)
{
	return user ? user->username : NULL;
}

const char *up_cognito_user_preferred_mfa(const struct up_cognito_user *user)
{
	return user ? user->preferred_mfa : NULL;
}

char *const *up_cognito_user_mfa_settings(const struct up_cognito_user *user)
{
	return user ? user->mfa_settings : NULL;
}

const char *up_cognito_user_attr(const struct up_cognito_user *user, const char *name)
{
	if (!user || !name || !user->attr_names)
		return NULL;
	for (size_t i = 0; user->attr_names[i]; i++)
		if (strcmp(user->attr_names[i], name) == 0)
			return user->attr_values[i];
	return NULL;
}

static char **strv_new(size_t n)
{
	return calloc(n + 1, sizeof(char *));
}

up_err up_cognito_get_user(struct up_ctx *ctx, const char *access_token,
			   struct up_cognito_user **ret_user)
{
	struct up_cognito_user *u = NULL;
	const json_t *attrs, *mfa, *v;
	json_t *resp = NULL;
	const char *name;
	size_t i, n = 0;
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!ret_user || !valid_text(access_token, UP_MAX_TOKEN))
		return up_fail(ctx, UP_EINVAL, "bad GetUser arguments");
	r = call(ctx, "GetUser", access_body(access_token), &resp);
	if (r)
		return r;
	if ((r = jstr_req(ctx, "GetUser", resp, "Username", UP_MAX_USERNAME, &name)))
		goto out;
	attrs = json_object_get(resp, "UserAttributes");
	mfa = json_object_get(resp, "UserMFASettingList");
	if ((attrs && !json_is_array(attrs)) || (mfa && !json_is_array(mfa)) ||
	    json_array_size(attrs) > 256 || json_array_size(mfa) > 16) {
		r = up_fail(ctx, UP_EPROTO, "GetUser: malformed attribute or MFA lists");
		goto out;
	}
	u = calloc(1, sizeof(*u));
	if (!u || !(u->username = strdup(name)) ||
	    !(u->attr_names = strv_new(json_array_size(attrs))) ||
	    !(u->attr_values = strv_new(json_array_size(attrs))) ||
	    !(u->mfa_settings = strv_new(json_array_size(mfa)))) {
		r = UP_ENOMEM;
		goto out;
	}
	if (jstr(resp, "PreferredMfaSetting") &&
	    !(u->preferred_mfa = strdup(jstr(resp, "PreferredMfaSetting")))) {
		r = UP_ENOMEM;
		goto out;
	}
	json_array_foreach(attrs, i, v)
	{
		const char *an = jstr(v, "Name"), *av = jstr(v, "Value");
		if (!an) {
			r = up_fail(ctx, UP_EPROTO, "GetUser: attribute without a name");
			goto out;
		}
		u->attr_names[n] = strdup(an);
		u->attr_values[n] = strdup(av ? av : "");
		n++; /* both freed by up_strv_free even when one failed */
		if (!u->attr_names[n - 1] || !u->attr_values[n - 1]) {
			r = UP_ENOMEM;
			goto out;
		}
	}
	n = 0;
	json_array_foreach(mfa, i, v)
	{
		if (!json_is_string(v))
			continue;
		if (!(u->mfa_settings[n++] = strdup(json_string_value(v)))) {
			r = UP_ENOMEM;
			goto out;
		}
	}
	*ret_user = u;
	u = NULL;
out:
	/* A failed pair leaves at most the last slot of one array set;
	 * each array stays NULL-terminated, so up_strv_free frees all. */
	up_cognito_user_free(u);
	json_put_secret(resp);
	return r;
}

up_err up_cognito_associate_token(struct up_ctx *ctx, const char *access_token, char **ret_secret)
{
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!ret_secret || !valid_text(access_token, UP_MAX_TOKEN))
		return up_fail(ctx, UP_EINVAL, "bad AssociateSoftwareToken arguments");
	return associate_call(ctx, access_body(access_token), ret_secret, NULL);
}

up_err up_cognito_verify_token(struct up_ctx *ctx, const char *access_token, const char *code,
			       const char *device_name)
{
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!valid_text(access_token, UP_MAX_TOKEN) || !valid_text(code, 64) ||
	    (device_name && strlen(device_name) > 256))
		return up_fail(ctx, UP_EINVAL, "bad VerifySoftwareToken arguments");
	return verify_call(ctx, access_body(access_token), code, device_name, NULL);
}

up_err up_cognito_enroll(struct up_ctx *ctx, const char *access_token, const char *username,
			 const char *device_name, const struct up_conv *conv, char **ret_secret,
			 char **ret_code)
{
	struct signin s = {.ctx = ctx, .conv = conv, .username = username};
	struct enrolment en = {
	    .access_token = access_token, .device = device_name, .counted = true};
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!ret_secret || !conv || !valid_text(access_token, UP_MAX_TOKEN) ||
	    !valid_text(username, UP_MAX_USERNAME) || (device_name && strlen(device_name) > 256))
		return up_fail(ctx, UP_EINVAL, "bad enrolment arguments");
	if ((r = enrol(&s, &en)))
		return r;
	*ret_secret = en.secret;
	if (ret_code)
		*ret_code = en.code;
	else
		up_free_secret(en.code);
	return UP_OK;
}

up_err up_cognito_set_mfa_preference(struct up_ctx *ctx, const char *access_token, bool enabled,
				     bool preferred)
{
	json_t *body, *st;
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!valid_text(access_token, UP_MAX_TOKEN))
		return up_fail(ctx, UP_EINVAL, "bad SetUserMFAPreference arguments");
	body = access_body(access_token);
	st = json_pack("{s:b, s:b}", "Enabled", enabled, "PreferredMfa", preferred);
	if (!body || !st || json_object_set_new(body, "SoftwareTokenMfaSettings", st) != 0) {
		json_decref(st);
		json_put_secret(body);
		return UP_ENOMEM;
	}
	return call_simple(ctx, "SetUserMFAPreference", body);
}

up_err up_cognito_change_password(struct up_ctx *ctx, const char *access_token,
				  const char *old_password, const char *new_password)
{
	json_t *body;
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!valid_text(access_token, UP_MAX_TOKEN) || !old_password ||
	    strlen(old_password) > UP_MAX_PASSWORD || !valid_text(new_password, UP_MAX_PASSWORD))
		return up_fail(ctx, UP_EINVAL, "bad ChangePassword arguments");
	body = access_body(access_token);
	if (body && (jset(body, "PreviousPassword", old_password) ||
		     jset(body, "ProposedPassword", new_password))) {
		json_put_secret(body);
		return UP_ENOMEM;
	}
	return call_simple(ctx, "ChangePassword", body);
}

up_err up_cognito_revoke(struct up_ctx *ctx, const char *refresh_token)
{
	json_t *body;
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!valid_text(refresh_token, UP_MAX_TOKEN))
		return up_fail(ctx, UP_EINVAL, "bad RevokeToken arguments");
	body = new_body(ctx);
	if (body && (jset(body, "Token", refresh_token) ||
		     jset(body, "ClientSecret", ctx->cfg->client_secret))) {
		json_put_secret(body);
		return UP_ENOMEM;
	}
	return call_simple(ctx, "RevokeToken", body);
}

up_err up_cognito_global_signout(struct up_ctx *ctx, const char *access_token)
{
	up_err r;

	if ((r = check_ctx(ctx)))
		return r;
	if (!valid_text(access_token, UP_MAX_TOKEN))
		return up_fail(ctx, UP_EINVAL, "bad GlobalSignOut arguments");
	return call_simple(ctx, "GlobalSignOut", access_body(access_token));
}

/* Cognito's token rules: the pool's issuer and key set, token_use names
 * the kind, access tokens carry client_id and the name as "username". */
up_err up_cognito_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules)
{
	const struct up_config *cfg = ctx->cfg;

	if (!cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	if (!cfg->jwks_uri && !(flags & UP_VERIFY_OFFLINE))
		return up_fail(ctx, UP_ECONFIG, "jwks_uri is not set");
	memset(rules, 0, sizeof(*rules));
	rules->issuer = cfg->issuer;
	rules->client_id = cfg->client_id;
	rules->jwks_uri = cfg->jwks_uri;
	rules->alt_issuer = cfg->issuer_alt;
	rules->alt_jwks_uri = cfg->jwks_uri_alt;
	rules->token_use = true;
	rules->username_claim = cfg->username_claim ? cfg->username_claim : "cognito:username";
	rules->access_username_claim = "username";
	rules->groups_claim = cfg->groups_claim ? cfg->groups_claim : "cognito:groups";
	rules->uid_claim = cfg->uid_claim;
	rules->gid_claim = cfg->gid_claim;
	rules->leeway = cfg->leeway;
	return UP_OK;
}

static bool cognito_needs_password(const struct up_config *cfg)
{
	(void)cfg;
	return true;
}

/* The key set: served by the pool without credentials, the cheapest GET. */
static up_err cognito_probe_url(struct up_ctx *ctx, char **ret_url)
{
	if (!ctx->cfg->jwks_uri)
		return up_fail(ctx, UP_ECONFIG, "jwks_uri is not set");
	*ret_url = strdup(ctx->cfg->jwks_uri);
	return *ret_url ? UP_OK : up_fail(ctx, UP_ENOMEM, "out of memory");
}

const struct up_provider_ops up_cognito_ops = {
    .name = "cognito",
    .enrolls_here = true,
    .prepare = NULL,
    .token_rules = up_cognito_token_rules,
    .needs_password = cognito_needs_password,
    .signin = up_cognito_signin,
    .refresh = up_cognito_refresh,
    .revoke = up_cognito_revoke,
    .change_password = up_cognito_change_password,
    .probe_client = up_cognito_probe,
    .probe_url = cognito_probe_url,
    .free = NULL,
};
