/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the compact-JWS parser (up_jws_parse) on arbitrary
 * bytes, and, when it accepts, the signature check against one fixed RSA
 * and one fixed EC key (refusals only: the fuzzer cannot forge).
 */
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "jwt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct up_ctx *ctx;
static struct up_jwks *keys;
static char rsa_kid[] = "rsa";
static struct up_jwk rsa_key = { .kid = rsa_kid, .kty = UP_KTY_RSA, .alg = -1 };

/* The P-256 key of RFC 7515 A.3; the RSA key is made once at start. */
static const char keyset[] =
	"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\","
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}";

static void init(void)
{
	if (ctx)
		return;
	if (up_ctx_new(&ctx) != UP_OK)
		abort();
	if (up_jwks_parse(ctx, keyset, strlen(keyset), &keys) != UP_OK)
		abort();
	rsa_key.pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (!rsa_key.pkey)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_jws *jws = NULL;

	init();
	if (up_jws_parse(ctx, (const char *)data, size, &jws) == UP_OK) {
		for (size_t i = 0; i < keys->n; i++)
			if (up_jws_verify_sig(ctx, jws, &keys->keys[i]) == UP_OK)
				abort(); /* a forged signature verified */
		if (up_jws_verify_sig(ctx, jws, &rsa_key) == UP_OK)
			abort();
		up_jws_free(jws);
	}
	return 0;
}
