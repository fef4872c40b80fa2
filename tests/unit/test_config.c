/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/config.c: the configuration loader (DESIGN §2). */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "config_int.h"
#include "provider.h"

#define POOL "eu-west-1_AbC123"
#define BASE "client_id = abc123\nuser_pool_id = " POOL "\n"
#define OIDC "provider = oidc\nissuer = https://idp.example.org/realms/x\nclient_id = abc123\n"
#define SECRET "S3cr3tValue+xyz"

struct fx {
	char *dir;
	struct up_ctx *ctx;
	struct t_log log;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = t_mkdtemp();
	assert_int_equal(up_ctx_new(&f->ctx), UP_OK);
	up_ctx_set_logger(f->ctx, t_log_fn, &f->log);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	up_ctx_free(f->ctx);
	t_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Write `text` (mode `mode`) and load it with `argv`. */
static up_err load_args(struct fx *f, const char *text, mode_t mode, bool check_owner, int argc,
			const char *const *argv)
{
	char *path = t_write_file(f->dir, "userpool.conf", text, mode);
	up_err r;

	r = up_ctx_load_config(f->ctx, path, argc, argv, check_owner);
	free(path);
	return r;
}

static up_err load(struct fx *f, const char *text)
{
	return load_args(f, text, 0600, false, 0, NULL);
}

static const struct up_config *cfg_of(struct fx *f)
{
	const struct up_config *c = up_ctx_config(f->ctx);

	assert_non_null(c);
	return c;
}

static void assert_detail_has(struct fx *f, const char *needle)
{
	const char *d = up_ctx_detail(f->ctx);

	if (!strstr(d, needle))
		fail_msg("detail '%s' lacks '%s'", d, needle);
}

static void load_ok(struct fx *f, const char *text)
{
	up_err r = load(f, text);

	if (r)
		fail_msg("load failed: %s: %s", up_strerror(r), up_ctx_detail(f->ctx));
}

/* --- defaults and every key's good value --- */

static void test_defaults_cognito(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	load_ok(f, BASE);
	c = cfg_of(f);
	assert_non_null(c->path);
	assert_non_null(strstr(c->path, "userpool.conf"));
	assert_int_equal(c->provider, UP_PROVIDER_COGNITO);
	assert_string_equal(c->region, "eu-west-1");
	assert_string_equal(c->user_pool_id, POOL);
	assert_string_equal(c->pool_name, "AbC123");
	assert_string_equal(c->client_id, "abc123");
	assert_null(c->client_secret);
	assert_string_equal(c->endpoint, "https://cognito-idp.eu-west-1.amazonaws.com/");
	assert_string_equal(c->issuer, "https://cognito-idp.eu-west-1.amazonaws.com/" POOL);
	assert_string_equal(c->jwks_uri, "https://cognito-idp.eu-west-1.amazonaws.com/" POOL
					 "/.well-known/jwks.json");
	assert_int_equal(c->auth_flow, UP_FLOW_SRP);
	assert_int_equal(c->otp_mode, UP_OTP_PROMPT);
	assert_string_equal(c->otp_param, "totp");
	assert_int_equal(c->client_auth, UP_CLIENT_AUTH_BASIC);
	assert_string_equal(c->scope, "openid");
	assert_true(c->mfa_required);
	assert_true(c->enroll_on_login);
	assert_int_equal(c->mfa_methods[0], UP_MFA_TOTP);
	assert_int_equal(c->mfa_methods[1], UP_MFA_EMAIL);
	assert_int_equal(c->mfa_methods[2], UP_MFA_SMS);
	assert_int_equal(c->mfa_methods[3], UP_MFA_NONE);
	assert_false(c->echo_code);
	assert_string_equal(c->issuer_alt,
			    "https://issuer-cognito-idp.eu-west-1.amazonaws.com/" POOL);
	assert_string_equal(c->jwks_uri_alt,
			    "https://issuer-cognito-idp.eu-west-1.amazonaws.com/" POOL
			    "/.well-known/jwks.json");
	assert_string_equal(c->custom_prompt_param, "question");
	assert_false(c->custom_echo);
	assert_false(c->custom_is_mfa);
	assert_false(c->send_context);
	assert_string_equal(c->totp_issuer, "userpool");
	assert_string_equal(c->username_format, "%u");
	assert_string_equal(c->username_claim, "cognito:username");
	assert_string_equal(c->groups_claim, "cognito:groups");
	assert_non_null(c->allow_groups);
	assert_null(c->allow_groups[0]);
	assert_non_null(c->group_map);
	assert_null(c->group_map[0]);
	assert_non_null(c->ignore_users);
	assert_string_equal(c->ignore_users[0], "root");
	assert_null(c->ignore_users[1]);
	assert_string_equal(c->state_dir, "/var/lib/userpool");
	assert_true(c->offline);
	assert_int_equal(c->offline_max_age, 7 * 86400);
	assert_int_equal(c->offline_max_failures, 5);
	assert_int_equal(c->max_auth_age, 0);
	assert_int_equal(c->timeout, 10);
	assert_int_equal(c->kdf_slots, 0);
	assert_null(c->ca_file);
	assert_null(c->proxy);
	assert_int_equal(c->leeway, 60);
	assert_false(c->revoke_on_close);
	assert_int_equal(c->uid_min, 200000);
	assert_int_equal(c->uid_max, 299999);
	assert_string_equal(c->home, "/home/%u");
	assert_string_equal(c->shell, "/bin/bash");
	assert_false(c->debug);
	assert_false(c->use_first_pass);
	assert_false(c->try_first_pass);
	assert_string_equal(up_ctx_detail(f->ctx), "");
	assert_int_equal(f->log.len, 0); /* a clean file logs nothing */
}

static void test_defaults_oidc(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	load_ok(f, OIDC);
	c = cfg_of(f);
	assert_int_equal(c->provider, UP_PROVIDER_OIDC);
	assert_string_equal(c->issuer, "https://idp.example.org/realms/x");
	assert_null(c->jwks_uri); /* discovery fills it */
	assert_null(c->endpoint);
	assert_null(c->user_pool_id);
	assert_null(c->pool_name);
	assert_int_equal(c->auth_flow, UP_FLOW_PASSWORD);
	assert_string_equal(c->username_claim, "preferred_username");
	assert_string_equal(c->groups_claim, "groups");
	assert_string_equal(c->scope, "openid");
	assert_int_equal(c->client_auth, UP_CLIENT_AUTH_BASIC);
}

static void test_every_key_good(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;
	char *ca = t_write_file(f->dir, "ca.pem", "not parsed here\n", 0644);
	char *text = NULL;
	bool root = geteuid() == 0;

	assert_true(
	    asprintf(&text,
		     "provider = cognito\n"
		     "region = us-east-2\n"
		     "user_pool_id = us-east-2_Zz9\n"
		     "client_id = client-1\n"
		     "%s"
		     "endpoint = https://vpce-1.cognito-idp.us-east-2.vpce.amazonaws.com/\n"
		     "issuer = https://issuer-cognito-idp.us-east-2.amazonaws.com/us-east-2_Zz9\n"
		     "jwks_uri = https://keys.example.org/jwks.json\n"
		     "auth_flow = PASSWORD\n"
		     "otp_mode = append\n"
		     "otp_param = otp_code\n"
		     "client_auth = post\n"
		     "scope = openid   profile email\n"
		     "mfa = optional\n"
		     "enroll_on_login = no\n"
		     "mfa_methods = SMS,totp\n"
		     "echo_code = yes\n"
		     "totp_issuer = \"Example Org\"\n"
		     "username_format = %%u@example.org\n"
		     "username_claim = email\n"
		     "groups_claim = https://example.org/groups\n"
		     "allow_groups = admins, ops devs\n"
		     "group_map = admins:sudo lab:labusers\n"
		     "ignore_users = root admin\n"
		     "state_dir = /var/lib/userpool-test\n"
		     "offline = off\n"
		     "offline_max_age = 2d\n"
		     "offline_max_failures = 1000\n"
		     "max_auth_age = 15m\n"
		     "timeout = 300s\n"
		     "kdf_slots = 3\n"
		     "ca_file = %s\n"
		     "proxy = http://proxy.example.org:3128\n"
		     "leeway = 0\n"
		     "revoke_on_close = true\n"
		     "uid_min = 1000\n"
		     "uid_max = 2147483646\n"
		     "home = /srv/home/%%u\n"
		     "shell = /bin/zsh\n"
		     "debug = 1\n",
		     /* a file with a secret must be root's: unprivileged runs skip it */
		     root ? "client_secret = " SECRET "\n" : "", ca) > 0);
	load_ok(f, text);
	c = cfg_of(f);
	assert_int_equal(c->provider, UP_PROVIDER_COGNITO);
	assert_string_equal(c->region, "us-east-2");
	assert_string_equal(c->user_pool_id, "us-east-2_Zz9");
	assert_string_equal(c->pool_name, "Zz9");
	assert_string_equal(c->client_id, "client-1");
	if (root)
		assert_string_equal(c->client_secret, SECRET);
	else
		assert_null(c->client_secret);
	assert_string_equal(c->endpoint,
			    "https://vpce-1.cognito-idp.us-east-2.vpce.amazonaws.com/");
	assert_string_equal(c->issuer,
			    "https://issuer-cognito-idp.us-east-2.amazonaws.com/us-east-2_Zz9");
	assert_string_equal(c->jwks_uri, "https://keys.example.org/jwks.json");
	assert_int_equal(c->auth_flow, UP_FLOW_PASSWORD);
	assert_int_equal(c->otp_mode, UP_OTP_APPEND);
	assert_string_equal(c->otp_param, "otp_code");
	assert_int_equal(c->client_auth, UP_CLIENT_AUTH_POST);
	assert_string_equal(c->scope, "openid profile email");
	assert_false(c->mfa_required);
	assert_false(c->enroll_on_login);
	assert_int_equal(c->mfa_methods[0], UP_MFA_SMS);
	assert_int_equal(c->mfa_methods[1], UP_MFA_TOTP);
	assert_int_equal(c->mfa_methods[2], UP_MFA_NONE);
	assert_true(c->echo_code);
	assert_string_equal(c->totp_issuer, "Example Org");
	assert_string_equal(c->username_format, "%u@example.org");
	assert_string_equal(c->username_claim, "email");
	assert_string_equal(c->groups_claim, "https://example.org/groups");
	assert_int_equal(up_strv_len(c->allow_groups), 3);
	assert_string_equal(c->allow_groups[0], "admins");
	assert_string_equal(c->allow_groups[1], "ops");
	assert_string_equal(c->allow_groups[2], "devs");
	assert_int_equal(up_strv_len(c->ignore_users), 2);
	assert_string_equal(c->ignore_users[1], "admin");
	assert_string_equal(c->state_dir, "/var/lib/userpool-test");
	assert_int_equal(up_strv_len(c->group_map), 2);
	assert_string_equal(c->group_map[1], "lab:labusers");
	assert_false(c->offline);
	assert_int_equal(c->offline_max_age, 2 * 86400);
	assert_int_equal(c->offline_max_failures, 1000);
	assert_int_equal(c->max_auth_age, 900);
	assert_int_equal(c->timeout, 300);
	assert_int_equal(c->kdf_slots, 3);
	assert_string_equal(c->ca_file, ca);
	assert_string_equal(c->proxy, "http://proxy.example.org:3128");
	assert_int_equal(c->leeway, 0);
	assert_true(c->revoke_on_close);
	assert_int_equal(c->uid_min, 1000);
	assert_int_equal(c->uid_max, 2147483646);
	assert_string_equal(c->home, "/srv/home/%u");
	assert_string_equal(c->shell, "/bin/zsh");
	assert_true(c->debug);
	/* no warnings: every key above is known */
	assert_false(t_log_contains(&f->log, "unknown"));
	free(text);
	free(ca);
}

static void test_oidc_keys_good(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	load_ok(f, OIDC "auth_flow = device\njwks_uri = https://idp.example.org/certs\n"
			"username_claim = sub\n");
	c = cfg_of(f);
	assert_int_equal(c->auth_flow, UP_FLOW_DEVICE);
	assert_string_equal(c->jwks_uri, "https://idp.example.org/certs");
	assert_string_equal(c->username_claim, "sub");
	assert_string_equal(c->groups_claim, "groups");
}

/* --- every key's bad value --- */

struct bad_case {
	const char *base;
	const char *line;
	const char *needle; /* expected in the detail */
};

static const struct bad_case bad_cases[] = {
    {BASE, "provider = aws", "provider"},
    {BASE, "provider =", "provider: empty value"},
    {BASE, "region = EU_WEST", "region"},
    {BASE, "region = -eu", "region"},
    {BASE, "region = eu-central-1", "does not match user_pool_id"},
    {"client_id = a\n", "user_pool_id = eu-west-1", "user_pool_id"},
    {"client_id = a\n", "user_pool_id = eu-west-1_ab-c", "user_pool_id"},
    {"client_id = a\n", "user_pool_id = EU_abc", "user_pool_id"},
    {"client_id = a\n", "user_pool_id = eu-west-1_", "user_pool_id"},
    {"user_pool_id = " POOL "\n", "client_id = \"a b\"", "client_id"},
    {"user_pool_id = " POOL "\n", "client_id =", "client_id: empty value"},
    {BASE, "endpoint = http://10.0.0.1/", "endpoint: http:// is allowed only to a loopback"},
    {BASE, "endpoint = https://user@example.org/", "credentials"},
    {BASE, "endpoint = https://u:p@example.org/", "credentials"},
    {BASE, "endpoint = ftp://example.org/", "endpoint: URL must start with https://"},
    {BASE, "endpoint = https:///x", "no host"},
    {BASE, "endpoint = https://exa mple.org/", "blanks"},
    {BASE, "endpoint = https://example.org:99999/", "port"},
    {BASE, "endpoint = https://example.org:/", "port"},
    {BASE, "endpoint = https://example.org:-1/", "port"},
    {BASE, "endpoint = http://127.0.0.1.evil.example/", "loopback"},
    {BASE, "endpoint = http://127.1/", "loopback"},
    {BASE, "endpoint = http://[::2]/", "loopback"},
    {BASE, "endpoint = http://[zz]/", "IPv6"},
    {BASE, "endpoint = https://ex%61mple.org/", "host name"},
    {BASE, "issuer = http://example.org/pool", "issuer: http://"},
    {BASE, "issuer = https://example.org/pool?x=1", "query"},
    {BASE, "issuer = https://example.org/pool#frag", "fragment"},
    {BASE, "jwks_uri = http://192.168.1.1/jwks.json", "jwks_uri: http://"},
    {BASE, "jwks_uri = https://example.org/jwks.json#x", "fragment"},
    {BASE, "auth_flow = kerberos", "auth_flow"},
    {BASE, "auth_flow = device", "auth_flow: device is for provider oidc"},
    {OIDC, "auth_flow = srp", "auth_flow: srp is for provider cognito"},
    {OIDC, "otp_mode = sms", "otp_mode"},
    {OIDC, "otp_param = a&b", "otp_param"},
    {OIDC, "otp_param =", "otp_param: empty value"},
    {OIDC, "client_auth = private_key_jwt", "client_auth"},
    {OIDC, "scope = profile email", "scope: must contain openid"},
    {OIDC, "scope = openidx", "scope: must contain openid"},
    {OIDC, "scope = openid \"x\"", "scope: bad character"},
    {BASE, "mfa = sometimes", "mfa"},
    {BASE, "enroll_on_login = maybe", "enroll_on_login"},
    {BASE, "mfa_methods = totp, fax", "mfa_methods: 'fax' is not totp, email or sms"},
    {BASE, "mfa_methods = sms sms", "mfa_methods: 'sms' is listed twice"},
    {BASE, "mfa_methods = , ,", "mfa_methods: empty"},
    {BASE, "echo_code = 2", "echo_code"},
    {BASE, "custom_prompt_param = two words",
     "custom_prompt_param: 'two words' is not a challenge"},
    {BASE, "custom_prompt_param =", "custom_prompt_param: empty value"},
    {BASE, "custom_echo = 2", "custom_echo"},
    {BASE, "custom_is_mfa = perhaps", "custom_is_mfa"},
    {BASE, "send_context = maybe", "send_context"},
    {OIDC, "auth_flow = custom", "auth_flow: custom is for provider cognito"},
    {OIDC, "auth_flow = user_auth", "auth_flow: user_auth is for provider cognito"},
    {BASE, "totp_issuer = Org:Unit", "totp_issuer"},
    {BASE, "totp_issuer =", "totp_issuer: empty value"},
    {BASE, "username_format = %u%u", "username_format: must contain %u exactly once"},
    {BASE, "username_format = alice", "username_format: must contain %u exactly once"},
    {BASE, "username_format = %u@%d", "username_format: only %u and %%"},
    {BASE, "username_format = %u%", "username_format: only %u and %%"},
    {BASE, "username_format = a/%u", "username_format: must not contain '/'"},
    {BASE, "username_claim = \"a b\"", "username_claim"},
    {BASE, "groups_claim = \"a b\"", "groups_claim"},
    {BASE, "groups_claim =", "groups_claim: empty value"},
    {BASE, "state_dir = var/lib/userpool", "state_dir: must be an absolute path"},
    {BASE, "state_dir = /var/lib/../etc", "state_dir: must not contain '..'"},
    {BASE, "offline = perhaps", "offline"},
    {BASE, "offline_max_age = 0", "offline_max_age: '0' out of range"},
    {BASE, "offline_max_age = 366d", "offline_max_age"},
    {BASE, "offline_max_age = 7days", "offline_max_age: '7days' is not a duration"},
    {BASE, "offline_max_failures = 0", "offline_max_failures: '0' out of range"},
    {BASE, "offline_max_failures = 1001", "offline_max_failures"},
    {BASE, "offline_max_failures = five", "offline_max_failures: 'five' is not a number"},
    {BASE, "offline_max_failures = 5s", "offline_max_failures"},
    {BASE, "max_auth_age = 2d", "max_auth_age: '2d' out of range"},
    {BASE, "max_auth_age = -1", "max_auth_age"},
    {BASE, "timeout = 0", "timeout: '0' out of range"},
    {BASE, "kdf_slots = -1", "kdf_slots"},
    {BASE, "kdf_slots = 1025", "kdf_slots"},
    {BASE, "kdf_slots = two", "kdf_slots: 'two' is not a number"},
    {BASE, "timeout = 301", "timeout"},
    {BASE, "timeout = 6m", "timeout"},
    {BASE, "timeout = 10x", "timeout: '10x' is not a duration"},
    {BASE, "timeout =", "timeout: empty value"},
    {BASE, "ca_file = certs/ca.pem", "ca_file: must be an absolute path"},
    {BASE, "ca_file = /nonexistent/ca.pem", "ca_file: /nonexistent/ca.pem: No such file"},
    {BASE, "ca_file = /", "ca_file: /: not a regular file"},
    {BASE, "proxy = socks5://proxy:1080", "proxy: URL must start"},
    {BASE, "proxy = http://user:pw@proxy:3128", "proxy: URL must not contain user credentials"},
    {BASE, "leeway = 601", "leeway"},
    {BASE, "leeway = 11m", "leeway"},
    {BASE, "leeway = -5", "leeway"},
    {BASE, "revoke_on_close = 2", "revoke_on_close"},
    {BASE, "uid_min = 999", "uid_min: '999' out of range"},
    {BASE, "uid_min = 2147483647", "uid_min"},
    {BASE, "uid_min = 300000", "uid_min: 300000 is above uid_max 299999"},
    {BASE, "uid_min = 0x1000", "uid_min: '0x1000' is not a number"},
    {BASE, "uid_max = 2147483647", "uid_max"},
    {BASE, "uid_max = 4294967295", "uid_max"},
    {BASE, "uid_max = 1500", "uid_min: 200000 is above uid_max 1500"},
    {BASE, "home = home/%u", "home: must be an absolute path"},
    {BASE, "home = /home/user", "home: must contain %u"},
    {BASE, "home = /home/%u:x", "home: must not contain ':'"},
    {BASE, "home = /home/%s", "home: only %u and %%"},
    {BASE, "shell = bin/sh", "shell: must be an absolute path"},
    {BASE, "shell = \"/bin/sh -x\"", "shell: must not contain"},
    {BASE, "debug = loud", "debug"},
    {BASE, "group_map = admins", "group_map"},
    {BASE, "group_map = admins:sudo:x", "group_map"},
    {BASE, "group_map = :sudo", "group_map"},
    {BASE, "group_map = admins:-x", "group_map"},
    {BASE, "gid_source = claim", "gid_source: 'claim' is not sequential or hash"},
    {BASE, "pool_groups = lab 1234", "pool_groups: '1234' is not a valid local group name"},
    {BASE, "pool_groups = lab, a:b", "pool_groups: 'a:b' is not a valid local group name"},
    {BASE, "group_map = lab:plugdev\npool_groups = plugdev",
     "pool_groups: plugdev is also a group_map target"},
    {BASE, "allow_groups = a,\001b", "allow_groups: control characters"},
    {"client_id = a\n", "", "user_pool_id: required for provider cognito"},
    {"provider = oidc\nclient_id = a\n", "", "issuer: required for provider oidc"},
};

/* Issue 20's keys: auth_flow custom / user_auth and their settings. */
static void test_custom_and_user_auth(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	load_ok(f, BASE "auth_flow = custom\ncustom_prompt_param = cognito:hint-2.x\n"
			"custom_echo = yes\ncustom_is_mfa = yes\n");
	c = cfg_of(f);
	assert_int_equal(c->auth_flow, UP_FLOW_CUSTOM);
	assert_string_equal(c->custom_prompt_param, "cognito:hint-2.x");
	assert_true(c->custom_echo);
	assert_true(c->custom_is_mfa);
	/* client_secret: the file must be the state owner's (root, or the test's uid) */
	up_ctx_set_state_owner(f->ctx, geteuid(), getegid());
	load_ok(f, BASE "auth_flow = user_auth\nclient_secret = s3cr3t\nsend_context = yes\n");
	c = cfg_of(f);
	assert_int_equal(c->auth_flow, UP_FLOW_USER_AUTH);
	assert_true(c->send_context);
	/* send_context needs a client with a secret */
	assert_int_equal(load(f, BASE "send_context = yes\n"), UP_ECONFIG);
	assert_detail_has(f, "send_context: needs client_secret");
	/* issuer set: only that one; no second form */
	load_ok(f, BASE "issuer = https://cognito-idp.eu-west-1.amazonaws.com/" POOL "\n");
	c = cfg_of(f);
	assert_null(c->issuer_alt);
	assert_null(c->jwks_uri_alt);
}

static void test_every_key_bad(void **state)
{
	struct fx *f = *state;
	char long_item[300];

	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		char *text = NULL;
		up_err r;

		assert_true(asprintf(&text, "%s%s\n", b->base, b->line) > 0);
		r = load(f, text);
		if (r != UP_ECONFIG)
			fail_msg("case %zu '%s': got %s, want ECONFIG", i, b->line, up_strerror(r));
		if (!strstr(up_ctx_detail(f->ctx), b->needle))
			fail_msg("case %zu '%s': detail '%s' lacks '%s'", i, b->line,
				 up_ctx_detail(f->ctx), b->needle);
		/* The failing key's line number is in the detail for file values
		 * (derived-value checks have no line). */
		if (*b->line && !strstr(b->needle, "required") && !strstr(b->needle, "above") &&
		    !strstr(b->needle, "does not match") && !strstr(b->needle, "is for provider") &&
		    !strstr(b->needle, "also a group_map")) {
			char loc[32];
			int line = 1;

			for (const char *q = b->base; *q; q++)
				line += *q == '\n';
			snprintf(loc, sizeof(loc), ":%d: ", line);
			if (!strstr(up_ctx_detail(f->ctx), loc))
				fail_msg("case %zu: detail '%s' lacks line '%s'", i,
					 up_ctx_detail(f->ctx), loc);
		}
		assert_null(up_ctx_config(f->ctx)); /* nothing loaded before */
		free(text);
	}
	/* list items are capped */
	memset(long_item, 'g', 257);
	long_item[257] = '\0';
	for (int k = 0; k < 2; k++) {
		char *text = NULL;

		assert_true(asprintf(&text, BASE "%s = ok %s\n",
				     k ? "ignore_users" : "allow_groups", long_item) > 0);
		assert_int_equal(load(f, text), UP_ECONFIG);
		assert_detail_has(f, k ? "ignore_users: list item" : "allow_groups: list item");
		free(text);
	}
}

