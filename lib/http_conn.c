/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One connection of lib/http.c's client, over OpenSSL's libssl: resolve,
 * connect, tunnel, TLS, and reads and writes, each bounded by the request's
 * deadline with poll (no alarm, no signals: the module runs inside sudo,
 * su and sshd). The socket is non-blocking; TLS runs over a BIO of our own
 * that writes with send(MSG_NOSIGNAL), so that a peer that closes early
 * can never raise SIGPIPE in the host (OpenSSL's socket BIO uses write()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ctx.h"
#include "http_ca.h"
#include "http_conn.h"
#include "log.h"
#include "secret.h"

int64_t up_http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static up_err timed_out(struct up_ctx *ctx, const struct up_dest *d, const char *what)
{
	return up_fail(ctx, UP_ENET, "%s: timed out after %lld ms (%s)", d->url,
		       (long long)d->timeout_ms, what);
}

/* Wait until fd is ready for `ev` or the deadline passes. */
static up_err wait_fd(struct up_ctx *ctx, int fd, short ev, const struct up_dest *d,
		      const char *what)
{
	for (;;) {
		int64_t left = d->deadline - up_http_now_ms();
		struct pollfd pfd = {.fd = fd, .events = ev};
		int n;

		if (left <= 0)
			return timed_out(ctx, d, what);
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return UP_OK; /* POLLERR and POLLHUP too: the next call says what */
		if (n < 0 && errno != EINTR)
			return up_fail(ctx, UP_ENET, "%s: poll: %s", d->url, strerror(errno));
	}
}

/* --- the socket BIO --------------------------------------------------- */

static int sock_write(BIO *b, const char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int sock_read(BIO *b, char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = recv(fd, buf, (size_t)len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	return (int)n;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO *sock_bio(struct up_tls *t, int fd)
{
	BIO *b;

	if (!t->meth) {
		t->meth =
		    BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "userpool socket");
		if (!t->meth || !BIO_meth_set_write(t->meth, sock_write) ||
		    !BIO_meth_set_read(t->meth, sock_read) ||
		    !BIO_meth_set_ctrl(t->meth, sock_ctrl)) {
			BIO_meth_free(t->meth);
			t->meth = NULL;
			return NULL;
		}
	}
	b = BIO_new(t->meth);
	if (b) {
		BIO_set_data(b, (void *)(intptr_t)fd);
		BIO_set_init(b, 1);
	}
	return b;
}

/* --- TLS ---------------------------------------------------------------- */

void up_tls_free(struct up_tls *t)
{
	SSL_CTX_free(t->ctx);
	up_ca_free(t->ca);
	BIO_meth_free(t->meth);
	free(t->ca_file);
	memset(t, 0, sizeof(*t));
}

static up_err tls_verify_failed(struct up_ctx *ctx, const struct up_dest *d, const char *why)
{
	/* Certificate, host name or trust store: never "unreachable" (an
	 * interception looks exactly like this), so no offline fallback. */
	up_log(ctx, LOG_WARNING, "TLS verification of %s failed (possible interception): %s",
	       d->url, why);
	return up_fail(ctx, UP_ETLS, "%s: TLS verification failed: %s", d->url, why);
}

/* The context's SSL_CTX for the configured CA file: TLS >= 1.2, the peer
 * verified, the trust anchors from that one file. */
static up_err tls_setup(struct up_ctx *ctx, struct up_tls *t, const struct up_dest *d)
{
	const char *ca = ctx->cfg->ca_file ? ctx->cfg->ca_file : UP_SYSTEM_CA_FILE;
	char why[160];
	SSL_CTX *c;

	if (t->ctx && strcmp(t->ca_file, ca) == 0)
		return UP_OK;
	SSL_CTX_free(t->ctx);
	t->ctx = NULL;
	up_ca_free(t->ca);
	t->ca = NULL;
	free(t->ca_file);
	t->ca_file = NULL;
	/* The default configuration loading: openssl.cnf carries the admin's
	 * crypto policy. */
	if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL))
		return up_fail(ctx, UP_EINTERNAL, "OpenSSL initialisation failed");
	t->ca_file = strdup(ca);
	c = SSL_CTX_new(TLS_client_method());
	if (!t->ca_file || !c) {
		SSL_CTX_free(c);
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
	/* A peer that closes without close_notify: the framing (Content-Length,
	 * chunked) tells a cut response. */
	SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CLEANSE_PLAINTEXT);
	ERR_clear_error();
	if (!SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION)) {
		SSL_CTX_free(c);
		return up_fail(ctx, UP_EINTERNAL, "%s: cannot require TLS 1.2", d->url);
	}
	/* Never SSL_CTX_set_default_verify_paths: that reads SSL_CERT_FILE and
	 * SSL_CERT_DIR from the caller's environment. The anchors a peer needs
	 * are decoded when it needs them (lib/http_ca.c), else all at once. */
	if ((t->ca = up_ca_load(ca))) {
		up_ca_attach(c, t->ca);
	} else if (SSL_CTX_load_verify_locations(c, ca, NULL) != 1) {
		snprintf(why, sizeof(why), "cannot read the CA file %s: %s", ca,
			 ERR_reason_error_string(ERR_peek_last_error())
			     ? ERR_reason_error_string(ERR_peek_last_error())
			     : "error");
		SSL_CTX_free(c);
		return tls_verify_failed(ctx, d, why);
	}
	t->ctx = c;
	return UP_OK;
}

