/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kdf.h"
#include "testlib.h"
#include "poolctl.h"

/*
 * Issue 23 item 4: the password KDF under memory pressure.
 *
 * - 16 derivations at once (separate processes, as PAM runs them) inside a
 *   cgroup v1 memory limit that holds only a few of them all complete: the
 *   machine-wide derivation slots (kdf_slots) queue them instead of letting
 *   the OOM killer take them. Since issue 21 a derivation needs 8 MiB
 *   (N=2^13, r=8, p=10), so the limit is 64 MiB: 16 at once would need
 *   128 MiB for scrypt alone, two slots fit. (Under AddressSanitizer, whose
 *   processes are far larger, 1 GiB.)
 * - Under a per-process address-space limit the derivation fails; the
 *   online sign-in still succeeds, logs LOG_WARNING, and the OLD verifier
 *   is gone: after a password change the old password no longer works
 *   offline.
 */

/* AddressSanitizer maps terabytes of shadow memory and aborts when an
 * allocation fails: an address-space limit cannot be applied under it. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define N_PROCS 16
#define CG_ROOT "/sys/fs/cgroup/memory"
#ifdef UNDER_ASAN
#define CG_LIMIT (1024ull * 1024 * 1024)
#else
#define CG_LIMIT (64ull * 1024 * 1024)
#endif

static struct t_pool *pool;

struct fx {
	char *state;
	struct t_log log;
	struct up_ctx *ctx;
	char user[64];
};

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

static up_err conv_prompt(void *ud, const char *text, bool echo, char **ret)
{
	(void)ud;
	(void)echo;
	(void)ret;
	fail_msg("unexpected prompt: %s", text);
	return UP_ECONV;
}

static up_err conv_info(void *ud, const char *text)
{
	(void)ud;
	(void)text;
	return UP_OK;
}

static struct up_ctx *new_ctx(struct fx *f, const char *extra)
{
	char *cfg = t_pool_config(pool, f->state, extra);
	char *dir = t_mkdtemp();
	struct up_ctx *ctx = t_ctx_with_config(dir, cfg, &f->log, NULL);

	t_rmtree(dir);
	free(dir);
	free(cfg);
	return ctx;
}

static int setup(void **state)
{
	static int seq;
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->state = t_state_dir();
	snprintf(f->user, sizeof(f->user), "kdfuser%d-%d", (int)getpid(), ++seq);
	t_pool_user(pool, f->user, "Pw-old-secret-1", NULL);
	f->ctx = new_ctx(f, "mfa = optional\noffline_max_age = 1d\ntimeout = 120s\n");
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

static up_err signin(struct fx *f, const char *password, bool *offline)
{
	struct up_conv c = {.prompt = conv_prompt, .info = conv_info, .error = conv_info, .ud = f};
	struct up_auth *auth = NULL;
	up_err r;

	t_log_reset(&f->log);
	r = up_signin(f->ctx, f->user, password, &c, &auth);
	if (offline)
		*offline = auth && auth->offline;
	up_auth_free(auth);
	return r;
}

static void unreachable(void)
{
	t_pool_fault(pool, "{s:s, s:s, s:i}", "action", "status", "match", "InitiateAuth", "code",
		     503);
}

/* VmSize of this process in bytes (0 if unknown). */
static unsigned long long vm_size(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb = 0;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, "VmSize:", 7) == 0) {
			kb = strtoull(line + 7, NULL, 10);
			break;
		}
	fclose(fp);
	return kb * 1024;
}

/* ---------------------------------------------------------------------- */

enum kdf_failure { FAIL_RLIMIT, FAIL_SLOT_BUSY };

/* The online sign-in with the new password, its derivation made to fail:
 * in a child under RLIMIT_AS, or here while the only slot is held. */
