/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_HTTP_H
#define UP_LIB_HTTP_H

/* Private to libuserpool: HTTP requests on the context's connection
 * (lib/http.c) and the capped JSON GET and loopback check (lib/http_json.c). */

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include <userpool/err.h>

struct up_ctx;
struct up_http;

struct up_http_resp {
	long status;
	char *body; /* NUL-terminated, `len` bytes; wiped on clear */
	size_t len;
	char *error_type; /* x-amzn-ErrorType header value, NULL when absent */
};
void up_http_resp_clear(struct up_http_resp *resp);

struct up_http_req {
	const char *url;
	const char *method;	    /* "GET" or "POST" */
	const char *const *headers; /* NULL-terminated "Name: value" lines; may be NULL */
	const char *body;	    /* may be NULL; secrets: the caller wipes it */
	size_t body_len;
	const char *basic_user; /* HTTP basic auth; NULL for none */
	const char *basic_pass;
	size_t cap; /* response size cap; 0: UP_MAX_RESPONSE */
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

#endif
