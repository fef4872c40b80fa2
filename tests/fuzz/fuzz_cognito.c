/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: Cognito response parsing (lib/cognito.c) through
 * up_cognito_signin and a fake transport: challenge parameters (SRP,
 * SOFTWARE_TOKEN_MFA, SELECT_MFA_TYPE, MFA_SETUP, NEW_PASSWORD_REQUIRED),
 * AuthenticationResult, __type / x-amzn-ErrorType errors, and the JWKS
 * and ID token that follow. The first input byte picks the flow; the rest
 * is the sequence of responses (see fake_http.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "fake_http.h"
#include "secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONFIG                                                                                   \
	"user_pool_id = us-east-1_FuzzPool1\nclient_id = fuzzclient0001\n"                        \
	"state_dir = %s\nmfa = optional\nauth_flow = %s\n"

static struct up_ctx *ctx_srp, *ctx_pw;

static struct up_ctx *make(const char *flow)
{
	char fmt[512];

	snprintf(fmt, sizeof(fmt), CONFIG, "%s", flow);
	return fake_ctx(fmt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_auth *auth = NULL;
	struct up_ctx *ctx;
	char *secret = NULL;

	if (!ctx_srp) {
		ctx_srp = make("srp");
		ctx_pw = make("password");
	}
	if (size < 1)
		return 0;
	ctx = data[0] & 1 ? ctx_pw : ctx_srp;
	fake_state_reset(ctx);
	fake_http_feed(data + 1, size - 1);
	if (data[0] & 2) {
		/* The enrolment path: AssociateSoftwareToken's SecretCode. */
		if (up_cognito_associate_token(ctx, "access-token", &secret) == UP_OK) {
			if (!secret)
				abort();
			up_free_secret(secret);
		}
		return 0;
	}
	if (up_cognito_signin(ctx, "fuzzuser", "Fuzz-Password-1", &fake_conv, &auth) == UP_OK) {
		if (!auth || !auth->id_token || !auth->claims)
			abort();
		up_auth_free(auth);
	} else if (auth) {
		abort();
	}
	return 0;
}
