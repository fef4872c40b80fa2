/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/oidc.c against the OpenID Provider side of the test user pool
 * (tests/pool/pool.py, HTTPS with its own CA): discovery and its on-disk
 * cache, hostile discovery documents, ROPC with a TOTP code in both
 * otp_modes, client authentication, the OAuth error mapping, the device
 * flow (approve, deny, pending, slow_down, expiry), refresh, revocation and
 * the userinfo fallback for username_claim.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <userpool/oidc.h>

#include "poolctl.h"
#include "testlib.h"

#define DISCOVERY_PATH "/oidc/.well-known/openid-configuration"
#define DISCOVERY_MATCH "GET " DISCOVERY_PATH
#define TOKEN_MATCH "POST /oidc/token"
#define PASSWORD "Corr3ct-Horse!"
#define SECRET "s3cr+t/with%20:colon&more="

static struct t_pool *pool;
static int user_seq;

/* One test's world: a state dir, a context and what the library logged. */
struct world {
	char *dir;
	char *issuer;
	struct t_log log;
	struct t_clock clock;
	struct up_ctx *ctx;
};

static void world_reset_pool(void)
{
	t_pool_clear_faults(pool);
	json_decref(t_pool_admin(pool, "set_oidc", "{s:s, s:s, s:s, s:n, s:i, s:i, s:b}",
				 "client_id", pool->client_id, "otp_mode", "param", "otp_param",
				 "totp", "client_secret", "device_interval", 1, "device_expires_in",
				 600, "aud_array", 0));
}

static char *oidc_config(const char *dir, const char *extra)
{
	char *cfg = NULL;

	assert_true(asprintf(&cfg,
			     "provider = oidc\n"
			     "issuer = %soidc\n"
			     "client_id = %s\n"
			     "auth_flow = password\n"
			     "ca_file = %s\n"
			     "state_dir = %s\n"
			     "timeout = 10s\n"
			     "%s\n",
			     pool->url, pool->client_id, pool->ca_file, dir,
			     extra ? extra : "") > 0);
	return cfg;
}

static struct up_ctx *world_ctx(struct world *w, const char *extra)
{
	char *cfg = oidc_config(w->dir, extra);
	struct up_ctx *ctx;

	t_log_reset(&w->log);
	ctx = t_ctx_with_config(w->dir, cfg, &w->log, &w->clock);
	free(cfg);
	return ctx;
}

/* A new context for the same state (another process, in effect). */
static void world_reload(struct world *w, const char *extra)
{
	up_ctx_free(w->ctx);
	w->ctx = NULL;
	w->ctx = world_ctx(w, extra);
}

static struct world *world_new(const char *extra)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->dir = t_state_dir();
	w->clock.now = (int64_t)time(NULL);
	assert_true(asprintf(&w->issuer, "%soidc", pool->url) > 0);
	w->ctx = world_ctx(w, extra);
	return w;
}

static void world_free(struct world *w)
{
	if (!w)
		return;
	up_ctx_free(w->ctx);
	t_rmtree(w->dir);
	free(w->dir);
	free(w->issuer);
	free(w);
}

static int setup(void **state)
{
	world_reset_pool();
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	world_reset_pool();
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	pool = t_pool_start(NULL);
	return pool ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	t_pool_stop(pool);
	pool = NULL;
	return 0;
}

/* A fresh user name for each test: TOTP codes are single-use per step. */
static const char *new_user(char buf[32], bool totp, char **ret_secret)
{
	static const char *const groups[] = {"staff", "ops", NULL};

	snprintf(buf, 32, "oidcuser%d", ++user_seq);
	t_pool_user(pool, buf, PASSWORD, groups);
	if (totp) {
		char *s = t_pool_enable_totp(pool, buf);
		if (ret_secret)
			*ret_secret = s;
		else
			free(s);
	}
	return buf;
}

/* ---- the conversation ---- */

struct conv {
	const char *code;	/* answer to "Verification code: " */
	const char *approve_as; /* device flow: approve as this user at the Enter prompt */
	bool deny;		/* device flow: deny at the Enter prompt */
	int code_prompts;
	int enter_prompts;
	bool enter_echo;
	char info[16384];
	char user_code[64];
};

static up_err cv_prompt(void *ud, const char *text, bool echo, char **ret)
{
	struct conv *c = ud;

	if (strcmp(text, UP_PROMPT_CODE) == 0) {
		c->code_prompts++;
		*ret = strdup(c->code ? c->code : "");
		return *ret ? UP_OK : UP_ENOMEM;
	}
	if (strcmp(text, "Press Enter after approving") == 0) {
		const char *p = strstr(c->info, "Code: ");

		c->enter_prompts++;
		c->enter_echo = echo;
		assert_non_null(p);
		snprintf(c->user_code, sizeof(c->user_code), "%.*s", (int)strcspn(p + 6, "\n"),
			 p + 6);
		if (c->approve_as)
			json_decref(t_pool_admin(pool, "device_approve", "{s:s, s:s}", "user_code",
						 c->user_code, "username", c->approve_as));
		else if (c->deny)
			json_decref(
			    t_pool_admin(pool, "device_deny", "{s:s}", "user_code", c->user_code));
		*ret = strdup("");
		return *ret ? UP_OK : UP_ENOMEM;
	}
	fail_msg("unexpected prompt %s", text);
	return UP_ECONV;
}

