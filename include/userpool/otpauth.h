/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_OTPAUTH_H
#define USERPOOL_OTPAUTH_H

#include <userpool/err.h>

UP_BEGIN_DECLS

/* RFC 4648 base32 without padding (encode), padding and case tolerated and
 * spaces ignored (decode). Results are malloc'd; wipe them (they are seeds). */
UP_EXPORT up_err up_base32_encode(const uint8_t *data, size_t len, char **ret_text);
UP_EXPORT up_err up_base32_decode(const char *text, uint8_t **ret_data, size_t *ret_len);

/* RFC 6238 TOTP (HMAC-SHA1, `step` seconds, `digits` 6..8) at time `t`.
 * `out` receives digits + NUL. */
UP_EXPORT up_err up_totp(const uint8_t *key, size_t key_len, int64_t t, unsigned step,
			 unsigned digits, char out[9]);

/* otpauth://totp/<issuer>:<account>?secret=<secret>&issuer=<issuer> with
 * issuer and account percent-encoded (RFC 3986 unreserved kept). */
UP_EXPORT up_err up_otpauth_uri(const char *issuer, const char *account, const char *secret_b32,
				char **ret_uri);

/* "ABCD EFGH IJKL ..." */
UP_EXPORT up_err up_secret_groups(const char *secret_b32, char **ret_text);

enum up_qr_style {
	UP_QR_UTF8 = 0, /* half blocks, two modules per line, 4-module quiet zone */
	UP_QR_ASCII     /* plain ASCII, two characters per module */
};

/* Render `text` as a QR code (libqrencode, level M). *ret_text holds lines
 * ending in '\n'; *ret_columns is the width in terminal columns. */
UP_EXPORT up_err up_qr_render(const char *text, enum up_qr_style style, char **ret_text,
			      unsigned *ret_columns);

/* The enrolment message: QR code, the URI and the secret in groups of four. */
UP_EXPORT up_err up_enroll_text(const char *uri, const char *secret_b32, enum up_qr_style style,
				char **ret_text);

/* The enrolment as one short message without a QR code (graphical greeters,
 * `qr = off`): the account name, the key in groups of four, "then enter the
 * 6-digit code below". */
UP_EXPORT up_err up_enroll_fallback(const char *issuer, const char *account, const char *secret_b32,
				    char **ret_text);

/* The OIDC device flow's message: the verification URI, a QR code of it when
 * `draw_qr`, and the user code; without the QR code one short message. */
UP_EXPORT up_err up_device_text(const char *uri, const char *user_code, bool draw_qr,
				char **ret_text);

UP_END_DECLS

#endif
