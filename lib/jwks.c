/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pool's key set (DESIGN §3, §4): strict parsing, an on-disk cache in
 * state_dir/jwks/<sha256-hex of jwks_uri>.json and the re-fetch policy.
 *
 * Decisions where the design leaves a choice:
 * - The cache file is {"fetched_at": N, "refetch_at": M, "jwks_uri": "...",
 *   "jwks": {...}}, mode 0600. It is served without network while younger
 *   than 24 h (UP_JWKS_FRESH): a pool's keys change rarely and an unknown
 *   kid triggers a re-fetch anyway. A stale set whose refresh fails is still
 *   used (with a warning): the token must verify against it all the same.
 * - An unknown kid causes at most one re-fetch per 5 minutes. The time is
 *   kept on disk ("refetch_at") so separate processes (sshd forks, sudo)
 *   share the cooldown, and in the context. A set fetched during this very
 *   call is not re-fetched again.
 * - Every fetch holds an flock on jwks/<hash>.lock and re-reads the cache
 *   once it has the lock: N processes with a cold cache fetch once.
 * - A failed or unusable fetch never replaces the last good set.
 * - Two keys with the same kid: both are dropped (neither can be chosen
 *   safely); the rest of the set stays usable.
 * - RSA: modulus of 2048..8192 bits and odd; e odd, > 1, at most 32 bits.
 *   EC: P-256 / P-384, x and y of the curve's exact length, a point on the
 *   curve. use, when present, must be "sig"; alg, when present, must be in
 *   the allow-list and fit the key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "codec.h"
#include "ctx.h"
#include "http.h"
#include "jwks.h"
#include "jwt_int.h"
#include "log.h"
#include "secret.h"
#include "state.h"

/* ---- parsing ---- */

void up_jwks_free(struct up_jwks *set)
{
	if (!set)
		return;
	if (set->refs) { /* another holder keeps it */
		set->refs--;
		return;
	}
	for (size_t i = 0; i < set->n; i++) {
		free(set->keys[i].kid);
		EVP_PKEY_free(set->keys[i].pkey);
		if (set->keys[i].memo)
			EVP_MD_CTX_free(set->keys[i].memo->tmpl);
		free(set->keys[i].memo);
	}
	free(set->keys);
	free(set);
}

const struct up_jwk *up_jwks_find(const struct up_jwks *set, const char *kid)
{
	if (!set || !kid)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	return NULL;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !pctx || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* Decode a base64url member into a BIGNUM. */
static const char *b64_bn(json_t *k, const char *name, BIGNUM **ret)
{
	const char *s = json_string_value(json_object_get(k, name));
	uint8_t *buf = NULL;
	size_t len = 0;

	if (!s || !s[0])
		return "missing or empty";
	if (up_b64url_decode(s, strlen(s), &buf, &len) != UP_OK || len == 0) {
		free(buf);
		return "not base64url";
	}
	*ret = BN_bin2bn(buf, (int)len, NULL);
	free(buf);
	return *ret ? NULL : "out of memory";
}

/* NULL when good, else why the key is skipped. */
static const char *rsa_key(json_t *k, struct up_jwk *out, char *why, size_t whysz)
{
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	const char *err;
	int bits;

	err = b64_bn(k, "n", &n);
	if (err) {
		snprintf(why, whysz, "n %s", err);
		goto out;
	}
	err = b64_bn(k, "e", &e);
	if (err) {
		snprintf(why, whysz, "e %s", err);
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < UP_RSA_MIN_BITS || bits > UP_RSA_MAX_BITS) {
		snprintf(why, whysz, "RSA modulus of %d bits refused (%d..%d)", bits,
			 UP_RSA_MIN_BITS, UP_RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(n)) {
		snprintf(why, whysz, "RSA modulus is even");
		goto out;
	}
	if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 32) {
		snprintf(why, whysz, "RSA exponent refused");
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
	    !(out->pkey = pkey_fromdata("RSA", bld))) {
		snprintf(why, whysz, "RSA key import failed");
		goto out;
	}
	why[0] = '\0';
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return why[0] ? why : NULL;
}

static const char *ec_key(json_t *k, struct up_jwk *out, char *why, size_t whysz)
{
	const char *crv = json_string_value(json_object_get(k, "crv"));
	const char *xs = json_string_value(json_object_get(k, "x"));
	const char *ys = json_string_value(json_object_get(k, "y"));
	uint8_t *x = NULL, *y = NULL, pub[1 + 2 * 48];
	size_t xlen = 0, ylen = 0, clen;
	const char *group;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY_CTX *cctx = NULL;

	why[0] = '\0';
	if (crv && strcmp(crv, "P-256") == 0) {
		clen = 32;
		group = "P-256";
		out->ec_nid = NID_X9_62_prime256v1;
	} else if (crv && strcmp(crv, "P-384") == 0) {
		clen = 48;
		group = "P-384";
		out->ec_nid = NID_secp384r1;
	} else {
		return "crv is not P-256 or P-384";
	}
	if (!xs || !ys || up_b64url_decode(xs, strlen(xs), &x, &xlen) != UP_OK ||
	    up_b64url_decode(ys, strlen(ys), &y, &ylen) != UP_OK) {
		snprintf(why, whysz, "x or y missing or not base64url");
		goto out;
	}
	if (xlen != clen || ylen != clen) {
		snprintf(why, whysz, "x or y is not %zu bytes", clen);
		goto out;
	}
	pub[0] = 0x04; /* uncompressed point */
	memcpy(pub + 1, x, clen);
	memcpy(pub + 1 + clen, y, clen);
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * clen) !=
		1 ||
	    !(out->pkey = pkey_fromdata("EC", bld))) {
		snprintf(why, whysz, "EC point refused (not on the curve?)");
		goto out;
	}
	/* Full public-key check: on the curve, not the point at infinity. */
	cctx = EVP_PKEY_CTX_new_from_pkey(NULL, out->pkey, NULL);
	if (!cctx || EVP_PKEY_public_check(cctx) != 1) {
		snprintf(why, whysz, "EC point is not on the curve");
		goto out;
	}
