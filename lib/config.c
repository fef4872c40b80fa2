/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration loader (DESIGN §2).
 *
 * File syntax, as an administrator of /etc files expects it:
 *   - one `key = value` per line; whitespace around key and value is trimmed;
 *   - blank lines, and lines whose first non-blank character is '#', are
 *     comments. A '#' anywhere else is part of the value: there are no
 *     trailing comments, so `timeout = 10s # ten` is a bad duration and is
 *     reported as such (with a hint), never silently cut;
 *   - a value may be wrapped in double quotes to keep leading or trailing
 *     blanks; there are no escapes inside the quotes;
 *   - lists (allow_groups, ignore_users) are separated by commas and/or
 *     blanks; an empty value is an empty list;
 *   - an empty value resets an optional setting (client_secret, ca_file,
 *     proxy, endpoint, ...) to its default; for a setting that always has a
 *     value it is an error.
 * Keys are exact lower-case names. An unknown key is a logged warning.
 *
 * Duplicate keys in the file (or twice among the PAM arguments): the last
 * value wins with a warning, except for the settings that decide whom we
 * trust and talk to (provider, region, user_pool_id, client_id,
 * client_secret, endpoint, issuer, jwks_uri, ca_file, proxy): two values
 * there are ambiguous, and an ambiguous security setting is an error. A PAM
 * argument overriding a file key is not a duplicate: that is what arguments
 * are for.
 *
 * The whole configuration is built in a new struct and swapped in only when
 * it is complete and valid, so a failed reload keeps the previous one. One
 * parser serves both the loader (stops at the first problem, detail on the
 * context) and up_config_check() (collects every problem, one per line).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "config_int.h"

#define CONFIG_MAX_SIZE (64u * 1024u)
#define CONFIG_MAX_LINE 4096u
#define MAX_URL 2048u
#define MAX_PATH_LEN 1024u

enum key_id {
	K_PROVIDER,
	K_REGION,
	K_USER_POOL_ID,
	K_CLIENT_ID,
	K_CLIENT_SECRET,
	K_ENDPOINT,
	K_ISSUER,
	K_JWKS_URI,
	K_AUTH_FLOW,
	K_OTP_MODE,
	K_OTP_PARAM,
	K_CLIENT_AUTH,
	K_SCOPE,
	K_MFA,
	K_ENROLL_ON_LOGIN,
	K_ECHO_CODE,
	K_QR,
	K_TOTP_ISSUER,
	K_USERNAME_FORMAT,
	K_USERNAME_CLAIM,
	K_GROUPS_CLAIM,
	K_ALLOW_GROUPS,
	K_GROUP_MAP,
	K_IGNORE_USERS,
	K_POOL_LOCAL_USERS,
	K_STATE_DIR,
	K_OFFLINE,
	K_OFFLINE_MAX_AGE,
	K_OFFLINE_MAX_FAILURES,
	K_OFFLINE_MFA,
	K_MAX_AUTH_AGE,
	K_TIMEOUT,
	K_KDF_SLOTS,
	K_CA_FILE,
	K_PROXY,
	K_LEEWAY,
	K_REVOKE_ON_CLOSE,
	K_UID_MIN,
	K_UID_MAX,
	K_HOME,
	K_SHELL,
	K_MFA_METHODS,
	K_DEBUG,
	K_COUNT
};

static const struct {
	const char *name;
	bool strict_dup; /* a duplicate is an error, not a warning */
} keys[K_COUNT] = {
    [K_PROVIDER] = {"provider", true},
    [K_REGION] = {"region", true},
    [K_USER_POOL_ID] = {"user_pool_id", true},
    [K_CLIENT_ID] = {"client_id", true},
    [K_CLIENT_SECRET] = {"client_secret", true},
    [K_ENDPOINT] = {"endpoint", true},
    [K_ISSUER] = {"issuer", true},
    [K_JWKS_URI] = {"jwks_uri", true},
    [K_AUTH_FLOW] = {"auth_flow", false},
    [K_OTP_MODE] = {"otp_mode", false},
    [K_OTP_PARAM] = {"otp_param", false},
    [K_CLIENT_AUTH] = {"client_auth", false},
    [K_SCOPE] = {"scope", false},
    [K_MFA] = {"mfa", false},
    [K_ENROLL_ON_LOGIN] = {"enroll_on_login", false},
    [K_ECHO_CODE] = {"echo_code", false},
    [K_QR] = {"qr", false},
    [K_TOTP_ISSUER] = {"totp_issuer", false},
    [K_USERNAME_FORMAT] = {"username_format", false},
    [K_USERNAME_CLAIM] = {"username_claim", false},
    [K_GROUPS_CLAIM] = {"groups_claim", false},
    [K_ALLOW_GROUPS] = {"allow_groups", false},
    [K_GROUP_MAP] = {"group_map", false},
    [K_IGNORE_USERS] = {"ignore_users", false},
    [K_POOL_LOCAL_USERS] = {"pool_local_users", false},
    [K_STATE_DIR] = {"state_dir", false},
    [K_OFFLINE] = {"offline", false},
    [K_OFFLINE_MAX_AGE] = {"offline_max_age", false},
    [K_OFFLINE_MAX_FAILURES] = {"offline_max_failures", false},
    [K_OFFLINE_MFA] = {"offline_mfa", false},
    [K_MAX_AUTH_AGE] = {"max_auth_age", false},
    [K_TIMEOUT] = {"timeout", false},
    [K_KDF_SLOTS] = {"kdf_slots", false},
    [K_CA_FILE] = {"ca_file", true},
    [K_PROXY] = {"proxy", true},
    [K_LEEWAY] = {"leeway", false},
    [K_REVOKE_ON_CLOSE] = {"revoke_on_close", false},
    [K_UID_MIN] = {"uid_min", false},
    [K_UID_MAX] = {"uid_max", false},
    [K_HOME] = {"home", false},
    [K_SHELL] = {"shell", false},
    [K_MFA_METHODS] = {"mfa_methods", false},
    [K_DEBUG] = {"debug", false},
};

/* Edit distance (Levenshtein) of two short names, capped at 9. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[64], n = (unsigned)strlen(b), m = (unsigned)strlen(a);

	if (n >= 64 || m >= 64)
		return 9;
	for (unsigned j = 0; j <= n; j++)
		row[j] = j;
	for (unsigned i = 1; i <= m; i++) {
		unsigned diag = row[0], t;

		row[0] = i;
		for (unsigned j = 1; j <= n; j++) {
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			t = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = t;
		}
	}
	return row[n] > 9 ? 9 : row[n];
}

/* The known key nearest to a typo'd one (issue 18), or NULL when none is close. */
static const char *nearest_key(const char *key)
{
	const char *best = NULL;
	unsigned bestd = 3; /* at most two edits, and less than a third of the name */

	for (int i = 0; i < K_COUNT; i++) {
		unsigned d = edit_distance(key, keys[i].name);

		if (d < bestd && d * 3 < strlen(keys[i].name) + 1) {
			bestd = d;
			best = keys[i].name;
		}
	}
	return best;
}