/* --- durations --- */

static void test_durations(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *v;
		int64_t want; /* -1: refused */
	} cases[] = {
	    {"45", 45},
	    {"30s", 30},
	    {"15m", 900},
	    {"2h", 7200},
	    {"3d", 259200},
	    {"365d", 31536000},
	    {"0s", -1},
	    {"10x", -1},
	    {"-1", -1},
	    {"\"\"", -1},
	    {"s", -1},
	    {"1.5h", -1},
	    {"+5", -1},
	    {"5 m", -1},
	    {"\" 5\"", -1},
	    {"5S", -1},
	    {"99999999999999999999", -1},
	    {"9223372036854775807", -1},
	    {"106751991167301d", -1},
	    {"9999999999999999d", -1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		up_err r;

		assert_true(asprintf(&text, BASE "offline_max_age = %s\n", cases[i].v) > 0);
		r = load(f, text);
		if (cases[i].want < 0) {
			if (r != UP_ECONFIG)
				fail_msg("duration '%s' accepted", cases[i].v);
			assert_detail_has(f, "offline_max_age");
		} else {
			if (r)
				fail_msg("duration '%s' refused: %s", cases[i].v,
					 up_ctx_detail(f->ctx));
			assert_int_equal(cfg_of(f)->offline_max_age, cases[i].want);
		}
		free(text);
	}
	/* timeout: 1s..300s with every suffix */
	load_ok(f, BASE "timeout = 1s\n");
	assert_int_equal(cfg_of(f)->timeout, 1);
	load_ok(f, BASE "timeout = 5m\n");
	assert_int_equal(cfg_of(f)->timeout, 300);
	assert_int_equal(load(f, BASE "timeout = 1h\n"), UP_ECONFIG);
	assert_int_equal(load(f, BASE "timeout = 1d\n"), UP_ECONFIG);
	load_ok(f, BASE "leeway = 10m\n");
	assert_int_equal(cfg_of(f)->leeway, 600);
	load_ok(f, BASE "max_auth_age = 24h\n");
	assert_int_equal(cfg_of(f)->max_auth_age, 86400);
	load_ok(f, BASE "max_auth_age = 0\n");
	assert_int_equal(cfg_of(f)->max_auth_age, 0);
}