out:
	EVP_PKEY_CTX_free(cctx);
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	if (why[0] && out->pkey) {
		EVP_PKEY_free(out->pkey);
		out->pkey = NULL;
	}
	return why[0] ? why : NULL;
}

/* Parse one key; NULL when usable, else the reason to skip it. */
static const char *jwk_parse(json_t *k, struct up_jwk *out, char *why, size_t whysz)
{
	const char *kid, *kty, *use, *err;
	json_t *alg;

	memset(out, 0, sizeof(*out));
	out->alg = -1;
	if (!json_is_object(k))
		return "not an object";
	kid = json_string_value(json_object_get(k, "kid"));
	if (!kid || !kid[0] || strlen(kid) > UP_MAX_KID)
		return "kid missing, empty or too long";
	kty = json_string_value(json_object_get(k, "kty"));
	if (!kty)
		return "kty missing";
	if (strcmp(kty, "RSA") == 0)
		out->kty = UP_KTY_RSA;
	else if (strcmp(kty, "EC") == 0)
		out->kty = UP_KTY_EC;
	else
		return "kty is not RSA or EC";
	/* A published key with its private part is public knowledge:
	 * anyone could sign with it (issue 20). */
	if (json_object_get(k, "d") || json_object_get(k, "p") || json_object_get(k, "q") ||
	    json_object_get(k, "k"))
		return "carries private key members (d, p, q or k)";
	if (json_object_get(k, "use")) {
		use = json_string_value(json_object_get(k, "use"));
		if (!use || strcmp(use, "sig") != 0)
			return "use is not sig";
	}
	if (json_object_get(k, "key_ops")) {
		/* RFC 7517 §4.3: the operations the key is for. */
		const json_t *ops = json_object_get(k, "key_ops"), *op;
		bool verify = false;
		size_t i;

		if (!json_is_array(ops))
			return "key_ops is not a list";
		json_array_foreach(ops, i, op) if (json_is_string(op) &&
						   strcmp(json_string_value(op), "verify") == 0)
		    verify = true;
		if (!verify)
			return "key_ops does not include verify";
	}
	alg = json_object_get(k, "alg");
	if (alg) {
		out->alg = up_jws_alg_from_name(json_string_value(alg));
		if (out->alg < 0)
			return "alg is not in the allow-list";
	}
	err = out->kty == UP_KTY_RSA ? rsa_key(k, out, why, whysz) : ec_key(k, out, why, whysz);
	if (err)
		return err;
	if (out->alg >= 0) {
		/* The key's alg must fit its type and curve. */
		bool fits =
		    out->kty == UP_KTY_RSA
			? out->alg <= UP_ALG_PS256
			: (out->alg == UP_ALG_ES256 && out->ec_nid == NID_X9_62_prime256v1) ||
			      (out->alg == UP_ALG_ES384 && out->ec_nid == NID_secp384r1);
		if (!fits) {
			EVP_PKEY_free(out->pkey);
			out->pkey = NULL;
			return "alg does not fit the key";
		}
	}
	out->kid = strdup(kid);
	if (!out->kid) {
		EVP_PKEY_free(out->pkey);
		out->pkey = NULL;
		return "out of memory";
	}
	return NULL;
}

