/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "poolctl.h"

/*
 * lib/signin.c: the sign-in policy of DESIGN §5 against the real test pool
 * over HTTPS. "Unreachable" is made with the pool's fault injection (HTTP
 * 503, dropped connections) or by stopping it; every offline success is
 * preceded by the online sign-in that filled the cache.
 *
 * UP_TEST_FILTER (a cmocka test-name pattern) picks tests; the valgrind run
 * uses it to keep the number of scrypt computations small.
 */

static struct t_pool *pool;
static int user_seq;

struct fx {
	char *state;
	struct t_log log;
	int64_t fixed_now; /* 0: the real clock (online sign-ins check iat) */
	struct up_ctx *ctx;
	char user[64];
	char info[1024]; /* what conv->info showed */
};

static up_err conv_prompt(void *ud, const char *text, bool echo, char **ret)
{
	struct fx *f = ud;
	char code[9];

	(void)echo;
	if (strcmp(text, UP_PROMPT_NEW_PASSWORD) == 0 || strcmp(text, UP_PROMPT_RETYPE_PASSWORD) == 0) {
		*ret = strdup("Pw-chosen-77");
		return *ret ? UP_OK : UP_ENOMEM;
	}
	if (strcmp(text, UP_PROMPT_CODE) != 0)
		fail_msg("unexpected prompt: %s", text);
	t_pool_totp_code(pool, f->user, code);
	*ret = strdup(code);
	return *ret ? UP_OK : UP_ENOMEM;
}

static up_err conv_info(void *ud, const char *text)
{
	struct fx *f = ud;

	snprintf(f->info + strlen(f->info), sizeof(f->info) - strlen(f->info), "%s\n", text);
	return UP_OK;
}

static struct up_conv conv_for(struct fx *f)
{
	struct up_conv c = {.prompt = conv_prompt, .info = conv_info, .error = conv_info, .ud = f};
	return c;
}

static int group_setup(void **state)
{
	json_t *j;

	(void)state;
	pool = t_pool_start(NULL);
	/* Most tests want no second factor from the pool. */
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OFF");
	json_decref(j);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	t_pool_stop(pool);
	pool = NULL;
	return 0;
}

static int64_t fx_clock(void *ud)
{
	struct fx *f = ud;

	return f->fixed_now ? f->fixed_now : (int64_t)time(NULL);
}

static struct up_ctx *new_ctx(struct fx *f, const char *extra)
{
	char *cfg = t_pool_config(pool, f->state, extra);
	char *dir = t_mkdtemp();
	struct up_ctx *ctx = t_ctx_with_config(dir, cfg, &f->log, NULL);

	up_ctx_set_clock(ctx, fx_clock, f);

	t_rmtree(dir);
	free(dir);
	free(cfg);
	return ctx;
}

/* A fresh state dir, a fresh user (password "Pw-<user>"), mfa optional. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->state = t_state_dir();
	snprintf(f->user, sizeof(f->user), "user%d-%d", (int)getpid(), ++user_seq);
	t_pool_user(pool, f->user, "Pw-secret-1", NULL);
	f->ctx = new_ctx(f, "mfa = optional\noffline_max_age = 1d\noffline_max_failures = 3\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	t_pool_clear_faults(pool);
	up_ctx_free(f->ctx);
	t_rmtree(f->state);
	free(f->state);
	free(f);
	return 0;
}

static void unreachable(void)
{
	t_pool_fault(pool, "{s:s, s:s, s:i}", "action", "status", "match", "InitiateAuth", "code",
		     503);
}

static up_err signin(struct fx *f, const char *password, struct up_auth **ret)
{
	struct up_conv c = conv_for(f);

	*ret = NULL;
	f->info[0] = '\0';
	t_log_reset(&f->log);
	return up_signin(f->ctx, f->user, password, &c, ret);
}

/* Sign in and expect `want`; on success return whether it was offline. */
static bool expect_signin(struct fx *f, const char *password, up_err want)
{
	struct up_auth *auth = NULL;
	up_err r = signin(f, password, &auth);
	bool offline;

	if (r != want)
		fail_msg("sign-in of %s: got %s (%s), expected %s\nlog:\n%s", f->user,
			 up_strerror(r), up_ctx_detail(f->ctx), up_strerror(want), f->log.buf);
	if (r) {
		assert_null(auth);
		return false;
	}
	assert_non_null(auth);
	offline = auth->offline;
	up_auth_free(auth);
	return offline;
}

