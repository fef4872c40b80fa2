/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NSS provisioning (DESIGN §7): state_dir/nss/passwd and nss/group, read by
 * libnss_userpool.so.2 in any process. Every user gets a private group
 * (gid = uid). UIDs come from uid_min..uid_max, are never reused (the high
 * water mark lives in nss/uid_next) and never collide with an account or
 * group in /etc/passwd or /etc/group. Every change holds nss/lock and
 * replaces the files atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "buf.h"
#include "codec.h"
#include "ctx.h"
#include "log.h"
#include "nss_format.h"
#include "num.h"
#include "secret.h"
#include "state.h"
#include "store_def.h"

#define NSS_NAME_MAX UP_NSS_NAME_MAX
#define NSS_CAP UP_NSS_FILE_CAP

bool up_nss_name_valid(const char *name)
{
	size_t len;
	bool digits_only = true;

	if (!name)
		return false;
	len = strlen(name);
	if (len == 0 || len > NSS_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		/* A conservative portable set, plus '@' for e-mail style names:
		 * nothing that can split a passwd line (':' '\n' ','), a path
		 * ('/'), or confuse shells and tools (spaces, quotes, '%'). */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '@'))
			return false;
		if (c < '0' || c > '9')
			digits_only = false;
	}
	/* "1000" would be taken for a UID by chown and friends. */
	return !digits_only;
}

/* Does a colon file (/etc/passwd, /etc/group) hold `name` in field 0 or
 * `id` in field 2? *ret_holder (when asked for): the line's name. */
static up_err local_scan(struct up_ctx *ctx, const char *path, const char *name, int64_t id,
			 bool *ret_taken, char **ret_holder)
{
	char line[4096];
	FILE *f = fopen(path, "re");

	*ret_taken = false;
	if (ret_holder)
		*ret_holder = NULL;
	if (!f) {
		if (errno == ENOENT)
			return UP_OK;
		return up_fail(ctx, UP_ESTATE, "%s: %s", path, strerror(errno));
	}
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *c3;
		int64_t v;
		if (!c1)
			continue;
		*c1 = '\0';
		if (name && strcmp(line, name) == 0) {
			*ret_taken = true;
			break;
		}
		c2 = strchr(c1 + 1, ':');
		if (!c2)
			continue;
		c3 = strchr(c2 + 1, ':');
		if (c3)
			*c3 = '\0';
		if (id >= 0 && up_parse_int64(c2 + 1, 0, INT64_MAX, &v) == UP_OK && v == id) {
			*ret_taken = true;
			break;
		}
	}
	fclose(f);
	if (*ret_taken && ret_holder && !(*ret_holder = strdup(line)))
		return UP_ENOMEM;
	return UP_OK;
}

static up_err local_taken(struct up_ctx *ctx, const char *path, const char *name, int64_t id,
			  bool *ret_taken)
{
	return local_scan(ctx, path, name, id, ret_taken, NULL);
}

struct nss_files {
	char *passwd;
	char *group;
	int64_t next;
};

static void nss_files_clear(struct nss_files *f)
{
	free(f->passwd);
	free(f->group);
	memset(f, 0, sizeof(*f));
}

static up_err read_one(struct up_ctx *ctx, int dirfd, const char *name, char **ret)
{
	size_t len;
	up_err r = up_state_read(ctx, dirfd, name, NSS_CAP, ret, &len);

	if (r == UP_ENOENT) {
		*ret = strdup("");
		return *ret ? UP_OK : UP_ENOMEM;
	}
	return r;
}

static up_err read_files(struct up_ctx *ctx, int dirfd, struct nss_files *f)
{
	char *next = NULL;
	up_err r;

	r = read_one(ctx, dirfd, "passwd", &f->passwd);
	if (!r)
		r = read_one(ctx, dirfd, "group", &f->group);
	if (!r)
		r = read_one(ctx, dirfd, "uid_next", &next);
	if (r)
		return r;
	f->next = 0;
	if (next[0]) {
		size_t n = strlen(next);
		if (next[n - 1] == '\n')
			next[n - 1] = '\0';
		if (up_parse_int64(next, 0, INT64_MAX, &f->next)) {
			free(next);
			return up_fail(ctx, UP_ESTATE, "nss/uid_next is corrupt");
		}
	}
	free(next);
	return UP_OK;
}

/* Find `name` in a passwd-format text; returns its uid or -1. */
static int64_t find_user(const char *text, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p);
		if (llen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *f = p + nlen + 1; /* "x:uid:..." */
			char num[32];
			const char *c = strchr(f, ':'), *e;
			int64_t v;
			if (c && (e = strchr(c + 1, ':')) && (size_t)(e - c - 1) < sizeof(num)) {
				memcpy(num, c + 1, (size_t)(e - c - 1));
				num[e - c - 1] = '\0';
				if (up_parse_int64(num, 0, INT64_MAX, &v) == UP_OK)
					return v;
			}
			return -1;
		}
		p += llen + (eol ? 1 : 0);
	}
	return -1;
}

/* True when the line p (llen bytes with its newline) starts with name and sep. */
static bool line_keyed(const char *p, size_t llen, const char *name, size_t nlen, char sep)
{
	return llen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == sep;
}

/* True when a line of `text` starts with "name:". */
static bool group_line_present(const char *text, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) + 1 : strlen(p);
		if (line_keyed(p, llen, name, nlen, ':'))
			return true;
		p += llen;
	}
	return false;
}

/*
 * Text without the line that starts with name and sep (':' for passwd and
 * group lines, '\t' for nss/report's).
 */
static char *drop_line(const char *text, const char *name, char sep)
{
	size_t nlen = strlen(name), o = 0;
	char *out = malloc(strlen(text) + 1);

	if (!out)
		return NULL;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) + 1 : strlen(p);
		if (!line_keyed(p, llen, name, nlen, sep)) {
			memcpy(out + o, p, llen);
			o += llen;
		}
		p += llen;
	}
	out[o] = '\0';
	return out;
}

/* Third ':'-separated field of a passwd or group line (its uid or gid), or -1. */
static int64_t line_id(const char *p, size_t llen)
{
	const char *a = memchr(p, ':', llen), *b, *c;
	char num[32];
	int64_t v;

	if (!a || !(b = memchr(a + 1, ':', llen - (size_t)(a + 1 - p))))
		return -1;
	c = memchr(b + 1, ':', llen - (size_t)(b + 1 - p));
	if (!c || (size_t)(c - b - 1) >= sizeof(num) || c == b + 1)
		return -1;
	memcpy(num, b + 1, (size_t)(c - b - 1));
	num[c - b - 1] = '\0';
	return up_parse_int64(num, 0, INT64_MAX, &v) == UP_OK ? v : -1;
}

/* Name of the passwd entry of `text` with `uid` (malloc'd), or NULL. */
static char *find_uid(const char *text, int64_t uid)
{
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p);
		if (line_id(p, llen) == uid) {
			const char *c = memchr(p, ':', llen);
			return c ? strndup(p, (size_t)(c - p)) : NULL;
		}
		p += llen + (eol ? 1 : 0);
	}
	return NULL;
}

/* Length of the name (first field) of a line. */
static size_t line_name_len(const char *p, size_t llen)
{
	const char *c = memchr(p, ':', llen);

	return c ? (size_t)(c - p) : llen;
}

/* `text` with `line` inserted before the first line whose (id, name) is
 * above (`id`, `name`): under uid_source = claim or hash the files are in
 * ID order, so two machines that provision the same people in any order
 * write the same bytes. */
static char *insert_sorted(const char *text, const char *line, const char *name, int64_t id)
{
	size_t nlen = strlen(name);
	const char *p = text;
	char *out = NULL;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p);
		int64_t lid = line_id(p, llen);
		if (lid > id) /* a malformed line (-1) never stops the walk */
			break;
		if (lid == id) {
			size_t ln = line_name_len(p, llen);
			int c = strncmp(p, name, ln < nlen ? ln : nlen);
			if (c > 0 || (c == 0 && ln > nlen))
				break;
		}
		p += llen + (eol ? 1 : 0);
	}
	if (asprintf(&out, "%.*s%s%s", (int)(p - text), text, line, p) < 0)
		return NULL;
	return out;
}

/* Fourth field (the GID) of the passwd line of `name`, or -1. */
static int64_t passwd_gid(const char *text, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p);
		if (llen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
			/* "name:x:uid:gid:...": skip the name and "x:" */
			return line_id(p + nlen + 1, llen - nlen - 1);
		}
		p += llen + (eol ? 1 : 0);
	}
	return -1;
}

/* The first 8 bytes of SHA-256(msg) as a big-endian uint64, mod
 * (hi - lo + 1), plus lo. */
