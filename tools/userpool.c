/* SPDX-License-Identifier: Apache-2.0 */
/*
 * userpool: the administrator's command line (DESIGN §8): status, login,
 * verify, cache list|show|purge, jwks refresh, user add|del. Never prints a
 * token, a verifier or a password; --json on read commands for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "term.h"

static char prog[] = "userpool";
static bool opt_json;
static const char *opt_kind;

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: userpool [--config PATH] [--json] COMMAND [ARG]...\n\n"
	    "Commands:\n"
	    "  status                 check the configuration, the pool, the JWKS and the state\n"
	    "  login USER             sign in interactively (no PAM) and show the verified claims\n"
	    "  verify [--kind id|access] -|TOKEN   verify a token (read from standard input with "
	    "-,\n"
	    "                         which keeps it out of the process list) and show its claims\n"
	    "  cache list             list cached users\n"
	    "  cache show USER        show one cached user\n"
	    "  cache purge [USER]     forget one cached user, or all\n"
	    "  jwks refresh           fetch the pool's signing keys now\n"
	    "  user add NAME...       provision local NSS entries for pool users\n"
	    "  user add NAME --uid N  pre-provision NAME with UID N (what uid_source = claim\n"
	    "                         would give; in uid_min..uid_max, no other entry's)\n"
	    "  user add NAME --sub SUB   the same with the account's sub (uid_source = hash)\n"
	    "  user add --from-file FILE   the same for every name in FILE (one a line;\n"
	    "                         e.g. a pool group's members, listed with AWS credentials)\n"
	    "  user del NAME          remove a local NSS entry, its binding to the pool account\n"
	    "                         and its cached record (its UID is never reused)\n"
	    "  user rebind NAME       give NAME to the account that now holds it in the pool:\n"
	    "                         a new UID; the next sign-in binds it\n"
	    "  user renumber NAME [--uid N]   move NAME to the UID uid_source gives it now\n"
	    "                         (or N); its files keep their owner: chown them\n\n"
	    "Options:\n"
	    "  -c, --config PATH      configuration file (default %s)\n"
	    "  -j, --json             machine-readable output for status, login, verify, cache\n"
	    "  -k, --kind KIND        token kind for verify: id, access or any (default)\n"
	    "  -h, --help, -V, --version\n\n"
	    "Exit status: 0 success, 1 failure or refusal, 2 usage or configuration error.\n"
	    "status exits 0 when every check passed (warnings may be shown), 1 when a check\n"
	    "of the pool, the app client, the clock, the JWKS, the TPM or the state failed,\n"
	    "2 when the configuration has errors; each problem is named with its fix.\n",
	    UP_DEFAULT_CONFIG);
}

static void fail(struct up_ctx *ctx, const char *what, up_err r)
{
	const char *d = up_ctx_detail(ctx);
	char *safe = term_safe(d);

	fprintf(stderr, "userpool: %s: %s%s%s\n", what, up_strerror(r), safe && safe[0] ? ": " : "",
		safe ? safe : "");
	free(safe);
}

static void print_time(const char *label, int64_t t)
{
	char buf[64] = "never";
	struct tm tm;
	time_t tt = (time_t)t;

	if (t > 0 && gmtime_r(&tt, &tm))
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	printf("  %-14s %s\n", label, buf);
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (; a && v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static void print_strv(const char *label, char *const *v)
{
	printf("  %-14s ", label);
	if (!v || !*v)
		printf("(none)");
	for (char *const *p = v; p && *p; p++) {
		char *s = term_safe(*p);
		printf("%s%s", p == v ? "" : ", ", s ? s : "?");
		free(s);
	}
	printf("\n");
}

static int emit_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int show_claims(const struct up_claims *c, bool mfa, bool offline, bool have_mfa)
{
	if (opt_json) {
		json_t *j = json_pack("{s:s?, s:s?, s:o, s:s?, s:I, s:I, s:I}", "sub", c->sub,
				      "username", c->username, "groups", strv_json(c->groups),
				      "issuer", c->issuer, "auth_time", (json_int_t)c->auth_time,
				      "iat", (json_int_t)c->iat, "exp", (json_int_t)c->exp);
		if (j && have_mfa) {
			json_object_set_new(j, "mfa", json_boolean(mfa));
			json_object_set_new(j, "offline", json_boolean(offline));
		}
		return emit_json(j);
	}
	{
		char *sub = term_safe(c->sub), *un = term_safe(c->username),
		     *iss = term_safe(c->issuer);
		printf("  %-14s %s\n  %-14s %s\n  %-14s %s\n", "sub", sub ? sub : "?", "username",
		       un && un[0] ? un : "(none)", "issuer", iss ? iss : "?");
		free(sub);
		free(un);
		free(iss);
	}
	print_strv("groups", c->groups);
	print_time("auth_time", c->auth_time);
	print_time("issued", c->iat);
	print_time("expires", c->exp);
	if (have_mfa)
		printf("  %-14s %s%s\n", "second factor", mfa ? "yes" : "no",
		       offline ? " (signed in offline)" : "");
	return 0;
}

/* A fix for each way the app-client probe can fail. */
static const char *probe_fix(up_err r, const struct up_config *cfg)
{
	switch (r) {
	case UP_ENOTFOUND:
		return "client_id, user_pool_id or endpoint name no app client of this pool: copy "
		       "the app client id and pool id from the Cognito console (App integration)";
	case UP_EPARAM:
		if (up_config_auth_flow(cfg) == UP_FLOW_CUSTOM)
			return "the app client does not allow CUSTOM_AUTH, or the pool has no "
			       "custom-auth triggers: enable ALLOW_CUSTOM_AUTH on it and set the "
			       "pool's Define/Create/VerifyAuthChallenge triggers, or set "
			       "auth_flow = srp";
		if (up_config_auth_flow(cfg) == UP_FLOW_USER_AUTH)
			return "the app client does not allow USER_AUTH: enable ALLOW_USER_AUTH on "
			       "it, or set auth_flow = srp";
		return up_config_auth_flow(cfg) == UP_FLOW_SRP
			   ? "the app client does not allow USER_SRP_AUTH: enable "
			     "ALLOW_USER_SRP_AUTH "
			     "on it, or set auth_flow = password"
			   : "the app client does not allow USER_PASSWORD_AUTH: enable "
			     "ALLOW_USER_PASSWORD_AUTH on it, or set auth_flow = srp";
	case UP_ECONFIG:
		return "the app client has a secret: set client_secret in the configuration file, "
		       "or use an app client without a secret";
	case UP_EPOOLCONFIG:
		return "fix the user pool or app client settings (Lambda triggers, flows) in AWS";
	case UP_EFORBIDDEN:
		return "AWS WAF or a policy blocks this machine: check the pool's web ACL";
	case UP_ELAMBDA:
		return "a Lambda trigger of the pool refused the probe: check its code";
	default:
		return "check endpoint, ca_file, proxy and the network";
	}
}