static void test_booleans(void **state)
{
	struct fx *f = *state;
	static const char *const yes[] = {"yes", "true", "on", "1", "YES", "True"};
	static const char *const no[] = {"no", "false", "off", "0", "No", "OFF"};

	for (size_t i = 0; i < 6; i++) {
		char *text = NULL;

		assert_true(asprintf(&text, BASE "offline = %s\nrevoke_on_close = %s\n", no[i],
				     yes[i]) > 0);
		load_ok(f, text);
		assert_false(cfg_of(f)->offline);
		assert_true(cfg_of(f)->revoke_on_close);
		free(text);
	}
	assert_int_equal(load(f, BASE "offline = y\n"), UP_ECONFIG);
	assert_int_equal(load(f, BASE "offline = yes please\n"), UP_ECONFIG);
}

/* --- lists --- */

static void test_lists(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	load_ok(f, BASE "allow_groups = admins, ops  devs,,\tx ,\nignore_users = \n");
	c = cfg_of(f);
	assert_int_equal(up_strv_len(c->allow_groups), 4);
	assert_string_equal(c->allow_groups[0], "admins");
	assert_string_equal(c->allow_groups[1], "ops");
	assert_string_equal(c->allow_groups[2], "devs");
	assert_string_equal(c->allow_groups[3], "x");
	assert_int_equal(up_strv_len(c->ignore_users), 0);
	assert_int_equal(up_strv_len(c->pool_local_users), 0);
	/* root is still a local account in /etc/passwd (issue 16) */
	assert_true(up_user_ignored(f->ctx, "root"));
	assert_non_null(strstr(up_user_skip_reason(f->ctx, "root", false), "/etc/passwd"));
	assert_null(up_user_skip_reason(f->ctx, "no-such-local-name-x", false));

	/* pool_local_users lets a local name reach the pool; ignore_users wins */
	load_ok(f, BASE "ignore_users =\npool_local_users = root,\tdaemon\n");
	c = cfg_of(f);
	assert_int_equal(up_strv_len(c->pool_local_users), 2);
	assert_false(up_user_ignored(f->ctx, "root"));
	assert_false(up_user_ignored(f->ctx, "daemon"));
	assert_true(up_user_ignored(f->ctx, "bin"));
	load_ok(f, BASE "ignore_users = root\npool_local_users = root\n");
	assert_true(up_user_ignored(f->ctx, "root"));

	load_ok(f, BASE "allow_groups = \"one,two\"\nignore_users = root,admin\n");
	c = cfg_of(f);
	assert_int_equal(up_strv_len(c->allow_groups), 2);
	assert_string_equal(c->allow_groups[1], "two");
	assert_true(up_user_ignored(f->ctx, "root"));
	assert_true(up_user_ignored(f->ctx, "admin"));
	assert_false(up_user_ignored(f->ctx, "alice"));
	assert_false(up_user_ignored(f->ctx, "Admin"));
	assert_false(up_user_ignored(f->ctx, NULL));
	assert_false(up_user_ignored(NULL, "root"));
}

