/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

void t_log_fn(void *ud, int priority, const char *msg)
{
	struct t_log *log = ud;
	int n;

	if (!log)
		return;
	n = snprintf(log->buf + log->len, sizeof(log->buf) - log->len, "%d %s\n", priority, msg);
	if (n > 0 && (size_t)n < sizeof(log->buf) - log->len)
		log->len += (size_t)n;
}

void t_log_reset(struct t_log *log)
{
	log->len = 0;
	log->buf[0] = '\0';
}

bool t_log_contains(const struct t_log *log, const char *needle)
{
	return strstr(log->buf, needle) != NULL;
}

int64_t t_clock_fn(void *ud)
{
	return ((struct t_clock *)ud)->now;
}

char *t_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char *path = NULL;

	if (!base || !*base)
		base = "/tmp";
	assert_true(asprintf(&path, "%s/uptest.XXXXXX", base) > 0);
	assert_non_null(mkdtemp(path));
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void t_rmtree(const char *dir)
{
	if (dir)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *t_write_file(const char *dir, const char *name, const char *content, mode_t mode)
{
	char *path = NULL;
	size_t len = strlen(content);
	int fd;

	assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

struct up_ctx *t_ctx_with_config(const char *dir, const char *config, struct t_log *log,
				 struct t_clock *clock)
{
	struct up_ctx *ctx = NULL;
	char *path = t_write_file(dir, "userpool.conf", config, 0600);
	up_err r;

	assert_int_equal(up_ctx_new(&ctx), UP_OK);
	/* The state directory is the test's own: no root needed. */
	up_ctx_set_state_owner(ctx, geteuid(), getegid());
	if (log)
		up_ctx_set_logger(ctx, t_log_fn, log);
	if (clock)
		up_ctx_set_clock(ctx, t_clock_fn, clock);
	r = up_ctx_load_config(ctx, path, 0, NULL, false);
	if (r)
		print_error("config load failed: %s: %s\n", up_strerror(r), up_ctx_detail(ctx));
	assert_int_equal(r, UP_OK);
	free(path);
	return ctx;
}
