/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_STORE_INT_H
#define USERPOOL_STORE_INT_H

/* Private to libuserpool, its unit tests and fuzz targets. */

#include "internal.h"

/* The state-record reader: the bytes of a users/<hash>.json file (at most
 * the store's size cap) into a record, every field checked. The binding to
 * issuer, client and file name is the caller's (store.c's load). */
up_err up_store_record_parse(struct up_ctx *ctx, const char *data, size_t len,
			     struct up_user_record **ret_rec);

#endif