/* What a failed handshake means: a certificate that does not verify is
 * UP_ETLS; a handshake that broke off (reset, a plain-HTTP port, an alert)
 * is a network failure. */
static up_err tls_failed(struct up_ctx *ctx, const struct up_dest *d, SSL *s, int e)
{
	long vr = SSL_get_verify_result(s);
	unsigned long err = ERR_peek_last_error();
	const char *why = err ? ERR_reason_error_string(err) : NULL;

	if (vr != X509_V_OK)
		return tls_verify_failed(ctx, d, X509_verify_cert_error_string(vr));
	if (err && ERR_GET_LIB(err) == ERR_LIB_SSL &&
	    ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED)
		return tls_verify_failed(ctx, d, why ? why : "certificate verify failed");
	if (!why)
		why = e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : "connection closed";
	return up_fail(ctx, UP_ENET, "%s: TLS handshake failed: %s", d->url, why);
}

/* After an SSL call returned rc <= 0: the poll event it waits for, or 0. */
static short ssl_want(SSL *s, int rc, int *e)
{
	*e = SSL_get_error(s, rc);
	if (*e == SSL_ERROR_WANT_READ)
		return POLLIN;
	if (*e == SSL_ERROR_WANT_WRITE)
		return POLLOUT;
	return 0;
}

/* The host name as the certificate carries it: without a final dot. */
static void cert_name(const struct up_url *h, char *out, size_t size)
{
	size_t n = strlen(h->host);

	if (n && h->host[n - 1] == '.')
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, h->host, n);
	out[n] = '\0';
}

static up_err tls_new(struct up_ctx *ctx, struct up_tls *t, struct up_conn *c,
		      const struct up_url *h, const struct up_dest *d, SSL **ret)
{
	char name[UP_HTTP_HOST_MAX];
	SSL *s = SSL_new(t->ctx);
	BIO *b = NULL;

	if (s && ret == &c->ssl && c->proxy_ssl) {
		/* TLS to the target inside the TLS to the proxy. */
		b = BIO_new(BIO_f_ssl());
		if (b)
			BIO_set_ssl(b, c->proxy_ssl, BIO_NOCLOSE);
	} else if (s) {
		b = sock_bio(t, c->fd);
	}
	if (!b) {
		SSL_free(s);
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	}
	SSL_set_bio(s, b, b);
	*ret = s;
	cert_name(h, name, sizeof(name));
	SSL_set_hostflags(s, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (h->literal) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), name) != 1)
			return up_fail(ctx, UP_EINTERNAL, "%s: cannot check the address", d->url);
	} else if (SSL_set_tlsext_host_name(s, name) != 1 || SSL_set1_host(s, name) != 1) {
		return up_fail(ctx, UP_EINTERNAL, "%s: cannot check the host name", d->url);
	}
	if (SSL_set_alpn_protos(s, (const unsigned char *)"\x08http/1.1", 9) != 0)
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	return UP_OK;
}

