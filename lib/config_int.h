/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_CONFIG_INT_H
#define USERPOOL_CONFIG_INT_H

/* Private to libuserpool, its unit tests and fuzz targets. */

#include <stddef.h>

#include <userpool/userpool.h>

#include "config_def.h"

struct up_ctx;

/* The configuration parser on text in memory (at most the file size cap),
 * then the PAM-style arguments, with the checks of up_ctx_load_config but
 * no file checks. The result is not installed in ctx; free it with
 * up_config_free. */
up_err up_config_parse_text(struct up_ctx *ctx, const char *text, size_t len, int argc,
			    const char *const *argv, struct up_config **ret_cfg);

/* The name of the i-th key of the configuration table, NULL past the end
 * (for the unit test that checks each key is documented). */
const char *up_config_key_name(size_t i);

/* Free a configuration (the context's, or one up_config_parse_text made). */
void up_config_free(struct up_config *cfg);

#endif
