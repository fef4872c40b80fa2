/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the SRP server values of PASSWORD_VERIFIER (lib/srp.c):
 * SALT, SRP_B (hex), SECRET_BLOCK (base64) and USER_ID_FOR_SRP, one per
 * line of the input. */
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "srp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct up_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	char *buf, *f[4] = {"", "", "", "user"}, *p;
	char *sig = NULL, *ts = NULL;
	struct up_srp *srp = NULL;

	if (size > 8192)
		return 0;
	if (!ctx && up_ctx_new(&ctx) != UP_OK)
		abort();
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	p = buf;
	for (int i = 0; i < 4 && p; i++)
		f[i] = strsep(&p, "\n");
	if (up_srp_new_with_a(ctx, a, sizeof(a), &srp) != UP_OK)
		abort();
	if (up_srp_answer(ctx, srp, "FuzzPool1", f[3], "Fuzz-Password-1", f[0], f[1], f[2],
			  1700000000, &sig, &ts) == UP_OK) {
		if (!sig || !ts)
			abort();
		free(sig);
		free(ts);
	}
	up_srp_free(srp);
	free(buf);
	return 0;
}