static up_err tls_handshake(struct up_ctx *ctx, struct up_tls *t, struct up_conn *c,
			    const struct up_url *h, const struct up_dest *d, SSL **ret)
{
	up_err r = tls_setup(ctx, t, d);
	short ev;
	int rc, e;

	if (r || (r = tls_new(ctx, t, c, h, d, ret)))
		return r;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(*ret);
		if (rc == 1)
			return UP_OK;
		ev = ssl_want(*ret, rc, &e);
		if (!ev)
			return tls_failed(ctx, d, *ret, e);
		if ((r = wait_fd(ctx, c->fd, ev, d, "TLS handshake")))
			return r;
	}
}

/* --- resolve and connect ---------------------------------------------- */

/* One block for glibc's resolver thread: leaked on purpose when a request
 * that timed out cannot be cancelled (that thread still writes it). */
struct gai_req {
	struct gaicb cb;
	struct addrinfo hints;
	char port[8];
	char name[UP_HTTP_HOST_MAX];
};

static up_err gai_failed(struct up_ctx *ctx, const struct up_dest *d, const struct up_url *h,
			 int rc)
{
	if (rc == EAI_MEMORY)
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	return up_fail(ctx, UP_ENET, "%s: cannot resolve %s: %s", d->url, h->host,
		       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
}

/* A name through getaddrinfo_a, waited for no longer than the deadline. */
static up_err resolve_name(struct up_ctx *ctx, const struct up_url *h, const struct up_dest *d,
			   struct addrinfo **ret)
{
	struct gai_req *g = calloc(1, sizeof(*g));
	struct gaicb *list[1];
	int rc;

	if (!g)
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	snprintf(g->port, sizeof(g->port), "%u", h->port);
	memcpy(g->name, h->host, sizeof(g->name));
	g->hints.ai_family = AF_UNSPEC;
	g->hints.ai_socktype = SOCK_STREAM;
	g->hints.ai_flags = AI_NUMERICSERV;
	g->cb.ar_name = g->name;
	g->cb.ar_service = g->port;
	g->cb.ar_request = &g->hints;
	list[0] = &g->cb;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL))) {
		free(g);
		return gai_failed(ctx, d, h, rc);
	}
	while ((rc = gai_error(&g->cb)) == EAI_INPROGRESS) {
		int64_t left = d->deadline - up_http_now_ms();
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};

		if (left <= 0)
			break;
		gai_suspend((const struct gaicb *const *)list, 1, &ts);
	}
	if (rc == EAI_INPROGRESS) {
		if (gai_cancel(&g->cb) == EAI_NOTCANCELED)
			return timed_out(ctx, d, "resolving"); /* g stays glibc's */
		if (gai_error(&g->cb) == 0)
			freeaddrinfo(g->cb.ar_result);
		free(g);
		return timed_out(ctx, d, "resolving");
	}
	*ret = g->cb.ar_result;
	free(g);
	return rc ? gai_failed(ctx, d, h, rc) : UP_OK;
}

static up_err resolve(struct up_ctx *ctx, const struct up_url *h, const struct up_dest *d,
		      struct addrinfo **ret)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	const char *host = h->host;
	char port[8];
	int rc;

	/* "localhost" is the loopback address, never a question for the
	 * resolver: http:// is allowed to it as to a loopback host, and
	 * "localhost." would otherwise go to DNS (nss_files matches names
	 * exactly), taking a plain-text request off the machine. */
	if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
		host = "127.0.0.1";
	else if (!h->literal)
		return resolve_name(ctx, h, d, ret);
	snprintf(port, sizeof(port), "%u", h->port);
	rc = getaddrinfo(host, port, &hints, ret);
	return rc ? gai_failed(ctx, d, h, rc) : UP_OK;
}

/* Non-blocking connect to one address, bounded by `until`; the socket or
 * -1 with *err (0: timed out). */
