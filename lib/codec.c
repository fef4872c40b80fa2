/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <userpool/userpool.h>

#include "codec.h"
#include "log.h"
#include "secret.h"

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static up_err b64_encode(const char *alpha, bool pad, const uint8_t *d, size_t len, char **ret)
{
	size_t out_len = (len / 3) * 4 + 4 + 1, o = 0, i;
	char *out;

	if (!ret || (!d && len))
		return UP_EINVAL;
	if (len > SIZE_MAX / 2)
		return UP_ERANGE;
	out = malloc(out_len);
	if (!out)
		return UP_ENOMEM;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		out[o++] = alpha[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)d[i] << 16;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8;
		out[o++] = alpha[v >> 18 & 63];
		out[o++] = alpha[v >> 12 & 63];
		out[o++] = alpha[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	*ret = out;
	return UP_OK;
}

/* Both alphabets share their first 62 symbols (A-Z a-z 0-9); only the last
 * two differ. Ranges instead of a search (issue 21: a token's three
 * segments are decoded on every verification). */
static int b64_value(const char *alpha, char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == alpha[62])
		return 62;
	if (c == alpha[63])
		return 63;
	return -1;
}

int up_b64_digit(char c)
{
	return b64_value(b64std, c);
}

/* Strict decoder: only the alphabet, padding only where `pad` says,
 * no whitespace, and the unused low bits of the last symbol must be zero
 * (so every input has exactly one encoding). */
static up_err b64_decode(const char *alpha, bool pad, const char *s, size_t slen, uint8_t **ret,
			 size_t *ret_len)
{
	size_t n = slen, o = 0, i;
	uint8_t *out;
	uint32_t acc = 0;
	int bits = 0;

	if (!s || !ret || !ret_len)
		return UP_EINVAL;
	if (pad) {
		if (slen % 4)
			return UP_EINVAL;
		if (n && s[n - 1] == '=')
			n--;
		if (n && s[n - 1] == '=')
			n--;
	}
	if (n % 4 == 1)
		return UP_EINVAL;
	out = malloc(n / 4 * 3 + 3 + 1);
	if (!out)
		return UP_ENOMEM;
	for (i = 0; i < n; i++) {
		int v = b64_value(alpha, s[i]);
		if (v < 0) {
			up_free_secret_len(out, n / 4 * 3 + 3 + 1);
			return UP_EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (bits && (acc & ((1u << bits) - 1))) {
		up_free_secret_len(out, n / 4 * 3 + 3 + 1);
		return UP_EINVAL;
	}
	out[o] = 0;
	*ret = out;
	*ret_len = o;
	return UP_OK;
}

up_err up_b64url_encode(const uint8_t *data, size_t len, char **ret)
{
	return b64_encode(b64url, false, data, len, ret);
}

up_err up_b64url_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len)
{
	return b64_decode(b64url, false, s, slen, ret, ret_len);
}

up_err up_b64_encode(const uint8_t *data, size_t len, char **ret)
{
	return b64_encode(b64std, true, data, len, ret);
}

up_err up_b64_decode(const char *s, uint8_t **ret, size_t *ret_len)
{
	if (!s)
		return UP_EINVAL;
	return b64_decode(b64std, true, s, strlen(s), ret, ret_len);
}

up_err up_hex_encode(const uint8_t *data, size_t len, char **ret)
{
	static const char hex[] = "0123456789abcdef";
	char *out;

	if (!ret || (!data && len) || len > SIZE_MAX / 2 - 1)
		return UP_EINVAL;
	out = malloc(len * 2 + 1);
	if (!out)
		return UP_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[data[i] >> 4];
		out[2 * i + 1] = hex[data[i] & 15];
	}
	out[len * 2] = '\0';
	*ret = out;
	return UP_OK;
}

up_err up_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return UP_EINTERNAL;
	for (size_t i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return UP_OK;
}

up_err up_json_parse(struct up_ctx *ctx, const char *text, size_t len, size_t cap, json_t **ret)
{
	json_error_t jerr;
	json_t *j;

	if (!text || !ret)
		return UP_EINVAL;
	if (cap && len > cap)
		return up_fail(ctx, UP_EPROTO,
			       "JSON document of %zu bytes is over the %zu-byte cap", len, cap);
	/* Duplicate keys are ambiguous (two parsers may pick different values);
	 * \u0000 is refused by jansson unless JSON_ALLOW_NUL, which we never set. */
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return up_fail(ctx, UP_EPROTO, "malformed JSON at line %d column %d: %s", jerr.line,
			       jerr.column, jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return up_fail(ctx, UP_EPROTO, "JSON document is not an object");
	}
	*ret = j;
	return UP_OK;
}

char *up_json_dump(const json_t *j)
{
	size_t need;
	char *out;

	/* Not json_dumps(): it grows its buffer by copying and frees the old
	 * copies unwiped, leaving pieces of passwords, codes and tokens in
	 * freed heap. Measure first, then dump once into a buffer of the
	 * right size that the caller wipes. */
	need = json_dumpb(j, NULL, 0, JSON_COMPACT);
	if (need == 0 || need == SIZE_MAX)
		return NULL;
	out = malloc(need + 1);
	if (!out)
		return NULL;
	if (json_dumpb(j, out, need, JSON_COMPACT) != need) {
		up_free_secret_len(out, need + 1);
		return NULL;
	}
	out[need] = '\0';
	return out;
}

void up_json_wipe(json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!j)
		return;
	switch (json_typeof(j)) {
	case JSON_STRING:
		/* jansson owns the buffer; it is writable memory of the value. */
		up_wipe((void *)(uintptr_t)json_string_value(j), json_string_length(j));
		break;
	case JSON_OBJECT:
		json_object_foreach(j, key, v) up_json_wipe(v);
		break;
	case JSON_ARRAY:
		json_array_foreach(j, i, v) up_json_wipe(v);
		break;
	default:
		break;
	}
}

up_err up_url_encode(const char *s, char **ret)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len, o = 0;
	char *out;

	if (!s || !ret)
		return UP_EINVAL;
	len = strlen(s);
	if (len > SIZE_MAX / 3 - 1)
		return UP_ERANGE;
	out = malloc(len * 3 + 1);
	if (!out)
		return UP_ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	*ret = out;
	return UP_OK;
}