static struct up_user_record *record(struct fx *f)
{
	struct up_user_record *rec = NULL;

	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_OK);
	return rec;
}

/* ---------------------------------------------------------------------- */

static void test_online_then_offline(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;
	struct up_auth *auth = NULL;
	int64_t before = (int64_t)time(NULL), last;
	char *sub;

	/* Online: the entry is written with everything the policy needs. */
	assert_int_equal(signin(f, "Pw-secret-1", &auth), UP_OK);
	assert_false(auth->offline);
	assert_false(auth->mfa);
	assert_non_null(auth->access_token);
	sub = strdup(auth->claims->sub);
	up_auth_free(auth);
	rec = record(f);
	assert_string_equal(rec->sub, sub);
	assert_string_equal(rec->issuer, pool->issuer);
	assert_string_equal(rec->client_id, pool->client_id);
	assert_non_null(rec->verifier);
	assert_int_equal(strncmp(rec->verifier, "scrypt2$8192$8$10$", 18), 0);
	assert_non_null(rec->refresh_token); /* kept for the account phase (issue 16 item 3) */
	assert_false(rec->mfa);
	last = rec->last_online;
	assert_true(last >= before && last <= (int64_t)time(NULL));
	assert_int_equal(rec->failures, 0);
	up_user_record_free(rec);

	/* Unreachable (HTTP 503): offline sign-in from the cache. */
	unreachable();
	f->fixed_now = last + 3600;
	assert_int_equal(signin(f, "Pw-secret-1", &auth), UP_OK);
	assert_true(auth->offline);
	assert_false(auth->mfa);
	assert_null(auth->access_token);
	assert_non_null(auth->id_token);
	assert_string_equal(auth->claims->sub, sub);
	assert_non_null(strstr(f->info, "Signed in offline"));
	assert_true(t_log_contains(&f->log, "5 offline sign-in for ")); /* LOG_NOTICE */
	assert_false(t_log_contains(&f->log, "Pw-secret-1"));
	up_auth_free(auth);
	/* last_online is not moved by an offline sign-in. */
	rec = record(f);
	assert_int_equal(rec->last_online, last);
	up_user_record_free(rec);

	/* A wrong password offline is a plain denial, counted. */
	assert_int_equal(signin(f, "Pw-secret-2", &auth), UP_EDENIED);
	rec = record(f);
	assert_int_equal(rec->failures, 1);
	up_user_record_free(rec);
	/* A good one clears the count. */
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	assert_int_equal(rec->failures, 0);
	up_user_record_free(rec);

	/* offline = no: the unreachable error stands. */
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline = no\n");
	expect_signin(f, "Pw-secret-1", UP_ESERVER);

	/* The pool stopped for real (connection refused): offline again. */
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\n");
	t_pool_clear_faults(pool);
	t_pool_fault(pool, "{s:s, s:s}", "action", "drop", "match", "InitiateAuth");
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));

	/* mfa = required now: this entry came from a sign-in without a second
	 * factor, so it does not sign in offline. */
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = required\n");
	expect_signin(f, "Pw-secret-1", UP_ENET);
	assert_true(t_log_contains(&f->log, "without a second factor"));
	free(sub);
}

static void test_pool_stopped(void **state)
{
	struct fx *f = *state;
	struct t_pool *own = t_pool_start(NULL);
	json_t *j = t_pool_admin(own, "set_pool_mfa", "{s:s}", "mfa", "OFF");
	char *cfg, *dir;

	json_decref(j);
	t_pool_user(own, "stopme", "Pw-stop-1", NULL);
	cfg = t_pool_config(own, f->state, "mfa = optional\n");
	dir = t_mkdtemp();
	up_ctx_free(f->ctx);
	f->ctx = t_ctx_with_config(dir, cfg, &f->log, NULL);
	free(cfg);
	snprintf(f->user, sizeof(f->user), "stopme");
	assert_false(expect_signin(f, "Pw-stop-1", UP_OK));
	/* The CA file goes with the pool's directory: keep a copy. */
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "cp %s %s/ca.pem", own->ca_file, dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->ctx->cfg->ca_file);
	assert_true(asprintf(&f->ctx->cfg->ca_file, "%s/ca.pem", dir) > 0);
	t_pool_stop(own);

	assert_true(expect_signin(f, "Pw-stop-1", UP_OK));
	expect_signin(f, "Pw-stop-2", UP_EDENIED);
	t_rmtree(dir);
	free(dir);
}

