/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store_int.h"
#include "testlib.h"

/*
 * lib/store.c: the per-user state file and the offline password verifier.
 * Every hostile file is checked against a control: the same bytes in the
 * same place, planted the honest way, are read back. So a refusal is the
 * check at work, not a broken fixture.
 */

#define ISSUER "https://127.0.0.1:9/us-east-1_TestPool1"
#define CLIENT "testclient0001"

struct fx {
	char *dir;
	char *state;
	char *users; /* state/users */
	struct t_log log;
	struct t_clock clock;
	struct up_ctx *ctx;
};

static struct up_ctx *make_ctx(struct fx *f, const char *state_dir, const char *client_id)
{
	char *cfg = NULL;

	assert_true(asprintf(&cfg,
			     "user_pool_id = us-east-1_TestPool1\n"
			     "client_id = %s\n"
			     "issuer = " ISSUER "\n"
			     "state_dir = %s\n"
			     "timeout = 2s\n",
			     client_id ? client_id : CLIENT, state_dir) > 0);
	struct up_ctx *ctx = t_ctx_with_config(f->dir, cfg, &f->log, &f->clock);
	free(cfg);
	return ctx;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = t_mkdtemp();
	assert_true(asprintf(&f->state, "%s/state", f->dir) > 0);
	assert_true(asprintf(&f->users, "%s/users", f->state) > 0);
	f->clock.now = 1700000000;
	f->ctx = make_ctx(f, f->state, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	char *mnt = NULL;

	up_ctx_free(f->ctx);
	/* test_enospc's tmpfs, should the test have failed before unmounting. */
	if (asprintf(&mnt, "%s/small", f->dir) > 0)
		umount2(mnt, MNT_DETACH);
	free(mnt);
	t_rmtree(f->dir);
	free(f->dir);
	free(f->state);
	free(f->users);
	free(f);
	return 0;
}

/* A complete record for `username`; `tag` varies the content. */
static struct up_user_record *make_rec(const char *username, const char *tag, size_t token_len)
{
	struct up_user_record *r = calloc(1, sizeof(*r));
	char *tok;

	assert_non_null(r);
	r->username = strdup(username);
	r->issuer = strdup(ISSUER);
	r->client_id = strdup(CLIENT);
	assert_true(asprintf(&r->sub, "sub-%s-%s", username, tag) > 0);
	r->groups = calloc(3, sizeof(char *));
	r->groups[0] = strdup("staff");
	r->groups[1] = strdup(tag);
	tok = malloc(token_len + 1);
	assert_non_null(tok);
	memset(tok, tag[0], token_len);
	tok[token_len] = '\0';
	r->id_token = tok;
	r->verifier = strdup("scrypt$131072$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
			     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	r->mfa = true;
	r->last_online = 1700000000;
	r->failures = 2;
	r->stepups = calloc(2, sizeof(*r->stepups));
	r->stepups[0].service = strdup("sudo");
	r->stepups[0].tty = strdup("/dev/pts/3");
	r->stepups[0].at = 1699999000;
	r->n_stepups = 1;
	return r;
}

static char *user_path(struct fx *f, const char *username)
{
	char key[512], hex[65], *path = NULL;

	snprintf(key, sizeof(key), "%s\n%s", ISSUER, username);
	assert_int_equal(up_sha256_hex(key, strlen(key), hex), UP_OK);
	assert_true(asprintf(&path, "%s/%s.json", f->users, hex) > 0);
	return path;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 1 << 17);
	size_t n;

