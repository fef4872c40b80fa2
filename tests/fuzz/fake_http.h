/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_FUZZ_FAKE_HTTP_H
#define UP_FUZZ_FAKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <userpool/userpool.h>

#include "config_int.h"

struct up_ctx;

void fake_http_feed(const uint8_t *data, size_t size);
struct up_ctx *fake_ctx(const char *config_fmt);
extern const struct up_conv fake_conv;
/* Empty the on-disk caches (JWKS, discovery) between inputs. */
void fake_state_reset(struct up_ctx *ctx);

#endif