static void test_offline_max_age(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;
	int64_t t0;

	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	t0 = rec->last_online;
	up_user_record_free(rec);
	unreachable();
	/* Exactly offline_max_age (1d) later: still fine, even though the
	 * cached ID token expired long ago and the JWKS cache is stale. */
	f->fixed_now = t0 + 86400;
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
	/* One second more: too old; the caller sees the unreachable error. */
	f->fixed_now = t0 + 86401;
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	assert_true(t_log_contains(&f->log, "offline_max_age"));
	assert_non_null(strstr(up_ctx_detail(f->ctx), "offline sign-in not possible"));
	/* A last_online in the future (clock set back) is not trusted either. */
	f->fixed_now = t0 - 3600;
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	assert_true(t_log_contains(&f->log, "future"));
}

static void test_lockout(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;

	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	unreachable();
	/* offline_max_failures = 3 */
	expect_signin(f, "wrong-1", UP_EDENIED);
	expect_signin(f, "wrong-2", UP_EDENIED);
	expect_signin(f, "wrong-3", UP_EDENIED);
	assert_true(t_log_contains(&f->log, "delayed"));
	/* Locked: even the right password, and nothing more is counted. */
	expect_signin(f, "Pw-secret-1", UP_ELOCKED);
	expect_signin(f, "wrong-4", UP_ELOCKED);
	rec = record(f);
	assert_int_equal(rec->failures, 3);
	up_user_record_free(rec);
	/* A new process (context) sees the same lock: it is on disk. */
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline_max_failures = 3\n");
	expect_signin(f, "Pw-secret-1", UP_ELOCKED);

	/* The next online sign-in resets it. */
	t_pool_clear_faults(pool);
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	assert_int_equal(rec->failures, 0);
	up_user_record_free(rec);
	unreachable();
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
}

/* Issue 16 item 6: failures count per requesting uid, and the delay they
 * cause decays (30 s doubling, capped at 15 minutes). */
static void test_lockout_per_requester(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;
	const int64_t attacker = 1001, victim = 200123;
	int64_t t0;
	char pw[32];

	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	unreachable();
	t0 = (int64_t)time(NULL);
	f->fixed_now = t0;
	/* 12 guesses of another local user: 3 counted, then delayed */
	up_ctx_set_requester(f->ctx, attacker);
	for (int i = 0; i < 12; i++) {
		snprintf(pw, sizeof(pw), "wrong-%d", i);
		expect_signin(f, pw, i < 3 ? UP_EDENIED : UP_ELOCKED);
	}
	rec = record(f);
	assert_int_equal(rec->n_fails, 1);
	assert_int_equal(rec->fails[0].uid, attacker);
	assert_int_equal(rec->fails[0].count, 3);
	assert_int_equal(rec->failures, 3);
	up_user_record_free(rec);
	/* the victim's own attempt is not blocked, and leaves the attacker's count */
	up_ctx_set_requester(f->ctx, victim);
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	assert_int_equal(rec->n_fails, 1);
	assert_int_equal(rec->fails[0].count, 3);
	up_user_record_free(rec);
	/* the attacker is delayed even with the right password ... */
	up_ctx_set_requester(f->ctx, attacker);
	expect_signin(f, "Pw-secret-1", UP_ELOCKED);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "requester uid 1001 delayed 30 s more"));
	/* ... until the delay expires: 30 s, then 60 s after the next failure */
	f->fixed_now = t0 + 29;
	expect_signin(f, "wrong-x", UP_ELOCKED);
	f->fixed_now = t0 + 31;
	expect_signin(f, "wrong-y", UP_EDENIED);
	f->fixed_now = t0 + 31 + 59;
	expect_signin(f, "wrong-z", UP_ELOCKED);
	f->fixed_now = t0 + 31 + 61;
	expect_signin(f, "wrong-z", UP_EDENIED); /* 5 failures: next delay 120 s */
	/* the cap: after many more failures the delay is 15 minutes */
	for (int i = 0; i < 6; i++) {
		f->fixed_now += 1000;
		expect_signin(f, "wrong-w", UP_EDENIED);
	}
	rec = record(f);
	assert_int_equal(rec->fails[0].count, 11);
	up_user_record_free(rec);
	f->fixed_now += 899;
	expect_signin(f, "Pw-secret-1", UP_ELOCKED);
	f->fixed_now += 2;
	/* a success clears this requester's count */
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	assert_int_equal(rec->n_fails, 0);
	assert_int_equal(rec->failures, 0);
	up_user_record_free(rec);

	/* at most UP_MAX_REQUESTERS are remembered; the oldest goes */
	for (int i = 0; i < UP_MAX_REQUESTERS + 1; i++) {
		f->fixed_now++;
		up_ctx_set_requester(f->ctx, 5000 + i);
		expect_signin(f, "wrong-many", UP_EDENIED);
	}
	rec = record(f);
	assert_int_equal(rec->n_fails, UP_MAX_REQUESTERS);
	assert_int_equal(rec->failures, UP_MAX_REQUESTERS);
	for (size_t i = 0; i < rec->n_fails; i++)
		assert_true(rec->fails[i].uid != 5000);
	up_user_record_free(rec);
	/* a new process reads the counts back from disk */
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline_max_age = 1d\noffline_max_failures = 1\n");
	up_ctx_set_requester(f->ctx, 5000 + UP_MAX_REQUESTERS);
	expect_signin(f, "Pw-secret-1", UP_ELOCKED);
	up_ctx_set_requester(f->ctx, 5000);
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
}