/*
 * issue 18: sign in as a random name through the configured flow; only a
 * user-level refusal proves that client_id, the pool and the flow work. The
 * answer's Date header tells the clock skew. Returns true on a problem.
 */
static bool probe_client(struct up_ctx *ctx, json_t *j)
{
	const struct up_config *cfg = up_ctx_config(ctx);
	int64_t skew = 0;
	bool have_date = false, bad = false;
	up_err r = up_provider_probe_client(ctx, &skew, &have_date);

	if (r == UP_EDENIED && strstr(up_ctx_detail(ctx), "ecret hash"))
		r = UP_ECONFIG;
	if (opt_json) {
		json_object_set_new(j, "client_ok", json_boolean(r == UP_OK));
		if (r)
			json_object_set_new(j, "client_error", json_string(up_ctx_detail(ctx)));
	} else if (r) {
		char *d = term_safe(up_ctx_detail(ctx));
		printf("App client: sign-in cannot work: %s: %s\n  fix: %s\n", up_strerror(r),
		       d ? d : "", probe_fix(r, cfg));
		free(d);
	} else {
		printf("App client: ok (the pool refused a random user name, as it should)\n");
	}
	bad = r != UP_OK;
	if (have_date) {
		int64_t off = skew < 0 ? -skew : skew;

		if (opt_json) {
			json_object_set_new(j, "clock_skew", json_integer(skew));
		} else if (off > up_config_leeway(cfg)) {
			printf("Clock: the clock of this machine is %lld s %s the pool's (leeway "
			       "%lld s)\n"
			       "  fix: set the time (timedatectl set-ntp true, or chrony)\n",
			       (long long)off, skew > 0 ? "behind" : "ahead of",
			       (long long)up_config_leeway(cfg));
		} else {
			printf("Clock: within %lld s of the pool's\n", (long long)off);
		}
		if (off > up_config_leeway(cfg))
			bad = true;
	}
	return bad;
}

/* issue 24: how UIDs are chosen, and the names the rule refused or would
 * place elsewhere (userpool user renumber moves one). */
