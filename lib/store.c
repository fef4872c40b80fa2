/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "codec.h"
#include "ctx.h"
#include "kdf.h"
#include "log.h"
#include "mfa_local.h"
#include "num.h"
#include "secret.h"
#include "state.h"
#include "store_int.h"
#include "tpm.h"
#include "vhelper.h"

/*
 * The per-user state store (DESIGN §4): users/<sha256-hex(issuer "\n"
 * username)>.json, one versioned JSON object per pool user, written
 * atomically (up_state_write) and changed only under an flock on the
 * sibling "<hash>.lock" (rename() replaces the .json inode, so a lock on the
 * data file itself would not serialise anything).
 *
 * A file that cannot be trusted or understood is logged and reported as
 * absent: the caller then signs in online, and a good online sign-in writes
 * a fresh entry over it.
 */

/* A record with a full ID token, a refresh token and a few dozen groups is
 * a few KiB; 64 KiB leaves room without letting a file balloon. */
#define USER_FILE_CAP (64u * 1024u)
#define MAX_GROUPS 256u
#define MAX_STEPUPS 64u
#define MAX_FIELD 256u

/* scrypt: what we write is OWASP's N=2^13, r=8, p=10 — equal in strength to
 * its minimum N=2^17, r=8, p=1 (scrypt runs the p blocks one after another,
 * so the work is the same order) with 8 MiB of memory instead of 128 MiB
 * (issue 21). What we accept is bounded on both sides so a tampered
 * verifier can neither weaken the check nor make it eat the machine: N at
 * least 2^13, r at least 8 and N*r*p at least that of the written set, which
 * every line of OWASP's table (2^17/1 ... 2^13/10, all r=8) meets; records
 * made with N=2^17, r=8, p=1 keep verifying and are rewritten with the
 * current parameters at their next online sign-in. */
#define SCRYPT_N (1u << 13)
#define SCRYPT_R 8u
#define SCRYPT_P 10u
#define SCRYPT_N_MIN (1u << 13)
#define SCRYPT_NRP_MIN ((uint64_t)SCRYPT_N * SCRYPT_R * SCRYPT_P)
#define SCRYPT_N_MAX (1u << 20)
#define SCRYPT_R_MAX 16u
#define SCRYPT_P_MAX 16u
#define SCRYPT_MEM_MAX (1024ull * 1024u * 1024u) /* 128 * N * r, at most 1 GiB */
#define SCRYPT_SALT_LEN 16u
#define SCRYPT_HASH_LEN 32u
#define VERIFIER_MAX 256u

/* ---------------------------------------------------------------------- */
/* records */

static void stepups_free(struct up_stepup *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].service);
		free(s[i].tty);
	}
	free(s);
}

void up_user_record_free(struct up_user_record *rec)
{
	if (!rec)
		return;
	free(rec->username);
	free(rec->issuer);
	free(rec->client_id);
	free(rec->sub);
	up_strv_free(rec->groups);
	up_free_secret(rec->id_token);
	up_free_secret(rec->refresh_token);
	up_free_secret(rec->verifier);
	stepups_free(rec->stepups, rec->n_stepups);
	free(rec->fails);
	up_free_secret(rec->mfa_secret);
	free(rec);
}

const char *up_user_record_username(const struct up_user_record *rec)
{
	return rec ? rec->username : NULL;
}

const char *up_user_record_sub(const struct up_user_record *rec)
{
	return rec ? rec->sub : NULL;
}

char *const *up_user_record_groups(const struct up_user_record *rec)
{
	return rec ? rec->groups : NULL;
}

bool up_user_record_mfa(const struct up_user_record *rec)
{
	return rec && rec->mfa;
}

int64_t up_user_record_last_online(const struct up_user_record *rec)
{
	return rec ? rec->last_online : 0;
}

int64_t up_user_record_failures(const struct up_user_record *rec)
{
	return rec ? rec->failures : 0;
}

bool up_user_record_has_verifier(const struct up_user_record *rec)
{
	return rec && rec->verifier;
}

const char *up_user_record_verifier_scheme(const struct up_user_record *rec,
					   char keyid[UP_TPM_KEYID_LEN + 1])
{
	if (keyid)
		keyid[0] = '\0';
	if (!rec || !rec->verifier)
		return NULL;
	return up_verifier_scheme(rec->verifier, keyid);
}

bool up_user_record_has_refresh_token(const struct up_user_record *rec)
{
	return rec && rec->refresh_token;
}

bool up_user_record_has_mfa_secret(const struct up_user_record *rec)
{
	return rec && rec->mfa_secret;
}

static bool field_ok(const char *s, size_t cap)
{
	return s && s[0] && strlen(s) < cap;
}

/* The shape of a wrapped TOTP secret (its content is checked by the AEAD
 * when it is unwrapped). */
static bool mfa_secret_ok(const char *s)
{
	if (!field_ok(s, UP_MFA_WRAPPED_MAX) || strncmp(s, "gcm1$", 5) != 0)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '+' || *s == '/' || *s == '=' || *s == '$'))
			return false;
	return true;
}

