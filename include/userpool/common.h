/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_COMMON_H
#define USERPOOL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(UP_BUILDING_LIBRARY)
#define UP_EXPORT __attribute__((visibility("default")))
#else
#define UP_EXPORT
#endif

#ifdef __cplusplus
#define UP_BEGIN_DECLS extern "C" {
#define UP_END_DECLS }
#else
#define UP_BEGIN_DECLS
#define UP_END_DECLS
#endif

/* Caps on everything that comes from the network (STYLE.md). */
#define UP_MAX_RESPONSE (256u * 1024u)
#define UP_MAX_JWKS (64u * 1024u)
#define UP_MAX_TOKEN (16u * 1024u)
#define UP_MAX_USERNAME 256u
#define UP_MAX_PASSWORD 1024u

#endif
