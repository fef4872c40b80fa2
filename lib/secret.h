/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_SECRET_H
#define UP_LIB_SECRET_H

/* Private to libuserpool (lib/secret.c): wiping, string arrays. */

#include <stdbool.h>
#include <stddef.h>

void up_wipe(void *p, size_t len);
/* Wipe a NUL-terminated string and free it; NULL is a no-op. */
void up_free_secret(char *s);
/* Wipe `len` bytes and free; NULL is a no-op. */
void up_free_secret_len(void *p, size_t len);
/* strdup that returns NULL for NULL. */
char *up_strdup(const char *s);
/* Constant-time comparison of equal-length buffers: true when equal. */
bool up_memeq_ct(const void *a, const void *b, size_t len);
/* Free a NULL-terminated string array (plain, not secret); NULL is a no-op. */
void up_strv_free(char **v);
size_t up_strv_len(char *const *v);
/* Deep copy; NULL in gives a new empty array. */
char **up_strv_dup(char *const *v);
bool up_strv_contains(char *const *v, const char *s);

#endif