/* --- file syntax --- */

static void test_syntax(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	load_ok(f, "# a comment\n"
		   "   # an indented comment\n"
		   "\n"
		   "\t\n"
		   "client_id=abc#def\r\n"
		   "  user_pool_id\t=\t" POOL "  \r\n"
		   "totp_issuer = \"  spaced \"\n"
		   "username_claim=email"); /* no final newline */
	c = cfg_of(f);
	assert_string_equal(c->client_id, "abc#def"); /* '#' inside a value is kept */
	assert_string_equal(c->user_pool_id, POOL);
	assert_string_equal(c->totp_issuer, "  spaced ");
	assert_string_equal(c->username_claim, "email");
}

static void test_syntax_errors(void **state)
{
	struct fx *f = *state;

	/* a trailing comment is no comment: reported, with a hint */
	assert_int_equal(load(f, BASE "timeout = 10s # ten seconds\n"), UP_ECONFIG);
	assert_detail_has(f, ":3: timeout:");
	assert_detail_has(f, "'#' starts a comment only at the beginning of a line");

	/* no '=': the line is not echoed (could be a pasted secret) */
	assert_int_equal(load(f, BASE "hunter2secret\n"), UP_ECONFIG);
	assert_detail_has(f, ":3: expected 'key = value'");
	assert_null(strstr(up_ctx_detail(f->ctx), "hunter2"));

	assert_int_equal(load(f, BASE "bad key = x\n"), UP_ECONFIG);
	assert_detail_has(f, ":3: bad key name");
	assert_int_equal(load(f, BASE " = x\n"), UP_ECONFIG);
	assert_detail_has(f, ":3: bad key name");

	assert_int_equal(load(f, BASE "totp_issuer = \"Example\n"), UP_ECONFIG);
	assert_detail_has(f, ":3: totp_issuer: unbalanced double quote");
	assert_int_equal(load(f, BASE "totp_issuer = \"\n"), UP_ECONFIG);
	assert_detail_has(f, "unbalanced");
	assert_int_equal(load(f, BASE "otp_param = \"\"x\"\"\n"), UP_ECONFIG);
	assert_detail_has(f, "otp_param");
}

static void test_unknown_key_warns(void **state)
{
	struct fx *f = *state;
	char want[64];

	load_ok(f, BASE "frobnicate = yes\nuse_first_pass = yes\n");
	snprintf(want, sizeof(want), "%d warning: ", LOG_WARNING);
	assert_true(t_log_contains(&f->log, want));
	assert_true(t_log_contains(&f->log, ":3: frobnicate: unknown key ignored"));
	assert_true(t_log_contains(&f->log, ":4: use_first_pass: is a PAM module argument"));
	assert_false(cfg_of(f)->use_first_pass);
	/* the value of an unknown key is never logged (it may be a misspelt secret) */
	t_log_reset(&f->log);
	load_ok(f, BASE "client_secert = " SECRET "\n");
	assert_true(t_log_contains(&f->log, "client_secert: unknown key"));
	assert_false(t_log_contains(&f->log, SECRET));
}

static void test_duplicates(void **state)
{
	struct fx *f = *state;
	static const char *const strict[] = {
	    "provider = cognito",
	    "region = eu-west-1",
	    "user_pool_id = " POOL,
	    "client_id = abc123",
	    "client_secret = x",
	    "endpoint = https://a.example/",
	    "issuer = https://a.example/p",
	    "jwks_uri = https://a.example/j",
	    "ca_file = /etc/passwd",
	    "proxy = http://p.example:3128",
	};

	/* an ordinary key: the last one wins, with a warning */
	load_ok(f, BASE "timeout = 5\ntimeout = 20s\n");
	assert_int_equal(cfg_of(f)->timeout, 20);
	assert_true(
	    t_log_contains(&f->log, "timeout: set twice (lines 3 and 4): the last one wins"));

	/* security settings: ambiguous, refused */
	for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
		char *text = NULL;

		assert_true(asprintf(&text, BASE "%s\n%s\n", strict[i], strict[i]) > 0);
		if (load(f, text) != UP_ECONFIG)
			fail_msg("duplicate '%s' accepted", strict[i]);
		assert_detail_has(f, "set twice");
		free(text);
	}
	/* client_id twice with different values names both lines */
	assert_int_equal(load(f, BASE "client_id = evil\n"), UP_ECONFIG);
	assert_detail_has(f, ":3: client_id: set twice (lines 1 and 3): ambiguous");
}

/* --- derived values --- */

static void test_derived(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	/* region from the pool id prefix */
	load_ok(f, "client_id = a\nuser_pool_id = ap-southeast-2_XyZ\n");
	c = cfg_of(f);
	assert_string_equal(c->region, "ap-southeast-2");
	assert_string_equal(c->pool_name, "XyZ");
	assert_string_equal(c->endpoint, "https://cognito-idp.ap-southeast-2.amazonaws.com/");
	assert_string_equal(c->issuer,
			    "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_XyZ");
	assert_string_equal(c->jwks_uri, "https://cognito-idp.ap-southeast-2.amazonaws.com/"
					 "ap-southeast-2_XyZ/.well-known/jwks.json");

	/* explicit issuer wins; jwks_uri follows it; endpoint still from region */
	load_ok(f, BASE "issuer = https://issuer-cognito-idp.eu-west-1.amazonaws.com/" POOL "\n");
	c = cfg_of(f);
	assert_string_equal(c->issuer, "https://issuer-cognito-idp.eu-west-1.amazonaws.com/" POOL);
	assert_string_equal(c->jwks_uri, "https://issuer-cognito-idp.eu-west-1.amazonaws.com/" POOL
					 "/.well-known/jwks.json");
	assert_string_equal(c->endpoint, "https://cognito-idp.eu-west-1.amazonaws.com/");

	/* an issuer with a trailing '/' does not give '//' */
	load_ok(f, BASE "issuer = https://pool.example/" POOL "/\n");
	assert_string_equal(cfg_of(f)->jwks_uri,
			    "https://pool.example/" POOL "/.well-known/jwks.json");
	assert_string_equal(cfg_of(f)->issuer, "https://pool.example/" POOL "/");

	/* a local test pool: everything explicit, region mismatch is fine then */
	load_ok(f, "client_id = a\nuser_pool_id = local_Abc\nregion = us-east-1\n"
		   "endpoint = http://127.0.0.1:9229/\nissuer = http://127.0.0.1:9229/local_Abc\n");
	c = cfg_of(f);
	assert_string_equal(c->region, "us-east-1");
	assert_string_equal(c->pool_name, "Abc");
	assert_string_equal(c->endpoint, "http://127.0.0.1:9229/");
	assert_string_equal(c->jwks_uri, "http://127.0.0.1:9229/local_Abc/.well-known/jwks.json");

	/* explicit endpoint and jwks_uri win */
	load_ok(f, BASE "endpoint = https://vpce.example/\njwks_uri = https://k.example/j\n");
	c = cfg_of(f);
	assert_string_equal(c->endpoint, "https://vpce.example/");
	assert_string_equal(c->jwks_uri, "https://k.example/j");
	assert_string_equal(c->issuer, "https://cognito-idp.eu-west-1.amazonaws.com/" POOL);

	/* matching region given explicitly */
	load_ok(f, BASE "region = eu-west-1\n");
	assert_string_equal(cfg_of(f)->region, "eu-west-1");

	/* the empty value resets an optional key to its derived default */
	load_ok(f, BASE "endpoint =\nclient_secret =\nproxy = \"\"\n");
	c = cfg_of(f);
	assert_string_equal(c->endpoint, "https://cognito-idp.eu-west-1.amazonaws.com/");
	assert_null(c->client_secret);
	assert_null(c->proxy);
}