static up_err hash_range(const char *msg, size_t n, int64_t lo, int64_t hi, int64_t *ret)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	uint64_t v = 0;

	if (!EVP_Digest(msg, n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return UP_EINTERNAL;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | md[i];
	*ret = lo + (int64_t)(v % (uint64_t)(hi - lo + 1));
	return UP_OK;
}

/*
 * uid_source = hash (DESIGN §7, userpool.conf(5)): the first 8 bytes of
 * SHA-256(issuer "\n" sub) as a big-endian uint64, mod (uid_max - uid_min + 1),
 * plus uid_min. Unkeyed, so every machine computes the same number.
 */
up_err up_nss_hash_uid(const char *issuer, const char *sub, int64_t lo, int64_t hi, int64_t *ret)
{
	char *msg = NULL;
	up_err r;
	int n;

	if (!issuer || !sub || !*sub || lo < 0 || hi < lo || !ret)
		return UP_EINVAL;
	n = asprintf(&msg, "%s\n%s", issuer, sub);
	if (n < 0)
		return UP_ENOMEM;
	r = hash_range(msg, (size_t)n, lo, hi, ret);
	free(msg);
	return r;
}

/* gid_source = hash (userpool.conf(5)): the first 8 bytes of SHA-256 of
 * the pool group's name (no newline) as a big-endian uint64, mod
 * (uid_max - uid_min + 1), plus uid_min: the users' range, as their
 * private groups' GIDs are their UIDs. */
static up_err hash_gid(const struct up_config *cfg, const char *group, int64_t *ret)
{
	return hash_range(group, strlen(group), cfg->uid_min, cfg->uid_max, ret);
}

static char *expand_home(const char *tmpl, const char *name)
{
	size_t cap = strlen(tmpl) + 8 * strlen(name) + 1, o = 0;
	char *out = malloc(cap);

	if (!out)
		return NULL;
	for (const char *p = tmpl; *p && o + 1 < cap; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			size_t n = strlen(name);
			if (o + n + 1 > cap)
				break;
			memcpy(out + o, name, n);
			o += n;
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * passwd and group change together (issue 23): a journal holding both new
 * files is committed (one atomic write) before either file is replaced, and
 * removed after both are. A writer killed after the commit is completed by
 * the next holder of nss/lock (journal_replay); one killed before it left
 * nothing visible. Between the two renames a reader may see one file new and
 * the other old, so the order keeps that harmless: a passwd line never
 * appears before its private group line, nor outlives it.
 */
#define NSS_JOURNAL "journal"
#define NSS_JOURNAL_MAGIC "userpool-nss-journal 1\n"

static up_err journal_write(struct up_ctx *ctx, int dirfd, const char *passwd, const char *group)
{
	size_t plen = strlen(passwd), glen = strlen(group), hlen, len;
	char head[96];
	char *buf;
	up_err r;
	int n;

	n = snprintf(head, sizeof(head), NSS_JOURNAL_MAGIC "%zu %zu\n", plen, glen);
	if (n < 0 || (size_t)n >= sizeof(head))
		return UP_EINVAL;
	hlen = (size_t)n;
	len = hlen + plen + glen;
	buf = malloc(len);
	if (!buf)
		return UP_ENOMEM;
	memcpy(buf, head, hlen);
	memcpy(buf + hlen, passwd, plen);
	memcpy(buf + hlen + plen, group, glen);
	r = up_state_write(ctx, dirfd, NSS_JOURNAL, buf, len, 0600);
	free(buf);
	return r;
}

static up_err journal_remove(struct up_ctx *ctx, int dirfd)
{
	if (unlinkat(dirfd, NSS_JOURNAL, 0) < 0 && errno != ENOENT)
		return up_fail(ctx, UP_ESTATE, "nss/%s: %s", NSS_JOURNAL, strerror(errno));
	if (fsync(dirfd) < 0)
		return up_fail(ctx, UP_ESTATE, "nss: fsync: %s", strerror(errno));
	return UP_OK;
}

/* Parse "<magic><plen> <glen>\n<passwd><group>"; points into `text`. */
static bool journal_parse(char *text, size_t len, char **passwd, char **group)
{
	size_t mlen = strlen(NSS_JOURNAL_MAGIC), hlen;
	int64_t plen, glen;
	char *sp, *nl;

	if (len < mlen || memcmp(text, NSS_JOURNAL_MAGIC, mlen) != 0)
		return false;
	nl = memchr(text + mlen, '\n', len - mlen);
	if (!nl)
		return false;
	*nl = '\0';
	sp = strchr(text + mlen, ' ');
	if (!sp)
		return false;
	*sp = '\0';
	if (up_parse_int64(text + mlen, 0, NSS_CAP, &plen) ||
	    up_parse_int64(sp + 1, 0, NSS_CAP, &glen))
		return false;
	hlen = (size_t)(nl - text) + 1;
	if (hlen + (size_t)plen + (size_t)glen != len)
		return false;
	*passwd = strndup(text + hlen, (size_t)plen);
	*group = strndup(text + hlen + plen, (size_t)glen);
	if (!*passwd || !*group || strlen(*passwd) != (size_t)plen ||
	    strlen(*group) != (size_t)glen) {
		free(*passwd);
		free(*group);
		*passwd = *group = NULL;
		return false;
	}
	return true;
}

/* With nss/lock held: finish a change whose writer was killed after it
 * committed the journal. */
static up_err journal_replay(struct up_ctx *ctx, int dirfd)
{
	char *text = NULL, *passwd = NULL, *group = NULL;
	size_t len = 0;
	up_err r;

	r = up_state_read(ctx, dirfd, NSS_JOURNAL, 2 * (size_t)NSS_CAP + 128, &text, &len);
	if (r == UP_ENOENT)
		return UP_OK;
	if (r)
		return r;
	if (!journal_parse(text, len, &passwd, &group)) {
		/* Written atomically, so only a hand edit gets here; both
		 * files are each whole, so dropping it loses no entry. */
		free(text);
		up_log(ctx, LOG_ERR, "nss/%s is corrupt: removed, the NSS files stay as they are",
		       NSS_JOURNAL);
		return journal_remove(ctx, dirfd);
	}
	free(text);
	r = up_state_write(ctx, dirfd, "group", group, strlen(group), 0644);
	if (!r)
		r = up_state_write(ctx, dirfd, "passwd", passwd, strlen(passwd), 0644);
	if (!r)
		r = journal_remove(ctx, dirfd);
	if (!r)
		up_log(ctx, LOG_NOTICE, "completed an interrupted change of the NSS files");
	free(passwd);
	free(group);
	return r;
}

up_err up_nss_journal_pending(struct up_ctx *ctx, bool *ret_pending)
{
	struct stat st;
	int dirfd = -1;
	up_err r;

	if (!ctx || !ret_pending)
		return UP_EINVAL;
	*ret_pending = false;
	r = up_state_dir(ctx, "nss", &dirfd);
	if (r)
		return r;
	if (fstatat(dirfd, NSS_JOURNAL, &st, AT_SYMLINK_NOFOLLOW) == 0)
		*ret_pending = true;
	else if (errno != ENOENT)
		r = up_fail(ctx, UP_ESTATE, "nss/%s: %s", NSS_JOURNAL, strerror(errno));
	close(dirfd);
	return r;
}

static up_err write_files(struct up_ctx *ctx, int dirfd, const char *old_passwd, const char *passwd,
			  const char *group, int64_t next)
{
	char num[32];
	bool grows = strlen(passwd) >= strlen(old_passwd);
	up_err r;

	/* The NSS module refuses a file over its cap, so writing one would
	 * make every pool user vanish at once: refuse the change instead. */
	if (strlen(passwd) > NSS_CAP || strlen(group) > NSS_CAP) {
		up_log(ctx, LOG_ERR, "NSS files at their %u-byte cap: provisioning refused",
		       NSS_CAP);
		return up_fail(ctx, UP_ERANGE,
			       "nss/passwd or nss/group would exceed %u bytes: change refused "
			       "(remove unused entries with userpool user del)",
			       NSS_CAP);
	}
	snprintf(num, sizeof(num), "%lld\n", (long long)next);
	/* uid_next first: a crash after it wastes a UID, never reuses one. */
	r = up_state_write(ctx, dirfd, "uid_next", num, strlen(num), 0644);
	if (!r)
		r = journal_write(ctx, dirfd, passwd, group);
	if (r)
		return r;
	/* A new entry's group line first; a removed entry's passwd line first. */
	if (grows) {
		r = up_state_write(ctx, dirfd, "group", group, strlen(group), 0644);
		if (!r)
			r = up_state_write(ctx, dirfd, "passwd", passwd, strlen(passwd), 0644);
	} else {
		r = up_state_write(ctx, dirfd, "passwd", passwd, strlen(passwd), 0644);
		if (!r)
			r = up_state_write(ctx, dirfd, "group", group, strlen(group), 0644);
	}
	/* On a failure the journal stays: the next writer completes it. */
	if (!r)
		r = journal_remove(ctx, dirfd);
	return r;
}

/* Run `fn` on the NSS files with nss/lock held: every change of them is
 * one read-modify-write under this lock. */
typedef up_err (*nss_fn)(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud);

static up_err nss_locked(struct up_ctx *ctx, nss_fn fn, void *ud)
{
	struct nss_files f = {0};
	int dirfd = -1, lockfd = -1;
	up_err r;

	r = up_state_dir(ctx, "nss", &dirfd);
	if (r)
		return r;
	r = up_state_lock(ctx, dirfd, "lock", &lockfd);
	if (!r)
		r = journal_replay(ctx, dirfd);
	if (!r)
		r = read_files(ctx, dirfd, &f);
	if (!r)
		r = fn(ctx, dirfd, &f, ud);
	/* nss/lock is held: temp files left by a killed writer are stale. */
	if (!r)
		(void)up_state_tmp_sweep(ctx, dirfd, NULL, true, NULL);
	nss_files_clear(&f);
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
	return r;
}

struct add_ud {
	const char *name;
	const struct up_nss_ident *id;
	uint32_t uid;
};

/* Is `id` any ID of the NSS files (a UID in passwd, a GID in group)?
 * The name holding it (malloc'd) when it is, else NULL. */
static char *nss_id_holder(const struct nss_files *f, int64_t id)
{
	char *n = find_uid(f->passwd, id);

	return n ? n : find_uid(f->group, id);
}

static up_err local_id_taken(struct up_ctx *ctx, int64_t id, bool *ret)
{
	bool t1 = false, t2 = false;
	up_err r = local_taken(ctx, "/etc/passwd", NULL, id, &t1);

	if (!r)
		r = local_taken(ctx, "/etc/group", NULL, id, &t2);
	*ret = t1 || t2;
	return r;
}

/* A claim's text as an ID: decimal digits only (Cognito custom attributes
 * are strings, OIDC integers arrive as their decimal text). */
static bool claim_id(const char *text, int64_t *ret)
{
	if (!text || !*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 18)
		return false;
	return up_parse_int64(text, 0, INT64_MAX, ret) == UP_OK;
}

/* uid_source = claim: the UID the uid_claim names, or a refusal that names
 * the claim. */
static up_err uid_from_claim(struct up_ctx *ctx, const char *name, const char *claim,
			     const char *text, int64_t *ret)
{
	const struct up_config *cfg = ctx->cfg;
	const char *why = NULL;

	if (!text)
		why = "is missing from the ID token";
	else if (!claim_id(text, ret))
		why = "is not an integer";
	else if (*ret < cfg->uid_min || *ret > cfg->uid_max)
		why = "is outside uid_min..uid_max";
	if (!why)
		return UP_OK;
	up_log(ctx, LOG_ERR, "uid_source = claim: %s %s for %s: provisioning refused", claim, why,
	       name);
	up_set_user_msg(ctx,
			"No account on this machine: the %s of your account %s; ask your "
			"administrator",
			claim, why);
	return up_fail(
	    ctx, UP_EINVAL,
	    "%s %s (uid_source = claim needs an integer in %lld-%lld): no account for %s", claim,
	    why, (long long)cfg->uid_min, (long long)cfg->uid_max, name);
}

/* A chosen UID that a local account or group has: refused, naming it. */
static up_err check_local(struct up_ctx *ctx, const char *name, int64_t uid, const char *what)
{
	const char *file = "/etc/passwd";
	char *holder = NULL;
	bool taken = false;
	up_err r = local_scan(ctx, file, NULL, uid, &taken, &holder);

	if (!r && !taken) {
		file = "/etc/group";
		r = local_scan(ctx, file, NULL, uid, &taken, &holder);
	}
	if (r || !taken)
		return r;
	up_log(ctx, LOG_ERR,
	       "%s: uid %lld of %s is %s's in %s: %s refused; give %s another UID "
	       "(userpool user add %s --uid N)",
	       what, (long long)uid, name, holder, file, name, name, name);
	r = up_fail(ctx, UP_EINVAL, "%s collision: uid %lld of %s is %s's, taken in %s", what,
		    (long long)uid, name, holder, file);
	up_set_user_msg(ctx,
			"No account on this machine: your UID (by %s) is a local "
			"account's; ask your administrator",
			what);
	free(holder);
	return r;
}

/* A UID chosen by a rule (claim, hash) or by the administrator (--uid):
 * refused when another NSS entry or a local account already has it,
 * never replaced by another number. */
static up_err check_chosen(struct up_ctx *ctx, const struct nss_files *f, const char *name,
			   int64_t uid, const char *what, const char *sub)
{
	const struct up_config *cfg = ctx->cfg;
	char *other = nss_id_holder(f, uid);
	up_err r;

	if (other && strcmp(other, name) != 0) {
		if (sub)
			up_log(ctx, LOG_ERR,
			       "uid_source = hash: %s (sub %s) hashes to uid %lld, which %s "
			       "already has: %s refused; give one of them an explicit UID "
			       "(userpool user add %s --uid N, or uid_source = claim with %s set)",
			       name, sub, (long long)uid, other, name, name, cfg->uid_claim);
		else
			up_log(ctx, LOG_ERR, "%s: uid %lld of %s is already %s's: refused", what,
			       (long long)uid, name, other);
		r = up_fail(ctx, UP_EINVAL,
			    "%s collision: uid %lld of %s is already %s's (set an explicit UID for "
			    "one of them)",
			    what, (long long)uid, name, other);
		up_set_user_msg(ctx,
				"No account on this machine: your UID (by %s) is another "
				"account's; ask your administrator",
				what);
		free(other);
		return r;
	}
	free(other);
	if (uid < cfg->uid_min || uid > cfg->uid_max)
		return up_fail(
		    ctx, UP_ERANGE, "uid %lld of %s is outside uid_min..uid_max (%lld-%lld)",
		    (long long)uid, name, (long long)cfg->uid_min, (long long)cfg->uid_max);
	return check_local(ctx, name, uid, what);
}

/*
 * nss/report (userpool status): one line per name that a rule could not
 * place, "name\tkind\twant\tdetail\n"; kind "refused" (a claim missing or
 * invalid, a hash collision: the detail says which) or "differs" (the
 * entry keeps a UID other than the current rule's, `want`). A name's line
 * goes when the name is provisioned or renumbered. At most REPORT_MAX lines
 * (the oldest go first). With nss/lock held; keeps ctx's detail.
 */
#define REPORT_MAX 256
#define REPORT_CAP (64u * 1024u)

static up_err report_set(struct up_ctx *ctx, int dirfd, const char *name, const char *kind,
			 int64_t want)
{
	char saved[sizeof(ctx->detail)], *old = NULL, *rest = NULL, *line = NULL;
	struct up_buf out = {0};
	size_t len = 0, n = 0;
	up_err r;

	memcpy(saved, ctx->detail, sizeof(saved));
	r = up_state_read(ctx, dirfd, "report", REPORT_CAP, &old, &len);
	if (r == UP_ENOENT && !kind) {
		memcpy(ctx->detail, saved, sizeof(saved));
		return UP_OK;
	}
	if (r == UP_ENOENT)
		old = strdup("");
	else if (r)
		goto out;
	rest = old ? drop_line(old, name, '\t') : NULL;
	if (kind && asprintf(&line, "%s\t%s\t%lld\t%s\n", name, kind, (long long)want, saved) < 0)
		line = NULL;
	if (!rest || (kind && !line)) {
		r = UP_ENOMEM;
		goto out;
	}
	for (const char *p = rest; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		n++;
	/* Full: the oldest lines go. */
	const char *p = rest;
	while (n-- >= REPORT_MAX && *p)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
	if (!up_buf_ensure(&out) || !up_buf_add_str(&out, p) ||
	    (line && !up_buf_add_str(&out, line))) {
		r = UP_ENOMEM;
		goto out;
	}
	if (strcmp(out.s, old) != 0)
		r = up_state_write(ctx, dirfd, "report", out.s, out.len, 0600);
out:
	up_buf_clear(&out);
	free(old);
	free(rest);
	free(line);
	memcpy(ctx->detail, saved, sizeof(saved));
	return r;
}

/* uid_source / gid_source = sequential: the lowest ID from `from` (uid_next)
 * up that no local account or group, no line of `passwd` and no line of
 * `group` holds (an explicit or hashed ID above uid_next is skipped, too). */
static up_err free_id(struct up_ctx *ctx, const char *passwd, const char *group, int64_t from,
		      int64_t *ret)
{
	const struct up_config *cfg = ctx->cfg;

	for (int64_t id = from > cfg->uid_min ? from : cfg->uid_min;; id++) {
		char *other = NULL;
		bool taken;
		up_err r;

		if (id > cfg->uid_max)
			return up_fail(ctx, UP_ERANGE, "UID range %lld-%lld is exhausted",
				       (long long)cfg->uid_min, (long long)cfg->uid_max);
		r = local_id_taken(ctx, id, &taken);
		if (r)
			return r;
		if (!taken && !(other = find_uid(passwd, id)))
			other = find_uid(group, id);
		if (!taken && !other) {
			*ret = id;
			return UP_OK;
		}
		free(other);
	}
}

/* The UID of a new entry under the configured rule. */
static up_err choose_uid(struct up_ctx *ctx, const struct nss_files *f, const char *name,
			 const struct up_nss_ident *id, int64_t *ret)
{
	const struct up_config *cfg = ctx->cfg;
	up_err r;

	if (id->uid >= 0) {
		*ret = id->uid;
		return check_chosen(ctx, f, name, id->uid, "explicit UID", NULL);
	}
	if (cfg->uid_source == UP_UID_CLAIM) {
		r = uid_from_claim(ctx, name, cfg->uid_claim, id->uid_text, ret);
		return r ? r : check_chosen(ctx, f, name, *ret, cfg->uid_claim, NULL);
	}
	if (cfg->uid_source == UP_UID_HASH) {
		if (!id->issuer || !id->sub || !*id->sub)
			return up_fail(
			    ctx, UP_EINVAL,
			    "uid_source = hash needs the sub of %s: its UID is a hash of "
			    "its account's issuer and sub, which only its sign-in or "
			    "--sub gives (userpool user add %s --sub SUB; userpool login "
			    "shows the sub), or give --uid N",
			    name, name);
		r = up_nss_hash_uid(id->issuer, id->sub, cfg->uid_min, cfg->uid_max, ret);
		return r ? r : check_chosen(ctx, f, name, *ret, "hash", id->sub);
	}
	return free_id(ctx, f->passwd, f->group, f->next, ret);
}

/* The primary GID: the UID (private group), or gid_claim under
 * uid_source = claim. *ret_own_line: the entry gets a group line of its
 * name (false when the GID is a group of /etc/group). */
static up_err choose_gid(struct up_ctx *ctx, const char *name, const struct up_nss_ident *id,
			 int64_t uid, int64_t *ret, bool *ret_own_line)
{
	const struct up_config *cfg = ctx->cfg;
	bool local_user = false, local_group = false;
	const char *why = NULL;
	up_err r;

	*ret = uid;
	*ret_own_line = true;
	if (id->gid >= 0)
		*ret = id->gid;
	else if (cfg->uid_source != UP_UID_CLAIM || !cfg->gid_claim || id->uid >= 0)
		return UP_OK;
	else if (!id->gid_text)
		why = "is missing from the ID token";
	else if (!claim_id(id->gid_text, ret))
		why = "is not an integer";
	if (!why) {
		r = local_taken(ctx, "/etc/group", NULL, *ret, &local_group);
		if (!r)
			r = local_taken(ctx, "/etc/passwd", NULL, *ret, &local_user);
		if (r)
			return r;
		if (local_group)
			*ret_own_line = false; /* that group is the primary one */
		else if (*ret < cfg->uid_min || *ret > cfg->uid_max || local_user)
			why = "is neither a group of /etc/group nor in uid_min..uid_max";
	}
	if (!why)
		return UP_OK;
	const char *claim = id->gid >= 0 ? "--gid" : cfg->gid_claim;
	up_log(ctx, LOG_ERR, "%s of %s %s: provisioning refused", claim, name, why);
	return up_fail(ctx, UP_EINVAL, "%s %s: no account for %s", claim, why, name);
}

/* Entries are in ID order (then name) under claim and hash, so two
 * machines that provision the same people in any order write the same
 * bytes; sequential appends, as it always did. */
static bool fleet_order(const struct up_config *cfg)
{
	return cfg->uid_source != UP_UID_SEQUENTIAL || cfg->gid_source == UP_GID_HASH;
}

/* A line `line` (with name `name`, id `id`) put into `text`. */
static char *put_line(const struct up_config *cfg, const char *text, const char *line,
		      const char *name, int64_t id)
{
	char *out = NULL;

	if (fleet_order(cfg))
		return insert_sorted(text, line, name, id);
	if (asprintf(&out, "%s%s", text, line) < 0)
		return NULL;
	return out;
}

/* Existing entry: keep its UID; repair a group line lost by a crash. */
static up_err add_existing(struct up_ctx *ctx, int dirfd, const struct nss_files *f,
			   struct add_ud *a, int64_t uid)
{
	const struct up_config *cfg = ctx->cfg;
	int64_t want = -1, gid = passwd_gid(f->passwd, a->name);
	char *group = NULL, *gl = NULL;
	bool local = false;
	up_err r;

	a->uid = (uint32_t)uid;
	/* A rule changed since (uid_source, or the claim): never renumbered
	 * silently; userpool status lists it, user renumber moves it. */
	if (a->id->uid < 0 && cfg->uid_source == UP_UID_CLAIM && claim_id(a->id->uid_text, &want) &&
	    want != uid)
		up_log(ctx, LOG_NOTICE,
		       "%s keeps uid %lld; %s says %lld (userpool user renumber %s moves it)",
		       a->name, (long long)uid, cfg->uid_claim, (long long)want, a->name);
	(void)report_set(ctx, dirfd, a->name, want >= 0 && want != uid ? "differs" : NULL, want);
	if (group_line_present(f->group, a->name))
		return UP_OK;
	if (gid < 0)
		gid = uid;
	r = local_taken(ctx, "/etc/group", NULL, gid, &local);
	if (r || local)
		return r;
	/* A crash between the passwd and group writes left the private
	 * group out: adding the user again repairs it. */
	if (asprintf(&gl, "%s:x:%lld:\n", a->name, (long long)gid) < 0)
		return UP_ENOMEM;
	group = put_line(cfg, f->group, gl, a->name, gid);
	free(gl);
	if (!group)
		return UP_ENOMEM;
	r = up_state_write(ctx, dirfd, "group", group, strlen(group), 0644);
	free(group);
	if (!r)
		up_log(ctx, LOG_NOTICE, "repaired the missing group line of %s", a->name);
	return r;
}

static up_err add_locked(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud)
{
	const struct up_config *cfg = ctx->cfg;
	struct add_ud *a = ud;
	char *home = NULL, *passwd = NULL, *group = NULL, *rest = NULL, *pl = NULL, *gl = NULL;
	int64_t uid, gid;
	bool taken, own_line;
	up_err r;

	uid = find_user(f->passwd, a->name);
	if (uid >= 0)
		return add_existing(ctx, dirfd, f, a, uid);
	r = local_taken(ctx, "/etc/group", a->name, -1, &taken);
	if (r)
		return r;
	if (taken)
		return up_fail(ctx, UP_EINVAL, "%s is a local group in /etc/group", a->name);
	if (up_strv_contains(cfg->pool_groups, a->name))
		return up_fail(ctx, UP_EINVAL, "%s is a pool group (pool_groups)", a->name);
	r = choose_uid(ctx, f, a->name, a->id, &uid);
	if (!r)
		r = choose_gid(ctx, a->name, a->id, uid, &gid, &own_line);
	if (r) {
		(void)report_set(ctx, dirfd, a->name, "refused", -1);
		return r;
	}
	home = expand_home(cfg->home, a->name);
	/* A private group line without its passwd line (left by an older
	 * version killed between the writes) is replaced, never doubled. */
	rest = drop_line(f->group, a->name, ':');
	if (!home || !rest ||
	    asprintf(&pl, "%s:x:%lld:%lld:userpool user:%s:%s\n", a->name, (long long)uid,
		     (long long)gid, home, cfg->shell) < 0)
		pl = NULL;
	if (pl && own_line && asprintf(&gl, "%s:x:%lld:\n", a->name, (long long)gid) < 0)
		gl = NULL;
	if (pl && (gl || !own_line)) {
		passwd = put_line(cfg, f->passwd, pl, a->name, uid);
		group = gl ? put_line(cfg, rest, gl, a->name, gid) : strdup(rest);
	}
	/* uid_next stays above every UID handed out, so a later switch to
	 * sequential never reuses one (nor a deleted entry's). */
	r = passwd && group ? write_files(ctx, dirfd, f->passwd, passwd, group,
					  f->next > uid + 1 ? f->next : uid + 1)
			    : UP_ENOMEM;
	free(pl);
	free(gl);
	free(home);
	free(rest);
	free(passwd);
	free(group);
	if (r)
		return r;
	(void)report_set(ctx, dirfd, a->name, NULL, -1);
	up_log(ctx, LOG_NOTICE, "provisioned %s with uid %lld", a->name, (long long)uid);
	a->uid = (uint32_t)uid;
	return UP_OK;
}

up_err up_nss_user_provision(struct up_ctx *ctx, const char *name, const struct up_nss_ident *id,
			     uint32_t *ret_uid)
{
	static const struct up_nss_ident none = {.uid = -1, .gid = -1};
	struct add_ud a = {name, id ? id : &none, 0};
	bool taken;
	up_err r;

	if (!ctx || !ctx->cfg)
		return UP_EINVAL;
	if (!up_nss_name_valid(name))
		return up_fail(ctx, UP_EINVAL, "not a valid local user name for an NSS entry");
	/* A local account of that name wins; nothing to provision. */
	r = local_taken(ctx, "/etc/passwd", name, -1, &taken);
	if (r)
		return r;
	if (taken)
		return up_fail(ctx, UP_EINVAL, "%s is a local account in /etc/passwd", name);
	r = nss_locked(ctx, add_locked, &a);
	if (!r && ret_uid)
		*ret_uid = a.uid;
	return r;
}

up_err up_nss_user_add(struct up_ctx *ctx, const char *name, uint32_t *ret_uid)
{
	return up_nss_user_provision(ctx, name, NULL, ret_uid);
}

up_err up_nss_user_add_sub(struct up_ctx *ctx, const char *name, const char *issuer,
			   const char *sub, uint32_t *ret_uid)
{
	struct up_nss_ident id = {.issuer = issuer, .sub = sub, .uid = -1, .gid = -1};

	return up_nss_user_provision(ctx, name, &id, ret_uid);
}

up_err up_nss_provision_claims(struct up_ctx *ctx, const char *name, const struct up_claims *c,
			       uint32_t *ret_uid)
{
	struct up_nss_ident id = {.uid = -1, .gid = -1};
	up_err r;

	if (!c || !ctx || !ctx->cfg)
		return UP_EINVAL;
	/* The hash's issuer is the configured one, not the token's iss: a
	 * Cognito pool's tokens name either of its two issuer forms (DESIGN
	 * §2), and user add --sub, the binding and renumber use this one. */
	id.issuer = ctx->cfg->issuer ? ctx->cfg->issuer : c->issuer;
	id.sub = c->sub;
	id.uid_text = c->uid_value;
	id.gid_text = c->gid_value;
	r = up_nss_user_provision(ctx, name, &id, ret_uid);
	if (r)
		return r;
	/* Fewer groups, never more: the sign-in stands (as before). */
	if (up_nss_user_groups(ctx, name, c->groups) != UP_OK)
		up_log(ctx, LOG_WARNING, "group_map / pool_groups for %s not applied: %s", name,
		       up_ctx_detail(ctx));
	return UP_OK;
}

/*
 * pool_groups (issue 24): each listed pool group is an nss/group line of
 * its own name, "name:x:gid:m1,m2,...", whose members are the pool users
 * whose verified token lists the group, in strcmp order, so two machines
 * that saw the same people in any order write the same bytes. Its GID is
 * hash_gid's under gid_source = hash, else the next free ID (uid_next,
 * shared with the users). A line stays when its last member goes, so its
 * GID is never handed out again. A GID that another line, a user or a
 * local account holds is refused (logged naming both, in nss/report),
 * never replaced by another number.
 */
#define POOL_LINE_MAX 1022u /* nss/nss_userpool.c skips a longer line */

/* Is the line (p, llen) a pool group's (not a user's private group of
 * that name, nor a malformed one)? */
static bool is_pool_line(const struct up_config *cfg, const char *passwd, const char *p,
			 size_t llen)
{
	size_t nlen = line_name_len(p, llen);

	for (char *const *g = cfg->pool_groups; g && *g; g++)
		if (strlen(*g) == nlen && strncmp(*g, p, nlen) == 0)
			return find_user(passwd, *g) < 0 && line_id(p, llen) >= 0;
	return false;
}

/* `text` (nss/group) as the pool groups' lines and the rest. */
static up_err split_pool(const struct up_config *cfg, const char *passwd, const char *text,
			 char **ret_rest, char **ret_pool)
{
	struct up_buf rest = {0}, pool = {0};

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) + 1 : strlen(p);
		up_buf_add(is_pool_line(cfg, passwd, p, llen) ? &pool : &rest, p, llen);
		p += llen;
	}
	*ret_rest = up_buf_take(&rest);
	*ret_pool = up_buf_take(&pool);
	if (*ret_rest && *ret_pool)
		return UP_OK;
	free(*ret_rest);
	free(*ret_pool);
	*ret_rest = *ret_pool = NULL;
	return UP_ENOMEM;
}

/* The line of `text` that starts with "name:" (its length without the
 * '\n' in *ret_len), or NULL. */
static const char *line_of(const char *text, const char *name, size_t *ret_len)
{
	size_t nlen = strlen(name);

	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p);
		if (llen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
			*ret_len = llen;
			return p;
		}
		p += llen + (eol ? 1 : 0);
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The members of group line `old` (length `olen`, or NULL), without
 * `user`, plus `user` when `member`, sorted; *ret_n of them. */
static char **pool_members(const char *old, size_t olen, const char *user, bool member,
			   size_t *ret_n)
{
	const char *m = old, *end = old ? old + olen : NULL;
	size_t n = 0, cap = 3; /* the user and the NULL */
	char **v;

	for (int i = 0; m && i < 3; i++) {
		m = memchr(m, ':', (size_t)(end - m));
		if (m)
			m++;
	}
	for (const char *c = m; c && c < end; c++)
		cap += *c == ',';
	v = calloc(cap, sizeof(*v));
	while (v && m && m < end) {
		const char *comma = memchr(m, ',', (size_t)(end - m));
		size_t mlen = comma ? (size_t)(comma - m) : (size_t)(end - m);
		if (mlen && !(mlen == strlen(user) && strncmp(m, user, mlen) == 0) &&
		    !(v[n++] = strndup(m, mlen)))
			goto oom;
		m += mlen + (comma ? 1 : 0);
	}
	if (v && member && !(v[n++] = strdup(user)))
		goto oom;
	if (v)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret_n = n;
	return v;
oom:
	up_strv_free(v);
	return NULL;
}

/* The line of pool group `g` (GID `gid`) with the members of `old` and
 * `user` in (`member`) or out. */
static char *pool_line(const char *old, size_t olen, const char *g, int64_t gid, const char *user,
		       bool member)
{
	struct up_buf out = {0};
	char num[32];
	size_t n = 0;
	char **v = pool_members(old, olen, user, member, &n);

	if (!v)
		return NULL;
	snprintf(num, sizeof(num), ":x:%lld:", (long long)gid);
	up_buf_add_str(&out, g);
	up_buf_add_str(&out, num);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0) {
			if (i)
				up_buf_add(&out, ",", 1);
			up_buf_add_str(&out, v[i]);
		}
	up_buf_add(&out, "\n", 1);
	up_strv_free(v);
	return up_buf_take(&out);
}

/* The GID of a new line of pool group `g`; `text`: nss/group as built so
 * far, *next: uid_next (raised past a sequential GID). */
static up_err pool_gid(struct up_ctx *ctx, const struct nss_files *f, const char *text,
		       const char *g, int64_t *next, int64_t *ret)
{
	const struct up_config *cfg = ctx->cfg;
	const char *whose = "group";
	char *other = NULL;
	bool taken = false;
	up_err r = local_taken(ctx, "/etc/group", g, -1, &taken);

	if (!r && (taken || find_user(f->passwd, g) >= 0)) {
		up_log(
		    ctx, LOG_ERR,
		    "pool_groups: %s is already a group of /etc/group or a user's name: not made "
		    "(group_map maps a pool group to a local group)",
		    g);
		return up_fail(ctx, UP_EINVAL, "pool group %s: a local group or user has that name",
			       g);
	}
	if (r)
		return r;
	if (cfg->gid_source != UP_GID_HASH) {
		r = free_id(ctx, f->passwd, text, *next, ret);
		if (!r)
			*next = *ret + 1;
		return r;
	}
	r = hash_gid(cfg, g, ret);
	if (!r && !(other = find_uid(text, *ret)) && (other = find_uid(f->passwd, *ret)))
		whose = "user";
	if (!r && !other)
		r = local_id_taken(ctx, *ret, &taken);
	if (r || (!other && !taken))
		return r;
	up_log(ctx, LOG_ERR,
	       "gid_source = hash: pool group %s hashes to gid %lld, which %s %s already has: %s "
	       "not made; rename one of them in the pool, or use gid_source = sequential",
	       g, (long long)*ret, other ? whose : "a local account or group of",
	       other ? other : "/etc/passwd or /etc/group", g);
	r = up_fail(ctx, UP_EINVAL,
		    "gid_source = hash collision: gid %lld of pool group %s is %s's",
		    (long long)*ret, g, other ? other : "a local account's or group's");
	free(other);
	return r;
}

/* The pool groups' lines (`pool`: their present ones) put back into *text
 * with `user` a member of exactly those listed in `groups`. */
static up_err pool_apply(struct up_ctx *ctx, int dirfd, const struct nss_files *f, const char *user,
			 char *const *groups, const char *pool, char **text, int64_t *next)
{
	for (char *const *g = ctx->cfg->pool_groups; g && *g; g++) {
		bool member = up_strv_contains(groups, *g);
		char rname[NSS_NAME_MAX + 8], *line, *out;
		size_t olen = 0;
		const char *old = line_of(pool, *g, &olen);
		int64_t gid = old ? line_id(old, olen) : -1;
		up_err r;

		if (!old && !member)
			continue;
		snprintf(rname, sizeof(rname), "group:%s", *g);
		if (!old) {
			r = pool_gid(ctx, f, *text, *g, next, &gid);
			if (r == UP_EINVAL) { /* logged; the other groups still apply */
				(void)report_set(ctx, dirfd, rname, "refused", gid);
				continue;
			}
			if (r)
				return r;
			(void)report_set(ctx, dirfd, rname, NULL, -1);
		}
		line = pool_line(old, olen, *g, gid, user, member);
		if (line && old && strlen(line) > POOL_LINE_MAX + 1) {
			up_log(ctx, LOG_ERR,
			       "pool_groups: the line of %s is at the %u-byte limit: %s "
			       "not added",
			       *g, POOL_LINE_MAX, user);
			free(line);
			line = strndup(old, olen + 1); /* with its '\n' */
		}
		out = line ? insert_sorted(*text, line, *g, gid) : NULL;
		free(line);
		if (!out)
			return UP_ENOMEM;
		free(*text);
		*text = out;
	}
	return UP_OK;
}

struct want;
static up_err rewrite_members(struct up_ctx *ctx, const char *text, const char *user,
			      struct want *want, size_t nwant, char **ret);

/* nss/group `text` with `user` a member of exactly the group_map targets
 * `want` (when group_map is set) and the pool groups in `groups`. */
static up_err regroup(struct up_ctx *ctx, int dirfd, const struct nss_files *f, const char *text,
		      const char *user, struct want *want, size_t nwant, char *const *groups,
		      int64_t *next, char **ret)
{
	char *rest = NULL, *pool = NULL;
	up_err r = split_pool(ctx->cfg, f->passwd, text, &rest, &pool);

	if (r)
		return r;
	*ret = NULL;
	if (ctx->cfg->group_map && ctx->cfg->group_map[0])
		r = rewrite_members(ctx, rest, user, want, nwant, ret);
	else if (!(*ret = strdup(rest)))
		r = UP_ENOMEM;
	if (!r)
		r = pool_apply(ctx, dirfd, f, user, groups, pool, ret, next);
	free(rest);
	free(pool);
	if (r) {
		free(*ret);
		*ret = NULL;
	}
	return r;
}

static up_err del_locked(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud)
{
	const char *name = ud;
	char *passwd = NULL, *group = NULL, *g1;
	int64_t next = f->next;
	up_err r;

	if (find_user(f->passwd, name) < 0)
		return up_fail(ctx, UP_ENOENT, "%s has no NSS entry", name);
	passwd = drop_line(f->passwd, name, ':');
	g1 = drop_line(f->group, name, ':');
	/* ... and out of every mapped group's and pool group's member list. */
	r = g1 ? regroup(ctx, dirfd, f, g1, name, NULL, 0, NULL, &next, &group) : UP_ENOMEM;
	free(g1);
	if (!r && !passwd)
		r = UP_ENOMEM;
	if (!r) /* uid_next stays: the UID is never handed out again. */
		r = write_files(ctx, dirfd, f->passwd, passwd, group, f->next);
	free(passwd);
	free(group);
	if (!r)
		up_log(ctx, LOG_NOTICE, "removed the NSS entry of %s", name);
	return r;
}

up_err up_nss_user_del(struct up_ctx *ctx, const char *name)
{
	if (!ctx || !ctx->cfg || !up_nss_name_valid(name))
		return UP_EINVAL;
	return nss_locked(ctx, del_locked, (void *)(uintptr_t)name);
}

/* GID of a group in /etc/group; -1 when there is none. */
static up_err local_gid(struct up_ctx *ctx, const char *name, int64_t *ret_gid)
{
	char line[4096];
	size_t nlen = strlen(name);
	FILE *f = fopen("/etc/group", "re");

	*ret_gid = -1;
	if (!f)
		return errno == ENOENT ? UP_OK
				       : up_fail(ctx, UP_ESTATE, "/etc/group: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *c2, *c3;
		if (strncmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		c2 = strchr(line + nlen + 1, ':');
		c3 = c2 ? strchr(c2 + 1, ':') : NULL;
		if (c3) {
			*c3 = '\0';
			if (up_parse_int64(c2 + 1, 1, 0x7ffffffe, ret_gid))
				*ret_gid = -1;
		}
		break;
	}
	fclose(f);
	return UP_OK;
}

struct want {
	const char *name;
	int64_t gid;
	bool found;
};

/* A line of nss/group cut at its fields (it points into the text). */
struct grp_line {
	const char *p; /* the line, without its '\n' */
	size_t len;
	size_t name_len;
	const char *members; /* after the third ':' */
};

/* False for a line that is not name:x:gid:members. */
static bool grp_line_split(const char *p, size_t llen, struct grp_line *g)
{
	const char *c1 = memchr(p, UP_NSS_FIELD_SEP, llen), *c2 = NULL, *c3 = NULL;

	if (c1)
		c2 = memchr(c1 + 1, UP_NSS_FIELD_SEP, llen - (size_t)(c1 + 1 - p));
	if (c2)
		c3 = memchr(c2 + 1, UP_NSS_FIELD_SEP, llen - (size_t)(c2 + 1 - p));
	if (!c3)
		return false;
	g->p = p;
	g->len = llen;
	g->name_len = (size_t)(c1 - p);
	g->members = c3 + 1;
	return true;
}

struct rewrite {
	struct up_ctx *ctx;
	const char *user;
	size_t ulen;
	struct want *want;
	size_t nwant;
	struct up_buf out; /* the new nss/group */
};

static struct want *want_of(const struct rewrite *rw, const struct grp_line *g)
{
	for (size_t i = 0; i < rw->nwant; i++)
		if (g->name_len == strlen(rw->want[i].name) &&
		    strncmp(g->p, rw->want[i].name, g->name_len) == 0)
			return &rw->want[i];
	return NULL;
}

static bool add_member(struct up_buf *line, size_t *members, const char *m, size_t mlen)
{
	static const char sep = UP_NSS_MEMBER_SEP;

	return (!(*members)++ || up_buf_add(line, &sep, 1)) && up_buf_add(line, m, mlen);
}

/* Append group line `g` to rw->out with the user out of its member list,
 * and back in when it is a wanted group. A line that this rewrite empties
 * goes; one that had no members (another user's private group) stays. A
 * line the user would push over UP_NSS_LINE_MAX is refused: the reader
 * would skip it, and every member would lose the group. */
static up_err rewrite_line(struct rewrite *rw, const struct grp_line *g)
{
	struct want *w = want_of(rw, g);
	struct up_buf line = {0};
	const char *m = g->members, *end = g->p + g->len;
	size_t members = 0;
	bool had_user = false;
	up_err r = UP_OK;

	up_buf_add(&line, g->p, (size_t)(g->members - g->p));
	while (m < end) {
		const char *comma = memchr(m, UP_NSS_MEMBER_SEP, (size_t)(end - m));
		size_t mlen = comma ? (size_t)(comma - m) : (size_t)(end - m);
		if (mlen == rw->ulen && strncmp(m, rw->user, mlen) == 0)
			had_user = true;
		else if (mlen)
			add_member(&line, &members, m, mlen);
		m += mlen + (comma ? 1 : 0);
	}
	if (w) {
		add_member(&line, &members, rw->user, rw->ulen);
		w->found = true;
	}
	if (line.oom) {
		r = UP_ENOMEM;
	} else if (w && !had_user && line.len > UP_NSS_LINE_MAX) {
		up_log(rw->ctx, LOG_ERR,
		       "group_map: the line of group %.*s is at the %u-byte limit: %s not added",
		       (int)g->name_len, g->p, UP_NSS_LINE_MAX, rw->user);
		r = up_fail(rw->ctx, UP_ERANGE,
			    "group_map: nss/group line of %.*s would exceed %u bytes: %s not added",
			    (int)g->name_len, g->p, UP_NSS_LINE_MAX, rw->user);
	} else if (!members && !had_user) {
		up_buf_add(&rw->out, g->p, g->len);
		up_buf_add(&rw->out, "\n", 1);
	} else if (members) {
		up_buf_add(&rw->out, line.s, line.len);
		up_buf_add(&rw->out, "\n", 1);
	}
	up_buf_clear(&line);
	return r;
}

/* Lines for the wanted groups that had none. */
static void add_missing_groups(struct rewrite *rw)
{
	char num[32];

	for (size_t i = 0; i < rw->nwant; i++) {
		if (rw->want[i].found || rw->want[i].gid < 0)
			continue;
		snprintf(num, sizeof(num), ":%s:%lld:", UP_NSS_NO_PASSWORD,
			 (long long)rw->want[i].gid);
		up_buf_add_str(&rw->out, rw->want[i].name);
		up_buf_add_str(&rw->out, num);
		up_buf_add(&rw->out, rw->user, rw->ulen);
		up_buf_add(&rw->out, "\n", 1);
	}
}

/*
 * nss/group text (in *ret) with `user` a member of exactly the `want`
 * groups among the membership lines (its private group line and malformed
 * lines are left alone); wanted groups without a line get one.
 */
static up_err rewrite_members(struct up_ctx *ctx, const char *text, const char *user,
			      struct want *want, size_t nwant, char **ret)
{
	struct rewrite rw = {ctx, user, strlen(user), want, nwant, {0}};
	up_err r = UP_OK;

	*ret = NULL;
	for (const char *p = text; *p && !r;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p);
		struct grp_line g;

		if (!grp_line_split(p, llen, &g) ||
		    (g.name_len == rw.ulen && strncmp(p, user, rw.ulen) == 0)) {
			up_buf_add(&rw.out, p, llen);
			up_buf_add(&rw.out, "\n", 1);
		} else {
			r = rewrite_line(&rw, &g);
		}
		p += llen + (eol ? 1 : 0);
	}
	if (!r)
		add_missing_groups(&rw);
	if (!r && (rw.out.oom || !up_buf_ensure(&rw.out)))
		r = UP_ENOMEM;
	if (!r)
		*ret = up_buf_take(&rw.out);
	up_buf_clear(&rw.out);
	return r;
}

struct members_ud {
	const char *name;
	struct want *want;
	size_t nwant;
	char *const *groups; /* the user's pool groups */
};

static up_err members_locked(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud)
{
	const struct members_ud *m = ud;
	char *group = NULL;
	int64_t next = f->next;
	up_err r =
	    regroup(ctx, dirfd, f, f->group, m->name, m->want, m->nwant, m->groups, &next, &group);

	if (r)
		return r;
	if (strlen(group) > NSS_CAP) {
		free(group);
		return up_fail(ctx, UP_ERANGE,
			       "nss/group would exceed %u bytes: group_map change refused",
			       NSS_CAP);
	}
	/* A new sequential pool group's GID raised uid_next. */
	if (next != f->next)
		r = write_files(ctx, dirfd, f->passwd, f->passwd, group, next);
	else if (strcmp(group, f->group) != 0)
		r = up_state_write(ctx, dirfd, "group", group, strlen(group), 0644);
	free(group);
	return r;
}

up_err up_nss_user_groups(struct up_ctx *ctx, const char *name, char *const *pool_groups)
{
	const struct up_config *cfg;
	struct want *want = NULL;
	size_t nmap, nwant = 0;
	up_err r = UP_OK;

	if (!ctx || !ctx->cfg)
		return UP_EINVAL;
	cfg = ctx->cfg;
	nmap = up_strv_len(cfg->group_map);
	if (nmap == 0 && up_strv_len(cfg->pool_groups) == 0)
		return UP_OK;
	if (!up_nss_name_valid(name))
		return up_fail(ctx, UP_EINVAL, "not a valid local user name for an NSS entry");
	want = calloc(nmap + 1, sizeof(*want));
	if (!want)
		return UP_ENOMEM;
	for (size_t i = 0; i < nmap; i++) {
		const char *item = cfg->group_map[i], *colon = strchr(item, ':');
		const char *local = colon + 1;
		bool dup = false;
		int64_t gid;

		bool member = false;

		for (char *const *g = pool_groups; g && *g; g++)
			if (strlen(*g) == (size_t)(colon - item) &&
			    strncmp(*g, item, (size_t)(colon - item)) == 0)
				member = true;
		if (!member)
			continue;
		for (size_t k = 0; k < nwant; k++)
			if (strcmp(want[k].name, local) == 0)
				dup = true;
		if (dup)
			continue;
		r = local_gid(ctx, local, &gid);
		if (r)
			goto out;
		if (gid < 0) {
			up_log(ctx, LOG_WARNING, "group_map: no group %s in /etc/group; skipped",
			       local);
			continue;
		}
		want[nwant].name = local;
		want[nwant].gid = gid;
		nwant++;
	}
	{
		struct members_ud m = {name, want, nwant, pool_groups};
		r = nss_locked(ctx, members_locked, &m);
	}
	if (!r)
		up_log(ctx, LOG_DEBUG, "%s: member of %zu mapped local group(s)", name, nwant);
out:
	free(want);
	return r;
}

/*
 * Binding of a name to the account (issuer + sub) that first signed in
 * with it (issue 16 item 2): nss/bind-<sha256-hex(name)>, root-only 0600,
 * "issuer\nsub\n". It outlives a purge of the user's record, so a pool
 * name re-created for another person cannot inherit the UID and home;
 * only `userpool user del` or `userpool user rebind` removes it.
 */
static up_err bind_file(const char *name, char out[80])
{
	char hex[65];
	up_err r = up_sha256_hex(name, strlen(name), hex);

	if (!r)
		snprintf(out, 80, "bind-%s", hex);
	return r;
}

struct bind_ud {
	const char *name, *issuer, *sub;
};

static up_err bind_locked(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud)
{
	const struct bind_ud *b = ud;
	char file[80], *cur = NULL, *want = NULL;
	size_t len;
	up_err r;

	(void)f;
	r = bind_file(b->name, file);
	if (r)
		return r;
	if (asprintf(&want, "%s\n%s\n", b->issuer, b->sub) < 0)
		return UP_ENOMEM;
	r = up_state_read(ctx, dirfd, file, 4096, &cur, &len);
	if (r == UP_ENOENT) {
		r = up_state_write(ctx, dirfd, file, want, strlen(want), 0600);
		if (!r)
			up_log(ctx, LOG_INFO, "%s bound to its account", b->name);
	} else if (!r && (len != strlen(want) || memcmp(cur, want, len) != 0)) {
		up_log(ctx, LOG_WARNING,
		       "%s is bound to another account (sub changed): run userpool user rebind %s",
		       b->name, b->name);
		r = up_fail(ctx, UP_ESUBCHANGED,
			    "%s is bound to another account (sub changed): run userpool user "
			    "rebind %s",
			    b->name, b->name);
	}
	free(cur);
	free(want);
	return r;
}

up_err up_nss_user_bind(struct up_ctx *ctx, const char *name, const char *issuer, const char *sub)
{
	struct bind_ud b = {name, issuer, sub};

	if (!ctx || !ctx->cfg || !name || !issuer || !sub || !*sub || strchr(issuer, '\n') ||
	    strchr(sub, '\n'))
		return UP_EINVAL;
	return nss_locked(ctx, bind_locked, &b);
}

static up_err unbind_locked(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud)
{
	char file[80];
	up_err r = bind_file(ud, file);

	(void)f;
	if (!r && unlinkat(dirfd, file, 0) < 0 && errno != ENOENT)
		r = up_fail(ctx, UP_ESTATE, "cannot remove the binding of %s: %s", (const char *)ud,
			    strerror(errno));
	return r;
}

up_err up_nss_user_unbind(struct up_ctx *ctx, const char *name)
{
	if (!ctx || !ctx->cfg || !up_nss_name_valid(name))
		return UP_EINVAL;
	return nss_locked(ctx, unbind_locked, (void *)(uintptr_t)name);
}

/*
 * Issue 24: the UID the current uid_source gives an existing entry (for
 * `userpool status` and `userpool user renumber`): hash from the account
 * the name is bound to (nss/bind-*), claim from the uid_claim of the ID
 * token cached at its last sign-in (verified again, offline). Nothing here
 * renumbers on its own: only up_nss_user_renumber moves an entry.
 */
static up_err bound_account(struct up_ctx *ctx, int dirfd, const char *name, char **ret_issuer,
			    char **ret_sub)
{
	char file[80], *text = NULL, *nl;
	size_t len = 0;
	up_err r = bind_file(name, file);

	if (!r)
		r = up_state_read(ctx, dirfd, file, 4096, &text, &len);
	if (r)
		return r;
	nl = memchr(text, '\n', len);
	if (!nl || len < 3 || text[len - 1] != '\n' || nl == text || nl == text + len - 1) {
		free(text);
		return up_fail(ctx, UP_ESTATE, "the binding of %s is corrupt", name);
	}
	*nl = '\0';
	text[len - 1] = '\0';
	*ret_issuer = strdup(text);
	*ret_sub = strdup(nl + 1);
	free(text);
	if (!*ret_issuer || !*ret_sub) {
		free(*ret_issuer);
		free(*ret_sub);
		return UP_ENOMEM;
	}
	return UP_OK;
}

/* The uid_claim of the ID token cached for `name` (text), or UP_ENOENT. */
static up_err cached_claim(struct up_ctx *ctx, const char *name, char **ret_text)
{
	struct up_user_record *rec = NULL;
	struct up_claims *c = NULL;
	char *username = NULL;
	up_err r;

	*ret_text = NULL;
	r = up_username_map(ctx, name, &username);
	if (!r)
		r = up_store_user_read(ctx, username, &rec);
	if (!r && !rec->id_token)
		r = UP_ENOENT;
	if (!r)
		r = up_token_verify(ctx, rec->id_token, UP_TOKEN_ID, username, UP_VERIFY_OFFLINE,
				    &c);
	if (!r && !c->uid_value)
		r = UP_ENOENT;
	if (!r && !(*ret_text = strdup(c->uid_value)))
		r = UP_ENOMEM;
	up_claims_free(c);
	up_user_record_free(rec);
	free(username);
	return r;
}

/* The current rule's UID of the entry `name`; UP_ENOENT (with the reason
 * in the detail) when the rule cannot say (sequential, no binding or no
 * cached claim yet). With nss/lock held. */
static up_err rule_uid(struct up_ctx *ctx, int dirfd, const char *name, int64_t *ret)
{
	const struct up_config *cfg = ctx->cfg;
	char *a = NULL, *b = NULL;
	up_err r;

	if (cfg->uid_source == UP_UID_HASH) {
		r = bound_account(ctx, dirfd, name, &a, &b);
		if (r == UP_ENOENT)
			return up_fail(
			    ctx, UP_ENOENT,
			    "%s is bound to no account yet (its first sign-in binds it): "
			    "the hash needs its issuer and sub; give --uid N",
			    name);
		if (!r)
			r = up_nss_hash_uid(a, b, cfg->uid_min, cfg->uid_max, ret);
	} else if (cfg->uid_source == UP_UID_CLAIM) {
		r = cached_claim(ctx, name, &a);
		if (r == UP_ENOENT || (!r && !claim_id(a, ret)))
			r = up_fail(ctx, UP_ENOENT,
				    "no cached verified integer %s for %s (the next sign-in brings "
				    "it): give --uid N",
				    cfg->uid_claim, name);
	} else {
		return up_fail(ctx, UP_ENOENT,
			       "uid_source = sequential gives %s no particular UID: give --uid N",
			       name);
	}
	free(a);
	free(b);
	return r;
}

static const char *source_name(const struct up_config *cfg)
{
	return cfg->uid_source == UP_UID_HASH	 ? "hash"
	       : cfg->uid_source == UP_UID_CLAIM ? cfg->uid_claim
						 : "sequential";
}

/* Field `n` (0-based) of the line (p, llen), malloc'd, or NULL. */
static char *line_field(const char *p, size_t llen, int n)
{
	const char *e = p + llen, *s = p;

	for (; n > 0 && s < e; n--) {
		const char *c = memchr(s, ':', (size_t)(e - s));
		if (!c)
			return NULL;
		s = c + 1;
	}
	if (n > 0)
		return NULL;
	const char *c = memchr(s, ':', (size_t)(e - s));
	return strndup(s, c ? (size_t)(c - s) : (size_t)(e - s));
}

/* The line (p, llen) with its third field set to `id` (and the fourth to
 * `id2` when >= 0), with its '\n'. */
static char *line_with_ids(const char *p, size_t llen, int64_t id, int64_t id2)
{
	const char *e = p + llen, *a = memchr(p, ':', llen), *b, *c;
	char *out = NULL;

	if (!a || !(b = memchr(a + 1, ':', (size_t)(e - a - 1))))
		return NULL;
	c = memchr(b + 1, ':', (size_t)(e - b - 1));
	if (c && id2 >= 0)
		c = memchr(c + 1, ':', (size_t)(e - c - 1));
	if (!c)
		return NULL;
	if (id2 >= 0 && asprintf(&out, "%.*s%lld:%lld%.*s\n", (int)(b + 1 - p), p, (long long)id,
				 (long long)id2, (int)(e - c), c) < 0)
		return NULL;
	if (id2 < 0 && asprintf(&out, "%.*s%lld%.*s\n", (int)(b + 1 - p), p, (long long)id,
				(int)(e - c), c) < 0)
		return NULL;
	return out;
}

struct renum_ud {
	const char *name;
	int64_t uid;
	struct up_nss_move *mv;
};

/* The new passwd and group texts of a renumbered entry; its private
 * group (GID = old UID) moves with it, other groups stay. */
static up_err renumber_texts(const struct up_config *cfg, const struct nss_files *f,
			     struct up_nss_move *mv, const char *name, char **ret_passwd,
			     char **ret_group)
{
	size_t pl = 0, gl = 0;
	const char *pline = line_of(f->passwd, name, &pl), *gline = line_of(f->group, name, &gl);
	bool private = gline && mv->old_gid == mv->old_uid && line_id(gline, gl) == mv->old_uid;
	char *np = NULL, *ng = NULL, *rest = NULL;
	up_err r = UP_ENOMEM;

	mv->new_gid = private ? mv->new_uid : mv->old_gid;
	np = pline ? line_with_ids(pline, pl, mv->new_uid, mv->new_gid) : NULL;
	ng = private ? line_with_ids(gline, gl, mv->new_gid, -1) : NULL;
	if (!np || (private && !ng))
		goto out;
	rest = drop_line(f->passwd, name, ':');
	*ret_passwd = rest ? put_line(cfg, rest, np, name, mv->new_uid) : NULL;
	free(rest);
	rest = private ? drop_line(f->group, name, ':') : strdup(f->group);
	*ret_group = rest && private ? put_line(cfg, rest, ng, name, mv->new_gid) : rest;
	if (private)
		free(rest);
	if (*ret_passwd && *ret_group)
		r = UP_OK;
out:
	free(np);
	free(ng);
	return r;
}

static up_err renumber_locked(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud)
{
	const struct up_config *cfg = ctx->cfg;
	struct renum_ud *rn = ud;
	struct up_nss_move *mv = rn->mv;
	char *passwd = NULL, *group = NULL;
	size_t pl = 0;
	const char *pline = line_of(f->passwd, rn->name, &pl);
	up_err r;

	if (!pline)
		return up_fail(ctx, UP_ENOENT, "%s has no NSS entry of userpool", rn->name);
	mv->old_uid = line_id(pline, pl);
	mv->old_gid = passwd_gid(f->passwd, rn->name);
	mv->new_uid = rn->uid;
	mv->new_gid = mv->old_gid;
	mv->home = line_field(pline, pl, 5);
	if (mv->old_uid < 0 || !mv->home)
		return up_fail(ctx, UP_ESTATE, "the passwd line of %s is malformed", rn->name);
	if (mv->new_uid < 0 && (r = rule_uid(ctx, dirfd, rn->name, &mv->new_uid)))
		return r;
	if (mv->new_uid == mv->old_uid)
		return UP_OK; /* nothing to move */
	r = check_chosen(ctx, f, rn->name, mv->new_uid,
			 rn->uid >= 0 ? "explicit UID" : source_name(cfg), NULL);
	if (!r)
		r = renumber_texts(cfg, f, mv, rn->name, &passwd, &group);
	if (!r)
		r = write_files(ctx, dirfd, f->passwd, passwd, group,
				f->next > mv->new_uid + 1 ? f->next : mv->new_uid + 1);
	free(passwd);
	free(group);
	if (r)
		return r;
	(void)report_set(ctx, dirfd, rn->name, NULL, -1);
	up_log(ctx, LOG_NOTICE,
	       "renumbered %s from uid %lld to %lld (gid %lld to %lld); its files keep their owner",
	       rn->name, (long long)mv->old_uid, (long long)mv->new_uid, (long long)mv->old_gid,
	       (long long)mv->new_gid);
	return UP_OK;
}

up_err up_nss_user_renumber(struct up_ctx *ctx, const char *name, int64_t uid,
			    struct up_nss_move *ret)
{
	struct renum_ud rn = {name, uid, ret};
	up_err r;

	if (!ctx || !ctx->cfg || !ret || !up_nss_name_valid(name) || uid > UINT32_MAX - 1)
		return UP_EINVAL;
	memset(ret, 0, sizeof(*ret));
	r = nss_locked(ctx, renumber_locked, &rn);
	if (r) {
		free(ret->home);
		ret->home = NULL;
	}
	return r;
}

struct fleet_ud {
	struct up_nss_fleet_item *items;
	size_t n, cap;
};

static bool fleet_push(struct fleet_ud *fl, const char *name, size_t nlen, const char *kind,
		       int64_t uid, int64_t want, const char *detail)
{
	struct up_nss_fleet_item *it;

	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 16;
		it = realloc(fl->items, cap * sizeof(*it));
		if (!it)
			return false;
		fl->items = it;
		fl->cap = cap;
	}
	it = &fl->items[fl->n];
	it->name = strndup(name, nlen);
	it->kind = strdup(kind);
	it->detail = strdup(detail ? detail : "");
	it->uid = uid;
	it->want = want;
	fl->n++;
	return it->name && it->kind && it->detail;
}

