/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the otpauth/QR input (lib/otpauth.c, lib/qr.c): the
 * secret the pool returns (AssociateSoftwareToken) and the labels that go
 * into the URI and the QR code. Lines: secret, issuer, account. */
#include <stdlib.h>
#include <string.h>

#include <userpool/otpauth.h>

#include <userpool/userpool.h>

#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *f[3] = {"", "userpool", "user"}, *p;
	char *uri = NULL, *text = NULL, *groups = NULL;
	uint8_t *key = NULL;
	size_t key_len = 0;
	char code[16];

	if (size > 4096)
		return 0;
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf;
	for (int i = 0; i < 3 && p; i++)
		f[i] = strsep(&p, "\n");
	if (up_base32_decode(f[0], &key, &key_len) == UP_OK) {
		if (up_totp(key, key_len, 1700000000, 30, 6, code) == UP_OK && strlen(code) != 6)
			abort();
		up_free_secret_len(key, key_len);
	}
	if (up_secret_groups(f[0], &groups) == UP_OK)
		up_free_secret(groups);
	if (up_otpauth_uri(f[1], f[2], f[0], &uri) == UP_OK) {
		if (strncmp(uri, "otpauth://totp/", 15) != 0)
			abort();
		if (up_enroll_text(uri, f[0], (size_t)size % 2 ? UP_QR_ASCII : UP_QR_UTF8,
				   &text) == UP_OK)
			up_free_secret(text);
		up_free_secret(uri);
	}
	free(buf);
	return 0;
}