static up_err cv_info(void *ud, const char *text)
{
	struct conv *c = ud;
	size_t have = strlen(c->info);

	snprintf(c->info + have, sizeof(c->info) - have, "%s", text);
	return UP_OK;
}

static up_err cv_error(void *ud, const char *text)
{
	(void)ud;
	(void)text;
	return UP_OK;
}

static struct up_conv make_conv(struct conv *c)
{
	struct up_conv uc = {.prompt = cv_prompt, .info = cv_info, .error = cv_error, .ud = c};
	return uc;
}

static up_err signin(struct world *w, const char *user, const char *password, struct conv *c,
		     struct up_auth **ret)
{
	struct up_conv uc = make_conv(c);
	up_err r = up_oidc_signin(w->ctx, user, password, &uc, ret);

	if (r)
		print_message("# sign-in: %s: %s\n", up_strerror(r), up_ctx_detail(w->ctx));
	return r;
}

static long fault_body(const char *match, long code, const char *body)
{
	return t_pool_fault(pool, "{s:s, s:s, s:i, s:s, s:i}", "action", "status", "match", match,
			    "code", (int)code, "body", body, "count", 1);
}

static char *cache_path(const struct world *w)
{
	char *url = NULL, *path = NULL, hex[65];

	assert_true(asprintf(&url, "%s/.well-known/openid-configuration", w->issuer) > 0);
	assert_int_equal(up_sha256_hex(url, strlen(url), hex), UP_OK);
	assert_true(asprintf(&path, "%s/jwks/%s.discovery.json", w->dir, hex) > 0);
	free(url);
	return path;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* ---- discovery ---- */

static void test_discovery(void **state)
{
	struct world *w = *state = world_new(NULL);
	char *path = cache_path(w), *data = NULL;
	struct stat st;
	FILE *f;
	size_t n;

	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_non_null(w->ctx->oidc.token_endpoint);
	assert_true(strstr(w->ctx->oidc.token_endpoint, "/oidc/token") != NULL);
	assert_true(strstr(w->ctx->oidc.jwks_uri, "/oidc/jwks") != NULL);
	assert_true(strstr(w->ctx->oidc.device_authorization_endpoint, "/device_authorization"));
	assert_true(strstr(w->ctx->oidc.userinfo_endpoint, "/oidc/userinfo") != NULL);
	assert_true(strstr(w->ctx->oidc.revocation_endpoint, "/oidc/revoke") != NULL);
	/* the cache: 0600, with fetched_at and the URL */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	f = fopen(path, "r");
	assert_non_null(f);
	data = calloc(1, 65536);
	n = fread(data, 1, 65535, f);
	fclose(f);
	assert_true(n > 0);
	assert_non_null(strstr(data, "\"fetched_at\""));
	assert_non_null(strstr(data, DISCOVERY_PATH));
	free(data);
	free(path);
}

/* A second sign-in with another context: no discovery fetch. */
static void test_discovery_cached(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {0};
	char name[32];

	new_user(name, false, NULL);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	up_auth_free(auth);
	auth = NULL;
	world_reload(w, NULL);
	t_pool_reset_stats(pool);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	/* issue 20: one GET of the discovery document before the code is asked
	 * (is the provider up?); the endpoints still come from the cache */
	assert_int_equal(t_pool_stat_path(pool, DISCOVERY_PATH), 1);
	assert_int_equal(t_pool_stat_path(pool, "/oidc/token"), 1);
	/* the JWKS came from its cache too */
	assert_int_equal(t_pool_stat_path(pool, "/oidc/jwks"), 0);
	up_auth_free(auth);
}

/* Stale cache: fetched again; a failed re-fetch keeps the last good one. */
static void test_discovery_stale(void **state)
{
	struct world *w = *state = world_new(NULL);
	char *path = cache_path(w);
	struct stat st1, st2;

	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_int_equal(stat(path, &st1), 0);

	/* fresh: no fetch */
	w->clock.now += 23 * 3600;
	world_reload(w, NULL);
	t_pool_reset_stats(pool);
	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_int_equal(t_pool_stat_path(pool, DISCOVERY_PATH), 0);

	/* stale, the re-fetch gets a 500: the cached one is used */
	w->clock.now += 2 * 3600;
	world_reload(w, NULL);
	t_pool_fault(pool, "{s:s, s:s, s:i}", "action", "status", "match", DISCOVERY_MATCH, "code",
		     500);
	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_int_equal(t_pool_stat_path(pool, DISCOVERY_PATH), 1);
	assert_non_null(w->ctx->oidc.token_endpoint);
	assert_true(t_log_contains(&w->log, "using the cached document"));

	/* stale, the re-fetch gets a document we refuse: the cached one again */
	t_pool_clear_faults(pool);
	world_reload(w, NULL);
	fault_body(DISCOVERY_MATCH, 200, "{\"issuer\":\"https://evil.example/oidc\"}");
	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_true(strstr(w->ctx->oidc.token_endpoint, pool->url) == w->ctx->oidc.token_endpoint);
	assert_true(t_log_contains(&w->log, "using the cached document"));

	/* stale, the re-fetch works: the cache file is replaced */
	world_reload(w, NULL);
	t_pool_reset_stats(pool);
	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_int_equal(t_pool_stat_path(pool, DISCOVERY_PATH), 1);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st2.st_ino != st1.st_ino); /* atomic rename of a new file */
	free(path);
}