/* What a record must hold before it is written or after it is read. */
static const char *record_problem(const struct up_user_record *rec)
{
	if (!field_ok(rec->username, UP_MAX_USERNAME))
		return "bad username";
	if (!field_ok(rec->issuer, 2048) || !field_ok(rec->client_id, MAX_FIELD))
		return "bad issuer or client_id";
	if (!field_ok(rec->sub, MAX_FIELD))
		return "bad sub";
	if (!field_ok(rec->id_token, UP_MAX_TOKEN))
		return "bad id_token";
	if (rec->refresh_token && !field_ok(rec->refresh_token, UP_MAX_TOKEN))
		return "bad refresh_token";
	if (rec->verifier && !field_ok(rec->verifier, VERIFIER_MAX))
		return "bad verifier";
	if (rec->last_online < 0 || rec->failures < 0)
		return "negative last_online or failures";
	if (rec->mfa_secret && !mfa_secret_ok(rec->mfa_secret))
		return "bad mfa_secret";
	if (rec->mfa_step < 0)
		return "negative mfa_step";
	if (up_strv_len(rec->groups) > MAX_GROUPS)
		return "too many groups";
	if (rec->n_stepups > MAX_STEPUPS || (rec->n_stepups && !rec->stepups))
		return "bad stepups";
	for (size_t i = 0; i < rec->n_stepups; i++)
		if (!field_ok(rec->stepups[i].service, MAX_FIELD) || !rec->stepups[i].tty ||
		    strlen(rec->stepups[i].tty) >= MAX_FIELD || rec->stepups[i].at < 0)
			return "bad stepup";
	if (rec->n_fails > UP_MAX_REQUESTERS || (rec->n_fails && !rec->fails))
		return "bad offline_failures";
	for (size_t i = 0; i < rec->n_fails; i++)
		if (rec->fails[i].uid < 0 || rec->fails[i].uid > UINT32_MAX ||
		    rec->fails[i].count < 1 || rec->fails[i].at < 0)
			return "bad offline_failures entry";
	return NULL;
}

/* The record's word for a second factor; NULL for none. */
static const char *method_word(int m)
{
	switch (m) {
	case UP_MFA_TOTP:
		return "totp";
	case UP_MFA_EMAIL:
		return "email";
	case UP_MFA_SMS:
		return "sms";
	default:
		return NULL;
	}
}

