/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Terminal QR codes for TOTP enrolment (libqrencode), drawn with plain
 * characters only: sshd passes the text through keyboard-interactive info
 * messages and the ssh client shows control characters as visible escapes,
 * so there are no ANSI colours and no control bytes except '\n'.
 *
 * Polarity. A terminal draws a character's glyph in the foreground colour on
 * the background colour, and we cannot know which of the two is dark. A
 * scanner wants dark modules on a light quiet zone.
 *
 *  - UP_QR_UTF8 follows `qrencode -t UTF8` (and what people expect from it):
 *    LIGHT modules, the quiet zone included, are glyph ink ('█', '▀', '▄')
 *    and DARK modules are spaces. On the dark-background terminals that most
 *    ssh users run, the code comes out right way round with a bright quiet
 *    zone that frames it; on a light-background terminal it comes out
 *    inverted, which the common phone scanners (ZXing and ML Kit based apps,
 *    the iOS camera) also read.
 *  - UP_QR_ASCII follows `qrencode -t ASCII`: "##" is a DARK module and two
 *    spaces a LIGHT one. '#' fills only part of its cell, so ink is used for
 *    the modules that must be drawn as marks: right way round on a light
 *    background (a printout, a light terminal) and inverted on a dark one.
 *    This style is the fallback for terminals without UTF-8, where a code is
 *    scanned from the screen or paper alike.
 *
 * tests/unit/qr_decode.py holds the same two conventions; change both
 * together.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include <userpool/otpauth.h>

#include <userpool/userpool.h>

#include "secret.h"

#define QR_QUIET 4 /* modules of quiet zone on every side (ISO/IEC 18004) */

static const char U_FULL[] = "\xe2\x96\x88";  /* U+2588 █ both halves light */
static const char U_UPPER[] = "\xe2\x96\x80"; /* U+2580 ▀ top light, bottom dark */
static const char U_LOWER[] = "\xe2\x96\x84"; /* U+2584 ▄ top dark, bottom light */

/* Dark module at (x, y) of the padded grid; outside the code is light. */
static bool qr_dark(const QRcode *q, long x, long y)
{
	long w = q->width;
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= w || y >= w)
		return false;
	return (q->data[y * w + x] & 1) != 0;
}

static char *render_utf8(const QRcode *q, unsigned *ret_columns)
{
	long n = q->width + 2 * QR_QUIET;
	long lines = (n + 1) / 2; /* the last line's lower half is extra quiet zone */
	size_t cap = (size_t)lines * ((size_t)n * 3 + 1) + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;

	size_t o = 0;
	for (long l = 0; l < lines; l++) {
		for (long x = 0; x < n; x++) {
			bool top = qr_dark(q, x, 2 * l);
			bool bottom = qr_dark(q, x, 2 * l + 1);
			const char *g = NULL;
			if (top && bottom) {
				out[o++] = ' ';
				continue;
			}
			g = top ? U_LOWER : bottom ? U_UPPER : U_FULL;
			memcpy(out + o, g, 3);
			o += 3;
		}
		out[o++] = '\n';
	}
	out[o] = '\0';
	*ret_columns = (unsigned)n;
	return out;
}

static char *render_ascii(const QRcode *q, unsigned *ret_columns)
{
	long n = q->width + 2 * QR_QUIET;
	size_t cap = (size_t)n * ((size_t)n * 2 + 1) + 1;
	char *out = malloc(cap);
	if (!out)
		return NULL;

	size_t o = 0;
	for (long y = 0; y < n; y++) {
		for (long x = 0; x < n; x++) {
			char c = qr_dark(q, x, y) ? '#' : ' ';
			out[o++] = c;
			out[o++] = c;
		}
		out[o++] = '\n';
	}
	out[o] = '\0';
	*ret_columns = (unsigned)(2 * n);
	return out;
}

