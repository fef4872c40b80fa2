/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_JWKS_H
#define UP_LIB_JWKS_H

/* Private to libuserpool (lib/jwks.c): the key set of a JWKS URI, its cache
 * and the context's memo of it. */

#include <userpool/err.h>
#include <userpool/jwks.h>

struct up_ctx;

/* jwks.c: the context's memo of the last JWKS cache file read (issue 21
 * item 5), the parsed set kept while the file's identity (device, inode,
 * size, mtime, ctime, owner, mode) is unchanged. Freed by up_ctx_free. */
void up_jwks_memo_free(struct up_ctx *ctx);
up_err up_jwks_refresh_uri(struct up_ctx *ctx, const char *uri);
up_err up_jwks_info_uri(struct up_ctx *ctx, const char *uri, struct up_jwks_info **ret_info);

#endif
