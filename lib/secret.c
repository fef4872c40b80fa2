/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <userpool/userpool.h>

#include "secret.h"

void up_wipe(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

void up_free_secret(char *s)
{
	if (!s)
		return;
	up_wipe(s, strlen(s));
	free(s);
}

void up_free_secret_len(void *p, size_t len)
{
	if (!p)
		return;
	up_wipe(p, len);
	free(p);
}

char *up_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool up_memeq_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void up_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t up_strv_len(char *const *v)
{
	size_t n = 0;

	if (v)
		while (v[n])
			n++;
	return n;
}

char **up_strv_dup(char *const *v)
{
	size_t n = up_strv_len(v);
	char **out = calloc(n + 1, sizeof(*out));

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(v[i]);
		if (!out[i]) {
			up_strv_free(out);
			return NULL;
		}
	}
	return out;
}

bool up_strv_contains(char *const *v, const char *s)
{
	if (!v || !s)
		return false;
	for (; *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}
