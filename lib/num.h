/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_NUM_H
#define UP_LIB_NUM_H

/* Private to libuserpool (lib/num.c): checked number parsing. */

#include <stdint.h>

#include <userpool/err.h>

/* Checked decimal parse of the whole string into [min, max]. */
up_err up_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* Duration: a bare number is seconds; suffixes s, m, h, d. */
up_err up_parse_duration(const char *s, int64_t *ret);

#endif