static void fleet_status(struct up_ctx *ctx, json_t *j)
{
	const struct up_config *cfg = up_ctx_config(ctx);
	static const char *const uids[] = {"sequential", "hash", "claim"};
	enum up_uid_source us = up_config_uid_source(cfg);
	const char *us_name = (unsigned)us < 3 ? uids[us] : "?";
	const char *gs_name = up_config_gid_source(cfg) == UP_GID_HASH ? "hash" : "sequential";
	struct up_nss_fleet_item *it = NULL;
	json_t *a = j ? json_array() : NULL;
	size_t n = 0;
	up_err r = up_nss_fleet_list(ctx, &it, &n);

	if (j) {
		json_object_set_new(j, "uid_source", json_string(us_name));
		json_object_set_new(j, "gid_source", json_string(gs_name));
		for (size_t i = 0; a && !r && i < n; i++)
			json_array_append_new(
			    a, json_pack("{s:s, s:s, s:I, s:I, s:s}", "name", it[i].name, "kind",
					 it[i].kind, "uid", (json_int_t)it[i].uid, "want",
					 (json_int_t)it[i].want, "detail", it[i].detail));
		json_object_set_new(j, "uid_entries", a);
		up_nss_fleet_list_free(it, n);
		return;
	}
	if (us == UP_UID_CLAIM)
		printf("UIDs: uid_source = claim (uid_claim %s), gid_source = %s\n",
		       up_config_uid_claim(cfg), gs_name);
	else
		printf("UIDs: uid_source = %s, gid_source = %s\n", us_name, gs_name);
	if (r) {
		char *d = term_safe(up_ctx_detail(ctx));
		printf("  cannot read the NSS files: %s\n", d ? d : "");
		free(d);
	}
	for (size_t i = 0; !r && i < n; i++) {
		char *name = term_safe(it[i].name), *d = term_safe(it[i].detail);
		const char *nm = name ? name : "?", *dt = d ? d : "";

		if (strcmp(it[i].kind, "differs") == 0)
			printf(
			    "  differs: %s keeps uid %lld; %s gives %lld (move it: userpool user "
			    "renumber %s)\n",
			    nm, (long long)it[i].uid, dt, (long long)it[i].want, nm);
		else if (strcmp(it[i].kind, "refused") == 0)
			printf("  refused: %s: %s\n", nm, dt);
		else
			printf("  unknown: %s keeps uid %lld: %s\n", nm, (long long)it[i].uid, dt);
		free(name);
		free(d);
	}
	up_nss_fleet_list_free(it, n);
}

/* Offline records by scheme (issue 22): bound to the current TPM key, to
 * another (gone) key, or without the TPM. */
struct tpm_counts {
	int bound, other_key, scrypt;
};

static void tpm_count(struct up_ctx *ctx, const char *keyid, struct tpm_counts *c)
{
	struct up_user_record **recs = NULL;
	char id[17];

	*c = (struct tpm_counts){0};
	if (up_store_user_list(ctx, &recs))
		return;
	for (struct up_user_record **p = recs; *p; p++) {
		const char *s = up_user_record_verifier_scheme(*p, id);

		if (!s || strcmp(s, "pending") == 0)
			continue;
		if (strcmp(s, "tpm1") != 0)
			c->scrypt++;
		else if (keyid[0] && strcmp(id, keyid) == 0)
			c->bound++;
		else
			c->other_key++;
	}
	up_store_user_list_free(recs);
}

static const char *tpm_mode_word(enum up_tpm_mode m)
{
	return m == UP_TPM_YES ? "yes" : m == UP_TPM_NO ? "no" : "auto";
}

/* `userpool status`: the TPM line. 1 when tpm = yes cannot be honoured or
 * records are bound to a key this TPM no longer has. */
static int status_tpm(struct up_ctx *ctx, json_t *j)
{
	struct up_tpm_info ti;
	struct tpm_counts c;
	char why[512] = "";
	up_err r = up_tpm_info(ctx, &ti);

	if (!r && ti.built && !ti.reachable)
		snprintf(why, sizeof(why), "%s", up_ctx_detail(ctx));
	if (r) {
		if (j)
			json_object_set_new(j, "tpm_error", json_string(up_ctx_detail(ctx)));
		else
			printf("TPM: %s: %s\n", up_strerror(r), up_ctx_detail(ctx));
		return 1;
	}
	tpm_count(ctx, ti.keyid, &c);
	if (j) {
		json_object_set_new(
		    j, "tpm",
		    json_pack("{s:s, s:s?, s:b, s:b, s:s?, s:b, s:s, s:b, s:i, s:i, s:i}", "mode",
			      tpm_mode_word(ti.mode), "tcti", ti.tcti, "built", ti.built,
			      "reachable", ti.reachable, "not_reachable_why", why[0] ? why : NULL,
			      "used", ti.used, "key_id", ti.keyid, "key_loads", ti.loads,
			      "records_bound", c.bound, "records_other_key", c.other_key,
			      "records_without_tpm", c.scrypt));
	} else {
		printf("TPM: %s (tpm = %s, %s): %s", ti.used ? "used" : "not used",
		       tpm_mode_word(ti.mode), ti.tcti ? ti.tcti : "",
		       !ti.built      ? "built without TPM support"
		       : ti.reachable ? "reachable"
				      : "not reachable");
		if (ti.keyid[0])
			printf(", machine key %s%s", ti.keyid,
			       ti.loads ? "" : " (this TPM does not load it)");
		if (why[0])
			printf("\n  %s", why);
		printf("\n  offline records: %d bound to the TPM, %d without it%s", c.bound,
		       c.scrypt,
		       c.scrypt && ti.used ? " (bound at their next online sign-in)" : "");
		if (c.other_key)
			printf(", %d bound to a TPM key that is gone (need an online sign-in)",
			       c.other_key);
		printf("\n");
		if (ti.mode == UP_TPM_YES && !ti.used)
			printf("  tpm = yes: no offline record is made until the TPM answers\n");
	}
	return (ti.mode == UP_TPM_YES && !ti.used) || c.other_key ? 1 : 0;
}

