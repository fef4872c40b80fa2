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

UP_END_DECLS

#endif