/* Each entry the current rule would place elsewhere ("differs"), or
 * cannot place yet ("unknown"). */
static up_err fleet_entries(struct up_ctx *ctx, int dirfd, const struct nss_files *f,
			    struct fleet_ud *fl)
{
	for (const char *p = f->passwd; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) : strlen(p), nlen = line_name_len(p, llen);
		int64_t uid = line_id(p, llen), want = -1;
		char *name = strndup(p, nlen);
		up_err r;
		bool ok = true;

		if (!name)
			return UP_ENOMEM;
		r = rule_uid(ctx, dirfd, name, &want);
		if (r == UP_OK && want != uid)
			ok =
			    fleet_push(fl, name, nlen, "differs", uid, want, source_name(ctx->cfg));
		else if (r == UP_ENOENT)
			ok = fleet_push(fl, name, nlen, "unknown", uid, -1, up_ctx_detail(ctx));
		free(name);
		if (!ok || r == UP_ENOMEM)
			return UP_ENOMEM;
		p += llen + (eol ? 1 : 0);
	}
	return UP_OK;
}

/* The "refused" lines of nss/report (names with no entry). */
static up_err fleet_refused(struct up_ctx *ctx, int dirfd, const struct nss_files *f,
			    struct fleet_ud *fl)
{
	char *text = NULL;
	size_t len = 0;
	up_err r = up_state_read(ctx, dirfd, "report", REPORT_CAP, &text, &len);

