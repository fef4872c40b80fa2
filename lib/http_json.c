/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport helpers above up_http_do (lib/http.c): the loopback test of
 * URLs, the capped JSON GET of key sets and discovery documents, and the
 * release of a response. Kept apart from http.c so builds with another
 * transport (the fuzz targets' fake, the verifier helper's stand-ins) use
 * the same code.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <userpool/userpool.h>

#include "codec.h"
#include "http.h"
#include "log.h"
#include "secret.h"

/* The body is wiped: it may hold tokens. */
void up_http_resp_clear(struct up_http_resp *resp)
{
	if (!resp)
		return;
	if (resp->body)
		up_free_secret_len(resp->body, resp->len + 1);
	free(resp->error_type);
	memset(resp, 0, sizeof(*resp));
}

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
