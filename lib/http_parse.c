/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure parts of lib/http.c's HTTP/1.1 client: the URL split, the
 * response parser and the Date header. No I/O, no global state: the bytes
 * come from the caller (lib/http.c, the unit tests, tests/fuzz/fuzz_http.c)
 * in pieces of any size.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http_parse.h"
#include "secret.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '.' || c == '_';
}

/* The port after ':' up to `end`: 1 to 65535, digits only. */
static bool parse_port(const char *s, const char *end, unsigned *ret)
{
	unsigned v = 0;

	if (s >= end || end - s > 5)
		return false;
	for (; s < end; s++) {
		if (!is_digit(*s))
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*ret = v;
	return true;
}

/* host[:port] or [v6][:port] between auth and end into u. */
static bool parse_authority(const char *auth, const char *end, unsigned def, struct up_url *u)
{
	const char *hs = auth, *he, *port = NULL;
	unsigned char addr[16];
	size_t hl;

	if (*auth == '[') {
		const char *rb = memchr(auth, ']', (size_t)(end - auth));
		if (!rb || (rb + 1 < end && rb[1] != ':'))
			return false;
		hs = auth + 1;
		he = rb;
		port = rb + 1 < end ? rb + 2 : NULL;
		u->ipv6 = true;
	} else {
		const char *colon = memchr(auth, ':', (size_t)(end - auth));
		he = colon ? colon : end;
		port = colon ? colon + 1 : NULL;
	}
	hl = (size_t)(he - hs);
	if (hl == 0 || hl >= sizeof(u->host))
		return false;
	memcpy(u->host, hs, hl);
	u->host[hl] = '\0';
	u->port = def;
	if (port && !parse_port(port, end, &u->port))
		return false;
	u->port_given = u->port != def;
	if (u->ipv6)
		return (u->literal = inet_pton(AF_INET6, u->host, addr) == 1);
	u->literal = inet_pton(AF_INET, u->host, addr) == 1;
	for (size_t i = 0; i < hl; i++)
		if (!is_name_char(u->host[i]))
			return false;
	return true;
}

up_err up_url_parse(const char *url, unsigned http_port, unsigned https_port, struct up_url *u)
{
	const char *auth, *end;

	memset(u, 0, sizeof(*u));
	if (!url)
		return UP_ECONFIG;
	if (strncasecmp(url, "https://", 8) == 0) {
		u->tls = true;
		auth = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		auth = url + 7;
	} else {
		return UP_ECONFIG;
	}
	end = auth + strcspn(auth, "/?#");
	if (end == auth || memchr(auth, '@', (size_t)(end - auth)))
		return UP_ECONFIG;
	for (const char *p = auth; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return UP_ECONFIG;
	if (!parse_authority(auth, end, u->tls ? https_port : http_port, u))
		return UP_ECONFIG;
	u->path = end;
	u->path_len = strcspn(end, "#");
	return UP_OK;
}

/* --- the response parser ------------------------------------------------ */

void up_hp_init(struct up_http_parser *p, size_t cap, bool headers_only)
{
	memset(p, 0, offsetof(struct up_http_parser, line));
	p->line[0] = '\0';
	p->headers_only = headers_only;
	p->body.cap = cap;
	p->st = UP_HP_STATUS;
}

void up_hp_clear(struct up_http_parser *p)
{
	up_buf_clear(&p->body);
	free(p->error_type);
	p->error_type = NULL;
	up_wipe(p->line, sizeof(p->line));
}

static enum up_hp_result bad(struct up_http_parser *p, const char *why)
{
	p->why = why;
	return UP_HP_MALFORMED;
}

/* Value of a header line after the colon, without the blanks around it. */
static const char *trim(const char *v, size_t *len)
{
	size_t n = *len;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	*len = n;
	return v;
}

static bool token_in_list(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok);

	while (len) {
		size_t n = 0, el;
		const char *e;

		while (n < len && v[n] != ',')
			n++;
		el = n;
		e = trim(v, &el);
		if (el == tl && strncasecmp(e, tok, tl) == 0)
			return true;
		v += n < len ? n + 1 : n;
		len -= n < len ? n + 1 : n;
	}
	return false;
}

static enum up_hp_result on_length(struct up_http_parser *p, const char *v, size_t len)
{
	uint64_t n = 0;

	if (len == 0 || len > 18)
		return bad(p, "bad Content-Length");
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(v[i]))
			return bad(p, "bad Content-Length");
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (p->have_len && p->len != n)
		return bad(p, "two different Content-Length headers");
	p->have_len = true;
	p->len = n;
	return UP_HP_MORE;
}