static int cmd_status(struct up_ctx *ctx, const char *config)
{
	struct up_jwks_info *info = NULL;
	char *problems = up_config_check(ctx, config, true);
	json_t *j = opt_json ? json_object() : NULL;
	int64_t ms = 0;
	int rc = 0;
	up_err r;

	if (!problems)
		return 1;
	if (opt_json) {
		json_object_set_new(j, "config_problems", json_string(problems));
	} else {
		printf("Configuration (%s):\n", config ? config : UP_DEFAULT_CONFIG);
		if (problems[0])
			printf("%s%s", problems,
			       problems[strlen(problems) - 1] == '\n' ? "" : "\n");
		else
			printf("  ok\n");
	}
	for (const char *l = problems; *l;) {
		if (strncmp(l, "warning: ", 9) != 0)
			rc = 2; /* an error, not only warnings */
		l += strcspn(l, "\n");
		l += *l == '\n';
	}
	free(problems);
	if (geteuid() != 0 && !opt_json)
		printf(
		    "  warning: not running as root: run as root (sudo userpool status) to check "
		    "the root-only configuration and state\n");
	if (!up_ctx_config(ctx)) {
		if (opt_json)
			emit_json(j);
		return rc ? rc : 2;
	}

	r = up_pool_ping(ctx, &ms);
	if (opt_json) {
		json_object_set_new(j, "pool_reachable", json_boolean(r == UP_OK));
		json_object_set_new(j, "pool_ms", json_integer(r ? -1 : ms));
		if (r)
			json_object_set_new(j, "pool_error", json_string(up_ctx_detail(ctx)));
	} else if (r) {
		char *d = term_safe(up_ctx_detail(ctx));
		printf("User pool: %s: %s: %s\n", r == UP_ENOTFOUND ? "not found" : "unreachable",
		       up_strerror(r), d ? d : "");
		if (r == UP_ENOTFOUND)
			printf("  fix: check user_pool_id, region, issuer and jwks_uri\n");
		free(d);
	} else {
		printf("User pool: reachable (%lld ms)\n", (long long)ms);
	}
	if (r && !rc)
		rc = 1;
	if (!r && up_provider_has(ctx, UP_CAP_CLIENT_PROBE) && probe_client(ctx, j) && !rc)
		rc = 1;

	r = up_jwks_info(ctx, &info);
	if (opt_json) {
		json_object_set_new(j, "jwks_fetched_at", json_integer(r ? 0 : info->fetched_at));
		json_object_set_new(j, "jwks_kids", r ? json_array() : strv_json(info->kids));
	} else if (r || !info->fetched_at) {
		printf("JWKS: no cached key set%s%s\n", r ? ": " : "", r ? up_ctx_detail(ctx) : "");
	} else {
		int64_t age = time(NULL) - info->fetched_at;
		printf("JWKS: fetched %lld s ago\n", (long long)age);
		print_strv("key ids", info->kids);
	}
	up_jwks_info_free(info);

	r = up_store_check(ctx);
	if (!r) {
		size_t ntmp = 0;
		/* Left by writers killed mid-write; each goes with the next write
		 * of its file. Not an error, but worth knowing. */
		if (up_store_tmp_files(ctx, &ntmp) == UP_OK) {
			if (opt_json)
				json_object_set_new(j, "stale_temp_files",
						    json_integer((json_int_t)ntmp));
			else if (ntmp)
				printf(
				    "State directory: %zu stale temporary file(s) from interrupted "
				    "writes (removed by the next write or `userpool cache "
				    "purge`)\n",
				    ntmp);
		}
	}
	if (!r) {
		bool pending = false;
		/* A provisioning change killed between its two files: the next
		 * change (any `user add`, or a sign-in) completes it. */
		if (up_nss_journal_pending(ctx, &pending) == UP_OK) {
			if (opt_json)
				json_object_set_new(j, "nss_journal_pending",
						    json_boolean(pending));
			else if (pending)
				printf("NSS files: an interrupted change is pending (completed by "
				       "the next "
				       "`userpool user add` or sign-in)\n");
		}
	}
	if (!r)
		fleet_status(ctx, j);
	if (!r && status_tpm(ctx, j) && !rc)
		rc = 1;
	if (opt_json) {
		json_object_set_new(j, "state_ok", json_boolean(r == UP_OK));
		if (r)
			json_object_set_new(j, "state_error", json_string(up_ctx_detail(ctx)));
		emit_json(j);
	} else if (r) {
		printf("State directory %s: %s: %s\n", up_config_state_dir(up_ctx_config(ctx)),
		       up_strerror(r), up_ctx_detail(ctx));
	} else {
		printf("State directory %s: ok\n", up_config_state_dir(up_ctx_config(ctx)));
	}
	if (r)
		rc = 1;
	return rc;
}