static void test_disabled_and_deleted_purge(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec = NULL;
	json_t *j;

	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	j = t_pool_admin(pool, "disable_user", "{s:s}", "username", f->user);
	json_decref(j);
	expect_signin(f, "Pw-secret-1", UP_EDISABLED);
	assert_true(t_log_contains(&f->log, "purged"));
	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_ENOENT);
	/* ... and a later offline attempt finds nothing. */
	unreachable();
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	assert_true(t_log_contains(&f->log, "no cached entry"));

	/* Same for a user the pool no longer has. */
	t_pool_clear_faults(pool);
	j = t_pool_admin(pool, "enable_user", "{s:s}", "username", f->user);
	json_decref(j);
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	j = t_pool_admin(pool, "delete_user", "{s:s}", "username", f->user);
	json_decref(j);
	expect_signin(f, "Pw-secret-1", UP_ENOUSER);
	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_ENOENT);
}

static void test_definitive_answer_wins(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;
	char *old_verifier;
	json_t *j;

	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	/* The pool now says the old password is wrong; the cache would match
	 * it, but a definitive answer is never overridden. */
	j = t_pool_admin(pool, "set_password", "{s:s, s:s}", "username", f->user, "password",
			 "Pw-secret-new");
	json_decref(j);
	rec = record(f);
	old_verifier = strdup(rec->verifier);
	up_user_record_free(rec);
	expect_signin(f, "Pw-secret-1", UP_EDENIED);
	assert_false(t_log_contains(&f->log, "offline sign-in for"));
	rec = record(f); /* not purged, nothing counted */
	assert_int_equal(rec->failures, 0);
	/* The verifier derived while the pool was asked (issue 21) is thrown
	 * away with the refusal: the record keeps the one it had. */
	assert_string_equal(rec->verifier, old_verifier);
	free(old_verifier);
	up_user_record_free(rec);

	/* Other definitive errors neither: a malformed answer (not 5xx). */
	t_pool_fault(pool, "{s:s, s:s}", "action", "nonjson", "match", "InitiateAuth");
	struct up_auth *auth = NULL;
	up_err r = signin(f, "Pw-secret-1", &auth);
	assert_false(up_err_unreachable(r));
	assert_int_not_equal(r, UP_OK);
	assert_null(auth);
	t_pool_clear_faults(pool);

	/* The new password online replaces the verifier: offline takes it. */
	assert_false(expect_signin(f, "Pw-secret-new", UP_OK));
	unreachable();
	expect_signin(f, "Pw-secret-1", UP_EDENIED);
	assert_true(expect_signin(f, "Pw-secret-new", UP_OK));
}

/* Issue 16 item 2: a pool name deleted and re-created for another person
 * (another sub) is refused, even after the purge of the cached record,
 * until it is re-bound; the re-bound name gets a new UID, never the old. */