static void test_loopback_urls(void **state)
{
	struct fx *f = *state;
	static const char *const good[] = {
	    "http://127.0.0.1:9000/", "http://127.0.0.2:9000/",	    "http://127.255.255.254/",
	    "http://localhost:8080",  "http://LOCALHOST/",	    "http://[::1]:8080/",
	    "http://[::1]",	      "https://10.0.0.1/",	    "https://[2001:db8::1]:443/x",
	    "HTTPS://Example.ORG/p",  "https://example.org:1/?a=b",
	};
	static const char *const badu[] = {
	    "http://10.0.0.1/",
	    "http://128.0.0.1/",
	    "http://example.org/",
	    "http://localhost.evil.example/",
	    "http://[::ffff:127.0.0.1]/",
	    "https://user@host/",
	    "http://user@127.0.0.1/",
	    "https://host/ x",
	    "https://[::1/",
	    "https://[::1]x/",
	    "https://",
	    "//host/",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *text = NULL;

		assert_true(asprintf(&text, BASE "endpoint = %s\n", good[i]) > 0);
		if (load(f, text) != UP_OK)
			fail_msg("'%s' refused: %s", good[i], up_ctx_detail(f->ctx));
		assert_string_equal(cfg_of(f)->endpoint, good[i]);
		free(text);
	}
	for (size_t i = 0; i < sizeof(badu) / sizeof(badu[0]); i++) {
		char *text = NULL;

		assert_true(asprintf(&text, BASE "jwks_uri = \"%s\"\n", badu[i]) > 0);
		if (load(f, text) != UP_ECONFIG)
			fail_msg("'%s' accepted", badu[i]);
		assert_detail_has(f, "jwks_uri: ");
		free(text);
	}
	/* a proxy may be plain http:// anywhere (TLS goes through CONNECT) */
	load_ok(f, BASE "proxy = http://10.0.0.1:3128\n");
	assert_string_equal(cfg_of(f)->proxy, "http://10.0.0.1:3128");
}

/* --- file checks --- */

static void test_missing_file(void **state)
{
	struct fx *f = *state;
	char *path = NULL;

	assert_true(asprintf(&path, "%s/nope.conf", f->dir) > 0);
	assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, false), UP_ECONFIG);
	assert_detail_has(f, "config file ");
	assert_detail_has(f, "nope.conf: No such file or directory");
	free(path);
	/* a directory is not a config file */
	assert_int_equal(up_ctx_load_config(f->ctx, f->dir, 0, NULL, false), UP_ECONFIG);
	assert_detail_has(f, "not a regular file");
	assert_null(up_ctx_config(f->ctx));
}

static void test_empty_file(void **state)
{
	struct fx *f = *state;

	assert_int_equal(load(f, ""), UP_ECONFIG);
	assert_detail_has(f, "client_id: required but not set");
	assert_int_equal(load(f, "# only comments\n\n"), UP_ECONFIG);
	assert_detail_has(f, "client_id");
	assert_null(up_ctx_config(f->ctx));
}

static void test_symlink_refused(void **state)
{
	struct fx *f = *state;
	char *target = t_write_file(f->dir, "real.conf", BASE, 0600);
	char *link = NULL;

	assert_true(asprintf(&link, "%s/link.conf", f->dir) > 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(up_ctx_load_config(f->ctx, link, 0, NULL, false), UP_ECONFIG);
	assert_detail_has(f, "symbolic link");
	assert_int_equal(up_ctx_load_config(f->ctx, target, 0, NULL, false), UP_OK);
	free(target);
	free(link);
}

static void test_long_line_and_size(void **state)
{
	struct fx *f = *state;
	size_t n = 70 * 1024;
	char *text = malloc(n + 64);

	assert_non_null(text);
	/* a 4096-byte comment line is fine, 4097 is not */
	memcpy(text, BASE, strlen(BASE));
	text[strlen(BASE)] = '#';
	memset(text + strlen(BASE) + 1, 'x', 4095);
	memcpy(text + strlen(BASE) + 4096, "\n", 2);
	load_ok(f, text);
	memcpy(text + strlen(BASE) + 4096, "x\n", 3);
	assert_int_equal(load(f, text), UP_ECONFIG);
	assert_detail_has(f, ":3: line longer than 4096 bytes");

	/* a value line over the cap */
	memcpy(text, "client_id = ", 12);
	memset(text + 12, 'a', 5000);
	memcpy(text + 5012, "\n", 2);
	assert_int_equal(load(f, text), UP_ECONFIG);
	assert_detail_has(f, ":1: line longer");

	/* size cap: 64 KiB of comments */
	for (size_t i = 0; i < n; i += 64) {
		memset(text + i, '#', 63);
		text[i + 63] = '\n';
	}
	text[n] = '\0';
	assert_int_equal(load(f, text), UP_ECONFIG);
	assert_detail_has(f, "larger than 64 KiB");
	free(text);
}

static void test_nul_byte(void **state)
{
	struct fx *f = *state;
	static const char data[] = BASE "timeout = 1\0 0\n";
	char *path = NULL;
	int fd;

	assert_true(asprintf(&path, "%s/nul.conf", f->dir) > 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, sizeof(data) - 1), (ssize_t)(sizeof(data) - 1));
	close(fd);
	assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, false), UP_ECONFIG);
	assert_detail_has(f, ":3: NUL byte");
	free(path);
}

static void chown_file(const char *dir, const char *name, uid_t uid)
{
	char *path = NULL;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	assert_int_equal(chown(path, uid, uid), 0);
	free(path);
}

static void test_owner_checks(void **state)
{
	struct fx *f = *state;

	if (geteuid() != 0) {
		/* cmocka's skip() reads as a failure to automake's TAP driver */
		print_message("# SKIP: needs root (files of uid 0 and 65534)\n");
		return;
	}
	/* world- or group-writable: refused with check_owner, fine without */
	assert_int_equal(load_args(f, BASE, 0666, true, 0, NULL), UP_ECONFIG);
	assert_detail_has(f, "writable by group or others");
	assert_int_equal(load_args(f, BASE, 0620, true, 0, NULL), UP_ECONFIG);
	assert_int_equal(load_args(f, BASE, 0666, false, 0, NULL), UP_OK);
	assert_int_equal(load_args(f, BASE, 0644, true, 0, NULL), UP_OK);

	/* not root-owned: refused with check_owner */
	free(t_write_file(f->dir, "userpool.conf", BASE, 0644));
	chown_file(f->dir, "userpool.conf", 65534);
	{
		char *path = NULL;

		assert_true(asprintf(&path, "%s/userpool.conf", f->dir) > 0);
		assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, true), UP_ECONFIG);
		assert_detail_has(f, "not owned by root");
		assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, false), UP_OK);
		free(path);
	}
}