static json_t *record_to_json(const struct up_user_record *rec)
{
	json_t *j = json_object(), *groups = json_array(), *stepups = json_array();
	json_t *fails = json_array();
	bool ok = j && groups && stepups && fails;

	for (size_t i = 0; ok && rec->groups && rec->groups[i]; i++)
		ok = json_array_append_new(groups, json_string(rec->groups[i])) == 0;
	for (size_t i = 0; ok && i < rec->n_stepups; i++)
		ok = json_array_append_new(stepups, json_pack("{s:s, s:s, s:I}", "service",
							      rec->stepups[i].service, "tty",
							      rec->stepups[i].tty, "at",
							      (json_int_t)rec->stepups[i].at)) == 0;
	ok = ok && json_object_set_new(j, "version", json_integer(UP_STORE_VERSION)) == 0 &&
	     json_object_set_new(j, "username", json_string(rec->username)) == 0 &&
	     json_object_set_new(j, "issuer", json_string(rec->issuer)) == 0 &&
	     json_object_set_new(j, "client_id", json_string(rec->client_id)) == 0 &&
	     json_object_set_new(j, "sub", json_string(rec->sub)) == 0 &&
	     json_object_set(j, "groups", groups) == 0 &&
	     json_object_set_new(j, "id_token", json_string(rec->id_token)) == 0 &&
	     (!rec->refresh_token ||
	      json_object_set_new(j, "refresh_token", json_string(rec->refresh_token)) == 0) &&
	     (!rec->verifier ||
	      json_object_set_new(j, "verifier", json_string(rec->verifier)) == 0) &&
	     json_object_set_new(j, "mfa", json_boolean(rec->mfa)) == 0 &&
	     (!method_word(rec->mfa_method) ||
	      json_object_set_new(j, "mfa_method", json_string(method_word(rec->mfa_method))) ==
		  0) &&
	     json_object_set_new(j, "last_online", json_integer(rec->last_online)) == 0 &&
	     json_object_set_new(j, "failures", json_integer(rec->failures)) == 0 &&
	     json_object_set(j, "stepups", stepups) == 0 &&
	     json_object_set(j, "offline_failures", fails) == 0 &&
	     (!rec->mfa_secret ||
	      json_object_set_new(j, "mfa_secret", json_string(rec->mfa_secret)) == 0) &&
	     (!rec->mfa_step ||
	      json_object_set_new(j, "mfa_step", json_integer(rec->mfa_step)) == 0);
	for (size_t i = 0; ok && i < rec->n_fails; i++)
		ok = json_array_append_new(fails, json_pack("{s:I, s:I, s:I}", "uid",
							    (json_int_t)rec->fails[i].uid, "count",
							    (json_int_t)rec->fails[i].count, "at",
							    (json_int_t)rec->fails[i].at)) == 0;
	json_decref(groups);
	json_decref(stepups);
	json_decref(fails);
	if (!ok) {
		up_json_wipe(j);
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Copy a JSON string member: required (NULL or not a string is a problem)
 * or optional (absent or null gives NULL). */
static bool get_str(const json_t *j, const char *key, bool required, char **ret)
{
	const json_t *v = json_object_get(j, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return !required;
	if (!json_is_string(v))
		return false;
	*ret = strdup(json_string_value(v));
	return *ret != NULL;
}

static bool get_int(const json_t *j, const char *key, int64_t *ret)
{
	const json_t *v = json_object_get(j, key);

	if (!json_is_integer(v))
		return false;
	*ret = (int64_t)json_integer_value(v);
	return true;
}

/*
 * The offline second factor's fields (absent in older records). A malformed
 * one costs only itself: the secret and its step are dropped together (a
 * step that cannot be trusted would allow a code again), logged, and the
 * rest of the record stands; without the secret a user whose last online
 * sign-in used TOTP gets no offline sign-in under offline_mfa = require.
 */
static void mfa_fields_from_json(struct up_ctx *ctx, const json_t *j, struct up_user_record *rec)
{
	const json_t *sec = json_object_get(j, "mfa_secret"),
		     *step = json_object_get(j, "mfa_step");
	const char *why = NULL;

	rec->mfa_secret = NULL;
	rec->mfa_step = 0;
	if (step && !json_is_null(step) && (!json_is_integer(step) || json_integer_value(step) < 0))
		why = "mfa_step is not a non-negative integer";
	else if (step && json_is_integer(step))
		rec->mfa_step = (int64_t)json_integer_value(step);
	if (!why && sec && !json_is_null(sec) &&
	    (!json_is_string(sec) || !mfa_secret_ok(json_string_value(sec))))
		why = "mfa_secret is malformed";
	if (why) {
		up_log(ctx, LOG_WARNING,
		       "state: user entry of %s: %s: the offline TOTP secret is dropped",
		       rec->username ? rec->username : "?", why);
		rec->mfa_step = 0;
		return;
	}
	if (sec && json_is_string(sec))
		rec->mfa_secret = strdup(json_string_value(sec)); /* NULL on ENOMEM: none held */
}

/* The parts of record_from_json: each UP_OK, UP_ENOMEM, or UP_ESTATE with
 * *problem naming what is wrong. */

static up_err scalars_from_json(const json_t *j, struct up_user_record *rec, const char **problem)
{
	const json_t *v;

	if (!get_str(j, "username", true, &rec->username) ||
	    !get_str(j, "issuer", true, &rec->issuer) ||
	    !get_str(j, "client_id", true, &rec->client_id) ||
	    !get_str(j, "sub", true, &rec->sub) || !get_str(j, "id_token", true, &rec->id_token) ||
	    !get_str(j, "refresh_token", false, &rec->refresh_token) ||
	    !get_str(j, "verifier", false, &rec->verifier)) {
		*problem = "a string field is missing or of the wrong type";
		return UP_ESTATE;
	}
	if (!json_is_boolean(json_object_get(j, "mfa")) ||
	    !get_int(j, "last_online", &rec->last_online) ||
	    !get_int(j, "failures", &rec->failures)) {
		*problem = "mfa, last_online or failures missing or of the wrong type";
		return UP_ESTATE;
	}
	rec->mfa = json_is_true(json_object_get(j, "mfa"));
	v = json_object_get(j, "mfa_method");
	if (!v)
		return UP_OK;
	rec->mfa_method = UP_MFA_NONE;
	for (int m = UP_MFA_TOTP; m <= UP_MFA_MAX; m++)
		if (json_is_string(v) && strcmp(json_string_value(v), method_word(m)) == 0)
			rec->mfa_method = (enum up_mfa_method)m;
	if (rec->mfa_method == UP_MFA_NONE) {
		*problem = "mfa_method is not totp, sms or email";
		return UP_ESTATE;
	}
	return UP_OK;
}

static up_err lists_from_json(const json_t *j, struct up_user_record *rec, const char **problem)
{
	const json_t *groups = json_object_get(j, "groups");
	const json_t *stepups = json_object_get(j, "stepups"), *v;
	size_t i;

	if (!json_is_array(groups) || json_array_size(groups) > MAX_GROUPS ||
	    !json_is_array(stepups) || json_array_size(stepups) > MAX_STEPUPS) {
		*problem = "groups or stepups missing or too long";
		return UP_ESTATE;
	}
	rec->groups = calloc(json_array_size(groups) + 1, sizeof(char *));
	rec->stepups = calloc(json_array_size(stepups) + 1, sizeof(*rec->stepups));
	if (!rec->groups || !rec->stepups)
		return UP_ENOMEM;
	json_array_foreach(groups, i, v)
	{
		if (!json_is_string(v)) {
			*problem = "a group is not a string";
			return UP_ESTATE;
		}
		rec->groups[i] = strdup(json_string_value(v));
		if (!rec->groups[i])
			return UP_ENOMEM;
	}
	json_array_foreach(stepups, i, v)
	{
		struct up_stepup *s = &rec->stepups[i];
		rec->n_stepups = i + 1;
		if (!json_is_object(v) || !get_str(v, "service", true, &s->service) ||
		    !get_str(v, "tty", true, &s->tty) || !get_int(v, "at", &s->at)) {
			*problem = "a stepup entry is malformed";
			return UP_ESTATE;
		}
	}
	return UP_OK;
}

/* Per-requester failure counts; absent in older records. */
static up_err fails_from_json(const json_t *j, struct up_user_record *rec, const char **problem)
{
	const json_t *v = json_object_get(j, "offline_failures"), *e;
	size_t i;

	if (!v || json_is_null(v))
		return UP_OK;
	if (!json_is_array(v) || json_array_size(v) > UP_MAX_REQUESTERS) {
		*problem = "offline_failures is not a short array";
		return UP_ESTATE;
	}
	rec->fails = calloc(json_array_size(v) + 1, sizeof(*rec->fails));
	if (!rec->fails)
		return UP_ENOMEM;
	json_array_foreach(v, i, e)
	{
		struct up_offline_fail *o = &rec->fails[i];

		if (!json_is_object(e) || !get_int(e, "uid", &o->uid) ||
		    !get_int(e, "count", &o->count) || !get_int(e, "at", &o->at)) {
			*problem = "an offline_failures entry is malformed";
			return UP_ESTATE;
		}
		rec->n_fails = i + 1;
	}
	return UP_OK;
}

/* UP_OK, UP_ENOMEM, or UP_ESTATE with a detail naming the problem. */
static up_err record_from_json(struct up_ctx *ctx, const json_t *j, struct up_user_record **ret_rec)
{
	struct up_user_record *rec;
	const char *problem = NULL;
	int64_t version;
	up_err r;

	if (!get_int(j, "version", &version) || version != UP_STORE_VERSION)
		return up_fail(ctx, UP_ESTATE, "version is not %d", UP_STORE_VERSION);
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return UP_ENOMEM;
	if (!(r = scalars_from_json(j, rec, &problem)) &&
	    !(r = lists_from_json(j, rec, &problem)) && !(r = fails_from_json(j, rec, &problem))) {
		mfa_fields_from_json(ctx, j, rec);
		problem = record_problem(rec);
		if (!problem) {
			*ret_rec = rec;
			return UP_OK;
		}
		r = UP_ESTATE;
	}
	up_user_record_free(rec);
	if (r == UP_ENOMEM)
		return UP_ENOMEM;
	return up_fail(ctx, UP_ESTATE, "%s", problem ? problem : "out of memory");
}

/* ---------------------------------------------------------------------- */
/* files */

/* "<hash>.json" and "<hash>.lock" of `username` under the configured issuer. */
static up_err user_names(struct up_ctx *ctx, const char *username, char json_name[80],
			 char lock_name[80])
{
	char hex[65], *key = NULL;
	up_err r;

	if (!ctx->cfg->issuer || !ctx->cfg->issuer[0])
		return up_fail(ctx, UP_ECONFIG, "no issuer configured");
	if (!field_ok(username, UP_MAX_USERNAME))
		return up_fail(ctx, UP_EINVAL, "bad user name");
	if (asprintf(&key, "%s\n%s", ctx->cfg->issuer, username) < 0)
		return UP_ENOMEM;
	r = up_sha256_hex(key, strlen(key), hex);
	free(key);
	if (r)
		return r;
	snprintf(json_name, 80, "%s.json", hex);
	if (lock_name)
		snprintf(lock_name, 80, "%s.lock", hex);
	return UP_OK;
}

/*
 * up_state_read's checks, plus one more for user files: no permission bit
 * at all for group or others. The entry holds a password verifier and
 * tokens; a file someone made readable was not written by us (we write
 * 0600), so it is not trusted either.
 */
static up_err user_file_read(struct up_ctx *ctx, int dirfd, const char *name, char **ret_data,
			     size_t *ret_len)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return UP_ENOENT;
		return up_fail(ctx, UP_ESTATE, "%s",
			       errno == ELOOP ? "is a symbolic link" : strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return up_fail(ctx, UP_ESTATE, "fstat: %s", strerror(errno));
	}
	close(fd);
	if (S_ISREG(st.st_mode) && (st.st_mode & 0077))
		return up_fail(ctx, UP_ESTATE, "mode %04o is open to group or others",
			       (unsigned)(st.st_mode & 07777));
	/* Every other check (type, owner, links, size) and the read itself
	 * are the shared primitive's. Replacing the file in between is only
	 * possible for root (users/ is root's 0700): rename() by one of our
	 * own writers, whose files are 0600. */
	return up_state_read(ctx, dirfd, name, USER_FILE_CAP, ret_data, ret_len);
}

/*
 * Read and check one entry. `username` NULL (listing): accept whatever user
 * the file names, provided the file name is that user's. Anything not
 * usable is logged and reported as UP_ENOENT; only ENOMEM passes through.
 */
up_err up_store_record_parse(struct up_ctx *ctx, const char *data, size_t len,
			     struct up_user_record **ret_rec)
{
	json_t *j = NULL;
	up_err r;

	*ret_rec = NULL;
	r = up_json_parse(ctx, data, len, USER_FILE_CAP, &j);
	if (!r)
		r = record_from_json(ctx, j, ret_rec);
	if (j) {
		up_json_wipe(j);
		json_decref(j);
	}
	return r;
}

static up_err load(struct up_ctx *ctx, int dirfd, const char *name, const char *username,
		   struct up_user_record **ret_rec)
{
	struct up_user_record *rec = NULL;
	char *data = NULL, expect[80];
	size_t len = 0;
	up_err r;

	r = user_file_read(ctx, dirfd, name, &data, &len);
	if (r == UP_ENOENT)
		return UP_ENOENT;
	if (r == UP_ENOMEM)
		return r;
	if (!r && len == 0)
		r = up_fail(ctx, UP_ESTATE, "empty file");
	if (!r)
		r = up_store_record_parse(ctx, data, len, &rec);
	up_free_secret_len(data, len + 1);
	if (r == UP_ENOMEM)
		return r;
	/* The hash in the name binds the file to (issuer, username): a file
	 * copied over another user's (or naming another user), or left from
	 * another issuer or client, is not this user's entry. */
	if (!r && strcmp(rec->issuer, ctx->cfg->issuer) != 0)
		r = up_fail(ctx, UP_ESTATE, "entry is bound to another issuer");
	if (!r && strcmp(rec->client_id, ctx->cfg->client_id ? ctx->cfg->client_id : "") != 0)
		r = up_fail(ctx, UP_ESTATE, "entry is bound to another client_id");
	if (!r) {
		r = user_names(ctx, rec->username, expect, NULL);
		if (!r && strcmp(expect, name) != 0) /* also: rec->username != username */
			r = up_fail(ctx, UP_ESTATE, "entry names another user");
	}
	if (r) {
		up_log(ctx, LOG_WARNING, "state: user entry users/%s%s%s refused: %s", name,
		       username ? " for " : "", username ? username : "", up_ctx_detail(ctx));
		up_user_record_free(rec);
		return r == UP_ENOMEM ? r : UP_ENOENT;
	}
	*ret_rec = rec;
	return UP_OK;
}

static up_err save(struct up_ctx *ctx, int dirfd, const char *name,
		   const struct up_user_record *rec)
{
	json_t *j = record_to_json(rec);
	char *text;
	up_err r;

	if (!j)
		return UP_ENOMEM;
	text = up_json_dump(j);
	up_json_wipe(j);
	json_decref(j);
	if (!text)
		return UP_ENOMEM;
	r = up_state_write(ctx, dirfd, name, text, strlen(text), 0600);
	up_free_secret(text);
	/* Every writer of this file holds its lock: copies that a killed
	 * writer left behind (a verifier, a token) go now. */
	if (!r)
		(void)up_state_tmp_sweep(ctx, dirfd, name, true, NULL);
	return r;
}

/* A record may be written for `username` only if it is that user's under
 * this configuration (else it would land in a file nobody reads). */
static up_err check_writable(struct up_ctx *ctx, const struct up_user_record *rec,
			     const char *username)
{
	const char *problem = record_problem(rec);

	if (problem)
		return up_fail(ctx, UP_EINVAL, "user record not written: %s", problem);
	if (strcmp(rec->username, username) != 0 || strcmp(rec->issuer, ctx->cfg->issuer) != 0 ||
	    !ctx->cfg->client_id || strcmp(rec->client_id, ctx->cfg->client_id) != 0)
		return up_fail(
		    ctx, UP_EINVAL,
		    "user record not written: not bound to this user, issuer and client");
	return UP_OK;
}

/* Open users/ and take the user's lock. */
static up_err open_locked(struct up_ctx *ctx, const char *username, char json_name[80],
			  int *ret_dirfd, int *ret_lockfd)
{
	char lock_name[80];
	int dirfd = -1;
	up_err r;

	if (!ctx || !ctx->cfg || !username)
		return UP_EINVAL;
	r = user_names(ctx, username, json_name, lock_name);
	if (r)
		return r;
	r = up_state_dir(ctx, "users", &dirfd);
	if (r)
		return r;
	r = up_state_lock(ctx, dirfd, lock_name, ret_lockfd);
	if (r) {
		close(dirfd);
		return r;
	}
	*ret_dirfd = dirfd;
	return UP_OK;
}

static void close_locked(int dirfd, int lockfd)
{
	/* Closing the descriptor releases the flock. */
	close(lockfd);
	close(dirfd);
}

up_err up_store_user_read(struct up_ctx *ctx, const char *username, struct up_user_record **ret_rec)
{
	char name[80];
	int dirfd;
	up_err r;

	if (!ctx || !ctx->cfg || !username || !ret_rec)
		return UP_EINVAL;
	r = user_names(ctx, username, name, NULL);
	if (r)
		return r;
	r = up_state_dir(ctx, "users", &dirfd);
	if (r)
		return r;
	/* No lock: files are replaced by rename(), so a reader sees the old or
	 * the new entry, never half of one. */
	r = load(ctx, dirfd, name, username, ret_rec);
	close(dirfd);
	return r;
}

up_err up_store_user_write(struct up_ctx *ctx, const struct up_user_record *rec)
{
	char name[80];
	int dirfd, lockfd;
	up_err r;

	if (!ctx || !ctx->cfg || !rec || !rec->username)
		return UP_EINVAL;
	r = check_writable(ctx, rec, rec->username);
	if (r)
		return r;
	r = open_locked(ctx, rec->username, name, &dirfd, &lockfd);
	if (r)
		return r;
	r = save(ctx, dirfd, name, rec);
	close_locked(dirfd, lockfd);
	return r;
}

up_err up_store_user_update(struct up_ctx *ctx, const char *username, up_store_update_fn fn,
			    void *ud)
{
	struct up_user_record *cur = NULL, *next = NULL;
	char name[80];
	int dirfd, lockfd;
	up_err r;

	if (!fn)
		return UP_EINVAL;
	r = open_locked(ctx, username, name, &dirfd, &lockfd);
	if (r)
		return r;
	r = load(ctx, dirfd, name, username, &cur);
	if (r == UP_ENOENT)
		r = UP_OK;
	if (!r)
		r = fn(ud, cur, &next);
	if (!r && next) {
		r = check_writable(ctx, next, username);
		if (!r)
			r = save(ctx, dirfd, name, next);
	}
	close_locked(dirfd, lockfd);
	up_user_record_free(cur);
	up_user_record_free(next);
	return r;
}

up_err up_store_user_purge(struct up_ctx *ctx, const char *username)
{
	char name[80];
	int dirfd, lockfd;
	up_err r = UP_OK;

	r = open_locked(ctx, username, name, &dirfd, &lockfd);
	if (r)
		return r;
	/* Copies of the record that killed writers left go with it. */
	(void)up_state_tmp_sweep(ctx, dirfd, name, true, NULL);
	/* The lock file stays: removing it while another process waits on it
	 * would let a third one lock a fresh inode next to it. */
	if (unlinkat(dirfd, name, 0) < 0) {
		if (errno == ENOENT)
			r = UP_ENOENT;
		else
			r = up_fail(ctx, UP_ESTATE, "users/%s: unlink: %s", name, strerror(errno));
	} else if (fsync(dirfd) < 0) {
		r = up_fail(ctx, UP_ESTATE, "users: fsync: %s", strerror(errno));
	}
	close_locked(dirfd, lockfd);
	return r;
}

void up_store_user_list_free(struct up_user_record **recs)
{
	if (!recs)
		return;
	for (struct up_user_record **p = recs; *p; p++)
		up_user_record_free(*p);
	free(recs);
}

static bool is_entry_name(const char *name)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return strcmp(name + 64, ".json") == 0;
}

static int cmp_username(const void *a, const void *b)
{
	const struct up_user_record *const *x = a, *const *y = b;

	return strcmp((*x)->username, (*y)->username);
}

up_err up_store_user_list(struct up_ctx *ctx, struct up_user_record ***ret_recs)
{
	struct up_user_record **recs = NULL, *rec;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;
	int dirfd, fd2;
	up_err r = UP_OK;

	if (!ctx || !ctx->cfg || !ret_recs)
		return UP_EINVAL;
	r = up_state_dir(ctx, "users", &dirfd);
	if (r)
		return r;
	fd2 = dup(dirfd);
	dir = fd2 >= 0 ? fdopendir(fd2) : NULL;
	if (!dir) {
		if (fd2 >= 0)
			close(fd2);
		close(dirfd);
		return up_fail(ctx, UP_ESTATE, "users: opendir: %s", strerror(errno));
	}
	recs = calloc(1, sizeof(*recs));
	if (!recs)
		r = UP_ENOMEM;
	while (!r && (de = readdir(dir))) {
		if (!is_entry_name(de->d_name))
			continue;
		r = load(ctx, dirfd, de->d_name, NULL, &rec);
		if (r == UP_ENOENT) {
			r = UP_OK;
			continue;
		}
		if (r)
			break;
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct up_user_record **tmp = realloc(recs, ncap * sizeof(*recs));
			if (!tmp) {
				up_user_record_free(rec);
				r = UP_ENOMEM;
				break;
			}
			recs = tmp;
			cap = ncap;
		}
		recs[n++] = rec;
		recs[n] = NULL;
	}
	closedir(dir);
	close(dirfd);
	if (r) {
		up_store_user_list_free(recs);
		return r;
	}
	qsort(recs, n, sizeof(*recs), cmp_username);
	*ret_recs = recs;
	return UP_OK;
}

