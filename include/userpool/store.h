/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_STORE_H
#define USERPOOL_STORE_H

#include <userpool/ctx.h>

UP_BEGIN_DECLS

/*
 * The on-disk state store (DESIGN §4): state_dir, root-owned 0700; one file
 * per user at users/<sha256-hex(issuer "\n" username)>.json. Reads are
 * checked (O_NOFOLLOW, fstat: regular, root-owned, not group/world
 * writable, size cap); writes are atomic; read-modify-write holds flock.
 */

#define UP_STORE_VERSION 1

/* The per-user record: opaque (its fields are in lib/store_def.h). The
 * adapters read it through the accessors below, each NULL-safe (a NULL
 * record reads as NULL, false or 0). The secrets it holds (the verifier, the
 * refresh and ID tokens, the wrapped TOTP secret) are not handed out: only
 * whether one is held, and the verifier's scheme. */
struct up_user_record;

/* Requesters remembered per user; the one with the oldest failure is evicted. */
#define UP_MAX_REQUESTERS 16

UP_EXPORT void up_user_record_free(struct up_user_record *rec);

/* The pool username, the subject ("sub"), the groups (NULL-terminated). */
UP_EXPORT const char *up_user_record_username(const struct up_user_record *rec);
UP_EXPORT const char *up_user_record_sub(const struct up_user_record *rec);
UP_EXPORT char *const *up_user_record_groups(const struct up_user_record *rec);
/* The last online sign-in used a second factor. */
UP_EXPORT bool up_user_record_mfa(const struct up_user_record *rec);
/* Time of the last online sign-in (0: none). */
UP_EXPORT int64_t up_user_record_last_online(const struct up_user_record *rec);
/* Failed offline attempts since the last online sign-in, all requesters. */
UP_EXPORT int64_t up_user_record_failures(const struct up_user_record *rec);
/* An offline verifier is stored (it may still be "pending"). */
UP_EXPORT bool up_user_record_has_verifier(const struct up_user_record *rec);
/* up_verifier_scheme() of the stored verifier: NULL when there is none or
 * it is malformed; keyid (may be NULL) as there, "" unless tpm1. */
UP_EXPORT const char *up_user_record_verifier_scheme(const struct up_user_record *rec,
						     char keyid[17]);
/* A refresh token is kept (account phase, revoke_on_close). */
UP_EXPORT bool up_user_record_has_refresh_token(const struct up_user_record *rec);
/* A wrapped TOTP secret is held for the offline second factor. */
UP_EXPORT bool up_user_record_has_mfa_secret(const struct up_user_record *rec);

/* UP_ENOENT when there is no (valid) entry: corrupt, truncated, wrong
 * version and refused files are logged and reported as absent. */
UP_EXPORT up_err up_store_user_read(struct up_ctx *ctx, const char *username,
				    struct up_user_record **ret_rec);
UP_EXPORT up_err up_store_user_write(struct up_ctx *ctx, const struct up_user_record *rec);
/* Read-modify-write under flock: `fn` gets the current record (NULL when
 * absent) and returns the record to write through *ret_new (or NULL to leave
 * the file alone). */
typedef up_err (*up_store_update_fn)(void *ud, const struct up_user_record *cur,
				     struct up_user_record **ret_new);
UP_EXPORT up_err up_store_user_update(struct up_ctx *ctx, const char *username,
				      up_store_update_fn fn, void *ud);
UP_EXPORT up_err up_store_user_purge(struct up_ctx *ctx, const char *username);
/* All records (for `userpool cache list`), NULL-terminated array. */
UP_EXPORT up_err up_store_user_list(struct up_ctx *ctx, struct up_user_record ***ret_recs);
UP_EXPORT void up_store_user_list_free(struct up_user_record **recs);

/* Offline password verifier: "tpm1$<key id>$<N>$<r>$<p>$<salt b64>$<HKDF
 * verifier key b64>" (written when the machine's TPM is used, `tpm`: the
 * scrypt output goes through an HMAC inside the TPM), else
 * "scrypt2$<N>$<r>$<p>$<salt b64>$<HKDF verifier key b64>", or the older
 * "scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>" (still checked; replaced at the
 * next online sign-in). A tpm1 verifier whose TPM key is gone checks as
 * UP_ENOKEY, never against anything weaker. */
UP_EXPORT up_err up_verifier_new(struct up_ctx *ctx, const char *password, char **ret_verifier);
/* UP_OK on a match, UP_EDENIED on a mismatch, other codes on a bad verifier. */
UP_EXPORT up_err up_verifier_check(struct up_ctx *ctx, const char *verifier, const char *password);
/* The scheme of a verifier: "tpm1" (keyid, may be NULL, gets its TPM key
 * id: 16 hex characters + NUL), "scrypt2", "scrypt", "pending" (the
 * verifier helper has not written it yet: no offline sign-in matches it),
 * or NULL when it is malformed. Never uses the TPM. */
UP_EXPORT const char *up_verifier_scheme(const char *verifier, char keyid[17]);

/* Health of state_dir for `userpool status`: UP_OK or the reason. */
UP_EXPORT up_err up_store_check(struct up_ctx *ctx);
/* How many temp files killed writers left in users/, nss/ and jwks/ (each
 * is removed by the next writer of its file, or by a purge). */
UP_EXPORT up_err up_store_tmp_files(struct up_ctx *ctx, size_t *ret_n);

UP_END_DECLS

#endif
