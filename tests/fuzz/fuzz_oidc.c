/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: OIDC response parsing (lib/oidc.c) through the public
 * entry points and a fake transport: discovery, the token response, OAuth
 * errors, refresh. The first input byte picks the call; the rest is the
 * sequence of responses (see fake_http.c). */
#include <stdlib.h>
#include <string.h>

#include <userpool/oidc.h>

#include <userpool/userpool.h>

#include "fake_http.h"
#include "oidc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONFIG                                                                                   \
	"provider = oidc\nissuer = https://idp.example/realm\nclient_id = fuzzclient\n"           \
	"state_dir = %s\nauth_flow = password\n"

static struct up_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_auth *auth = NULL;
	up_err r;

	if (!ctx)
		ctx = fake_ctx(CONFIG);
	if (size < 1)
		return 0;
	/* Discovery and JWKS are cached (context, state_dir): start afresh. */
	fake_state_reset(ctx);
	fake_http_feed(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		up_oidc_discover(ctx);
		return 0;
	case 1:
		r = up_oidc_signin(ctx, "fuzzuser", "Fuzz-Password-1", &fake_conv, &auth);
		break;
	default:
		r = up_oidc_refresh(ctx, "fuzzuser", "refresh-token", &auth);
		break;
	}
	if (r == UP_OK) {
		if (!auth || !auth->id_token || !auth->claims)
			abort();
		up_auth_free(auth);
	} else if (auth) {
		abort();
	}
	return 0;
}
