/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier helper's start (issue 21 item 1, lib/vhelper.c): what the
 * started program gets (argv, environment, descriptors, session, signal
 * mask, the work over its stdin) and what the host sees (no SIGCHLD
 * delivered to its handler, no child left to reap, so no zombie); a
 * missing or unstartable program is an error the caller falls back from;
 * the marker and the message format. This test binary is its own helper:
 * started with argv[0] "userpool-verifier" it reports instead of testing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "vhelper.h"

#define TEST_PASSWORD "Vhelper-Test-Passw0rd"

extern char **environ;
static volatile sig_atomic_t sigchld_seen;
static char self[4096];

/* ---- the helper side: a report of what it was started with ---- */

static int fake_helper(int argc, char **argv)
{
	struct up_vwork w;
	char fds[256] = "", tmp[4200], out1[64] = "", out2[64] = "";
	size_t n_env = 0, off = 0;
	sigset_t mask;
	int blocked = 0;
	DIR *d;
	struct dirent *e;
	FILE *out;

	while (environ && environ[n_env])
		n_env++;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	for (int s = 1; s < 32; s++)
		blocked += sigismember(&mask, s) == 1;
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strtol(e->d_name, NULL, 10) == dirfd(d))
			continue;
		off += (size_t)snprintf(fds + off, sizeof(fds) - off, "%s ", e->d_name);
		if (off >= sizeof(fds))
			break;
	}
	if (d)
		closedir(d);
	if (readlink("/proc/self/fd/1", out1, sizeof(out1) - 1) < 0 ||
	    readlink("/proc/self/fd/2", out2, sizeof(out2) - 1) < 0)
		return 5;
	if (up_vwork_read(0, &w))
		return 3;
	snprintf(tmp, sizeof(tmp), "%s.tmp", w.cfg_path);
	out = fopen(tmp, "w");
	if (!out)
		return 4;
	fprintf(out, "argc=%d argv0=%s env=%zu leader=%d sid=%ld ppid=%ld blocked=%d fds=%s\n",
		argc, argv[0], n_env, getsid(0) == getpid(), (long)getsid(0), (long)getppid(),
		blocked, fds);
	fprintf(out, "stdout=%s stderr=%s\n", out1, out2);
	fprintf(out, "user=%s password_ok=%d sub=%s marker_ok=%d args=%s\n", w.username,
		strcmp(w.password, TEST_PASSWORD) == 0, w.sub, up_vhelper_pending(w.marker),
		w.cfg_args[0] ? w.cfg_args[0] : "-");
	fclose(out);
	rename(tmp, w.cfg_path);
	up_vwork_clear(&w);
	return 0;
}

/* ---- the host side ---- */

static void on_sigchld(int sig)
{
	(void)sig;
	sigchld_seen++;
}

struct fx {
	char *dir;
	struct t_log log;
	struct t_clock clock;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sigaction sa;

	assert_non_null(f);
	f->dir = t_mkdtemp();
	f->clock.now = 1700000000;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	sigchld_seen = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	signal(SIGCHLD, SIG_DFL);
	t_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct up_ctx *ctx_with_helper(struct fx *f, const char *helper)
{
	char *cfg = NULL;
	struct up_ctx *ctx;

	assert_true(asprintf(&cfg,
			     "user_pool_id = us-east-1_TestPool1\n"
			     "client_id = testclient0001\n"
			     "issuer = https://127.0.0.1:9/us-east-1_TestPool1\n"
			     "state_dir = %s/state\n"
			     "verifier_helper = %s\n",
			     f->dir, helper) > 0);
	ctx = t_ctx_with_config(f->dir, cfg, &f->log, &f->clock);
	free(cfg);
	return ctx;
}

/* No child of ours is left: nothing to reap, no zombie ever. */
static bool no_child_left(void)
{
	int status;

	return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}

static char *wait_report(const char *path)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	char *buf = calloc(1, 1024);
	FILE *in;

	assert_non_null(buf);
	for (int i = 0; i < 500; i++) { /* at most 10 s */
		in = fopen(path, "r");
		if (in) {
			size_t n = fread(buf, 1, 1023, in);

			fclose(in);
			buf[n] = '\0';
			return buf;
		}
		nanosleep(&ts, NULL);
	}
	fail_msg("the helper wrote no report to %s", path);
	return NULL;
}

static void test_spawn_hygiene(void **state)
{
	struct fx *f = *state;
	struct up_ctx *ctx = ctx_with_helper(f, self);
	const char *args[] = {"debug", NULL};
	struct up_vwork w = {0};
	struct up_vhelper *h = NULL;
	char *report, *path = NULL, want[64];
	/* A descriptor of the host without close-on-exec: not inherited. */
	int leak = open("/dev/null", O_RDONLY);

	assert_true(leak > 2);
	assert_int_equal(up_vhelper_start(ctx, &h), UP_OK);
	assert_non_null(h);
	assert_true(up_vhelper_pending(up_vhelper_marker(h)));
	/* The intermediate child was reaped with SIGCHLD at its default. */
	assert_int_equal(sigchld_seen, 0);
	assert_true(no_child_left());
	assert_true(asprintf(&path, "%s/report", f->dir) > 0);
	w.cfg_path = path;
	w.cfg_args = args;
	w.username = "vhuser";
	w.marker = up_vhelper_marker(h);
	w.password = TEST_PASSWORD;
	w.sub = "sub-1";
	w.mfa_method = UP_MFA_NONE;
	w.requester = 0;
	w.signin_at = 1700000000;
	assert_int_equal(up_vhelper_send(ctx, h, &w), UP_OK);
	report = wait_report(path);
	/* A session of its own (the intermediate's: not its leader, so it
	 * can never get a controlling terminal), not our child. */
	assert_non_null(strstr(report, "argc=1 argv0=userpool-verifier env=0 leader=0 sid="));
	snprintf(want, sizeof(want), "sid=%ld ", (long)getsid(0));
	assert_null(strstr(report, want));
	snprintf(want, sizeof(want), "ppid=%ld ", (long)getpid());
	assert_null(strstr(report, want));
	assert_non_null(strstr(report, "blocked=0 fds=0 1 2 \n"));
	assert_non_null(strstr(report, "stdout=/dev/null stderr=/dev/null\n"));
	assert_non_null(strstr(report, "user=vhuser password_ok=1 sub=sub-1 marker_ok=1 args=debug"));
	assert_null(strstr(report, TEST_PASSWORD));
	assert_int_equal(sigchld_seen, 0);
	assert_true(no_child_left());
	close(leak);
	free(report);
	free(path);
	up_ctx_free(ctx);
}

