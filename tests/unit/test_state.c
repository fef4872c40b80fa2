/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

/* The tests run as root (state files must be root-owned); 65534 is nobody. */
#define NOBODY 65534

struct fx {
	char *base;      /* t_mkdtemp() */
	char *state;     /* base/state, not created */
	struct up_ctx *ctx;
	struct t_log log;
	char *mnt;       /* a tmpfs mounted by a test, unmounted in teardown */
};

/* Cases that chown files to uid 0 and 65534 need root: without it they
 * say so and pass (cmocka's skip() reads as a failure to automake). */
static bool as_root(void)
{
	if (geteuid() == 0)
		return true;
	print_message("# SKIP: needs root (files of uid 0 and 65534)\n");
	return false;
}

/* A context built by hand: only the keys state.c reads. */
static struct up_ctx *ctx_for(const char *state_dir, int64_t timeout, struct t_log *log)
{
	struct up_ctx *ctx = NULL;

	assert_int_equal(up_ctx_new(&ctx), UP_OK);
	ctx->cfg = calloc(1, sizeof(*ctx->cfg));
	assert_non_null(ctx->cfg);
	ctx->cfg->state_dir = strdup(state_dir);
	assert_non_null(ctx->cfg->state_dir);
	ctx->cfg->timeout = timeout;
	ctx->cfg->debug = true;
	/* the state directory is the test's own (root's when run as root) */
	up_ctx_set_state_owner(ctx, geteuid(), getegid());
	if (log)
		up_ctx_set_logger(ctx, t_log_fn, log);
	return ctx;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->base = t_mkdtemp();
	if (asprintf(&f->state, "%s/state", f->base) < 0)
		return -1;
	f->ctx = ctx_for(f->state, 2, &f->log);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	alarm(0); /* a test that failed while guarded */
	if (f->mnt) {
		umount2(f->mnt, MNT_DETACH);
		free(f->mnt);
	}
	up_ctx_free(f->ctx);
	t_rmtree(f->base);
	free(f->base);
	free(f->state);
	free(f);
	return 0;
}

static char *path2(const char *a, const char *b)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Same inode as `path`? */
static void assert_fd_is(int fd, const char *path)
{
	struct stat a, b;

	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_dev, b.st_dev);
	assert_int_equal(a.st_ino, b.st_ino);
}

static void expect_dir_refused(struct fx *f, const char *sub, up_err want)
{
	int fd = -7;
	up_err r;

	up_clear_detail(f->ctx);
	r = up_state_dir(f->ctx, sub, &fd);
	if (r != want)
		fail_msg("up_state_dir(%s) = %d (%s), want %d; detail: %s", sub ? sub : "NULL", r,
			 up_strerror(r), want, up_ctx_detail(f->ctx));
	assert_int_equal(fd, -7);
}

static void test_dir_create(void **state)
{
	struct fx *f = *state;
	mode_t old = umask(0077); /* the created modes must not depend on the umask */
	char *p;
	int fd = -1;

	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	assert_true(fd >= 0);
	assert_fd_is(fd, f->state);
	close(fd);
	assert_int_equal(mode_of(f->state), 0711);

	static const struct {
		const char *sub;
		mode_t mode;
	} subs[] = { { "users", 0700 }, { "jwks", 0700 }, { "nss", 0755 }, { "other", 0700 } };
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		/* 0777 makes the new directory 0000 until its chmod, which only
		 * root can open: 0077 when the test runs without root */
		umask(i % 2 ? 0 : geteuid() == 0 ? 0777 : 0077);
		fd = -1;
		assert_int_equal(up_state_dir(f->ctx, subs[i].sub, &fd), UP_OK);
		p = path2(f->state, subs[i].sub);
		assert_fd_is(fd, p);
		close(fd);
		if (mode_of(p) != subs[i].mode)
			fail_msg("%s created with mode %04o, want %04o", subs[i].sub,
				 (unsigned)mode_of(p), (unsigned)subs[i].mode);
		free(p);
	}
	umask(old);
	/* Existing directories are opened again, unchanged. */
	assert_int_equal(up_state_dir(f->ctx, "users", &fd), UP_OK);
	close(fd);
	assert_int_equal(mode_of(f->state), 0711);
}

