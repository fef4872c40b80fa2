/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The library's HTTP/1.1 client (issue 21): a request on the context's
 * kept-alive connection, over OpenSSL's libssl and nothing else, so that a
 * sudo, su or sshd that loads the module maps no more libraries than it
 * must. lib/http_conn.c opens the connection (resolve, connect, proxy
 * tunnel, TLS) and bounds every read and write by the deadline;
 * lib/http_parse.c parses what comes back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "codec.h"
#include "ctx.h"
#include "http.h"
#include "http_conn.h"
#include "http_parse.h"
#include "log.h"
#include "secret.h"

struct up_http {
	struct up_tls tls;   /* made on first TLS use */
	struct up_conn conn; /* the live connection, kept for the next request */
	long connects;	     /* connections opened */
};

bool up_url_allowed(const char *url)
{
	const char *auth, *end;
	size_t alen;

	if (!url)
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else
		return false;
	end = auth + strcspn(auth, "/?#");
	alen = (size_t)(end - auth);
	if (alen == 0 || memchr(auth, '@', alen))
		return false;
	if (auth == url + 8)
		return true;
	/* http:// only to a loopback host: strip the port. */
	if (auth[0] == '[') {
		const char *rb = memchr(auth, ']', alen);
		if (!rb)
			return false;
		return up_host_is_loopback(auth, (size_t)(rb - auth) + 1);
	}
	{
		const char *colon = memchr(auth, ':', alen);
		return up_host_is_loopback(auth, colon ? (size_t)(colon - auth) : alen);
	}
}

/* What an HTTP status means to the caller: 2xx and 4xx go to it (a 4xx
 * carries the pool's error), the rest fail here. */
static up_err check_status(struct up_ctx *ctx, const char *url, long status)
{
	if (status >= 500)
		return up_fail(ctx, UP_ESERVER, "%s: HTTP %ld", url, status);
	if (status == 429)
		return up_fail(ctx, UP_ERATE, "%s: HTTP 429 (rate limited)", url);
	if (status < 200 || (status >= 300 && status < 400))
		return up_fail(ctx, UP_EHTTP, "%s: HTTP %ld (redirects are not followed)", url,
			       status);
	return UP_OK;
}

void up_http_free(struct up_http *http)
{
	if (!http)
		return;
	up_conn_close(&http->conn);
	up_tls_free(&http->tls);
	free(http);
}

long up_http_connects(struct up_ctx *ctx)
{
	return ctx && ctx->http ? ctx->http->connects : 0;
}

/* --- the request ------------------------------------------------------- */

static bool has_header(const char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (const char *const *h = headers; h && *h; h++)
		if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
			return true;
	return false;
}

/* Authorization: Basic base64(user:pass); the plain text wiped. */
static up_err add_basic(struct up_buf *out, const struct up_http_req *req)
{
	const char *pass = req->basic_pass ? req->basic_pass : "";
	size_t ul = strlen(req->basic_user), pl = strlen(pass);
	char *plain = malloc(ul + pl + 2), *enc = NULL;
	up_err r;

	if (!plain)
		return UP_ENOMEM;
	memcpy(plain, req->basic_user, ul);
	plain[ul] = ':';
	memcpy(plain + ul + 1, pass, pl + 1);
	r = up_b64_encode((const uint8_t *)plain, ul + 1 + pl, &enc);
	up_free_secret_len(plain, ul + pl + 2);
	if (r)
		return UP_ENOMEM;
	up_buf_add_str(out, "Authorization: Basic ");
	up_buf_add_str(out, enc);
	up_buf_add_str(out, "\r\n");
	up_free_secret(enc);
	return UP_OK;
}

/* Request line, Host (with the port unless it is the scheme's default). */
static void add_start(struct up_buf *out, const struct up_http_req *req, const struct up_url *u)
{
	bool post = req->method && strcmp(req->method, "POST") == 0;
	char port[16];

	up_buf_add_str(out, post ? "POST " : "GET ");
	if (u->path_len == 0 || u->path[0] != '/')
		up_buf_add_str(out, "/");
	up_buf_add(out, u->path, u->path_len);
	up_buf_add_str(out, " HTTP/1.1\r\nHost: ");
	up_buf_add_str(out, u->ipv6 ? "[" : "");
	up_buf_add_str(out, u->host);
	up_buf_add_str(out, u->ipv6 ? "]" : "");
	if (u->port_given) {
		snprintf(port, sizeof(port), ":%u", u->port);
		up_buf_add_str(out, port);
	}
	up_buf_add_str(out, "\r\nUser-Agent: userpool/" PACKAGE_VERSION "\r\n");
}