	assert_non_null(fp);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 17) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Replace the file at `path` with `content` (0600 root, one link). */
static void plant(const char *path, const char *content, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void write_alice(struct fx *f)
{
	struct up_user_record *r = make_rec("alice", "a", 900);

	assert_int_equal(up_store_user_write(f->ctx, r), UP_OK);
	up_user_record_free(r);
}

static void expect_present(struct fx *f, const char *username)
{
	struct up_user_record *rec = NULL;
	up_err r = up_store_user_read(f->ctx, username, &rec);

	if (r)
		fail_msg("control read of %s failed: %s: %s\nlog:\n%s", username, up_strerror(r),
			 up_ctx_detail(f->ctx), f->log.buf);
	assert_string_equal(rec->username, username);
	up_user_record_free(rec);
}

/* Read must say "absent" and log a warning with a reason, never the content. */
static void expect_refused(struct fx *f, const char *username, const char *reason)
{
	struct up_user_record *rec = NULL;

	t_log_reset(&f->log);
	assert_int_equal(up_store_user_read(f->ctx, username, &rec), UP_ENOENT);
	assert_null(rec);
	if (!t_log_contains(&f->log, "refused") || !t_log_contains(&f->log, reason))
		fail_msg("expected a refusal log naming '%s', got:\n%s", reason, f->log.buf);
	assert_true(t_log_contains(&f->log, "4 state: user entry users/")); /* LOG_WARNING */
	assert_false(t_log_contains(&f->log, "aaaaaaaa"));		    /* no token */
	assert_false(t_log_contains(&f->log, "scrypt$"));
}

/* ---------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct fx *f = *state;
	struct up_user_record *w = make_rec("alice", "a", 900), *rec = NULL, **list = NULL;
	char *path = user_path(f, "alice");
	struct stat st;

	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_ENOENT);
	assert_int_equal(up_store_user_write(f->ctx, w), UP_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_string_equal(rec->username, "alice");
	assert_string_equal(rec->issuer, ISSUER);
	assert_string_equal(rec->client_id, CLIENT);
	assert_string_equal(rec->sub, w->sub);
	assert_string_equal(rec->groups[0], "staff");
	assert_string_equal(rec->groups[1], "a");
	assert_null(rec->groups[2]);
	assert_string_equal(rec->id_token, w->id_token);
	assert_null(rec->refresh_token);
	assert_string_equal(rec->verifier, w->verifier);
	assert_true(rec->mfa);
	assert_int_equal(rec->last_online, 1700000000);
	assert_int_equal(rec->failures, 2);
	assert_int_equal(rec->n_stepups, 1);
	assert_string_equal(rec->stepups[0].service, "sudo");
	assert_string_equal(rec->stepups[0].tty, "/dev/pts/3");
	assert_int_equal(rec->stepups[0].at, 1699999000);
	up_user_record_free(rec);
	rec = NULL;

	/* The file is versioned JSON; no refresh token unless one is set. */
	char *text = slurp(path);
	assert_non_null(strstr(text, "\"version\":1"));
	assert_null(strstr(text, "refresh_token"));
	free(text);

	/* A refresh token round-trips too. */
	w->refresh_token = strdup("refresh-xyz");
	w->mfa = false;
	assert_int_equal(up_store_user_write(f->ctx, w), UP_OK);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_string_equal(rec->refresh_token, "refresh-xyz");
	assert_false(rec->mfa);
	up_user_record_free(rec);

	/* A second user; list gives both, sorted, and skips lock/temp/junk files. */
	struct up_user_record *b = make_rec("bob", "b", 100);
	assert_int_equal(up_store_user_write(f->ctx, b), UP_OK);
	up_user_record_free(b);
	free(t_write_file(f->users, ".junk.tmp", "{}", 0600));
	free(t_write_file(f->users, "notahash.json", "{}", 0600));
	assert_int_equal(up_store_user_list(f->ctx, &list), UP_OK);
	assert_non_null(list[0]);
	assert_non_null(list[1]);
	assert_null(list[2]);
	assert_string_equal(list[0]->username, "alice");
	assert_string_equal(list[1]->username, "bob");
	up_store_user_list_free(list);

	/* Purge removes one entry only. */
	assert_int_equal(up_store_user_purge(f->ctx, "alice"), UP_OK);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_ENOENT);
	assert_int_equal(up_store_user_purge(f->ctx, "alice"), UP_ENOENT);
	expect_present(f, "bob");
	assert_int_equal(up_store_check(f->ctx), UP_OK);

	/* Records that are not this configuration's are not written. */
	free(w->issuer);
	w->issuer = strdup("https://elsewhere.example/pool");
	assert_int_equal(up_store_user_write(f->ctx, w), UP_EINVAL);
	free(w->issuer);
	w->issuer = strdup(ISSUER);
	free(w->sub);
	w->sub = strdup("");
	assert_int_equal(up_store_user_write(f->ctx, w), UP_EINVAL);
	up_user_record_free(w);
	free(path);
	up_user_record_free(NULL);
	up_store_user_list_free(NULL);
}

struct upd {
	int calls;
	bool saw_cur;
	int64_t failures_seen;
	up_err ret;
	bool write;
};

static up_err upd_fn(void *ud, const struct up_user_record *cur, struct up_user_record **ret_new)
{
	struct upd *u = ud;

	u->calls++;
	u->saw_cur = cur != NULL;
	u->failures_seen = cur ? cur->failures : -1;
	if (u->ret)
		return u->ret;
	if (u->write) {
		struct up_user_record *r = make_rec("alice", "z", 50);
		r->failures = (cur ? cur->failures : 0) + 1;
		*ret_new = r;
	}
	return UP_OK;
}

static void test_update(void **state)
{
	struct fx *f = *state;
	struct upd u = {0};
	struct up_user_record *rec = NULL;

	/* Absent: the callback sees NULL; writing nothing leaves it absent. */
	assert_int_equal(up_store_user_update(f->ctx, "alice", upd_fn, &u), UP_OK);
	assert_int_equal(u.calls, 1);
	assert_false(u.saw_cur);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_ENOENT);

	u.write = true;
	assert_int_equal(up_store_user_update(f->ctx, "alice", upd_fn, &u), UP_OK);
	assert_int_equal(up_store_user_update(f->ctx, "alice", upd_fn, &u), UP_OK);
	assert_true(u.saw_cur);
	assert_int_equal(u.failures_seen, 1);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_int_equal(rec->failures, 2);
	up_user_record_free(rec);

	/* A callback error is returned and nothing is written. */
	u.ret = UP_EPROTO;
	assert_int_equal(up_store_user_update(f->ctx, "alice", upd_fn, &u), UP_EPROTO);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_int_equal(rec->failures, 2);
	up_user_record_free(rec);

	/* A record for another user is not written into alice's file. */
	u.ret = UP_OK;
	assert_int_equal(up_store_user_update(f->ctx, "bob", upd_fn, &u), UP_EINVAL);
	assert_int_equal(up_store_user_read(f->ctx, "bob", &rec), UP_ENOENT);
	assert_int_equal(up_store_user_update(f->ctx, "alice", NULL, NULL), UP_EINVAL);
}

/* ---------------------------------------------------------------------- */
/* hostile files */

static void test_symlink_fifo_hardlink(void **state)
{
	struct fx *f = *state;
	char *path = user_path(f, "alice"), *good, *elsewhere = NULL;

	write_alice(f);
	good = slurp(path);

	/* Symbolic link to a perfectly good file. */
	assert_true(asprintf(&elsewhere, "%s/elsewhere.json", f->users) > 0);
	plant(elsewhere, good, strlen(good), 0600);
	unlink(path);
	assert_int_equal(symlink(elsewhere, path), 0);
	expect_refused(f, "alice", "symbolic link");

	/* FIFO: refused, and the read does not hang (alarm fails the test). */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	expect_refused(f, "alice", "not a regular file");
	alarm(0);

	/* Hard link: the good file with a second name. */
	unlink(path);
	assert_int_equal(link(elsewhere, path), 0);
	expect_refused(f, "alice", "hard links");

	/* Control: the same bytes as a plain file are fine. */
	unlink(elsewhere);
	expect_present(f, "alice");
	free(elsewhere);
	free(good);
	free(path);
}

