/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"
#include "poolctl.h"

/*
 * 50 sign-ins at once (separate processes, as PAM runs them) against the
 * real test pool with a cold state directory: at most one JWKS fetch, every
 * sign-in succeeds, and every state file is valid afterwards — for 50
 * different users and for one user signing in 50 times.
 */

#define N_PROCS 50

static struct t_pool *pool;

static int group_setup(void **state)
{
	json_t *j;

	(void)state;
	pool = t_pool_start(NULL);
	j = t_pool_admin(pool, "set_pool_mfa", "{s:s}", "mfa", "OFF");
	json_decref(j);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	t_pool_stop(pool);
	return 0;
}

/* In the child: no cmocka asserts (a failure would unwind into a copy of
 * the test runner); report through the exit status. */
static int child_signin(const char *cfg_path, const char *username, const char *password, int gate)
{
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL;
	struct up_conv conv = {0};
	char c;
	up_err r;

	/* The Python pool does the server side of 50 SRP exchanges under its
	 * GIL while 50 clients run scrypt on the same cores: give it time.
	 * This test is about JWKS fetches and file integrity, not latency. */
	static const char *const args[] = {"timeout=120s"};

	if (up_ctx_new(&ctx) || up_ctx_load_config(ctx, cfg_path, 1, args, false))
		return 2;
	up_ctx_set_state_owner(ctx, geteuid(), getegid());
	/* Wait until every process is ready, then all go at once. */
	if (read(gate, &c, 1) < 0)
		return 3;
	r = up_signin(ctx, username, password, &conv, &auth);
	if (r || !auth || auth->offline)
		fprintf(stderr, "# %s: %s: %s\n", username, up_strerror(r), up_ctx_detail(ctx));
	up_auth_free(auth);
	up_ctx_free(ctx);
	return r ? 1 : 0;
}

static void run_parallel(const char *cfg_path, char users[][32], const char *password)
{
	pid_t pids[N_PROCS];
	int gate[2], failed = 0;

	assert_int_equal(pipe(gate), 0);
	for (int i = 0; i < N_PROCS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(gate[1]);
			alarm(300);
			_exit(child_signin(cfg_path, users[i], password, gate[0]));
		}
	}
	close(gate[0]);
	/* Closing the write end releases every reader at once. */
	close(gate[1]);
	for (int i = 0; i < N_PROCS; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	assert_int_equal(failed, 0);
}

static char *write_config(const char *state_dir, char **ret_dir)
{
	char *cfg = t_pool_config(pool, state_dir, "mfa = optional\n");
	char *dir = t_mkdtemp();
	char *path = t_write_file(dir, "userpool.conf", cfg, 0600);

	free(cfg);
	*ret_dir = dir;
	return path;
}

static long jwks_fetches(void)
{
	/* The path part of the JWKS URI: after the base URL's trailing '/'. */
	return t_pool_stat_path(pool, pool->jwks_uri + strlen(pool->url) - 1);
}

/* Every entry in users/ reads back; no temporary file is left. */
static size_t check_files(const char *cfg_path, const char *state_dir)
{
	struct up_ctx *ctx = NULL;
	struct up_user_record **list = NULL;
	struct t_log log = {.len = 0};
	char *users = NULL;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	assert_int_equal(up_ctx_new(&ctx), UP_OK);
	up_ctx_set_state_owner(ctx, geteuid(), getegid());
	up_ctx_set_logger(ctx, t_log_fn, &log);
	assert_int_equal(up_ctx_load_config(ctx, cfg_path, 0, NULL, false), UP_OK);
	assert_int_equal(up_store_user_list(ctx, &list), UP_OK);
	for (; list[n]; n++) {
		assert_non_null(list[n]->verifier);
		assert_int_equal(list[n]->failures, 0);
	}
	up_store_user_list_free(list);
	/* Nothing was refused while listing. */
	if (log.len && t_log_contains(&log, "refused"))
		fail_msg("state files refused:\n%s", log.buf);
	assert_true(asprintf(&users, "%s/users", state_dir) > 0);
	d = opendir(users);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".tmp"))
			fail_msg("temporary file left: %s", de->d_name);
	closedir(d);
	free(users);
	up_ctx_free(ctx);
	return n;
}

