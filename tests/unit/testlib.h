/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_TESTLIB_H
#define UP_TESTLIB_H

/* Small helpers shared by the cmocka unit tests. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The unit tests reach into every module: all the private headers. */
#include "codec.h"
#include "cognito.h"
#include "config_int.h"
#include "ctx.h"
#include "http.h"
#include "jwks.h"
#include "jwt.h"
#include "log.h"
#include "num.h"
#include "oidc.h"
#include "provider.h"
#include "secret.h"
#include "signin.h"
#include "state.h"
#include "store_def.h"

/* Everything the library logged, one message per line ("<prio> msg\n"). */
struct t_log {
	char buf[65536];
	size_t len;
};
void t_log_fn(void *ud, int priority, const char *msg);
void t_log_reset(struct t_log *log);
bool t_log_contains(const struct t_log *log, const char *needle);

/* A settable clock for up_ctx_set_clock(). */
struct t_clock {
	int64_t now;
};
int64_t t_clock_fn(void *ud);

/* mkdtemp under $TMPDIR (or /tmp); the result is malloc'd. */
char *t_mkdtemp(void);
/* rm -rf of a test directory (made by t_mkdtemp). */
void t_rmtree(const char *dir);
/* Write a file (mode applied with fchmod); returns the malloc'd path. */
char *t_write_file(const char *dir, const char *name, const char *content, mode_t mode);

/* A context with a capturing logger and a fixed clock, loading `config`
 * text written to a 0600 file in `dir` (check_owner false). Fails the test
 * if the load fails. */
struct up_ctx *t_ctx_with_config(const char *dir, const char *config, struct t_log *log,
				 struct t_clock *clock);

#endif