/* The pool is down: a cached document of any age is used. */
static void test_discovery_offline(void **state)
{
	struct t_pool *saved = pool, *down;
	struct world *w;
	char *path;
	int status;

	/* a pool of its own, stopped half-way (its URLs stay valid in `down`) */
	down = pool = t_pool_start(NULL);
	w = *state = world_new(NULL);
	path = cache_path(w);
	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_true(file_exists(path));
	kill(down->pid, SIGKILL);
	waitpid(down->pid, &status, 0);
	down->pid = 0;

	w->clock.now += 30 * 24 * 3600;
	world_reload(w, NULL);
	assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
	assert_non_null(w->ctx->oidc.token_endpoint);
	assert_true(t_log_contains(&w->log, "using the cached document"));

	/* no cache at all: the network error */
	unlink(path);
	world_reload(w, NULL);
	assert_int_equal(up_oidc_discover(w->ctx), UP_ENET);
	assert_null(w->ctx->oidc.token_endpoint);
	free(path);
	world_free(w);
	*state = NULL;
	pool = saved;
	t_pool_stop(down);
}

/* Serve `body` as the discovery document to a fresh state: refused, nothing cached. */
static void hostile(const char *body, long code, const char *extra, up_err want, const char *detail)
{
	struct world *w = world_new(extra);
	char *path = cache_path(w);
	up_err r;

	t_pool_clear_faults(pool);
	fault_body(DISCOVERY_MATCH, code, body);
	r = up_oidc_discover(w->ctx);
	if (r != want || (detail && !strstr(up_ctx_detail(w->ctx), detail)))
		fail_msg("document %.80s: got %s (%s), want %s (%s)", body, up_strerror(r),
			 up_ctx_detail(w->ctx), up_strerror(want), detail ? detail : "");
	assert_null(w->ctx->oidc.token_endpoint);
	assert_false(file_exists(path));
	free(path);
	world_free(w);
}

static char *doc(const char *iss, const char *token, const char *jwks, const char *more)
{
	char *s = NULL;

	assert_true(asprintf(&s, "{\"issuer\":\"%s\"%s%s%s%s%s%s%s}", iss,
			     token ? ",\"token_endpoint\":\"" : "", token ? token : "",
			     token ? "\"" : "", jwks ? ",\"jwks_uri\":\"" : "", jwks ? jwks : "",
			     jwks ? "\"" : "", more ? more : "") > 0);
	return s;
}

