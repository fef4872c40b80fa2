/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small driver of lib/oidc.c for the interop test with oidc-provider
 * (tests/oidc/test_oidc_provider.sh). Not installed.
 *
 *   oidc_client CONFIG USER [--approve CMD] [--refresh] [--revoke]
 *   oidc_client CONFIG --discover
 *
 * Signs USER in with the configured flow. Info text goes to stdout; at the
 * device flow's "Press Enter" prompt, CMD runs through /bin/sh with
 * USER_CODE in its environment (the test approves the code there). Prints
 * one line per step: "signin ok user=… sub=… mfa=… groups=… refresh=…",
 * "refresh ok user=…", "revoke ok", "refresh-after-revoke <error>", or
 * "<step> failed: <error>: <detail>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <userpool/jwt.h>
#include <userpool/oidc.h>
#include <userpool/userpool.h>

#include "ctx.h"
#include "oidc.h"
#include "secret.h"

static const char *approve_cmd;
static char last_info[16384];

static void log_fn(void *ud, int prio, const char *msg)
{
	(void)ud;
	if (getenv("OIDC_CLIENT_DEBUG") || prio <= LOG_WARNING)
		fprintf(stderr, "log %d: %s\n", prio, msg);
}

static up_err cv_info(void *ud, const char *text)
{
	(void)ud;
	snprintf(last_info, sizeof(last_info), "%s", text);
	fputs(text, stdout);
	fflush(stdout);
	return UP_OK;
}

static up_err cv_error(void *ud, const char *text)
{
	(void)ud;
	fprintf(stdout, "error: %s\n", text);
	return UP_OK;
}

static up_err cv_prompt(void *ud, const char *text, bool echo, char **ret)
{
	(void)ud;
	(void)echo;
	printf("prompt: %s\n", text);
	fflush(stdout);
	if (strcmp(text, "Press Enter after approving") == 0 && approve_cmd) {
		const char *p = strstr(last_info, "Code: ");
		char code[128];
		int rc;

		if (!p)
			return UP_ECONV;
		snprintf(code, sizeof(code), "%.*s", (int)strcspn(p + 6, "\n"), p + 6);
		setenv("USER_CODE", code, 1);
		rc = system(approve_cmd);
		if (rc != 0)
			fprintf(stderr, "oidc_client: approve command exited with %d\n", rc);
	}
	*ret = strdup("");
	return *ret ? UP_OK : UP_ENOMEM;
}

static void fail_line(struct up_ctx *ctx, const char *step, up_err r)
{
	printf("%s failed: %s: %s\n", step, up_strerror(r), up_ctx_detail(ctx));
}

static void show(const char *step, const struct up_auth *a)
{
	printf("%s ok user=%s sub=%s mfa=%d groups=", step, a->claims->username, a->claims->sub,
	       a->mfa ? 1 : 0);
	for (char **g = a->claims->groups; g && *g; g++)
		printf("%s%s", g == a->claims->groups ? "" : ",", *g);
	printf(" refresh=%s\n", a->refresh_token ? "yes" : "no");
}

int main(int argc, char **argv)
{
	struct up_conv conv = {.prompt = cv_prompt, .info = cv_info, .error = cv_error};
	struct up_auth *auth = NULL, *again = NULL;
	struct up_ctx *ctx = NULL;
	bool refresh = false, revoke = false, discover = false;
	const char *user = NULL;
	int rc = 1;
	up_err r;

	if (argc < 3) {
		fprintf(stderr, "usage: oidc_client CONFIG USER [--approve CMD] [--refresh] "
				"[--revoke] | CONFIG --discover\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--approve") == 0 && i + 1 < argc)
			approve_cmd = argv[++i];
		else if (strcmp(argv[i], "--refresh") == 0)
			refresh = true;
		else if (strcmp(argv[i], "--revoke") == 0)
			revoke = true;
		else if (strcmp(argv[i], "--discover") == 0)
			discover = true;
		else if (!user && argv[i][0] != '-')
			user = argv[i];
		else
			return 2;
	}
	if (up_ctx_new(&ctx) != UP_OK)
		return 1;
	up_ctx_set_logger(ctx, log_fn, NULL);
	{
		/* "debug" lets the library's debug lines reach log_fn. */
		const char *dbg[] = {"debug"};

		r = up_ctx_load_config(ctx, argv[1], getenv("OIDC_CLIENT_DEBUG") ? 1 : 0, dbg,
				       false);
	}
	if (r) {
		fail_line(ctx, "config", r);
		goto out;
	}
	if (discover) {
		struct up_jwks_info *info = NULL;

		r = up_oidc_discover(ctx);
		if (r) {
			fail_line(ctx, "discover", r);
			goto out;
		}
		printf("token_endpoint=%s\ndevice_authorization_endpoint=%s\njwks_uri=%s\n"
		       "userinfo_endpoint=%s\nrevocation_endpoint=%s\n",
		       ctx->oidc.token_endpoint,
		       ctx->oidc.device_authorization_endpoint
			   ? ctx->oidc.device_authorization_endpoint
			   : "-",
		       ctx->oidc.jwks_uri,
		       ctx->oidc.userinfo_endpoint ? ctx->oidc.userinfo_endpoint : "-",
		       ctx->oidc.revocation_endpoint ? ctx->oidc.revocation_endpoint : "-");
		r = up_jwks_refresh(ctx);
		if (!r)
			r = up_jwks_info(ctx, &info);
		if (r) {
			fail_line(ctx, "jwks", r);
			goto out;
		}
		printf("jwks keys=%zu\n", up_strv_len(info->kids));
		up_jwks_info_free(info);
		rc = 0;
		goto out;
	}
	r = up_oidc_signin(ctx, user, NULL, &conv, &auth);
	if (r) {
		fail_line(ctx, "signin", r);
		goto out;
	}
	show("signin", auth);
	rc = 0;
	if (refresh) {
		r = up_oidc_refresh(ctx, user, auth->refresh_token ? auth->refresh_token : "-",
				    &again);
		if (r) {
			fail_line(ctx, "refresh", r);
			rc = 1;
		} else {
			show("refresh", again);
		}
		up_auth_free(again);
		again = NULL;
	}
	if (revoke && auth->refresh_token) {
		r = up_oidc_revoke(ctx, auth->refresh_token);
		if (r) {
			fail_line(ctx, "revoke", r);
			rc = 1;
		} else {
			printf("revoke ok\n");
			r = up_oidc_refresh(ctx, user, auth->refresh_token, &again);
			printf("refresh-after-revoke %s\n", up_strerror(r));
			up_auth_free(again);
		}
	}
out:
	up_auth_free(auth);
	up_ctx_free(ctx);
	return rc;
}
