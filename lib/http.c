/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "ctx.h"
#include "http.h"
#include "log.h"
#include "secret.h"

/* The system trust store on Debian; set explicitly so that SSL_CERT_FILE,
 * SSL_CERT_DIR and CURL_CA_BUNDLE in the caller's environment (sudo, su)
 * never choose the trust anchors. */
#define UP_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct up_http {
	CURL *curl;
	long connects;
};

struct sink {
	struct up_buf body; /* capped at the request's cap */
	char *error_type;
	int64_t date; /* the response's Date header (RFC 9110 §6.6.1); 0 when absent */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static bool keylog_dropped;

static void global_init(void)
{
	/*
	 * libcurl opens $SSLKEYLOGFILE (fopen "a", following symlinks) in
	 * curl_global_init and writes every TLS secret there. In a setuid
	 * host (sudo, su, pkexec) that variable comes from the invoking
	 * user: root would create or append to any file the user names and
	 * hand them the session keys. Drop it there, as ld.so drops LD_*;
	 * these hosts are single-threaded while they authenticate.
	 */
	if (getauxval(AT_SECURE) && getenv("SSLKEYLOGFILE")) {
		unsetenv("SSLKEYLOGFILE");
		keylog_dropped = true;
	}
	/* Never paired with curl_global_cleanup(): the module may be unloaded
	 * while another user of libcurl in the host process still needs it. */
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

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

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	/* 0 aborts the transfer with CURLE_WRITE_ERROR */
	return up_buf_add(&s->body, data, n) ? n : 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	static const char name[] = "x-amzn-errortype:";
	static const char date[] = "date:";

	if (n > sizeof(date) - 1 && n < 128 && strncasecmp(data, date, sizeof(date) - 1) == 0) {
		char v[128];
		time_t t;

		memcpy(v, data + sizeof(date) - 1, n - (sizeof(date) - 1));
		v[n - (sizeof(date) - 1)] = '\0';
		t = curl_getdate(v, NULL);
		s->date = t > 0 ? (int64_t)t : 0;
	}
	if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		size_t vlen = n - (sizeof(name) - 1);
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen > 256)
			vlen = 256;
		free(s->error_type);
		s->error_type = strndup(v, vlen);
	}
	return n;
}

void up_http_resp_clear(struct up_http_resp *resp)
{
	if (!resp)
		return;
	if (resp->body)
		up_free_secret_len(resp->body, resp->len + 1);
	free(resp->error_type);
	memset(resp, 0, sizeof(*resp));
}

void up_http_free(struct up_http *http)
{
	if (!http)
		return;
	if (http->curl)
		curl_easy_cleanup(http->curl);
	free(http);
}

long up_http_connects(struct up_ctx *ctx)
{
	return ctx && ctx->http ? ctx->http->connects : 0;
}

static up_err map_curl(struct up_ctx *ctx, CURLcode rc, const char *errbuf, const char *url)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
		/* The handshake broke off (reset, a plain-HTTP port, the cable):
		 * a network failure. Whoever can cause it can also cut the wire;
		 * what an offline sign-in then demands is §5's business. A
		 * certificate the peer did present but that fails verification
		 * is reported as CURLE_PEER_FAILED_VERIFICATION below. */
		return up_fail(ctx, UP_ENET, "%s: TLS handshake failed: %s", url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		/* Certificate, host name or TLS setup: never "unreachable" (an
		 * interception looks exactly like this), so no offline fallback. */
		up_log(ctx, LOG_WARNING,
		       "TLS verification of %s failed (possible interception): %s", url, why);
		return up_fail(ctx, UP_ETLS, "%s: TLS verification failed: %s", url, why);
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return up_fail(ctx, UP_ECONFIG, "%s: %s", url, why);
	case CURLE_OUT_OF_MEMORY:
		return up_fail(ctx, UP_ENOMEM, "%s: %s", url, why);
	default:
		/* DNS, connect, timeout, reset, truncated transfer: unreachable. */
		return up_fail(ctx, UP_ENET, "%s: %s", url, why);
	}
}

static up_err get_handle(struct up_ctx *ctx, CURL **ret)
{
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return up_fail(ctx, UP_EINTERNAL, "curl_global_init failed");
	if (!ctx->http) {
		ctx->http = calloc(1, sizeof(*ctx->http));
		if (!ctx->http)
			return UP_ENOMEM;
	}
	if (!ctx->http->curl) {
		ctx->http->curl = curl_easy_init();
		if (!ctx->http->curl)
			return up_fail(ctx, UP_EINTERNAL, "curl_easy_init failed");
		if (keylog_dropped)
			up_log(ctx, LOG_NOTICE,
			       "SSLKEYLOGFILE ignored: set by the caller of a setuid program");
	} else {
		/* Keeps the live connection for reuse; drops every option. */
		curl_easy_reset(ctx->http->curl);
	}
	*ret = ctx->http->curl;
	return UP_OK;
}