static int cmd_login(struct up_ctx *ctx, const char *user)
{
	struct up_auth *auth = NULL;
	struct up_conv conv;
	char *username = NULL, *password = NULL;
	up_err r;
	int rc = 1;

	r = up_username_map(ctx, user, &username);
	if (r) {
		fail(ctx, "user name", r);
		return 2;
	}
	term_conv(&conv, ctx, NULL);
	if (up_provider_has(ctx, UP_CAP_PASSWORD)) {
		r = term_prompt("Password: ", false, &password);
		if (r)
			goto out;
	}
	r = up_signin_online(ctx, username, password, &conv, &auth);
	if (r) {
		fail(ctx, "sign-in refused", r);
		goto out;
	}
	if (!opt_json)
		printf("Signed in. Verified claims:\n");
	rc = show_claims(auth->claims, auth->mfa, auth->offline, true);
out:
	term_free_secret(password);
	up_auth_free(auth);
	free(username);
	return rc;
}

static int cmd_verify(struct up_ctx *ctx, const char *arg)
{
	enum up_token_kind kind = UP_TOKEN_ANY;
	struct up_claims *claims = NULL;
	char *token = NULL;
	up_err r;
	int rc;

	if (opt_kind) {
		if (strcmp(opt_kind, "id") == 0)
			kind = UP_TOKEN_ID;
		else if (strcmp(opt_kind, "access") == 0)
			kind = UP_TOKEN_ACCESS;
		else if (strcmp(opt_kind, "any") != 0) {
			fprintf(stderr, "userpool: --kind must be id, access or any\n");
			return 2;
		}
	}
	if (strcmp(arg, "-") == 0) {
		size_t cap = 0;
		ssize_t n = getline(&token, &cap, stdin);
		if (n <= 0) {
			free(token);
			fprintf(stderr, "userpool: no token on standard input\n");
			return 2;
		}
		while (n > 0 &&
		       (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' '))
			token[--n] = '\0';
	} else {
		token = strdup(arg);
		if (!token)
			return 1;
	}
	r = up_token_verify(ctx, token, kind, NULL, 0, &claims);
	term_free_secret(token);
	if (r) {
		if (opt_json) {
			emit_json(json_pack("{s:b, s:s, s:s}", "valid", 0, "error", up_strerror(r),
					    "reason", up_ctx_detail(ctx)));
		} else {
			fail(ctx, "token refused", r);
		}
		return 1;
	}
	if (!opt_json)
		printf("Token valid (%s token). Claims:\n",
		       claims->kind == UP_TOKEN_ACCESS ? "access" : "ID");
	rc = show_claims(claims, false, false, false);
	up_claims_free(claims);
	return rc;
}

/* A verifier that an offline sign-in can match: not one the verifier
 * helper is still deriving (issue 21). */
static bool offline_possible(const struct up_user_record *u)
{
	const char *scheme = up_user_record_verifier_scheme(u, NULL);

	return up_user_record_has_verifier(u) && !(scheme && strcmp(scheme, "pending") == 0);
}

static json_t *record_json(const struct up_user_record *u)
{
	char keyid[17];
	const char *scheme = up_user_record_verifier_scheme(u, keyid);

	return json_pack(
	    "{s:s?, s:s?, s:o, s:b, s:I, s:I, s:b, s:s?, s:s?, s:b, s:b}", "username",
	    up_user_record_username(u), "sub", up_user_record_sub(u), "groups",
	    strv_json(up_user_record_groups(u)), "mfa", up_user_record_mfa(u), "last_online",
	    (json_int_t)up_user_record_last_online(u), "offline_failures",
	    (json_int_t)up_user_record_failures(u), "offline_verifier", offline_possible(u),
	    "verifier_scheme", scheme, "tpm_key_id", keyid[0] ? keyid : NULL, "refresh_token_kept",
	    up_user_record_has_refresh_token(u), "offline_totp", up_user_record_has_mfa_secret(u));
}

/* The verifier's scheme for `cache show` (issue 22). */
static void print_scheme(const struct up_user_record *u)
{
	char keyid[17];
	const char *scheme = up_user_record_verifier_scheme(u, keyid);

	if (!up_user_record_has_verifier(u))
		return;
	if (!scheme)
		printf("  %-14s %s\n", "verifier",
		       "malformed (replaced at the next online sign-in)");
	else if (strcmp(scheme, "pending") == 0)
		printf("  %-14s %s\n", "verifier",
		       "being derived by the verifier helper (offline sign-in refused until it is "
		       "written)");
	else if (keyid[0])
		printf("  %-14s %s (bound to the TPM, machine key %s)\n", "verifier", scheme,
		       keyid);
	else
		printf("  %-14s %s (not bound to a TPM)\n", "verifier", scheme);
}

