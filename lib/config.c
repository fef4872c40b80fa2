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
 * Keys are exact lower-case names. An unknown key is a logged warning
 * that names the nearest known key when one is close.
 *
 * Every key is one line of the table `keys` below: name, type, field,
 * default, range or choices, and flags (trust-deciding duplicate rule,
 * empty allowed, tab allowed); set_key() applies a value by that line and
 * the few keys with rules of their own name a check or setter function.
 * Defaults go through the same setters as the file's values.
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
#include <stddef.h>
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

#include "buf.h"
#include "config_int.h"
#include "ctx.h"
#include "http.h"
#include "log.h"
#include "num.h"
#include "oidc.h"
#include "secret.h"
#include "state.h"

#define CONFIG_MAX_SIZE (64u * 1024u)
#define CONFIG_MAX_LINE 4096u
#define MAX_URL 2048u
#define MAX_PATH_LEN 1024u

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

#define MAX_KEYS 128 /* capacity of the per-key parser state */

struct parser {
	struct up_ctx *ctx;
	struct up_config *cfg;
	bool list;	   /* up_config_check: collect every problem */
	struct up_buf out; /* list mode: the report */
	bool failed;	   /* load mode: the first problem is in ctx->detail */
	bool oom;

	/* where the value being applied comes from (for messages) */
	const char *path; /* the file, or NULL for an argument */
	unsigned line;	  /* line in the file */
	bool hash_hint;	  /* the value holds " #": hint that it is no comment */

	unsigned file_line[MAX_KEYS]; /* line where the file set the key; 0: not set */
	bool arg_set[MAX_KEYS];	      /* set by a PAM argument */
	bool applied[MAX_KEYS];	      /* a value of the file or an argument was taken */
	bool file_has_secret;
};

/* One line of the up_config_check() report. */
static void report_add(struct up_buf *b, const char *s)
{
	(void)(up_buf_add_str(b, s) && up_buf_add(b, "\n", 1));
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
		report_add(&p->out, full);
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

enum url_kind { URL_SERVICE, URL_ISSUER, URL_PROXY };

/* The host part of an authority [auth, end): a bracketed IPv6 address or
 * a host name, its end in *hend and the port's start (or NULL) in *port. */
static const char *host_problem(const char *auth, const char *end, const char **host,
				const char **hend, const char **port)
{
	*port = NULL;
	if (*auth == '[') {
		const char *rb = memchr(auth, ']', (size_t)(end - auth));
		struct in6_addr a6;
		char buf[64];
		size_t hl;

		if (!rb)
			return "URL has a bad IPv6 address";
		*host = auth + 1;
		*hend = rb;
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return "URL has a bad host";
			*port = rb + 2;
		}
		hl = (size_t)(rb - *host);
		if (hl == 0 || hl >= sizeof(buf))
			return "URL has a bad IPv6 address";
		memcpy(buf, *host, hl);
		buf[hl] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 ? NULL : "URL has a bad IPv6 address";
	}
	*host = auth;
	*hend = memchr(auth, ':', (size_t)(end - auth));
	if (*hend)
		*port = *hend + 1;
	else
		*hend = end;
	if (*hend == *host)
		return "URL has no host";
	for (const char *q = *host; q < *hend; q++)
		if (!(is_alnum(*q) || *q == '.' || *q == '-' || *q == '_'))
			return "URL has a bad host name";
	return NULL;
}

/* A port [port, end): 1..65535, digits only. */
static bool port_ok(const char *port, const char *end)
{
	char buf[8];
	size_t pl = (size_t)(end - port);
	int64_t v;

	if (pl == 0 || pl >= sizeof(buf))
		return false;
	memcpy(buf, port, pl);
	buf[pl] = '\0';
	return buf[0] != '-' && up_parse_int64(buf, 1, 65535, &v) == UP_OK;
}

/*
 * https://host[:port][/path], or http:// only to a loopback host (a local
 * test pool): a plain-text hop anywhere else would hand tokens and
 * passwords to the network. A proxy may be http:// anywhere (TLS runs
 * through it). No credentials in the URL, no blanks or control bytes.
 */