static void test_owner_and_mode(void **state)
{
	struct fx *f = *state;
	char *path = user_path(f, "alice"), *good;

	write_alice(f);
	good = slurp(path);

	/* Another owner (chown needs root; the mode checks below do not). */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		expect_refused(f, "alice", "owned by uid 65534");
		assert_int_equal(chown(path, 0, 0), 0);
		expect_present(f, "alice");
	}

	/* Not writable by others, but readable: still not a file we wrote. */
	assert_int_equal(chmod(path, 0644), 0);
	expect_refused(f, "alice", "open to group or others");
	assert_int_equal(chmod(path, 0640), 0);
	expect_refused(f, "alice", "open to group or others");
	assert_int_equal(chmod(path, 0606), 0);
	expect_refused(f, "alice", "open to group or others");
	assert_int_equal(chmod(path, 0600), 0);
	expect_present(f, "alice");
	assert_int_equal(chmod(path, 0400), 0);
	expect_present(f, "alice");

	/* Over the size cap (64 KiB), even if it were valid JSON. */
	char *big = calloc(1, 70000);
	memset(big, ' ', 69999);
	memcpy(big, good, strlen(good));
	plant(path, big, 69999, 0600);
	expect_refused(f, "alice", "cap");
	free(big);
	plant(path, good, strlen(good), 0600);
	expect_present(f, "alice");
	free(good);
	free(path);
}

static void test_bad_content(void **state)
{
	struct fx *f = *state;
	char *path = user_path(f, "alice"), *good, *bad;
	size_t len;

	write_alice(f);
	good = slurp(path);
	len = strlen(good);

	plant(path, "", 0, 0600);
	expect_refused(f, "alice", "empty");
	plant(path, good, len / 2, 0600);
	expect_refused(f, "alice", "malformed JSON");
	plant(path, good, len - 1, 0600);
	expect_refused(f, "alice", "malformed JSON");
	plant(path, "{\"version\":1,", 13, 0600);
	expect_refused(f, "alice", "malformed JSON");
	plant(path, "[1,2,3]", 7, 0600);
	expect_refused(f, "alice", "not an object");
	plant(path, "\x00\x01\x02garbage", 10, 0600);
	expect_refused(f, "alice", "malformed JSON");

	/* Duplicate key: ambiguous, refused. */
	bad = NULL;
	assert_true(asprintf(&bad, "{\"sub\":\"x\",%s", good + 1) > 0);
	plant(path, bad, strlen(bad), 0600);
	expect_refused(f, "alice", "malformed JSON");
	free(bad);

	/* Wrong version; missing version. */
	bad = strdup(good);
	char *v = strstr(bad, "\"version\":1");
	assert_non_null(v);
	v[10] = '2';
	plant(path, bad, strlen(bad), 0600);
	expect_refused(f, "alice", "version");
	memcpy(v, "\"versiox\"", 9);
	plant(path, bad, strlen(bad), 0600);
	expect_refused(f, "alice", "version");
	free(bad);

	/* A field of the wrong type. */
	bad = strdup(good);
	v = strstr(bad, "\"mfa\":true");
	assert_non_null(v);
	memcpy(v, "\"mfa\":1   ", 10);
	plant(path, bad, strlen(bad), 0600);
	expect_refused(f, "alice", "wrong type");
	free(bad);

	plant(path, good, len, 0600);
	expect_present(f, "alice");
	free(good);
	free(path);
}

/* Replace the first occurrence of `from` by `to` in a copy of `s`. */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out = NULL;

	assert_non_null(p);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from)) > 0);
	return out;
}

static void test_binding(void **state)
{
	struct fx *f = *state;
	char *alice = user_path(f, "alice"), *bob = user_path(f, "bob"), *good, *bad;
	struct up_user_record *rec = NULL;

	write_alice(f);
	good = slurp(alice);

	/* Alice's entry copied onto Bob's file. */
	plant(bob, good, strlen(good), 0600);
	expect_refused(f, "bob", "another user");
	expect_present(f, "alice");

	/* Alice's file rewritten to name Bob. */
	bad = subst(good, "\"username\":\"alice\"", "\"username\":\"bob\"");
	plant(alice, bad, strlen(bad), 0600);
	expect_refused(f, "alice", "another user");
	/* ... and in Bob's place it is still not his: the name is alice's hash. */
	unlink(bob);
	assert_int_equal(rename(alice, bob), 0);
	expect_present(f, "bob"); /* control: a file that names bob in bob's place */
	free(bad);

	/* Another issuer or client. */
	bad = subst(good, ISSUER, "https://127.0.0.1:9/us-east-1_OtherPool");
	plant(alice, bad, strlen(bad), 0600);
	expect_refused(f, "alice", "another issuer");
	free(bad);
	bad = subst(good, "\"client_id\":\"" CLIENT "\"", "\"client_id\":\"otherclient\"");
	plant(alice, bad, strlen(bad), 0600);
	expect_refused(f, "alice", "another client_id");
	free(bad);

	/* The listing refuses the same files. */
	struct up_user_record **list = NULL;
	bad = subst(good, "\"username\":\"alice\"", "\"username\":\"carol\"");
	plant(alice, bad, strlen(bad), 0600);
	free(bad);
	assert_int_equal(up_store_user_list(f->ctx, &list), UP_OK);
	assert_non_null(list[0]);
	assert_string_equal(list[0]->username, "bob");
	assert_null(list[1]);
	up_store_user_list_free(list);

	/* The same configuration with another client_id sees no entry. */
	plant(alice, good, strlen(good), 0600);
	up_ctx_free(f->ctx);
	f->ctx = NULL;
	f->ctx = make_ctx(f, f->state, "otherclient");
	t_log_reset(&f->log);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_ENOENT);
	assert_true(t_log_contains(&f->log, "another client_id"));
	free(good);
	free(alice);
	free(bob);
}