static void signin_failing_kdf(struct fx *f, enum kdf_failure how)
{
	pid_t pid;
	int status = 0;

	if (how == FAIL_SLOT_BUSY) {
		char path[512];
		int fd;

		/* One slot, held by "another derivation" (this process, through
		 * its own open file description). */
		up_ctx_free(f->ctx);
		f->ctx = new_ctx(f, "mfa = optional\noffline_max_age = 1d\ntimeout = 3s\n"
				    "kdf_slots = 1\n");
		snprintf(path, sizeof(path), "%s/kdf", f->state);
		mkdir(path, 0700);
		snprintf(path, sizeof(path), "%s/kdf/slot.0", f->state);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(flock(fd, LOCK_EX), 0);
		assert_int_equal(signin(f, "Pw-new-secret-2", NULL), UP_OK);
		close(fd);
		if (!t_log_contains(&f->log, "4 cannot derive the offline verifier") ||
		    !t_log_contains(&f->log, "no free derivation slot"))
			fail_msg("no LOG_WARNING about the derivation; log:\n%s", f->log.buf);
		up_ctx_free(f->ctx);
		f->ctx = new_ctx(f, "mfa = optional\noffline_max_age = 1d\ntimeout = 120s\n");
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* No cmocka asserts in the child: report through the exit status. */
		/* Less room than the derivation's 8 MiB, enough for the rest
		 * of the sign-in (no derivation ran in this process before). */
		unsigned long long base, lim;
		struct rlimit rl;
		up_err r;

		base = vm_size();
		lim = base + 6ull * 1024 * 1024;
		rl.rlim_cur = rl.rlim_max = lim;

		if (!base || setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(10);
		fprintf(stderr, "# child VmSize %llu MiB, RLIMIT_AS %llu MiB\n", base >> 20,
			lim >> 20);
		r = signin(f, "Pw-new-secret-2", NULL);
		if (r) {
			fprintf(stderr, "# online sign-in under the limit: %s: %s\n%s",
				up_strerror(r), up_ctx_detail(f->ctx), f->log.buf);
			_exit(11);
		}
		if (!t_log_contains(&f->log, "4 cannot derive the offline verifier")) {
			fprintf(stderr, "# no LOG_WARNING about the derivation; log:\n%s",
				f->log.buf);
			_exit(12);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("sign-in under RLIMIT_AS: status 0x%x (10 setup, 11 sign-in failed, "
			 "12 no warning logged)",
			 status);
}

static void password_change_failing_kdf(struct fx *f, enum kdf_failure how)
{
	struct up_user_record *rec = NULL;
	bool offline = false;
	json_t *j;

	/* The old password online, then offline: the cache knows it. Before
	 * the address-space limit, in a child of its own: the derivations'
	 * freed memory (a worker thread's arena, glibc's grown mmap threshold)
	 * would stay in this process and let the limited one derive without
	 * new address space. */
	if (how == FAIL_RLIMIT) {
		pid_t pid = fork();
		int status = 0;

		assert_true(pid >= 0);
		if (pid == 0) {
			bool off1 = true, off2 = false;
			up_err r1 = signin(f, "Pw-old-secret-1", &off1), r2;

			unreachable();
			r2 = signin(f, "Pw-old-secret-1", &off2);
			t_pool_clear_faults(pool);
			_exit(r1 || off1 ? 20 : r2 || !off2 ? 21 : 0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("old password online then offline: status 0x%x (20 online, 21 "
				 "offline failed)",
				 status);
	} else {
		assert_int_equal(signin(f, "Pw-old-secret-1", &offline), UP_OK);
		assert_false(offline);
		unreachable();
		assert_int_equal(signin(f, "Pw-old-secret-1", &offline), UP_OK);
		assert_true(offline);
		t_pool_clear_faults(pool);
	}

	/* The password changes at the pool; the next online sign-in runs with
	 * too little address space for scrypt's 8 MiB. */
	j = t_pool_admin(pool, "set_password", "{s:s, s:s}", "username", f->user, "password",
			 "Pw-new-secret-2");
	json_decref(j);
	signin_failing_kdf(f, how);

	/* The record was refreshed without a verifier: the old password is
	 * useless offline (and so is the new one, until it can be derived). */
	assert_int_equal(up_store_user_read(f->ctx, f->user, &rec), UP_OK);
	assert_null(rec->verifier);
	up_user_record_free(rec);
	unreachable();
	assert_int_not_equal(signin(f, "Pw-old-secret-1", NULL), UP_OK);
	if (!t_log_contains(&f->log, "no password verifier"))
		fail_msg("offline refusal for another reason; log:\n%s", f->log.buf);
	assert_int_not_equal(signin(f, "Pw-new-secret-2", NULL), UP_OK);
	t_pool_clear_faults(pool);

	/* With memory again, the next online sign-in restores offline use. */
	assert_int_equal(signin(f, "Pw-new-secret-2", &offline), UP_OK);
	assert_false(offline);
	unreachable();
	assert_int_equal(signin(f, "Pw-new-secret-2", &offline), UP_OK);
	assert_true(offline);
	assert_int_equal(signin(f, "Pw-old-secret-1", NULL), UP_EDENIED);
}

static void test_rlimit_password_change(void **state)
{
#ifdef UNDER_ASAN
	/* Not under ASan (see UNDER_ASAN): the same path through a busy slot. */
	fprintf(stderr, "# under AddressSanitizer: a busy slot instead of RLIMIT_AS\n");
	password_change_failing_kdf(*state, FAIL_SLOT_BUSY);
#else
	password_change_failing_kdf(*state, FAIL_RLIMIT);
#endif
}

/* No free slot within `timeout`: the same loud failure and invalidation. */
static void test_slot_busy_password_change(void **state)
{
	password_change_failing_kdf(*state, FAIL_SLOT_BUSY);
}

static bool write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text);
}

static unsigned long long read_stat(const char *path, const char *key)
{
	FILE *fp = fopen(path, "r");
	char line[256];
	unsigned long long v = 0;
	size_t kl = key ? strlen(key) : 0;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		if (!key) {
			v = strtoull(line, NULL, 10);
			break;
		}
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return v;
}

/* In the cgroup: one derivation and its check, reported by exit status. */
static int child_derive(struct fx *f, int gate)
{
	char *v = NULL;
	char c;
	up_err r;

	if (read(gate, &c, 1) < 0)
		return 3;
	r = up_verifier_new(f->ctx, "Pw-cgroup-test", &v);
#ifndef UNDER_ASAN /* ASan's quarantine keeps the first 128 MiB: one is enough */
	if (!r)
		r = up_verifier_check(f->ctx, v, "Pw-cgroup-test");
#endif
	if (r)
		fprintf(stderr, "# derivation: %s: %s\n", up_strerror(r), up_ctx_detail(f->ctx));
	up_free_secret(v);
	return r ? 1 : 0;
}

/* The cgroup's leader: joins it, starts N_PROCS derivations at once and
 * returns how many did not complete (killed or failed). */
static int leader(struct fx *f, const char *procs)
{
	char pidtxt[32];
	pid_t pids[N_PROCS];
	int gate[2], bad = 0, killed = 0;

	snprintf(pidtxt, sizeof(pidtxt), "%d\n", (int)getpid());
	if (!write_file(procs, pidtxt) || pipe(gate) != 0)
		return 100;
	for (int i = 0; i < N_PROCS; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return 101;
		if (pids[i] == 0) {
			close(gate[1]);
			_exit(child_derive(f, gate[0]));
		}
	}
	close(gate[0]);
	close(gate[1]); /* EOF: all go at once */
	for (int i = 0; i < N_PROCS; i++) {
		int st = 0;

		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st)) {
			bad++;
			if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
				killed++;
		}
	}
	if (bad)
		fprintf(stderr, "# %d of %d derivations did not complete (%d SIGKILLed)\n", bad,
			N_PROCS, killed);
	return bad;
}

static void test_cgroup_concurrent(void **state)
{
	struct fx *f = *state;
	char cg[256], path[300], limit[32];
	pid_t pid;
	int status = 0;
	struct stat st;

	if (geteuid() != 0) {
		/* making a cgroup and moving a process into it needs root */
		fprintf(stderr, "# SKIP: not root: the cgroup case is not run\n");
		return;
	}
	if (stat(CG_ROOT "/memory.limit_in_bytes", &st) != 0) {
		/* cmocka's skip() reads as a failure to automake's TAP driver. */
		fprintf(stderr, "# SKIP: cgroup v1 memory controller not mounted at " CG_ROOT
				": the cgroup case is not run\n");
		return;
	}
	/* Two slots on any machine: 2 x 8 MiB fit in 64 MiB with the
	 * processes' own pages, 16 x 8 MiB do not (1 GiB under ASan). */
	up_ctx_free(f->ctx);
#ifdef UNDER_ASAN
	f->ctx = new_ctx(f, "timeout = 120s\nkdf_slots = 2\n");
#else
	f->ctx = new_ctx(f, "timeout = 120s\nkdf_slots = 2\n");
#endif

	snprintf(cg, sizeof(cg), CG_ROOT "/userpool-kdf-%d", (int)getpid());
	rmdir(cg);
	assert_int_equal(mkdir(cg, 0755), 0);
	snprintf(limit, sizeof(limit), "%llu\n", CG_LIMIT);
	snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg);
	assert_true(write_file(path, limit));
	snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", cg);
	if (stat(path, &st) == 0)
		assert_true(write_file(path, limit));

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(leader(f, path));
	assert_int_equal(waitpid(pid, &status, 0), pid);

	snprintf(path, sizeof(path), "%s/memory.max_usage_in_bytes", cg);
	fprintf(stderr, "# cgroup peak %llu MiB of %llu MiB\n", read_stat(path, NULL) >> 20,
		CG_LIMIT >> 20);
	snprintf(path, sizeof(path), "%s/memory.oom_control", cg);
	unsigned long long oom = read_stat(path, "oom_kill");
	fprintf(stderr, "# oom_kill %llu\n", oom);
	/* Every process of the cgroup has exited: it can go. */
	for (int i = 0; i < 50 && rmdir(cg) != 0 && errno == EBUSY; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("derivations in a 1 GiB cgroup: leader status 0x%x (exit = number that "
			 "did not complete)",
			 status);
	assert_int_equal(oom, 0);
}

/* The slots are the files state_dir/kdf/slot.<i>, root-owned 0600, and a
 * slot file planted by someone else is refused, not used. */
static void test_slot_files(void **state)
{
	struct fx *f = *state;
	char *v = NULL, path[512];
	struct stat st;

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "timeout = 120s\nkdf_slots = 1\n");
	assert_int_equal(up_verifier_new(f->ctx, "Pw-slot", &v), UP_OK);
	up_free_secret(v);
	v = NULL;
	snprintf(path, sizeof(path), "%s/kdf/slot.0", f->state);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/kdf/slot.1", f->state);
	assert_int_not_equal(lstat(path, &st), 0);

	/* A symlink in place of the slot is never followed. */
	snprintf(path, sizeof(path), "%s/kdf/slot.0", f->state);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_not_equal(up_verifier_new(f->ctx, "Pw-slot", &v), UP_OK);
	assert_null(v);
}