/* Ranges of the numeric settings (seconds for durations). */
#define DAY INT64_C(86400)
#define OFFLINE_MAX_AGE_MAX (365 * DAY)
#define MAX_AUTH_AGE_MAX DAY
#define TIMEOUT_MIN 1
#define TIMEOUT_MAX 300
#define LEEWAY_MAX 600
#define FAILURES_MIN 1
#define FAILURES_MAX 1000
#define KDF_SLOTS_MAX 1024
#define UID_LOW 1000
#define UID_HIGH INT64_C(2147483646) /* 2^31 - 2: (uid_t)-1 and INT_MAX stay out */

/* A growing text buffer for up_config_check(). */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

struct parser {
	struct up_ctx *ctx;
	struct up_config *cfg;
	bool list;	 /* up_config_check: collect every problem */
	struct sbuf out; /* list mode: the report */
	bool failed;	 /* load mode: the first problem is in ctx->detail */
	bool oom;

	/* where the value being applied comes from (for messages) */
	const char *path; /* the file, or NULL for an argument */
	unsigned line;	  /* line in the file */
	bool hash_hint;	  /* the value holds " #": hint that it is no comment */

	unsigned file_line[K_COUNT]; /* line where the file set the key; 0: not set */
	bool arg_set[K_COUNT];	     /* set by a PAM argument */
	bool flow_set;		     /* auth_flow given explicitly */
	bool file_has_secret;
};

static void sbuf_add(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->oom)
		return;
	if (b->len + n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *t;

		while (b->len + n + 2 > cap)
			cap *= 2;
		t = realloc(b->s, cap);
		if (!t) {
			b->oom = true;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len++] = '\n';
	b->s[b->len] = '\0';
}

/* The report goes to a terminal: one problem per line, no control bytes. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void vproblem(struct parser *p, bool warning, const char *key, const char *fmt, va_list ap)
{
	char msg[400], full[512];
	const char *hint =
	    p->hash_hint ? " ('#' starts a comment only at the beginning of a line)" : "";

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (key && p->path)
		snprintf(full, sizeof(full), "%s%s:%u: %s: %s%s", warning ? "warning: " : "",
			 p->path, p->line, key, msg, hint);
	else if (key)
		snprintf(full, sizeof(full), "%s%s: %s%s", warning ? "warning: " : "", key, msg,
			 hint);
	else
		snprintf(full, sizeof(full), "%s%s", warning ? "warning: " : "", msg);
	sanitize(full);
	if (p->list) {
		sbuf_add(&p->out, full);
		return;
	}
	if (warning) {
		up_log(p->ctx, LOG_WARNING, "%s", full);
		return;
	}
	if (!p->failed) {
		p->failed = true;
		up_fail(p->ctx, UP_ECONFIG, "%s", full);
	}
}

/* A hard problem: returns UP_ECONFIG for `return bad(...)`. */
__attribute__((format(printf, 3, 4))) static up_err bad(struct parser *p, const char *key,
							const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(p, false, key, fmt, ap);
	va_end(ap);
	return UP_ECONFIG;
}

__attribute__((format(printf, 3, 4))) static void warn(struct parser *p, const char *key,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(p, true, key, fmt, ap);
	va_end(ap);
}

static up_err nomem(struct parser *p)
{
	p->oom = true;
	if (!p->list && !p->failed) {
		p->failed = true;
		up_fail(p->ctx, UP_ENOMEM, "configuration: out of memory");
	}
	return UP_ENOMEM;
}

/* Name of the key as shown in messages: "key" for the file, "argument key" for argv. */
static const char *where_key(struct parser *p, enum key_id id, char *buf, size_t len)
{
	if (p->path)
		return keys[id].name;
	snprintf(buf, len, "argument %s", keys[id].name);
	return buf;
}

/* --- small validators; each returns NULL when fine, else why not --- */

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* printable ASCII without blanks */
static bool visible_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool valid_region(const char *s, size_t len)
{
	if (len == 0 || len > 32 || !(s[0] >= 'a' && s[0] <= 'z') || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* <region>_<alnum>, as Cognito names pools (eu-west-1_AbCdEf123). */
static bool valid_pool_id(const char *s)
{
	const char *us = strchr(s, '_');
	size_t n;

	if (!us || !valid_region(s, (size_t)(us - s)))
		return false;
	n = strlen(us + 1);
	if (n == 0 || n > 64)
		return false;
	for (const char *q = us + 1; *q; q++)
		if (!is_alnum(*q))
			return false;
	return true;
}

static bool is_loopback_host(const char *host, size_t len, bool bracketed)
{
	char buf[64];
	struct in_addr a4;
	struct in6_addr a6;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (bracketed)
		return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	if (strcasecmp(buf, "localhost") == 0 || strcasecmp(buf, "localhost.") == 0)
		return true;
	/* inet_pton takes only the strict dotted quad: "127.1" or "0x7f.1"
	 * are host names here, and host names other than localhost are not
	 * loopback. */
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

enum url_kind { URL_SERVICE, URL_ISSUER, URL_PROXY };

/*
 * https://host[:port][/path], or http:// only to a loopback host (a local
 * test pool): a plain-text hop anywhere else would hand tokens and
 * passwords to the network. A proxy may be http:// anywhere (TLS runs
 * through it). No credentials in the URL, no blanks or control bytes.
 */
static const char *url_problem(const char *url, enum url_kind kind)
{
	const char *auth, *end, *host, *hend, *port = NULL;
	bool http, bracketed = false;
	size_t len = strlen(url);

	if (len > MAX_URL)
		return "URL too long";
	for (const char *q = url; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return "URL must not contain blanks, control or non-ASCII characters";
	if (strncasecmp(url, "https://", 8) == 0) {
		http = false;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		http = true;
		auth = url + 7;
	} else {
		return "URL must start with https:// (or http:// to a loopback address)";
	}
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)))
		return "URL must not contain user credentials";
	if (end == auth)
		return "URL has no host";
	if (*auth == '[') {
		const char *rb = memchr(auth, ']', (size_t)(end - auth));

		if (!rb)
			return "URL has a bad IPv6 address";
		host = auth + 1;
		hend = rb;
		bracketed = true;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return "URL has a bad host";
			port = rb + 2;
		}
		{
			char buf[64];
			struct in6_addr a6;
			size_t hl = (size_t)(hend - host);

			if (hl == 0 || hl >= sizeof(buf))
				return "URL has a bad IPv6 address";
			memcpy(buf, host, hl);
			buf[hl] = '\0';
			if (inet_pton(AF_INET6, buf, &a6) != 1)
				return "URL has a bad IPv6 address";
		}
	} else {
		const char *colon = memchr(auth, ':', (size_t)(end - auth));

		host = auth;
		hend = colon ? colon : end;
		if (colon)
			port = colon + 1;
		if (hend == host)
			return "URL has no host";
		for (const char *q = host; q < hend; q++)
			if (!(is_alnum(*q) || *q == '.' || *q == '-' || *q == '_'))
				return "URL has a bad host name";
	}
	if (port) {
		char buf[8];
		size_t pl = (size_t)(end - port);
		int64_t v;

		if (pl == 0 || pl >= sizeof(buf))
			return "URL has a bad port";
		memcpy(buf, port, pl);
		buf[pl] = '\0';
		if (buf[0] == '-' || up_parse_int64(buf, 1, 65535, &v) != UP_OK)
			return "URL has a bad port";
	}
	if (strchr(url, '#'))
		return "URL must not contain a fragment ('#')";
	if (kind == URL_ISSUER && strchr(url, '?'))
		return "issuer must not contain a query ('?')";
	if (http && kind != URL_PROXY && !is_loopback_host(host, (size_t)(hend - host), bracketed))
		return "http:// is allowed only to a loopback address (127.0.0.0/8, ::1, "
		       "localhost); "
		       "use https://";
	return NULL;
}