static void test_dir_bad_args(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = { "", ".", "..", "../x", "a/b", ".hidden", "/abs" };
	int fd = -7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_dir_refused(f, bad[i], UP_EINVAL);
	assert_int_equal(up_state_dir(f->ctx, NULL, NULL), UP_EINVAL);
	assert_int_equal(up_state_dir(NULL, NULL, &fd), UP_EINVAL);
	free(f->ctx->cfg->state_dir);
	f->ctx->cfg->state_dir = strdup("relative/state");
	expect_dir_refused(f, NULL, UP_ECONFIG);
	free(f->ctx->cfg->state_dir);
	f->ctx->cfg->state_dir = NULL;
	expect_dir_refused(f, NULL, UP_ECONFIG);
	f->ctx->cfg->state_dir = strdup(f->state);
}

static void test_dir_missing_parent(void **state)
{
	struct fx *f = *state;
	char *deep = path2(f->base, "no/such/dir");

	free(f->ctx->cfg->state_dir);
	f->ctx->cfg->state_dir = deep;
	expect_dir_refused(f, NULL, UP_ESTATE);
}

static void test_dir_symlink(void **state)
{
	struct fx *f = *state;
	char *real = path2(f->base, "real");
	char *p;
	int fd = -1;

	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, f->state), 0);
	expect_dir_refused(f, NULL, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "symlink"));
	expect_dir_refused(f, "users", UP_ESTATE);
	/* A dangling link is not replaced by a directory either. */
	assert_int_equal(unlink(f->state), 0);
	assert_int_equal(symlink("/nonexistent-userpool-test", f->state), 0);
	expect_dir_refused(f, NULL, UP_ESTATE);
	assert_int_equal(unlink(f->state), 0);

	/* A sub-directory that is a link. */
	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	close(fd);
	p = path2(f->state, "users");
	assert_int_equal(symlink(real, p), 0);
	expect_dir_refused(f, "users", UP_ESTATE);
	assert_true(S_ISLNK(({ struct stat st; lstat(p, &st); st.st_mode; })));
	free(p);
	free(real);
}

static void test_dir_not_dir(void **state)
{
	struct fx *f = *state;
	int fd = -1;

	free(t_write_file(f->base, "state", "x", 0600));
	expect_dir_refused(f, NULL, UP_ESTATE);
	assert_int_equal(unlink(f->state), 0);
	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	close(fd);
	free(t_write_file(f->state, "jwks", "x", 0600));
	expect_dir_refused(f, "jwks", UP_ESTATE);
}

static void test_dir_owner(void **state)
{
	struct fx *f = *state;
	char *p;
	int fd = -1;

	if (!as_root())
		return;
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(chown(f->state, NOBODY, NOBODY), 0);
	expect_dir_refused(f, NULL, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "65534"));
	/* Group ownership alone does not matter. */
	assert_int_equal(chown(f->state, 0, NOBODY), 0);
	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	close(fd);
	assert_int_equal(chown(f->state, 0, 0), 0);

	p = path2(f->state, "users");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(chown(p, NOBODY, 0), 0);
	expect_dir_refused(f, "users", UP_ESTATE);
	free(p);
	p = path2(f->state, "nss");
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chown(p, NOBODY, 0), 0);
	expect_dir_refused(f, "nss", UP_ESTATE);
	free(p);
}

/* up_ctx_set_state_owner: a state directory of uid 65534 is accepted once
 * the context says that uid owns the state, and root's is then refused. */
static void test_state_owner(void **state)
{
	struct fx *f = *state;
	char *p, *data = NULL;
	size_t len = 0;
	int fd = -1;

	if (!as_root())
		return;
	assert_int_equal(mkdir(f->state, 0700), 0);
	assert_int_equal(chown(f->state, NOBODY, NOBODY), 0);
	expect_dir_refused(f, NULL, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "not root"));
	up_ctx_set_state_owner(f->ctx, NOBODY, NOBODY);
	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	close(fd);
	/* users/ is created by (and owned by) root here: refused for nobody */
	p = path2(f->state, "users");
	assert_int_equal(mkdir(p, 0700), 0);
	expect_dir_refused(f, "users", UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "owned by uid 0, not uid 65534"));
	assert_int_equal(chown(p, NOBODY, NOBODY), 0);
	assert_int_equal(up_state_dir(f->ctx, "users", &fd), UP_OK);
	close(fd);
	free(p);
	/* a file of root's in it is refused too, one of nobody's read */
	p = t_write_file(f->state, "users-file", "x", 0600);
	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	assert_int_equal(up_state_read(f->ctx, fd, "users-file", 16, &data, &len), UP_ESTATE);
	assert_int_equal(chown(p, NOBODY, NOBODY), 0);
	assert_int_equal(up_state_read(f->ctx, fd, "users-file", 16, &data, &len), UP_OK);
	assert_int_equal(len, 1);
	free(data);
	close(fd);
	free(p);
	/* back to the default: root again */
	up_ctx_set_state_owner(f->ctx, 0, 0);
	expect_dir_refused(f, NULL, UP_ESTATE);
}