up_err up_store_check(struct up_ctx *ctx)
{
	int dirfd;
	up_err r;

	if (!ctx || !ctx->cfg)
		return UP_EINVAL;
	r = up_state_dir(ctx, "users", &dirfd);
	if (r)
		return r;
	close(dirfd);
	return UP_OK;
}

up_err up_store_tmp_files(struct up_ctx *ctx, size_t *ret_n)
{
	static const char *const dirs[] = {"users", "nss", "jwks"};
	size_t total = 0;

	if (!ctx || !ctx->cfg || !ret_n)
		return UP_EINVAL;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t n = 0;
		int dirfd;
		up_err r = up_state_dir(ctx, dirs[i], &dirfd);

		if (r)
			return r;
		r = up_state_tmp_sweep(ctx, dirfd, NULL, false, &n);
		close(dirfd);
		if (r)
			return r;
		total += n;
	}
	*ret_n = total;
	return UP_OK;
}

/* ---------------------------------------------------------------------- */
/* offline password verifier */

/*
 * Three forms:
 *   "scrypt$N$r$p$<salt b64>$<scrypt output b64>"        (older records)
 *   "scrypt2$N$r$p$<salt b64>$<HKDF verifier key b64>"
 *   "tpm1$<key id>$N$r$p$<salt b64>$<HKDF verifier key b64>"   (issue 22)
 * In scrypt2, the one scrypt output of a sign-in is split with HKDF
 * (up_mfa_split) into the stored verifier key and the key-encryption key
 * that wraps the offline TOTP secret (issue 16 item 5c): still one scrypt
 * per sign-in, and the KEK is never stored. An older "scrypt$" verifier
 * still checks; it yields no KEK and is replaced at the next online sign-in.
 *
 * In tpm1 the scrypt output first goes through the machine's TPM
 * (up_tpm_hmac: HMAC-SHA256 under a key that never leaves the TPM, named by
 * <key id>) and HKDF splits the TPM's output: the stored key and the KEK
 * both need this TPM, so a copied state_dir is useless elsewhere and a
 * guess on this machine costs a TPM command. Its scrypt stage is cheaper
 * (N=2^14, r=8, p=1: 16 MiB, a fifth of scrypt2's work): it only matters
 * once the TPM's key is out, and the TPM sets the guessing rate. A tpm1
 * verifier whose key the TPM no longer loads fails (UP_ENOKEY) and never
 * falls back to a weaker check.
 */