static void test_secret_file_mode(void **state)
{
	struct fx *f = *state;
	const char *text = BASE "client_secret = " SECRET "\n";
	char *path = NULL;

	if (geteuid() != 0) {
		/* cmocka's skip() reads as a failure to automake's TAP driver */
		print_message("# SKIP: needs root (files of uid 0 and 65534)\n");
		return;
	}
	assert_true(asprintf(&path, "%s/userpool.conf", f->dir) > 0);
	/* 0600 root: fine */
	assert_int_equal(load_args(f, text, 0600, true, 0, NULL), UP_OK);
	assert_string_equal(cfg_of(f)->client_secret, SECRET);
	assert_int_equal(load_args(f, text, 0400, false, 0, NULL), UP_OK);
	/* readable by others or group: refused even without check_owner */
	assert_int_equal(load_args(f, text, 0644, false, 0, NULL), UP_ECONFIG);
	assert_detail_has(f, "holds client_secret");
	assert_null(strstr(up_ctx_detail(f->ctx), SECRET));
	assert_int_equal(load_args(f, text, 0640, false, 0, NULL), UP_ECONFIG);
	assert_int_equal(load_args(f, text, 0604, false, 0, NULL), UP_ECONFIG);
	/* owned by someone else: refused even 0600 and without check_owner */
	free(t_write_file(f->dir, "userpool.conf", text, 0600));
	chown_file(f->dir, "userpool.conf", 65534);
	assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, false), UP_ECONFIG);
	assert_detail_has(f, "holds client_secret");
	/* an empty client_secret is no secret */
	assert_int_equal(load_args(f, BASE "client_secret =\n", 0644, false, 0, NULL), UP_OK);
	/* the previous good configuration (with the secret) is still in force */
	free(path);
}

/* up_ctx_set_state_owner: the owner a configuration file must have (with
 * check_owner, and always with client_secret) is the state owner; runs
 * without root (as root, on a file of uid 65534). */
static void test_config_owner(void **state)
{
	struct fx *f = *state;
	const char *text = BASE "client_secret = " SECRET "\n";
	uid_t me = geteuid() == 0 ? 65534 : geteuid();
	char *path = t_write_file(f->dir, "userpool.conf", text, 0600), *other = NULL;

	if (geteuid() == 0)
		chown_file(f->dir, "userpool.conf", 65534);
	assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, false), UP_ECONFIG);
	assert_detail_has(f, "it must be owned by root and not readable");
	assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, true), UP_ECONFIG);
	assert_detail_has(f, "not owned by root");
	up_ctx_set_state_owner(f->ctx, me, me);
	assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, true), UP_OK);
	assert_string_equal(cfg_of(f)->client_secret, SECRET);
	/* another uid as the owner: refused again, naming it */
	up_ctx_set_state_owner(f->ctx, me - 1, me - 1);
	assert_true(asprintf(&other, "must be owned by uid %u", (unsigned)(me - 1)) > 0);
	assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, false), UP_ECONFIG);
	assert_detail_has(f, other);
	free(other);
	free(path);
}

static void test_previous_config_kept(void **state)
{
	struct fx *f = *state;
	const struct up_config *before;

	load_ok(f, BASE "timeout = 42\n");
	before = up_ctx_config(f->ctx);
	assert_int_equal(load(f, BASE "timeout = 42\nleeway = forever\n"), UP_ECONFIG);
	assert_ptr_equal(up_ctx_config(f->ctx), before);
	assert_int_equal(cfg_of(f)->timeout, 42);
	assert_int_equal(cfg_of(f)->leeway, 60);
	{
		char *path = NULL;

		assert_true(asprintf(&path, "%s/gone.conf", f->dir) > 0);
		assert_int_equal(up_ctx_load_config(f->ctx, path, 0, NULL, false), UP_ECONFIG);
		free(path);
	}
	assert_ptr_equal(up_ctx_config(f->ctx), before);
	/* a good reload replaces it and drops what belonged to the old one */
	f->ctx->oidc.token_endpoint = strdup("https://old.example/token");
	load_ok(f, BASE "timeout = 7\n");
	assert_int_equal(cfg_of(f)->timeout, 7);
	assert_null(f->ctx->oidc.token_endpoint);
	assert_null(f->ctx->http);
	assert_string_equal(up_ctx_detail(f->ctx), "");
}

static void test_secret_never_shown(void **state)
{
	struct fx *f = *state;
	const char *argv_dbg[] = {"debug"};

	/* debug on, so that up_fail's debug line reaches the log too */
	assert_int_equal(load_args(f, BASE, 0600, false, 1, argv_dbg), UP_OK);
	assert_true(cfg_of(f)->debug);
	t_log_reset(&f->log);

	assert_int_equal(load(f, BASE "client_secret = \"" SECRET " with blank\"\n"), UP_ECONFIG);
	assert_string_equal(strstr(up_ctx_detail(f->ctx), "client_secret"),
			    "client_secret: invalid");
	assert_null(strstr(up_ctx_detail(f->ctx), SECRET));
	assert_true(f->log.len > 0); /* the debug line was logged */
	assert_false(t_log_contains(&f->log, SECRET));

	/* a secret as a PAM argument (issue 16): refused, the value never shown */
	{
		const char *argv[] = {"client_secret=" SECRET};

		t_log_reset(&f->log);
		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_ECONFIG);
		assert_detail_has(f, "argument client_secret: refused");
		assert_null(strstr(up_ctx_detail(f->ctx), SECRET));
		assert_false(t_log_contains(&f->log, SECRET));
	}
	{
		/* also when the file holds one and when it is empty */
		const char *argv[] = {"client_secret="};

		t_log_reset(&f->log);
		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_ECONFIG);
		assert_detail_has(f, "argument client_secret: refused");
	}
	{
		const char *argv[] = {"client_secret=" SECRET "\001"};

		t_log_reset(&f->log);
		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_ECONFIG);
		assert_detail_has(f, "argument client_secret: refused");
		assert_null(strstr(up_ctx_detail(f->ctx), SECRET));
		assert_false(t_log_contains(&f->log, SECRET));
	}
	{
		/* a mistyped argument is not echoed */
		const char *argv[] = {"client secret=" SECRET};

		t_log_reset(&f->log);
		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_OK);
		assert_true(t_log_contains(&f->log, "unknown module argument #1"));
		assert_false(t_log_contains(&f->log, SECRET));
	}
}

/* --- PAM arguments --- */

static void test_args(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	{
		const char *argv[] = {"timeout=20",
				      "debug",
				      "use_first_pass",
				      "try_first_pass",
				      "allow_groups=wheel,ops",
				      "offline=no"};

		load_ok(f, BASE); /* nothing set */
		assert_false(cfg_of(f)->use_first_pass);
		assert_int_equal(load_args(f, BASE "timeout = 5\n", 0600, false, 6, argv), UP_OK);
		c = cfg_of(f);
		assert_int_equal(c->timeout, 20); /* the argument overrides the file */
		assert_true(c->debug);
		assert_true(c->use_first_pass);
		assert_true(c->try_first_pass);
		assert_int_equal(up_strv_len(c->allow_groups), 2);
		assert_false(c->offline);
		assert_false(t_log_contains(&f->log, "twice")); /* an override is no duplicate */
	}
	{
		/* an argument may override a security key from the file */
		const char *argv[] = {"client_id=other", "provider=oidc",
				      "issuer=https://idp.example/"};

		assert_int_equal(load_args(f, BASE, 0600, false, 3, argv), UP_OK);
		c = cfg_of(f);
		assert_string_equal(c->client_id, "other");
		assert_int_equal(c->provider, UP_PROVIDER_OIDC);
		assert_string_equal(c->issuer, "https://idp.example/");
		assert_int_equal(c->auth_flow, UP_FLOW_PASSWORD);
	}
	{
		/* derived values are computed after the arguments */
		const char *argv[] = {"user_pool_id=us-west-2_Q"};

		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_OK);
		c = cfg_of(f);
		assert_string_equal(c->region, "us-west-2");
		assert_string_equal(c->issuer,
				    "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_Q");
	}
	{
		const char *argv[] = {"frobnicate", "nosuchkey=1", "timeout=30"};

		t_log_reset(&f->log);
		assert_int_equal(load_args(f, BASE, 0600, false, 3, argv), UP_OK);
		assert_true(
		    t_log_contains(&f->log, "unknown module argument 'frobnicate' ignored"));
		assert_true(t_log_contains(&f->log, "unknown module argument 'nosuchkey' ignored"));
		assert_int_equal(cfg_of(f)->timeout, 30);
	}
	{
		const char *argv[] = {"timeout=soon"};

		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_ECONFIG);
		assert_detail_has(f, "argument timeout: 'soon' is not a duration");
	}
	{
		const char *argv[] = {"offline"};

		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_ECONFIG);
		assert_detail_has(f, "argument offline: needs a value");
	}
	{
		const char *argv[] = {"endpoint=http://10.1.1.1/"};

		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_ECONFIG);
		assert_detail_has(f, "argument endpoint: http://");
	}
	{
		const char *argv[] = {"client_id=a", "client_id=b"};

		assert_int_equal(load_args(f, BASE, 0600, false, 2, argv), UP_ECONFIG);
		assert_detail_has(f, "argument client_id: given twice");
	}
	{
		const char *argv[] = {"leeway=1", "leeway=2"};

		t_log_reset(&f->log);
		assert_int_equal(load_args(f, BASE, 0600, false, 2, argv), UP_OK);
		assert_int_equal(cfg_of(f)->leeway, 2);
		assert_true(t_log_contains(&f->log, "argument leeway: given twice"));
	}
	{
		const char *argv[] = {"totp_issuer=\"My Org\""};

		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_OK);
		assert_string_equal(cfg_of(f)->totp_issuer, "My Org");
	}
	{
		const char *argv[] = {"debug=yes"};

		assert_int_equal(load_args(f, BASE, 0600, false, 1, argv), UP_OK);
		assert_true(cfg_of(f)->debug);
	}
}