static void test_discovery_hostile(void **state)
{
	char *iss = NULL, *tok = NULL, *jwks = NULL, *d, *huge;
	size_t hlen = 70 * 1024;

	(void)state;
	assert_true(asprintf(&iss, "%soidc", pool->url) > 0);
	assert_true(asprintf(&tok, "%s/token", iss) > 0);
	assert_true(asprintf(&jwks, "%s/jwks", iss) > 0);

	/* issuer mismatch (even a trailing slash) */
	d = doc("https://evil.example/oidc", tok, jwks, NULL);
	hostile(d, 200, NULL, UP_EPROTO, "issuer");
	free(d);
	{
		char *iss2 = NULL;
		assert_true(asprintf(&iss2, "%s/", iss) > 0);
		d = doc(iss2, tok, jwks, NULL);
		hostile(d, 200, NULL, UP_EPROTO, "issuer");
		free(d);
		free(iss2);
	}
	/* plain http to a host that is not loopback, in any endpoint */
	d = doc(iss, "http://idp.example.com/token", jwks, NULL);
	hostile(d, 200, NULL, UP_EPROTO, "token_endpoint");
	free(d);
	d = doc(iss, tok, "http://idp.example.com/jwks", NULL);
	hostile(d, 200, NULL, UP_EPROTO, "jwks_uri");
	free(d);
	d = doc(iss, tok, jwks, ",\"userinfo_endpoint\":\"http://10.0.0.1/userinfo\"");
	hostile(d, 200, NULL, UP_EPROTO, "userinfo_endpoint");
	free(d);
	d = doc(iss, tok, jwks, ",\"revocation_endpoint\":\"ftp://127.0.0.1/revoke\"");
	hostile(d, 200, NULL, UP_EPROTO, "revocation_endpoint");
	free(d);
	d = doc(iss, tok, jwks, ",\"device_authorization_endpoint\":42");
	hostile(d, 200, NULL, UP_EPROTO, "device_authorization_endpoint");
	free(d);
	/* missing required fields */
	d = doc(iss, NULL, jwks, NULL);
	hostile(d, 200, NULL, UP_EPROTO, "token_endpoint");
	free(d);
	d = doc(iss, tok, NULL, NULL);
	hostile(d, 200, NULL, UP_EPROTO, "jwks_uri");
	free(d);
	d = doc(iss, tok, jwks, NULL);
	hostile(d, 200, "auth_flow = device", UP_EPROTO, "device_authorization_endpoint");
	free(d);
	hostile("{\"token_endpoint\":\"https://x/\"}", 200, NULL, UP_EPROTO, "no issuer");
	/* duplicate keys: two parsers could read two issuers */
	{
		char *dup = NULL;
		assert_true(asprintf(&dup,
				     "{\"issuer\":\"https://evil.example\",\"issuer\":\"%s\","
				     "\"token_endpoint\":\"%s\",\"jwks_uri\":\"%s\"}",
				     iss, tok, jwks) > 0);
		hostile(dup, 200, NULL, UP_EPROTO, NULL);
		free(dup);
	}
	/* not JSON, not an object, a huge body, HTTP errors */
	hostile("<html>hello</html>", 200, NULL, UP_EPROTO, NULL);
	hostile("[1,2,3]", 200, NULL, UP_EPROTO, NULL);
	huge = malloc(hlen + 1);
	assert_non_null(huge);
	d = doc(iss, tok, jwks, ",\"pad\":\"");
	memcpy(huge, d, strlen(d) - 1);
	memset(huge + strlen(d) - 1, 'a', hlen - strlen(d) - 1);
	memcpy(huge + hlen - 2, "\"}", 3);
	hostile(huge, 200, NULL, UP_EPROTO, "cap");
	free(d);
	free(huge);
	hostile("{\"error\":\"not_found\"}", 404, NULL, UP_EHTTP, "404");
	hostile("{}", 500, NULL, UP_ESERVER, NULL);

	/* control: an http:// endpoint to loopback is allowed */
	{
		struct world *w = world_new(NULL);
		d = doc(iss, "http://127.0.0.1:9/token", jwks, NULL);
		fault_body(DISCOVERY_MATCH, 200, d);
		assert_int_equal(up_oidc_discover(w->ctx), UP_OK);
		assert_string_equal(w->ctx->oidc.token_endpoint, "http://127.0.0.1:9/token");
		assert_null(w->ctx->oidc.userinfo_endpoint);
		free(d);
		world_free(w);
	}
	free(iss);
	free(tok);
	free(jwks);
}

/* ---- ROPC ---- */

static void check_auth(const struct up_auth *auth, const char *name, bool mfa)
{
	assert_non_null(auth);
	assert_non_null(auth->claims);
	assert_string_equal(auth->claims->username, name);
	assert_non_null(auth->id_token);
	assert_non_null(auth->access_token);
	assert_non_null(auth->refresh_token);
	assert_true(up_strv_contains(auth->claims->groups, "staff"));
	assert_true(up_strv_contains(auth->claims->groups, "ops"));
	assert_int_equal(auth->mfa, mfa);
	assert_false(auth->offline);
}

static void test_ropc_totp_param(void **state)
{
	struct world *w = *state = world_new("otp_mode = prompt\notp_param = otp");
	struct up_auth *auth = NULL;
	struct conv c = {0};
	char name[32], code[9];

	json_decref(t_pool_admin(pool, "set_oidc", "{s:s}", "otp_param", "otp"));
	new_user(name, true, NULL);
	t_pool_totp_code(pool, name, code);
	c.code = code;
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	assert_int_equal(c.code_prompts, 1);
	check_auth(auth, name, true);
	assert_true(up_strv_contains(auth->claims->amr, "otp"));
	assert_string_equal(auth->claims->issuer, w->issuer);
	up_auth_free(auth);
	/* nothing secret in the log */
	assert_false(t_log_contains(&w->log, PASSWORD));
	assert_false(t_log_contains(&w->log, code));
}