static void record_text(const struct up_user_record *u)
{
	char *un = term_safe(up_user_record_username(u));
	char *sub = term_safe(up_user_record_sub(u));

	printf("%s\n  %-14s %s\n", un ? un : "?", "sub", sub ? sub : "?");
	free(un);
	free(sub);
	print_strv("groups", up_user_record_groups(u));
	print_time("last online", up_user_record_last_online(u));
	printf("  %-14s %s\n  %-14s %lld\n  %-14s %s\n", "second factor",
	       up_user_record_mfa(u) ? "yes" : "no", "offline fails",
	       (long long)up_user_record_failures(u), "offline",
	       offline_possible(u)		? "possible"
	       : up_user_record_has_verifier(u) ? "not yet (verifier pending)"
						: "no verifier");
	printf("  %-14s %s\n", "offline code",
	       up_user_record_has_mfa_secret(u) ? "TOTP secret held (wrapped)"
						: "no TOTP secret held");
	print_scheme(u);
}

static int cmd_cache(struct up_ctx *ctx, int argc, char **argv)
{
	struct up_user_record **recs = NULL, *rec = NULL;
	up_err r;

	if (argc < 1)
		return -1;
	if (strcmp(argv[0], "list") == 0 && argc == 1) {
		json_t *a = opt_json ? json_array() : NULL;
		r = up_store_user_list(ctx, &recs);
		if (r) {
			fail(ctx, "cache list", r);
			json_decref(a);
			return 1;
		}
		for (struct up_user_record **p = recs; *p; p++) {
			if (a) {
				json_array_append_new(a, record_json(*p));
			} else {
				char *un = term_safe(up_user_record_username(*p));
				char when[64] = "never";
				struct tm tm;
				time_t t = (time_t)up_user_record_last_online(*p);
				if (t > 0 && gmtime_r(&t, &tm))
					strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
				printf("%-32s %-17s mfa=%s fails=%lld\n", un ? un : "?", when,
				       up_user_record_mfa(*p) ? "yes" : "no",
				       (long long)up_user_record_failures(*p));
				free(un);
			}
		}
		if (!a && !recs[0])
			printf("(no cached users)\n");
		up_store_user_list_free(recs);
		return a ? emit_json(a) : 0;
	}
	if (strcmp(argv[0], "show") == 0 && argc == 2) {
		r = up_store_user_read(ctx, argv[1], &rec);
		if (r) {
			fail(ctx, argv[1], r);
			return 1;
		}
		if (opt_json)
			emit_json(record_json(rec));
		else
			record_text(rec);
		up_user_record_free(rec);
		return 0;
	}
	if (strcmp(argv[0], "purge") == 0 && (argc == 1 || argc == 2)) {
		if (argc == 2) {
			r = up_store_user_purge(ctx, argv[1]);
			if (r) {
				fail(ctx, argv[1], r);
				return 1;
			}
			printf("Purged %s.\n", argv[1]);
			return 0;
		}
		r = up_store_user_list(ctx, &recs);
		if (r) {
			fail(ctx, "cache purge", r);
			return 1;
		}
		int n = 0, bad = 0;
		for (struct up_user_record **p = recs; *p; p++) {
			const char *un = up_user_record_username(*p);

			if (up_store_user_purge(ctx, un)) {
				fail(ctx, un, UP_ESTATE);
				bad++;
			} else {
				n++;
			}
		}
		up_store_user_list_free(recs);
		printf("Purged %d cached user%s.\n", n, n == 1 ? "" : "s");
		return bad ? 1 : 0;
	}
	return -1;
}

static void quiet_log(void *ud, int priority, const char *msg)
{
	(void)ud;
	(void)priority;
	(void)msg;
}

static up_err unbind(struct up_ctx *ctx, const char *name)
{
	up_err r = up_nss_user_unbind(ctx, name);

	if (!r) {
		r = up_store_user_purge(ctx, name);
		if (r == UP_ENOENT)
			r = UP_OK;
	}
	return r;
}

static int add_one(struct up_ctx *ctx, const char *name, const char *sub, int64_t uid_want)
{
	uint32_t uid = 0;
	const struct up_config *cfg = up_ctx_config(ctx);
	struct up_nss_ident id = {
	    .issuer = sub ? up_config_issuer(cfg) : NULL, .sub = sub, .uid = uid_want, .gid = -1};
	up_err r = up_nss_user_provision(ctx, name, &id, &uid);
	char *safe = term_safe(name);

	/* The name is the account's from now on (as its first sign-in would
	 * bind it): status and user renumber know its hash, and another
	 * account signing in with the name is refused. */
	if (!r && sub)
		r = up_nss_user_bind(ctx, name, id.issuer, sub);

	if (r) {
		char what[300];

		snprintf(what, sizeof(what), "user add %s: refused", safe ? safe : "?");
		fail(ctx, what, r);
	} else {
		printf("%s: uid %u\n", safe ? safe : "?", uid);
	}
	free(safe);
	return r ? 1 : 0;
}