static void test_args_config(void **state)
{
	struct fx *f = *state;
	char *other = t_write_file(f->dir, "other.conf", BASE "timeout = 33\n", 0600);
	char *arg = NULL, *missing = NULL;

	assert_true(asprintf(&arg, "config=%s", other) > 0);
	assert_true(asprintf(&missing, "%s/missing.conf", f->dir) > 0);
	{
		const char *argv[] = {arg};

		/* config= picks the file (path NULL or not) */
		assert_int_equal(up_ctx_load_config(f->ctx, missing, 1, argv, false), UP_OK);
		assert_int_equal(cfg_of(f)->timeout, 33);
		assert_string_equal(cfg_of(f)->path, other);
		assert_int_equal(up_ctx_load_config(f->ctx, NULL, 1, argv, false), UP_OK);
		assert_string_equal(cfg_of(f)->path, other);
	}
	{
		const char *argv[] = {arg, arg};

		assert_int_equal(up_ctx_load_config(f->ctx, NULL, 2, argv, false), UP_ECONFIG);
		assert_detail_has(f, "argument config: given twice");
	}
	{
		const char *argv[] = {"config=relative.conf"};

		assert_int_equal(up_ctx_load_config(f->ctx, NULL, 1, argv, false), UP_ECONFIG);
		assert_detail_has(f, "argument config: must be an absolute path");
	}
	{
		const char *argv[] = {"config"};

		assert_int_equal(up_ctx_load_config(f->ctx, other, 1, argv, false), UP_ECONFIG);
		assert_detail_has(f, "argument config: needs a value");
	}
	{
		/* no path, no config=: the default file (absent in tests, or not) */
		struct up_ctx *ctx = NULL;
		up_err r;

		assert_int_equal(up_ctx_new(&ctx), UP_OK);
		r = up_ctx_load_config(ctx, NULL, 0, NULL, false);
		if (r != UP_OK)
			assert_non_null(strstr(up_ctx_detail(ctx), UP_DEFAULT_CONFIG));
		up_ctx_free(ctx);
	}
	assert_int_equal(up_ctx_load_config(f->ctx, NULL, -1, NULL, false), UP_EINVAL);
	assert_int_equal(up_ctx_load_config(f->ctx, NULL, 1, NULL, false), UP_EINVAL);
	assert_int_equal(up_ctx_load_config(NULL, other, 0, NULL, false), UP_EINVAL);
	free(arg);
	free(missing);
	free(other);
}

/* --- up_config_check --- */

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_check(void **state)
{
	struct fx *f = *state;
	char *path = t_write_file(f->dir, "c.conf", BASE "allow_groups = admins\n", 0600);
	char *out;

	out = up_config_check(f->ctx, path, false);
	assert_non_null(out);
	assert_string_equal(out, "");
	free(out);

	/* issue 16: an empty allow_groups is a warning of the check */
	free(path);
	path = t_write_file(f->dir, "c.conf", BASE, 0600);
	out = up_config_check(f->ctx, path, false);
	assert_non_null(out);
	assert_non_null(strstr(out, "warning: allow_groups: empty: every user of the pool"));
	free(out);

	/* issue 18: configurations that load but cannot sign anyone in */
	{
		static const struct {
			const char *text, *want;
		} cases[] = {
		    {BASE "ca_file =\n", "ca_file: empty: remove the line"},
		    {BASE "issuer = https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other\n",
		     "does not end in /" POOL},
		    {BASE "endpoint = https://cognito-idp.us-east-1.amazonaws.com/\n",
		     "is in region us-east-1, the pool in eu-west-1"},
		    {BASE "issuer = https://cognito-idp.us-east-2.amazonaws.com/" POOL "\n",
		     "is in region us-east-2"},
		    {BASE "timout = 5\n", "unknown key ignored (did you mean timeout?)"},
		    {BASE "allow_group = a\n", "(did you mean allow_groups?)"},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			free(path);
			path = t_write_file(f->dir, "c.conf", cases[i].text, 0600);
			out = up_config_check(f->ctx, path, false);
			assert_non_null(out);
			if (!strstr(out, cases[i].want))
				fail_msg("case %zu: %s", i, out);
			free(out);
		}
	}

	free(path);
	path = t_write_file(f->dir, "c.conf",
			    "user_pool_id = " POOL "\n"
			    "timeout = 10x\n"
			    "leeway = 1h\n"
			    "frobnicate = 1\n"
			    "endpoint = http://10.0.0.1/\n"
			    "no equals sign\n"
			    "uid_min = 5000\nuid_max = 4000\n",
			    0666);
	out = up_config_check(f->ctx, path, true);
	assert_non_null(out);
	assert_non_null(strstr(out, "writable by group or others\n"));
	assert_non_null(strstr(out, ":2: timeout: '10x' is not a duration"));
	assert_non_null(strstr(out, ":3: leeway: '1h' out of range"));
	assert_non_null(strstr(out, "warning: "));
	assert_non_null(strstr(out, ":4: frobnicate: unknown key"));
	assert_non_null(strstr(out, ":5: endpoint: http://"));
	assert_non_null(strstr(out, ":6: expected 'key = value'"));
	assert_non_null(strstr(out, "client_id: required"));
	assert_non_null(strstr(out, "uid_min: 5000 is above uid_max 4000"));
	if (geteuid() != 0)
		assert_non_null(strstr(out, "not owned by root\n"));
	assert_int_equal(count_lines(out), geteuid() == 0 ? 9 : 10); /* + allow_groups warning */
	/* the check does not load anything */
	assert_null(up_ctx_config(f->ctx));
	free(out);

	/* a missing file: one line */
	out = up_config_check(f->ctx, "/nonexistent/userpool.conf", false);
	assert_non_null(out);
	assert_non_null(strstr(out, "/nonexistent/userpool.conf: No such file"));
	assert_int_equal(count_lines(out), 1);
	free(out);

	/* a secret in a readable file, and an invalid secret: never shown */
	free(path);
	path = t_write_file(f->dir, "c.conf", BASE "client_secret = \"" SECRET " x\"\n", 0644);
	out = up_config_check(NULL, path, false);
	assert_non_null(out);
	assert_non_null(strstr(out, "client_secret: invalid"));
	assert_non_null(strstr(out, "holds client_secret"));
	assert_null(strstr(out, SECRET));
	free(out);
	free(path);
}

/* --- up_username_map --- */

static void test_username_map(void **state)
{
	struct fx *f = *state;
	char *u = NULL;
	char long_login[UP_MAX_USERNAME + 2];

	assert_int_equal(up_username_map(f->ctx, "alice", &u), UP_ECONFIG); /* nothing loaded */
	assert_null(u);

	load_ok(f, BASE);
	assert_int_equal(up_username_map(f->ctx, "alice", &u), UP_OK);
	assert_string_equal(u, "alice");
	free(u);
	u = NULL;
	/* pool usernames may be e-mail addresses */
	assert_int_equal(up_username_map(f->ctx, "bob.smith+x@example.com", &u), UP_OK);
	assert_string_equal(u, "bob.smith+x@example.com");
	free(u);
	u = NULL;

	load_ok(f, BASE "username_format = %%%u@example.org%%\n");
	assert_int_equal(up_username_map(f->ctx, "alice", &u), UP_OK);
	assert_string_equal(u, "%alice@example.org%");
	free(u);
	u = NULL;

	load_ok(f, BASE "username_format = %u@example.org\n");
	assert_int_equal(up_username_map(f->ctx, "", &u), UP_EINVAL);
	assert_int_equal(up_username_map(f->ctx, NULL, &u), UP_EINVAL);
	assert_int_equal(up_username_map(f->ctx, "a/b", &u), UP_EINVAL);
	assert_int_equal(up_username_map(f->ctx, "../etc", &u), UP_EINVAL);
	assert_int_equal(up_username_map(f->ctx, "a\nb", &u), UP_EINVAL);
	assert_int_equal(up_username_map(f->ctx, "a\tb", &u), UP_EINVAL);
	assert_int_equal(up_username_map(f->ctx, "a\x7f", &u), UP_EINVAL);
	assert_int_equal(up_username_map(f->ctx, "alice", NULL), UP_EINVAL);
	assert_null(u);
	/* the refused login is not echoed (people type passwords there) */
	assert_int_equal(up_username_map(f->ctx, "hunter2/pw", &u), UP_EINVAL);
	assert_null(strstr(up_ctx_detail(f->ctx), "hunter2"));

	memset(long_login, 'a', sizeof(long_login) - 1);
	long_login[sizeof(long_login) - 1] = '\0'; /* 257 bytes */
	assert_int_equal(up_username_map(f->ctx, long_login, &u), UP_EINVAL);
	long_login[UP_MAX_USERNAME] = '\0'; /* 256 bytes: fine alone, too long with the suffix */
	assert_int_equal(up_username_map(f->ctx, long_login, &u), UP_EINVAL);
	assert_null(u);
	load_ok(f, BASE);
	assert_int_equal(up_username_map(f->ctx, long_login, &u), UP_OK);
	assert_int_equal(strlen(u), UP_MAX_USERNAME);
	free(u);
	/* non-ASCII login names pass through */
	u = NULL;
	assert_int_equal(up_username_map(f->ctx, "j\xc3\xbcrgen", &u), UP_OK);
	assert_string_equal(u, "j\xc3\xbcrgen");
	free(u);
}

