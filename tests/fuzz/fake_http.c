/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake transport for the fuzz targets: replaces lib/http.c (the fuzz
 * archive is built without it) and answers each up_http_do with the next
 * response of the fuzz input. Input: responses separated by "\n--\n"; each
 * starts with a line "<status>[ <x-amzn-ErrorType>]" followed by the body.
 * When the input runs out, every further request is a connect failure.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <strings.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_http.h"

static const uint8_t *cur, *end;

void fake_http_feed(const uint8_t *data, size_t size)
{
	cur = data;
	end = data + size;
}

static const uint8_t *find_sep(const uint8_t *p, const uint8_t *e)
{
	static const char sep[] = "\n--\n";

	for (; p + 4 <= e; p++)
		if (memcmp(p, sep, 4) == 0)
			return p;
	return NULL;
}

up_err up_http_do(struct up_ctx *ctx, const struct up_http_req *req, struct up_http_resp *resp)
{
	const uint8_t *chunk_end, *nl, *next;
	size_t cap = req && req->cap ? req->cap : UP_MAX_RESPONSE;
	long status = 0;

	memset(resp, 0, sizeof(*resp));
	if (!req || !req->url || !cur || cur >= end)
		return up_fail(ctx, UP_ENET, "fake transport: no more responses");
	chunk_end = find_sep(cur, end);
	next = chunk_end ? chunk_end + 4 : end;
	if (!chunk_end)
		chunk_end = end;
	nl = memchr(cur, '\n', (size_t)(chunk_end - cur));
	if (!nl)
		nl = chunk_end;
	for (const uint8_t *p = cur; p < nl && *p >= '0' && *p <= '9' && status < 1000; p++)
		status = status * 10 + (*p - '0');
	{
		const uint8_t *sp = memchr(cur, ' ', (size_t)(nl - cur));

		if (sp && sp + 1 < nl) {
			resp->error_type = strndup((const char *)sp + 1, (size_t)(nl - sp - 1));
			if (!resp->error_type)
				return UP_ENOMEM;
		}
	}
	resp->status = status;
	if (nl < chunk_end) {
		size_t len = (size_t)(chunk_end - nl - 1);

		if (len > cap) {
			up_http_resp_clear(resp);
			cur = next;
			return up_fail(ctx, UP_EPROTO, "fake transport: response over the cap");
		}
		resp->body = malloc(len + 1);
		if (!resp->body) {
			up_http_resp_clear(resp);
			return UP_ENOMEM;
		}
		memcpy(resp->body, nl + 1, len);
		resp->body[len] = '\0';
		resp->len = len;
	} else {
		resp->body = calloc(1, 1);
		if (!resp->body) {
			up_http_resp_clear(resp);
			return UP_ENOMEM;
		}
	}
	cur = next;
	return UP_OK;
}

void up_http_resp_clear(struct up_http_resp *resp)
{
	if (!resp)
		return;
	up_free_secret_len(resp->body, resp->len + (resp->body ? 1 : 0));
	free(resp->error_type);
	memset(resp, 0, sizeof(*resp));
}

void up_http_free(struct up_http *http)
{
	(void)http;
}

long up_http_connects(struct up_ctx *ctx)
{
	(void)ctx;
	return 0;
}

bool up_url_allowed(const char *url)
{
	return url && (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://127.0.0.1", 16) == 0);
}

/* A context with `config` installed, state under a fresh root-owned dir. */
struct up_ctx *fake_ctx(const char *config_fmt)
{
	char *dir = strdup("/tmp/upfuzz.XXXXXX");
	struct up_ctx *ctx = NULL;
	struct up_config *cfg = NULL;
	char *text = NULL;

	if (!dir || !mkdtemp(dir) || asprintf(&text, config_fmt, dir) < 0)
		abort();
	if (up_ctx_new(&ctx) != UP_OK ||
	    up_config_parse_text(ctx, text, strlen(text), 0, NULL, &cfg) != UP_OK)
		abort();
	free(text);
	free(dir);
	ctx->cfg = cfg;
	return ctx;
}

static up_err conv_prompt(void *ud, const char *text, bool echo, char **ret)
{
	(void)ud;
	(void)echo;
	if (strcmp(text, UP_PROMPT_CODE) == 0)
		*ret = strdup("123456");
	else
		*ret = strdup("Fuzz-New-Password-1");
	return *ret ? UP_OK : UP_ENOMEM;
}

static up_err conv_text(void *ud, const char *text)
{
	(void)ud;
	(void)text;
	return UP_OK;
}

const struct up_conv fake_conv = {.prompt = conv_prompt, .info = conv_text, .error = conv_text};

/* The JWKS and discovery caches under state_dir/jwks would make one input's
 * outcome depend on the ones before: empty them before each input. */
void fake_state_reset(struct up_ctx *ctx)
{
	char path[512];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/jwks", ctx->cfg->state_dir);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..") != 0))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	up_oidc_endpoints_clear(&ctx->oidc);
	ctx->jwks_last_refetch = 0;
}

/* The two transport helpers lib/http.c also holds (the fuzz archive is built
 * without http.c): the same code, so the fuzz targets run the real checks. */
/* The one loopback test (http:// is allowed only to these): "localhost",
 * "localhost.", a strict dotted quad in 127.0.0.0/8, or "[v6]" that is ::1.
 * inet_pton takes only the strict dotted quad: "127.1" or "0x7f.1" are host
 * names here, and host names other than localhost are not loopback. */
bool up_host_is_loopback(const char *host, size_t len)
{
	char buf[64];
	struct in_addr a4;
	struct in6_addr a6;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, host, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		if (len < 3 || buf[len - 1] != ']')
			return false;
		buf[len - 1] = '\0';
		return inet_pton(AF_INET6, buf + 1, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (strcasecmp(buf, "localhost") == 0 || strcasecmp(buf, "localhost.") == 0)
		return true;
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

/* The capped JSON GET of the key set and the discovery document. */
up_err up_http_get_json(struct up_ctx *ctx, const char *url, size_t cap, const char *what,
			unsigned flags, json_t **ret)
{
	static const char *const headers[] = {"Accept: application/json", NULL};
	struct up_http_req req = {.url = url, .method = "GET", .headers = headers, .cap = cap};
	struct up_http_resp resp = {0};
	json_t *root = NULL;
	up_err rc;

	*ret = NULL;
	rc = up_http_do(ctx, &req, &resp);
	if (rc)
		goto out;
	if (resp.status != 200) {
		rc = up_fail(ctx,
			     resp.status == 404 && (flags & UP_GET_404_NOTFOUND) ? UP_ENOTFOUND
										 : UP_EHTTP,
			     "%s: HTTP status %ld", what, resp.status);
		goto out;
	}
	rc = up_json_parse(ctx, resp.body, resp.len, cap, &root);
	if (rc) {
		char why[160];
		size_t o = 0;

		for (const char *d = up_ctx_detail(ctx); *d && o + 1 < sizeof(why); d++)
			why[o++] = (unsigned char)*d >= 0x20 && (unsigned char)*d < 0x7f ? *d : '?';
		why[o] = '\0';
		rc = rc == UP_ENOMEM
			 ? rc
			 : up_fail(ctx, UP_EPROTO, "%s: not a JSON object: %s", what, why);
		goto out;
	}
	*ret = root;
out:
	up_http_resp_clear(&resp);
	return rc;
}