/* make bench's offline figure (issue 21 item 7) subtracts the time the
 * context spent inside scrypt: counted per derivation, not for one refused
 * before it ran (its slot refused). */
static void test_kdf_time_counted(void **state)
{
	struct fx *f = *state;
	char *v = NULL, path[512];
	int64_t once;

	up_ctx_free(f->ctx);
	f->ctx = new_ctx(f, "timeout = 120s\nkdf_slots = 1\n");
	assert_int_equal(f->ctx->kdf_ns, 0);
	assert_int_equal(up_verifier_new(f->ctx, "Pw-time", &v), UP_OK);
	once = f->ctx->kdf_ns;
	assert_true(once > 0);
	assert_int_equal(up_verifier_check(f->ctx, v, "Pw-time"), UP_OK);
	assert_true(f->ctx->kdf_ns > once);
	once = f->ctx->kdf_ns;
	snprintf(path, sizeof(path), "%s/kdf/slot.0", f->state);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_not_equal(up_verifier_check(f->ctx, v, "Pw-time"), UP_OK);
	assert_int_equal(f->ctx->kdf_ns, once);
	up_free_secret(v);
}

/* Another helper's start an hour ahead, 50 ms from now. */
static void *future_start(void *arg)
{
	struct timespec t[2] = {{0, UTIME_OMIT}, {time(NULL) + 3600, 0}};
	struct timespec d = {0, 50 * 1000000L};

	nanosleep(&d, NULL);
	utimensat(*(int *)arg, "started", t, 0);
	return NULL;
}

