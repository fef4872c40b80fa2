/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TOTP enrolment helpers: RFC 4648 base32, RFC 6238 TOTP (HMAC-SHA1) and the
 * otpauth:// key URI that authenticator apps scan.
 *
 * The functions take no context: they cannot log, and they never need to.
 * Everything a seed passes through is wiped before it is freed.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <userpool/otpauth.h>

#include <userpool/userpool.h>

#include "secret.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Seeds are a few dozen bytes; the cap only keeps size arithmetic trivially
 * safe and refuses absurd input early. */
#define B32_MAX_TEXT (64u * 1024u)

up_err up_base32_encode(const uint8_t *data, size_t len, char **ret_text)
{
	if (!data || len == 0 || !ret_text || len > B32_MAX_TEXT)
		return UP_EINVAL;

	size_t out_len = (len * 8 + 4) / 5;
	char *out = malloc(out_len + 1);
	if (!out)
		return UP_ENOMEM;

	uint32_t acc = 0; /* holds seed bits: wiped below */
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | data[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 0x1f];
		}
		acc &= (1u << bits) - 1; /* keep only the bits not yet emitted */
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 0x1f];
	out[o] = '\0';
	up_wipe(&acc, sizeof(acc));

	*ret_text = out;
	return UP_OK;
}

/* Value of one base32 character (either case), or -1. */
static int b32_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * Copy the significant characters of `text` upper-cased into a new string:
 * spaces are dropped, '=' is accepted only as trailing padding, anything
 * else that is not in the alphabet is refused. The copy is a seed: the
 * caller frees it with up_free_secret().
 */
static up_err b32_normalise(const char *text, char **ret, size_t *ret_len)
{
	size_t tlen = strnlen(text, B32_MAX_TEXT + 1);
	if (tlen > B32_MAX_TEXT)
		return UP_EINVAL;

	char *out = malloc(tlen + 1);
	if (!out)
		return UP_ENOMEM;

	size_t n = 0;
	bool padding = false;
	for (size_t i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == ' ')
			continue;
		if (c == '=') {
			padding = true;
			continue;
		}
		int v = b32_value(c);
		if (v < 0 || padding) { /* a character after padding is not base32 */
			up_free_secret_len(out, tlen + 1);
			return UP_EINVAL;
		}
		out[n++] = b32_alphabet[v];
	}
	out[n] = '\0';

	/* RFC 4648: a final quantum of 1, 3 or 6 characters cannot occur. */
	size_t rem = n % 8;
	if (n == 0 || rem == 1 || rem == 3 || rem == 6) {
		up_free_secret_len(out, tlen + 1);
		return UP_EINVAL;
	}
	*ret = out;
	*ret_len = n;
	return UP_OK;
}

up_err up_base32_decode(const char *text, uint8_t **ret_data, size_t *ret_len)
{
	if (!text || !ret_data || !ret_len)
		return UP_EINVAL;

	char *norm = NULL;
	size_t n = 0;
	up_err r = b32_normalise(text, &norm, &n);
	if (r)
		return r;

	size_t out_len = n * 5 / 8;
	uint8_t *out = malloc(out_len);
	if (!out) {
		up_free_secret(norm);
		return UP_ENOMEM;
	}

	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 5) | (uint32_t)b32_value((unsigned char)norm[i]);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits (< 5) are the encoder's zero fill; they are ignored as
	 * most decoders do, so a hand-typed key is not refused over them. */
	up_wipe(&acc, sizeof(acc));
	up_free_secret(norm);

	*ret_data = out;
	*ret_len = o;
	return UP_OK;
}

up_err up_totp(const uint8_t *key, size_t key_len, int64_t t, unsigned step, unsigned digits,
	       char out[9])
{
	static const uint32_t pow10[] = {1000000u, 10000000u, 100000000u};

	if (!key || key_len == 0 || key_len > INT_MAX || !out || t < 0 || step == 0 || digits < 6 ||
	    digits > 8)
		return UP_EINVAL;

	uint64_t counter = (uint64_t)t / step;
	uint8_t msg[8];
	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)(counter & 0xff);
		counter >>= 8;
	}

	up_err r = UP_EINTERNAL;
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t mac_len = 0;
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *mctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
	if (!mctx)
		goto out;

	char digest[] = "SHA1";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_init(mctx, key, key_len, params) != 1 ||
	    EVP_MAC_update(mctx, msg, sizeof(msg)) != 1 ||
	    EVP_MAC_final(mctx, mac, &mac_len, sizeof(mac)) != 1 || mac_len != 20)
		goto out;

	/* RFC 4226 §5.3 dynamic truncation. */
	unsigned off = mac[19] & 0x0f;
	uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
		       ((uint32_t)mac[off + 2] << 8) | (uint32_t)mac[off + 3];
	uint32_t code = bin % pow10[digits - 6];

	char buf[9];
	for (unsigned i = digits; i > 0; i--) {
		buf[i - 1] = (char)('0' + code % 10);
		code /= 10;
	}
	buf[digits] = '\0';
	memcpy(out, buf, digits + 1);
	up_wipe(buf, sizeof(buf));
	up_wipe(&bin, sizeof(bin));
	r = UP_OK;