static void test_dir_refused(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec = NULL;

	write_alice(f);
	assert_int_equal(chmod(f->users, 0755), 0);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_ESTATE);
	assert_int_equal(up_store_check(f->ctx), UP_ESTATE);
	assert_int_equal(chmod(f->users, 0700), 0);
	assert_int_equal(up_store_check(f->ctx), UP_OK);
	expect_present(f, "alice");
}

/* ---------------------------------------------------------------------- */
/* crash and disk-full safety */

static void test_sigkill_mid_write(void **state)
{
	struct fx *f = *state;
	struct timespec ts;

	write_alice(f);
	for (int i = 0; i < 40; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			/* Alternate two big records as fast as possible. */
			struct up_user_record *a = make_rec("alice", "x", 14000);
			struct up_user_record *b = make_rec("alice", "y", 9000);
			/* Bounded, in case the parent dies first. */
			for (unsigned k = 0; k < 20000; k++)
				(void)up_store_user_write(f->ctx, (k & 1) ? a : b);
			_exit(0);
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(1 + (unsigned)rand() % 20) * 1000 * 1000;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, NULL, 0), pid);

		struct up_user_record *rec = NULL;
		up_err r = up_store_user_read(f->ctx, "alice", &rec);
		if (r)
			fail_msg("round %d: entry unreadable after SIGKILL: %s\n%s", i,
				 up_strerror(r), f->log.buf);
		size_t len = strlen(rec->id_token);
		assert_true(len == 900 || len == 14000 || len == 9000);
		for (size_t k = 1; k < len; k++)
			assert_int_equal(rec->id_token[k], rec->id_token[0]);
		up_user_record_free(rec);
	}
}

/* Temp files in f->users (".<name>.<hex>.tmp"). */
static size_t count_tmp(const struct fx *f)
{
	DIR *d = opendir(f->users);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp"))
			n++;
	closedir(d);
	return n;
}

/* Issue 23: 200 writers killed at random moments leave temp copies of the
 * record (a verifier, a token); the next write removes every one of them,
 * status counts them, and no committed file is ever corrupt. */
static void test_sigkill_leftovers(void **state)
{
	struct fx *f = *state;
	struct timespec ts;
	size_t seen = 0, counted = 0;

	write_alice(f);
	for (int i = 0; i < 200; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct up_user_record *a = make_rec("alice", "x", 14000);
			for (unsigned k = 0; k < 20000; k++)
				(void)up_store_user_write(f->ctx, a);
			_exit(0);
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(200 + (unsigned)rand() % 5000) * 1000;
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, NULL, 0), pid);
		seen += count_tmp(f);
		if (i == 100 && count_tmp(f)) {
			assert_int_equal(up_store_tmp_files(f->ctx, &counted), UP_OK);
			assert_int_equal(counted, count_tmp(f));
		}
		{
			struct up_user_record *rec = NULL;
			up_err r = up_store_user_read(f->ctx, "alice", &rec);
			if (r)
				fail_msg("round %d: entry unreadable after SIGKILL: %s", i,
					 up_strerror(r));
			up_user_record_free(rec);
		}
		/* The next writer (this process) removes what the killed one left. */
		write_alice(f);
		assert_int_equal(count_tmp(f), 0);
	}
	/* Some kill must have landed mid-write, or the test proved nothing. */
	print_message("# %zu leftover temp files seen over 200 kills\n", seen);
	assert_true(seen > 0);
	assert_int_equal(up_store_tmp_files(f->ctx, &counted), UP_OK);
	assert_int_equal(counted, 0);
}

static void test_enospc(void **state)
{
	struct fx *f = *state;
	char *mnt = NULL, *sdir = NULL, *filler = NULL;
	struct up_user_record *rec = NULL, *big;
	struct up_ctx *ctx;
	char buf[4096];
	int fd;

	assert_true(asprintf(&mnt, "%s/small", f->dir) > 0);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=256k,mode=0700") < 0) {
		int e = errno;
		free(mnt);
		print_message("# SKIP ENOSPC test: mount(2) of a small tmpfs failed: %s\n",
			      strerror(e));
		if (geteuid() == 0)
			skip();
		return; /* mount(2) needs root; skip() reads as a failure to automake */
	}
	assert_true(asprintf(&sdir, "%s/state", mnt) > 0);
	ctx = make_ctx(f, sdir, NULL);
	rec = make_rec("alice", "a", 900);
	assert_int_equal(up_store_user_write(ctx, rec), UP_OK);
	up_user_record_free(rec);

	/* Fill the file system to the last block. */
	assert_true(asprintf(&filler, "%s/filler", mnt) > 0);
	fd = open(filler, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	memset(buf, 'f', sizeof(buf));
	while (write(fd, buf, sizeof(buf)) > 0)
		;
	while (write(fd, buf, 1) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);

	big = make_rec("alice", "b", 12000);
	t_log_reset(&f->log);
	assert_int_equal(up_store_user_write(ctx, big), UP_ESTATE);
	assert_non_null(strstr(up_ctx_detail(ctx), "No space left"));
	up_user_record_free(big);

	/* The old entry is intact, and no temporary file is left behind. */
	rec = NULL;
	assert_int_equal(up_store_user_read(ctx, "alice", &rec), UP_OK);
	assert_int_equal(strlen(rec->id_token), 900);
	assert_int_equal(rec->id_token[0], 'a');
	up_user_record_free(rec);
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "test -z \"$(ls -A %s/users | grep tmp)\"", sdir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	up_ctx_free(ctx);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	free(filler);
	free(sdir);
	free(mnt);
}

