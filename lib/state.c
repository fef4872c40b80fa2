/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "codec.h"
#include "ctx.h"
#include "log.h"
#include "secret.h"
#include "state.h"

/*
 * Checked files under state_dir (DESIGN §4). Nothing here follows a
 * symbolic link, trusts a file it did not check, or replaces a file other
 * than by rename() of a complete, fsync'ed temporary file.
 *
 * state_dir itself may be 0700 or 0711: the NSS module, running in any
 * unprivileged process, must be able to traverse it to reach nss/passwd
 * (0644 in a 0755 nss/). Nothing but nss/ is readable by others: users/ and
 * jwks/ are 0700.
 */

uid_t up_state_owner(const struct up_ctx *ctx)
{
	return ctx ? ctx->state_uid : 0;
}

const char *up_state_owner_name(const struct up_ctx *ctx, char *buf, size_t len)
{
	if (up_state_owner(ctx) == 0)
		snprintf(buf, len, "root");
	else
		snprintf(buf, len, "uid %u", (unsigned)up_state_owner(ctx));
	return buf;
}

static bool name_ok(const char *name)
{
	return name && name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < 200;
}

static up_err check_dir(struct up_ctx *ctx, int fd, const char *what, mode_t forbidden)
{
	struct stat st;
	char who[32];

	if (fstat(fd, &st) < 0)
		return up_fail(ctx, UP_ESTATE, "%s: fstat: %s", what, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return up_fail(ctx, UP_ESTATE, "%s: not a directory", what);
	if (st.st_uid != up_state_owner(ctx))
		return up_fail(ctx, UP_ESTATE, "%s: owned by uid %u, not %s", what,
			       (unsigned)st.st_uid, up_state_owner_name(ctx, who, sizeof(who)));
	if (st.st_mode & forbidden)
		return up_fail(ctx, UP_ESTATE, "%s: mode %04o is too open", what,
			       (unsigned)(st.st_mode & 07777));
	return UP_OK;
}

/* Open (creating when missing) one directory level below `parentfd`. */
static up_err open_dir(struct up_ctx *ctx, int parentfd, const char *path, const char *what,
		       mode_t create_mode, mode_t forbidden, int *ret_fd)
{
	bool created = false;
	int fd;
	up_err r;

	if (mkdirat(parentfd, path, create_mode) == 0)
		created = true;
	else if (errno != EEXIST)
		return up_fail(ctx, UP_ESTATE, "%s: mkdir: %s", what, strerror(errno));
	fd = openat(parentfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return up_fail(ctx, UP_ESTATE, "%s: %s", what,
			       errno == ELOOP || errno == ENOTDIR ? "not a directory (symlink?)"
								  : strerror(errno));
	/* A directory we just made gets its mode regardless of the umask; one
	 * that was there with the wrong mode is refused, not repaired. */
	if (created && fchmod(fd, create_mode) < 0) {
		close(fd);
		return up_fail(ctx, UP_ESTATE, "%s: chmod: %s", what, strerror(errno));
	}
	r = check_dir(ctx, fd, what, forbidden);
	if (r) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return UP_OK;
}

up_err up_state_dir(struct up_ctx *ctx, const char *sub, int *ret_dirfd)
{
	const char *dir;
	int fd, subfd;
	up_err r;

	if (!ctx || !ctx->cfg || !ret_dirfd)
		return UP_EINVAL;
	dir = ctx->cfg->state_dir;
	if (!dir || dir[0] != '/')
		return up_fail(ctx, UP_ECONFIG, "state_dir must be an absolute path");
	r = open_dir(ctx, AT_FDCWD, dir, dir, 0711, 0066, &fd);
	if (r)
		return r;
	if (!sub) {
		*ret_dirfd = fd;
		return UP_OK;
	}
	if (!name_ok(sub)) {
		close(fd);
		return UP_EINVAL;
	}
	if (strcmp(sub, "nss") == 0)
		r = open_dir(ctx, fd, sub, "state_dir/nss", 0755, 0022, &subfd);
	else
		r = open_dir(ctx, fd, sub, sub, 0700, 0077, &subfd);
	close(fd);
	if (r)
		return r;
	*ret_dirfd = subfd;
	return UP_OK;
}

up_err up_state_read(struct up_ctx *ctx, int dirfd, const char *name, size_t cap, char **ret_data,
		     size_t *ret_len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;
	up_err r;

	if (!name_ok(name) || !ret_data || !ret_len)
		return UP_EINVAL;
	/* O_NONBLOCK: a FIFO planted here must not hang the sign-in. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return UP_ENOENT;
		return up_fail(ctx, UP_ESTATE, "%s: %s", name,
			       errno == ELOOP ? "is a symbolic link" : strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		r = up_fail(ctx, UP_ESTATE, "%s: fstat: %s", name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = up_fail(ctx, UP_ESTATE, "%s: not a regular file", name);
		goto out;
	}
	if (st.st_uid != up_state_owner(ctx)) {
		char who[32];

		r = up_fail(ctx, UP_ESTATE, "%s: owned by uid %u, not %s", name,
			    (unsigned)st.st_uid, up_state_owner_name(ctx, who, sizeof(who)));
		goto out;
	}
	if (st.st_mode & 0022) {
		r = up_fail(ctx, UP_ESTATE, "%s: mode %04o is group or world writable", name,
			    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_nlink != 1) {
		r = up_fail(ctx, UP_ESTATE, "%s: has %lu hard links", name,
			    (unsigned long)st.st_nlink);
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > cap) {
		r = up_fail(ctx, UP_ESTATE, "%s: %lld bytes is over the %zu-byte cap", name,
			    (long long)st.st_size, cap);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = UP_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = up_fail(ctx, UP_ESTATE, "%s: short read", name);
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret_data = buf;
	*ret_len = got;
	buf = NULL;
	r = UP_OK;
out:
	if (buf)
		up_free_secret_len(buf, (size_t)st.st_size + 1);
	close(fd);
	return r;
}

up_err up_state_write(struct up_ctx *ctx, int dirfd, const char *name, const void *data, size_t len,
		      mode_t mode)
{
	unsigned char rnd[8];
	char tmp[256], *hex = NULL;
	const char *p = data;
	size_t done = 0;
	int fd;
	up_err r;

	if (!name_ok(name) || (!data && len))
		return UP_EINVAL;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1 || up_hex_encode(rnd, sizeof(rnd), &hex))
		return up_fail(ctx, UP_EINTERNAL, "no randomness for a temporary name");
	snprintf(tmp, sizeof(tmp), ".%s.%s.tmp", name, hex);
	free(hex);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return up_fail(ctx, UP_ESTATE, "%s: create: %s", name, strerror(errno));
	if (mode != 0600 && fchmod(fd, mode) < 0) {
		r = up_fail(ctx, UP_ESTATE, "%s: chmod: %s", name, strerror(errno));
		goto fail;
	}
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = up_fail(ctx, UP_ESTATE, "%s: write: %s", name,
				    n < 0 ? strerror(errno) : "no progress");
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = up_fail(ctx, UP_ESTATE, "%s: fsync: %s", name, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = up_fail(ctx, UP_ESTATE, "%s: close: %s", name, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = up_fail(ctx, UP_ESTATE, "%s: rename: %s", name, strerror(errno));
		goto fail;
	}
	if (fsync(dirfd) < 0)
		return up_fail(ctx, UP_ESTATE, "%s: fsync of the directory: %s", name,
			       strerror(errno));
	return UP_OK;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return r;
}

/* ".<name>.<16 hex>.tmp", as up_state_write names them; any name when
 * `name` is NULL. */
static bool is_tmp_of(const char *entry, const char *name)
{
	size_t len = strlen(entry), nlen;
	const char *hex;

	if (len < 1 + 1 + 16 + 4 || entry[0] != '.' || strcmp(entry + len - 4, ".tmp") != 0)
		return false;
	hex = entry + len - 4 - 16;
	if (hex[-1] != '.')
		return false;
	for (size_t i = 0; i < 16; i++)
		if (!strchr("0123456789abcdef", hex[i]))
			return false;
	if (!name)
		return hex - 1 > entry + 1;
	nlen = strlen(name);
	return (size_t)(hex - 1 - (entry + 1)) == nlen && strncmp(entry + 1, name, nlen) == 0;
}

up_err up_state_tmp_sweep(struct up_ctx *ctx, int dirfd, const char *name, bool remove,
			  size_t *ret_n)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return up_fail(ctx, UP_ESTATE, "cannot open the state directory: %s",
			       strerror(errno));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return up_fail(ctx, UP_ESTATE, "cannot read the state directory: %s",
			       strerror(errno));
	}
	/* Bounded: a directory listing ends; unlinking never adds entries. */
	while ((de = readdir(d)) != NULL) {
		if (!is_tmp_of(de->d_name, name))
			continue;
		if (remove && unlinkat(dirfd, de->d_name, 0) < 0 && errno != ENOENT)
			continue;
		n++;
	}
	closedir(d);
	if (ret_n)
		*ret_n = n;
	return UP_OK;
}

up_err up_state_lock(struct up_ctx *ctx, int dirfd, const char *name, int *ret_fd)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	struct stat st;
	int64_t waited_ms = 0, limit_ms;
	int fd;

	if (!name_ok(name) || !ret_fd)
		return UP_EINVAL;
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0)
		return up_fail(ctx, UP_ESTATE, "%s: %s", name,
			       errno == ELOOP ? "is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != up_state_owner(ctx)) {
		close(fd);
		return up_fail(ctx, UP_ESTATE, "%s: lock file refused", name);
	}
	/* Bounded wait: a stuck holder must not hang every later sign-in. */
	limit_ms = (ctx->cfg && ctx->cfg->timeout > 0 ? ctx->cfg->timeout : 10) * 1000;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			close(fd);
			return up_fail(ctx, UP_ESTATE, "%s: flock: %s", name, strerror(errno));
		}
		if (waited_ms >= limit_ms) {
			close(fd);
			return up_fail(ctx, UP_ESTATE, "%s: still locked after %lld ms", name,
				       (long long)waited_ms);
		}
		nanosleep(&pause, NULL);
		waited_ms += 10;
	}
	*ret_fd = fd;
	return UP_OK;
}

