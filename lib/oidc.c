/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Generic OpenID Connect (DESIGN §3): discovery, RFC 6749 ROPC with a TOTP
 * code, RFC 8628 device authorization, refresh, userinfo and RFC 7009
 * revocation.
 *
 * Decisions where the design leaves a choice:
 * - Discovery is cached in state_dir/jwks/<sha256-hex of the discovery
 *   URL>.discovery.json ({"fetched_at", "url", "discovery": {the fields we
 *   use}}). It is used without network while younger than 24 h. When a
 *   re-fetch fails for any reason (network, 5xx, a document we refuse) the
 *   last good one is used whatever its age, with a warning. The document
 *   from disk goes through the same checks as a fetched one.
 * - Every endpoint must pass up_url_allowed(); the document's issuer must
 *   equal `issuer` exactly; token_endpoint and jwks_uri are required,
 *   device_authorization_endpoint only for auth_flow = device.
 * - The person who signs in must be the user asked for, in both flows: the
 *   device flow checks username_claim against the login name too, so that
 *   approving the code as someone else never signs in this user.
 * - username_claim missing from the ID token: read from userinfo with the
 *   access token; its sub must equal the ID token's. groups_claim is taken
 *   from userinfo too when the ID token has none.
 * - mfa: when the ID token has an amr claim, it decides ("otp" or "mfa");
 *   without one, a code that the provider accepted counts.
 * - A refresh response without an ID token cannot prove who the user is:
 *   UP_EPROTO.
 * - Client authentication: client_auth = basic sends the form-urlencoded
 *   client_id and secret as HTTP Basic (RFC 6749 §2.3.1) and no client_id
 *   in the body; post sends both in the body; without a secret only
 *   client_id is sent.
 * - Device flow: the first poll follows the user's Enter at once; then the
 *   server's interval (5 s when absent, at least 1 s) is slept after each
 *   answer, +5 s on slow_down. Polling stops at expires_in, and never runs
 *   longer than 15 minutes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <userpool/oidc.h>
#include <userpool/otpauth.h>

#include "buf.h"
#include "codec.h"
#include "ctx.h"
#include "http.h"
#include "jwt.h"
#include "log.h"
#include "oidc.h"
#include "provider.h"
#include "secret.h"
#include "signin.h"
#include "state.h"

#define DISCOVERY_FRESH (24 * 3600)
#define DISCOVERY_CACHE_CAP (UP_MAX_JWKS + 4096u)
#define MAX_URL 2048u
#define DEVICE_MAX_SECONDS 900
#define DEVICE_DEFAULT_INTERVAL 5
#define DEVICE_MAX_CODE 256u
#define MAX_GROUPS 1024u
#define PROMPT_DEVICE "Press Enter after approving"

static const char *const form_headers[] = {"Content-Type: application/x-www-form-urlencoded",
					   "Accept: application/json", NULL};

/* ---------------------------------------------------------------------- */
/* small helpers */

/* Printable, bounded copy of text from the network for a detail or log line. */
static void printable(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	if (!s)
		s = "";
	for (; *s && o + 1 < outsz; s++)
		out[o++] = ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f) ? *s : '?';
	out[o] = '\0';
}

