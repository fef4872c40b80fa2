/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_VHELPER_H
#define USERPOOL_VHELPER_H

/*
 * Private to libuserpool: the offline verifier derived by a short-lived
 * helper process after the PAM call returned (issue 21 item 1), as pam_unix
 * hands work to unix_chkpwd.
 *
 * After an online sign-in the record is written at once with a marker in
 * place of the verifier, "pending$<nonce>$<the previous verifier or
 * nothing>": no offline sign-in matches a marked record (it is refused,
 * fail closed, "still being derived"), so a password changed at the pool
 * is useless offline as soon as the sign-in returns. The previous verifier
 * rides along only to open the TOTP secret the record holds (wrapped under
 * its KEK) with the password the pool just accepted. The helper
 * (verifier_helper, $(pkglibexecdir)/userpool-verifier) gets the password
 * and what else it needs over a socket, derives under the flock'd KDF
 * slots, and replaces the marker with the new verifier (and the re-wrapped
 * TOTP secret) only if the record still carries its marker: a later
 * sign-in or password change wins.
 */

#include <stdbool.h>
#include <stdint.h>

#include <userpool/userpool.h>

struct up_ctx;

#define UP_VHELPER_MARK "pending$"
#define UP_VHELPER_ARGS_MAX 64u
#define UP_VHELPER_MSG_MAX 65536u

/* What the helper needs; the helper's copy owns its strings (up_vwork_clear),
 * the module's borrows them. */
struct up_vwork {
	const char *cfg_path;	     /* the module's configuration file */
	const char *const *cfg_args; /* and its arguments, NULL-terminated */
	const char *username;
	const char *marker;   /* "pending$<nonce>$" the record was written with */
	const char *password; /* secret */
	const char *sub;
	const char *totp_secret; /* base32, set up in this sign-in; NULL: none (secret) */
	const char *totp_code;	 /* the code the pool accepted; NULL: none (secret) */
	int64_t mfa_method;	 /* enum up_mfa_method */
	int64_t requester;
	int64_t signin_at; /* the sign-in's time: the accepted code is checked at it */
};

/* Wipe and free what up_vwork_read filled. */
void up_vwork_clear(struct up_vwork *w);

/* A marked (pending) verifier? */
bool up_vhelper_pending(const char *verifier);
/* The previous verifier a marker carries (NULL: none); `verifier` itself
 * when it is no marker. */
const char *up_vhelper_inner(const char *verifier);

struct up_vhelper;

/*
 * Start the helper (verifier_helper) for this sign-in: double fork, only
 * async-signal-safe calls between fork and execve, no environment, every
 * descriptor closed but the socket on its stdin (stdout and stderr are
 * /dev/null), SIGCHLD at its default while the intermediate child is
 * reaped, so no zombie and no SIGCHLD reach the host. UP_OK with *ret;
 * UP_ENOENT when verifier_helper is empty (derive in the call); another
 * code, logged, when it could not be started (missing, not executable).
 */
up_err up_vhelper_start(struct up_ctx *ctx, struct up_vhelper **ret);
/* The marker "pending$<nonce>$" the record is to be written with. */
const char *up_vhelper_marker(const struct up_vhelper *h);
/* Hand the work over (w->marker must be the helper's). Frees h either way;
 * on failure nothing was handed over and the caller derives itself. */
up_err up_vhelper_send(struct up_ctx *ctx, struct up_vhelper *h, const struct up_vwork *w);
/* Drop a started helper without work (it reads end of file and exits). */
void up_vhelper_free(struct up_vhelper *h);

/* The helper's side: read and parse the work from fd (at most
 * UP_VHELPER_MSG_MAX bytes, the buffer wiped). */
up_err up_vwork_read(int fd, struct up_vwork *w);

/* signin.c: derive the verifier (and re-wrap the held TOTP secret) for the
 * record marked w->marker and write it, if the record still carries the
 * marker. Used by the helper, and by the module when the helper did not
 * take the work. */
up_err up_vwork_finish(struct up_ctx *ctx, const struct up_vwork *w);

#endif