/* Every group/other permission combination against the forbidden bits:
 * 0066 for state_dir, 0077 for users/ and jwks/, 0022 for nss/. */
static void sweep(struct fx *f, const char *path, const char *sub, mode_t forbidden)
{
	for (mode_t go = 0; go < 0100; go++) {
		mode_t m = 0700 | go;
		int fd = -7;
		up_err r, want = (m & forbidden) ? UP_ESTATE : UP_OK;

		assert_int_equal(chmod(path, m), 0);
		r = up_state_dir(f->ctx, sub, &fd);
		if (r != want)
			fail_msg("%s mode %04o: %s, want %s (%s)", sub ? sub : "state_dir",
				 (unsigned)m, up_strerror(r), up_strerror(want),
				 up_ctx_detail(f->ctx));
		if (r == UP_OK)
			close(fd);
		else
			assert_int_equal(fd, -7);
	}
}

static void test_dir_modes(void **state)
{
	struct fx *f = *state;
	char *p;
	int fd = -1;

	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	close(fd);
	sweep(f, f->state, NULL, 0066);
	/* Spot checks that do not depend on the sweep's arithmetic. */
	assert_int_equal(chmod(f->state, 0777), 0);
	expect_dir_refused(f, NULL, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "0777"));
	assert_int_equal(chmod(f->state, 0755), 0);
	expect_dir_refused(f, NULL, UP_ESTATE);
	assert_int_equal(chmod(f->state, 0701), 0);
	assert_int_equal(up_state_dir(f->ctx, NULL, &fd), UP_OK);
	close(fd);

	assert_int_equal(chmod(f->state, 0711), 0);
	assert_int_equal(up_state_dir(f->ctx, "users", &fd), UP_OK);
	close(fd);
	p = path2(f->state, "users");
	sweep(f, p, "users", 0077);
	assert_int_equal(chmod(p, 0711), 0);
	expect_dir_refused(f, "users", UP_ESTATE);
	free(p);

	assert_int_equal(up_state_dir(f->ctx, "jwks", &fd), UP_OK);
	close(fd);
	p = path2(f->state, "jwks");
	sweep(f, p, "jwks", 0077);
	free(p);

	assert_int_equal(up_state_dir(f->ctx, "nss", &fd), UP_OK);
	close(fd);
	p = path2(f->state, "nss");
	sweep(f, p, "nss", 0022);
	assert_int_equal(chmod(p, 0775), 0);
	expect_dir_refused(f, "nss", UP_ESTATE);
	free(p);

	/* A good sub-directory under a bad state_dir is refused. */
	assert_int_equal(chmod(f->state, 0777), 0);
	expect_dir_refused(f, "nss", UP_ESTATE);
}

/* --- up_state_read --------------------------------------------------- */

static int open_state(struct fx *f)
{
	int fd = -1;

	assert_int_equal(up_state_dir(f->ctx, "users", &fd), UP_OK);
	return fd;
}

static void expect_read(struct fx *f, int dfd, const char *name, size_t cap, up_err want)
{
	char *data = (char *)0x1;
	size_t len = 4242;
	up_err r;

	up_clear_detail(f->ctx);
	r = up_state_read(f->ctx, dfd, name, cap, &data, &len);
	if (r != want)
		fail_msg("up_state_read(%s) = %d (%s), want %d (%s); detail: %s", name, r,
			 up_strerror(r), want, up_strerror(want), up_ctx_detail(f->ctx));
	if (r == UP_OK) {
		free(data);
		return;
	}
	assert_ptr_equal(data, (char *)0x1);
	assert_int_equal(len, 4242);
	if (r == UP_ESTATE)
		assert_true(up_ctx_detail(f->ctx)[0] != '\0');
}