/* Absolute path without control bytes or ".." components. */
static const char *path_problem(const char *s)
{
	if (s[0] != '/')
		return "must be an absolute path";
	if (strlen(s) > MAX_PATH_LEN)
		return "path too long";
	if (has_ctl(s))
		return "must not contain control characters";
	for (const char *q = s; (q = strstr(q, "..")) != NULL; q += 2)
		if (q[-1] == '/' && (q[2] == '/' || q[2] == '\0'))
			return "must not contain '..'";
	return NULL;
}

/*
 * A template with %u (the login name) and %% only. `need_u`: exactly one
 * %u (username_format) or at least one (home).
 */
static const char *template_problem(const char *s, bool exactly_one)
{
	int nu = 0;

	for (const char *q = s; *q; q++) {
		if (*q != '%')
			continue;
		if (q[1] == 'u')
			nu++;
		else if (q[1] != '%')
			return "only %u and %% may follow '%'";
		q++;
	}
	if (exactly_one && nu != 1)
		return "must contain %u exactly once";
	if (!exactly_one && nu < 1)
		return "must contain %u";
	return NULL;
}

static bool parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return true;
		}
	}
	return false;
}

/* --- setters --- */

static up_err set_str(struct parser *p, char **field, const char *v)
{
	char *s = NULL;

	if (v && *v) {
		s = strdup(v);
		if (!s)
			return nomem(p);
	}
	free(*field);
	*field = s;
	return UP_OK;
}

/* Lists: separated by commas and/or blanks; empty items are skipped. */
static up_err set_list(struct parser *p, const char *name, char ***field, const char *v)
{
	char **out;
	size_t n = 0, cap = 1;

	for (const char *q = v; *q; q++)
		if (*q == ',' || *q == ' ' || *q == '\t')
			cap++;
	out = calloc(cap + 1, sizeof(*out));
	if (!out)
		return nomem(p);
	while (*v) {
		size_t len = strcspn(v, ", \t");

		if (len > 0) {
			if (len > 256) {
				up_strv_free(out);
				return bad(p, name, "list item longer than 256 bytes");
			}
			out[n] = strndup(v, len);
			if (!out[n]) {
				up_strv_free(out);
				return nomem(p);
			}
			n++;
			v += len;
		}
		if (*v)
			v++;
	}
	up_strv_free(*field);
	*field = out;
	return UP_OK;
}

/* mfa_methods: totp, email, sms in order of preference, each at most once; a
 * security setting, so an unknown word or an empty list is an error. */
static up_err set_mfa_methods(struct parser *p, const char *name, const char *v,
			      enum up_mfa_method *field)
{
	static const struct {
		const char *word;
		enum up_mfa_method m;
	} words[] = { { "totp", UP_MFA_TOTP }, { "email", UP_MFA_EMAIL }, { "sms", UP_MFA_SMS } };
	enum up_mfa_method out[UP_MFA_MAX + 1] = { UP_MFA_NONE };
	size_t n = 0;

	while (*v) {
		size_t len = strcspn(v, ", \t");

		if (len > 0) {
			enum up_mfa_method m = UP_MFA_NONE;

			for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
				if (strlen(words[i].word) == len && strncasecmp(v, words[i].word, len) == 0)
					m = words[i].m;
			if (m == UP_MFA_NONE)
				return bad(p, name, "'%.*s' is not totp, email or sms", (int)(len > 64 ? 64 : len), v);
			for (size_t i = 0; i < n; i++)
				if (out[i] == m)
					return bad(p, name, "'%.*s' is listed twice", (int)len, v);
			out[n++] = m;
			v += len;
		}
		if (*v)
			v++;
	}
	if (n == 0)
		return bad(p, name, "empty: list at least one of totp, email, sms");
	memcpy(field, out, sizeof(out));
	return UP_OK;
}

static up_err set_duration(struct parser *p, const char *name, const char *v, int64_t min,
			   int64_t max, int64_t *field)
{
	int64_t d;
	up_err r = up_parse_duration(v, &d);

	if (r == UP_ERANGE)
		return bad(p, name, "'%.64s' out of range (%llds..%llds)", v, (long long)min,
			   (long long)max);
	if (r)
		return bad(p, name, "'%.64s' is not a duration (a number with s, m, h or d)", v);
	if (d < min || d > max)
		return bad(p, name, "'%.64s' out of range (%llds..%llds)", v, (long long)min,
			   (long long)max);
	*field = d;
	return UP_OK;
}

static up_err set_int(struct parser *p, const char *name, const char *v, int64_t min, int64_t max,
		      int64_t *field)
{
	up_err r = up_parse_int64(v, min, max, field);

	if (r == UP_ERANGE)
		return bad(p, name, "'%.64s' out of range (%lld..%lld)", v, (long long)min,
			   (long long)max);
	if (r)
		return bad(p, name, "'%.64s' is not a number", v);
	return UP_OK;
}

static up_err set_bool(struct parser *p, const char *name, const char *v, bool *field)
{
	if (!parse_bool(v, field))
		return bad(p, name, "'%.64s' is not a boolean (yes/no/true/false/on/off/1/0)", v);
	return UP_OK;
}

/* Keys whose empty value means "unset / default". */
static bool empty_allowed(enum key_id id)
{
	switch (id) {
	case K_REGION:
	case K_USER_POOL_ID:
	case K_CLIENT_SECRET:
	case K_ENDPOINT:
	case K_ISSUER:
	case K_JWKS_URI:
	case K_CA_FILE:
	case K_PROXY:
	case K_ALLOW_GROUPS:
	case K_GROUP_MAP:
	case K_IGNORE_USERS:
	case K_POOL_LOCAL_USERS:
		return true;
	default:
		return false;
	}
}