/* ---------------------------------------------------------------------- */
/* verifier */

/* An older-form verifier ("scrypt$", the scrypt output itself), made the
 * way records written before issue 16 item 5c hold it. */
static char *legacy_verifier(const char *password)
{
	static const uint8_t salt[16] = "0123456789abcdef";
	uint8_t out[32];
	char *salt64 = NULL, *out64 = NULL, *v = NULL;

	assert_int_equal(EVP_PBE_scrypt(password, strlen(password), salt, sizeof(salt), 131072, 8,
					1, 256u << 20, out, sizeof(out)),
			 1);
	assert_int_equal(up_b64_encode(salt, sizeof(salt), &salt64), UP_OK);
	assert_int_equal(up_b64_encode(out, sizeof(out), &out64), UP_OK);
	assert_true(asprintf(&v, "scrypt$131072$8$1$%s$%s", salt64, out64) > 0);
	free(salt64);
	free(out64);
	return v;
}

static void test_verifier(void **state)
{
	struct fx *f = *state;
	char *v1 = NULL, *v2 = NULL, *bad, *old;
	uint8_t kek1[UP_MFA_KEY_LEN], kek2[UP_MFA_KEY_LEN], kek3[UP_MFA_KEY_LEN];
	static const uint8_t zero[UP_MFA_KEY_LEN];
	bool has = true;

	assert_int_equal(up_verifier_new_kek(f->ctx, "correct horse", &v1, kek1), UP_OK);
	assert_int_equal(strncmp(v1, "scrypt2$8192$8$10$", 18), 0);
	assert_true(strlen(v1) > 18 + 24 + 1 + 44 - 1);
	assert_true(up_verifier_current(f->ctx, v1));
	assert_int_equal(up_verifier_check(f->ctx, v1, "correct horse"), UP_OK);
	assert_int_equal(up_verifier_check(f->ctx, v1, "correct hors"), UP_EDENIED);
	/* The KEK comes out of the same derivation on a match only, is the
	 * one up_verifier_new_kek gave, and is not the stored key. */
	assert_int_equal(up_verifier_check_kek(f->ctx, v1, "correct horse", kek2, &has), UP_OK);
	assert_true(has);
	assert_memory_equal(kek1, kek2, sizeof(kek1));
	assert_memory_not_equal(kek1, zero, sizeof(kek1));
	{
		char *k64 = NULL;
		assert_int_equal(up_b64_encode(kek1, sizeof(kek1), &k64), UP_OK);
		assert_null(strstr(v1, k64));
		free(k64);
	}
	has = true;
	assert_int_equal(up_verifier_check_kek(f->ctx, v1, "correct hors", kek3, &has), UP_EDENIED);
	assert_false(has);
	/* A random salt: the same password gives another verifier and KEK. */
	assert_int_equal(up_verifier_new_kek(f->ctx, "correct horse", &v2, kek3), UP_OK);
	assert_string_not_equal(v1, v2);
	assert_memory_not_equal(kek1, kek3, sizeof(kek1));
	assert_int_equal(up_verifier_new(f->ctx, "x", &bad), UP_OK);
	assert_int_equal(strncmp(bad, "scrypt2$", 8), 0);
	up_free_secret(bad);

	/* An older "scrypt$" verifier still checks, yields no KEK, and is
	 * not current (the next online sign-in replaces it). */
	old = legacy_verifier("correct horse");
	assert_int_equal(up_verifier_check(f->ctx, old, "correct horse"), UP_OK);
	assert_int_equal(up_verifier_check(f->ctx, old, "correct hors"), UP_EDENIED);
	has = true;
	assert_int_equal(up_verifier_check_kek(f->ctx, old, "correct horse", kek3, &has), UP_OK);
	assert_false(has);
	assert_false(up_verifier_current(f->ctx, old));
	/* The scheme word is part of the check: the old hash under the new
	 * name (and the other way round) does not match. */
	bad = subst(old, "scrypt$", "scrypt2$");
	assert_int_equal(up_verifier_check(f->ctx, bad, "correct horse"), UP_EDENIED);
	free(bad);
	bad = subst(v1, "scrypt2$", "scrypt$");
	assert_int_equal(up_verifier_check(f->ctx, bad, "correct horse"), UP_EDENIED);
	assert_false(up_verifier_current(f->ctx, bad));
	free(bad);

	/* The hash tampered with: a mismatch, in either form. */
	for (int k = 0; k < 2; k++) {
		bad = strdup(k ? old : v1);
		char *h = strrchr(bad, '$') + 1;
		h[3] = h[3] == 'A' ? 'B' : 'A';
		assert_int_equal(up_verifier_check(f->ctx, bad, "correct horse"), UP_EDENIED);
		free(bad);
	}

	/* Parameters below the minimum, absurd, or not canonical: refused
	 * before any scrypt runs (so these are cheap); in both forms. The
	 * last five (issue 21): below the N*r*p floor of OWASP's table, or N
	 * below 2^13 however large p. */
	for (int k = 0; k < 2; k++) {
		const char *word = k ? "scrypt2" : "scrypt", *src = k ? v1 : old;
		const char *tail =
		    strchr(strchr(strchr(strchr(src, '$') + 1, '$') + 1, '$') + 1, '$');
		static const char *const params[] = {
		    "$65536$8$1",   "$131072$4$1",  "$131072$8$0",  "$2097152$8$1",  "$131073$8$1",
		    "$131072$17$1", "$131072$8$17", "$+131072$8$1", "$0131072$8$1",  "$131072$08$1",
		    "$-131072$8$1", "$$8$1",	    "$131072$8",    "$1048576$16$1", "$8192$8$9",
		    "$16384$8$4",   "$32768$8$2",   "$4096$8$16",   "$8192$4$16",
		};
		for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
			bad = NULL;
			assert_true(asprintf(&bad, "%s%s%s", word, params[i], tail) > 0);
			up_err r = up_verifier_check(f->ctx, bad, "correct horse");
			if (r != UP_ESTATE)
				fail_msg("verifier '%s%s...' gave %s, expected refusal", word,
					 params[i], up_strerror(r));
			assert_false(up_verifier_current(f->ctx, bad));
			free(bad);
		}
		static const char *const words[] = {"bcrypt", "SCRYPT", "scrypt3", "scrypt2x", ""};
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
			bad = NULL;
			assert_true(asprintf(&bad, "%s$131072$8$1%s", words[i], tail) > 0);
			assert_int_equal(up_verifier_check(f->ctx, bad, "correct horse"),
					 UP_ESTATE);
			free(bad);
		}
	}
	/* Bad salt or hash encodings, lengths, extra fields. */
	static const char *const tails[] = {
	    "$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "$AAAAAAAAAAAAAAAAAAAAAA==$AAAA",
	    "$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$x",
	    "$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "$AAAAAAAAAAAAAAAAAAAAAA==$ AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "$AAAAAAAAAAAAAAAAAAAAAA==",
	    "",
	};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
			bad = NULL;
			assert_true(asprintf(&bad, "%s$131072$8$1%s", k ? "scrypt2" : "scrypt",
					     tails[i]) > 0);
			assert_int_equal(up_verifier_check(f->ctx, bad, "x"), UP_ESTATE);
			free(bad);
		}
	assert_int_equal(up_verifier_check(f->ctx, NULL, "x"), UP_EINVAL);
	assert_int_equal(up_verifier_check(f->ctx, v1, NULL), UP_EINVAL);
	assert_int_equal(up_verifier_new(f->ctx, NULL, &bad), UP_EINVAL);
	assert_false(up_verifier_current(f->ctx, NULL));
	up_free_secret(v1);
	up_free_secret(v2);
	free(old);
}