#define TPM1_N (1u << 14)
#define TPM1_R 8u
#define TPM1_P 1u
#define TPM1_NRP_MIN ((uint64_t)TPM1_N * TPM1_R * TPM1_P)
#define TPM_GONE "the TPM that sealed this record is gone: sign in online once"

enum { SCHEME_SCRYPT = 1, SCHEME_SCRYPT2 = 2, SCHEME_TPM1 = 3 };

struct verifier_parts {
	int scheme;			  /* SCHEME_* */
	char keyid[UP_TPM_KEYID_LEN + 1]; /* tpm1 */
	struct up_scrypt_params params;
	uint8_t *salt;
	size_t salt_len;
	uint8_t *want;
	size_t want_len;
};

static void verifier_parts_free(struct verifier_parts *vp)
{
	free(vp->salt);
	up_free_secret_len(vp->want, vp->want_len);
	vp->salt = vp->want = NULL;
}

/* The one password derivation of a sign-in: the raw scrypt output for this
 * salt and these parameters (UP_MFA_IKM_LEN bytes). Every verifier created
 * or checked goes through here. */
static up_err verifier_derive(struct up_ctx *ctx, const char *password, const uint8_t *salt,
			      size_t salt_len, const struct up_scrypt_params *params,
			      uint8_t ikm[UP_MFA_IKM_LEN])
{
	return up_kdf_scrypt(ctx, password, salt, salt_len, params, ikm, UP_MFA_IKM_LEN);
}