static void test_recycled_name(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec = NULL;
	uint32_t uid1 = 0, uid2 = 0;
	char *old_sub;
	json_t *j;

	assert_int_equal(up_nss_user_add(f->ctx, f->user, &uid1), UP_OK);
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	old_sub = strdup(rec->sub);
	up_user_record_free(rec);

	/* Deleted in the pool: the sign-in purges the record... */
	j = t_pool_admin(pool, "delete_user", "{s:s}", "username", f->user);
	json_decref(j);
	expect_signin(f, "Pw-secret-1", UP_ENOUSER);
	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_ENOENT);

	/* ... and a new account of that name is refused all the same. */
	t_pool_user(pool, f->user, "Pw-secret-2", NULL);
	expect_signin(f, "Pw-secret-2", UP_ESUBCHANGED);
	assert_true(t_log_contains(&f->log, "bound to another account (sub changed): run "
					    "userpool user rebind"));
	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_ENOENT);
	expect_signin(f, "Pw-secret-2", UP_ESUBCHANGED);

	/* What `userpool user rebind` does: a new UID, then the new binding. */
	assert_int_equal(up_nss_user_del(f->ctx, f->user), UP_OK);
	assert_int_equal(up_nss_user_unbind(f->ctx, f->user), UP_OK);
	assert_int_equal(up_nss_user_add(f->ctx, f->user, &uid2), UP_OK);
	assert_true(uid2 != uid1);
	assert_false(expect_signin(f, "Pw-secret-2", UP_OK));
	rec = record(f);
	assert_string_not_equal(rec->sub, old_sub);
	up_user_record_free(rec);
	free(old_sub);
}

static void test_bound_entry(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;
	char *path, hex[65], key[512];

	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	unreachable();

	/* The entry's sub changed (but the token still names the old one). */
	rec = record(f);
	free(rec->sub);
	rec->sub = strdup("00000000-0000-0000-0000-000000000000");
	assert_int_equal(up_store_user_write(f->ctx, rec), UP_OK);
	up_user_record_free(rec);
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	assert_true(t_log_contains(&f->log, "another sub"));

	/* Back online: another account's entry is refused, never replaced
	 * (issue 16 item 2), until the administrator re-binds the name. */
	t_pool_clear_faults(pool);
	expect_signin(f, "Pw-secret-1", UP_ESUBCHANGED);
	assert_true(t_log_contains(&f->log, "bound to another account (sub changed)"));
	assert_int_equal(up_store_user_purge(f->ctx, f->user), UP_OK);
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	unreachable();
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));

	/* A cached token that was tampered with does not verify offline. */
	rec = record(f);
	char *dot = strrchr(rec->id_token, '.');
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	assert_int_equal(up_store_user_write(f->ctx, rec), UP_OK);
	up_user_record_free(rec);
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	assert_true(t_log_contains(&f->log, "no longer verifies"));

	/* An entry written for another client (same issuer, same file name)
	 * is not this client's. */
	t_pool_clear_faults(pool);
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	unreachable();
	snprintf(key, sizeof(key), "%s\n%s", pool->issuer, f->user);
	assert_int_equal(up_sha256_hex(key, strlen(key), hex), UP_OK);
	assert_true(asprintf(&path, "%s/users/%s.json", f->state, hex) > 0);
	char *cmd = NULL;
	assert_true(asprintf(&cmd,
			     "sed -i 's/\"client_id\":\"[^\"]*\"/\"client_id\":\"other\"/' %s",
			     path) > 0);
	assert_int_equal(system(cmd), 0);
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	assert_true(t_log_contains(&f->log, "another client_id"));
	free(cmd);
	free(path);
}

static void test_mfa_required(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec = NULL;
	json_t *j;

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = required\n");
	/* Pool MFA OFF: the pool signs the user in without a second factor. */
	expect_signin(f, "Pw-secret-1", UP_ENOMFA);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "run userpool-enroll"));
	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_ENOENT);
	/* OPTIONAL with no authenticator enrolled: the same. */
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OPTIONAL");
	json_decref(j);
	expect_signin(f, "Pw-secret-1", UP_ENOMFA);
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OFF");
	json_decref(j);
	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_ENOENT);
}