static size_t kid_count(json_t *keys, const char *kid)
{
	size_t i, n = 0;
	json_t *k;

	json_array_foreach(keys, i, k)
	{
		const char *other = json_string_value(json_object_get(k, "kid"));

		if (i >= UP_JWKS_MAX_KEYS)
			break;
		if (other && strcmp(other, kid) == 0)
			n++;
	}
	return n;
}

/* `prio`: skipped keys are a warning when fetched, debug noise from the cache. */
static up_err jwks_from_json(struct up_ctx *ctx, const json_t *jwks, int prio,
			     struct up_jwks **ret_set)
{
	json_t *keys = json_object_get(jwks, "keys"), *k;
	struct up_jwks *set;
	size_t i, n;
	char why[96];

	if (!json_is_object(jwks))
		return up_fail(ctx, UP_EPROTO, "JWKS is not a JSON object");
	if (!json_is_array(keys))
		return up_fail(ctx, UP_EPROTO, "JWKS has no keys array");
	n = json_array_size(keys);
	if (n > UP_JWKS_MAX_KEYS) {
		up_log(ctx, prio, "jwks: %zu keys, only the first %u are used", n,
		       UP_JWKS_MAX_KEYS);
		n = UP_JWKS_MAX_KEYS;
	}
	set = calloc(1, sizeof(*set));
	if (!set || !(set->keys = calloc(n ? n : 1, sizeof(*set->keys)))) {
		free(set);
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	}
	json_array_foreach(keys, i, k)
	{
		struct up_jwk *out = &set->keys[set->n];
		const char *err;

		if (i >= n)
			break;
		err = jwk_parse(k, out, why, sizeof(why));
		if (!err && kid_count(keys, out->kid) > 1) {
			err = "kid appears more than once";
			free(out->kid);
			EVP_PKEY_free(out->pkey);
			memset(out, 0, sizeof(*out));
		}
		if (err) {
			up_log(ctx, prio, "jwks: key %zu (kid %.64s) skipped: %s", i,
			       json_is_string(json_object_get(k, "kid"))
				   ? json_string_value(json_object_get(k, "kid"))
				   : "-",
			       err);
			continue;
		}
		/* Without it (out of memory) the key verifies all the same. */
		out->memo = calloc(1, sizeof(*out->memo));
		set->n++;
	}
	ERR_clear_error();
	if (set->n == 0) {
		up_jwks_free(set);
		return up_fail(ctx, UP_EPROTO, "JWKS holds no usable key");
	}
	*ret_set = set;
	return UP_OK;
}

up_err up_jwks_from_json(struct up_ctx *ctx, const json_t *jwks, struct up_jwks **ret_set)
{
	if (!jwks || !ret_set)
		return up_fail(ctx, UP_EINVAL, "no key set");
	return jwks_from_json(ctx, jwks, LOG_WARNING, ret_set);
}

up_err up_jwks_parse(struct up_ctx *ctx, const char *text, size_t len, struct up_jwks **ret_set)
{
	json_t *root = NULL;
	up_err rc;

	if (!text || !ret_set)
		return up_fail(ctx, UP_EINVAL, "no key set");
	rc = up_json_parse(ctx, text, len, UP_MAX_JWKS, &root);
	if (rc)
		return rc == UP_ENOMEM ? rc : up_fail(ctx, UP_EPROTO, "JWKS is not a JSON object");
	rc = jwks_from_json(ctx, root, LOG_WARNING, ret_set);
	json_decref(root);
	return rc;
}

/* ---- where it comes from ---- */

up_err up_jwks_cache_name(const char *uri, char out[70])
{
	char hex[65];
	up_err rc;

	rc = up_sha256_hex(uri, strlen(uri), hex);
	if (rc)
		return rc;
	snprintf(out, 70, "%s.json", hex);
	return UP_OK;
}