/* The verifier helper's debounce: every helper, a lone one too, waits
 * until no helper has started for quiet_ms, bounded; the start file is never
 * followed or taken from someone else. */
static void test_debounce(void **state)
{
	char dir[] = "/tmp/up-debounce-XXXXXX", path[64];
	struct timespec old[2] = {{0, UTIME_OMIT}, {0, 0}}, t0, t1;
	struct stat st;
	pthread_t th;
	int dfd, fd;
	int64_t w;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	snprintf(path, sizeof(path), "%s/started", dir);
	/* the first helper ever waits quiet_ms after its own start (it cannot
	 * know whether a burst follows); the file is made 0600 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w = up_kdf_debounce(dfd, "started", 200, 10, 5000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(w >= 10 && w <= 5000);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 150);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* the last start 10 s ago: this helper's own start still counts */
	old[1].tv_sec = time(NULL) - 10;
	assert_int_equal(utimensat(dfd, "started", old, 0), 0);
	w = up_kdf_debounce(dfd, "started", 200, 10, 5000);
	assert_true(w >= 10 && w <= 5000);
	/* bounded: quiet_ms over max_ms waits max_ms at most (steps counted) */
	assert_int_equal(up_kdf_debounce(dfd, "started", 60000, 10, 100), 100);
	/* a quiet window of 0: no wait */
	assert_int_equal(up_kdf_debounce(dfd, "started", 0, 10, 5000), 0);
	/* a start in the future (another helper noted it, then the clock
	 * stepped back): the wait ends there, not at max_ms */
	assert_int_equal(pthread_create(&th, NULL, future_start, &dfd), 0);
	w = up_kdf_debounce(dfd, "started", 60000, 10, 5000);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(w >= 10 && w < 5000);
	/* someone else's file, a writable one, a symlink: refused, no wait */
	assert_int_equal(chmod(path, 0622), 0);
	assert_int_equal(up_kdf_debounce(dfd, "started", 200, 10, 5000), -1);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(up_kdf_debounce(dfd, "started", 200, 10, 5000), -1);
	assert_int_equal(lstat("/etc/passwd", &st), 0);
	assert_int_equal(unlink(path), 0);
	/* a FIFO in its place: refused at once, never waited on */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(up_kdf_debounce(dfd, "started", 200, 10, 5000), -1);
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(up_kdf_debounce(dfd, "started", 200, 10, 5000), -1);
	}
	unlink(path);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rlimit_password_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slot_busy_password_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cgroup_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_slot_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kdf_time_counted, setup, teardown),
	    cmocka_unit_test(test_debounce),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
