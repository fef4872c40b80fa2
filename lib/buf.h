/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_BUF_H
#define UP_LIB_BUF_H

/*
 * One growing byte buffer for everything the library assembles or receives
 * (HTTP bodies, forms, NSS files, reports). It never reallocs: growing
 * copies into a new allocation and wipes the old one before it is freed, so
 * a token or a password that passed through leaves no copy behind in freed
 * memory. `cap` bounds what it holds (0: no bound, for text built locally);
 * the data is always NUL-terminated. A failed add is sticky (`over` or
 * `oom`): check once at the end.
 */

#include <stdbool.h>
#include <stddef.h>

struct up_buf {
	char *s;
	size_t len;  /* bytes held, without the NUL */
	size_t size; /* bytes allocated */
	size_t cap;  /* most bytes it may hold; 0: unbounded */
	bool over;   /* an add went over cap */
	bool oom;    /* an allocation failed */
};

/* Append n bytes; false (and the flag set) when over cap or out of memory. */
bool up_buf_add(struct up_buf *b, const void *data, size_t n);
bool up_buf_add_str(struct up_buf *b, const char *s);
/* Make sure b->s is allocated (an empty string) even when nothing was added. */
bool up_buf_ensure(struct up_buf *b);
/* Hand the text to the caller (NULL after a failed add); b is reset. The
 * caller frees it with up_free_secret_len(s, len + 1) or free(). */
char *up_buf_take(struct up_buf *b);
/* Wipe, free and reset (cap is kept). */
void up_buf_clear(struct up_buf *b);

#endif
