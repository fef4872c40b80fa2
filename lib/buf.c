/* SPDX-License-Identifier: Apache-2.0 */
/* The capped, wipe-on-grow buffer (buf.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "buf.h"
#include "secret.h"

#define FIRST_SIZE 256

static bool grow(struct up_buf *b, size_t need)
{
	size_t nsize = b->size ? b->size : FIRST_SIZE;
	char *nbuf;

	while (nsize < need) {
		if (nsize > SIZE_MAX / 2) {
			nsize = need;
			break;
		}
		nsize *= 2;
	}
	if (b->cap && nsize > b->cap + 1)
		nsize = b->cap + 1;
	nbuf = malloc(nsize);
	if (!nbuf) {
		b->oom = true;
		return false;
	}
	if (b->s) {
		memcpy(nbuf, b->s, b->len + 1);
		up_free_secret_len(b->s, b->size);
	}
	b->s = nbuf;
	b->size = nsize;
	return true;
}

bool up_buf_add(struct up_buf *b, const void *data, size_t n)
{
	if (b->over || b->oom)
		return false;
	if (b->cap && n > b->cap - b->len) {
		b->over = true;
		return false;
	}
	if (n >= SIZE_MAX - b->len) {
		b->oom = true;
		return false;
	}
	if ((!b->s || b->len + n + 1 > b->size) && !grow(b, b->len + n + 1))
		return false;
	if (n)
		memcpy(b->s + b->len, data, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

bool up_buf_add_str(struct up_buf *b, const char *s)
{
	return up_buf_add(b, s, strlen(s));
}

bool up_buf_ensure(struct up_buf *b)
{
	return up_buf_add(b, "", 0);
}

char *up_buf_take(struct up_buf *b)
{
	char *s = NULL;

	if (!b->over && !b->oom && up_buf_ensure(b)) {
		s = b->s;
		b->s = NULL;
	}
	up_buf_clear(b);
	return s;
}

void up_buf_clear(struct up_buf *b)
{
	size_t cap = b->cap;

	if (b->s)
		up_free_secret_len(b->s, b->size);
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}
