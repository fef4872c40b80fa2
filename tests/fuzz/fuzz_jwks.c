/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the JWKS parser (up_jwks_parse) on arbitrary bytes. */
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "jwt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct up_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_jwks *set = NULL;

	if (!ctx && up_ctx_new(&ctx) != UP_OK)
		abort();
	if (up_jwks_parse(ctx, (const char *)data, size, &set) == UP_OK) {
		if (!set || set->n == 0)
			abort();
		for (size_t i = 0; i < set->n; i++)
			if (!set->keys[i].pkey || !set->keys[i].kid ||
			    up_jwks_find(set, set->keys[i].kid) != &set->keys[i])
				abort(); /* duplicates must have been dropped */
		up_jwks_free(set);
	}
	return 0;
}
