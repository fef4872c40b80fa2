/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the HTTP/1.1 response parser (lib/http_parse.c), what
 * a server or a proxy sends back, fed whole and in pieces of a size the
 * input chooses (the two must agree); the Date header and the URL split on
 * the same bytes. Input: byte 0 the piece size, byte 1 the body cap (x 64),
 * the rest the response. */
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum up_hp_result run(struct up_http_parser *p, const char *in, size_t len, size_t step,
			     size_t cap, bool headers_only, size_t *total)
{
	enum up_hp_result r = UP_HP_MORE;
	size_t used = 0;

	up_hp_init(p, cap, headers_only);
	*total = 0;
	for (size_t i = 0; i < len && r == UP_HP_MORE; i += step) {
		size_t n = len - i < step ? len - i : step;
		r = up_hp_feed(p, in + i, n, &used);
		if (used > n)
			abort();
		*total += used;
	}
	if (r == UP_HP_MORE)
		r = up_hp_eof(p);
	if (p->body.len > cap || (p->body.s && p->body.s[p->body.len] != '\0'))
		abort();
	if (r == UP_HP_COMPLETE && (!p->body.s || p->status < 200 || p->status > 999))
		abort();
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct up_http_parser a, b;
	size_t step, cap, ta, tb;
	enum up_hp_result ra, rb;
	struct up_url u;
	int64_t t;
	char *s;

	if (size < 2 || size > 70000)
		return 0;
	step = data[0] ? data[0] : 1;
	cap = (size_t)data[1] * 64;
	ra = run(&a, (const char *)data + 2, size - 2, size, cap, data[0] & 1, &ta);
	rb = run(&b, (const char *)data + 2, size - 2, step, cap, data[0] & 1, &tb);
	if (ra != rb)
		abort();
	if (ra == UP_HP_COMPLETE &&
	    (ta != tb || a.status != b.status || a.keep_alive != b.keep_alive ||
	     a.body.len != b.body.len || memcmp(a.body.s, b.body.s, a.body.len) != 0))
		abort();
	up_hp_clear(&a);
	up_hp_clear(&b);
	up_http_parse_date((const char *)data + 2, size - 2, &t);
	s = malloc(size - 1);
	if (!s)
		return 0;
	memcpy(s, data + 2, size - 2);
	s[size - 2] = '\0';
	if (up_url_parse(s, 80, 443, &u) == UP_OK &&
	    (!u.host[0] || u.port == 0 || u.port > 65535 || u.path + u.path_len > s + size - 2))
		abort();
	free(s);
	return 0;
}
