/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_STATE_H
#define UP_LIB_STATE_H

/* Private to libuserpool (lib/state.c): checked files under state_dir. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <userpool/err.h>

struct up_ctx;

/* Ensure state_dir (and `sub`, when not NULL) exist: root-owned (when we run as
 * root), 0700, not a symlink. `sub` is one path component ("jwks", "users"). */
up_err up_state_dir(struct up_ctx *ctx, const char *sub, int *ret_dirfd);
/* Checked read of `name` in dirfd: O_NOFOLLOW, regular, owner as expected,
 * not group/world writable, size <= cap. UP_ENOENT when absent. */
up_err up_state_read(struct up_ctx *ctx, int dirfd, const char *name, size_t cap, char **ret_data,
		     size_t *ret_len);
/* Atomic write: temp file O_CREAT|O_EXCL|O_NOFOLLOW `mode`, write, fsync,
 * rename, fsync(dir). */
up_err up_state_write(struct up_ctx *ctx, int dirfd, const char *name, const void *data, size_t len,
		      mode_t mode);
/* Temp files that a killed writer left in dirfd (".<name>.<hex>.tmp"):
 * for one `name`, or every one when `name` is NULL. With `remove`, they are
 * unlinked: only a writer that holds the lock every writer of `name`
 * takes may do that (nobody else can be writing it). *ret_n (optional):
 * how many were found. */
up_err up_state_tmp_sweep(struct up_ctx *ctx, int dirfd, const char *name, bool remove,
			  size_t *ret_n);
/* A JSON cache file of a state directory (the JWKS and the discovery
 * caches): an object {"fetched_at": integer, <key_name>: "<key>", ...}. */
enum up_cache_state { UP_CACHE_OK, UP_CACHE_NONE, UP_CACHE_REFUSED, UP_CACHE_CORRUPT };
/* Checked read (up_state_read) of at most cap bytes, parsed; CORRUPT when it
 * is not such an object or is for another key (URI); REFUSED by the state
 * checks, the reason in the detail. OK: *ret_root is owned by the caller. */
enum up_cache_state up_cache_load(struct up_ctx *ctx, int dirfd, const char *name, size_t cap,
				  const char *key_name, const char *key, json_t **ret_root,
				  int64_t *ret_fetched_at);
/* Atomic write of `root` (0600); UP_ESTATE when its text is over cap. */
up_err up_cache_store(struct up_ctx *ctx, int dirfd, const char *name, size_t cap,
		      const json_t *root);
/* Open `name` for flock() (created 0600 if missing). Returns the fd. */
up_err up_state_lock(struct up_ctx *ctx, int dirfd, const char *name, int *ret_fd);
/* The uid that must own state_dir, its files and a configuration file
 * with client_secret (config.c): 0 unless
 * up_ctx_set_state_owner said otherwise. */
uid_t up_state_owner(const struct up_ctx *ctx);
/* "root" or "uid N" written into buf (and returned): whom they must
 * belong to, for messages. */
const char *up_state_owner_name(const struct up_ctx *ctx, char *buf, size_t len);

#endif