/* What the cache file holds; `jwks` and `set` are owned. */
struct cache {
	int64_t fetched_at;
	int64_t refetch_at;
	json_t *jwks;
	struct up_jwks *set;
};

static void cache_clear(struct cache *c)
{
	json_decref(c->jwks);
	up_jwks_free(c->set);
	memset(c, 0, sizeof(*c));
}

/*
 * The memo: a token verification used to read, parse and turn into keys the
 * whole cache file every time (47 of 144 us). The context keeps the last
 * file it loaded, parsed, together with the file's identity; while a
 * no-follow stat of the name shows the same file (same inode, size, mtime,
 * ctime, owner, mode: a cache write is a new file renamed over the name, a
 * chmod/chown changes ctime) the parsed set is used again. A file that
 * changed in any way is read and checked in full, as before.
 */
struct up_jwks_memo {
	char *uri;
	char *path; /* state_dir/jwks/<name>: up_jwks_for_kid's fast path */
	struct stat st;
	int64_t fetched_at;
	int64_t refetch_at;
	json_t *jwks;
	struct up_jwks *set;
};

void up_jwks_memo_free(struct up_ctx *ctx)
{
	struct up_jwks_memo *m = ctx ? ctx->jwks_memo : NULL;

	if (!m)
		return;
	free(m->uri);
	free(m->path);
	json_decref(m->jwks);
	up_jwks_free(m->set);
	free(m);
	ctx->jwks_memo = NULL;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static bool memo_get(struct up_ctx *ctx, const struct stat *st, const char *uri, struct cache *c)
{
	struct up_jwks_memo *m = ctx->jwks_memo;

	if (!m || strcmp(m->uri, uri) != 0 || !same_file(&m->st, st))
		return false;
	c->fetched_at = m->fetched_at;
	c->refetch_at = m->refetch_at;
	c->jwks = json_incref(m->jwks);
	c->set = m->set;
	m->set->refs++;
	return true;
}

/* File times are coarse (a clock tick): a file rewritten in place within
 * the tick of its last write, at the same size, would look unchanged. So a
 * file is memoized only once its mtime is MEMO_SETTLE seconds old (by the
 * real clock, as the file system stamps it): any later change then carries
 * a later mtime (and a metadata change a later ctime, or another owner or
 * mode). */
#define MEMO_SETTLE 2

static void memo_put(struct up_ctx *ctx, const struct stat *st, const char *uri, const char *name,
		     const struct cache *c)
{
	struct up_jwks_memo *m;
	struct timespec now;
	size_t plen;

	up_jwks_memo_free(ctx);
	if (clock_gettime(CLOCK_REALTIME, &now) != 0 ||
	    now.tv_sec - st->st_mtim.tv_sec < MEMO_SETTLE || !ctx->cfg || !ctx->cfg->state_dir)
		return;
	m = calloc(1, sizeof(*m));
	plen = strlen(ctx->cfg->state_dir) + strlen("/jwks/") + strlen(name) + 1;
	if (!m || !(m->uri = strdup(uri)) || !(m->path = malloc(plen))) {
		if (m)
			free(m->uri);
		free(m);
		return;
	}
	snprintf(m->path, plen, "%s/jwks/%s", ctx->cfg->state_dir, name);
	m->st = *st;
	m->fetched_at = c->fetched_at;
	m->refetch_at = c->refetch_at;
	m->jwks = json_incref(c->jwks);
	m->set = c->set;
	c->set->refs++;
	ctx->jwks_memo = m;
}

/* Read and check the cache file. false when there is no usable one (absent,
 * refused by the state checks, corrupt, another URI): the caller fetches. */
static bool cache_load(struct up_ctx *ctx, int dirfd, const char *name, const char *uri,
		       struct cache *c)
{
	char why[160];
	json_t *root = NULL, *ra;
	struct stat st;
	bool have_st;

	memset(c, 0, sizeof(*c));
	/* Taken before the read: a file replaced in between is memoized
	 * under the old identity and so read again next time, never the
	 * other way round. */
	have_st = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	if (have_st && memo_get(ctx, &st, uri, c))
		return true;
	switch (up_cache_load(ctx, dirfd, name, UP_JWKS_CACHE_CAP, "jwks_uri", uri, &root,
			      &c->fetched_at)) {
	case UP_CACHE_NONE:
		return false;
	case UP_CACHE_REFUSED:
		snprintf(why, sizeof(why), "%s", up_ctx_detail(ctx));
		up_log(ctx, LOG_WARNING, "jwks: cache file jwks/%s refused (%s): fetching again",
		       name, why);
		return false;
	case UP_CACHE_CORRUPT:
		goto corrupt;
	case UP_CACHE_OK:
		break;
	}
	ra = json_object_get(root, "refetch_at");
	if ((ra && !json_is_integer(ra)) || !json_is_object(json_object_get(root, "jwks")))
		goto corrupt;
	c->refetch_at = ra ? (int64_t)json_integer_value(ra) : 0;
	c->jwks = json_incref(json_object_get(root, "jwks"));
	json_decref(root);
	root = NULL;
	if (jwks_from_json(ctx, c->jwks, LOG_DEBUG, &c->set) != UP_OK)
		goto corrupt;
	if (have_st)
		memo_put(ctx, &st, uri, name, c);
	return true;
corrupt:
	json_decref(root);
	cache_clear(c);
	up_log(ctx, LOG_WARNING, "jwks: cache file jwks/%s is corrupt: fetching again", name);
	return false;
}

static up_err cache_store(struct up_ctx *ctx, int dirfd, const char *name, const char *uri,
			  const struct cache *c)
{
	json_t *root;
	up_err rc;

	root = json_pack("{s:I, s:I, s:s, s:O}", "fetched_at", (json_int_t)c->fetched_at,
			 "refetch_at", (json_int_t)c->refetch_at, "jwks_uri", uri, "jwks", c->jwks);
	if (!root)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	rc = up_cache_store(ctx, dirfd, name, UP_JWKS_CACHE_CAP, root);
	json_decref(root);
	/* Called with the JWKS lock held (locked_fetch). */
	if (!rc)
		(void)up_state_tmp_sweep(ctx, dirfd, name, true, NULL);
	if (rc)
		up_log(ctx, LOG_WARNING, "jwks: cannot write the cache file jwks/%s", name);
	return rc;
}

/* GET the key set: status 200, a JSON object, at least one usable key. */
static up_err fetch(struct up_ctx *ctx, const char *uri, json_t **ret_jwks,
		    struct up_jwks **ret_set)
{
	json_t *root = NULL;
	up_err rc;

	rc = up_http_get_json(ctx, uri, UP_MAX_JWKS, "JWKS fetch", UP_GET_404_NOTFOUND, &root);
	if (rc)
		return rc;
	rc = jwks_from_json(ctx, root, LOG_WARNING, ret_set);
	if (rc) {
		json_decref(root);
		return rc;
	}
	*ret_jwks = root;
	up_log(ctx, LOG_INFO, "jwks: fetched %zu usable key(s)", (*ret_set)->n);
	return UP_OK;
}

static bool fresh(int64_t fetched_at, int64_t now)
{
	int64_t age;

	if (__builtin_sub_overflow(now, fetched_at, &age))
		return false;
	return age >= 0 && age < UP_JWKS_FRESH;
}

/* |now - t| < cooldown: a clock that went back does not block for long. */
static bool cooling(int64_t t, int64_t now)
{
	int64_t d;

	if (t == 0 || __builtin_sub_overflow(now, t, &d))
		return false;
	return d > -UP_JWKS_REFETCH_COOLDOWN && d < UP_JWKS_REFETCH_COOLDOWN;
}

struct where {
	const char *uri;
	int dirfd;
	char name[70];
	char lock[70];
};

static up_err where_open(struct up_ctx *ctx, const char *uri, struct where *w)
{
	char hex[65];
	up_err rc;

	w->dirfd = -1;
	w->uri = uri;
	rc = up_sha256_hex(w->uri, strlen(w->uri), hex);
	if (rc)
		return up_fail(ctx, rc, "hashing the JWKS URI failed");
	snprintf(w->name, sizeof(w->name), "%s.json", hex);
	snprintf(w->lock, sizeof(w->lock), "%s.lock", hex);
	return up_state_dir(ctx, "jwks", &w->dirfd);
}

static void where_close(struct where *w)
{
	if (w->dirfd >= 0)
		close(w->dirfd);
	w->dirfd = -1;
}

static up_err lock_take(struct up_ctx *ctx, const struct where *w, int *ret_fd)
{
	int fd = -1;
	up_err rc;

	rc = up_state_lock(ctx, w->dirfd, w->lock, &fd);
	if (rc)
		return rc;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return up_fail(ctx, UP_ESTATE, "jwks: flock failed: %s", strerror(errno));
		}
	}
	*ret_fd = fd;
	return UP_OK;
}