static enum up_hp_result on_error_type(struct up_http_parser *p, const char *v, size_t len)
{
	free(p->error_type);
	p->error_type = strndup(v, len > 256 ? 256 : len);
	return p->error_type ? UP_HP_MORE : UP_HP_NOMEM;
}

/* One header line (NUL-terminated in p->line, no line end). */
static enum up_hp_result on_header(struct up_http_parser *p)
{
	const char *l = p->line, *colon = memchr(l, ':', p->line_len), *v;
	size_t nl, vl;

	if (l[0] == ' ' || l[0] == '\t')
		return bad(p, "folded header line");
	if (!colon || colon == l)
		return bad(p, "header line without a name");
	nl = (size_t)(colon - l);
	for (size_t i = 0; i < nl; i++)
		if ((unsigned char)l[i] <= 0x20 || l[i] == 0x7f || l[i] == '"' || l[i] == '(')
			return bad(p, "bad header name");
	vl = p->line_len - nl - 1;
	v = trim(colon + 1, &vl);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(l, name, nl) == 0)
	if (IS("content-length"))
		return on_length(p, v, vl);
	if (IS("transfer-encoding")) {
		if (p->chunked || vl != 7 || strncasecmp(v, "chunked", 7) != 0)
			return bad(p, "unsupported Transfer-Encoding");
		p->chunked = true;
	} else if (IS("connection")) {
		if (token_in_list(v, vl, "close"))
			p->conn_close = true;
	} else if (IS("date")) {
		if (!up_http_parse_date(v, vl, &p->date))
			p->date = 0;
	} else if (IS("x-amzn-errortype")) {
		return on_error_type(p, v, vl);
	}
#undef IS
	return UP_HP_MORE;
}

/* "HTTP/1.x NNN[ reason]" */
static enum up_hp_result on_status(struct up_http_parser *p)
{
	const char *l = p->line;

	if (p->line_len < 12 || strncmp(l, "HTTP/1.", 7) != 0 || !is_digit(l[7]) || l[8] != ' ' ||
	    !is_digit(l[9]) || !is_digit(l[10]) || !is_digit(l[11]) ||
	    (p->line_len > 12 && l[12] != ' '))
		return bad(p, "bad status line");
	p->http10 = l[7] == '0';
	p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (p->status < 100)
		return bad(p, "bad status code");
	p->st = UP_HP_HEADERS;
	return UP_HP_MORE;
}

static void finish(struct up_http_parser *p)
{
	p->st = UP_HP_DONE;
	p->keep_alive = p->framed && !p->conn_close && !p->http10;
}

/* The blank line after the headers: what framing the body has. */
static enum up_hp_result end_of_headers(struct up_http_parser *p)
{
	if (p->status < 200) {
		bool only = p->headers_only;
		size_t cap = p->body.cap, hb = p->header_bytes;
		unsigned lines = p->lines;

		if (p->status == 101)
			return bad(p, "unrequested protocol switch");
		/* 1xx: informational, the real response follows. */
		free(p->error_type);
		up_hp_init(p, cap, only);
		p->header_bytes = hb;
		p->lines = lines;
		return UP_HP_MORE;
	}
	p->framed = true;
	if (p->headers_only || p->status == 204 || p->status == 304) {
		finish(p);
		return UP_HP_MORE;
	}
	if (p->chunked && p->have_len)
		return bad(p, "both Content-Length and Transfer-Encoding");
	if (p->chunked) {
		p->st = UP_HP_CHUNK_SIZE;
	} else if (p->have_len) {
		if (p->len > p->body.cap)
			return UP_HP_OVER;
		p->left = p->len;
		p->st = UP_HP_BODY_LEN;
		if (!p->left)
			finish(p);
	} else {
		p->framed = false;
		p->st = UP_HP_BODY_CLOSE;
	}
	return UP_HP_MORE;
}

/* chunk-size [; extensions] */
static enum up_hp_result on_chunk_size(struct up_http_parser *p)
{
	uint64_t n = 0;
	size_t i = 0;

	for (; i < p->line_len; i++) {
		char c = p->line[i];
		unsigned d;

		if (is_digit(c))
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			break;
		if (n > (UINT64_MAX >> 4))
			return bad(p, "chunk size overflow");
		n = n << 4 | d;
	}
	if (i == 0 ||
	    (i < p->line_len && p->line[i] != ';' && p->line[i] != ' ' && p->line[i] != '\t'))
		return bad(p, "bad chunk size");
	if (n == 0) {
		p->st = UP_HP_TRAILERS;
		return UP_HP_MORE;
	}
	if (n > p->body.cap - p->body.len)
		return UP_HP_OVER;
	p->left = n;
	p->st = UP_HP_CHUNK_DATA;
	return UP_HP_MORE;
}