/* tpm1: ikm replaced (in place) by the TPM's HMAC of it under the machine
 * key; keyid names the key used (with `create`: made when missing). */
static up_err verifier_seal(struct up_ctx *ctx, bool create, uint8_t ikm[UP_MFA_IKM_LEN],
			    char keyid[UP_TPM_KEYID_LEN + 1])
{
	uint8_t mac[UP_TPM_HMAC_LEN];
	up_err r;

	r = up_tpm_hmac(ctx, create, ikm, UP_MFA_IKM_LEN, mac, keyid);
	up_wipe(ikm, UP_MFA_IKM_LEN);
	if (!r)
		memcpy(ikm, mac, UP_MFA_IKM_LEN);
	up_wipe(mac, sizeof(mac));
	return r;
}

static up_err verifier_format(const char *scheme, const char *keyid,
			      const struct up_scrypt_params *params, const uint8_t *salt,
			      size_t salt_len, const uint8_t *key, size_t key_len, char **ret)
{
	char *salt64 = NULL, *key64 = NULL, *out = NULL;
	up_err r = up_b64_encode(salt, salt_len, &salt64);

	if (!r)
		r = up_b64_encode(key, key_len, &key64);
	if (!r &&
	    asprintf(&out, "%s%s%s$%llu$%u$%u$%s$%s", scheme, keyid ? "$" : "", keyid ? keyid : "",
		     (unsigned long long)params->n, params->r, params->p, salt64, key64) < 0) {
		out = NULL;
		r = UP_ENOMEM;
	}
	free(salt64);
	up_free_secret(key64);
	if (!r)
		*ret = out;
	return r;
}

/* Whether new verifiers are bound to the TPM (the `tpm` key): UP_OK with
 * *ret_use, or the refusal of tpm = yes without a usable TPM. */
static up_err verifier_use_tpm(struct up_ctx *ctx, bool *ret_use)
{
	up_err r;

	*ret_use = false;
	if (!ctx || !ctx->cfg)
		return UP_OK;
	r = up_tpm_wanted(ctx, ret_use);
	if (r) {
		char why[sizeof(ctx->detail)];

		snprintf(why, sizeof(why), "%s", ctx->detail);
		return up_fail(ctx, UP_EINTERNAL,
			       "tpm = yes and no usable TPM (%s): no offline record is made", why);
	}
	return UP_OK;
}