enum fetch_why { WHY_STALE, WHY_UNKNOWN_KID, WHY_FORCED };

/*
 * Fetch under the lock. `c` holds what the caller read before; it is
 * replaced by what is in force afterwards. For WHY_STALE the cache is
 * re-read first and used when another process made it fresh; for
 * WHY_UNKNOWN_KID when it now has `kid` or another process re-fetched within
 * the cooldown. On failure the last good set stays in `c` (and on disk) and
 * the error is returned.
 */
static up_err locked_fetch(struct up_ctx *ctx, const struct where *w, enum fetch_why why,
			   const char *kid, struct cache *c, bool *ret_fetched)
{
	int64_t now = up_ctx_now(ctx);
	struct cache disk, next = {0};
	char detail[sizeof(ctx->detail)];
	int lockfd = -1;
	up_err rc;

	*ret_fetched = false;
	rc = lock_take(ctx, w, &lockfd);
	if (rc)
		return rc;
	if (cache_load(ctx, w->dirfd, w->name, w->uri, &disk)) {
		/* Someone may have done the work while we waited. */
		bool done = (why == WHY_STALE && fresh(disk.fetched_at, now)) ||
			    (why == WHY_UNKNOWN_KID &&
			     (up_jwks_find(disk.set, kid) || cooling(disk.refetch_at, now)));

		cache_clear(c);
		*c = disk;
		if (done) {
			close(lockfd);
			return UP_OK;
		}
	}
	if (why == WHY_UNKNOWN_KID)
		ctx->jwks_last_refetch = now;
	rc = fetch(ctx, w->uri, &next.jwks, &next.set);
	if (rc) {
		snprintf(detail, sizeof(detail), "%s", up_ctx_detail(ctx));
		up_log(ctx, LOG_WARNING, "jwks: fetch failed: %s: %s%s", up_strerror(rc), detail,
		       c->set ? " (keeping the cached set)" : "");
		if (why == WHY_UNKNOWN_KID && c->jwks) {
			/* Record the attempt so other processes keep the cooldown. */
			c->refetch_at = now;
			(void)cache_store(ctx, w->dirfd, w->name, w->uri, c);
		}
		up_fail(ctx, rc, "%s", detail);
		close(lockfd);
		return rc;
	}
	next.fetched_at = now;
	next.refetch_at = why == WHY_UNKNOWN_KID ? now : c->refetch_at;
	(void)cache_store(ctx, w->dirfd, w->name, w->uri, &next);
	close(lockfd);
	cache_clear(c);
	*c = next;
	*ret_fetched = true;
	return UP_OK;
}