/* A UID given on the command line: decimal digits only, no sign. */
static bool parse_uid(const char *s, int64_t *ret)
{
	char *end = NULL;
	long long v;

	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || v > 4294967294LL)
		return false;
	*ret = v;
	return true;
}

/* user add NAME [--sub SUB] [--uid N]: the account's sub (uid_source =
 * hash), or an explicit UID (what uid_source = claim would give). */
static int add_with_options(struct up_ctx *ctx, int argc, char **argv)
{
	const char *sub = NULL;
	int64_t uid = -1;

	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			goto usage;
		if (strcmp(argv[i], "--sub") == 0 && !sub) {
			sub = argv[i + 1];
		} else if (strcmp(argv[i], "--uid") == 0 && uid < 0) {
			if (!parse_uid(argv[i + 1], &uid)) {
				fprintf(stderr, "userpool: user add --uid: not a UID: %s\n",
					argv[i + 1]);
				return 2;
			}
		} else {
			goto usage;
		}
	}
	return add_one(ctx, argv[0], sub, uid);
usage:
	fprintf(stderr, "userpool: user add NAME [--sub SUB] [--uid N] takes one name\n");
	return 2;
}

/*
 * user add NAME... | --from-file FILE (one name a line, # comments). Every
 * name is tried; the exit status is 1 when any was refused (issue 18).
 * --group cannot work with an app client: ListUsersInGroup is an admin API
 * that needs IAM credentials, so the members come from a file.
 */
static int cmd_user_add(struct up_ctx *ctx, int argc, char **argv)
{
	int bad = 0, n = 0;

	if (strcmp(argv[0], "--group") == 0 || strncmp(argv[0], "--group=", 8) == 0) {
		fprintf(stderr,
			"userpool: user add --group: an app client cannot list a group's members "
			"(ListUsersInGroup is an admin API that needs AWS credentials). List them "
			"where you have those, e.g.\n  aws cognito-idp list-users-in-group "
			"--user-pool-id POOL --group-name GROUP --query 'Users[].Username' "
			"--output text | tr '\\t' '\\n' >members\nthen run: userpool user add "
			"--from-file members\n");
		return 2;
	}
	if (strcmp(argv[0], "--from-file") == 0) {
		char line[512];
		FILE *f;

		if (argc != 2) {
			fprintf(stderr, "userpool: user add --from-file FILE\n");
			return 2;
		}
		f = fopen(argv[1], "re");
		if (!f) {
			perror(argv[1]);
			return 1;
		}
		/* bounded: at most 100000 names */
		while (n < 100000 && fgets(line, sizeof(line), f)) {
			char *p = line, *e;

			while (*p == ' ' || *p == '\t')
				p++;
			e = p + strcspn(p, "\r\n");
			while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*e = '\0';
			if (!*p || *p == '#')
				continue;
			n++;
			bad |= add_one(ctx, p, NULL, -1);
		}
		fclose(f);
		return bad;
	}
	if (argc >= 2 && argv[0][0] != '-' && strncmp(argv[1], "--", 2) == 0)
		return add_with_options(ctx, argc, argv);
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '-') {
			fprintf(stderr, "userpool: user add NAME [--sub SUB] [--uid N] takes one "
					"name\n");
			return 2;
		}
		bad |= add_one(ctx, argv[i], NULL, -1);
	}
	return bad;
}