/* A host running with its standard descriptors closed (a daemon): the
 * helper still gets the socket on 0 and /dev/null on 1 and 2, never one of
 * the host's files or the socket there. Run in a child of the test. */
static void test_spawn_closed_stdio(void **state)
{
	struct fx *f = *state;
	const char *args[] = {NULL};
	char *report, *path = NULL;
	int status;
	pid_t pid;

	assert_true(asprintf(&path, "%s/report", f->dir) > 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct up_ctx *ctx = ctx_with_helper(f, self);
		struct up_vwork w = {0};
		struct up_vhelper *h = NULL;

		close(0);
		close(1);
		close(2);
		if (up_vhelper_start(ctx, &h))
			_exit(1);
		w.cfg_path = path;
		w.cfg_args = args;
		w.username = "vhuser";
		w.marker = up_vhelper_marker(h);
		w.password = TEST_PASSWORD;
		w.sub = "sub-1";
		_exit(up_vhelper_send(ctx, h, &w) ? 2 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	report = wait_report(path);
	assert_non_null(strstr(report, "stdout=/dev/null stderr=/dev/null\n"));
	assert_non_null(strstr(report, "fds=0 1 2 \n"));
	assert_non_null(strstr(report, "password_ok=1"));
	free(report);
	free(path);
}

static void test_spawn_failures(void **state)
{
	struct fx *f = *state;
	struct up_vhelper *h = NULL;
	char *missing = NULL;
	char *plain = t_write_file(f->dir, "plain", "#!/bin/sh\n", 0644);
	char *garbage = t_write_file(f->dir, "garbage", "not a program\n", 0755);
	struct up_ctx *ctx;

	assert_true(asprintf(&missing, "%s/no-such-helper", f->dir) > 0);
	ctx = ctx_with_helper(f, missing);
	assert_int_not_equal(up_vhelper_start(ctx, &h), UP_OK);
	assert_null(h);
	assert_true(t_log_contains(&f->log, "cannot start the verifier helper"));
	assert_true(t_log_contains(&f->log, "No such file or directory"));
	up_ctx_free(ctx);
	t_log_reset(&f->log);
	ctx = ctx_with_helper(f, plain);
	assert_int_not_equal(up_vhelper_start(ctx, &h), UP_OK);
	assert_true(t_log_contains(&f->log, "Permission denied"));
	up_ctx_free(ctx);
	t_log_reset(&f->log);
	ctx = ctx_with_helper(f, garbage);
	assert_int_not_equal(up_vhelper_start(ctx, &h), UP_OK);
	assert_true(t_log_contains(&f->log, "Exec format error"));
	up_ctx_free(ctx);
	/* Failed starts leave nothing behind either. */
	assert_int_equal(sigchld_seen, 0);
	assert_true(no_child_left());
	free(missing);
	free(plain);
	free(garbage);
}

static void test_marker(void **state)
{
	(void)state;
	assert_false(up_vhelper_pending(NULL));
	assert_false(up_vhelper_pending("scrypt2$8192$8$10$c2FsdA==$a2V5"));
	assert_true(up_vhelper_pending("pending$00112233445566778899aabbccddeeff$"));
	assert_null(up_vhelper_inner("pending$00112233445566778899aabbccddeeff$"));
	assert_string_equal(up_vhelper_inner("pending$00112233445566778899aabbccddeeff$scrypt2$x"),
			    "scrypt2$x");
	assert_string_equal(up_vhelper_inner("scrypt2$x"), "scrypt2$x");
	/* A cut marker carries no verifier. */
	assert_null(up_vhelper_inner("pending$0011"));
	/* `userpool cache show` and status name a marked record "pending", not
	 * malformed, whatever it carries. */
	assert_string_equal(up_verifier_scheme("pending$00112233445566778899aabbccddeeff$", NULL),
			    "pending");
	assert_string_equal(
	    up_verifier_scheme("pending$00112233445566778899aabbccddeeff$scrypt2$x", NULL),
	    "pending");
	assert_null(up_verifier_scheme("scrypt2$x", NULL));
}

/* The helper refuses anything but a whole, well-formed message. */
static void test_message_refused(void **state)
{
	static const char *const bad[] = {"", "garbage", "\0\0\0\x13userpool-verifier 1"};
	static const size_t len[] = {0, 7, 23};
	struct up_vwork w;
	int p[2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], bad[i], len[i]), (ssize_t)len[i]);
		close(p[1]);
		assert_int_equal(up_vwork_read(p[0], &w), UP_EINVAL);
		close(p[0]);
	}
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	ssize_t n;

	if (strcmp(base ? base + 1 : argv[0], "userpool-verifier") == 0)
		return fake_helper(argc, argv);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 99;
	self[n] = '\0';
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_spawn_hygiene, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spawn_closed_stdio, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_spawn_failures, setup, teardown),
	    cmocka_unit_test(test_marker),
	    cmocka_unit_test(test_message_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