/*
 * The memo's fast path (issue 21 item 5): the memoized file is still the
 * one at its path (a no-follow stat shows the same identity, see
 * same_file), it is fresh (or the call is offline) and it has the kid (or
 * none is asked for). Then nothing else would happen: no fetch, no cooldown
 * decision; the state directory is not opened, the URI not hashed. Anything
 * else takes the full path below, which checks the directory and the file.
 */
static bool memo_fast(struct up_ctx *ctx, const char *uri, const char *kid, unsigned flags,
		      struct up_jwks **ret_set)
{
	struct up_jwks_memo *m = ctx->jwks_memo;
	struct stat st;

	if (!m || strcmp(m->uri, uri) != 0 ||
	    fstatat(AT_FDCWD, m->path, &st, AT_SYMLINK_NOFOLLOW) != 0 || !same_file(&m->st, &st))
		return false;
	if (!(flags & UP_VERIFY_OFFLINE) && !fresh(m->fetched_at, up_ctx_now(ctx)))
		return false;
	if (kid && !up_jwks_find(m->set, kid))
		return false;
	m->set->refs++;
	*ret_set = m->set;
	return true;
}

up_err up_jwks_for_kid(struct up_ctx *ctx, const char *uri, const char *kid, unsigned flags,
		       struct up_jwks **ret_set)
{
	struct where w;
	struct cache c;
	bool have, fetched = false;
	int64_t now;
	up_err rc;

