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

/* A record's step-up windows and per-requester offline failure counts:
 * opaque (lib/store_def.h); the adapters read only the record's sums. */
struct up_stepup;
struct up_offline_fail;

/* Requesters remembered per user; the one with the oldest failure is evicted. */
#define UP_MAX_REQUESTERS 16

struct up_user_record {
	char *username; /* pool username */
	char *issuer;
	char *client_id;
	char *sub;
	char **groups;	     /* NULL-terminated */
	char *id_token;	     /* the last verified ID token (secret: wiped) */
	char *refresh_token; /* the last one the pool gave (account phase, revoke_on_close); NULL
				when none */
	char *verifier;	     /* offline password verifier; NULL when none */
	bool mfa;
	enum up_mfa_method mfa_method; /* the factor of the last online sign-in
					  ("mfa_method": totp, sms, email; absent:
					  UP_MFA_NONE, older records: TOTP) */
	int64_t last_online;
	int64_t failures; /* failed offline attempts since last online sign-in
			     (all requesters; the sum of `fails`) */
	struct up_stepup *stepups;
	size_t n_stepups;
	struct up_offline_fail *fails; /* per requester; records without it load empty */
	size_t n_fails;
	/* Offline second factor (issue 16 item 5c): the TOTP secret wrapped
	 * (AES-256-GCM, "gcm1$nonce$ciphertext$tag") under the KEK of the
	 * "scrypt2$" or "tpm1$" verifier (tpm1: the KEK needs the TPM too), AAD issuer, sub,
	 * username, UP_STORE_VERSION; NULL when none is held. A malformed one is dropped on read
	 * (logged). */
	char *mfa_secret;
	/* The last TOTP time step accepted offline (0: none): no code of this
	 * or an older step is accepted again. */
	int64_t mfa_step;
};

UP_EXPORT void up_user_record_free(struct up_user_record *rec);

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