#define SETOPT(opt, val)                                                                           \
	do {                                                                                       \
		if (curl_easy_setopt(curl, opt, val) != CURLE_OK) {                                \
			r = up_fail(ctx, UP_EINTERNAL, "curl option %s", #opt);                    \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

/* The transport's fixed rules: TLS verified against ca_file only, no
 * proxy from the environment, no redirects, no .netrc, the timeouts. */
static up_err set_transport(struct up_ctx *ctx, CURL *curl, struct sink *sink, char *errbuf)
{
	const struct up_config *cfg = ctx->cfg;
	int64_t timeout_ms = (cfg->timeout > 0 ? cfg->timeout : 10) * 1000;
	up_err r = UP_OK;

	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_MAXREDIRS, 0L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SETOPT(CURLOPT_CAINFO, cfg->ca_file ? cfg->ca_file : UP_SYSTEM_CA_FILE);
	SETOPT(CURLOPT_CAPATH, (char *)NULL);
	/* An empty string switches proxies off, environment included. */
	SETOPT(CURLOPT_PROXY, cfg->proxy ? cfg->proxy : "");
	if (cfg->proxy)
		SETOPT(CURLOPT_PROXY_CAINFO, cfg->ca_file ? cfg->ca_file : UP_SYSTEM_CA_FILE);
	SETOPT(CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	SETOPT(CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(CURLOPT_USERAGENT, "userpool/" PACKAGE_VERSION);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, sink);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, sink);
	SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
out:
	return r;
}

/* This request's URL, method, body, credentials and headers; *hdrs is the
 * caller's to free. */
static up_err set_request(struct up_ctx *ctx, CURL *curl, const struct up_http_req *req,
			  struct curl_slist **hdrs)
{
	struct curl_slist *tmp;
	up_err r = UP_OK;

	SETOPT(CURLOPT_URL, req->url);
	if (req->basic_user) {
		SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SETOPT(CURLOPT_USERNAME, req->basic_user);
		SETOPT(CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "");
	}
	if (req->method && strcmp(req->method, "POST") == 0) {
		SETOPT(CURLOPT_POST, 1L);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
		SETOPT(CURLOPT_POSTFIELDS, req->body ? req->body : "");
	} else {
		SETOPT(CURLOPT_HTTPGET, 1L);
	}
	/* No "Expect: 100-continue" round trip. */
	tmp = curl_slist_append(*hdrs, "Expect:");
	if (!tmp)
		return UP_ENOMEM;
	*hdrs = tmp;
	for (const char *const *h = req->headers; h && *h; h++) {
		tmp = curl_slist_append(*hdrs, *h);
		if (!tmp)
			return UP_ENOMEM;
		*hdrs = tmp;
	}
	SETOPT(CURLOPT_HTTPHEADER, *hdrs);
out:
	return r;
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

up_err up_http_do(struct up_ctx *ctx, const struct up_http_req *req, struct up_http_resp *resp)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0, connects = 0;
	CURL *curl = NULL;
	CURLcode rc;
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
	r = get_handle(ctx, &curl);
	if (r)
		return r;

	sink.body.cap = req->cap ? req->cap : UP_MAX_RESPONSE;
	r = set_transport(ctx, curl, &sink, errbuf);
	if (!r)
		r = set_request(ctx, curl, req, &hdrs);
	if (r)
		goto out;

	rc = curl_easy_perform(curl);
	if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
		ctx->http->connects += connects;
	if (rc != CURLE_OK) {
		if (sink.body.over)
			r = up_fail(ctx, UP_EPROTO, "%s: response over the %zu-byte cap", req->url,
				    sink.body.cap);
		else
			r = map_curl(ctx, rc, errbuf, req->url);
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	ctx->http_answered = true;
	/* For `userpool status`: the pool's clock against ours. */
	ctx->http_date = sink.date;
	ctx->http_date_local = sink.date ? up_ctx_now(ctx) : 0;
	r = check_status(ctx, req->url, status);
	if (r)
		goto out;
	resp->len = sink.body.len;
	resp->body = up_buf_take(&sink.body);
	if (!resp->body) {
		resp->len = 0;
		r = UP_ENOMEM;
		goto out;
	}
	resp->status = status;
	resp->error_type = sink.error_type;
	sink.error_type = NULL;
	r = UP_OK;
out:
	if (curl) {
		/* Drop our pointers from the reused handle before they go away. */
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (char *)NULL);
		curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, (char *)NULL);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, "");
	}
	curl_slist_free_all(hdrs);
	up_buf_clear(&sink.body);
	free(sink.error_type);
	return r;
}