static void test_read_good(void **state)
{
	struct fx *f = *state;
	int dfd = open_state(f);
	char *dir = path2(f->state, "users");
	char *data = NULL;
	size_t len = 0;

	free(t_write_file(dir, "good", "{\"v\":1}", 0600));
	assert_int_equal(up_state_read(f->ctx, dfd, "good", 1024, &data, &len), UP_OK);
	assert_int_equal(len, 7);
	assert_string_equal(data, "{\"v\":1}");
	free(data);
	/* Exactly at the cap. */
	assert_int_equal(up_state_read(f->ctx, dfd, "good", 7, &data, &len), UP_OK);
	assert_int_equal(len, 7);
	free(data);
	/* Readable by others is fine (nss/passwd is 0644); writable is not. */
	free(t_write_file(dir, "pub", "x", 0644));
	expect_read(f, dfd, "pub", 10, UP_OK);
	free(t_write_file(dir, "ro", "x", 0400));
	expect_read(f, dfd, "ro", 10, UP_OK);
	/* Empty file. */
	free(t_write_file(dir, "empty", "", 0600));
	assert_int_equal(up_state_read(f->ctx, dfd, "empty", 10, &data, &len), UP_OK);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
	expect_read(f, dfd, "missing", 10, UP_ENOENT);
	close(dfd);
	free(dir);
}

static void test_read_refused(void **state)
{
	struct fx *f = *state;
	int dfd = open_state(f);
	char *dir = path2(f->state, "users");
	char *good = NULL, *p;
	time_t t0;

	good = t_write_file(dir, "good", "content", 0600);

	p = path2(dir, "link");
	assert_int_equal(symlink(good, p), 0);
	expect_read(f, dfd, "link", 100, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "symbolic link"));
	free(p);

	/* A FIFO nobody writes to: refused at once, not a hang. */
	p = path2(dir, "fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10);
	t0 = time(NULL);
	expect_read(f, dfd, "fifo", 100, UP_ESTATE);
	assert_true(time(NULL) - t0 < 3);
	alarm(0);
	free(p);

	/* Hard links: both names are refused. */
	p = path2(dir, "hard");
	assert_int_equal(link(good, p), 0);
	expect_read(f, dfd, "hard", 100, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "hard link"));
	expect_read(f, dfd, "good", 100, UP_ESTATE);
	assert_int_equal(unlink(p), 0);
	expect_read(f, dfd, "good", 100, UP_OK);
	free(p);

	if (geteuid() == 0) { /* chown needs root */
		free(t_write_file(dir, "nobody", "x", 0600));
		p = path2(dir, "nobody");
		assert_int_equal(chown(p, NOBODY, 0), 0);
		expect_read(f, dfd, "nobody", 100, UP_ESTATE);
		assert_non_null(strstr(up_ctx_detail(f->ctx), "owned by uid 65534"));
		free(p);
	}

	static const mode_t bad_modes[] = { 0666, 0622, 0620, 0602, 0660, 0606 };
	for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		free(t_write_file(dir, "open", "x", bad_modes[i]));
		expect_read(f, dfd, "open", 100, UP_ESTATE);
	}

	free(t_write_file(dir, "big", "0123456789", 0600));
	expect_read(f, dfd, "big", 9, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "cap"));
	expect_read(f, dfd, "big", 10, UP_OK);

	p = path2(dir, "adir");
	assert_int_equal(mkdir(p, 0700), 0);
	expect_read(f, dfd, "adir", 100, UP_ESTATE);
	free(p);

	expect_read(f, dfd, ".good", 100, UP_EINVAL);
	expect_read(f, dfd, "", 100, UP_EINVAL);
	expect_read(f, dfd, "../users/good", 100, UP_EINVAL);
	{
		char *data = NULL;
		size_t len = 0;
		assert_int_equal(up_state_read(f->ctx, dfd, NULL, 100, &data, &len), UP_EINVAL);
		assert_int_equal(up_state_read(f->ctx, dfd, "good", 100, NULL, &len), UP_EINVAL);
	}
	close(dfd);
	free(good);
	free(dir);
}