up_err up_qr_render(const char *text, enum up_qr_style style, char **ret_text,
		    unsigned *ret_columns)
{
	if (!text || !*text || !ret_text || (style != UP_QR_UTF8 && style != UP_QR_ASCII))
		return UP_EINVAL;

	/* Level M, 8-bit hint, case-sensitive: the URI's lower-case parts must
	 * survive, and QRcode_encodeString still uses numeric/alphanumeric
	 * segments where they are shorter. */
	errno = 0;
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q)
		return errno == ENOMEM ? UP_ENOMEM : errno == ERANGE ? UP_EINVAL : UP_EINTERNAL;

	unsigned columns = 0;
	char *out = style == UP_QR_UTF8 ? render_utf8(q, &columns) : render_ascii(q, &columns);

	/* The modules encode whatever was given (an otpauth URI carries the
	 * seed): wipe them before libqrencode frees them. */
	up_wipe(q->data, (size_t)q->width * (size_t)q->width);
	QRcode_free(q);
	if (!out)
		return UP_ENOMEM;

	*ret_text = out;
	if (ret_columns)
		*ret_columns = columns;
	return UP_OK;
}

/* A URI shown to the user: printable ASCII only (no controls, no spaces, no
 * bytes a terminal could take as the start of an escape). */
static bool uri_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

static const char enroll_intro[] =
    "Scan this QR code with your authenticator app, or enter the key by hand:\n";

up_err up_enroll_text(const char *uri, const char *secret_b32, enum up_qr_style style,
		      char **ret_text)
{
	if (!uri_ok(uri) || !secret_b32 || !ret_text)
		return UP_EINVAL;

	char *groups = NULL, *qr = NULL;
	up_err r = up_secret_groups(secret_b32, &groups);
	if (r)
		return r;
	r = up_qr_render(uri, style, &qr, NULL);
	if (r) {
		up_free_secret(groups);
		return r;
	}

	/* qr "\n" intro "  " groups "\n" "URI: " uri "\n" */
	size_t qlen = strlen(qr), glen = strlen(groups), ulen = strlen(uri);
	size_t cap = qlen + 1 + (sizeof(enroll_intro) - 1) + 2 + glen + 1 + 5 + ulen + 1 + 1;
	char *out = malloc(cap);
	if (!out) {
		up_free_secret(groups);
		up_free_secret(qr);
		return UP_ENOMEM;
	}
	size_t o = 0;
#define PUT(s, n)                                                                                  \
	do {                                                                                       \
		memcpy(out + o, (s), (n));                                                         \
		o += (n);                                                                          \
	} while (0)
	PUT(qr, qlen);
	PUT("\n", 1);
	PUT(enroll_intro, sizeof(enroll_intro) - 1);
	PUT("  ", 2);
	PUT(groups, glen);
	PUT("\nURI: ", 6);
	PUT(uri, ulen);
	PUT("\n", 1);
#undef PUT
	out[o] = '\0';

	up_free_secret(groups);
	up_free_secret(qr);
	*ret_text = out;
	return UP_OK;
}

up_err up_enroll_fallback(const char *issuer, const char *account, const char *secret_b32,
			  char **ret_text)
{
	char *groups = NULL, *out = NULL;
	up_err r;

	if (!issuer || !account || !secret_b32 || !ret_text)
		return UP_EINVAL;
	r = up_secret_groups(secret_b32, &groups);
	if (r)
		return r;
	if (asprintf(&out,
		     "Add the account %s (%s) to your authenticator app with the key %s, "
		     "then enter the 6-digit code below.",
		     account, issuer, groups) < 0)
		out = NULL;
	up_free_secret(groups);
	if (!out)
		return UP_ENOMEM;
	*ret_text = out;
	return UP_OK;
}

up_err up_device_text(const char *uri, const char *user_code, bool draw_qr, char **ret_text)
{
	char *qr = NULL, *out = NULL;

	if (!uri || !user_code || !ret_text)
		return UP_EINVAL;
	if (!draw_qr) {
		if (asprintf(
			&out,
			"To sign in, open %s on another device, enter the code %s and approve, "
			"then press Enter below.",
			uri, user_code) < 0)
			return UP_ENOMEM;
		*ret_text = out;
		return UP_OK;
	}
	if (up_qr_render(uri, UP_QR_UTF8, &qr, NULL) != UP_OK)
		qr = NULL; /* the address and the code are enough */
	if (asprintf(
		&out,
		"To sign in, open this address on another device and approve:\n%s\n%sCode: %s\n",
		uri, qr ? qr : "", user_code) < 0)
		out = NULL;
	free(qr);
	if (!out)
		return UP_ENOMEM;
	*ret_text = out;
	return UP_OK;
}