static void test_ropc_totp_append(void **state)
{
	struct world *w = *state = world_new("otp_mode = append");
	struct up_auth *auth = NULL;
	struct conv c = {0};
	char name[32], code[9];

	json_decref(t_pool_admin(pool, "set_oidc", "{s:s}", "otp_mode", "append"));
	new_user(name, true, NULL);
	t_pool_totp_code(pool, name, code);
	c.code = code;
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	assert_int_equal(c.code_prompts, 1);
	check_auth(auth, name, true);
	up_auth_free(auth);
	auth = NULL;

	/* the provider wants the code appended: sent as a field it is refused */
	world_reload(w, "otp_mode = prompt");
	t_pool_totp_code(pool, name, code);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_EDENIED);
	assert_null(auth);
}

static void test_ropc_wrong_password_and_code(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {0};
	char name[32], code[9];

	new_user(name, true, NULL);
	t_pool_totp_code(pool, name, code);
	c.code = code;
	assert_int_equal(signin(w, name, "wrong-Passw0rd", &c, &auth), UP_EDENIED);
	assert_null(auth);
	assert_non_null(strstr(up_ctx_detail(w->ctx), "invalid_grant"));

	c.code = "000000";
	if (strcmp(code, "000000") == 0)
		c.code = "111111";
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_EDENIED);
	assert_null(auth);
	/* no code for a user who has one */
	c.code = "";
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_EDENIED);
	assert_non_null(strstr(up_ctx_detail(w->ctx), "TOTP code required"));
	/* unknown user */
	c.code = "123456";
	assert_int_equal(signin(w, "nosuchuser", PASSWORD, &c, &auth), UP_EDENIED);
	/* no password for the password flow */
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_EINVAL);
	assert_false(t_log_contains(&w->log, PASSWORD));
}

/* A user without TOTP: an empty code is not sent; amr says no second factor. */
static void test_ropc_no_mfa(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {.code = ""};
	char name[32];

	new_user(name, false, NULL);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	check_auth(auth, name, false);
	up_auth_free(auth);
	auth = NULL;
	/* a code the provider ignored does not make it MFA: amr decides */
	c.code = "123456";
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	check_auth(auth, name, false);
	up_auth_free(auth);
	/* the ID token names another user */
	t_pool_fault(pool, "{s:s, s:s, s:s, s:i}", "action", "forge", "match", TOKEN_MATCH, "kind",
		     "wrong_username", "count", 1);
	auth = NULL;
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_EJWT);
	assert_null(auth);
}

static void test_client_auth(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {.code = ""};
	char name[32], *extra = NULL;

	new_user(name, false, NULL);
	json_decref(t_pool_admin(pool, "set_oidc", "{s:s}", "client_secret", SECRET));
	/* no secret configured: invalid_client */
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_ECONFIG);
	assert_non_null(strstr(up_ctx_detail(w->ctx), "invalid_client"));

	assert_true(asprintf(&extra, "client_secret = %s\nclient_auth = basic", SECRET) > 0);
	world_reload(w, extra);
	free(extra);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	check_auth(auth, name, false);
	up_auth_free(auth);
	auth = NULL;
	assert_false(t_log_contains(&w->log, "s3cr"));

	assert_true(asprintf(&extra, "client_secret = %s\nclient_auth = post", SECRET) > 0);
	world_reload(w, extra);
	free(extra);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	check_auth(auth, name, false);
	up_auth_free(auth);
	auth = NULL;

	/* a wrong secret, either way */
	world_reload(w, "client_secret = wrong\nclient_auth = basic");
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_ECONFIG);
	world_reload(w, "client_secret = wrong\nclient_auth = post");
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_ECONFIG);
	assert_null(auth);
}

static void test_invalid_client_id(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {.code = ""};
	char name[32];

	new_user(name, false, NULL);
	json_decref(t_pool_admin(pool, "set_oidc", "{s:s}", "client_id", "another-client"));
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_ECONFIG);
	assert_non_null(strstr(up_ctx_detail(w->ctx), "invalid_client"));
	json_decref(t_pool_admin(pool, "set_oidc", "{s:s}", "client_id", pool->client_id));
	assert_null(auth);
}

