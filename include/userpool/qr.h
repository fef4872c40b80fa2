/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_QR_H
#define USERPOOL_QR_H

/* lib/qr.c: QR codes and the enrolment and device-flow messages. */

#include <stdbool.h>

#include <userpool/err.h>

UP_BEGIN_DECLS

enum up_qr_style {
	UP_QR_UTF8 = 0, /* half blocks, two modules per line, 4-module quiet zone */
	UP_QR_ASCII	/* plain ASCII, two characters per module */
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