/* A complete line in p->line: what it means in this state. */
static enum up_hp_result on_line(struct up_http_parser *p)
{
	bool counted = p->st == UP_HP_STATUS || p->st == UP_HP_HEADERS || p->st == UP_HP_TRAILERS;

	if (counted && ++p->lines > UP_HTTP_LINES_MAX)
		return bad(p, "too many header lines");
	switch (p->st) {
	case UP_HP_STATUS:
		/* Blank lines before a response (a stray CRLF after the last one). */
		return p->line_len ? on_status(p) : UP_HP_MORE;
	case UP_HP_HEADERS:
		return p->line_len ? on_header(p) : end_of_headers(p);
	case UP_HP_CHUNK_SIZE:
		return on_chunk_size(p);
	case UP_HP_CHUNK_END:
		if (p->line_len)
			return bad(p, "chunk not followed by CRLF");
		p->st = UP_HP_CHUNK_SIZE;
		return UP_HP_MORE;
	case UP_HP_TRAILERS:
		if (!p->line_len)
			finish(p);
		return UP_HP_MORE;
	default:
		return bad(p, "parser state");
	}
}

/* Collect bytes of a line; 1 when it is complete (in p->line, without its
 * CRLF or LF), 0 when all of data went in, -1 on a line too long or a CR
 * inside it. *i advances. */
static int take_line(struct up_http_parser *p, const char *data, size_t len, size_t *i,
		     enum up_hp_result *res)
{
	bool counted = p->st == UP_HP_STATUS || p->st == UP_HP_HEADERS || p->st == UP_HP_TRAILERS;

	while (*i < len) {
		char c = data[(*i)++];

		if (counted && ++p->header_bytes > UP_HTTP_HEADERS_MAX) {
			*res = bad(p, "headers over the cap");
			return -1;
		}
		if (c == '\n') {
			if (p->line_len && p->line[p->line_len - 1] == '\r')
				p->line_len--;
			p->line[p->line_len] = '\0';
			return 1;
		}
		if (p->line_len && p->line[p->line_len - 1] == '\r') {
			*res = bad(p, "CR inside a line");
			return -1;
		}
		if (c == '\0' || p->line_len >= sizeof(p->line) - 2) {
			*res = bad(p, c ? "line too long" : "NUL in a line");
			return -1;
		}
		p->line[p->line_len++] = c;
	}
	return 0;
}

/* Body bytes of a Content-Length, chunk or read-to-close body. */
static enum up_hp_result take_body(struct up_http_parser *p, const char *data, size_t len,
				   size_t *i)
{
	size_t n = len - *i;

	if (p->st != UP_HP_BODY_CLOSE && p->left < n)
		n = (size_t)p->left;
	if (n > p->body.cap - p->body.len)
		return UP_HP_OVER; /* (a cap of 0 is no body at all, not up_buf's "unbounded") */
	if (!up_buf_add(&p->body, data + *i, n))
		return p->body.over ? UP_HP_OVER : UP_HP_NOMEM;
	*i += n;
	if (p->st == UP_HP_BODY_CLOSE)
		return UP_HP_MORE;
	p->left -= n;
	if (!p->left) {
		if (p->st == UP_HP_CHUNK_DATA)
			p->st = UP_HP_CHUNK_END;
		else
			finish(p);
	}
	return UP_HP_MORE;
}

enum up_hp_result up_hp_feed(struct up_http_parser *p, const char *data, size_t len, size_t *used)
{
	enum up_hp_result res = UP_HP_MORE;
	size_t i = 0;

	while (i < len && p->st != UP_HP_DONE && res == UP_HP_MORE) {
		if (p->st == UP_HP_BODY_LEN || p->st == UP_HP_CHUNK_DATA ||
		    p->st == UP_HP_BODY_CLOSE) {
			res = take_body(p, data, len, &i);
			continue;
		}
		switch (take_line(p, data, len, &i, &res)) {
		case 1:
			res = on_line(p);
			p->line_len = 0;
			break;
		case 0:
			break;
		default:
			break;
		}
	}
	*used = i;
	if (res == UP_HP_MORE && p->st == UP_HP_DONE)
		res = up_buf_ensure(&p->body) ? UP_HP_COMPLETE : UP_HP_NOMEM;
	return res;
}