/* One new verifier (scheme tpm1 when `tpm`, else scrypt2) into *ret and
 * its KEK into kek_buf. */
static up_err verifier_make(struct up_ctx *ctx, const char *password, bool tpm, char **ret,
			    uint8_t kek_buf[UP_MFA_KEY_LEN])
{
	const struct up_scrypt_params sp = {SCRYPT_N, SCRYPT_R, SCRYPT_P};
	const struct up_scrypt_params tp = {TPM1_N, TPM1_R, TPM1_P};
	const struct up_scrypt_params *params = tpm ? &tp : &sp;
	uint8_t salt[SCRYPT_SALT_LEN], ikm[UP_MFA_IKM_LEN], vkey[UP_MFA_KEY_LEN];
	char keyid[UP_TPM_KEYID_LEN + 1] = "";
	up_err r;

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return up_fail(ctx, UP_EINTERNAL, "no randomness for a salt");
	r = verifier_derive(ctx, password, salt, sizeof(salt), params, ikm);
	if (!r && tpm)
		r = verifier_seal(ctx, true, ikm, keyid);
	if (!r)
		r = up_mfa_split(ikm, sizeof(ikm), vkey, kek_buf);
	if (!r)
		r = verifier_format(tpm ? "tpm1" : "scrypt2", tpm ? keyid : NULL, params, salt,
				    sizeof(salt), vkey, sizeof(vkey), ret);
	up_wipe(ikm, sizeof(ikm));
	up_wipe(vkey, sizeof(vkey));
	return r;
}

up_err up_verifier_new_kek(struct up_ctx *ctx, const char *password, char **ret_verifier,
			   uint8_t kek[UP_MFA_KEY_LEN])
{
	uint8_t kek_buf[UP_MFA_KEY_LEN];
	bool tpm = false;
	up_err r;

	if (!password || !ret_verifier)
		return UP_EINVAL;
	*ret_verifier = NULL;
	r = verifier_use_tpm(ctx, &tpm);
	if (!r)
		r = verifier_make(ctx, password, tpm, ret_verifier, kek_buf);
	/* tpm = auto: a TPM that answered the probe but failed the HMAC is
	 * not usable; the record is made without it (as with no TPM). */
	if (r && r != UP_ENOMEM && tpm && ctx->cfg->tpm == UP_TPM_AUTO) {
		up_log(ctx, LOG_WARNING,
		       "the TPM is not usable (%s): offline verifier made "
		       "without it",
		       up_ctx_detail(ctx));
		r = verifier_make(ctx, password, false, ret_verifier, kek_buf);
	}
	if (!r && kek)
		memcpy(kek, kek_buf, UP_MFA_KEY_LEN);
	up_wipe(kek_buf, sizeof(kek_buf));
	return r;
}

up_err up_verifier_new(struct up_ctx *ctx, const char *password, char **ret_verifier)
{
	return up_verifier_new_kek(ctx, password, ret_verifier, NULL);
}

/* Split "f0$f1$...$f<n-1>" into its n fields (in place). */
static bool split_fields(char *s, char **field, int n)
{
	for (int i = 0; i < n; i++) {
		char *end = strchr(s, '$');

		field[i] = s;
		if (i < n - 1) {
			if (!end)
				return false;
			*end = '\0';
			s = end + 1;
		} else if (end) {
			return false;
		}
	}
	return true;
}

static bool keyid_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == UP_TPM_KEYID_LEN && s[n] == '\0';
}

/* The scheme of `copy` (changed in place): SCHEME_* or 0; for tpm1 the key
 * id; *ret_rest: "N$r$p$salt$hash". */
static int scheme_of(char *copy, char **ret_rest, char keyid[UP_TPM_KEYID_LEN + 1])
{
	char *rest = strchr(copy, '$'), *end;

	keyid[0] = '\0';
	if (!rest)
		return 0;
	*rest++ = '\0';
	*ret_rest = rest;
	if (strcmp(copy, "scrypt") == 0)
		return SCHEME_SCRYPT;
	if (strcmp(copy, "scrypt2") == 0)
		return SCHEME_SCRYPT2;
	if (strcmp(copy, "tpm1") != 0 || !(end = strchr(rest, '$')))
		return 0;
	*end = '\0';
	if (!keyid_ok(rest))
		return 0;
	memcpy(keyid, rest, UP_TPM_KEYID_LEN + 1);
	*ret_rest = end + 1;
	return SCHEME_TPM1;
}

/* The cost floor a scheme's parameters must meet. */
static bool params_ok(int scheme, int64_t n, int64_t r, int64_t p)
{
	uint64_t nrp = (uint64_t)n * (uint64_t)r * (uint64_t)p;

	if ((n & (n - 1)) || r < (int64_t)SCRYPT_R ||
	    128ull * (uint64_t)n * (uint64_t)r > SCRYPT_MEM_MAX)
		return false;
	if (scheme == SCHEME_TPM1)
		return n >= (int64_t)TPM1_N && nrp >= TPM1_NRP_MIN;
	return n >= (int64_t)SCRYPT_N_MIN && nrp >= SCRYPT_NRP_MIN;
}

/* Parse and bound a verifier: UP_OK, UP_ENOMEM, UP_EINVAL or UP_ESTATE
 * (malformed, or parameters that would weaken the check or eat the
 * machine: refused before any scrypt runs). */