static void test_parallel_different_users(void **state)
{
	static char users[N_PROCS][32];
	char *sdir = t_state_dir(), *cdir = NULL, *cfg_path = write_config(sdir, &cdir);

	(void)state;
	for (int i = 0; i < N_PROCS; i++) {
		snprintf(users[i], sizeof(users[i]), "par%d-%d", (int)getpid(), i);
		t_pool_user(pool, users[i], "Pw-parallel-1", NULL);
	}
	t_pool_reset_stats(pool);
	run_parallel(cfg_path, users, "Pw-parallel-1");
	assert_true(t_pool_stat_target(pool, "InitiateAuth") >= N_PROCS);
	long fetches = jwks_fetches();
	if (fetches > 1)
		fail_msg("%ld JWKS fetches for a cold cache, expected at most 1", fetches);
	assert_int_equal(check_files(cfg_path, sdir), N_PROCS);
	t_rmtree(sdir);
	t_rmtree(cdir);
	free(sdir);
	free(cdir);
	free(cfg_path);
}

static void test_parallel_same_user(void **state)
{
	static char users[N_PROCS][32];
	char *sdir = t_state_dir(), *cdir = NULL, *cfg_path = write_config(sdir, &cdir);

	(void)state;
	snprintf(users[0], sizeof(users[0]), "same%d", (int)getpid());
	t_pool_user(pool, users[0], "Pw-parallel-2", NULL);
	for (int i = 1; i < N_PROCS; i++)
		memcpy(users[i], users[0], sizeof(users[0]));
	t_pool_reset_stats(pool);
	run_parallel(cfg_path, users, "Pw-parallel-2");
	long fetches = jwks_fetches();
	if (fetches > 1)
		fail_msg("%ld JWKS fetches for a cold cache, expected at most 1", fetches);
	assert_int_equal(check_files(cfg_path, sdir), 1);
	t_rmtree(sdir);
	t_rmtree(cdir);
	free(sdir);
	free(cdir);
	free(cfg_path);
}

/* --- offline, one user, many processes (issues 23 item 5, 16 item 6) --- */

#define N_OFFLINE 32

enum { RES_OK = 0, RES_DENIED = 10, RES_LOCKED = 11 };

/* One offline sign-in as `requester`; the lock wait is the default 10 s. */
static int child_offline(const char *cfg_path, const char *username, const char *password,
			 int64_t requester, int gate)
{
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL;
	struct up_conv conv = {0};
	char c;
	up_err r;

	if (up_ctx_new(&ctx) || up_ctx_load_config(ctx, cfg_path, 0, NULL, false))
		return 2;
	up_ctx_set_state_owner(ctx, geteuid(), getegid());
	up_ctx_set_requester(ctx, requester);
	if (read(gate, &c, 1) < 0)
		return 3;
	r = up_signin(ctx, username, password, &conv, &auth);
	if (r == UP_OK && (!auth || !auth->offline))
		r = UP_EPROTO;
	if (r && r != UP_EDENIED && r != UP_ELOCKED)
		fprintf(stderr, "# %s: %s: %s\n", username, up_strerror(r), up_ctx_detail(ctx));
	up_auth_free(auth);
	up_ctx_free(ctx);
	return r == UP_OK	 ? RES_OK
	       : r == UP_EDENIED ? RES_DENIED
	       : r == UP_ELOCKED ? RES_LOCKED
				 : 1;
}

/* n processes at once; counts[exit status] afterwards. */
static void run_offline(const char *cfg_path, const char *user, const char *password,
			int64_t requester, int n, int counts[256])
{
	pid_t pids[N_OFFLINE];
	int gate[2];

	assert_true(n <= N_OFFLINE);
	memset(counts, 0, 256 * sizeof(int));
	assert_int_equal(pipe(gate), 0);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(gate[1]);
			alarm(300);
			_exit(child_offline(cfg_path, user, password, requester, gate[0]));
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (int i = 0; i < n; i++) {
		int status = 0;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		counts[WIFEXITED(status) ? WEXITSTATUS(status) : 255]++;
	}
}

/* A user signed in once online, then the pool answers 503 (unreachable). */
static char *offline_user(const char *cfg_path, const char *tag, const char *password)
{
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL;
	struct up_conv conv = {0};
	char *user = NULL;

	t_pool_clear_faults(pool);
	assert_true(asprintf(&user, "%s%d", tag, (int)getpid()) > 0);
	t_pool_user(pool, user, password, NULL);
	assert_int_equal(up_ctx_new(&ctx), UP_OK);
	up_ctx_set_state_owner(ctx, geteuid(), getegid());
	assert_int_equal(up_ctx_load_config(ctx, cfg_path, 0, NULL, false), UP_OK);
	assert_int_equal(up_signin(ctx, user, password, &conv, &auth), UP_OK);
	assert_false(auth->offline);
	up_auth_free(auth);
	up_ctx_free(ctx);
	t_pool_fault(pool, "{s:s, s:s, s:i}", "action", "status", "match", "InitiateAuth", "code",
		     503);
	return user;
}