static void test_mfa_then_offline(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;
	struct up_auth *auth = NULL;
	json_t *j;

	free(t_pool_enable_totp(pool, f->user));
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OPTIONAL");
	json_decref(j);
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = required\n");
	assert_int_equal(signin(f, "Pw-secret-1", &auth), UP_OK);
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OFF");
	json_decref(j);
	assert_true(auth->mfa);
	assert_false(auth->offline);
	up_auth_free(auth);
	rec = record(f);
	assert_true(rec->mfa);
	up_user_record_free(rec);

	/* Issue 16 item 5: the second factor is not dropped offline. No TOTP
	 * secret is held locally, so offline_mfa = require (the default)
	 * means no offline sign-in: the unreachable error stands. */
	unreachable();
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	assert_true(t_log_contains(&f->log, "offline_mfa = require"));
	assert_null(strstr(f->info, "Signed in offline"));

	/* offline_mfa = skip: the administrator's explicit choice of the
	 * password only. */
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = required\noffline_mfa = skip\n");
	assert_int_equal(signin(f, "Pw-secret-1", &auth), UP_OK);
	assert_true(auth->offline);
	assert_false(auth->mfa);
	up_auth_free(auth);
}

/* Issue 16 item 5 (b): once the pool answered (it asked for the code), a
 * dropped connection is not "unreachable": no offline sign-in, even with
 * offline_mfa = skip. */
static void test_no_fallback_after_challenge(void **state)
{
	struct fx *f = *state;
	struct up_auth *auth = NULL;
	json_t *j;

	free(t_pool_enable_totp(pool, f->user));
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OPTIONAL");
	json_decref(j);
	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = required\noffline_mfa = skip\n");
	assert_int_equal(signin(f, "Pw-secret-1", &auth), UP_OK);
	assert_true(auth->mfa);
	up_auth_free(auth);

	/* The pool answers InitiateAuth with the challenge; the connection
	 * drops when the code is sent. */
	t_pool_fault(pool, "{s:s, s:s}", "action", "drop", "match", "RespondToAuthChallenge");
	expect_signin(f, "Pw-secret-1", UP_ENET);
	assert_true(t_log_contains(&f->log, "no offline fallback"));
	assert_null(strstr(f->info, "Signed in offline"));
	/* A 503 after the challenge: the same. */
	t_pool_clear_faults(pool);
	t_pool_fault(pool, "{s:s, s:s, s:i}", "action", "status", "match",
		     "RespondToAuthChallenge", "code", 503);
	expect_signin(f, "Pw-secret-1", UP_ESERVER);
	/* Before any answer (InitiateAuth dropped) the fallback still works
	 * under offline_mfa = skip: the flag is per sign-in. */
	t_pool_clear_faults(pool);
	t_pool_fault(pool, "{s:s, s:s}", "action", "drop", "match", "InitiateAuth");
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OFF");
	json_decref(j);
}

/* The same policy for provider = oidc (ROPC at the pool's OpenID Provider). */
static void test_oidc_offline(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;
	char *cfg = NULL, *dir = t_mkdtemp();

	assert_true(asprintf(&cfg,
			     "provider = oidc\nissuer = %soidc\nclient_id = %s\n"
			     "auth_flow = password\nca_file = %s\nstate_dir = %s\n"
			     "mfa = optional\noffline_mfa = skip\n",
			     pool->url, pool->client_id, pool->ca_file, f->state) > 0);
	/* ROPC with otp_mode = prompt always asks for a code. */
	free(t_pool_enable_totp(pool, f->user));
	up_ctx_free(f->ctx);
	f->ctx = t_ctx_with_config(dir, cfg, &f->log, NULL);
	up_ctx_set_clock(f->ctx, fx_clock, f);
	free(cfg);
	t_rmtree(dir);
	free(dir);

	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	assert_non_null(rec->verifier);
	up_user_record_free(rec);
	t_pool_fault(pool, "{s:s, s:s, s:i}", "action", "status", "match", "/oidc/token", "code",
		     502);
	assert_true(expect_signin(f, "Pw-secret-1", UP_OK));
	expect_signin(f, "Pw-secret-2", UP_EDENIED);
}

static void test_refresh_token_kept_without_verifier(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;

	up_ctx_free(f->ctx);
	/* offline = no: no verifier either (no scrypt when it cannot be used). */
	f->ctx = new_ctx(f, "mfa = optional\noffline = no\nrevoke_on_close = yes\n");
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	rec = record(f);
	assert_non_null(rec->refresh_token);
	assert_null(rec->verifier);
	up_user_record_free(rec);
}

/* up_session_close (the PAM session's close): nothing happens without
 * revoke_on_close; with it the cached refresh token is revoked and dropped;
 * when the pool fails the revocation the token is kept and the error
 * returned (PAM_SESSION_ERR), never a silent success. */