/* The whole request (it carries passwords: the caller wipes it). No
 * Expect: 100-continue round trip. */
static up_err build_request(struct up_ctx *ctx, const struct up_http_req *req,
			    const struct up_url *u, struct up_buf *out)
{
	bool post = req->method && strcmp(req->method, "POST") == 0;
	size_t blen = post && req->body ? req->body_len : 0;
	char len[48];

	add_start(out, req, u);
	if (!has_header(req->headers, "Accept"))
		up_buf_add_str(out, "Accept: */*\r\n");
	if (req->basic_user && add_basic(out, req))
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	for (const char *const *h = req->headers; h && *h; h++) {
		if (!strchr(*h, ':') || strpbrk(*h, "\r\n"))
			return up_fail(ctx, UP_EINVAL, "%s: bad request header", req->url);
		up_buf_add_str(out, *h);
		up_buf_add_str(out, "\r\n");
	}
	if (post) {
		snprintf(len, sizeof(len), "Content-Length: %zu\r\n", blen);
		up_buf_add_str(out, len);
	}
	up_buf_add_str(out, "\r\n");
	if (blen)
		up_buf_add(out, req->body, blen);
	if (out->oom)
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	return UP_OK;
}

/* --- the exchange ------------------------------------------------------ */

/* Send the request, read one response into p. *got_any: a byte of it came. */
static up_err round_trip(struct up_ctx *ctx, struct up_conn *c, const struct up_dest *d,
			 const struct up_buf *msg, struct up_http_parser *p, bool *got_any,
			 bool *sent_any)
{
	enum up_hp_result res = UP_HP_MORE;
	size_t got = 0, used = 0;
	char buf[16384];
	up_err r;

	c->unclean_eof = false;
	c->sent = 0;
	r = up_conn_write(ctx, c, d, msg->s, msg->len);
	*sent_any = c->sent > 0;

	while (!r && res == UP_HP_MORE) {
		if ((r = up_conn_read(ctx, c, d, buf, sizeof(buf), &got)))
			break;
		if (got) {
			*got_any = true;
			res = up_hp_feed(p, buf, got, &used);
			/* More than was asked for: never reuse that connection. */
			if (res == UP_HP_COMPLETE && used < got)
				p->keep_alive = false;
		} else if (c->unclean_eof && p->st == UP_HP_BODY_CLOSE) {
			/* A read-to-close body needs close_notify: a bare FIN may be forged. */
			p->why = "connection closed without close_notify inside the body";
			res = UP_HP_TRUNCATED;
		} else {
			res = up_hp_eof(p);
		}
	}
	up_wipe(buf, sizeof(buf));
	if (r)
		return r;
	switch (res) {
	case UP_HP_COMPLETE:
		return UP_OK;
	case UP_HP_OVER:
		return up_fail(ctx, UP_EPROTO, "%s: response over the %zu-byte cap", d->url,
			       p->body.cap);
	case UP_HP_TRUNCATED:
		return up_fail(ctx, UP_ENET, "%s: %s", d->url, p->why);
	case UP_HP_NOMEM:
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	default:
		return up_fail(ctx, UP_EPROTO, "%s: malformed response: %s", d->url,
			       p->why ? p->why : "?");
	}
}

/*
 * On the kept connection when it goes to the same place (key) and the
 * server has not closed it, else on a new one. A reused connection that
 * fails before any byte of an answer came (the server closed it while we
 * were away) is tried once more on a new connection, as curl does; never
 * after an answer began.
 */
static up_err exchange(struct up_ctx *ctx, const struct up_dest *d, const char *key,
		       const struct up_buf *msg, struct up_http_parser *p, size_t cap,
		       bool replayable)
{
	struct up_http *h = ctx->http;

	for (int attempt = 0;; attempt++) {
		bool reused = h->conn.fd >= 0 && h->conn.key && strcmp(h->conn.key, key) == 0 &&
			      up_conn_alive(&h->conn);
		bool got_any = false, sent_any = false;
		up_err r;

		if (!reused) {
			if ((r = up_conn_open(ctx, &h->tls, &h->conn, d)))
				return r;
			h->connects++;
			if (!(h->conn.key = strdup(key))) {
				up_conn_close(&h->conn);
				return up_fail(ctx, UP_ENOMEM, "out of memory");
			}
		}
		up_hp_clear(p);
		up_hp_init(p, cap, false);
		r = round_trip(ctx, &h->conn, d, msg, p, &got_any, &sent_any);
		if (r || !p->keep_alive)
			up_conn_close(&h->conn);
		if (!r || !reused || got_any || (sent_any && !replayable) || attempt ||
		    r != UP_ENET || up_http_now_ms() >= d->deadline)
			return r;
	}
}