static struct up_user_record *read_record(const char *cfg_path, const char *user)
{
	struct up_ctx *ctx = NULL;
	struct up_user_record *rec = NULL;

	assert_int_equal(up_ctx_new(&ctx), UP_OK);
	up_ctx_set_state_owner(ctx, geteuid(), getegid());
	assert_int_equal(up_ctx_load_config(ctx, cfg_path, 0, NULL, false), UP_OK);
	assert_int_equal(up_store_user_read(ctx, user, &rec), UP_OK);
	up_ctx_free(ctx);
	return rec;
}

static char *offline_config(const char *state_dir, const char *extra, char **ret_dir)
{
	char *text = NULL, *cfg, *dir = t_mkdtemp(), *path;

	/* kdf_slots: enough for every process, so that only the user's lock
	 * (held briefly now) could make one wait past the 10 s timeout. */
	assert_true(asprintf(&text, "mfa = optional\ntimeout = 10s\nkdf_slots = %d\n%s", N_OFFLINE,
			     extra) > 0);
	cfg = t_pool_config(pool, state_dir, text);
	path = t_write_file(dir, "userpool.conf", cfg, 0600);
	free(text);
	free(cfg);
	*ret_dir = dir;
	return path;
}

/* Issue 23 item 5: the KDF runs outside the user's lock, so 32 parallel
 * offline sign-ins of one user all finish within the 10 s lock wait; and
 * 16 parallel wrong guesses still count 16. */
static void test_offline_parallel_same_user(void **state)
{
	char *sdir = t_state_dir(), *cdir = NULL;
	char *cfg_path = offline_config(sdir, "offline_max_failures = 100\n", &cdir);
	char *user = offline_user(cfg_path, "offpar", "Pw-offline-1");
	struct up_user_record *rec;
	int counts[256];

	(void)state;
	run_offline(cfg_path, user, "Pw-offline-1", 1001, N_OFFLINE, counts);
	if (counts[RES_OK] != N_OFFLINE)
		fail_msg("%d of %d parallel offline sign-ins succeeded", counts[RES_OK], N_OFFLINE);
	run_offline(cfg_path, user, "wrong-offline", 1001, 16, counts);
	assert_int_equal(counts[RES_DENIED], 16);
	rec = read_record(cfg_path, user);
	assert_int_equal(rec->failures, 16);
	assert_int_equal(rec->n_fails, 1);
	assert_int_equal(rec->fails[0].uid, 1001);
	assert_int_equal(rec->fails[0].count, 16);
	up_user_record_free(rec);
	t_pool_clear_faults(pool);
	t_rmtree(sdir);
	t_rmtree(cdir);
	free(sdir);
	free(cdir);
	free(cfg_path);
	free(user);
}

/* Issue 16 item 6: 12 parallel wrong guesses of requester A do not lock
 * the victim (another requester) out; A is delayed. */
static void test_offline_parallel_other_requester(void **state)
{
	char *sdir = t_state_dir(), *cdir = NULL;
	char *cfg_path = offline_config(sdir, "offline_max_failures = 5\n", &cdir);
	char *user = offline_user(cfg_path, "offvic", "Pw-offline-2");
	struct up_user_record *rec;
	int counts[256];

	(void)state;
	run_offline(cfg_path, user, "wrong-guess", 1001, 12, counts);
	if (counts[RES_DENIED] + counts[RES_LOCKED] != 12 || counts[RES_DENIED] < 5)
		fail_msg("12 guesses: %d denied, %d delayed", counts[RES_DENIED],
			 counts[RES_LOCKED]);
	rec = read_record(cfg_path, user);
	assert_int_equal(rec->fails[0].count, counts[RES_DENIED]);
	up_user_record_free(rec);
	/* the victim's right password, as the victim (uid 200777) */
	run_offline(cfg_path, user, "Pw-offline-2", 200777, 1, counts);
	assert_int_equal(counts[RES_OK], 1);
	/* the attacker is delayed, even with the right password */
	run_offline(cfg_path, user, "Pw-offline-2", 1001, 1, counts);
	assert_int_equal(counts[RES_LOCKED], 1);
	t_pool_clear_faults(pool);
	t_rmtree(sdir);
	t_rmtree(cdir);
	free(sdir);
	free(cdir);
	free(cfg_path);
	free(user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parallel_different_users),
	    cmocka_unit_test(test_parallel_same_user),
	    cmocka_unit_test(test_offline_parallel_same_user),
	    cmocka_unit_test(test_offline_parallel_other_requester),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