static void test_error_mapping(void **state)
{
	static const struct {
		long code;
		const char *body;
		up_err want;
	} cases[] = {
	    {400, "{\"error\":\"invalid_grant\",\"error_description\":\"x\"}", UP_EDENIED},
	    {401, "{\"error\":\"invalid_client\"}", UP_ECONFIG},
	    {400, "{\"error\":\"unauthorized_client\"}", UP_ECONFIG},
	    {400, "{\"error\":\"unsupported_grant_type\"}", UP_ECONFIG},
	    {400, "{\"error\":\"invalid_scope\"}", UP_ECONFIG},
	    {400, "{\"error\":\"invalid_request\"}", UP_EPARAM},
	    {403, "{\"error\":\"access_denied\"}", UP_EACCESSDENIED},
	    {400, "{\"error\":\"temporarily_unavailable\"}", UP_ESERVER},
	    {400, "{\"error\":\"something_new\"}", UP_EPROTO},
	    /* issue 20: 400/401/403 without an OAuth error member is a refusal */
	    {400, "<html>Bad Request</html>", UP_EDENIED},
	    {400, "{\"error\":42}", UP_EDENIED},
	    {400, "{\"error\":\"a\",\"error\":\"b\"}", UP_EDENIED},
	    {403, "", UP_EDENIED},
	    {401, "{}", UP_EDENIED},
	    {404, "", UP_EPROTO},
	    {500, "", UP_ESERVER},
	    {503, "{\"error\":\"invalid_grant\"}", UP_ESERVER},
	    {503, "{\"error\":\"temporarily_unavailable\"}", UP_ESERVER},
	    {429, "{}", UP_ERATE},
	    {302, "", UP_EHTTP},
	    {200, "not json", UP_EPROTO},
	    {200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}", UP_EPROTO},
	};
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {.code = ""};
	char name[32];

	new_user(name, false, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		up_err r;

		fault_body(TOKEN_MATCH, cases[i].code, cases[i].body);
		r = up_oidc_signin(
		    w->ctx, name, PASSWORD,
		    &(struct up_conv){.prompt = cv_prompt, .info = cv_info, .ud = &c}, &auth);
		if (r != cases[i].want)
			fail_msg("HTTP %ld %s: got %s (%s), want %s", cases[i].code, cases[i].body,
				 up_strerror(r), up_ctx_detail(w->ctx), up_strerror(cases[i].want));
		assert_null(auth);
	}
	/* and the honest answer still works */
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	up_auth_free(auth);
}

/* username_claim not in the ID token: read from userinfo. */
static void test_userinfo_fallback(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {.code = ""};
	char name[32], *body = NULL;

	new_user(name, false, NULL);
	t_pool_fault(pool, "{s:s, s:s, s:s, s:{s:n, s:n}, s:i}", "action", "forge", "match",
		     TOKEN_MATCH, "kind", "valid", "claims", "preferred_username", "groups",
		     "count", 1);
	t_pool_reset_stats(pool);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	check_auth(auth, name, false); /* groups came from userinfo too */
	assert_int_equal(t_pool_stat_path(pool, "/oidc/userinfo"), 1);
	up_auth_free(auth);
	auth = NULL;

	/* userinfo for another subject */
	t_pool_fault(pool, "{s:s, s:s, s:s, s:{s:n}, s:i}", "action", "forge", "match", TOKEN_MATCH,
		     "kind", "valid", "claims", "preferred_username", "count", 1);
	assert_true(
	    asprintf(&body, "{\"sub\":\"someone-else\",\"preferred_username\":\"%s\"}", name) > 0);
	fault_body("GET /oidc/userinfo", 200, body);
	free(body);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_EJWT);
	assert_non_null(strstr(up_ctx_detail(w->ctx), "sub"));

	/* userinfo names another user */
	{
		/* sign in as name, but userinfo's answer says someone else */
		json_t *u = t_pool_admin(pool, "get_user", "{s:s}", "username", name);
		const char *sub = json_string_value(json_object_get(
		    json_object_get(u, "user") ? json_object_get(u, "user") : u, "sub"));

		assert_non_null(sub);
		assert_true(asprintf(&body, "{\"sub\":\"%s\",\"preferred_username\":\"mallory\"}",
				     sub) > 0);
		json_decref(u);
	}
	t_pool_clear_faults(pool);
	t_pool_fault(pool, "{s:s, s:s, s:s, s:{s:n}, s:i}", "action", "forge", "match", TOKEN_MATCH,
		     "kind", "valid", "claims", "preferred_username", "count", 1);
	fault_body("GET /oidc/userinfo", 200, body);
	free(body);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_EJWT);
	assert_non_null(strstr(up_ctx_detail(w->ctx), "does not match"));

	/* a userinfo error */
	t_pool_fault(pool, "{s:s, s:s, s:s, s:{s:n}, s:i}", "action", "forge", "match", TOKEN_MATCH,
		     "kind", "valid", "claims", "preferred_username", "count", 1);
	fault_body("GET /oidc/userinfo", 401, "{\"error\":\"invalid_token\"}");
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_EDENIED);
	assert_null(auth);
}

static void test_forged_tokens(void **state)
{
	static const struct {
		const char *kind;
		up_err want;
	} cases[] = {
	    {"bad_sig", UP_ESIG},     {"wrong_aud", UP_EJWT}, {"wrong_iss", UP_EJWT},
	    {"expired", UP_EEXPIRED}, {"none", UP_EJWT},      {"hs256", UP_EJWT},
	};
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;
	struct conv c = {.code = ""};
	char name[32];

	new_user(name, false, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		up_err r;

		t_pool_fault(pool, "{s:s, s:s, s:s, s:i}", "action", "forge", "match", TOKEN_MATCH,
			     "kind", cases[i].kind, "count", 1);
		r = signin(w, name, PASSWORD, &c, &auth);
		if (r != cases[i].want)
			fail_msg("forged %s: got %s, want %s", cases[i].kind, up_strerror(r),
				 up_strerror(cases[i].want));
		assert_null(auth);
	}
}