	if (!ctx || !ret_set)
		return up_fail(ctx, UP_EINVAL, "bad argument to up_jwks_for_kid");
	if (!uri && (flags & UP_VERIFY_OFFLINE))
		/* Discovery would need the network. */
		return up_fail(ctx, UP_ENOKEY, "JWKS URI unknown without network");
	if (!uri)
		return up_fail(ctx, UP_ECONFIG, "jwks_uri is not set");
	if (memo_fast(ctx, uri, kid, flags, ret_set))
		return UP_OK;
	rc = where_open(ctx, uri, &w);
	if (rc && w.uri && geteuid() != up_state_owner(ctx) && !(flags & UP_VERIFY_OFFLINE)) {
		/* An unprivileged caller (userpool-enroll and `userpool login`
		 * run as the user) may not read root's cache: fetch the set for
		 * this call only, and never write it anywhere. */
		json_t *jwks = NULL;
		up_log(ctx, LOG_DEBUG, "jwks: state directory not usable as uid %u; not caching",
		       (unsigned)geteuid());
		where_close(&w);
		rc = fetch(ctx, w.uri, &jwks, ret_set);
		json_decref(jwks);
		return rc;
	}
	if (rc) {
		where_close(&w);
		return rc;
	}
	now = up_ctx_now(ctx);
	have = cache_load(ctx, w.dirfd, w.name, w.uri, &c);
	if (flags & UP_VERIFY_OFFLINE) {
		if (!have) {
			rc = up_fail(ctx, UP_ENOKEY, "no cached JWKS (offline)");
			goto out;
		}
		goto done;
	}
	if (!have || !fresh(c.fetched_at, now)) {
		rc = locked_fetch(ctx, &w, WHY_STALE, kid, &c, &fetched);
		if (rc && !c.set)
			goto out;
		if (rc)
			up_log(ctx, LOG_WARNING, "jwks: using a stale cached set");
		rc = UP_OK;
	}
	if (kid && !fetched && !up_jwks_find(c.set, kid)) {
		if (cooling(ctx->jwks_last_refetch, now) || cooling(c.refetch_at, now)) {
			up_log(ctx, LOG_DEBUG, "jwks: unknown kid, re-fetch cooling down");
		} else {
			up_log(ctx, LOG_INFO, "jwks: unknown kid, fetching the key set again");
			(void)locked_fetch(ctx, &w, WHY_UNKNOWN_KID, kid, &c, &fetched);
		}
	}
done:
	*ret_set = c.set;
	c.set = NULL;
	rc = UP_OK;
out:
	cache_clear(&c);
	where_close(&w);
	return rc;
}

up_err up_jwks_refresh_uri(struct up_ctx *ctx, const char *uri)
{
	struct where w;
	struct cache c;
	bool fetched = false;
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!uri)
		return up_fail(ctx, UP_ECONFIG, "jwks_uri is not set");
	rc = where_open(ctx, uri, &w);
	if (!rc) {
		memset(&c, 0, sizeof(c));
		rc = locked_fetch(ctx, &w, WHY_FORCED, NULL, &c, &fetched);
		cache_clear(&c);
	}
	where_close(&w);
	return rc;
}

void up_jwks_info_free(struct up_jwks_info *info)
{
	if (!info)
		return;
	up_strv_free(info->kids);
	free(info);
}

up_err up_jwks_info_uri(struct up_ctx *ctx, const char *uri, struct up_jwks_info **ret_info)
{
	struct up_jwks_info *info;
	struct where w;
	struct cache c;
	up_err rc;

	if (!ctx)
		return UP_EINVAL;
	if (!ret_info)
		return up_fail(ctx, UP_EINVAL, "bad argument to up_jwks_info");
	if (!uri)
		return up_fail(ctx, UP_ECONFIG, "jwks_uri is not set");
	rc = where_open(ctx, uri, &w);
	if (rc) {
		where_close(&w);
		return rc;
	}
	info = calloc(1, sizeof(*info));
	if (!info) {
		where_close(&w);
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	}
	if (cache_load(ctx, w.dirfd, w.name, w.uri, &c)) {
		info->fetched_at = c.fetched_at;
		info->kids = calloc(c.set->n + 1, sizeof(char *));
		for (size_t i = 0; info->kids && i < c.set->n; i++)
			if (!(info->kids[i] = strdup(c.set->keys[i].kid))) {
				up_strv_free(info->kids);
				info->kids = NULL;
			}
		cache_clear(&c);
	} else {
		info->kids = calloc(1, sizeof(char *));
	}
	where_close(&w);
	if (!info->kids) {
		up_jwks_info_free(info);
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	}
	up_clear_detail(ctx);
	*ret_info = info;
	return UP_OK;
}