static const char *url_problem(const char *url, enum url_kind kind)
{
	const char *auth, *end, *host, *hend, *port, *why;
	bool http, bracketed;
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
	bracketed = *auth == '[';
	if ((why = host_problem(auth, end, &host, &hend, &port)))
		return why;
	if (port && !port_ok(port, end))
		return "URL has a bad port";
	if (strchr(url, '#'))
		return "URL must not contain a fragment ('#')";
	if (kind == URL_ISSUER && strchr(url, '?'))
		return "issuer must not contain a query ('?')";
	/* a bracketed host is passed with its brackets */
	if (http && kind != URL_PROXY &&
	    !up_host_is_loopback(host - bracketed, (size_t)(hend - host) + 2 * bracketed))
		return "http:// is allowed only to a loopback address (127.0.0.0/8, ::1, "
		       "localhost); use https://";
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

/* --- the checks of single keys (each reports its own problem) --- */

static up_err check_region(struct parser *p, const char *name, const char *v)
{
	if (!valid_region(v, strlen(v)))
		return bad(p, name, "'%.64s' is not a region name like eu-west-1", v);
	return UP_OK;
}

static up_err check_pool_id(struct parser *p, const char *name, const char *v)
{
	if (!valid_pool_id(v))
		return bad(p, name, "'%.64s' is not a pool id like eu-west-1_AbCdEf123", v);
	return UP_OK;
}

static up_err check_client_id(struct parser *p, const char *name, const char *v)
{
	if (strlen(v) > 256 || !visible_ascii(v))
		return bad(p, name, "must be 1 to 256 printable characters without blanks");
	return UP_OK;
}

static up_err check_url(struct parser *p, const char *name, const char *v, enum url_kind kind)
{
	const char *why = url_problem(v, kind);

	return why ? bad(p, name, "%s", why) : UP_OK;
}

static up_err check_service_url(struct parser *p, const char *name, const char *v)
{
	return check_url(p, name, v, URL_SERVICE);
}

static up_err check_issuer_url(struct parser *p, const char *name, const char *v)
{
	return check_url(p, name, v, URL_ISSUER);
}

static up_err check_proxy_url(struct parser *p, const char *name, const char *v)
{
	return check_url(p, name, v, URL_PROXY);
}

static up_err check_otp_param(struct parser *p, const char *name, const char *v)
{
	if (strlen(v) > 64)
		return bad(p, name, "longer than 64 characters");
	for (const char *q = v; *q; q++)
		if (!(is_alnum(*q) || *q == '_' || *q == '-' || *q == '.'))
			return bad(p, name, "'%.64s' is not a form field name", v);
	return UP_OK;
}

/* custom_prompt_param: a challenge parameter name, as the pool's Lambda
 * sets it (letters, digits, '_', '-', ':', '.'). */
static up_err check_custom_param(struct parser *p, const char *name, const char *v)
{
	if (!*v || strlen(v) > 128)
		return bad(p, name, "must be 1 to 128 characters");
	for (const char *q = v; *q; q++)
		if (!(is_alnum(*q) || *q == '_' || *q == '-' || *q == '.' || *q == ':'))
			return bad(p, name, "'%.64s' is not a challenge parameter name", v);
	return UP_OK;
}

static up_err check_totp_issuer(struct parser *p, const char *name, const char *v)
{
	/* The issuer label of otpauth://totp/<issuer>:<user>: no ':'. */
	if (strlen(v) > 64 || strchr(v, ':'))
		return bad(p, name, "must be at most 64 characters without ':'");
	return UP_OK;
}

static up_err check_username_format(struct parser *p, const char *name, const char *v)
{
	const char *why;

	if (strlen(v) > 128)
		return bad(p, name, "longer than 128 characters");
	if (strchr(v, '/'))
		return bad(p, name, "must not contain '/'");
	if ((why = template_problem(v, true)))
		return bad(p, name, "%s", why);
	return UP_OK;
}

static up_err check_claim(struct parser *p, const char *name, const char *v)
{
	if (strlen(v) > 256 || !visible_ascii(v))
		return bad(p, name, "must be a claim name without blanks");
	return UP_OK;
}

static up_err check_path(struct parser *p, const char *name, const char *v)
{
	const char *why = path_problem(v);

	return why ? bad(p, name, "%s", why) : UP_OK;
}

static up_err check_home(struct parser *p, const char *name, const char *v)
{
	const char *why;

	if ((why = path_problem(v)))
		return bad(p, name, "%s", why);
	/* home and shell end up in passwd lines: ':' would split a field. */
	if (strchr(v, ':'))
		return bad(p, name, "must not contain ':'");
	if ((why = template_problem(v, false)))
		return bad(p, name, "%s", why);
	return UP_OK;
}

static up_err check_shell(struct parser *p, const char *name, const char *v)
{
	const char *why;

	if ((why = path_problem(v)))
		return bad(p, name, "%s", why);
	if (strchr(v, ':') || strchr(v, ' '))
		return bad(p, name, "must not contain ':' or blanks");
	return UP_OK;
}

/* tpm = yes needs a build with TPM support (tpm2-tss). */
static up_err check_tpm(struct parser *p, const char *name, const char *v)
{
#ifndef HAVE_TSS2
	if (strcmp(v, "yes") == 0)
		return bad(p, name, "yes: this build has no TPM support (tpm2-tss)");
#else
	(void)p;
	(void)name;
	(void)v;
#endif
	return UP_OK;
}

/* The TCTI loader dlopen()s libtss2-tcti-<name>.so: only the device node,
 * swtpm and the Microsoft simulator, each with a printable configuration. */
static up_err check_tpm_tcti(struct parser *p, const char *name, const char *v)
{
	static const char *const ok[] = {"device:/dev/", "swtpm:", "mssim:"};
	bool known = false;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		known = known || strncmp(v, ok[i], strlen(ok[i])) == 0;
	if (!known || strlen(v) > 128)
		return bad(p, name,
			   "must be device:/dev/..., swtpm:... or mssim:..., at most 128 "
			   "characters");
	for (const char *q = v; *q; q++)
		if (!(is_alnum(*q) || strchr("/:=,._-", *q)))
			return bad(p, name, "'%.128s' has a character outside [A-Za-z0-9/:=,._-]",
				   v);
	if (strstr(v, ".."))
		return bad(p, name, "must not contain '..'");
	return UP_OK;
}

/* Each item is POOLGROUP:LOCALGROUP; the local name ends up in a group(5)
 * line, so it gets the NSS name rules. Runs on the stored list. */
static up_err check_group_map(struct parser *p, const char *name, char **list)
{
	for (char **g = list; *g; g++) {
		const char *colon = strchr(*g, ':');

		if (!colon || colon == *g || strchr(colon + 1, ':') ||
		    !up_nss_name_valid(colon + 1))
			return bad(p, name, "items must be POOLGROUP:LOCALGROUP");
	}
	return UP_OK;
}

/* Each item is a pool group that becomes an NSS group of the same name
 * (issue 24), so it gets the NSS name rules. */
static up_err check_pool_groups(struct parser *p, const char *name, char **list)
{
	for (char **g = list; *g; g++)
		if (!up_nss_name_valid(*g))
			return bad(p, name, "'%.64s' is not a valid local group name", *g);
	return UP_OK;
}

/* --- the setters of one type each --- */

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

/* The client secret: never echo any part of it. */
static up_err set_secret(struct parser *p, const char *name, const char *v, char **field)
{
	if (*v && p->path)
		p->file_has_secret = true;
	if (*v && (strlen(v) > 1024 || !visible_ascii(v)))
		return bad(p, name, "invalid");
	up_free_secret(*field);
	*field = NULL;
	if (*v && !(*field = strdup(v)))
		return nomem(p);
	return UP_OK;
}

/* One of a few words; the message lists them ("a, b or c"). */
struct choice {
	const char *word;
	int value;
};

static bool pick_choice(const struct choice *ch, bool exact_case, const char *v, int *ret)
{
	for (; ch->word; ch++)
		if (exact_case ? strcmp(v, ch->word) == 0 : strcasecmp(v, ch->word) == 0) {
			*ret = ch->value;
			return true;
		}
	return false;
}

static up_err bad_choice(struct parser *p, const char *name, const char *v, const struct choice *ch)
{
	char words[256];
	size_t n = 0, count = 0;

	for (const struct choice *c = ch; c->word; c++)
		count++;
	words[0] = '\0';
	for (size_t i = 0; i < count && n < sizeof(words); i++) {
		const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
		int w = snprintf(words + n, sizeof(words) - n, "%s%s", sep, ch[i].word);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	return bad(p, name, "'%.64s' is not %s", v, words);
}

/* mfa_methods: totp, email, sms in order of preference, each at most once; a
 * security setting, so an unknown word or an empty list is an error. */
static up_err set_mfa_methods(struct parser *p, const char *name, const char *v, void *field)
{
	static const struct {
		const char *word;
		enum up_mfa_method m;
	} words[] = {{"totp", UP_MFA_TOTP}, {"email", UP_MFA_EMAIL}, {"sms", UP_MFA_SMS}};
	enum up_mfa_method out[UP_MFA_MAX + 1] = {UP_MFA_NONE};
	size_t n = 0;

	while (*v) {
		size_t len = strcspn(v, ", \t");

		if (len > 0) {
			enum up_mfa_method m = UP_MFA_NONE;

			for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
				if (strlen(words[i].word) == len &&
				    strncasecmp(v, words[i].word, len) == 0)
					m = words[i].m;
			if (m == UP_MFA_NONE)
				return bad(p, name, "'%.*s' is not totp, email or sms",
					   (int)(len > 64 ? 64 : len), v);
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

/* RFC 6749 §3.3 scope tokens; stored with single blanks; must hold openid. */
static up_err set_scope(struct parser *p, const char *name, const char *v, void *field)
{
	char **scope = field, *norm;
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
	free(*scope);
	*scope = norm;
	return UP_OK;
}

/* A PEM file that exists now; an empty value is a mistake worth naming. */
static up_err set_ca_file(struct parser *p, const char *name, const char *v, void *field)
{
	struct stat st;
	const char *why;

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
	return set_str(p, field, v);
}

/* --- the key table --- */

enum key_type {
	T_STR,	       /* char *; empty: NULL (with F_EMPTY) */
	T_SECRET,      /* char *, wiped on free, never echoed, refused as an argument */
	T_LIST,	       /* char **, NULL-terminated, never NULL */
	T_BOOL,	       /* bool: yes/no/true/false/on/off/1/0 */
	T_INT,	       /* int64_t in min..max */
	T_DURATION,    /* int64_t seconds in min..max (s, m, h, d) */
	T_CHOICE,      /* an enum: one of choices */
	T_CHOICE_BOOL, /* a bool: one of choices (value 0 or 1) */
	T_CUSTOM       /* any field that owns no memory, stored by .set */
};

#define F_TRUST 1u /* decides whom we trust and talk to: a duplicate is an error */
#define F_EMPTY 2u /* an empty value resets to unset / the empty list */
#define F_TAB 4u   /* a tab may separate items */
#define F_CASE 8u  /* choices match in exact case */

struct key {
	const char *name;
	enum key_type type;
	size_t off; /* of the field in struct up_config */
	unsigned flags;
	const char *def;	      /* default, parsed as a value would be; NULL: unset / empty */
	int64_t min, max;	      /* T_INT, T_DURATION */
	const struct choice *choices; /* T_CHOICE, T_CHOICE_BOOL; NULL-terminated */
	/* T_STR: checks a non-empty value before it is stored */
	up_err (*check)(struct parser *p, const char *name, const char *v);
	/* T_LIST: checks the stored list */
	up_err (*check_list)(struct parser *p, const char *name, char **list);
	/* T_STR: stores the value instead of the plain copy (also when empty);
	 * T_CUSTOM: stores the value */
	up_err (*set)(struct parser *p, const char *name, const char *v, void *field);
};

/* The offset of field f, which must be of type T (a compile-time check). */
#define AT(f, T) (offsetof(struct up_config, f) + 0 * sizeof(&((struct up_config *)0)->f == (T *)0))
/* An enum field: the size of an int. */
#define AT_ENUM(f)                                                                                 \
	(offsetof(struct up_config, f) +                                                           \
	 0 * sizeof(char[sizeof(((struct up_config *)0)->f) == sizeof(int) ? 1 : -1]))

#define STR(n, f) .name = n, .type = T_STR, .off = AT(f, char *)
#define SECRET(n, f) .name = n, .type = T_SECRET, .off = AT(f, char *)
#define LIST(n, f) .name = n, .type = T_LIST, .off = AT(f, char **), .flags = F_EMPTY | F_TAB
#define BOOL(n, f) .name = n, .type = T_BOOL, .off = AT(f, bool)
#define INT(n, f, lo, hi) .name = n, .type = T_INT, .off = AT(f, int64_t), .min = lo, .max = hi
#define DURATION(n, f, lo, hi)                                                                     \
	.name = n, .type = T_DURATION, .off = AT(f, int64_t), .min = lo, .max = hi
#define CHOICE(n, f, ch) .name = n, .type = T_CHOICE, .off = AT_ENUM(f), .choices = ch
#define CUSTOM(n, f, fn)                                                                           \
	.name = n, .type = T_CUSTOM, .off = offsetof(struct up_config, f), .set = fn
#define CHOICE_BOOL(n, f, ch) .name = n, .type = T_CHOICE_BOOL, .off = AT(f, bool), .choices = ch

static const struct choice providers[] = {
    {"cognito", UP_PROVIDER_COGNITO}, {"oidc", UP_PROVIDER_OIDC}, {NULL, 0}};
static const struct choice flows[] = {
    {"srp", UP_FLOW_SRP},	{"password", UP_FLOW_PASSWORD},	  {"device", UP_FLOW_DEVICE},
    {"custom", UP_FLOW_CUSTOM}, {"user_auth", UP_FLOW_USER_AUTH}, {NULL, 0}};
static const struct choice otp_modes[] = {
    {"prompt", UP_OTP_PROMPT}, {"append", UP_OTP_APPEND}, {NULL, 0}};
static const struct choice client_auths[] = {
    {"basic", UP_CLIENT_AUTH_BASIC}, {"post", UP_CLIENT_AUTH_POST}, {NULL, 0}};
static const struct choice mfa_modes[] = {{"required", 1}, {"optional", 0}, {NULL, 0}};
static const struct choice qr_modes[] = {
    {"auto", UP_QR_AUTO}, {"text", UP_QR_TEXT}, {"off", UP_QR_OFF}, {NULL, 0}};
static const struct choice uid_sources[] = {
    {"sequential", UP_UID_SEQUENTIAL}, {"hash", UP_UID_HASH}, {"claim", UP_UID_CLAIM}, {NULL, 0}};
static const struct choice gid_sources[] = {
    {"sequential", UP_GID_SEQUENTIAL}, {"hash", UP_GID_HASH}, {NULL, 0}};
static const struct choice tpm_modes[] = {
    {"auto", UP_TPM_AUTO}, {"yes", UP_TPM_YES}, {"no", UP_TPM_NO}, {NULL, 0}};
static const struct choice offline_mfa_modes[] = {{"require", 0}, {"skip", 1}, {NULL, 0}};

/*
 * Every key of the file and of the PAM arguments (DESIGN §2), documented
 * in man/userpool.conf.5 (tests/unit/test_config checks that). A new key is
 * one line here plus its field in struct up_config; defaults that depend on
 * other keys (provider-dependent ones, derived URLs) are set in finish().
 */
static const struct key keys[] = {
    {CHOICE("provider", provider, providers), .flags = F_TRUST, .def = "cognito"},
    {STR("region", region), .flags = F_TRUST | F_EMPTY, .check = check_region},
    {STR("user_pool_id", user_pool_id), .flags = F_TRUST | F_EMPTY, .check = check_pool_id},
    {STR("client_id", client_id), .flags = F_TRUST, .check = check_client_id},
    {SECRET("client_secret", client_secret), .flags = F_TRUST | F_EMPTY},
    {STR("endpoint", endpoint), .flags = F_TRUST | F_EMPTY, .check = check_service_url},
    {STR("issuer", issuer), .flags = F_TRUST | F_EMPTY, .check = check_issuer_url},
    {STR("jwks_uri", jwks_uri), .flags = F_TRUST | F_EMPTY, .check = check_service_url},
    {CHOICE("auth_flow", auth_flow, flows), .def = "srp"},
    {CHOICE("otp_mode", otp_mode, otp_modes), .def = "prompt"},
    {STR("otp_param", otp_param), .def = "totp", .check = check_otp_param},
    {CHOICE("client_auth", client_auth, client_auths), .def = "basic"},
    {STR("scope", scope), .flags = F_TAB, .def = "openid", .set = set_scope},
    {CHOICE_BOOL("mfa", mfa_required, mfa_modes), .def = "required"},
    {BOOL("enroll_on_login", enroll_on_login), .def = "yes"},
    {BOOL("echo_code", echo_code), .def = "no"},
    {STR("custom_prompt_param", custom_prompt_param), .def = "question",
     .check = check_custom_param},
    {BOOL("custom_echo", custom_echo), .def = "no"},
    {BOOL("custom_is_mfa", custom_is_mfa), .def = "no"},
    {BOOL("send_context", send_context), .def = "no"},
    {CHOICE("qr", qr, qr_modes), .def = "auto"},
    {STR("totp_issuer", totp_issuer), .def = "userpool", .check = check_totp_issuer},
    {STR("username_format", username_format), .def = "%u", .check = check_username_format},
    {STR("username_claim", username_claim), .check = check_claim},
    {STR("groups_claim", groups_claim), .check = check_claim},
    {LIST("allow_groups", allow_groups)},
    {LIST("group_map", group_map), .check_list = check_group_map},
    {LIST("ignore_users", ignore_users), .def = "root"},
    {LIST("pool_local_users", pool_local_users)},
    {STR("state_dir", state_dir), .def = "/var/lib/userpool", .check = check_path},
    {BOOL("offline", offline), .def = "yes"},
    {DURATION("offline_max_age", offline_max_age, 1, OFFLINE_MAX_AGE_MAX), .def = "7d"},
    {DURATION("account_max_age", account_max_age, 0, OFFLINE_MAX_AGE_MAX), .def = "1h"},
    {INT("offline_max_failures", offline_max_failures, FAILURES_MIN, FAILURES_MAX), .def = "5"},
    {CHOICE_BOOL("offline_mfa", offline_mfa_skip, offline_mfa_modes), .flags = F_CASE,
     .def = "require"},
    {DURATION("max_auth_age", max_auth_age, 0, MAX_AUTH_AGE_MAX), .def = "0"},
    {DURATION("timeout", timeout, TIMEOUT_MIN, TIMEOUT_MAX), .def = "10s"},
    {INT("kdf_slots", kdf_slots, 0, KDF_SLOTS_MAX), .def = "0"},
    {STR("ca_file", ca_file), .flags = F_TRUST | F_EMPTY, .set = set_ca_file},
    {STR("proxy", proxy), .flags = F_TRUST | F_EMPTY, .check = check_proxy_url},
    {DURATION("leeway", leeway, 0, LEEWAY_MAX), .def = "60s"},
    {BOOL("revoke_on_close", revoke_on_close), .def = "no"},
    {INT("uid_min", uid_min, UID_LOW, UID_HIGH), .def = "200000"},
    {INT("uid_max", uid_max, UID_LOW, UID_HIGH), .def = "299999"},
    {CHOICE("uid_source", uid_source, uid_sources), .def = "sequential"},
    {STR("uid_claim", uid_claim), .def = "custom:uid_number", .check = check_claim},
    {STR("gid_claim", gid_claim), .flags = F_EMPTY, .check = check_claim},
    {CHOICE("gid_source", gid_source, gid_sources), .def = "sequential"},
    {LIST("pool_groups", pool_groups), .check_list = check_pool_groups},
    {STR("home", home), .def = "/home/%u", .check = check_home},
    {STR("shell", shell), .def = "/bin/bash", .check = check_shell},
    {CUSTOM("mfa_methods", mfa_methods, set_mfa_methods), .def = "totp, email, sms"},
    {CHOICE("tpm", tpm, tpm_modes), .def = "auto", .check = check_tpm},
    {STR("verifier_helper", verifier_helper), .flags = F_TRUST | F_EMPTY, .def = UP_VERIFIER_HELPER,
     .check = check_path},
    {STR("tpm_tcti", tpm_tcti), .def = "device:/dev/tpmrm0", .check = check_tpm_tcti},
    {BOOL("debug", debug), .def = "no"},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= MAX_KEYS, "raise MAX_KEYS");

const char *up_config_key_name(size_t i)
{
	return i < N_KEYS ? keys[i].name : NULL;
}

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

	for (size_t i = 0; i < N_KEYS; i++) {
		unsigned d = edit_distance(key, keys[i].name);

		if (d < bestd && d * 3 < strlen(keys[i].name) + 1) {
			bestd = d;
			best = keys[i].name;
		}
	}
	return best;
}

static int key_lookup(const char *name)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Name of the key as shown in messages: "key" for the file, "argument key" for argv. */
static const char *where_key(struct parser *p, int id, char *buf, size_t len)
{
	if (p->path)
		return keys[id].name;
	snprintf(buf, len, "argument %s", keys[id].name);
	return buf;
}

/* Store v (not empty, or empty for an F_EMPTY key) by the key's type. */
static up_err store(struct parser *p, const struct key *k, const char *name, const char *v)
{
	void *field = (char *)p->cfg + k->off;
	int choice;
	up_err r;

	switch (k->type) {
	case T_STR:
		if (k->set)
			return k->set(p, name, v, field);
		if (*v && k->check && (r = k->check(p, name, v)))
			return r;
		return set_str(p, field, v);
	case T_SECRET:
		return set_secret(p, name, v, field);
	case T_CUSTOM:
		return k->set(p, name, v, field);
	case T_LIST:
		if ((r = set_list(p, name, field, v)))
			return r;
		return k->check_list ? k->check_list(p, name, *(char ***)field) : UP_OK;
	case T_BOOL:
		return set_bool(p, name, v, field);
	case T_INT:
		return set_int(p, name, v, k->min, k->max, field);
	case T_DURATION:
		return set_duration(p, name, v, k->min, k->max, field);
	case T_CHOICE:
	case T_CHOICE_BOOL:
		if (!pick_choice(k->choices, k->flags & F_CASE, v, &choice))
			return bad_choice(p, name, v, k->choices);
		if (k->check && (r = k->check(p, name, v)))
			return r;
		if (k->type == T_CHOICE)
			*(int *)field = choice;
		else
			*(bool *)field = choice != 0;
		return UP_OK;
	}
	return bad(p, name, "internal error");
}

/* Apply one value. Returns UP_OK, UP_ECONFIG (reported) or UP_ENOMEM. */
static up_err set_key(struct parser *p, int id, const char *v)
{
	const struct key *k = &keys[id];
	char kb[80];
	const char *name = where_key(p, id, kb, sizeof(kb));
	up_err r;

	if (!*v && !(k->flags & F_EMPTY))
		return bad(p, name, "empty value");
	/* A tab may separate list items and scopes; nowhere else. The
	 * secret has its own check, which never echoes it. */
	if (k->type != T_SECRET)
		for (const char *q = v; *q; q++)
			if (((unsigned char)*q < 0x20 || *q == 0x7f) &&
			    !(*q == '\t' && (k->flags & F_TAB)))
				return bad(p, name, "control characters in the value");
	r = store(p, k, name, v);
	if (!r)
		p->applied[id] = true;
	return r;
}

/* Was the key given, with a value that was taken (file or argument)? */
static bool applied(const struct parser *p, const char *name)
{
	int id = key_lookup(name);

	return id >= 0 && p->applied[id];
}

/* The defaults of the table, through the same setters as the file's values. */
static up_err init_defaults(struct parser *p)
{
	up_err r;

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];

		if (!k->def && k->type != T_LIST)
			continue;
		if ((r = store(p, k, k->name, k->def ? k->def : "")))
			return r;
	}
	return UP_OK;
}

/* Accessors of the opaque struct up_config (include/userpool/config.h). */
#define UP_CONFIG_GET(type, name, zero)                                                            \
	type up_config_##name(const struct up_config *cfg)                                         \
	{                                                                                          \
		return cfg ? cfg->name : (zero);                                                   \
	}
UP_CONFIG_GET(enum up_auth_flow, auth_flow, UP_FLOW_SRP)
UP_CONFIG_GET(const char *, issuer, NULL)
UP_CONFIG_GET(bool, offline, false)
UP_CONFIG_GET(bool, echo_code, false)
UP_CONFIG_GET(enum up_qr_mode, qr, UP_QR_AUTO)
UP_CONFIG_GET(const char *, totp_issuer, NULL)
UP_CONFIG_GET(int64_t, max_auth_age, 0)
UP_CONFIG_GET(int64_t, leeway, 0)
UP_CONFIG_GET(bool, revoke_on_close, false)
UP_CONFIG_GET(enum up_uid_source, uid_source, UP_UID_SEQUENTIAL)
UP_CONFIG_GET(enum up_gid_source, gid_source, UP_GID_SEQUENTIAL)
UP_CONFIG_GET(const char *, uid_claim, NULL)
UP_CONFIG_GET(const char *, state_dir, NULL)
#undef UP_CONFIG_GET

void up_config_free(struct up_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_KEYS; i++) {
		void *field = (char *)cfg + keys[i].off;

		if (keys[i].type == T_STR)
			free(*(char **)field);
		else if (keys[i].type == T_SECRET)
			up_free_secret(*(char **)field);
		else if (keys[i].type == T_LIST)
			up_strv_free(*(char ***)field);
	}
	/* the derived fields */
	free(cfg->path);
	up_strv_free(cfg->args);
	free(cfg->pool_name);
	free(cfg->issuer_alt);
	free(cfg->jwks_uri_alt);
	free(cfg);
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
		if (keys[id].flags & F_TRUST)
			return bad(p, keys[id].name, "set twice (lines %u and %u): ambiguous",
				   p->file_line[id], p->line);
		warn(p, keys[id].name, "set twice (lines %u and %u): the last one wins",
		     p->file_line[id], p->line);
	}
	p->file_line[id] = p->line;
	p->hash_hint = keys[id].type != T_SECRET && strstr(v, " #") != NULL;
	r = set_key(p, id, v);
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
	if (check_owner && st.st_uid != up_state_owner(p->ctx)) {
		char who[32];

		up_state_owner_name(p->ctx, who, sizeof(who));
		if (!p->list) {
			close(fd);
			return bad(p, NULL, "config file %s: not owned by %s", path, who);
		}
		bad(p, NULL, "config file %s: not owned by %s", path, who);
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

/* pool_name and (unless set) region from user_pool_id "<region>_<name>";
 * a set region must be the pool's when the URLs are derived from it. */
static up_err finish_pool_id(struct parser *p, bool *ok)
{
	struct up_config *c = p->cfg;
	const char *us;
	size_t rl;

	if (!c->user_pool_id)
		return UP_OK;
	us = strchr(c->user_pool_id, '_');
	rl = (size_t)(us - c->user_pool_id);
	if (!(c->pool_name = strdup(us + 1)))
		return nomem(p);
	if (!c->region) {
		if (!(c->region = strndup(c->user_pool_id, rl)))
			return nomem(p);
	} else if (c->provider == UP_PROVIDER_COGNITO &&
		   (strncmp(c->region, c->user_pool_id, rl) != 0 || c->region[rl] != '\0') &&
		   (!c->endpoint || !c->issuer)) {
		/* The derived URLs would point at another region's pool. */
		bad(p, "region", "%s does not match user_pool_id %s", c->region, c->user_pool_id);
		*ok = false;
	}
	return UP_OK;
}

/* Cognito's endpoint, both issuer forms and their key sets, from region and
 * pool id, where not set (DESIGN §2). */
static up_err cognito_urls(struct parser *p)
{
	struct up_config *c = p->cfg;
	char buf[MAX_URL + 64];

	if (!c->region)
		return UP_OK;
	if (!c->endpoint) {
		snprintf(buf, sizeof(buf), "https://cognito-idp.%s.amazonaws.com/", c->region);
		if (!(c->endpoint = strdup(buf)))
			return nomem(p);
	}
	if (c->issuer || !c->user_pool_id)
		return UP_OK;
	/* Both forms AWS's verifier accepts (DESIGN §2), each from the
	 * configured pool. */
	snprintf(buf, sizeof(buf), "https://issuer-cognito-idp.%s.amazonaws.com/%s", c->region,
		 c->user_pool_id);
	if (!(c->issuer_alt = strdup(buf)))
		return nomem(p);
	snprintf(buf, sizeof(buf), "https://cognito-idp.%s.amazonaws.com/%s", c->region,
		 c->user_pool_id);
	if (!(c->issuer = strdup(buf)))
		return nomem(p);
	/* Its keys from its own host, unless jwks_uri names the one key set. */
	if (c->jwks_uri)
		c->jwks_uri_alt = strdup(c->jwks_uri);
	else if (asprintf(&c->jwks_uri_alt, "%s/.well-known/jwks.json", c->issuer_alt) < 0)
		c->jwks_uri_alt = NULL;
	if (!c->jwks_uri_alt)
		return nomem(p);
	return UP_OK;
}

static up_err finish_cognito(struct parser *p, bool *ok)
{
	struct up_config *c = p->cfg;
	bool flow_set = applied(p, "auth_flow");
	up_err r;

	if (!c->user_pool_id) {
		bad(p, "user_pool_id", "required for provider cognito but not set");
		*ok = false;
	}
	if (flow_set && c->auth_flow == UP_FLOW_DEVICE) {
		bad(p, "auth_flow",
		    "device is for provider oidc; cognito takes srp, password, custom or "
		    "user_auth");
		*ok = false;
	}
	if (c->send_context && !c->client_secret) {
		/* Cognito takes IpAddress only from a client with a secret. */
		bad(p, "send_context",
		    "needs client_secret (the pool reads UserContextData only from an app "
		    "client with a secret)");
		*ok = false;
	}
	if (!flow_set)
		c->auth_flow = UP_FLOW_SRP;
	if ((r = cognito_urls(p)))
		return r;
	if (!c->jwks_uri && c->issuer) {
		char buf[MAX_URL + 64];
		size_t il = strlen(c->issuer);

		/* <issuer>/.well-known/jwks.json, as discovery does it: a
		 * trailing '/' of the issuer is not doubled. */
		if (il > 0 && c->issuer[il - 1] == '/')
			il--;
		snprintf(buf, sizeof(buf), "%.*s/.well-known/jwks.json", (int)il, c->issuer);
		if (!(c->jwks_uri = strdup(buf)))
			return nomem(p);
	}
	if (!cognito_urls_agree(p, c))
		*ok = false;
	if ((r = dup_default(p, &c->username_claim, "cognito:username")) ||
	    (r = dup_default(p, &c->groups_claim, "cognito:groups")))
		return r;
	return UP_OK;
}

static up_err finish_oidc(struct parser *p, bool *ok)
{
	struct up_config *c = p->cfg;
	bool flow_set = applied(p, "auth_flow");
	up_err r;

	if (!c->issuer) {
		bad(p, "issuer", "required for provider oidc but not set");
		*ok = false;
	}
	if (flow_set && (c->auth_flow == UP_FLOW_SRP || c->auth_flow == UP_FLOW_CUSTOM ||
			 c->auth_flow == UP_FLOW_USER_AUTH)) {
		bad(p, "auth_flow", "%s is for provider cognito; oidc takes password or device",
		    c->auth_flow == UP_FLOW_SRP	     ? "srp"
		    : c->auth_flow == UP_FLOW_CUSTOM ? "custom"
						     : "user_auth");
		*ok = false;
	}
	if (!flow_set)
		c->auth_flow = UP_FLOW_PASSWORD;
	if ((r = dup_default(p, &c->username_claim, "preferred_username")) ||
	    (r = dup_default(p, &c->groups_claim, "groups")))
		return r;
	return UP_OK;
}

/*
 * Every derived value and every cross-key rule, in one place, after all
 * overrides (DESIGN §2): Cognito's endpoint, issuer and jwks_uri from region
 * and pool id; pool_name; provider-dependent defaults and flows.
 */
/* A pool group that is also a group_map target would give nss/group two
 * lines of one name (one with /etc/group's GID): refused. */
static bool pool_groups_apart(struct parser *p)
{
	const struct up_config *c = p->cfg;

	for (char **g = c->pool_groups; g && *g; g++)
		for (char **m = c->group_map; m && *m; m++)
			if (strcmp(strchr(*m, ':') + 1, *g) == 0) {
				bad(p, "pool_groups",
				    "%s is also a group_map target (a group of /etc/group)", *g);
				return false;
			}
	return true;
}

static up_err finish(struct parser *p)
{
	struct up_config *c = p->cfg;
	bool ok = true;
	up_err r;

	p->path = NULL;
	p->line = 0;
	if (!c->client_id) {
		bad(p, "client_id", "required but not set");
		ok = false;
	}
	if ((r = finish_pool_id(p, &ok)))
		return r;
	r = c->provider == UP_PROVIDER_COGNITO ? finish_cognito(p, &ok) : finish_oidc(p, &ok);
	if (r)
		return r;
	/* issue 16: a client cannot tell whether the pool allows self sign-up. */
	if (p->list && (!c->allow_groups || !c->allow_groups[0]))
		warn(p, "allow_groups",
		     "empty: every user of the pool can sign in (and if the pool allows self "
		     "sign-up, anyone); name the pool groups that may sign in here");
	if (!pool_groups_apart(p))
		ok = false;
	if (c->uid_min > c->uid_max) {
		bad(p, "uid_min", "%lld is above uid_max %lld", (long long)c->uid_min,
		    (long long)c->uid_max);
		ok = false;
	}
	return ok ? UP_OK : UP_ECONFIG;
}

/* One PAM argument key=value (not a bare flag, not config=): UP_OK, or
 * the error of a refused one (reported). */
static up_err parse_arg(struct parser *p, int i, const char *a)
{
	const char *eq = strchr(a, '=');
	size_t klen = eq ? (size_t)(eq - a) : strlen(a), vlen;
	char key[72], *v, *vq;
	int id;
	up_err r;

	if (!valid_key_name(a, klen)) {
		/* Not echoed: a mistyped argument may hold a secret. */
		warn(p, NULL, "unknown module argument #%d ignored", i + 1);
		return UP_OK;
	}
	memcpy(key, a, klen);
	key[klen] = '\0';
	if (strcmp(key, "config") == 0) /* with a value: taken before the file was read */
		return eq ? UP_OK : bad(p, NULL, "argument config: needs a value (config=PATH)");
	id = key_lookup(key);
	if (id < 0) {
		warn(p, NULL, "unknown module argument '%s' ignored", key);
		return UP_OK;
	}
	if (!eq)
		return bad(p, NULL, "argument %s: needs a value (%s=...)", key, key);
	if (p->arg_set[id]) {
		if (keys[id].flags & F_TRUST)
			return bad(p, NULL, "argument %s: given twice: ambiguous", key);
		warn(p, NULL, "argument %s: given twice: the last one wins", key);
	}
	p->arg_set[id] = true;
	if (keys[id].type == T_SECRET) /* the value is never read, let alone echoed */
		return bad(p, NULL,
			   "argument client_secret: refused: PAM service files are "
			   "world-readable; keep the secret in the root-only config file");
	vlen = strlen(eq + 1);
	v = vq = strdup(eq + 1);
	if (!v)
		return nomem(p);
	if (!unquote(&vq, &vlen))
		r = bad(p, NULL, "argument %s: unbalanced double quote", key);
	else
		r = set_key(p, id, vq);
	free(v);
	return r;
}

/* PAM arguments: key=value, config=PATH, and the bare flags. */
static up_err parse_args(struct parser *p, int argc, const char *const *argv)
{
	up_err r, first = UP_OK;

	p->path = NULL;
	p->line = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!a)
			continue;
		if (strcmp(a, "debug") == 0)
			p->cfg->debug = true;
		else if (strcmp(a, "use_first_pass") == 0)
			p->cfg->use_first_pass = true;
		else if (strcmp(a, "try_first_pass") == 0)
			p->cfg->try_first_pass = true;
		else if ((r = parse_arg(p, i, a))) {
			if (r == UP_ENOMEM || !p->list)
				return r;
			if (!first)
				first = r;
		}
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
	struct stat st = {.st_uid = (uid_t)-1, .st_mode = 0777}; /* set by read_file */
	uid_t owner = up_state_owner(p->ctx);
	up_err r, fr;

	c = calloc(1, sizeof(*c));
	if (!c)
		return nomem(p);
	p->cfg = c;
	if ((r = init_defaults(p)))
		return r;
	if ((r = pick_path(p, path, argc, argv, &file)))
		return r;
	if (!(c->path = strdup(file)))
		return nomem(p);
	/* Kept for the verifier helper, which loads the same configuration. */
	if (!(c->args = calloc((size_t)argc + 1, sizeof(*c->args))))
		return nomem(p);
	for (int i = 0, k = 0; i < argc; i++)
		if (argv[i] && !(c->args[k++] = strdup(argv[i])))
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
	if (p->file_has_secret && (st.st_uid != owner || (st.st_mode & 044))) {
		char who[32];

		p->path = NULL;
		r = bad(p, NULL,
			"config file %s holds client_secret: it must be owned by %s and not "
			"readable by group or others (chmod 600)",
			file, up_state_owner_name(p->ctx, who, sizeof(who)));
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
		up_buf_clear(&p.out);
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
	r = init_defaults(&p);
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