/* ---- device flow ---- */

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_device_approve(void **state)
{
	struct world *w = *state = world_new("auth_flow = device");
	struct up_auth *auth = NULL;
	struct conv c = {0};
	char name[32];

	new_user(name, true, NULL);
	c.approve_as = name;
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_OK);
	check_auth(auth, name, true); /* amr: pwd + otp */
	assert_int_equal(c.code_prompts, 0);
	assert_int_equal(c.enter_prompts, 1);
	assert_true(c.enter_echo);
	/* the complete URI as text, a QR code, the user code */
	assert_non_null(strstr(c.info, "/oidc/device?user_code="));
	assert_non_null(strstr(c.info, c.user_code));
	assert_true(strstr(c.info, "\xe2\x96\x80") || strstr(c.info, "\xe2\x96\x84") ||
		    strstr(c.info, "\xe2\x96\x88"));
	assert_false(strchr(c.info, '\x1b')); /* no ANSI escapes */
	up_auth_free(auth);
	auth = NULL;

	/* approved as someone else: refused */
	memset(&c, 0, sizeof(c));
	{
		char other[32];
		new_user(other, false, NULL);
		c.approve_as = other;
		assert_int_equal(signin(w, name, NULL, &c, &auth), UP_EJWT);
		assert_null(auth);
	}

	/* basic client auth on both device endpoints */
	json_decref(t_pool_admin(pool, "set_oidc", "{s:s}", "client_secret", SECRET));
	{
		char *extra = NULL;
		assert_true(asprintf(&extra, "auth_flow = device\nclient_secret = %s", SECRET) > 0);
		world_reload(w, extra);
		free(extra);
	}
	memset(&c, 0, sizeof(c));
	c.approve_as = name;
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_OK);
	check_auth(auth, name, true);
	up_auth_free(auth);
}

static void test_device_deny(void **state)
{
	struct world *w = *state = world_new("auth_flow = device");
	struct up_auth *auth = NULL;
	struct conv c = {.deny = true};
	char name[32];

	new_user(name, false, NULL);
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_EACCESSDENIED);
	assert_null(auth);
	assert_int_equal(c.enter_prompts, 1);
}

static void test_device_pending_and_slow_down(void **state)
{
	struct world *w = *state = world_new("auth_flow = device");
	struct up_auth *auth = NULL;
	struct conv c = {0};
	struct timespec t0;
	char name[32];
	double took;

	new_user(name, false, NULL);
	/* two "pending" answers, interval 1 s: about 2 s */
	c.approve_as = name;
	t_pool_fault(pool, "{s:s, s:s, s:i, s:{s:s}, s:i}", "action", "status", "match",
		     TOKEN_MATCH, "code", 400, "body", "error", "authorization_pending", "count",
		     2);
	t_pool_reset_stats(pool);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_OK);
	took = since(&t0);
	assert_int_equal(t_pool_stat_path(pool, "/oidc/token"), 3);
	assert_true(took >= 1.9 && took < 6.0);
	up_auth_free(auth);
	auth = NULL;

	/* slow_down adds 5 s to the interval */
	memset(&c, 0, sizeof(c));
	c.approve_as = name;
	t_pool_fault(pool, "{s:s, s:s, s:i, s:{s:s}, s:i}", "action", "status", "match",
		     TOKEN_MATCH, "code", 400, "body", "error", "slow_down", "count", 1);
	t_pool_reset_stats(pool);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_OK);
	took = since(&t0);
	assert_int_equal(t_pool_stat_path(pool, "/oidc/token"), 2);
	print_message("# slow_down: %.1f s\n", took);
	assert_true(took >= 5.9 && took < 10.0);
	up_auth_free(auth);
}

static void test_device_expired(void **state)
{
	struct world *w = *state = world_new("auth_flow = device");
	struct up_auth *auth = NULL;
	struct conv c = {0};
	struct timespec t0;
	char name[32];
	double took;

	new_user(name, false, NULL);
	/* never approved, expires_in 3 s: polling stops by then */
	json_decref(t_pool_admin(pool, "set_oidc", "{s:i}", "device_expires_in", 3));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_ETIMEOUT);
	took = since(&t0);
	assert_true(took < 4.5);
	assert_null(auth);

	/* the server says so */
	json_decref(t_pool_admin(pool, "set_oidc", "{s:i}", "device_expires_in", 600));
	memset(&c, 0, sizeof(c));
	fault_body(TOKEN_MATCH, 400, "{\"error\":\"expired_token\"}");
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_ETIMEOUT);
	assert_null(auth);

	/* a broken device authorization answer */
	fault_body("POST /oidc/device_authorization", 200,
		   "{\"device_code\":\"x\",\"user_code\":\"AB\\u001bCD\","
		   "\"verification_uri\":\"https://x/\",\"expires_in\":60}");
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_EPROTO);
	fault_body(
	    "POST /oidc/device_authorization", 200,
	    "{\"device_code\":\"x\",\"user_code\":\"ABCD\",\"verification_uri\":\"https://x/\"}");
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_EPROTO);
	fault_body("POST /oidc/device_authorization", 400, "{\"error\":\"unauthorized_client\"}");
	assert_int_equal(signin(w, name, NULL, &c, &auth), UP_ECONFIG);
	assert_null(auth);
}