	if (r == UP_ENOENT)
		return UP_OK;
	for (char *p = text, *eol; !r && p && *p; p = eol ? eol + 1 : NULL) {
		char *t1, *t2, *t3;
		int64_t want = -1;

		eol = strchr(p, '\n');
		if (eol)
			*eol = '\0';
		t1 = strchr(p, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
		if (!t3 || strncmp(t1 + 1, "refused\t", 8) != 0)
			continue;
		*t1 = *t3 = '\0';
		if (find_user(f->passwd, p) >= 0)
			continue; /* provisioned since */
		(void)up_parse_int64(t2 + 1, -1, INT64_MAX, &want);
		if (!fleet_push(fl, p, strlen(p), "refused", -1, want, t3 + 1))
			r = UP_ENOMEM;
	}
	free(text);
	return r;
}

static up_err fleet_locked(struct up_ctx *ctx, int dirfd, const struct nss_files *f, void *ud)
{
	up_err r = fleet_refused(ctx, dirfd, f, ud);

	if (!r && ctx->cfg->uid_source != UP_UID_SEQUENTIAL)
		r = fleet_entries(ctx, dirfd, f, ud);
	return r;
}

up_err up_nss_fleet_list(struct up_ctx *ctx, struct up_nss_fleet_item **ret, size_t *ret_n)
{
	struct fleet_ud fl = {0};
	up_err r;

	if (!ctx || !ctx->cfg || !ret || !ret_n)
		return UP_EINVAL;
	r = nss_locked(ctx, fleet_locked, &fl);
	if (r) {
		up_nss_fleet_list_free(fl.items, fl.n);
		return r;
	}
	*ret = fl.items;
	*ret_n = fl.n;
	return UP_OK;
}

void up_nss_fleet_list_free(struct up_nss_fleet_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++) {
		free(items[i].name);
		free(items[i].kind);
		free(items[i].detail);
	}
	free(items);
}