/* --- up_state_write -------------------------------------------------- */

/* Names in `dir` other than `keep` (NULL-terminated): must be none. */
static void assert_only(const char *dir, const char *const *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d))) {
		bool ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
		for (const char *const *k = keep; !ok && *k; k++)
			ok = strcmp(e->d_name, *k) == 0;
		if (!ok) {
			closedir(d);
			fail_msg("unexpected file %s/%s", dir, e->d_name);
		}
	}
	closedir(d);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void test_write_basic(void **state)
{
	struct fx *f = *state;
	int dfd = open_state(f);
	char *dir = path2(f->state, "users");
	char *p = path2(dir, "f.json"), *data;
	const char *const keep[] = { "f.json", "pub", NULL };
	mode_t old = umask(0077);
	size_t len;

	assert_int_equal(up_state_write(f->ctx, dfd, "f.json", "first", 5, 0600), UP_OK);
	data = slurp(p, &len);
	assert_int_equal(len, 5);
	assert_string_equal(data, "first");
	free(data);
	assert_int_equal(mode_of(p), 0600);
	assert_int_equal(up_state_write(f->ctx, dfd, "f.json", "second!", 7, 0600), UP_OK);
	data = slurp(p, &len);
	assert_int_equal(len, 7);
	assert_string_equal(data, "second!");
	free(data);
	/* The mode is applied whatever the umask. */
	assert_int_equal(up_state_write(f->ctx, dfd, "pub", "x", 1, 0644), UP_OK);
	free(p);
	p = path2(dir, "pub");
	assert_int_equal(mode_of(p), 0644);
	umask(old);
	/* Empty content. */
	assert_int_equal(up_state_write(f->ctx, dfd, "pub", NULL, 0, 0644), UP_OK);
	data = slurp(p, &len);
	assert_int_equal(len, 0);
	free(data);
	/* What was written reads back through the checked reader. */
	assert_int_equal(up_state_read(f->ctx, dfd, "f.json", 100, &data, &len), UP_OK);
	assert_string_equal(data, "second!");
	free(data);
	assert_only(dir, keep);

	assert_int_equal(up_state_write(f->ctx, dfd, ".x", "a", 1, 0600), UP_EINVAL);
	assert_int_equal(up_state_write(f->ctx, dfd, "a/b", "a", 1, 0600), UP_EINVAL);
	assert_int_equal(up_state_write(f->ctx, dfd, "", "a", 1, 0600), UP_EINVAL);
	assert_int_equal(up_state_write(f->ctx, dfd, "n", NULL, 1, 0600), UP_EINVAL);
	assert_only(dir, keep);
	free(p);
	free(dir);
	close(dfd);
}

/* rename() replaces a planted symlink itself; its target is untouched. */
static void test_write_over_symlink(void **state)
{
	struct fx *f = *state;
	int dfd = open_state(f);
	char *dir = path2(f->state, "users");
	char *victim = t_write_file(f->base, "victim", "precious", 0600);
	char *p = path2(dir, "u.json"), *data;
	struct stat st;
	size_t len;

	assert_int_equal(symlink(victim, p), 0);
	assert_int_equal(up_state_write(f->ctx, dfd, "u.json", "new", 3, 0600), UP_OK);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	data = slurp(victim, &len);
	assert_string_equal(data, "precious");
	free(data);
	data = slurp(p, &len);
	assert_string_equal(data, "new");
	free(data);
	free(p);
	free(victim);
	free(dir);
	close(dfd);
}