static int connect_one(const struct addrinfo *ai, int64_t until, int *err)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	socklen_t el = sizeof(*err);

	*err = errno;
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		*err = errno;
		if (errno != EINPROGRESS)
			goto fail;
		for (;;) {
			int64_t left = until - up_http_now_ms();
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			int n;

			*err = 0;
			if (left <= 0)
				goto fail;
			n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
			if (n > 0)
				break;
			if (n < 0 && errno != EINTR) {
				*err = errno;
				goto fail;
			}
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &el) < 0 || *err)
			goto fail;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return -1;
}

/* Each address in turn; all but the last get at most half the time left. */
static up_err connect_any(struct up_ctx *ctx, const struct addrinfo *list, const struct up_url *h,
			  const struct up_dest *d, int *ret)
{
	int err = 0;

	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		int64_t now = up_http_now_ms(), until = d->deadline;

		if (ai->ai_next)
			until = now + (d->deadline - now) / 2;
		*ret = connect_one(ai, until, &err);
		if (*ret >= 0)
			return UP_OK;
		if (up_http_now_ms() >= d->deadline)
			break;
	}
	if (!err)
		return timed_out(ctx, d, "connecting");
	return up_fail(ctx, UP_ENET, "%s: cannot connect to %s port %u: %s", d->url, h->host,
		       h->port, strerror(err));
}

/* --- the proxy tunnel ------------------------------------------------- */

static up_err tunnel_answer(struct up_ctx *ctx, struct up_conn *c, const struct up_dest *d,
			    struct up_http_parser *p)
{
	char buf[2048];
	enum up_hp_result res = UP_HP_MORE;
	size_t got, used = 0;
	up_err r = UP_OK;

	up_hp_init(p, 0, true);
	while (res == UP_HP_MORE) {
		if ((r = up_conn_read(ctx, c, d, buf, sizeof(buf), &got)))
			return r;
		res = got ? up_hp_feed(p, buf, got, &used) : up_hp_eof(p);
	}
	if (res == UP_HP_NOMEM)
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	if (res != UP_HP_COMPLETE)
		return up_fail(ctx, UP_ENET, "%s: bad answer from the proxy: %s", d->url,
			       p->why ? p->why : "cut");
	if (p->status < 200 || p->status > 299)
		return up_fail(ctx, UP_ENET, "%s: the proxy refused the tunnel: HTTP %d", d->url,
			       p->status);
	if (used != got)
		return up_fail(ctx, UP_ENET, "%s: the proxy sent data before the tunnel", d->url);
	return UP_OK;
}

/* CONNECT host:port through the proxy: a 2xx answer or a failure. */
static up_err tunnel(struct up_ctx *ctx, struct up_conn *c, const struct up_dest *d)
{
	const struct up_url *h = d->target;
	/* Zeroed: up_hp_clear below runs even when the CONNECT was never sent. */
	struct up_http_parser *p = calloc(1, sizeof(*p));
	char hp[UP_HTTP_HOST_MAX + 16];
	struct up_buf req = {0};
	up_err r;

	if (!p)
		return up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	snprintf(hp, sizeof(hp), h->ipv6 ? "[%s]:%u" : "%s:%u", h->host, h->port);
	up_buf_add_str(&req, "CONNECT ");
	up_buf_add_str(&req, hp);
	up_buf_add_str(&req, " HTTP/1.1\r\nHost: ");
	up_buf_add_str(&req, hp);
	up_buf_add_str(&req, "\r\nUser-Agent: userpool/" PACKAGE_VERSION "\r\n\r\n");
	if (req.oom)
		r = up_fail(ctx, UP_ENOMEM, "%s: out of memory", d->url);
	else if (!(r = up_conn_write(ctx, c, d, req.s, req.len)))
		r = tunnel_answer(ctx, c, d, p);
	up_buf_clear(&req);
	up_hp_clear(p);
	free(p);
	return r;
}

/* --- the connection --------------------------------------------------- */

