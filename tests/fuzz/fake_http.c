/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake transport for the fuzz targets: replaces lib/http.c (the fuzz
 * archive is built without it) and answers each up_http_do with the next
 * response of the fuzz input. Input: responses separated by "\n--\n"; each
 * starts with a line "<status>[ <x-amzn-ErrorType>]" followed by the body.
 * When the input runs out, every further request is a connect failure.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "ctx.h"
#include "fake_http.h"
#include "http.h"
#include "log.h"
#include "oidc.h"
#include "secret.h"

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