static void test_session_close(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec;

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline = no\n");
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	assert_int_equal(up_session_close(f->ctx, f->user), UP_OK);
	rec = record(f);
	assert_non_null(rec->refresh_token); /* revoke_on_close = no */
	up_user_record_free(rec);

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline = no\nrevoke_on_close = yes\n");
	t_pool_fault(pool, "{s:s, s:s, s:i}", "action", "status", "match", "RevokeToken", "code",
		     503);
	assert_int_not_equal(up_session_close(f->ctx, f->user), UP_OK);
	rec = record(f);
	assert_non_null(rec->refresh_token); /* kept: the pool did not revoke it */
	up_user_record_free(rec);

	t_pool_clear_faults(pool);
	assert_int_equal(up_session_close(f->ctx, f->user), UP_OK);
	rec = record(f);
	assert_null(rec->refresh_token);
	up_user_record_free(rec);
	/* nothing left to revoke: still a success */
	assert_int_equal(up_session_close(f->ctx, f->user), UP_OK);
}

/* up_stepup_try / up_stepup_note refuse the window where it must not
 * apply (the positive case needs a controlling terminal: tests/pam and the
 * sudo end-to-end test): max_auth_age 0, no terminal, a label for a tty, a
 * sign-in without a second factor opens nothing. */
static void test_stepup_site_rules(void **state)
{
	struct fx *f = *state;
	struct up_stepup_site site = {f->user, f->user, "sudo", f->user, NULL};
	struct up_user_record *rec = NULL;
	struct up_auth *auth = NULL;

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline = no\n");
	assert_int_equal(signin(f, "Pw-secret-1", &auth), UP_OK);
	assert_false(auth->mfa);
	assert_int_equal(up_stepup_try(f->ctx, &site, &rec), UP_ENOENT);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "max_auth_age"));

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline = no\nmax_auth_age = 5m\n");
	assert_int_equal(up_stepup_try(f->ctx, &site, &rec), UP_ENOENT);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "terminal"));
	site.tty = "ssh";
	assert_int_equal(up_stepup_try(f->ctx, &site, &rec), UP_ENOENT);
	assert_null(rec);
	site.tty = "/dev/pts/0";
	assert_int_equal(up_stepup_note(f->ctx, &site, auth), UP_OK);
	up_auth_free(auth);
	rec = record(f);
	assert_int_equal(rec->n_stepups, 0); /* no second factor: no window */
	up_user_record_free(rec);
	assert_int_equal(up_stepup_try(NULL, &site, &rec), UP_EINVAL);
}

/* NEW_PASSWORD_REQUIRED replaces the password given: the offline verifier
 * must be of the new one, never of the temporary one. */
static void test_new_password_verifier(void **state)
{
	struct fx *f = *state;
	json_t *j = t_pool_admin(pool, "require_new_password", "{s:s}", "username", f->user);
	struct up_auth *auth = NULL;

	json_decref(j);
	assert_int_equal(signin(f, "Pw-secret-1", &auth), UP_OK);
	assert_false(auth->offline);
	assert_non_null(auth->new_password);
	assert_string_equal(auth->new_password, "Pw-chosen-77");
	up_auth_free(auth);
	unreachable();
	assert_true(expect_signin(f, "Pw-chosen-77", UP_OK));
	expect_signin(f, "Pw-secret-1", UP_EDENIED);
}

static void test_stepup_kept_across_signin(void **state)
{
	struct fx *f = *state;
	bool fresh = false;

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "mfa = optional\noffline = no\nmax_auth_age = 5m\n");
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	assert_int_equal(up_stepup_record(f->ctx, f->user, "sudo", "/dev/pts/0"), UP_OK);
	assert_false(expect_signin(f, "Pw-secret-1", UP_OK));
	assert_int_equal(up_stepup_check(f->ctx, f->user, "sudo", "/dev/pts/0", &fresh), UP_OK);
	assert_true(fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_online_then_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_stopped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offline_max_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lockout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lockout_per_requester, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disabled_and_deleted_purge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_definitive_answer_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound_entry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_recycled_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mfa_required, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mfa_then_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_fallback_after_challenge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oidc_offline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refresh_token_kept_without_verifier, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_stepup_kept_across_signin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_session_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stepup_site_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_password_verifier, setup, teardown),
	};
	const char *filter = getenv("UP_TEST_FILTER");

	if (filter && *filter)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
