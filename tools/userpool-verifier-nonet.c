/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier helper talks to no one. These stand in for lib/http.c's
 * entry points, which the library objects linked into the helper refer to
 * (the context, the providers), so that the helper does not load libssl
 * (lib/http_conn.c; libcurl until the client replaced it, ~30 libraries and
 * 4.7 MB of the helper's peak RSS: issue 21 item 2, a helper within 24 MiB
 * with a tpm1 record's 16 MiB scrypt too) nor pay its start-up CPU.
 * Anything that would need the network fails.
 */
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "http.h"
#include "log.h"
#include "secret.h"

up_err up_http_do(struct up_ctx *ctx, const struct up_http_req *req, struct up_http_resp *resp)
{
	(void)req;
	(void)resp;
	return up_fail(ctx, UP_EINTERNAL, "the verifier helper makes no network requests");
}

void up_http_free(struct up_http *http)
{
	(void)http;
}

long up_http_connects(struct up_ctx *ctx)
{
	(void)ctx;
	return 0;
}

bool up_url_allowed(const char *url)
{
	(void)url;
	return false;
}