static void test_write_enospc(void **state)
{
	struct fx *f = *state;
	const char *const keep[] = { "f", "filler", NULL };
	char *data, *fill, *big;
	size_t len, n = 0;
	int dfd, fd;
	up_err r;

	f->mnt = path2(f->base, "mnt");
	assert_int_equal(mkdir(f->mnt, 0700), 0);
	if (mount("tmpfs", f->mnt, "tmpfs", 0, "size=64k,mode=0700") < 0) {
		print_message("# cannot mount a tmpfs (%s): ENOSPC case skipped\n",
			      strerror(errno));
		free(f->mnt);
		f->mnt = NULL;
		if (geteuid() == 0)
			skip();
		return; /* mount(2) needs root; skip() reads as a failure to automake */
	}
	dfd = open(f->mnt, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(up_state_write(f->ctx, dfd, "f", "old content", 11, 0600), UP_OK);

	/* Fill the file system. */
	fill = path2(f->mnt, "filler");
	fd = open(fill, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	big = malloc(4096);
	assert_non_null(big);
	memset(big, 'F', 4096);
	for (;;) {
		ssize_t w = write(fd, big, 4096);
		if (w <= 0)
			break;
		n += (size_t)w;
	}
	assert_int_equal(errno, ENOSPC);
	close(fd);
	assert_true(n < 64 * 1024);
	free(big);

	big = malloc(32 * 1024);
	assert_non_null(big);
	memset(big, 'N', 32 * 1024);
	r = up_state_write(f->ctx, dfd, "f", big, 32 * 1024, 0600);
	assert_int_equal(r, UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(f->ctx), "No space"));
	free(big);

	assert_int_equal(up_state_read(f->ctx, dfd, "f", 100, &data, &len), UP_OK);
	assert_int_equal(len, 11);
	assert_string_equal(data, "old content");
	free(data);
	assert_only(f->mnt, keep);

	/* With room again, the write goes through. */
	assert_int_equal(unlink(fill), 0);
	assert_int_equal(up_state_write(f->ctx, dfd, "f", "new", 3, 0600), UP_OK);
	assert_int_equal(up_state_read(f->ctx, dfd, "f", 100, &data, &len), UP_OK);
	assert_string_equal(data, "new");
	free(data);
	free(fill);
	close(dfd);
	assert_int_equal(umount(f->mnt), 0);
	free(f->mnt);
	f->mnt = NULL;
}

#define KILL_SIZE (256 * 1024)
#define KILL_ROUNDS 50

static void fill_gen(char *buf, unsigned gen)
{
	snprintf(buf, 16, "gen=%08u;", gen);
	memset(buf + 13, 'a' + (int)(gen % 26), KILL_SIZE - 13);
}

/* 0 for a complete content, with its generation in *gen; -1 otherwise. */
static int check_gen(const char *data, size_t len, unsigned *gen)
{
	int64_t g;
	char num[9];

	if (len != KILL_SIZE || memcmp(data, "gen=", 4) != 0 || data[12] != ';')
		return -1;
	memcpy(num, data + 4, 8);
	num[8] = '\0';
	if (up_parse_int64(num, 0, 99999999, &g))
		return -1;
	for (size_t i = 13; i < len; i++)
		if (data[i] != 'a' + (int)(g % 26))
			return -1;
	*gen = (unsigned)g;
	return 0;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A writer killed at random moments never leaves a torn target: it is
 * always the old or a complete new content. */
static void test_write_killed(void **state)
{
	struct fx *f = *state;
	int dfd = open_state(f);
	char *buf = malloc(KILL_SIZE);
	unsigned last = 0, changed = 0;
	int64_t t0, one_us;

	assert_non_null(buf);
	fill_gen(buf, 0);
	t0 = now_us();
	assert_int_equal(up_state_write(f->ctx, dfd, "t", buf, KILL_SIZE, 0600), UP_OK);
	one_us = now_us() - t0;
	if (one_us < 1000)
		one_us = 1000;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());

	for (unsigned round = 1; round <= KILL_ROUNDS; round++) {
		int status = 0;
		char *data = NULL;
		size_t len = 0;
		unsigned gen = 0;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			for (unsigned k = 0;; k++) {
				fill_gen(buf, round * 1000 + k % 1000);
				if (up_state_write(f->ctx, dfd, "t", buf, KILL_SIZE, 0600))
					_exit(3);
			}
		}
		/* Kill anywhere within about four writes. */
		usleep((useconds_t)(random() % (4 * one_us)));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

		assert_int_equal(up_state_read(f->ctx, dfd, "t", 2 * KILL_SIZE, &data, &len),
				 UP_OK);
		if (check_gen(data, len, &gen) != 0)
			fail_msg("round %u: torn content (%zu bytes)", round, len);
		/* Either what was there before this round, or this round's. */
		if (gen != last && gen / 1000 != round)
			fail_msg("round %u: generation %u from nowhere (last %u)", round, gen, last);
		if (gen != last)
			changed++;
		last = gen;
		free(data);
	}
	print_message("# %u of %d rounds replaced the content (one write %lld us)\n", changed,
		      KILL_ROUNDS, (long long)one_us);
	/* The kills must have landed both before and after complete writes
	 * for this test to mean something. */
	assert_true(changed > 0);
	free(buf);
	close(dfd);
}