/* ---- refresh and revocation ---- */

static void test_refresh_and_revoke(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL, *auth2 = NULL;
	struct conv c = {.code = ""};
	char name[32];

	new_user(name, false, NULL);
	assert_int_equal(signin(w, name, PASSWORD, &c, &auth), UP_OK);
	assert_int_equal(up_oidc_refresh(w->ctx, name, auth->refresh_token, &auth2), UP_OK);
	check_auth(auth2, name, false);
	assert_string_equal(auth2->refresh_token, auth->refresh_token);
	assert_string_equal(auth2->claims->sub, auth->claims->sub);
	up_auth_free(auth2);
	auth2 = NULL;
	/* another user's name */
	assert_int_equal(up_oidc_refresh(w->ctx, "someone", auth->refresh_token, &auth2), UP_EJWT);
	/* no ID token in the answer */
	fault_body(TOKEN_MATCH, 200, "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}");
	assert_int_equal(up_oidc_refresh(w->ctx, name, auth->refresh_token, &auth2), UP_EPROTO);
	assert_non_null(strstr(up_ctx_detail(w->ctx), "no ID token"));

	/* revoked: refresh is refused */
	t_pool_reset_stats(pool);
	assert_int_equal(up_oidc_revoke(w->ctx, auth->refresh_token), UP_OK);
	assert_int_equal(t_pool_stat_path(pool, "/oidc/revoke"), 1);
	assert_int_equal(up_oidc_refresh(w->ctx, name, auth->refresh_token, &auth2), UP_EDENIED);
	assert_null(auth2);
	assert_int_equal(up_oidc_refresh(w->ctx, name, "garbage", &auth2), UP_EDENIED);
	/* revocation errors */
	fault_body("POST /oidc/revoke", 401, "{\"error\":\"invalid_client\"}");
	assert_int_equal(up_oidc_revoke(w->ctx, auth->refresh_token), UP_ECONFIG);
	fault_body("POST /oidc/revoke", 503, "{}");
	assert_int_equal(up_oidc_revoke(w->ctx, auth->refresh_token), UP_ESERVER);
	up_auth_free(auth);
}

static void test_revoke_not_advertised(void **state)
{
	struct world *w = *state = world_new(NULL);
	char *d = NULL;

	assert_true(asprintf(&d,
			     "{\"issuer\":\"%s\",\"token_endpoint\":\"%s/token\","
			     "\"jwks_uri\":\"%s/jwks\"}",
			     w->issuer, w->issuer, w->issuer) > 0);
	fault_body(DISCOVERY_MATCH, 200, d);
	free(d);
	t_pool_reset_stats(pool);
	assert_int_equal(up_oidc_revoke(w->ctx, "some-refresh-token"), UP_OK);
	assert_true(t_log_contains(&w->log, "provider has no revocation endpoint"));
	assert_int_equal(t_pool_stat_path(pool, "/oidc/revoke"), 0);
}

static void test_bad_args(void **state)
{
	struct world *w = *state = world_new(NULL);
	struct up_auth *auth = NULL;

	assert_int_equal(up_oidc_signin(NULL, "a", "b", NULL, &auth), UP_EINVAL);
	assert_int_equal(up_oidc_signin(w->ctx, "a", "b", NULL, NULL), UP_EINVAL);
	assert_int_equal(up_oidc_signin(w->ctx, NULL, "b", NULL, &auth), UP_EINVAL);
	/* the code prompt needs a conversation */
	assert_int_equal(up_oidc_signin(w->ctx, "a", "b", NULL, &auth), UP_ECONV);
	assert_int_equal(up_oidc_refresh(w->ctx, "a", NULL, &auth), UP_EINVAL);
	assert_int_equal(up_oidc_revoke(w->ctx, NULL), UP_EINVAL);
	assert_null(auth);
	up_oidc_endpoints_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_discovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discovery_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discovery_stale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discovery_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discovery_hostile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ropc_totp_param, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ropc_totp_append, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ropc_wrong_password_and_code, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ropc_no_mfa, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_client_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error_mapping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_userinfo_fallback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_approve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_deny, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_pending_and_slow_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_device_expired, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_and_revoke, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoke_not_advertised, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