/* A verifier of either form made with other scrypt parameters (by hand,
 * as an older version or another line of OWASP's table would). */
static char *verifier_with(const char *scheme, const char *password, uint64_t n, uint32_t r,
			   uint32_t p)
{
	static const uint8_t salt[16] = "fedcba9876543210";
	uint8_t out[UP_MFA_IKM_LEN], vk[UP_MFA_KEY_LEN], kek[UP_MFA_KEY_LEN];
	char *salt64 = NULL, *out64 = NULL, *v = NULL;
	bool two = strcmp(scheme, "scrypt2") == 0;

	assert_int_equal(EVP_PBE_scrypt(password, strlen(password), salt, sizeof(salt), n, r, p,
					256u << 20, out, sizeof(out)),
			 1);
	if (two)
		assert_int_equal(up_mfa_split(out, sizeof(out), vk, kek), UP_OK);
	assert_int_equal(up_b64_encode(salt, sizeof(salt), &salt64), UP_OK);
	assert_int_equal(up_b64_encode(two ? vk : out, 32, &out64), UP_OK);
	assert_true(asprintf(&v, "%s$%llu$%u$%u$%s$%s", scheme, (unsigned long long)n, r, p, salt64,
			     out64) > 0);
	free(salt64);
	free(out64);
	return v;
}

/* Issue 21: the written parameters went from N=2^17 r=8 p=1 (128 MiB) to
 * N=2^13 r=8 p=10 (8 MiB). Records made with the old ones, or with any
 * line of OWASP's table, keep verifying (and the KEK comes out of a
 * "scrypt2$" one); none of them is current, so the next online sign-in
 * rewrites it with the current parameters. */
static void test_verifier_params(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *scheme;
		uint64_t n;
		uint32_t p;
	} old[] = {
	    {"scrypt", 1u << 17, 1},  {"scrypt2", 1u << 17, 1}, {"scrypt2", 1u << 16, 2},
	    {"scrypt2", 1u << 15, 3}, {"scrypt2", 1u << 14, 5}, {"scrypt", 1u << 13, 10},
	};
	uint8_t kek[UP_MFA_KEY_LEN];
	bool has;

	for (size_t i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		char *v = verifier_with(old[i].scheme, "correct horse", old[i].n, 8, old[i].p);

		assert_int_equal(up_verifier_check(f->ctx, v, "correct horse"), UP_OK);
		assert_int_equal(up_verifier_check(f->ctx, v, "correct horsE"), UP_EDENIED);
		has = false;
		assert_int_equal(up_verifier_check_kek(f->ctx, v, "correct horse", kek, &has),
				 UP_OK);
		assert_true(has == (strcmp(old[i].scheme, "scrypt2") == 0));
		assert_false(up_verifier_current(f->ctx, v));
		free(v);
	}
	/* The current set is current, written by hand or by up_verifier_new. */
	{
		char *v = verifier_with("scrypt2", "correct horse", 1u << 13, 8, 10);

		assert_true(up_verifier_current(f->ctx, v));
		assert_int_equal(up_verifier_check(f->ctx, v, "correct horse"), UP_OK);
		free(v);
	}
}