/* --- up_state_lock --------------------------------------------------- */

static void test_lock(void **state)
{
	struct fx *f = *state;
	int dfd = open_state(f);
	char *dir = path2(f->state, "users");
	char *p = path2(dir, "u.lock");
	int fd = -1, st = 0, pipefd[2];
	pid_t pid;
	int64_t t0, el;
	char c;

	assert_int_equal(up_state_lock(f->ctx, dfd, "u.lock", &fd), UP_OK);
	assert_true(fd >= 0);
	assert_int_equal(mode_of(p), 0600);
	assert_fd_is(fd, p);

	/* A second locker (another process) waits `timeout` and gives up. */
	f->ctx->cfg->timeout = 1;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd2 = -7;
		int64_t s = now_us();
		up_err r = up_state_lock(f->ctx, dfd, "u.lock", &fd2);
		int64_t e = now_us() - s;
		_exit(r == UP_ESTATE && fd2 == -7 && e >= 900000 && e < 5000000 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* Same in this process through another open file description. */
	{
		int fd2 = -7;
		t0 = now_us();
		assert_int_equal(up_state_lock(f->ctx, dfd, "u.lock", &fd2), UP_ESTATE);
		el = now_us() - t0;
		assert_int_equal(fd2, -7);
		assert_true(el >= 900000 && el < 5000000);
		assert_non_null(strstr(up_ctx_detail(f->ctx), "still locked"));
	}

	/* Released: the next locker gets it at once. */
	close(fd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd2 = -1;
		int64_t s = now_us();
		up_err r = up_state_lock(f->ctx, dfd, "u.lock", &fd2);
		_exit(r == UP_OK && fd2 >= 0 && now_us() - s < 500000 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);

	/* A holder that lets go within the timeout: the waiter gets the lock. */
	f->ctx->cfg->timeout = 5;
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd2 = -1;
		close(pipefd[0]);
		if (up_state_lock(f->ctx, dfd, "u.lock", &fd2) != UP_OK)
			_exit(1);
		if (write(pipefd[1], "L", 1) != 1)
			_exit(1);
		usleep(300000);
		_exit(0); /* releases the lock */
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	close(pipefd[0]);
	t0 = now_us();
	fd = -1;
	assert_int_equal(up_state_lock(f->ctx, dfd, "u.lock", &fd), UP_OK);
	el = now_us() - t0;
	assert_true(fd >= 0);
	assert_true(el >= 100000);
	assert_true(el < 5000000);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	free(p);
	free(dir);
	close(dfd);
}

static void test_lock_refused(void **state)
{
	struct fx *f = *state;
	int dfd = open_state(f);
	char *dir = path2(f->state, "users");
	char *target = t_write_file(f->base, "elsewhere", "", 0600);
	char *p;
	int fd = -7;

	p = path2(dir, "l1");
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(up_state_lock(f->ctx, dfd, "l1", &fd), UP_ESTATE);
	free(p);
	p = path2(dir, "l2");
	assert_int_equal(mkfifo(p, 0600), 0);
	alarm(10);
	assert_int_equal(up_state_lock(f->ctx, dfd, "l2", &fd), UP_ESTATE);
	alarm(0);
	free(p);
	if (geteuid() == 0) { /* chown needs root */
		free(t_write_file(dir, "l3", "", 0600));
		p = path2(dir, "l3");
		assert_int_equal(chown(p, NOBODY, 0), 0);
		assert_int_equal(up_state_lock(f->ctx, dfd, "l3", &fd), UP_ESTATE);
		free(p);
	}
	assert_int_equal(up_state_lock(f->ctx, dfd, "../x", &fd), UP_EINVAL);
	assert_int_equal(up_state_lock(f->ctx, dfd, "ok", NULL), UP_EINVAL);
	assert_int_equal(fd, -7);
	free(target);
	free(dir);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dir_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_missing_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_not_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_over_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_owner, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