/* man/userpool.conf.5, from $top_srcdir (make check), else next to this file. */
static char *read_man_page(void)
{
	const char *top = getenv("top_srcdir");
	char *path = NULL, *file, *text;
	FILE *fp;
	long n;

	if (top && *top) {
		assert_true(asprintf(&path, "%s/man/userpool.conf.5", top) > 0);
	} else {
		file = strdup(__FILE__);
		assert_non_null(file);
		assert_true(asprintf(&path, "%s/../../man/userpool.conf.5", dirname(file)) > 0);
		free(file);
	}
	fp = fopen(path, "re");
	assert_non_null(fp);
	free(path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0 && n < 1024 * 1024);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return text;
}

/* Is `key` a word of a heading line (the line after a .TP) of the man page? */
static bool documented(const char *man, const char *key)
{
	size_t kl = strlen(key);

	for (const char *tp = man; (tp = strstr(tp, "\n.TP\n")); tp += 4) {
		const char *line = tp + 5, *end = strchr(line, '\n');

		if (!end || (strncmp(line, ".B ", 3) != 0 && strncmp(line, ".BR ", 4) != 0))
			continue;
		for (const char *w = strstr(line, key); w && w < end; w = strstr(w + 1, key)) {
			char before = w[-1], after = w[kl];

			if ((before == ' ' || before == '"') &&
			    (after == ' ' || after == '"' || after == '\n' || after == ','))
				return true;
		}
	}
	return false;
}

/* Every key of the table is documented in a heading of userpool.conf(5);
 * the table has the keys this test knows are there. */
static void test_keys_documented(void **state)
{
	char *man = read_man_page();
	size_t n = 0, missing = 0;

	(void)state;
	for (const char *k; (k = up_config_key_name(n)); n++)
		if (!documented(man, k)) {
			fprintf(stderr, "# key %s is not a heading of man/userpool.conf.5\n", k);
			missing++;
		}
	assert_int_equal(missing, 0);
	assert_true(n >= 42);
	/* the check can fail: a name that is not a key is not found */
	assert_false(documented(man, "no_such_key"));
	assert_false(documented(man, "uid_mi"));
	free(man);
}

/* The provider selector picks the table of the configured provider, and
 * the table answers for it (lib/provider.h). */
static void test_provider_table(void **state)
{
	struct fx *f = *state;
	const struct up_provider_ops *ops;
	char *url = NULL;

	load_ok(f, BASE);
	ops = up_provider(f->ctx);
	assert_ptr_equal(ops, &up_cognito_ops);
	assert_string_equal(ops->name, "cognito");
	assert_true(ops->enrolls_here);
	assert_true(ops->needs_password(cfg_of(f)));
	assert_non_null(ops->change_password);
	assert_int_equal(ops->probe_url(f->ctx, &url), UP_OK);
	assert_string_equal(url, cfg_of(f)->jwks_uri);
	free(url);
	url = NULL;
	/* the public capability queries the adapters use instead of provider names */
	assert_true(up_provider_has(f->ctx, UP_CAP_PASSWORD));
	assert_true(up_provider_has(f->ctx, UP_CAP_CHANGE_PASSWORD));
	assert_true(up_provider_has(f->ctx, UP_CAP_ENROLL));
	assert_true(up_provider_has(f->ctx, UP_CAP_CLIENT_PROBE));

	load_ok(f, OIDC "auth_flow = device\n");
	ops = up_provider(f->ctx);
	assert_ptr_equal(ops, &up_oidc_ops);
	assert_false(ops->enrolls_here);
	assert_false(ops->needs_password(cfg_of(f)));
	assert_null(ops->change_password);
	assert_non_null(ops->prepare);
	assert_int_equal(ops->probe_url(f->ctx, &url), UP_OK);
	assert_string_equal(url,
			    "https://idp.example.org/realms/x/.well-known/openid-configuration");
	free(url);
	assert_false(up_provider_has(f->ctx, UP_CAP_PASSWORD));
	assert_false(up_provider_has(f->ctx, UP_CAP_CHANGE_PASSWORD));
	assert_false(up_provider_has(f->ctx, UP_CAP_ENROLL));
	assert_false(up_provider_has(f->ctx, UP_CAP_CLIENT_PROBE));
	{
		int64_t skew = 1;
		bool have_date = true;

		assert_int_equal(up_provider_probe_client(f->ctx, &skew, &have_date), UP_ECONFIG);
	}
	load_ok(f, OIDC);
	assert_true(up_provider(f->ctx)->needs_password(cfg_of(f)));
	assert_true(up_provider_has(f->ctx, UP_CAP_PASSWORD));
}

/* The public accessors of the opaque struct up_config return what the
 * loader set, defaults and file values alike, and the zero value for NULL. */
static void test_accessors(void **state)
{
	struct fx *f = *state;
	const struct up_config *c;

	assert_int_equal(up_config_auth_flow(NULL), UP_FLOW_SRP);
	assert_null(up_config_issuer(NULL));
	assert_false(up_config_offline(NULL));
	assert_false(up_config_echo_code(NULL));
	assert_int_equal(up_config_qr(NULL), UP_QR_AUTO);
	assert_null(up_config_totp_issuer(NULL));
	assert_int_equal(up_config_max_auth_age(NULL), 0);
	assert_int_equal(up_config_leeway(NULL), 0);
	assert_false(up_config_revoke_on_close(NULL));
	assert_int_equal(up_config_uid_source(NULL), UP_UID_SEQUENTIAL);
	assert_int_equal(up_config_gid_source(NULL), UP_GID_SEQUENTIAL);
	assert_null(up_config_uid_claim(NULL));
	assert_null(up_config_state_dir(NULL));

	load_ok(f, BASE);
	c = cfg_of(f);
	assert_int_equal(up_config_auth_flow(c), UP_FLOW_SRP);
	assert_string_equal(up_config_issuer(c),
			    "https://cognito-idp.eu-west-1.amazonaws.com/" POOL);
	assert_true(up_config_offline(c));
	assert_false(up_config_echo_code(c));
	assert_int_equal(up_config_qr(c), UP_QR_AUTO);
	assert_string_equal(up_config_totp_issuer(c), "userpool");
	assert_int_equal(up_config_max_auth_age(c), 0);
	assert_int_equal(up_config_leeway(c), 60);
	assert_false(up_config_revoke_on_close(c));
	assert_int_equal(up_config_uid_source(c), UP_UID_SEQUENTIAL);
	assert_int_equal(up_config_gid_source(c), UP_GID_SEQUENTIAL);
	assert_string_equal(up_config_uid_claim(c), "custom:uid_number");
	assert_string_equal(up_config_state_dir(c), "/var/lib/userpool");

	load_ok(f,
		BASE "auth_flow = password\noffline = no\necho_code = yes\nqr = text\n"
		     "totp_issuer = Corp\nmax_auth_age = 15m\nleeway = 5\nrevoke_on_close = yes\n"
		     "uid_source = hash\nstate_dir = /var/lib/userpool-test\n"
		     "gid_source = hash\nuid_claim = uidn\n"
		     "issuer = https://issuer-cognito-idp.eu-west-1.amazonaws.com/" POOL "\n");
	c = cfg_of(f);
	assert_int_equal(up_config_auth_flow(c), UP_FLOW_PASSWORD);
	assert_string_equal(up_config_issuer(c),
			    "https://issuer-cognito-idp.eu-west-1.amazonaws.com/" POOL);
	assert_false(up_config_offline(c));
	assert_true(up_config_echo_code(c));
	assert_int_equal(up_config_qr(c), UP_QR_TEXT);
	assert_string_equal(up_config_totp_issuer(c), "Corp");
	assert_int_equal(up_config_max_auth_age(c), 900);
	assert_int_equal(up_config_leeway(c), 5);
	assert_true(up_config_revoke_on_close(c));
	assert_int_equal(up_config_uid_source(c), UP_UID_HASH);
	assert_int_equal(up_config_gid_source(c), UP_GID_HASH);
	assert_string_equal(up_config_uid_claim(c), "uidn");
	assert_string_equal(up_config_state_dir(c), "/var/lib/userpool-test");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults_cognito, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defaults_oidc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_key_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oidc_keys_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_custom_and_user_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_key_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syntax, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syntax_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_key_warns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_derived, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loopback_urls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_long_line_and_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_file_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_previous_config_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_secret_never_shown, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_args, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_args_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_username_map, setup, teardown),
	    cmocka_unit_test(test_keys_documented),
	    cmocka_unit_test_setup_teardown(test_provider_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accessors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