static up_err verifier_parse(struct up_ctx *ctx, const char *verifier, struct verifier_parts *vp)
{
	char *copy = NULL, *rest = NULL, *field[5];
	int64_t n, r, p;
	up_err ret = UP_OK;

	memset(vp, 0, sizeof(*vp));
	if (!verifier)
		return UP_EINVAL;
	if (strlen(verifier) >= VERIFIER_MAX)
		return up_fail(ctx, UP_ESTATE, "verifier too long");
	copy = strdup(verifier);
	if (!copy)
		return UP_ENOMEM;
	vp->scheme = scheme_of(copy, &rest, vp->keyid);
	if (!vp->scheme || !split_fields(rest, field, 5) ||
	    up_parse_int64(field[0], 2, SCRYPT_N_MAX, &n) ||
	    up_parse_int64(field[1], 1, SCRYPT_R_MAX, &r) ||
	    up_parse_int64(field[2], 1, SCRYPT_P_MAX, &p) || field[0][0] == '0' ||
	    field[1][0] == '0' || field[2][0] == '0') {
		ret =
		    up_fail(ctx, UP_ESTATE, "verifier is malformed or its parameters out of range");
		goto out;
	}
	if (!params_ok(vp->scheme, n, r, p)) {
		ret = up_fail(ctx, UP_ESTATE, "verifier parameters N=%lld r=%lld p=%lld refused",
			      (long long)n, (long long)r, (long long)p);
		goto out;
	}
	if (up_b64_decode(field[3], &vp->salt, &vp->salt_len) || vp->salt_len != SCRYPT_SALT_LEN ||
	    up_b64_decode(field[4], &vp->want, &vp->want_len) || vp->want_len != SCRYPT_HASH_LEN) {
		ret = up_fail(ctx, UP_ESTATE, "verifier salt or hash malformed");
		goto out;
	}
	vp->params.n = (uint64_t)n;
	vp->params.r = (uint32_t)r;
	vp->params.p = (uint32_t)p;
out:
	if (ret)
		verifier_parts_free(vp);
	up_free_secret(copy);
	return ret;
}

/* tpm1: the derivation through the TPM that made the record, or the
 * refusal (UP_ENOKEY, never a weaker check) when it is gone. */
static up_err verifier_unseal(struct up_ctx *ctx, const struct verifier_parts *vp,
			      uint8_t ikm[UP_MFA_IKM_LEN])
{
	char keyid[UP_TPM_KEYID_LEN + 1] = "", why[sizeof(ctx->detail)];
	up_err r = verifier_seal(ctx, false, ikm, keyid);

	if (r == UP_ENOMEM)
		return r;
	if (!r && strcmp(keyid, vp->keyid) == 0)
		return UP_OK;
	up_wipe(ikm, UP_MFA_IKM_LEN);
	if (!r)
		snprintf(why, sizeof(why), "the machine key is now %s, the record's %s", keyid,
			 vp->keyid);
	else
		snprintf(why, sizeof(why), "%s", ctx->detail);
	return up_fail(ctx, UP_ENOKEY, TPM_GONE " (key %s: %s)", vp->keyid, why);
}

up_err up_verifier_check_kek(struct up_ctx *ctx, const char *verifier, const char *password,
			     uint8_t kek[UP_MFA_KEY_LEN], bool *ret_has_kek)
{
	struct verifier_parts vp;
	uint8_t ikm[UP_MFA_IKM_LEN], vkey[UP_MFA_KEY_LEN], kek_buf[UP_MFA_KEY_LEN];
	up_err ret;

	if (ret_has_kek)
		*ret_has_kek = false;
	if (!verifier || !password)
		return UP_EINVAL;
	ret = verifier_parse(ctx, verifier, &vp);
	if (ret)
		return ret;
	ret = verifier_derive(ctx, password, vp.salt, vp.salt_len, &vp.params, ikm);
	if (!ret && vp.scheme == SCHEME_TPM1)
		ret = verifier_unseal(ctx, &vp, ikm);
	if (!ret && vp.scheme != SCHEME_SCRYPT) {
		ret = up_mfa_split(ikm, sizeof(ikm), vkey, kek_buf);
		if (!ret && !up_memeq_ct(vkey, vp.want, sizeof(vkey)))
			ret = UP_EDENIED;
		if (!ret && kek) {
			memcpy(kek, kek_buf, UP_MFA_KEY_LEN);
			if (ret_has_kek)
				*ret_has_kek = true;
		}
	} else if (!ret && !up_memeq_ct(ikm, vp.want, sizeof(ikm))) {
		ret = UP_EDENIED;
	}
	up_wipe(ikm, sizeof(ikm));
	up_wipe(vkey, sizeof(vkey));
	up_wipe(kek_buf, sizeof(kek_buf));
	verifier_parts_free(&vp);
	return ret;
}

up_err up_verifier_check(struct up_ctx *ctx, const char *verifier, const char *password)
{
	return up_verifier_check_kek(ctx, verifier, password, NULL, NULL);
}

bool up_verifier_current(struct up_ctx *ctx, const char *verifier)
{
	struct verifier_parts vp;
	bool cur = false, tpm = false;

	if (!verifier || verifier_parse(NULL, verifier, &vp))
		return false;
	if (verifier_use_tpm(ctx, &tpm))
		tpm = false;
	if (vp.scheme == SCHEME_TPM1)
		cur =
		    tpm && vp.params.n == TPM1_N && vp.params.r == TPM1_R && vp.params.p == TPM1_P;
	else if (vp.scheme == SCHEME_SCRYPT2)
		cur = !tpm && vp.params.n == SCRYPT_N && vp.params.r == SCRYPT_R &&
		      vp.params.p == SCRYPT_P;
	verifier_parts_free(&vp);
	return cur;
}

const char *up_verifier_scheme(const char *verifier, char keyid[UP_TPM_KEYID_LEN + 1])
{
	struct verifier_parts vp;
	const char *name = NULL;

	if (keyid)
		keyid[0] = '\0';
	if (up_vhelper_pending(verifier))
		return "pending";
	if (!verifier || verifier_parse(NULL, verifier, &vp))
		return NULL;
	if (vp.scheme == SCHEME_TPM1) {
		name = "tpm1";
		if (keyid)
			memcpy(keyid, vp.keyid, UP_TPM_KEYID_LEN + 1);
	} else {
		name = vp.scheme == SCHEME_SCRYPT2 ? "scrypt2" : "scrypt";
	}
	verifier_parts_free(&vp);
	return name;
}
