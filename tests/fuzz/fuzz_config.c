/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the configuration parser (lib/config.c) on arbitrary
 * text, then a PAM-style argument list taken from the input's last line. */
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "config_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct up_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_config *cfg = NULL;
	const char *args[8];
	char argbuf[512];
	int argc = 0;

	if (!ctx && up_ctx_new(&ctx) != UP_OK)
		abort();
	/* File text alone. */
	if (up_config_parse_text(ctx, (const char *)data, size, 0, NULL, &cfg) == UP_OK) {
		if (!cfg || !cfg->client_id || !cfg->state_dir || cfg->timeout <= 0)
			abort(); /* finish() must have filled what it promises */
		up_config_free(cfg);
		cfg = NULL;
	}
	/* The bytes after the last NUL (if any) as space-separated arguments. */
	{
		const uint8_t *z = memchr(data, '\0', size);
		size_t n;

		if (!z)
			return 0;
		n = size - (size_t)(z + 1 - data);
		if (n >= sizeof(argbuf))
			n = sizeof(argbuf) - 1;
		memcpy(argbuf, z + 1, n);
		argbuf[n] = '\0';
		for (char *p = argbuf, *s; argc < 8 && (s = strsep(&p, " ")) != NULL;)
			if (*s)
				args[argc++] = s;
		if (up_config_parse_text(ctx, (const char *)data, (size_t)(z - data), argc, args,
					 &cfg) == UP_OK)
			up_config_free(cfg);
	}
	return 0;
}