enum up_hp_result up_hp_eof(struct up_http_parser *p)
{
	if (p->st == UP_HP_DONE || p->st == UP_HP_BODY_CLOSE) {
		p->st = UP_HP_DONE;
		p->keep_alive = false;
		return up_buf_ensure(&p->body) ? UP_HP_COMPLETE : UP_HP_NOMEM;
	}
	p->why = p->st == UP_HP_STATUS && p->line_len == 0 && p->lines == 0
		     ? "connection closed without a response"
		     : "connection closed inside the response";
	return UP_HP_TRUNCATED;
}

/* --- the Date header ---------------------------------------------------- */

static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int month_of(const char *s)
{
	for (int m = 0; m < 12; m++)
		if (strncmp(s, MONTHS + 3 * m, 3) == 0)
			return m;
	return -1;
}

/* n digits at s into *v */
static bool digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* "HH:MM:SS" */
static bool clock_of(const char *s, struct tm *tm)
{
	return digits(s, 2, &tm->tm_hour) && s[2] == ':' && digits(s + 3, 2, &tm->tm_min) &&
	       s[5] == ':' && digits(s + 6, 2, &tm->tm_sec) && tm->tm_hour < 24 &&
	       tm->tm_min < 60 && tm->tm_sec <= 60;
}

/* The day name up to `stop` (',' or ' '): one of the seven, short or long. */
static size_t day_name(const char *s, size_t len, char stop)
{
	static const char *const days[] = {"Mon", "Tues", "Wednes", "Thurs", "Fri", "Satur", "Sun"};
	size_t n = 0;

	while (n < len && s[n] != stop)
		n++;
	if (n == len)
		return 0;
	for (size_t d = 0; d < 7; d++) {
		size_t dl = strlen(days[d]);
		if (n == 3 && strncmp(s, days[d], 3) == 0)
			return n;
		if (n == dl + 3 && strncmp(s, days[d], dl) == 0 && strncmp(s + dl, "day", 3) == 0)
			return n;
	}
	return 0;
}

/* After the day name: " DD Mon YYYY HH:MM:SS GMT" (IMF-fixdate),
 * " DD-Mon-YY HH:MM:SS GMT" (RFC 850) or " Mon DD HH:MM:SS YYYY" (asctime). */
static bool date_rest(const char *s, size_t len, bool comma, struct tm *tm)
{
	int y;

	if (comma && len == 25 && s[0] == ' ' && digits(s + 1, 2, &tm->tm_mday) && s[3] == ' ' &&
	    (tm->tm_mon = month_of(s + 4)) >= 0 && s[7] == ' ' && digits(s + 8, 4, &y) &&
	    s[12] == ' ' && clock_of(s + 13, tm) && strncmp(s + 21, " GMT", 4) == 0) {
		tm->tm_year = y - 1900;
		return true;
	}
	if (comma && len == 23 && s[0] == ' ' && digits(s + 1, 2, &tm->tm_mday) && s[3] == '-' &&
	    (tm->tm_mon = month_of(s + 4)) >= 0 && s[7] == '-' && digits(s + 8, 2, &y) &&
	    s[10] == ' ' && clock_of(s + 11, tm) && strncmp(s + 19, " GMT", 4) == 0) {
		/* Two digits: the century of the nearest year not over 50 years ahead. */
		struct tm now;
		time_t t = time(NULL);
		int cy = gmtime_r(&t, &now) ? now.tm_year + 1900 : 2000;
		y += cy - cy % 100;
		if (y > cy + 50)
			y -= 100;
		tm->tm_year = y - 1900;
		return true;
	}
	if (!comma && len == 21 && s[0] == ' ' && (tm->tm_mon = month_of(s + 1)) >= 0 &&
	    s[4] == ' ' && (s[5] == ' ' || is_digit(s[5])) && is_digit(s[6]) && s[7] == ' ' &&
	    clock_of(s + 8, tm) && s[16] == ' ' && digits(s + 17, 4, &y)) {
		tm->tm_mday = (s[5] == ' ' ? 0 : (s[5] - '0') * 10) + (s[6] - '0');
		tm->tm_year = y - 1900;
		return true;
	}
	return false;
}

bool up_http_parse_date(const char *s, size_t len, int64_t *ret)
{
	struct tm tm = {0};
	size_t n;
	bool comma;
	time_t t;

	if (!s || len < 24 || len > 64)
		return false;
	n = day_name(s, len, ',');
	comma = n != 0;
	if (!n)
		n = day_name(s, len, ' ');
	if (!n)
		return false;
	if (comma)
		n++;
	if (!date_rest(s + n, len - n, comma, &tm) || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_year < 70)
		return false;
	t = timegm(&tm);
	if (t <= 0)
		return false;
	*ret = (int64_t)t;
	return true;
}