/* ---------------------------------------------------------------------- */
/* offline second factor fields */

#define WRAPPED "gcm1$AAAAAAAAAAAAAAAA$QUJDREVGR0hJSktMTU5PUFFSU1RV$AAAAAAAAAAAAAAAAAAAAAA=="

static void test_mfa_fields(void **state)
{
	struct fx *f = *state;
	struct up_user_record *w = make_rec("alice", "a", 900), *rec = NULL;
	char *path = user_path(f, "alice"), *good, *bad;

	/* Absent in older records: none held, step 0. */
	assert_int_equal(up_store_user_write(f->ctx, w), UP_OK);
	good = slurp(path);
	assert_null(strstr(good, "mfa_secret"));
	assert_null(strstr(good, "mfa_step"));
	free(good);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_null(rec->mfa_secret);
	assert_int_equal(rec->mfa_step, 0);
	up_user_record_free(rec);

	/* Round trip. */
	w->mfa_secret = strdup(WRAPPED);
	w->mfa_step = 56666666;
	assert_int_equal(up_store_user_write(f->ctx, w), UP_OK);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_string_equal(rec->mfa_secret, WRAPPED);
	assert_int_equal(rec->mfa_step, 56666666);
	up_user_record_free(rec);
	good = slurp(path);

	/* Hostile values: the secret (and its step) are dropped with a log
	 * line; everything else in the record stands. */
	static const char *const from[] = {
	    "\"" WRAPPED "\"",	     "\"" WRAPPED "\"",	      "\"" WRAPPED "\"",
	    "\"" WRAPPED "\"",	     "\"mfa_step\":56666666", "\"mfa_step\":56666666",
	    "\"mfa_step\":56666666",
	};
	static const char *const to[] = {
	    "17",
	    "\"gcm2$AAAA$AAAA$AAAA\"",
	    "\"gcm1$AA\\nAA$AAAA$AAAA\"",
	    "\"\"",
	    "\"mfa_step\":-5",
	    "\"mfa_step\":\"1\"",
	    "\"mfa_step\":1.5",
	};
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		bad = subst(good, from[i], to[i]);
		plant(path, bad, strlen(bad), 0600);
		free(bad);
		t_log_reset(&f->log);
		rec = NULL;
		if (up_store_user_read(f->ctx, "alice", &rec) != UP_OK)
			fail_msg("case %zu: record lost: %s\n%s", i, up_ctx_detail(f->ctx),
				 f->log.buf);
		assert_null(rec->mfa_secret);
		assert_int_equal(rec->mfa_step, 0);
		assert_string_equal(rec->sub, "sub-alice-a");
		assert_non_null(rec->verifier);
		assert_true(rec->mfa);
		assert_int_equal(rec->n_stepups, 1);
		if (!t_log_contains(&f->log, "4 state: user entry of alice") ||
		    !t_log_contains(&f->log, "offline TOTP secret is dropped"))
			fail_msg("case %zu: no warning:\n%s", i, f->log.buf);
		assert_false(t_log_contains(&f->log, "QUJDREVG"));
		up_user_record_free(rec);
	}
	/* An overlong one too. */
	{
		char big[700];
		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "gcm1$", 5);
		char *q = NULL;
		assert_true(asprintf(&q, "\"%s\"", big) > 0);
		bad = subst(good, "\"" WRAPPED "\"", q);
		free(q);
		plant(path, bad, strlen(bad), 0600);
		free(bad);
		assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
		assert_null(rec->mfa_secret);
		up_user_record_free(rec);
	}
	/* Control: the honest bytes read back. */
	plant(path, good, strlen(good), 0600);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_string_equal(rec->mfa_secret, WRAPPED);
	up_user_record_free(rec);

	/* A malformed one is never written. */
	free(w->mfa_secret);
	w->mfa_secret = strdup("plain-secret");
	assert_int_equal(up_store_user_write(f->ctx, w), UP_EINVAL);
	free(w->mfa_secret);
	w->mfa_secret = strdup(WRAPPED);
	w->mfa_step = -1;
	assert_int_equal(up_store_user_write(f->ctx, w), UP_EINVAL);
	free(good);
	free(path);
	up_user_record_free(w);
}

/* ---------------------------------------------------------------------- */
/* step-up window */