out:
	up_wipe(mac, sizeof(mac));
	EVP_MAC_CTX_free(mctx); /* cleanses its key copy */
	EVP_MAC_free(hmac);
	return r;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	uint32_t cp;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A label part must be printable text: no control characters (C0, DEL, or
 * the C1 range U+0080..U+009F) and well-formed UTF-8, because an app shows
 * it to the user verbatim and a terminal might interpret a control byte.
 */
static bool label_ok(const char *s)
{
	if (!s || !*s)
		return false;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		size_t n = utf8_seq_len(p);
		if (n == 0)
			return false;
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return false;
		p += n;
	}
	return true;
}

/*
 * RFC 3986 percent-encoding: only the unreserved set is kept, so a space is
 * %20 (never '+', which the apps would show literally) and ':' '&' '#' '/'
 * '?' '=' '+' '%' cannot change the URI's structure. Appends to buf.
 */
static void pct_append(char *buf, size_t *pos, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			buf[(*pos)++] = (char)c;
		} else {
			buf[(*pos)++] = '%';
			buf[(*pos)++] = hex[c >> 4];
			buf[(*pos)++] = hex[c & 0x0f];
		}
	}
}

static void raw_append(char *buf, size_t *pos, const char *s)
{
	size_t n = strlen(s);
	memcpy(buf + *pos, s, n);
	*pos += n;
}

#define LABEL_MAX 1024u /* per part, in bytes before encoding */

up_err up_otpauth_uri(const char *issuer, const char *account, const char *secret_b32,
		      char **ret_uri)
{
	if (!label_ok(issuer) || !label_ok(account) || !secret_b32 || !ret_uri)
		return UP_EINVAL;
	size_t ilen = strlen(issuer), alen = strlen(account);
	if (ilen > LABEL_MAX || alen > LABEL_MAX)
		return UP_EINVAL;

	/* The secret goes in upper case without spaces or padding, the form
	 * Google's key URI format asks for; anything else is refused so that
	 * nothing can be smuggled into the query. */
	char *secret = NULL;
	size_t slen = 0;
	up_err r = b32_normalise(secret_b32, &secret, &slen);
	if (r)
		return r;

	static const char pfx[] = "otpauth://totp/";
	static const char q1[] = "?secret=";
	static const char q2[] = "&issuer=";
	size_t cap =
	    sizeof(pfx) + 3 * ilen + 1 + 3 * alen + sizeof(q1) + slen + sizeof(q2) + 3 * ilen + 1;
	char *uri = malloc(cap);
	if (!uri) {
		up_free_secret(secret);
		return UP_ENOMEM;
	}
	size_t pos = 0;
	raw_append(uri, &pos, pfx);
	pct_append(uri, &pos, issuer);
	uri[pos++] = ':';
	pct_append(uri, &pos, account);
	raw_append(uri, &pos, q1);
	raw_append(uri, &pos, secret);
	raw_append(uri, &pos, q2);
	pct_append(uri, &pos, issuer);
	uri[pos] = '\0';
	up_free_secret(secret);

	*ret_uri = uri;
	return UP_OK;
}

up_err up_secret_groups(const char *secret_b32, char **ret_text)
{
	if (!secret_b32 || !ret_text)
		return UP_EINVAL;

	char *secret = NULL;
	size_t n = 0;
	up_err r = b32_normalise(secret_b32, &secret, &n);
	if (r)
		return r;

	/* n characters + one space between each group of four + NUL */
	char *out = malloc(n + n / 4 + 1);
	if (!out) {
		up_free_secret(secret);
		return UP_ENOMEM;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = ' ';
		out[o++] = secret[i];
	}
	out[o] = '\0';
	up_free_secret(secret);

	*ret_text = out;
	return UP_OK;
}
