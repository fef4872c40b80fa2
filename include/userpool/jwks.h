/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_JWKS_H
#define USERPOOL_JWKS_H

/* lib/jwks.c: what the JWKS cache holds. */

#include <userpool/common.h>

UP_BEGIN_DECLS

/* What the cache holds (userpool status). */
struct up_jwks_info {
	int64_t fetched_at; /* 0 when there is no cached set */
	char **kids;	    /* NULL-terminated */
};
UP_EXPORT void up_jwks_info_free(struct up_jwks_info *info);

UP_END_DECLS

#endif