/* Visible ASCII only (shown on a terminal): no control characters. */
static bool visible(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (n >= max || (unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec t = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};

	while (ms > 0 && nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

/* An application/x-www-form-urlencoded body; it may hold secrets, so every
 * buffer it drops is wiped. */
/* A form-urlencoded body (it holds passwords and codes: wiped). */
struct form {
	struct up_buf b;
};

static void form_add(struct form *f, const char *key, const char *value)
{
	char *enc = NULL;

	if (f->b.oom)
		return;
	if (up_url_encode(value, &enc) != UP_OK) {
		f->b.oom = true;
		return;
	}
	if (f->b.len)
		up_buf_add(&f->b, "&", 1);
	up_buf_add_str(&f->b, key);
	up_buf_add(&f->b, "=", 1);
	up_buf_add_str(&f->b, enc);
	up_free_secret(enc);
}

static void form_clear(struct form *f)
{
	up_buf_clear(&f->b);
}

/* Client credentials for one request (RFC 6749 §2.3.1). */
struct client_auth {
	char *user; /* form-urlencoded client_id, for HTTP Basic */
	char *pass; /* form-urlencoded secret */
};

static up_err client_auth_add(struct up_ctx *ctx, struct form *f, struct up_http_req *req,
			      struct client_auth *ca)
{
	const struct up_config *cfg = ctx->cfg;

	memset(ca, 0, sizeof(*ca));
	if (cfg->client_secret && cfg->client_auth == UP_CLIENT_AUTH_BASIC) {
		if (up_url_encode(cfg->client_id, &ca->user) != UP_OK ||
		    up_url_encode(cfg->client_secret, &ca->pass) != UP_OK) {
			free(ca->user);
			ca->user = NULL;
			return up_fail(ctx, UP_ENOMEM, "out of memory");
		}
		req->basic_user = ca->user;
		req->basic_pass = ca->pass;
		return UP_OK;
	}
	form_add(f, "client_id", cfg->client_id);
	if (cfg->client_secret)
		form_add(f, "client_secret", cfg->client_secret);
	return UP_OK;
}

static void client_auth_clear(struct client_auth *ca)
{
	free(ca->user);
	up_free_secret(ca->pass);
	memset(ca, 0, sizeof(*ca));
}

/* POST `f` to `url` with the client's credentials. */
static up_err post_form(struct up_ctx *ctx, const char *url, struct form *f,
			struct up_http_resp *resp)
{
	struct up_http_req req = {
	    .url = url,
	    .method = "POST",
	    .headers = form_headers,
	};
	struct client_auth ca;
	up_err rc;

	rc = client_auth_add(ctx, f, &req, &ca);
	if (rc)
		return rc;
	if (f->b.oom) {
		client_auth_clear(&ca);
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	}
	req.body = f->b.s;
	req.body_len = f->b.len;
	rc = up_http_do(ctx, &req, resp);
	client_auth_clear(&ca);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* discovery */

static const char *const endpoint_names[] = {
    "token_endpoint",	 "device_authorization_endpoint", "jwks_uri",
    "userinfo_endpoint", "revocation_endpoint",
};

static char **endpoint_slot(struct up_oidc_endpoints *e, size_t i)
{
	switch (i) {
	case 0:
		return &e->token_endpoint;
	case 1:
		return &e->device_authorization_endpoint;
	case 2:
		return &e->jwks_uri;
	case 3:
		return &e->userinfo_endpoint;
	default:
		return &e->revocation_endpoint;
	}
}

/* Check a discovery document and copy the endpoints we use. */
static up_err discovery_check(struct up_ctx *ctx, const json_t *doc, struct up_oidc_endpoints *ret)
{
	const struct up_config *cfg = ctx->cfg;
	struct up_oidc_endpoints e = {0};
	const char *iss;
	char buf[160];

	if (!json_is_object(doc))
		return up_fail(ctx, UP_EPROTO, "discovery document is not a JSON object");
	iss = json_string_value(json_object_get(doc, "issuer"));
	if (!iss)
		return up_fail(ctx, UP_EPROTO, "discovery document has no issuer");
	if (strcmp(iss, cfg->issuer) != 0) {
		printable(iss, buf, sizeof(buf));
		return up_fail(ctx, UP_EPROTO, "discovery issuer %s is not the configured issuer",
			       buf);
	}
	for (size_t i = 0; i < sizeof(endpoint_names) / sizeof(endpoint_names[0]); i++) {
		json_t *v = json_object_get(doc, endpoint_names[i]);
		const char *s = json_string_value(v);

		if (!v)
			continue;
		if (!s || strlen(s) > MAX_URL || !up_url_allowed(s)) {
			printable(s, buf, sizeof(buf));
			up_oidc_endpoints_clear(&e);
			return up_fail(ctx, UP_EPROTO,
				       "discovery %s refused (%s): https://, or http:// only to a "
				       "loopback address",
				       endpoint_names[i], s ? buf : "not a string");
		}
		*endpoint_slot(&e, i) = strdup(s);
		if (!*endpoint_slot(&e, i)) {
			up_oidc_endpoints_clear(&e);
			return up_fail(ctx, UP_ENOMEM, "out of memory");
		}
	}
	if (!e.token_endpoint || !e.jwks_uri ||
	    (cfg->auth_flow == UP_FLOW_DEVICE && !e.device_authorization_endpoint)) {
		const char *what = !e.token_endpoint ? "token_endpoint"
				   : !e.jwks_uri     ? "jwks_uri"
						     : "device_authorization_endpoint";
		up_oidc_endpoints_clear(&e);
		return up_fail(ctx, UP_EPROTO, "discovery document has no %s", what);
	}
	*ret = e;
	return UP_OK;
}

/* The subset of the document we keep on disk. */
static json_t *discovery_subset(const struct up_ctx *ctx, const struct up_oidc_endpoints *e)
{
	json_t *o = json_pack("{s:s}", "issuer", ctx->cfg->issuer);

	for (size_t i = 0; o && i < sizeof(endpoint_names) / sizeof(endpoint_names[0]); i++) {
		char *const *v = endpoint_slot((struct up_oidc_endpoints *)(uintptr_t)e, i);

		if (*v && json_object_set_new(o, endpoint_names[i], json_string(*v)) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static up_err discovery_url(struct up_ctx *ctx, char **ret)
{
	const char *iss = ctx->cfg->issuer;
	size_t n = strlen(iss);
	char *url = NULL;

	/* OpenID Connect Discovery §4: a trailing "/" of the issuer is removed
	 * before the well-known path is appended. */
	if (n && iss[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s/.well-known/openid-configuration", (int)n, iss) < 0)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	*ret = url;
	return UP_OK;
}

/* The cached document when usable (any age); false otherwise. */
static bool discovery_load(struct up_ctx *ctx, int dirfd, const char *name, const char *url,
			   struct up_oidc_endpoints *e, int64_t *ret_fetched_at)
{
	char why[160];
	json_t *root = NULL;

	switch (up_cache_load(ctx, dirfd, name, DISCOVERY_CACHE_CAP, "url", url, &root,
			      ret_fetched_at)) {
	case UP_CACHE_NONE:
		return false;
	case UP_CACHE_REFUSED:
		printable(up_ctx_detail(ctx), why, sizeof(why));
		up_log(ctx, LOG_WARNING, "oidc: discovery cache jwks/%s refused (%s)", name, why);
		return false;
	case UP_CACHE_CORRUPT:
		up_log(ctx, LOG_WARNING, "oidc: discovery cache jwks/%s is corrupt", name);
		return false;
	case UP_CACHE_OK:
		break;
	}
	if (discovery_check(ctx, json_object_get(root, "discovery"), e) != UP_OK) {
		printable(up_ctx_detail(ctx), why, sizeof(why));
		up_log(ctx, LOG_WARNING, "oidc: cached discovery document not usable: %s", why);
		json_decref(root);
		return false;
	}
	json_decref(root);
	return true;
}

static void discovery_store(struct up_ctx *ctx, int dirfd, const char *name, const char *url,
			    const struct up_oidc_endpoints *e, int64_t now)
{
	json_t *sub = discovery_subset(ctx, e), *root;

	root = sub ? json_pack("{s:I, s:s, s:o}", "fetched_at", (json_int_t)now, "url", url,
			       "discovery", sub)
		   : NULL;
	if (!root || up_cache_store(ctx, dirfd, name, DISCOVERY_CACHE_CAP, root) != UP_OK)
		up_log(ctx, LOG_WARNING, "oidc: cannot write the discovery cache jwks/%s", name);
	json_decref(root);
}

static up_err discovery_fetch(struct up_ctx *ctx, const char *url, struct up_oidc_endpoints *e)
{
	json_t *doc = NULL;
	up_err rc;

	rc = up_http_get_json(ctx, url, UP_MAX_JWKS, "discovery", 0, &doc);
	if (rc)
		return rc;
	rc = discovery_check(ctx, doc, e);
	json_decref(doc);
	return rc;
}

up_err up_oidc_discover(struct up_ctx *ctx)
{
	struct up_oidc_endpoints fetched = {0}, cached = {0};
	char *url = NULL, hex[65], name[96], detail[sizeof(ctx->detail)];
	int64_t now, fetched_at = 0;
	bool have = false;
	int dirfd = -1;
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	if (up_provider(ctx) != &up_oidc_ops)
		return up_fail(ctx, UP_ECONFIG, "discovery is for provider oidc");
	if (!ctx->cfg->issuer || !ctx->cfg->issuer[0])
		return up_fail(ctx, UP_ECONFIG, "issuer is not set");
	if (ctx->oidc.token_endpoint)
		return UP_OK; /* done earlier in this context */

	rc = discovery_url(ctx, &url);
	if (rc)
		return rc;
	rc = up_sha256_hex(url, strlen(url), hex);
	if (rc) {
		free(url);
		return up_fail(ctx, rc, "hashing the discovery URL failed");
	}
	snprintf(name, sizeof(name), "%s.discovery.json", hex);
	now = up_ctx_now(ctx);
	if (up_state_dir(ctx, "jwks", &dirfd) != UP_OK) {
		printable(up_ctx_detail(ctx), detail, sizeof(detail));
		up_log(ctx, LOG_WARNING, "oidc: no discovery cache (%s)", detail);
		dirfd = -1;
	} else {
		have = discovery_load(ctx, dirfd, name, url, &cached, &fetched_at);
	}
	if (have && now - fetched_at >= 0 && now - fetched_at < DISCOVERY_FRESH) {
		up_log(ctx, LOG_DEBUG, "oidc: discovery from the cache");
		ctx->oidc = cached;
		rc = UP_OK;
		goto out;
	}
	rc = discovery_fetch(ctx, url, &fetched);
	if (rc == UP_OK) {
		up_log(ctx, LOG_INFO, "oidc: discovery document fetched");
		if (dirfd >= 0)
			discovery_store(ctx, dirfd, name, url, &fetched, now);
		up_oidc_endpoints_clear(&cached);
		ctx->oidc = fetched;
		goto out;
	}
	if (have) {
		printable(up_ctx_detail(ctx), detail, sizeof(detail));
		up_log(ctx, LOG_WARNING,
		       "oidc: discovery fetch failed (%s: %s): using the cached document",
		       up_strerror(rc), detail);
		ctx->oidc = cached;
		rc = UP_OK;
	}
out:
	if (rc == UP_OK)
		up_clear_detail(ctx);
	if (dirfd >= 0)
		close(dirfd);
	free(url);
	return rc;
}

void up_oidc_endpoints_clear(struct up_oidc_endpoints *e)
{
	if (!e)
		return;
	free(e->token_endpoint);
	free(e->device_authorization_endpoint);
	free(e->jwks_uri);
	free(e->userinfo_endpoint);
	free(e->revocation_endpoint);
	memset(e, 0, sizeof(*e));
}

/* ---------------------------------------------------------------------- */
/* OAuth errors (RFC 6749 §5.2) */

struct oauth_err {
	char error[64];
	char description[200];
};

/* A 4xx answer: its "error" member, or UP_EPROTO when it has none. */
static up_err oauth_error_parse(struct up_ctx *ctx, const char *what,
				const struct up_http_resp *resp, struct oauth_err *oe)
{
	json_t *root = NULL;
	const char *err;

	memset(oe, 0, sizeof(*oe));
	if (up_json_parse(NULL, resp->body, resp->len, UP_MAX_RESPONSE, &root) != UP_OK ||
	    !(err = json_string_value(json_object_get(root, "error"))) || !err[0]) {
		json_decref(root);
		/* A provider that refuses without RFC 6749's error member
		 * (Glewlwyd answers a wrong password with 403 and an empty
		 * body) has still answered: a refusal, never an outage (5xx
		 * is UP_ESERVER in http.c already). */
		if (resp->status == 400 || resp->status == 401 || resp->status == 403)
			return up_fail(ctx, UP_EDENIED, "%s: HTTP %ld without an OAuth error", what,
				       resp->status);
		return up_fail(ctx, UP_EPROTO, "%s: HTTP %ld without an OAuth error", what,
			       resp->status);
	}
	printable(err, oe->error, sizeof(oe->error));
	printable(json_string_value(json_object_get(root, "error_description")), oe->description,
		  sizeof(oe->description));
	json_decref(root);
	return UP_OK;
}

static up_err oauth_error_map(struct up_ctx *ctx, const char *what, const struct oauth_err *oe)
{
	static const struct {
		const char *name;
		up_err err;
	} map[] = {
	    {"invalid_grant", UP_EDENIED},	    {"invalid_client", UP_ECONFIG},
	    {"unauthorized_client", UP_ECONFIG},    {"unsupported_grant_type", UP_ECONFIG},
	    {"invalid_scope", UP_ECONFIG},	    {"invalid_request", UP_EPARAM},
	    {"access_denied", UP_EACCESSDENIED},    {"temporarily_unavailable", UP_ESERVER},
	    {"expired_token", UP_ETIMEOUT},	    {"slow_down", UP_ERATE},
	    {"unsupported_token_type", UP_ECONFIG},
	};
	up_err err = UP_EPROTO; /* an error we do not know: fail closed */

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(oe->error, map[i].name) == 0)
			err = map[i].err;
	return up_fail(ctx, err, "%s: %s%s%s", what, oe->error, oe->description[0] ? ": " : "",
		       oe->description);
}

/* Any answer other than 200: the mapped error. */
static up_err http_error(struct up_ctx *ctx, const char *what, const struct up_http_resp *resp)
{
	struct oauth_err oe;
	up_err rc;

	rc = oauth_error_parse(ctx, what, resp, &oe);
	if (rc)
		return rc;
	return oauth_error_map(ctx, what, &oe);
}

/* ---------------------------------------------------------------------- */
/* token responses */

static bool amr_mfa(char *const *amr)
{
	return up_strv_contains(amr, "otp") || up_strv_contains(amr, "mfa");
}

static up_err strv_from_json(const json_t *v, char ***ret)
{
	size_t i, n = json_array_size(v);
	json_t *e;
	char **out;

	if (!json_is_array(v) || n > MAX_GROUPS)
		return UP_EPROTO;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return UP_ENOMEM;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || !(out[i] = strdup(json_string_value(e)))) {
			up_strv_free(out);
			return json_is_string(e) ? UP_ENOMEM : UP_EPROTO;
		}
	}
	*ret = out;
	return UP_OK;
}

/* username_claim (and groups, when the ID token has none) from userinfo. */
/* GET the userinfo endpoint with the access token: its JSON object. */
static up_err userinfo_get(struct up_ctx *ctx, const char *access_token, const char *uclaim,
			   json_t **ret_root)
{
	const char *headers[3] = {"Accept: application/json", NULL, NULL};
	struct up_http_req req = {.method = "GET", .headers = headers};
	struct up_http_resp resp = {0};
	char *auth = NULL;
	up_err rc;

	if (!ctx->oidc.userinfo_endpoint)
		return up_fail(ctx, UP_EJWT,
			       "%s is not in the ID token and the provider has no userinfo "
			       "endpoint",
			       uclaim);
	if (!access_token)
		return up_fail(ctx, UP_EPROTO,
			       "%s is not in the ID token and there is no access token for "
			       "userinfo",
			       uclaim);
	if (asprintf(&auth, "Authorization: Bearer %s", access_token) < 0)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	headers[1] = auth;
	req.url = ctx->oidc.userinfo_endpoint;
	rc = up_http_do(ctx, &req, &resp);
	up_free_secret(auth);
	if (rc)
		goto out;
	if (resp.status != 200)
		rc = up_fail(ctx, resp.status == 401 || resp.status == 403 ? UP_EDENIED : UP_EHTTP,
			     "userinfo: HTTP status %ld", resp.status);
	else if (up_json_parse(ctx, resp.body, resp.len, UP_MAX_RESPONSE, ret_root) != UP_OK)
		rc = up_fail(ctx, UP_EPROTO,
			     "userinfo is not a JSON object (signed userinfo responses are not "
			     "supported)");
out:
	up_http_resp_clear(&resp);
	return rc;
}

static up_err userinfo_fill(struct up_ctx *ctx, const char *access_token, struct up_claims *claims)
{
	const struct up_config *cfg = ctx->cfg;
	const char *uclaim = cfg->username_claim ? cfg->username_claim : "preferred_username";
	const char *gclaim = cfg->groups_claim ? cfg->groups_claim : "groups";
	char *name = NULL, buf[96];
	json_t *root = NULL, *g;
	const char *sub, *uname;
	up_err rc;

	rc = userinfo_get(ctx, access_token, uclaim, &root);
	if (rc)
		return rc;
	sub = json_string_value(json_object_get(root, "sub"));
	if (!sub || strcmp(sub, claims->sub) != 0) {
		rc = up_fail(ctx, UP_EJWT, "userinfo sub is not the ID token's sub");
		goto out;
	}
	uname = json_string_value(json_object_get(root, uclaim));
	if (!uname || !uname[0] || strlen(uname) > UP_MAX_USERNAME) {
		printable(uclaim, buf, sizeof(buf));
		rc = up_fail(ctx, UP_EJWT, "%s is neither in the ID token nor at userinfo", buf);
		goto out;
	}
	name = strdup(uname);
	if (!name) {
		rc = up_fail(ctx, UP_ENOMEM, "out of memory");
		goto out;
	}
	g = json_object_get(root, gclaim);
	if (g && (!claims->groups || !claims->groups[0])) {
		char **groups = NULL;

		rc = strv_from_json(g, &groups);
		if (rc == UP_ENOMEM) {
			rc = up_fail(ctx, rc, "out of memory");
			goto out;
		}
		if (rc) {
			up_log(ctx, LOG_WARNING,
			       "oidc: userinfo %s is not a list of strings: ignored", gclaim);
		} else {
			up_strv_free(claims->groups);
			claims->groups = groups;
		}
	}
	free(claims->username);
	claims->username = name;
	name = NULL;
	up_log(ctx, LOG_DEBUG, "oidc: %s read from userinfo", uclaim);
	rc = UP_OK;
out:
	free(name);
	json_decref(root);
	return rc;
}

/*
 * A token endpoint's 200 answer → a verified struct up_auth. `username`
 * (NULL: anyone) must be what username_claim names. `code_sent`: a TOTP code
 * went with the request. `old_refresh` is kept when the answer has none.
 */
static up_err token_result(struct up_ctx *ctx, const struct up_http_resp *resp,
			   const char *username, bool code_sent, const char *old_refresh,
			   struct up_auth **ret_auth)
{
	json_t *root = NULL, *tt;
	const char *id, *access, *refresh;
	struct up_claims *claims = NULL;
	struct up_token_rules rules;
	struct up_auth *auth = NULL;
	up_err rc;

	if (up_json_parse(ctx, resp->body, resp->len, UP_MAX_RESPONSE, &root) != UP_OK) {
		rc = up_fail(ctx, UP_EPROTO, "token response is not a JSON object");
		goto out;
	}
	up_pool_answered(ctx);
	id = json_string_value(json_object_get(root, "id_token"));
	access = json_string_value(json_object_get(root, "access_token"));
	refresh = json_string_value(json_object_get(root, "refresh_token"));
	tt = json_object_get(root, "token_type");
	if (!id) {
		rc = up_fail(ctx, UP_EPROTO, "no ID token in the token response");
		goto out;
	}
	if (!access ||
	    (tt && (!json_is_string(tt) || strcasecmp(json_string_value(tt), "Bearer") != 0))) {
		rc = up_fail(ctx, UP_EPROTO, "token response without a Bearer access token");
		goto out;
	}
	if (strlen(id) > UP_MAX_TOKEN || strlen(access) > UP_MAX_TOKEN ||
	    (refresh && strlen(refresh) > UP_MAX_TOKEN)) {
		rc = up_fail(ctx, UP_EPROTO, "token over the %u-byte cap", UP_MAX_TOKEN);
		goto out;
	}
	rc = up_oidc_token_rules(ctx, 0, &rules);
	if (!rc)
		rc = up_token_verify_rules(ctx, &rules, id, UP_TOKEN_ID, NULL, 0, &claims);
	if (rc)
		goto out;
	if (!claims->username) {
		rc = userinfo_fill(ctx, access, claims);
		if (rc)
			goto out;
	}
	if (username && strcmp(claims->username, username) != 0) {
		/* Device flow: someone approved the code as another account. */
		up_set_user_msg(ctx,
				"The sign-in was approved as another account: approve it as %.64s",
				username);
		rc = up_fail(ctx, UP_EJWT, "%s does not match the user",
			     ctx->cfg->username_claim ? ctx->cfg->username_claim
						      : "preferred_username");
		goto out;
	}
	auth = calloc(1, sizeof(*auth));
	if (!auth || !(auth->id_token = strdup(id)) || !(auth->access_token = strdup(access)) ||
	    ((refresh || old_refresh) &&
	     !(auth->refresh_token = strdup(refresh ? refresh : old_refresh)))) {
		up_auth_free(auth);
		auth = NULL;
		rc = up_fail(ctx, UP_ENOMEM, "out of memory");
		goto out;
	}
	/* Without amr, a code only proves a second factor in append mode,
	 * where the provider cannot accept the password without consuming
	 * it; a form field a provider may silently ignore proves nothing. */
	auth->mfa = claims->amr && claims->amr[0]
			? amr_mfa(claims->amr)
			: code_sent && ctx->cfg->otp_mode == UP_OTP_APPEND;
	auth->claims = claims;
	claims = NULL;
	up_clear_detail(ctx);
	*ret_auth = auth;
	rc = UP_OK;
out:
	up_claims_free(claims);
	up_json_wipe(root);
	json_decref(root);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* flows */

static up_err ready(struct up_ctx *ctx)
{
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	if (up_provider(ctx) != &up_oidc_ops)
		return up_fail(ctx, UP_ECONFIG, "provider is not oidc");
	if (!ctx->cfg->client_id)
		return up_fail(ctx, UP_ECONFIG, "client_id is not set");
	return up_oidc_discover(ctx);
}

static up_err ask_code(struct up_ctx *ctx, const struct up_conv *conv, char **ret_code)
{
	char *code = NULL;
	up_err rc;

	if (!conv || !conv->prompt)
		return up_fail(ctx, UP_ECONV, "no conversation to ask for the verification code");
	rc = conv->prompt(conv->ud, UP_PROMPT_CODE, conv->echo_code, &code);
	if (rc || !code) {
		up_free_secret(code);
		return up_fail(ctx, UP_ECONV, "no verification code was entered");
	}
	if (strlen(code) > 64) {
		up_free_secret(code);
		return up_fail(ctx, UP_ECODE, "verification code too long");
	}
	*ret_code = code;
	return UP_OK;
}

/* A GET of the discovery document: UP_OK when the provider answers it. */
static up_err provider_answers(struct up_ctx *ctx)
{
	struct up_http_req req = {0};
	struct up_http_resp resp = {0};
	char *url = NULL;
	up_err rc;

	if ((rc = discovery_url(ctx, &url)))
		return rc;
	req.url = url;
	req.method = "GET";
	req.cap = UP_MAX_RESPONSE;
	rc = up_http_do(ctx, &req, &resp);
	up_http_resp_clear(&resp);
	free(url);
	return rc;
}

static up_err signin_password(struct up_ctx *ctx, const char *username, const char *password,
			      const struct up_conv *conv, struct up_auth **ret_auth)
{
	const struct up_config *cfg = ctx->cfg;
	struct up_http_resp resp = {0};
	struct form f = {0};
	char *code = NULL, *joined = NULL;
	bool code_sent;
	up_err rc;

	if (!password)
		return up_fail(ctx, UP_EINVAL, "auth_flow password needs a password");
	/* ROPC has no second round trip, so the code is asked before the
	 * request. With discovery from the cache nothing has reached the
	 * provider yet: make sure it answers first, so that a provider that
	 * is down leads to the offline sign-in after the password alone. */
	if (!ctx->http_answered && (rc = provider_answers(ctx)))
		return rc;
	rc = ask_code(ctx, conv, &code);
	if (rc)
		return rc;
	code_sent = code[0] != '\0';
	form_add(&f, "grant_type", "password");
	form_add(&f, "username", username);
	if (code_sent && cfg->otp_mode == UP_OTP_APPEND) {
		size_t pl = strlen(password), cl = strlen(code);

		joined = malloc(pl + cl + 1);
		if (!joined) {
			rc = up_fail(ctx, UP_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(joined, password, pl);
		memcpy(joined + pl, code, cl + 1);
		form_add(&f, "password", joined);
	} else {
		form_add(&f, "password", password);
		if (code_sent)
			form_add(&f, cfg->otp_param ? cfg->otp_param : "totp", code);
	}
	form_add(&f, "scope", cfg->scope ? cfg->scope : "openid");
	rc = post_form(ctx, ctx->oidc.token_endpoint, &f, &resp);
	form_clear(&f);
	if (rc)
		goto out;
	if (resp.status != 200) {
		rc = http_error(ctx, "token", &resp);
		goto out;
	}
	rc = token_result(ctx, &resp, username, code_sent, NULL, ret_auth);
	if (!rc)
		up_log(ctx, LOG_INFO, "oidc: %s signed in with a password%s", username,
		       (*ret_auth)->mfa ? " and a second factor" : "");
out:
	form_clear(&f);
	up_free_secret(joined);
	up_free_secret(code);
	up_http_resp_clear(&resp);
	return rc;
}

struct device_auth {
	char *device_code;
	char *user_code;
	char *uri; /* verification_uri_complete when offered, else verification_uri */
	int64_t expires_in;
	int64_t interval;
};

static void device_auth_clear(struct device_auth *d)
{
	up_free_secret(d->device_code);
	free(d->user_code);
	free(d->uri);
	memset(d, 0, sizeof(*d));
}

static up_err device_start(struct up_ctx *ctx, struct device_auth *d)
{
	struct up_http_resp resp = {0};
	struct form f = {0};
	json_t *root = NULL, *v;
	const char *dc, *uc, *uri, *uric;
	up_err rc;

	memset(d, 0, sizeof(*d));
	form_add(&f, "scope", ctx->cfg->scope ? ctx->cfg->scope : "openid");
	rc = post_form(ctx, ctx->oidc.device_authorization_endpoint, &f, &resp);
	form_clear(&f);
	if (rc)
		goto out;
	if (resp.status != 200) {
		rc = http_error(ctx, "device authorization", &resp);
		goto out;
	}
	if (up_json_parse(ctx, resp.body, resp.len, UP_MAX_RESPONSE, &root) != UP_OK) {
		rc = up_fail(ctx, UP_EPROTO, "device authorization response is not a JSON object");
		goto out;
	}
	/* The provider answered this sign-in: no offline fallback after this. */
	up_pool_answered(ctx);
	dc = json_string_value(json_object_get(root, "device_code"));
	uc = json_string_value(json_object_get(root, "user_code"));
	uri = json_string_value(json_object_get(root, "verification_uri"));
	uric = json_string_value(json_object_get(root, "verification_uri_complete"));
	if (!dc || !dc[0] || strlen(dc) > UP_MAX_TOKEN || !visible(uc, DEVICE_MAX_CODE) ||
	    !visible(uri, MAX_URL)) {
		rc = up_fail(ctx, UP_EPROTO,
			     "device authorization response lacks device_code, "
			     "user_code or verification_uri");
		goto out;
	}
	if (uric && !visible(uric, MAX_URL)) {
		up_log(ctx, LOG_WARNING,
		       "oidc: verification_uri_complete refused: using "
		       "verification_uri");
		uric = NULL;
	}
	v = json_object_get(root, "expires_in");
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		rc = up_fail(ctx, UP_EPROTO,
			     "device authorization response has no valid expires_in");
		goto out;
	}
	d->expires_in = json_integer_value(v) > DEVICE_MAX_SECONDS ? DEVICE_MAX_SECONDS
								   : (int64_t)json_integer_value(v);
	v = json_object_get(root, "interval");
	d->interval = json_is_integer(v) ? (int64_t)json_integer_value(v) : DEVICE_DEFAULT_INTERVAL;
	if (d->interval < 1)
		d->interval = 1;
	if (d->interval > DEVICE_MAX_SECONDS)
		d->interval = DEVICE_MAX_SECONDS;
	d->device_code = strdup(dc);
	d->user_code = strdup(uc);
	d->uri = strdup(uric ? uric : uri);
	if (!d->device_code || !d->user_code || !d->uri) {
		device_auth_clear(d);
		rc = up_fail(ctx, UP_ENOMEM, "out of memory");
		goto out;
	}
	rc = UP_OK;
out:
	up_json_wipe(root);
	json_decref(root);
	up_http_resp_clear(&resp);
	return rc;
}

/* The verification URI as text and a QR code, the user code, then a real
 * prompt: sshd sends info text only together with the next prompt. */
static up_err device_show(struct up_ctx *ctx, const struct up_conv *conv,
			  const struct device_auth *d)
{
	char *text = NULL, *answer = NULL;
	up_err rc;

	if (!conv || !conv->prompt || !conv->info)
		return up_fail(ctx, UP_ECONV, "the device flow needs a conversation");
	rc = up_device_text(d->uri, d->user_code, !conv->no_qr && ctx->cfg->qr != UP_QR_OFF, &text);
	if (rc)
		return up_fail(ctx, rc, "cannot build the device-flow text");
	rc = conv->info(conv->ud, text);
	free(text);
	if (rc)
		return up_fail(ctx, UP_ECONV, "the conversation failed");
	rc = conv->prompt(conv->ud, PROMPT_DEVICE, true, &answer);
	up_free_secret(answer);
	if (rc)
		return up_fail(ctx, UP_ECONV, "the conversation failed");
	return UP_OK;
}

static up_err signin_device(struct up_ctx *ctx, const char *username, const struct up_conv *conv,
			    struct up_auth **ret_auth)
{
	struct up_http_resp resp = {0};
	struct device_auth d;
	struct oauth_err oe;
	int64_t deadline, now;
	unsigned polls = 0;
	up_err rc;

	rc = device_start(ctx, &d);
	if (rc)
		return rc;
	deadline = mono_ms() + d.expires_in * 1000;
	up_log(ctx, LOG_INFO, "oidc: device authorization started for %s (expires in %lld s)",
	       username ? username : "-", (long long)d.expires_in);
	rc = device_show(ctx, conv, &d);
	if (rc)
		goto out;
	for (;;) {
		struct form f = {0};

		if (mono_ms() >= deadline) {
			rc = up_fail(ctx, UP_ETIMEOUT, "device code expired before approval");
			goto out;
		}
		form_add(&f, "grant_type", "urn:ietf:params:oauth:grant-type:device_code");
		form_add(&f, "device_code", d.device_code);
		rc = post_form(ctx, ctx->oidc.token_endpoint, &f, &resp);
		form_clear(&f);
		polls++;
		if (rc)
			goto out;
		if (resp.status == 200) {
			rc = token_result(ctx, &resp, username, false, NULL, ret_auth);
			if (!rc)
				up_log(ctx, LOG_INFO, "oidc: %s signed in with the device flow%s",
				       (*ret_auth)->claims->username,
				       (*ret_auth)->mfa ? " and a second factor" : "");
			goto out;
		}
		rc = oauth_error_parse(ctx, "device token", &resp, &oe);
		up_http_resp_clear(&resp);
		if (rc)
			goto out;
		if (strcmp(oe.error, "slow_down") == 0) {
			d.interval += 5; /* RFC 8628 §3.5 */
		} else if (strcmp(oe.error, "authorization_pending") != 0) {
			if (strcmp(oe.error, "access_denied") == 0 ||
			    strcmp(oe.error, "expired_token") == 0)
				up_log(ctx, LOG_NOTICE, "oidc: device authorization %s",
				       oe.error[0] == 'a' ? "denied" : "expired");
			rc = oauth_error_map(ctx, "device token", &oe);
			goto out;
		}
		now = mono_ms();
		if (now + d.interval * 1000 >= deadline) {
			rc = up_fail(ctx, UP_ETIMEOUT,
				     "device code expired before approval (%u polls)", polls);
			goto out;
		}
		sleep_ms(d.interval * 1000);
	}
out:
	up_http_resp_clear(&resp);
	device_auth_clear(&d);
	return rc;
}

up_err up_oidc_signin(struct up_ctx *ctx, const char *username, const char *password,
		      const struct up_conv *conv, struct up_auth **ret_auth)
{
	struct up_auth *auth = NULL;
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!ret_auth || (!username && (!ctx->cfg || ctx->cfg->auth_flow != UP_FLOW_DEVICE)))
		return up_fail(ctx, UP_EINVAL, "bad argument to up_oidc_signin");
	if (username && strlen(username) > UP_MAX_USERNAME)
		return up_fail(ctx, UP_EINVAL, "user name too long");
	if (password && strlen(password) > UP_MAX_PASSWORD)
		return up_fail(ctx, UP_EDENIED, "password too long");
	rc = ready(ctx);
	if (rc)
		return rc;
	switch (ctx->cfg->auth_flow) {
	case UP_FLOW_PASSWORD:
		rc = signin_password(ctx, username, password, conv, &auth);
		break;
	case UP_FLOW_DEVICE:
		rc = signin_device(ctx, username, conv, &auth);
		break;
	default:
		rc = up_fail(ctx, UP_ECONFIG, "auth_flow must be password or device for oidc");
		break;
	}
	if (rc)
		return rc;
	*ret_auth = auth;
	return UP_OK;
}

up_err up_oidc_refresh(struct up_ctx *ctx, const char *username, const char *refresh_token,
		       struct up_auth **ret_auth)
{
	struct up_http_resp resp = {0};
	struct form f = {0};
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!refresh_token || !refresh_token[0] || !ret_auth)
		return up_fail(ctx, UP_EINVAL, "bad argument to up_oidc_refresh");
	rc = ready(ctx);
	if (rc)
		return rc;
	form_add(&f, "grant_type", "refresh_token");
	form_add(&f, "refresh_token", refresh_token);
	rc = post_form(ctx, ctx->oidc.token_endpoint, &f, &resp);
	form_clear(&f);
	if (rc)
		goto out;
	if (resp.status != 200) {
		rc = http_error(ctx, "refresh", &resp);
		goto out;
	}
	/* token_result() refuses an answer without an ID token: a refresh that
	 * cannot prove who the user is does not count. */
	rc = token_result(ctx, &resp, username, false, refresh_token, ret_auth);
out:
	up_http_resp_clear(&resp);
	return rc;
}

up_err up_oidc_revoke(struct up_ctx *ctx, const char *refresh_token)
{
	struct up_http_resp resp = {0};
	struct form f = {0};
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!refresh_token || !refresh_token[0])
		return up_fail(ctx, UP_EINVAL, "bad argument to up_oidc_revoke");
	rc = ready(ctx);
	if (rc)
		return rc;
	if (!ctx->oidc.revocation_endpoint) {
		up_log(ctx, LOG_NOTICE,
		       "oidc: provider has no revocation endpoint: refresh token "
		       "not revoked");
		return UP_OK;
	}
	form_add(&f, "token", refresh_token);
	form_add(&f, "token_type_hint", "refresh_token");
	rc = post_form(ctx, ctx->oidc.revocation_endpoint, &f, &resp);
	form_clear(&f);
	if (rc)
		goto out;
	if (resp.status != 200) {
		rc = http_error(ctx, "revocation", &resp);
		goto out;
	}
	up_log(ctx, LOG_INFO, "oidc: refresh token revoked");
	up_clear_detail(ctx);
out:
	up_http_resp_clear(&resp);
	return rc;
}

/* An OpenID provider's token rules: its issuer, the key set named by
 * jwks_uri or by discovery (none offline: no network), aud/azp. */
up_err up_oidc_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules)
{
	const struct up_config *cfg = ctx->cfg;
	up_err rc;

	if (!cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	memset(rules, 0, sizeof(*rules));
	rules->issuer = cfg->issuer;
	rules->client_id = cfg->client_id;
	rules->token_use = false;
	rules->username_claim = cfg->username_claim ? cfg->username_claim : "preferred_username";
	rules->groups_claim = cfg->groups_claim ? cfg->groups_claim : "groups";
	rules->uid_claim = cfg->uid_claim;
	rules->gid_claim = cfg->gid_claim;
	rules->leeway = cfg->leeway;
	rules->jwks_uri = cfg->jwks_uri ? cfg->jwks_uri : ctx->oidc.jwks_uri;
	if (rules->jwks_uri || (flags & UP_VERIFY_OFFLINE))
		return UP_OK;
	rc = up_oidc_discover(ctx);
	if (rc)
		return rc;
	if (!ctx->oidc.jwks_uri)
		return up_fail(ctx, UP_EPROTO, "discovery gave no jwks_uri");
	rules->jwks_uri = ctx->oidc.jwks_uri;
	return UP_OK;
}

/* The device flow asks for no password (the user signs in in a browser). */
static bool oidc_needs_password(const struct up_config *cfg)
{
	return cfg->auth_flow != UP_FLOW_DEVICE;
}

static up_err oidc_probe_url(struct up_ctx *ctx, char **ret_url)
{
	if (asprintf(ret_url, "%s/.well-known/openid-configuration", ctx->cfg->issuer) < 0) {
		*ret_url = NULL;
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	}
	return UP_OK;
}

static void oidc_free(struct up_ctx *ctx)
{
	up_oidc_endpoints_clear(&ctx->oidc);
}

const struct up_provider_ops up_oidc_ops = {
    .name = "oidc",
    .enrolls_here = false,
    .prepare = up_oidc_discover,
    .token_rules = up_oidc_token_rules,
    .needs_password = oidc_needs_password,
    .signin = up_oidc_signin,
    .refresh = up_oidc_refresh,
    .revoke = up_oidc_revoke,
    .change_password = NULL,
    .probe_client = NULL,
    .probe_url = oidc_probe_url,
    .free = oidc_free,
};