static void test_stepup(void **state)
{
	struct fx *f = *state;
	struct up_user_record *rec = NULL;
	bool fresh = true;

	f->ctx->cfg->max_auth_age = 300;
	/* No entry: nothing to record in, and never fresh. */
	assert_int_equal(up_stepup_record(f->ctx, "alice", "sudo", "/dev/pts/1"), UP_ENOENT);
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/1", &fresh), UP_OK);
	assert_false(fresh);

	write_alice(f); /* holds an old sudo entry on /dev/pts/3 */
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/3", &fresh), UP_OK);
	assert_false(fresh); /* 1000 s old */

	assert_int_equal(up_stepup_record(f->ctx, "alice", "sudo", "/dev/pts/1"), UP_OK);
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/1", &fresh), UP_OK);
	assert_true(fresh);
	/* Another tty, another service, another user: not fresh. */
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/2", &fresh), UP_OK);
	assert_false(fresh);
	assert_int_equal(up_stepup_check(f->ctx, "alice", "su", "/dev/pts/1", &fresh), UP_OK);
	assert_false(fresh);
	assert_int_equal(up_stepup_check(f->ctx, "bob", "sudo", "/dev/pts/1", &fresh), UP_OK);
	assert_false(fresh);
	/* No tty is its own key. */
	assert_int_equal(up_stepup_record(f->ctx, "alice", "sshd", NULL), UP_OK);
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sshd", "", &fresh), UP_OK);
	assert_true(fresh);

	/* The window closes after max_auth_age. */
	f->clock.now += 300;
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/1", &fresh), UP_OK);
	assert_true(fresh);
	f->clock.now += 1;
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/1", &fresh), UP_OK);
	assert_false(fresh);
	/* A clock that went back does not make a record from the future fresh. */
	f->clock.now -= 1000;
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/1", &fresh), UP_OK);
	assert_false(fresh);
	f->clock.now += 1000;

	/* Recording again replaces the entry; expired ones are dropped. */
	assert_int_equal(up_stepup_record(f->ctx, "alice", "sudo", "/dev/pts/1"), UP_OK);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_int_equal(rec->n_stepups, 1);
	assert_string_equal(rec->stepups[0].tty, "/dev/pts/1");
	assert_int_equal(rec->failures, 2); /* the rest of the record is kept */
	up_user_record_free(rec);

	/* Bounded: many ttys keep at most 32 entries, the newest. */
	for (int i = 0; i < 40; i++) {
		char tty[32];
		snprintf(tty, sizeof(tty), "/dev/pts/%d", 100 + i);
		f->clock.now++;
		assert_int_equal(up_stepup_record(f->ctx, "alice", "sudo", tty), UP_OK);
	}
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_true(rec->n_stepups <= 32);
	up_user_record_free(rec);
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/139", &fresh), UP_OK);
	assert_true(fresh);

	/* max_auth_age = 0: off. */
	f->ctx->cfg->max_auth_age = 0;
	assert_int_equal(up_stepup_check(f->ctx, "alice", "sudo", "/dev/pts/139", &fresh), UP_OK);
	assert_false(fresh);
	assert_int_equal(up_stepup_check(f->ctx, "alice", "", "x", &fresh), UP_EINVAL);
}

/* The public accessors of the opaque record (issue 17): NULL-safe, the
 * values read back, and the secrets only as presence. */
static void test_accessors(void **state)
{
	struct fx *f = *state;
	struct up_user_record *w = make_rec("alice", "a", 900), *rec = NULL;
	char keyid[17];

	memset(keyid, 'x', sizeof(keyid));
	assert_null(up_user_record_username(NULL));
	assert_null(up_user_record_sub(NULL));
	assert_null(up_user_record_groups(NULL));
	assert_false(up_user_record_mfa(NULL));
	assert_int_equal(up_user_record_last_online(NULL), 0);
	assert_int_equal(up_user_record_failures(NULL), 0);
	assert_false(up_user_record_has_verifier(NULL));
	assert_null(up_user_record_verifier_scheme(NULL, keyid));
	assert_int_equal(keyid[0], '\0');
	assert_null(up_user_record_verifier_scheme(NULL, NULL));
	assert_false(up_user_record_has_refresh_token(NULL));
	assert_false(up_user_record_has_mfa_secret(NULL));

	w->failures = 3;
	w->last_online = 1700000123;
	assert_int_equal(up_store_user_write(f->ctx, w), UP_OK);
	assert_int_equal(up_store_user_read(f->ctx, "alice", &rec), UP_OK);
	assert_string_equal(up_user_record_username(rec), "alice");
	assert_string_equal(up_user_record_sub(rec), "sub-alice-a");
	assert_string_equal(up_user_record_groups(rec)[0], "staff");
	assert_string_equal(up_user_record_groups(rec)[1], "a");
	assert_null(up_user_record_groups(rec)[2]);
	assert_true(up_user_record_mfa(rec));
	assert_int_equal(up_user_record_last_online(rec), 1700000123);
	assert_int_equal(up_user_record_failures(rec), 3);
	assert_true(up_user_record_has_verifier(rec));
	memset(keyid, 'x', sizeof(keyid));
	assert_string_equal(up_user_record_verifier_scheme(rec, keyid), "scrypt");
	assert_int_equal(keyid[0], '\0');
	assert_string_equal(up_user_record_verifier_scheme(rec, NULL), "scrypt");
	assert_false(up_user_record_has_refresh_token(rec));
	assert_false(up_user_record_has_mfa_secret(rec));
	up_user_record_free(rec);
	rec = NULL;

	/* A kept refresh token and a wrapped TOTP secret show as held; no
	 * verifier reads as none; a malformed or pending one by its scheme. */
	w->refresh_token = strdup("refresh-xyz");
	w->mfa_secret = strdup("s");
	w->mfa = false;
	assert_true(up_user_record_has_refresh_token(w));
	assert_true(up_user_record_has_mfa_secret(w));
	assert_false(up_user_record_mfa(w));
	up_free_secret(w->verifier);
	w->verifier = NULL;
	assert_false(up_user_record_has_verifier(w));
	assert_null(up_user_record_verifier_scheme(w, keyid));
	w->verifier = strdup("scrypt$not-a-verifier");
	assert_true(up_user_record_has_verifier(w));
	assert_null(up_user_record_verifier_scheme(w, keyid));
	up_free_secret(w->verifier);
	w->verifier = strdup("pending$AAAA");
	assert_string_equal(up_user_record_verifier_scheme(w, keyid),
			    up_verifier_scheme(w->verifier, NULL));
	assert_string_equal(up_user_record_verifier_scheme(w, keyid), "pending");
	up_user_record_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlink_fifo_hardlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_and_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_content, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_binding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigkill_mid_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sigkill_leftovers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_enospc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verifier, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verifier_params, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mfa_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stepup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_accessors, setup, teardown),
	};
	/* A cmocka name pattern, e.g. to leave the scrypt-heavy tests out of
	 * a valgrind run. */
	const char *filter = getenv("UP_TEST_FILTER");

	if (filter && *filter)
		cmocka_set_test_filter(filter);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