enum up_cache_state up_cache_load(struct up_ctx *ctx, int dirfd, const char *name, size_t cap,
				  const char *key_name, const char *key, json_t **ret_root,
				  int64_t *ret_fetched_at)
{
	char *data = NULL;
	size_t len = 0;
	json_t *root = NULL, *fa;
	const char *k;
	up_err rc;

	*ret_root = NULL;
	rc = up_state_read(ctx, dirfd, name, cap, &data, &len);
	if (rc == UP_ENOENT)
		return UP_CACHE_NONE;
	if (rc)
		return UP_CACHE_REFUSED;
	rc = up_json_parse(ctx, data, len, cap, &root);
	free(data);
	if (rc)
		return UP_CACHE_CORRUPT;
	fa = json_object_get(root, "fetched_at");
	k = json_string_value(json_object_get(root, key_name));
	if (!json_is_integer(fa) || !k || strcmp(k, key) != 0) {
		json_decref(root);
		return UP_CACHE_CORRUPT;
	}
	*ret_fetched_at = (int64_t)json_integer_value(fa);
	*ret_root = root;
	return UP_CACHE_OK;
}

up_err up_cache_store(struct up_ctx *ctx, int dirfd, const char *name, size_t cap,
		      const json_t *root)
{
	char *text = up_json_dump(root);
	up_err rc;

	if (!text)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	if (strlen(text) > cap)
		rc = up_fail(ctx, UP_ESTATE, "%s: too large to cache", name);
	else
		rc = up_state_write(ctx, dirfd, name, text, strlen(text), 0600);
	free(text);
	return rc;
}
