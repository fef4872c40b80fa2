/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_INTERNAL_H
#define USERPOOL_INTERNAL_H

/* Private to libuserpool (and its unit tests): never installed. */

#include <stdarg.h>
#include <syslog.h>

#include <jansson.h>

#include <userpool/userpool.h>

#include "config_def.h"

struct up_http; /* lib/http.c */

/* Discovered OIDC endpoints (lib/oidc.c); all NULL until discovery. */
struct up_oidc_endpoints {
	char *token_endpoint;
	char *device_authorization_endpoint;
	char *jwks_uri;
	char *userinfo_endpoint;
	char *revocation_endpoint;
};

struct up_ctx {
	struct up_config *cfg;     /* NULL until loaded */
	up_log_fn log_fn;
	void *log_ud;
	up_clock_fn clock_fn;
	void *clock_ud;
	char detail[512];
	char user_msg[256];        /* what to tell the person about the last
				      failure ("" when the adapter's own text fits) */
	struct up_http *http;      /* created on first use, reused within the context */
	struct up_oidc_endpoints oidc;
	int64_t jwks_last_refetch; /* in-process memory of the last unknown-kid fetch */
	bool pool_answered;        /* this sign-in got a well-formed answer from the
				      pool (set by cognito.c / oidc.c, cleared by
				      up_signin): no offline fallback after that */
	bool http_answered;        /* an HTTP response arrived since up_signin began
				      (set by http.c, cleared by up_signin) */
	int64_t http_date;         /* Date header of the last HTTP response; 0: none */
	int64_t http_date_local;   /* the local clock when it arrived */
	int64_t requester;	   /* uid asking for the sign-in; -1: getuid() */
	char remote_host[48];	   /* numeric address the sign-in comes from (PAM_RHOST);
				      "" when unknown */
	/* Called once when pool_answered turns true (up_pool_answered): how
	 * up_signin starts the verifier derivation (issue 21). */
	void (*answered_fn)(struct up_ctx *ctx, void *ud);
	void *answered_ud;
	struct up_jwks_memo *jwks_memo; /* jwks.c: the parsed cache file, while unchanged */
	int64_t kdf_ns;			/* kdf.c: wall time inside scrypt (slot wait
					   excluded) in this context, for make bench */
	uid_t state_uid;		/* owner of state_dir and its files (default 0) */
	gid_t state_gid;		/* its group, recorded only (default 0) */
};

/* jwks.c: the context's memo of the last JWKS cache file read (issue 21
 * item 5), the parsed set kept while the file's identity (device, inode,
 * size, mtime, ctime, owner, mode) is unchanged. Freed by up_ctx_free. */
void up_jwks_memo_free(struct up_ctx *ctx);

/* The pool answered this sign-in well-formed (a challenge, a session,
 * tokens): sets pool_answered, and the first time calls answered_fn. */
void up_pool_answered(struct up_ctx *ctx);