/* The response to the caller, after the status check. */
static up_err hand_out(struct up_ctx *ctx, const char *url, struct up_http_parser *p,
		       struct up_http_resp *resp)
{
	up_err r;

	ctx->http_answered = true;
	/* For `userpool status`: the pool's clock against ours. */
	ctx->http_date = p->date;
	ctx->http_date_local = p->date ? up_ctx_now(ctx) : 0;
	if ((r = check_status(ctx, url, p->status)))
		return r;
	resp->len = p->body.len;
	resp->body = up_buf_take(&p->body);
	if (!resp->body) {
		resp->len = 0;
		return up_fail(ctx, UP_ENOMEM, "out of memory");
	}
	resp->status = p->status;
	resp->error_type = p->error_type;
	p->error_type = NULL;
	return UP_OK;
}

/* Where the request goes; the proxy only from the configuration. */
static up_err destination(struct up_ctx *ctx, const struct up_http_req *req, struct up_url *target,
			  struct up_url *proxy, struct up_dest *d)
{
	const struct up_config *cfg = ctx->cfg;

	if (up_url_parse(req->url, 80, 443, target))
		return up_fail(ctx, UP_ECONFIG, "%s: malformed URL", req->url);
	if (cfg->proxy && up_url_parse(cfg->proxy, 1080, 443, proxy))
		return up_fail(ctx, UP_ECONFIG, "proxy %s: malformed URL", cfg->proxy);
	d->url = req->url;
	d->target = target;
	d->proxy = cfg->proxy ? proxy : NULL;
	d->timeout_ms = (cfg->timeout > 0 ? cfg->timeout : 10) * 1000;
	d->deadline = up_http_now_ms() + d->timeout_ms;
	if (!ctx->http) {
		ctx->http = calloc(1, sizeof(*ctx->http));
		if (!ctx->http)
			return up_fail(ctx, UP_ENOMEM, "out of memory");
		ctx->http->conn.fd = -1;
	}
	return UP_OK;
}

static char *conn_key(const struct up_ctx *ctx, const struct up_url *u)
{
	char *key = NULL;

	if (asprintf(&key, "%s://[%s]:%u|%s|%s", u->tls ? "https" : "http", u->host, u->port,
		     ctx->cfg->proxy ? ctx->cfg->proxy : "",
		     ctx->cfg->ca_file ? ctx->cfg->ca_file : UP_SYSTEM_CA_FILE) < 0)
		return NULL;
	return key;
}

up_err up_http_do(struct up_ctx *ctx, const struct up_http_req *req, struct up_http_resp *resp)
{
	struct up_url target, proxy;
	struct up_dest d = {0};
	struct up_buf msg = {0};
	struct up_http_parser *p = NULL;
	char *key = NULL;
	up_err r;

	if (!ctx || !req || !req->url || !resp)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	memset(resp, 0, sizeof(*resp));
	if (!up_url_allowed(req->url))
		return up_fail(ctx, UP_ECONFIG,
			       "refusing %s: only https://, or http:// to a loopback address",
			       req->url);
	if ((r = destination(ctx, req, &target, &proxy, &d)))
		return r;
	if ((r = build_request(ctx, req, &target, &msg)))
		goto out;
	key = conn_key(ctx, &target);
	p = calloc(1, sizeof(*p));
	if (!key || !p) {
		r = up_fail(ctx, UP_ENOMEM, "out of memory");
		goto out;
	}
	r = exchange(ctx, &d, key, &msg, p, req->cap ? req->cap : UP_MAX_RESPONSE,
		     !(req->method && strcmp(req->method, "POST") == 0));
	if (!r)
		r = hand_out(ctx, req->url, p, resp);
out:
	up_buf_clear(&msg);
	free(key);
	if (p) {
		up_hp_clear(p);
		free(p);
	}
	return r;
}