/* Apply one value. Returns UP_OK, UP_ECONFIG (reported) or UP_ENOMEM. */
static up_err set_key(struct parser *p, enum key_id id, const char *v)
{
	struct up_config *c = p->cfg;
	char kb[64];
	const char *name = where_key(p, id, kb, sizeof(kb));
	const char *why;

	if (!*v && !empty_allowed(id))
		return bad(p, name, "empty value");
	if (id == K_CLIENT_SECRET) {
		if (*v && p->path)
			p->file_has_secret = true;
		/* Never echo any part of the secret. */
		if (*v && (strlen(v) > 1024 || !visible_ascii(v)))
			return bad(p, name, "invalid");
		up_free_secret(c->client_secret);
		c->client_secret = NULL;
		if (*v && !(c->client_secret = strdup(v)))
			return nomem(p);
		return UP_OK;
	}
	/* A tab may separate list items and scopes; nowhere else. */
	for (const char *q = v; *q; q++)
		if (((unsigned char)*q < 0x20 || *q == 0x7f) &&
		    !(*q == '\t' &&
		      (id == K_ALLOW_GROUPS || id == K_GROUP_MAP || id == K_IGNORE_USERS ||
		       id == K_POOL_LOCAL_USERS || id == K_SCOPE)))
			return bad(p, name, "control characters in the value");

	switch (id) {
	case K_PROVIDER:
		if (strcasecmp(v, "cognito") == 0)
			c->provider = UP_PROVIDER_COGNITO;
		else if (strcasecmp(v, "oidc") == 0)
			c->provider = UP_PROVIDER_OIDC;
		else
			return bad(p, name, "'%.64s' is not cognito or oidc", v);
		return UP_OK;
	case K_REGION:
		if (*v && !valid_region(v, strlen(v)))
			return bad(p, name, "'%.64s' is not a region name like eu-west-1", v);
		return set_str(p, &c->region, v);
	case K_USER_POOL_ID:
		if (*v && !valid_pool_id(v))
			return bad(p, name, "'%.64s' is not a pool id like eu-west-1_AbCdEf123", v);
		return set_str(p, &c->user_pool_id, v);
	case K_CLIENT_ID:
		if (strlen(v) > 256 || !visible_ascii(v))
			return bad(p, name, "must be 1 to 256 printable characters without blanks");
		return set_str(p, &c->client_id, v);
	case K_ENDPOINT:
	case K_JWKS_URI:
	case K_ISSUER:
		if (*v && (why = url_problem(v, id == K_ISSUER ? URL_ISSUER : URL_SERVICE)))
			return bad(p, name, "%s", why);
		return set_str(p,
			       id == K_ENDPOINT ? &c->endpoint
			       : id == K_ISSUER ? &c->issuer
						: &c->jwks_uri,
			       v);
	case K_PROXY:
		if (*v && (why = url_problem(v, URL_PROXY)))
			return bad(p, name, "%s", why);
		return set_str(p, &c->proxy, v);
	case K_AUTH_FLOW:
		if (strcasecmp(v, "srp") == 0)
			c->auth_flow = UP_FLOW_SRP;
		else if (strcasecmp(v, "password") == 0)
			c->auth_flow = UP_FLOW_PASSWORD;
		else if (strcasecmp(v, "device") == 0)
			c->auth_flow = UP_FLOW_DEVICE;
		else
			return bad(p, name, "'%.64s' is not srp, password or device", v);
		p->flow_set = true;
		return UP_OK;
	case K_OTP_MODE:
		if (strcasecmp(v, "prompt") == 0)
			c->otp_mode = UP_OTP_PROMPT;
		else if (strcasecmp(v, "append") == 0)
			c->otp_mode = UP_OTP_APPEND;
		else
			return bad(p, name, "'%.64s' is not prompt or append", v);
		return UP_OK;
	case K_OTP_PARAM:
		if (strlen(v) > 64)
			return bad(p, name, "longer than 64 characters");
		for (const char *q = v; *q; q++)
			if (!(is_alnum(*q) || *q == '_' || *q == '-' || *q == '.'))
				return bad(p, name, "'%.64s' is not a form field name", v);
		return set_str(p, &c->otp_param, v);
	case K_CLIENT_AUTH:
		if (strcasecmp(v, "basic") == 0)
			c->client_auth = UP_CLIENT_AUTH_BASIC;
		else if (strcasecmp(v, "post") == 0)
			c->client_auth = UP_CLIENT_AUTH_POST;
		else
			return bad(p, name, "'%.64s' is not basic or post", v);
		return UP_OK;
	case K_SCOPE: {
		/* RFC 6749 §3.3 scope tokens; stored with single blanks. */
		char *norm;
		size_t n = 0;
		bool openid = false;

		if (strlen(v) > 1024)
			return bad(p, name, "longer than 1024 characters");
		norm = malloc(strlen(v) + 1);
		if (!norm)
			return nomem(p);
		while (*v) {
			size_t len = strcspn(v, " \t");

			for (size_t i = 0; i < len; i++)
				if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e ||
				    v[i] == '"' || v[i] == '\\') {
					free(norm);
					return bad(p, name, "bad character in a scope");
				}
			if (len) {
				if (len == 6 && memcmp(v, "openid", 6) == 0)
					openid = true;
				if (n)
					norm[n++] = ' ';
				memcpy(norm + n, v, len);
				n += len;
				v += len;
			}
			if (*v)
				v++;
		}
		norm[n] = '\0';
		if (!openid) {
			free(norm);
			return bad(p, name, "must contain openid");
		}
		free(c->scope);
		c->scope = norm;
		return UP_OK;
	}
	case K_MFA:
		if (strcasecmp(v, "required") == 0)
			c->mfa_required = true;
		else if (strcasecmp(v, "optional") == 0)
			c->mfa_required = false;
		else
			return bad(p, name, "'%.64s' is not required or optional", v);
		return UP_OK;
	case K_MFA_METHODS:
		return set_mfa_methods(p, name, v, c->mfa_methods);
	case K_ENROLL_ON_LOGIN:
		return set_bool(p, name, v, &c->enroll_on_login);
	case K_ECHO_CODE:
		return set_bool(p, name, v, &c->echo_code);
	case K_QR:
		if (strcasecmp(v, "auto") == 0)
			c->qr = UP_QR_AUTO;
		else if (strcasecmp(v, "text") == 0)
			c->qr = UP_QR_TEXT;
		else if (strcasecmp(v, "off") == 0)
			c->qr = UP_QR_OFF;
		else
			return bad(p, name, "'%.64s' is not auto, text or off", v);
		return UP_OK;
	case K_OFFLINE:
		return set_bool(p, name, v, &c->offline);
	case K_REVOKE_ON_CLOSE:
		return set_bool(p, name, v, &c->revoke_on_close);
	case K_DEBUG:
		return set_bool(p, name, v, &c->debug);
	case K_TOTP_ISSUER:
		/* The issuer label of otpauth://totp/<issuer>:<user>: no ':'. */
		if (strlen(v) > 64 || strchr(v, ':'))
			return bad(p, name, "must be at most 64 characters without ':'");
		return set_str(p, &c->totp_issuer, v);
	case K_USERNAME_FORMAT:
		if (strlen(v) > 128)
			return bad(p, name, "longer than 128 characters");
		if (strchr(v, '/'))
			return bad(p, name, "must not contain '/'");
		if ((why = template_problem(v, true)))
			return bad(p, name, "%s", why);
		return set_str(p, &c->username_format, v);
	case K_USERNAME_CLAIM:
	case K_GROUPS_CLAIM:
		if (strlen(v) > 256 || !visible_ascii(v))
			return bad(p, name, "must be a claim name without blanks");
		return set_str(p, id == K_USERNAME_CLAIM ? &c->username_claim : &c->groups_claim,
			       v);
	case K_ALLOW_GROUPS:
		return set_list(p, name, &c->allow_groups, v);
	case K_GROUP_MAP: {
		up_err r = set_list(p, name, &c->group_map, v);
		if (r)
			return r;
		/* Each item is POOLGROUP:LOCALGROUP; the local name ends up in a
		 * group(5) line, so it gets the NSS name rules. */
		for (char **g = c->group_map; *g; g++) {
			char *colon = strchr(*g, ':');
			if (!colon || colon == *g || strchr(colon + 1, ':') ||
			    !up_nss_name_valid(colon + 1))
				return bad(p, name, "items must be POOLGROUP:LOCALGROUP");
		}
		return UP_OK;
	}
	case K_IGNORE_USERS:
		return set_list(p, name, &c->ignore_users, v);
	case K_POOL_LOCAL_USERS:
		return set_list(p, name, &c->pool_local_users, v);
	case K_STATE_DIR:
		if ((why = path_problem(v)))
			return bad(p, name, "%s", why);
		return set_str(p, &c->state_dir, v);
	case K_OFFLINE_MAX_AGE:
		return set_duration(p, name, v, 1, OFFLINE_MAX_AGE_MAX, &c->offline_max_age);
	case K_OFFLINE_MAX_FAILURES:
		return set_int(p, name, v, FAILURES_MIN, FAILURES_MAX, &c->offline_max_failures);
	case K_OFFLINE_MFA:
		/* A security setting: anything but the two words is an error. */
		if (strcmp(v, "require") == 0)
			c->offline_mfa_skip = false;
		else if (strcmp(v, "skip") == 0)
			c->offline_mfa_skip = true;
		else
			return bad(p, name, "'%.64s' is not require or skip", v);
		return UP_OK;
	case K_MAX_AUTH_AGE:
		return set_duration(p, name, v, 0, MAX_AUTH_AGE_MAX, &c->max_auth_age);
	case K_TIMEOUT:
		return set_duration(p, name, v, TIMEOUT_MIN, TIMEOUT_MAX, &c->timeout);
	case K_KDF_SLOTS:
		return set_int(p, name, v, 0, KDF_SLOTS_MAX, &c->kdf_slots);
	case K_LEEWAY:
		return set_duration(p, name, v, 0, LEEWAY_MAX, &c->leeway);
	case K_CA_FILE: {
		struct stat st;

		if (!*v)
			return bad(p, name,
				   "empty: remove the line to use the system's CA certificates, or "
				   "name a PEM file");
		if ((why = path_problem(v)))
			return bad(p, name, "%s", why);
		if (stat(v, &st) != 0)
			return bad(p, name, "%.200s: %s", v, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return bad(p, name, "%.200s: not a regular file", v);
		return set_str(p, &c->ca_file, v);
	}
	case K_UID_MIN:
		return set_int(p, name, v, UID_LOW, UID_HIGH, &c->uid_min);
	case K_UID_MAX:
		return set_int(p, name, v, UID_LOW, UID_HIGH, &c->uid_max);
	case K_HOME:
		if ((why = path_problem(v)))
			return bad(p, name, "%s", why);
		/* home and shell end up in passwd lines: ':' would split a field. */
		if (strchr(v, ':'))
			return bad(p, name, "must not contain ':'");
		if ((why = template_problem(v, false)))
			return bad(p, name, "%s", why);
		return set_str(p, &c->home, v);
	case K_SHELL:
		if ((why = path_problem(v)))
			return bad(p, name, "%s", why);
		if (strchr(v, ':') || strchr(v, ' '))
			return bad(p, name, "must not contain ':' or blanks");
		return set_str(p, &c->shell, v);
	case K_CLIENT_SECRET:
	case K_COUNT:
		break;
	}
	return bad(p, name, "internal error");
}