/* --- log.c --- */
void up_log(struct up_ctx *ctx, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Set the context's detail and return `err`: `return up_fail(ctx, UP_EPROTO, "...")`. */
up_err up_fail(struct up_ctx *ctx, up_err err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void up_clear_detail(struct up_ctx *ctx);
/* Set the message for the person (up_ctx_user_message); printable ASCII
 * only, capped. */
void up_set_user_msg(struct up_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void up_clear_user_msg(struct up_ctx *ctx);
/* Copy `src` into `dst` (size `cap`) for showing: control characters
 * dropped, other bytes outside printable ASCII as '?', at most cap - 1
 * bytes ("..." marks a cut). */
void up_text_printable(char *dst, size_t cap, const char *src);

/* --- secret.c --- */
void up_wipe(void *p, size_t len);
/* Wipe a NUL-terminated string and free it; NULL is a no-op. */
void up_free_secret(char *s);
/* Wipe `len` bytes and free; NULL is a no-op. */
void up_free_secret_len(void *p, size_t len);
/* strdup that returns NULL for NULL. */
char *up_strdup(const char *s);
/* Constant-time comparison of equal-length buffers: true when equal. */
bool up_memeq_ct(const void *a, const void *b, size_t len);
/* Free a NULL-terminated string array (plain, not secret); NULL is a no-op. */
void up_strv_free(char **v);
size_t up_strv_len(char *const *v);
/* Deep copy; NULL in gives a new empty array. */
char **up_strv_dup(char *const *v);
bool up_strv_contains(char *const *v, const char *s);

/* --- num.c --- */
/* Checked decimal parse of the whole string into [min, max]. */
up_err up_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* Duration: a bare number is seconds; suffixes s, m, h, d. */
up_err up_parse_duration(const char *s, int64_t *ret);

/* --- codec.c --- */
/* base64url without padding (JWS); strict decode: no padding, no whitespace, no +/ */
up_err up_b64url_encode(const uint8_t *data, size_t len, char **ret);
up_err up_b64url_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len);
/* standard base64 with padding (Cognito SRP fields) */
up_err up_b64_encode(const uint8_t *data, size_t len, char **ret);
up_err up_b64_decode(const char *s, uint8_t **ret, size_t *ret_len);
/* lower-case hex */
up_err up_hex_encode(const uint8_t *data, size_t len, char **ret);
/* SHA-256 hex of data (state file names) into out[65] */
up_err up_sha256_hex(const void *data, size_t len, char out[65]);
/* Parse JSON strictly: duplicate keys rejected, no NUL, size capped, object at top. */
up_err up_json_parse(struct up_ctx *ctx, const char *text, size_t len, size_t cap, json_t **ret);
/* Serialise compactly; the result is malloc'd. */
char *up_json_dump(const json_t *j);
/* Wipe every string inside a JSON value (before json_decref of secrets). */
void up_json_wipe(json_t *j);
/* Percent-encode for application/x-www-form-urlencoded and URIs (unreserved kept). */
up_err up_url_encode(const char *s, char **ret);

/* --- http.c --- */
struct up_http_resp {
	long status;
	char *body;          /* NUL-terminated, `len` bytes; wiped on clear */
	size_t len;
	char *error_type;    /* x-amzn-ErrorType header value, NULL when absent */
};
void up_http_resp_clear(struct up_http_resp *resp);

struct up_http_req {
	const char *url;
	const char *method;          /* "GET" or "POST" */
	const char *const *headers;  /* NULL-terminated "Name: value" lines; may be NULL */
	const char *body;            /* may be NULL; secrets: the caller wipes it */
	size_t body_len;
	const char *basic_user;      /* HTTP basic auth; NULL for none */
	const char *basic_pass;
	size_t cap;                  /* response size cap; 0: UP_MAX_RESPONSE */
};
/*
 * Perform one request on the context's reused connection. Transport
 * failures map to UP_ENET/UP_ETLS; any HTTP status is returned in `resp`
 * (the caller decides), except that a response over the cap is UP_EPROTO.
 * HTTPS only (http:// only to loopback), peer+host verification on,
 * ca_file set explicitly, proxy only from the config, no redirects,
 * deadline from `timeout`.
 */
up_err up_http_do(struct up_ctx *ctx, const struct up_http_req *req, struct up_http_resp *resp);
void up_http_free(struct up_http *http);
/* Statistics for tests and bench: connections opened by this context. */
long up_http_connects(struct up_ctx *ctx);
/* true when `url` is https://, or http:// to a loopback address. */
bool up_url_allowed(const char *url);
bool up_host_is_loopback(const char *host, size_t len);
/* GET a JSON object of at most `cap` bytes (Accept: application/json): HTTP
 * 200 and a JSON object, else a failure whose detail starts with `what`;
 * another status is UP_EHTTP (UP_ENOTFOUND for a 404 with the flag). */
#define UP_GET_404_NOTFOUND 1u
up_err up_http_get_json(struct up_ctx *ctx, const char *url, size_t cap, const char *what,
			unsigned flags, json_t **ret);

/* --- state.c: checked files under state_dir --- */
/* Ensure state_dir (and `sub`, when not NULL) exist: root-owned (when we run as
 * root), 0700, not a symlink. `sub` is one path component ("jwks", "users"). */
up_err up_state_dir(struct up_ctx *ctx, const char *sub, int *ret_dirfd);
/* Checked read of `name` in dirfd: O_NOFOLLOW, regular, owner as expected,
 * not group/world writable, size <= cap. UP_ENOENT when absent. */
up_err up_state_read(struct up_ctx *ctx, int dirfd, const char *name, size_t cap,
		     char **ret_data, size_t *ret_len);
/* Atomic write: temp file O_CREAT|O_EXCL|O_NOFOLLOW `mode`, write, fsync,
 * rename, fsync(dir). */
up_err up_state_write(struct up_ctx *ctx, int dirfd, const char *name, const void *data,
		      size_t len, mode_t mode);
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

/* --- jwt.c, jwks.c: tokens, verified against the rules they are handed --- */
/* What a provider hands the verifier; jwt.c and jwks.c know no provider. */
struct up_token_rules {
	const char *issuer;		   /* iss must equal it */
	const char *client_id;		   /* aud (ID tokens); client_id, azp or aud (access) */
	const char *jwks_uri;		   /* NULL: unknown (only when offline: UP_ENOKEY) */
	const char *alt_issuer;		   /* NULL, or a second accepted iss ... */
	const char *alt_jwks_uri;	   /* ... whose keys come from here */
	bool token_use;			   /* token_use names the kind; access tokens carry
					      client_id (Cognito) */
	const char *username_claim;	   /* the name claim */
	const char *access_username_claim; /* in access tokens when the name claim is
					      absent; NULL: none */
	const char *groups_claim;
	const char *uid_claim, *gid_claim; /* copied as text into the claims; NULL: none */
	int64_t leeway; /* seconds of clock skew allowed */
};
up_err up_token_verify_rules(struct up_ctx *ctx, const struct up_token_rules *rules,
			     const char *token, enum up_token_kind kind,
			     const char *expected_username, unsigned flags,
			     struct up_claims **ret_claims);
up_err up_jwks_refresh_uri(struct up_ctx *ctx, const char *uri);
up_err up_jwks_info_uri(struct up_ctx *ctx, const char *uri, struct up_jwks_info **ret_info);

/* --- provider.c: the provider's token rules, and the public token calls --- */
/* The rules of the configured provider; `flags` UP_VERIFY_OFFLINE: no
 * discovery (jwks_uri may stay NULL). The strings belong to ctx. */
up_err up_provider_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules);
/* The JWKS URI in force (config, or OIDC discovery). */
up_err up_jwks_uri(struct up_ctx *ctx, const char **ret_uri);
up_err up_cognito_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules);
up_err up_oidc_token_rules(struct up_ctx *ctx, unsigned flags, struct up_token_rules *rules);

/* --- cognito.c --- */
/* The one mapping of the pool's error names (__type / x-amzn-ErrorType,
 * prefix and suffix stripped) to causes; the message becomes the detail. */
up_err up_cognito_map_error(struct up_ctx *ctx, const char *action, long status, const char *type,
			    const char *message);

/* --- oidc.c --- */
up_err up_oidc_discover(struct up_ctx *ctx);
void up_oidc_endpoints_clear(struct up_oidc_endpoints *e);

/* --- config.c --- */
void up_config_free(struct up_config *cfg);

#endif
