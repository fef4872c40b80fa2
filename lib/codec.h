/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_CODEC_H
#define UP_LIB_CODEC_H

/* Private to libuserpool (lib/codec.c): base64, hex, SHA-256, strict JSON. */

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <userpool/err.h>

struct up_ctx;

/* base64url without padding (JWS); strict decode: no padding, no whitespace, no +/ */
up_err up_b64url_encode(const uint8_t *data, size_t len, char **ret);
up_err up_b64url_decode(const char *s, size_t slen, uint8_t **ret, size_t *ret_len);
/* standard base64 with padding (Cognito SRP fields) */
up_err up_b64_encode(const uint8_t *data, size_t len, char **ret);
up_err up_b64_decode(const char *s, uint8_t **ret, size_t *ret_len);
/* The value of one standard base64 digit (A-Z a-z 0-9 + /), -1 for any
 * other byte (http_ca.c's PEM reader). */
int up_b64_digit(char c);
/* lower-case hex */
up_err up_hex_encode(const uint8_t *data, size_t len, char **ret);
/* SHA-256 hex of data (state file names) into out[65] */
up_err up_sha256_hex(const void *data, size_t len, char out[65]);
/* Parse JSON strictly: duplicate keys rejected, no NUL, size capped, object at top. */
up_err up_json_parse(struct up_ctx *ctx, const char *text, size_t len, size_t cap, json_t **ret);
/* Serialise compactly; the result is malloc'd. */
char *up_json_dump(const json_t *j);
/* Wipe every string inside a JSON value (before json_decref of secrets). */
void up_json_wipe(json_t *j);
/* Percent-encode for application/x-www-form-urlencoded and URIs (unreserved kept). */
up_err up_url_encode(const char *s, char **ret);

#endif