static int key_lookup(const char *name)
{
	for (int i = 0; i < K_COUNT; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

static bool valid_key_name(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(is_alnum(s[i]) || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Strip one pair of surrounding double quotes; returns false if unbalanced. */
static bool unquote(char **v, size_t *len)
{
	char *s = *v;

	if (*len == 0 || s[0] != '"')
		return true;
	if (*len < 2 || s[*len - 1] != '"')
		return false;
	s[*len - 1] = '\0';
	*v = s + 1;
	*len -= 2;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One line of the file, NUL-terminated in place. */
static up_err parse_line(struct parser *p, char *line)
{
	const char *near;
	char *key, *eq, *v, *kend;
	size_t vlen;
	int id;
	up_err r;

	while (is_blank(*line))
		line++;
	if (*line == '\0' || *line == '#')
		return UP_OK;
	eq = strchr(line, '=');
	if (!eq)
		/* The line is not echoed: it may be a misplaced secret. */
		return bad(p, NULL, "%s:%u: expected 'key = value'", p->path, p->line);
	key = line;
	kend = eq;
	while (kend > key && is_blank(kend[-1]))
		kend--;
	if (!valid_key_name(key, (size_t)(kend - key)))
		return bad(p, NULL, "%s:%u: bad key name (expected 'key = value')", p->path,
			   p->line);
	*kend = '\0';
	v = eq + 1;
	while (is_blank(*v))
		v++;
	vlen = strlen(v);
	while (vlen > 0 && is_blank(v[vlen - 1]))
		v[--vlen] = '\0';
	id = key_lookup(key);
	if (id < 0) {
		if (strcmp(key, "use_first_pass") == 0 || strcmp(key, "try_first_pass") == 0)
			warn(p, key, "is a PAM module argument, not a file setting: ignored");
		else if ((near = nearest_key(key)))
			warn(p, key, "unknown key ignored (did you mean %s?)", near);
		else
			warn(p, key, "unknown key ignored");
		return UP_OK;
	}
	if (!unquote(&v, &vlen))
		return bad(p, keys[id].name, "unbalanced double quote");
	if (p->file_line[id]) {
		if (keys[id].strict_dup)
			return bad(p, keys[id].name, "set twice (lines %u and %u): ambiguous",
				   p->file_line[id], p->line);
		warn(p, keys[id].name, "set twice (lines %u and %u): the last one wins",
		     p->file_line[id], p->line);
	}
	p->file_line[id] = p->line;
	p->hash_hint = id != K_CLIENT_SECRET && strstr(v, " #") != NULL;
	r = set_key(p, (enum key_id)id, v);
	p->hash_hint = false;
	return r;
}

static up_err parse_buffer(struct parser *p, char *buf, size_t len)
{
	char *line = buf, *end = buf + len;
	up_err r;

	p->line = 0;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);

		p->line++;
		if (ll > CONFIG_MAX_LINE)
			r = bad(p, NULL, "%s:%u: line longer than %u bytes", p->path, p->line,
				CONFIG_MAX_LINE);
		else if (memchr(line, '\0', ll))
			r = bad(p, NULL, "%s:%u: NUL byte in the file", p->path, p->line);
		else {
			line[ll] = '\0';
			r = parse_line(p, line);
		}
		if (r == UP_ENOMEM || (r && !p->list))
			return r;
		line += ll + 1;
	}
	return UP_OK;
}

/*
 * Open and read the file with the checks of DESIGN §4 applied to /etc:
 * no symlink, a regular file, a size cap; with check_owner, root-owned and
 * not writable by group or others. Returns the buffer (to be wiped: it may
 * hold client_secret) and the stat for the client_secret check.
 */
static up_err read_file(struct parser *p, const char *path, bool check_owner, char **ret_buf,
			size_t *ret_len, struct stat *ret_st)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return bad(p, NULL, "config file %s: is a symbolic link: refused", path);
		return bad(p, NULL, "config file %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		int e = errno;

		close(fd);
		return bad(p, NULL, "config file %s: %s", path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return bad(p, NULL, "config file %s: not a regular file", path);
	}
	if (check_owner && st.st_uid != 0) {
		if (!p->list) {
			close(fd);
			return bad(p, NULL, "config file %s: not owned by root", path);
		}
		bad(p, NULL, "config file %s: not owned by root", path);
	}
	if (check_owner && (st.st_mode & 022)) {
		if (!p->list) {
			close(fd);
			return bad(p, NULL, "config file %s: writable by group or others", path);
		}
		bad(p, NULL, "config file %s: writable by group or others", path);
	}
	if (st.st_size > (off_t)CONFIG_MAX_SIZE) {
		close(fd);
		return bad(p, NULL, "config file %s: larger than %u KiB", path,
			   CONFIG_MAX_SIZE / 1024);
	}
	buf = malloc(CONFIG_MAX_SIZE + 2);
	if (!buf) {
		close(fd);
		return nomem(p);
	}
	/* Read to the cap + 1 whatever fstat said: the file may grow. */
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_MAX_SIZE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			up_free_secret_len(buf, CONFIG_MAX_SIZE + 2);
			return bad(p, NULL, "config file %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_MAX_SIZE) {
			close(fd);
			up_free_secret_len(buf, CONFIG_MAX_SIZE + 2);
			return bad(p, NULL, "config file %s: larger than %u KiB", path,
				   CONFIG_MAX_SIZE / 1024);
		}
	}
	close(fd);
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	*ret_st = st;
	return UP_OK;
}

static up_err init_defaults(struct parser *p, struct up_config *c)
{
	c->provider = UP_PROVIDER_COGNITO;
	c->auth_flow = UP_FLOW_SRP;
	c->otp_mode = UP_OTP_PROMPT;
	c->client_auth = UP_CLIENT_AUTH_BASIC;
	c->mfa_required = true;
	c->enroll_on_login = true;
	c->mfa_methods[0] = UP_MFA_TOTP;
	c->mfa_methods[1] = UP_MFA_EMAIL;
	c->mfa_methods[2] = UP_MFA_SMS;
	c->mfa_methods[3] = UP_MFA_NONE;
	c->echo_code = false;
	c->qr = UP_QR_AUTO;
	c->offline = true;
	c->offline_max_age = 7 * DAY;
	c->offline_max_failures = 5;
	c->offline_mfa_skip = false;
	c->max_auth_age = 0;
	c->timeout = 10;
	c->leeway = 60;
	c->revoke_on_close = false;
	c->uid_min = 200000;
	c->uid_max = 299999;
	c->otp_param = strdup("totp");
	c->scope = strdup("openid");
	c->totp_issuer = strdup("userpool");
	c->username_format = strdup("%u");
	c->state_dir = strdup("/var/lib/userpool");
	c->home = strdup("/home/%u");
	c->shell = strdup("/bin/bash");
	c->allow_groups = calloc(1, sizeof(char *));
	c->group_map = calloc(1, sizeof(char *));
	c->ignore_users = calloc(2, sizeof(char *));
	c->pool_local_users = calloc(1, sizeof(char *));
	if (c->ignore_users)
		c->ignore_users[0] = strdup("root");
	if (!c->otp_param || !c->scope || !c->totp_issuer || !c->username_format || !c->state_dir ||
	    !c->home || !c->shell || !c->allow_groups || !c->group_map || !c->ignore_users ||
	    !c->ignore_users[0] || !c->pool_local_users)
		return nomem(p);
	return UP_OK;
}

static up_err dup_default(struct parser *p, char **field, const char *def)
{
	if (*field)
		return UP_OK;
	*field = strdup(def);
	return *field ? UP_OK : nomem(p);
}

/* The AWS region named in a Cognito URL's host (cognito-idp.REGION.amazonaws.com,
 * also behind a prefix such as a VPC endpoint's), into buf; false when none. */
static bool url_region(const char *url, char *buf, size_t len)
{
	const char *h = strstr(url, "://"), *end, *r, *dot;

	if (!h)
		return false;
	h += 3;
	end = h + strcspn(h, "/:?#");
	r = strstr(h, "cognito-idp.");
	if (!r || r >= end)
		return false;
	if (end - h < 14 || strncmp(end - 14, ".amazonaws.com", 14) != 0)
		return false;
	r += strlen("cognito-idp.");
	dot = memchr(r, '.', (size_t)(end - r));
	if (!dot || dot == r || (size_t)(dot - r) >= len)
		return false;
	memcpy(buf, r, (size_t)(dot - r));
	buf[dot - r] = '\0';
	return true;
}

/*
 * Cross-checks of a Cognito configuration that loads but cannot sign anyone
 * in (issue 18): an endpoint or issuer in another region than the pool, an
 * issuer that names another pool.
 */
static bool cognito_urls_agree(struct parser *p, const struct up_config *c)
{
	char r[64];
	bool ok = true;

	if (c->region && c->endpoint && url_region(c->endpoint, r, sizeof(r)) &&
	    strcmp(r, c->region) != 0) {
		bad(p, "endpoint", "%.200s is in region %s, the pool in %s: fix region or endpoint",
		    c->endpoint, r, c->region);
		ok = false;
	}
	if (c->region && c->issuer && url_region(c->issuer, r, sizeof(r)) &&
	    strcmp(r, c->region) != 0) {
		bad(p, "issuer", "%.200s is in region %s, the pool in %s: fix issuer or region",
		    c->issuer, r, c->region);
		ok = false;
	}
	if (c->issuer && c->user_pool_id) {
		size_t il = strlen(c->issuer), pl = strlen(c->user_pool_id);

		while (il > 0 && c->issuer[il - 1] == '/')
			il--;
		if (il <= pl || strncmp(c->issuer + il - pl, c->user_pool_id, pl) != 0 ||
		    c->issuer[il - pl - 1] != '/') {
			bad(p, "issuer",
			    "%.200s does not end in /%s (user_pool_id): tokens would be refused; "
			    "fix issuer or user_pool_id, or remove issuer to derive it",
			    c->issuer, c->user_pool_id);
			ok = false;
		}
	}
	return ok;
}

/*
 * Every derived value and every cross-key rule, in one place, after all
 * overrides (DESIGN §2): Cognito's endpoint, issuer and jwks_uri from region
 * and pool id; pool_name; provider-dependent defaults and flows.
 */
static up_err finish(struct parser *p)
{
	struct up_config *c = p->cfg;
	bool cognito = c->provider == UP_PROVIDER_COGNITO;
	bool ok = true;
	up_err r;

	p->path = NULL;
	p->line = 0;
	if (!c->client_id) {
		bad(p, "client_id", "required but not set");
		ok = false;
	}
	if (c->user_pool_id) {
		const char *us = strchr(c->user_pool_id, '_');

		if (!(c->pool_name = strdup(us + 1)))
			return nomem(p);
		if (!c->region) {
			if (!(c->region = strndup(c->user_pool_id, (size_t)(us - c->user_pool_id))))
				return nomem(p);
		} else if (cognito &&
			   (strncmp(c->region, c->user_pool_id, (size_t)(us - c->user_pool_id)) !=
				0 ||
			    c->region[us - c->user_pool_id] != '\0') &&
			   (!c->endpoint || !c->issuer)) {
			/* The derived URLs would point at another region's pool. */
			bad(p, "region", "%s does not match user_pool_id %s", c->region,
			    c->user_pool_id);
			ok = false;
		}
	}
	if (cognito) {
		if (!c->user_pool_id) {
			bad(p, "user_pool_id", "required for provider cognito but not set");
			ok = false;
		}
		if (p->flow_set && c->auth_flow == UP_FLOW_DEVICE) {
			bad(p, "auth_flow",
			    "device is for provider oidc; cognito takes srp or "
			    "password");
			ok = false;
		}
		if (!p->flow_set)
			c->auth_flow = UP_FLOW_SRP;
		if (c->region) {
			char buf[MAX_URL + 64];

			if (!c->endpoint) {
				snprintf(buf, sizeof(buf), "https://cognito-idp.%s.amazonaws.com/",
					 c->region);
				if (!(c->endpoint = strdup(buf)))
					return nomem(p);
			}
			if (!c->issuer && c->user_pool_id) {
				snprintf(buf, sizeof(buf),
					 "https://cognito-idp.%s.amazonaws.com/%s", c->region,
					 c->user_pool_id);
				if (!(c->issuer = strdup(buf)))
					return nomem(p);
			}
		}
		if (!c->jwks_uri && c->issuer) {
			char buf[MAX_URL + 64];
			size_t il = strlen(c->issuer);

			/* <issuer>/.well-known/jwks.json, as discovery does it: a
			 * trailing '/' of the issuer is not doubled. */
			if (il > 0 && c->issuer[il - 1] == '/')
				il--;
			snprintf(buf, sizeof(buf), "%.*s/.well-known/jwks.json", (int)il,
				 c->issuer);
			if (!(c->jwks_uri = strdup(buf)))
				return nomem(p);
		}
		if (!cognito_urls_agree(p, c))
			ok = false;
		if ((r = dup_default(p, &c->username_claim, "cognito:username")) ||
		    (r = dup_default(p, &c->groups_claim, "cognito:groups")))
			return r;
	} else {
		if (!c->issuer) {
			bad(p, "issuer", "required for provider oidc but not set");
			ok = false;
		}
		if (p->flow_set && c->auth_flow == UP_FLOW_SRP) {
			bad(p, "auth_flow",
			    "srp is for provider cognito; oidc takes password or "
			    "device");
			ok = false;
		}
		if (!p->flow_set)
			c->auth_flow = UP_FLOW_PASSWORD;
		if ((r = dup_default(p, &c->username_claim, "preferred_username")) ||
		    (r = dup_default(p, &c->groups_claim, "groups")))
			return r;
	}
	/* issue 16: a client cannot tell whether the pool allows self sign-up. */
	if (p->list && (!c->allow_groups || !c->allow_groups[0]))
		warn(p, "allow_groups",
		     "empty: every user of the pool can sign in (and if the pool allows self "
		     "sign-up, anyone); name the pool groups that may sign in here");
	if (c->uid_min > c->uid_max) {
		bad(p, "uid_min", "%lld is above uid_max %lld", (long long)c->uid_min,
		    (long long)c->uid_max);
		ok = false;
	}
	return ok ? UP_OK : UP_ECONFIG;
}

/* PAM arguments: key=value, config=PATH, and the bare flags. */
static up_err parse_args(struct parser *p, int argc, const char *const *argv)
{
	up_err r = UP_OK, first = UP_OK;

	p->path = NULL;
	p->line = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *eq;
		char key[72], *v;
		size_t klen, vlen;
		int id;

		if (!a)
			continue;
		if (strcmp(a, "debug") == 0) {
			p->cfg->debug = true;
			continue;
		}
		if (strcmp(a, "use_first_pass") == 0) {
			p->cfg->use_first_pass = true;
			continue;
		}
		if (strcmp(a, "try_first_pass") == 0) {
			p->cfg->try_first_pass = true;
			continue;
		}
		eq = strchr(a, '=');
		klen = eq ? (size_t)(eq - a) : strlen(a);
		if (!valid_key_name(a, klen)) {
			/* Not echoed: a mistyped argument may hold a secret. */
			warn(p, NULL, "unknown module argument #%d ignored", i + 1);
			continue;
		}
		memcpy(key, a, klen);
		key[klen] = '\0';
		if (strcmp(key, "config") == 0) {
			if (eq)
				continue; /* taken before the file was read */
			r = bad(p, NULL, "argument config: needs a value (config=PATH)");
			goto next;
		}
		id = key_lookup(key);
		if (id < 0) {
			warn(p, NULL, "unknown module argument '%s' ignored", key);
			continue;
		}
		if (!eq) {
			r = bad(p, NULL, "argument %s: needs a value (%s=...)", key, key);
			goto next;
		}
		if (p->arg_set[id]) {
			if (keys[id].strict_dup) {
				r = bad(p, NULL, "argument %s: given twice: ambiguous", key);
				goto next;
			}
			warn(p, NULL, "argument %s: given twice: the last one wins", key);
		}
		p->arg_set[id] = true;
		if (id == K_CLIENT_SECRET) {
			/* The value is never read, let alone echoed. */
			r = bad(p, NULL,
				"argument client_secret: refused: PAM service files are "
				"world-readable; keep the secret in the root-only config file");
			goto next;
		}
		vlen = strlen(eq + 1);
		v = strdup(eq + 1);
		if (!v)
			return nomem(p);
		{
			char *vq = v;

			if (!unquote(&vq, &vlen))
				r = bad(p, NULL, "argument %s: unbalanced double quote", key);
			else
				r = set_key(p, (enum key_id)id, vq);
		}
		if (id == K_CLIENT_SECRET)
			up_free_secret(v);
		else
			free(v);
	next:
		if (r == UP_ENOMEM || (r && !p->list))
			return r;
		if (r && !first)
			first = r;
	}
	return first;
}

/* The file named by `config=` in argv (the last one), else `path`, else the default. */
static up_err pick_path(struct parser *p, const char *path, int argc, const char *const *argv,
			const char **ret)
{
	const char *found = NULL;

	for (int i = 0; i < argc; i++) {
		if (!argv[i] || strncmp(argv[i], "config=", 7) != 0)
			continue;
		if (found) {
			p->path = NULL;
			return bad(p, NULL, "argument config: given twice: ambiguous");
		}
		found = argv[i] + 7;
	}
	if (found && !*found)
		return bad(p, NULL, "argument config: empty value");
	if (found && found[0] != '/')
		return bad(p, NULL, "argument config: must be an absolute path");
	*ret = found ? found : path ? path : UP_DEFAULT_CONFIG;
	return UP_OK;
}

/* The whole load; the result is complete only when the return is UP_OK
 * (list mode: also when problems were collected, for a consistent run). */
static up_err parse_all(struct parser *p, const char *path, int argc, const char *const *argv,
			bool check_owner)
{
	struct up_config *c;
	const char *file = NULL;
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	up_err r, fr;

	c = calloc(1, sizeof(*c));
	if (!c)
		return nomem(p);
	p->cfg = c;
	if ((r = init_defaults(p, c)))
		return r;
	if ((r = pick_path(p, path, argc, argv, &file)))
		return r;
	if (!(c->path = strdup(file)))
		return nomem(p);
	if ((r = read_file(p, file, check_owner, &buf, &len, &st)))
		return r;
	p->path = file;
	fr = parse_buffer(p, buf, len);
	up_free_secret_len(buf, CONFIG_MAX_SIZE + 2);
	if (fr == UP_ENOMEM || (fr && !p->list))
		return fr;
	/* A file with the client secret must be readable by root alone,
	 * whether or not the caller asked for the owner checks. */
	if (p->file_has_secret && (st.st_uid != 0 || (st.st_mode & 044))) {
		p->path = NULL;
		r = bad(p, NULL,
			"config file %s holds client_secret: it must be owned by root and not "
			"readable by group or others (chmod 600)",
			file);
		if (!p->list)
			return r;
	}
	r = parse_args(p, argc, argv);
	if (r == UP_ENOMEM || (r && !p->list))
		return r;
	r = finish(p);
	if (r == UP_ENOMEM || (r && !p->list))
		return r;
	return UP_OK;
}

void up_config_free(struct up_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->region);
	free(cfg->user_pool_id);
	free(cfg->pool_name);
	free(cfg->client_id);
	up_free_secret(cfg->client_secret);
	free(cfg->endpoint);
	free(cfg->issuer);
	free(cfg->jwks_uri);
	free(cfg->otp_param);
	free(cfg->scope);
	free(cfg->totp_issuer);
	free(cfg->username_format);
	free(cfg->username_claim);
	free(cfg->groups_claim);
	up_strv_free(cfg->allow_groups);
	up_strv_free(cfg->group_map);
	up_strv_free(cfg->ignore_users);
	up_strv_free(cfg->pool_local_users);
	free(cfg->state_dir);
	free(cfg->ca_file);
	free(cfg->proxy);
	free(cfg->home);
	free(cfg->shell);
	free(cfg);
}

