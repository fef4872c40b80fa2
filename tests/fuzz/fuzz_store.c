/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the state-record reader (lib/store.c) on arbitrary
 * bytes; an accepted record must be complete. */
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct up_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_user_record *rec = NULL;

	if (!ctx && up_ctx_new(&ctx) != UP_OK)
		abort();
	if (up_store_record_parse(ctx, (const char *)data, size, &rec) == UP_OK) {
		if (!rec || !rec->username || !rec->issuer || !rec->client_id || !rec->sub ||
		    !rec->id_token || !rec->groups)
			abort();
		for (size_t i = 0; i < rec->n_stepups; i++)
			if (!rec->stepups[i].service || !rec->stepups[i].tty)
				abort();
		up_user_record_free(rec);
	} else if (rec) {
		abort(); /* a refused record is never handed out */
	}
	return 0;
}
