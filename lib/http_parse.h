/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_HTTP_PARSE_H
#define UP_LIB_HTTP_PARSE_H

/*
 * Private to libuserpool (lib/http_parse.c): the pure parts of the HTTP/1.1
 * client, no I/O: the URL split, the response parser (fed the bytes as
 * they arrive; tests/fuzz/fuzz_http.c drives it) and the Date header.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <userpool/err.h>

#include "buf.h"

#define UP_HTTP_HOST_MAX 256	  /* a host name, or an IP literal without brackets */
#define UP_HTTP_HEADERS_MAX 32768 /* status line, header and trailer lines, all told */
#define UP_HTTP_LINE_MAX 8192	  /* one line */
#define UP_HTTP_LINES_MAX 128	  /* header and trailer lines of one response */

/* scheme://host[:port]/path?query (the fragment dropped); no credentials. */
struct up_url {
	bool tls;	 /* https:// */
	bool literal;	 /* an IPv4 or IPv6 address, not a name */
	bool ipv6;	 /* written in brackets */
	bool port_given; /* not the scheme's default */
	unsigned port;
	char host[UP_HTTP_HOST_MAX]; /* without the brackets */
	const char *path;	     /* into the URL: "/...", "?..." or "" */
	size_t path_len;
};
/* UP_ECONFIG for anything but http:// or https:// with a host; the default
 * ports are the caller's (80/443 for a target, 1080/443 for a proxy). */
up_err up_url_parse(const char *url, unsigned http_port, unsigned https_port, struct up_url *u);

enum up_hp_state {
	UP_HP_STATUS,
	UP_HP_HEADERS,
	UP_HP_BODY_LEN,
	UP_HP_CHUNK_SIZE,
	UP_HP_CHUNK_DATA,
	UP_HP_CHUNK_END,
	UP_HP_TRAILERS,
	UP_HP_BODY_CLOSE,
	UP_HP_DONE,
};

enum up_hp_result {
	UP_HP_MORE,	 /* feed more (or call up_hp_eof at the end of the stream) */
	UP_HP_COMPLETE,	 /* one whole response */
	UP_HP_MALFORMED, /* `why` says what */
	UP_HP_OVER,	 /* the body is over its cap */
	UP_HP_TRUNCATED, /* the stream ended inside the response */
	UP_HP_NOMEM,
};

struct up_http_parser {
	/* what the caller sets (up_hp_init) */
	bool headers_only; /* the answer to CONNECT: no body */
	/* the response */
	int status;
	bool http10;
	bool framed;	  /* Content-Length or chunked, not read-to-close */
	bool conn_close;  /* Connection: close */
	bool keep_alive;  /* framed, HTTP/1.1 and no close: the connection can serve again */
	int64_t date;	  /* Date header (seconds since the epoch); 0 when absent */
	char *error_type; /* x-amzn-ErrorType, first 256 bytes, trimmed */
	struct up_buf body;
	const char *why; /* what was wrong, for the detail */
	/* the parser's state */
	enum up_hp_state st;
	bool have_len, chunked;
	uint64_t len, left;
	size_t header_bytes;
	unsigned lines;
	size_t line_len;
	char line[UP_HTTP_LINE_MAX];
};

/* Start a response with a body of at most `cap` bytes. */
void up_hp_init(struct up_http_parser *p, size_t cap, bool headers_only);
/* Take `len` bytes; *used says how many belong to this response. */
enum up_hp_result up_hp_feed(struct up_http_parser *p, const char *data, size_t len, size_t *used);
/* The stream ended: a read-to-close body is complete, anything else is cut. */
enum up_hp_result up_hp_eof(struct up_http_parser *p);
/* Wipe and free the body and the error type. */
void up_hp_clear(struct up_http_parser *p);

/* An HTTP date (RFC 9110 §5.6.7): IMF-fixdate, or the obsolete RFC 850 and
 * asctime forms; false for anything else. */
bool up_http_parse_date(const char *s, size_t len, int64_t *ret);

#endif
