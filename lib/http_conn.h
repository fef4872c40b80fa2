/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_HTTP_CONN_H
#define UP_LIB_HTTP_CONN_H

/*
 * Private to libuserpool (lib/http_conn.c): one connection of lib/http.c's
 * client: resolve (getaddrinfo_a, bounded), connect (non-blocking), a
 * CONNECT tunnel through the configured proxy (TLS to an https:// proxy),
 * TLS over OpenSSL verified against ca_file only, and reads and writes
 * bounded by the request's deadline. Every failure sets the context's
 * detail and maps to UP_ENET, UP_ETLS, UP_ENOMEM or UP_EINTERNAL.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include <userpool/err.h>

#include "http_parse.h"

struct up_ctx;
struct up_ca;

/* The trust anchors when ca_file is not set: the system store on Debian,
 * never SSL_CERT_FILE/SSL_CERT_DIR from the caller's environment. */
#define UP_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* The TLS setup of one context (struct up_http), made on first use. */
struct up_tls {
	SSL_CTX *ctx;
	struct up_ca *ca; /* its trust anchors, on demand (lib/http_ca.c); NULL: loaded whole */
	char *ca_file;	  /* what ctx trusts */
	BIO_METHOD *meth; /* the socket BIO: send(MSG_NOSIGNAL) and recv */
};
void up_tls_free(struct up_tls *t);

struct up_conn {
	int fd;		  /* -1: none */
	SSL *proxy_ssl;	  /* TLS to an https:// proxy */
	SSL *ssl;	  /* TLS to the target (inside proxy_ssl, if any) */
	char *key;	  /* scheme, host, port, proxy and CA: reused for the same only */
	bool unclean_eof; /* TLS ended without close_notify */
	size_t sent;	  /* bytes of the current request handed to the kernel */
};
#define UP_CONN_INIT                                                                               \
	{                                                                                          \
		.fd = -1                                                                           \
	}

/* Where a request goes: the target URL's parts and the proxy (NULL: none). */
struct up_dest {
	const char *url; /* for the detail */
	const struct up_url *target;
	const struct up_url *proxy;
	int64_t deadline; /* CLOCK_MONOTONIC milliseconds */
	int64_t timeout_ms;
};

int64_t up_http_now_ms(void);
/* Open c (closed on entry) to d's target. */
up_err up_conn_open(struct up_ctx *ctx, struct up_tls *t, struct up_conn *c,
		    const struct up_dest *d);
void up_conn_close(struct up_conn *c);
/* false when the peer closed or sent something unasked since the last response */
bool up_conn_alive(const struct up_conn *c);
up_err up_conn_write(struct up_ctx *ctx, struct up_conn *c, const struct up_dest *d,
		     const char *buf, size_t len);
/* Up to `cap` bytes into buf; *got = 0 at the end of the stream. */
up_err up_conn_read(struct up_ctx *ctx, struct up_conn *c, const struct up_dest *d, char *buf,
		    size_t cap, size_t *got);

#endif