up_err up_ctx_load_config(struct up_ctx *ctx, const char *path, int argc, const char *const *argv,
			  bool check_owner)
{
	struct parser p;
	up_err r;

	if (!ctx || argc < 0 || (argc > 0 && !argv))
		return up_fail(ctx, UP_EINVAL, "up_ctx_load_config: bad arguments");
	memset(&p, 0, sizeof(p));
	p.ctx = ctx;
	r = parse_all(&p, path, argc, argv, check_owner);
	if (r || p.failed) {
		up_config_free(p.cfg);
		if (!p.failed) /* every path reports; keep a detail regardless */
			up_fail(ctx, r ? r : UP_ECONFIG, "configuration refused");
		return r ? r : UP_ECONFIG;
	}
	up_config_free(ctx->cfg);
	ctx->cfg = p.cfg;
	/* Connections and discovered endpoints belong to the old settings
	 * (issuer, ca_file, proxy): start afresh. */
	up_http_free(ctx->http);
	ctx->http = NULL;
	up_oidc_endpoints_clear(&ctx->oidc);
	up_clear_detail(ctx);
	return UP_OK;
}

char *up_config_check(struct up_ctx *ctx, const char *path, bool check_owner)
{
	struct parser p;
	char *out;

	memset(&p, 0, sizeof(p));
	p.ctx = ctx;
	p.list = true;
	parse_all(&p, path, 0, NULL, check_owner);
	up_config_free(p.cfg);
	if (p.oom || p.out.oom) {
		free(p.out.s);
		return NULL;
	}
	if (p.out.s)
		return p.out.s;
	out = strdup("");
	return out;
}