void up_conn_close(struct up_conn *c)
{
	SSL_free(c->ssl);
	SSL_free(c->proxy_ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->key);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

up_err up_conn_open(struct up_ctx *ctx, struct up_tls *t, struct up_conn *c,
		    const struct up_dest *d)
{
	const struct up_url *hop = d->proxy ? d->proxy : d->target;
	struct addrinfo *ai = NULL;
	up_err r;

	up_conn_close(c);
	if ((r = resolve(ctx, hop, d, &ai)))
		return r;
	r = connect_any(ctx, ai, hop, d, &c->fd);
	freeaddrinfo(ai);
	if (r)
		return r;
	if (d->proxy && d->proxy->tls)
		r = tls_handshake(ctx, t, c, d->proxy, d, &c->proxy_ssl);
	if (!r && d->proxy)
		r = tunnel(ctx, c, d);
	if (!r && d->target->tls)
		r = tls_handshake(ctx, t, c, d->target, d, &c->ssl);
	if (r)
		up_conn_close(c);
	return r;
}

static SSL *io_ssl(const struct up_conn *c)
{
	return c->ssl ? c->ssl : c->proxy_ssl;
}

bool up_conn_alive(const struct up_conn *c)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	if (c->fd < 0 || (c->ssl && (SSL_has_pending(c->ssl) || SSL_pending(c->ssl))) ||
	    (c->proxy_ssl && (SSL_has_pending(c->proxy_ssl) || SSL_pending(c->proxy_ssl))))
		return false;
	return poll(&pfd, 1, 0) == 0;
}

up_err up_conn_write(struct up_ctx *ctx, struct up_conn *c, const struct up_dest *d,
		     const char *buf, size_t len)
{
	SSL *s = io_ssl(c);
	size_t off = 0;
	up_err r;

	while (off < len) {
		size_t n = len - off > 65536 ? 65536 : len - off;
		short ev = POLLOUT;
		ssize_t w;
		int e = 0;

		ERR_clear_error();
		if (s) {
			int rc = SSL_write(s, buf + off, (int)n);
			w = rc;
			if (rc <= 0 && !(ev = ssl_want(s, rc, &e)))
				return up_fail(ctx, UP_ENET, "%s: send failed: %s", d->url,
					       e == SSL_ERROR_SYSCALL && errno ? strerror(errno)
									       : "TLS error");
		} else {
			w = send(c->fd, buf + off, n, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return up_fail(ctx, UP_ENET, "%s: send failed: %s", d->url,
					       strerror(errno));
		}
		if (w > 0) {
			off += (size_t)w;
			c->sent += (size_t)w;
			continue;
		}
		if ((r = wait_fd(ctx, c->fd, ev, d, "sending")))
			return r;
	}
	return UP_OK;
}

up_err up_conn_read(struct up_ctx *ctx, struct up_conn *c, const struct up_dest *d, char *buf,
		    size_t cap, size_t *got)
{
	SSL *s = io_ssl(c);
	int one = 1;
	up_err r;

	*got = 0;
	for (;;) {
		short ev = POLLIN;
		ssize_t n;
		int e = 0;

		/* The deadline holds for a peer that trickles bytes too. */
		if (up_http_now_ms() >= d->deadline)
			return timed_out(ctx, d, "receiving");
		ERR_clear_error();
		errno = 0;
		if (s) {
			int rc = SSL_read(s, buf, cap > 65536 ? 65536 : (int)cap);
			n = rc;
			if (rc <= 0 && !(ev = ssl_want(s, rc, &e))) {
				if (e == SSL_ERROR_ZERO_RETURN)
					return UP_OK;
				if ((e == SSL_ERROR_SYSCALL && !errno) ||
				    (e == SSL_ERROR_SSL &&
				     ERR_GET_REASON(ERR_peek_error()) ==
					 SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
					c->unclean_eof = true; /* no close_notify */
					return UP_OK;
				}
				return up_fail(ctx, UP_ENET, "%s: receive failed: %s", d->url,
					       errno ? strerror(errno) : "TLS error");
			}
		} else {
			n = recv(c->fd, buf, cap, 0);
			if (n == 0)
				return UP_OK;
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return up_fail(ctx, UP_ENET, "%s: receive failed: %s", d->url,
					       strerror(errno));
		}
		if (n > 0) {
			*got = (size_t)n;
			return UP_OK;
		}
		/* Acknowledge what comes next at once: a server that writes its
		 * headers and its body apart, with Nagle on, holds the body until
		 * our ACK, which Linux delays by up to 40 ms otherwise. */
		setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		if ((r = wait_fd(ctx, c->fd, ev, d, "receiving")))
			return r;
	}
}