/* A path for a shell command line: as it is, or in single quotes. */
static void print_shell_word(const char *s)
{
	if (s[0] &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._@-+") ==
		strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

/*
 * user renumber NAME [--uid N] (issue 24): move one entry to the UID the
 * current uid_source gives it, or to N. The files keep their owner: that
 * is the administrator's job, and the commands for it are printed.
 */
static int cmd_user_renumber(struct up_ctx *ctx, int argc, char **argv)
{
	struct up_nss_move mv;
	int64_t uid = -1;
	char *name, *home;
	up_err r;

	if (argc != 1 && !(argc == 3 && strcmp(argv[1], "--uid") == 0)) {
		fprintf(stderr, "userpool: user renumber NAME [--uid N]\n");
		return 2;
	}
	if (argc == 3 && !parse_uid(argv[2], &uid)) {
		fprintf(stderr, "userpool: user renumber --uid: not a UID: %s\n", argv[2]);
		return 2;
	}
	r = up_nss_user_renumber(ctx, argv[0], uid, &mv);
	if (r) {
		fail(ctx, "user renumber: refused", r);
		return 1;
	}
	name = term_safe(argv[0]);
	home = term_safe(mv.home);
	if (mv.new_uid == mv.old_uid) {
		printf("%s already has uid %lld: nothing to move.\n", name ? name : "?",
		       (long long)mv.old_uid);
	} else {
		printf(
		    "Renumbered %s: uid %lld -> %lld, gid %lld -> %lld (group memberships kept).\n"
		    "Its files still belong to uid %lld: changing their owner is the "
		    "administrator's job\n(userpool never touches them). With %s signed out, "
		    "run as root:\n  chown -hR --from=%lld %lld ",
		    name ? name : "?", (long long)mv.old_uid, (long long)mv.new_uid,
		    (long long)mv.old_gid, (long long)mv.new_gid, (long long)mv.old_uid,
		    name ? name : "?", (long long)mv.old_uid, (long long)mv.new_uid);
		print_shell_word(home ? home : "?");
		if (mv.new_gid != mv.old_gid) {
			printf("\n  chown -hR --from=:%lld :%lld ", (long long)mv.old_gid,
			       (long long)mv.new_gid);
			print_shell_word(home ? home : "?");
		}
		printf("\n(on a shared home, once, on the file server); files elsewhere: "
		       "find / -xdev -uid %lld\n",
		       (long long)mv.old_uid);
	}
	free(name);
	free(home);
	free(mv.home);
	return 0;
}

/* The options taken before and after the command (-c, -j, -k): true when c
 * was one of them. */
static bool common_opt(int c, const char **config)
{
	switch (c) {
	case 'c':
		*config = optarg;
		return true;
	case 'j':
		opt_json = true;
		return true;
	case 'k':
		opt_kind = optarg;
		return true;
	default:
		return false;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
	    {"kind", required_argument, NULL, 'k'},   {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *cmd;
	struct up_ctx *ctx = NULL;
	int c, rc = 2;
	up_err r;

	setlocale(LC_ALL, "");
	while ((c = getopt_long(argc, argv, "+c:jk:hV", opts, NULL)) != -1) {
		if (common_opt(c, &config))
			continue;
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == 'V') {
			printf("userpool %s\n", PACKAGE_VERSION);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	/* Options may also follow the command (userpool verify --kind id TOKEN). */
	/* "user add" takes its own options (--from-file, --group): stop there. */
	while ((c = getopt_long(argc, argv, strcmp(cmd, "user") == 0 ? "+c:jk:" : "c:jk:", opts,
				NULL)) != -1) {
		if (!common_opt(c, &config)) {
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	if (up_ctx_new(&ctx))
		return 1;
	/* status lists the configuration's warnings itself: once (issue 18). */
	up_ctx_set_logger(ctx, strcmp(cmd, "status") == 0 ? quiet_log : term_log, prog);
	r = up_ctx_load_config(ctx, config, 0, NULL, true);
	up_ctx_set_logger(ctx, term_log, prog);
	if (strcmp(cmd, "status") == 0 && argc == 0) {
		rc = cmd_status(ctx, config);
		goto out;
	}
	if (r) {
		fail(ctx, "configuration", r);
		rc = 2;
		goto out;
	}
	rc = -1;
	if (strcmp(cmd, "login") == 0 && argc == 1)
		rc = cmd_login(ctx, argv[0]);
	else if (strcmp(cmd, "verify") == 0 && argc == 1)
		rc = cmd_verify(ctx, argv[0]);
	else if (strcmp(cmd, "cache") == 0)
		rc = cmd_cache(ctx, argc, argv);
	else if (strcmp(cmd, "jwks") == 0 && argc == 1 && strcmp(argv[0], "refresh") == 0) {
		r = up_jwks_refresh(ctx);
		if (r)
			fail(ctx, "jwks refresh", r);
		else
			printf("JWKS refreshed.\n");
		rc = r ? 1 : 0;
	} else if (strcmp(cmd, "user") == 0 && argc >= 2 && strcmp(argv[0], "add") == 0) {
		rc = cmd_user_add(ctx, argc - 1, argv + 1);
	} else if (strcmp(cmd, "user") == 0 && argc == 2 && strcmp(argv[0], "del") == 0) {
		r = up_nss_user_del(ctx, argv[1]);
		/* The name is free for another account: binding and record go. */
		if (!r)
			r = unbind(ctx, argv[1]);
		if (r)
			fail(ctx, "user del", r);
		else
			printf("Removed %s (its UID is never reused).\n", argv[1]);
		rc = r ? 1 : 0;
	} else if (strcmp(cmd, "user") == 0 && argc >= 2 && strcmp(argv[0], "renumber") == 0) {
		rc = cmd_user_renumber(ctx, argc - 1, argv + 1);
	} else if (strcmp(cmd, "user") == 0 && argc == 2 && strcmp(argv[0], "rebind") == 0) {
		/* A new person behind the name: new UID (never the old one), no
		 * binding until their first sign-in, no cached record. */
		r = up_nss_user_del(ctx, argv[1]);
		if (r == UP_ENOENT)
			r = UP_OK;
		if (!r)
			r = unbind(ctx, argv[1]);
		if (r) {
			fail(ctx, "user rebind", r);
			rc = 1;
		} else {
			rc = add_one(ctx, argv[1], NULL, -1);
		}
	}
	if (rc < 0) {
		usage(stderr);
		rc = 2;
	}
out:
	up_ctx_free(ctx);
	return rc;
}