up_err up_username_map(struct up_ctx *ctx, const char *login, char **ret_username)
{
	const struct up_config *c;
	char *out;
	size_t llen, n = 0, cap;

	if (!ctx || !ret_username)
		return up_fail(ctx, UP_EINVAL, "up_username_map: bad arguments");
	c = ctx->cfg;
	if (!c)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	/* The refused name is not echoed: people type passwords at login prompts. */
	if (!login || !*login)
		return up_fail(ctx, UP_EINVAL, "empty login name");
	llen = strlen(login);
	if (llen > UP_MAX_USERNAME)
		return up_fail(ctx, UP_EINVAL, "login name longer than %u bytes", UP_MAX_USERNAME);
	for (const char *q = login; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f || *q == '/')
			return up_fail(ctx, UP_EINVAL,
				       "login name refused: control character or '/'");
	cap = strlen(c->username_format) + llen + 1;
	out = malloc(cap);
	if (!out)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	for (const char *f = c->username_format; *f; f++) {
		if (f[0] == '%' && f[1] == 'u') {
			memcpy(out + n, login, llen);
			n += llen;
			f++;
		} else if (f[0] == '%' && f[1] == '%') {
			out[n++] = '%';
			f++;
		} else {
			out[n++] = *f;
		}
	}
	out[n] = '\0';
	if (n > UP_MAX_USERNAME) {
		free(out);
		return up_fail(ctx, UP_EINVAL, "pool username longer than %u bytes",
			       UP_MAX_USERNAME);
	}
	*ret_username = out;
	return UP_OK;
}

#define UP_FILES_PASSWD "/etc/passwd"

/* Is `login` in the files database? Read as a file, not through NSS: the
 * NSS module answers for pool users too. An unreadable file counts as
 * "local" (fail closed: no password goes to the pool). */
static bool in_files_db(const char *login)
{
	FILE *f = fopen(UP_FILES_PASSWD, "re");
	struct passwd *pw;
	bool found = false;

	if (!f)
		return errno != ENOENT;
	while ((pw = fgetpwent(f)))
		if (pw->pw_name && strcmp(pw->pw_name, login) == 0) {
			found = true;
			break;
		}
	fclose(f);
	return found;
}

static const char *skip_reason(struct up_ctx *ctx, const char *login)
{
	const struct up_config *c;
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];

	if (!ctx || !ctx->cfg || !login)
		return NULL;
	c = ctx->cfg;
	if (up_strv_contains(c->ignore_users, login))
		return "listed in ignore_users";
	if (up_strv_contains(c->pool_local_users, login))
		return NULL;
	if (in_files_db(login))
		return "a local account in " UP_FILES_PASSWD " (not in pool_local_users)";
	if (getpwnam_r(login, &pwbuf, buf, sizeof(buf), &pw) == 0 && pw &&
	    ((int64_t)pw->pw_uid < c->uid_min || (int64_t)pw->pw_uid > c->uid_max))
		return "a uid outside uid_min..uid_max (not in pool_local_users)";
	return NULL;
}

const char *up_user_skip_reason(struct up_ctx *ctx, const char *login, bool announce)
{
	const char *why = skip_reason(ctx, login);

	if (why)
		up_log(ctx, announce ? LOG_INFO : LOG_DEBUG, "user %s: ignored: %s", login, why);
	return why;
}

bool up_user_ignored(struct up_ctx *ctx, const char *login)
{
	return up_user_skip_reason(ctx, login, false) != NULL;
}

up_err up_config_parse_text(struct up_ctx *ctx, const char *text, size_t len, int argc,
			    const char *const *argv, struct up_config **ret_cfg)
{
	struct parser p;
	char *buf;
	up_err r;

	if (!ctx || !ret_cfg || (!text && len) || len > CONFIG_MAX_SIZE || argc < 0 ||
	    (argc > 0 && !argv))
		return UP_EINVAL;
	*ret_cfg = NULL;
	memset(&p, 0, sizeof(p));
	p.ctx = ctx;
	/* parse_buffer terminates each line in place, the last one at len. */
	buf = malloc(len + 1);
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!buf || !p.cfg) {
		free(buf);
		free(p.cfg);
		return UP_ENOMEM;
	}
	if (len)
		memcpy(buf, text, len);
	buf[len] = '\0';
	r = init_defaults(&p, p.cfg);
	if (!r && !(p.cfg->path = strdup("(text)")))
		r = nomem(&p);
	if (!r) {
		p.path = p.cfg->path;
		r = parse_buffer(&p, buf, len);
	}
	up_free_secret_len(buf, len + 1);
	if (!r)
		r = parse_args(&p, argc, argv);
	if (!r)
		r = finish(&p);
	if (r || p.failed) {
		up_config_free(p.cfg);
		return r ? r : UP_ECONFIG;
	}
	*ret_cfg = p.cfg;
	return UP_OK;
}
