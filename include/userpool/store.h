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

struct up_stepup {
	char *service;
	char *tty;         /* "" when PAM_TTY is unset */
	int64_t at;        /* time of the MFA sign-in */
};

/* Failed offline attempts of one requesting uid (issue 16). */
struct up_offline_fail {
	int64_t uid;   /* the requester */
	int64_t count; /* failures since its last success / the last online sign-in */
	int64_t at;    /* time of its last failure */
};

/* Requesters remembered per user; the one with the oldest failure is evicted. */
#define UP_MAX_REQUESTERS 16

struct up_user_record {
	char *username;     /* pool username */
	char *issuer;
	char *client_id;
	char *sub;
	char **groups;      /* NULL-terminated */
	char *id_token;     /* the last verified ID token (secret: wiped) */
	char *refresh_token;/* the last one the pool gave (account phase, revoke_on_close); NULL when none */
	char *verifier;     /* offline password verifier; NULL when none */
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
	 * "scrypt2$" or "tpm1$" verifier (tpm1: the KEK needs the TPM too), AAD issuer, sub, username, UP_STORE_VERSION;
	 * NULL when none is held. A malformed one is dropped on read (logged). */
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
 * id: 16 hex characters + NUL), "scrypt2", "scrypt", or NULL when it is
 * malformed. Never uses the TPM. */
UP_EXPORT const char *up_verifier_scheme(const char *verifier, char keyid[17]);

/* The machine's TPM as this configuration uses it (issue 22, `userpool
 * status`). Probes the TPM; never creates a key. */
struct up_tpm_info {
	enum up_tpm_mode mode; /* the `tpm` key */
	const char *tcti;      /* the `tpm_tcti` key (borrowed from the configuration) */
	bool built;	/* this build has TPM support (tpm2-tss) */
	bool reachable; /* the TCTI opens and the TPM answers (owner auth empty) */
	bool used;	/* new offline records are bound to it (`tpm` and reachable) */
	bool loads;	/* the machine key in state_dir/tpm loads in this TPM */
	char keyid[17]; /* the machine key's id ("" when state_dir/tpm has none) */
};
UP_EXPORT up_err up_tpm_info(struct up_ctx *ctx, struct up_tpm_info *ret);

/* Step-up window (max_auth_age, DESIGN §5): record an MFA sign-in of
 * `username` on (service, tty) now; check whether one happened within
 * max_auth_age. `tty` may be "" (PAM_TTY unset). */
UP_EXPORT up_err up_stepup_record(struct up_ctx *ctx, const char *username, const char *service,
				  const char *tty);
UP_EXPORT up_err up_stepup_check(struct up_ctx *ctx, const char *username, const char *service,
				 const char *tty, bool *ret_fresh);

/*
 * The binding of a step-up entry for this process (issue 16): UP_ENOENT
 * (detail: why) when the window must not apply, i.e. unless the service
 * authenticates the invoking user as themselves (`ruser` equals `login`,
 * or the calling uid is the user's) on a controlling terminal; else
 * *ret_key (free()) names PAM_TTY (`tty`, may be NULL), the controlling
 * terminal's device number, the session id and the session leader's start
 * time, to pass as `tty` above (older name-keyed entries never match).
 */
UP_EXPORT up_err up_stepup_binding(struct up_ctx *ctx, const char *login, const char *ruser,
				   const char *tty, char **ret_key);

/* Health of state_dir for `userpool status`: UP_OK or the reason. */
UP_EXPORT up_err up_store_check(struct up_ctx *ctx);
/* How many temp files killed writers left in users/, nss/ and jwks/ (each
 * is removed by the next writer of its file, or by a purge). */
UP_EXPORT up_err up_store_tmp_files(struct up_ctx *ctx, size_t *ret_n);

/* NSS provisioning (DESIGN §7): state_dir/nss/passwd and nss/group. */
UP_EXPORT up_err up_nss_user_add(struct up_ctx *ctx, const char *name, uint32_t *ret_uid);
/* As up_nss_user_add, with the account's issuer + sub: under uid_source = hash
 * the UID is up_nss_hash_uid() of them, and a UID another entry already has
 * is refused (UP_EINVAL, logged with both names), never replaced. */
UP_EXPORT up_err up_nss_user_add_sub(struct up_ctx *ctx, const char *name, const char *issuer,
				     const char *sub, uint32_t *ret_uid);
/* uid_source = hash: first 8 bytes of SHA-256(issuer "\n" sub), big-endian,
 * mod (hi - lo + 1), + lo. */
UP_EXPORT up_err up_nss_hash_uid(const char *issuer, const char *sub, int64_t lo, int64_t hi,
				 int64_t *ret);
/*
 * What places a new entry (issue 24). `uid` >= 0: that explicit UID
 * (userpool user add --uid), whatever uid_source says; else by uid_source:
 * claim takes `uid_text` (the uid_claim of the verified ID token, decimal
 * text), hash takes issuer + sub, sequential the next free UID. The primary
 * GID is `gid` when >= 0, else gid_claim's `gid_text` under claim, else the
 * UID. A UID chosen by claim, hash or hand that another entry or a local
 * account holds is refused (UP_EINVAL), never replaced by another. Set
 * unused fields to NULL / -1.
 */
struct up_nss_ident {
	const char *issuer, *sub;
	const char *uid_text, *gid_text;
	int64_t uid, gid;
};
UP_EXPORT up_err up_nss_user_provision(struct up_ctx *ctx, const char *name,
				       const struct up_nss_ident *id, uint32_t *ret_uid);
/* The sign-in's provisioning: up_nss_user_provision from the verified
 * claims, then up_nss_user_groups with their groups (a failure there is
 * logged; the entry stands). */
struct up_claims;
UP_EXPORT up_err up_nss_provision_claims(struct up_ctx *ctx, const char *name,
					 const struct up_claims *claims, uint32_t *ret_uid);
UP_EXPORT up_err up_nss_user_del(struct up_ctx *ctx, const char *name);
/*
 * userpool user renumber (issue 24): move the entry `name` to `uid`, or
 * with uid < 0 to the UID the current uid_source gives it (hash: of the
 * account the name is bound to; claim: the uid_claim of the ID token
 * cached at its last sign-in, verified again offline; sequential: none,
 * UP_ENOENT). A UID another entry or a local account holds is refused
 * (UP_EINVAL), one outside uid_min..uid_max too (UP_ERANGE). Its private
 * group (GID = old UID) moves with it; other groups and memberships stay.
 * Files are not touched: their ownership is the administrator's job.
 * *ret gets the IDs and the home directory (free ret->home); new_uid ==
 * old_uid when there was nothing to move. Nothing else ever renumbers.
 */
struct up_nss_move {
	int64_t old_uid, old_gid, new_uid, new_gid;
	char *home;
};
UP_EXPORT up_err up_nss_user_renumber(struct up_ctx *ctx, const char *name, int64_t uid,
				      struct up_nss_move *ret);
/*
 * For userpool status: every name a rule refused ("refused": a claim
 * missing or invalid, a hash collision; from nss/report, `detail` says
 * which), and under claim or hash every entry whose UID differs from the
 * rule's ("differs": `uid` now, `want` the rule's) or that the rule cannot
 * place yet ("unknown": no binding, no cached claim; `detail` says why).
 */
struct up_nss_fleet_item {
	char *name, *kind, *detail;
	int64_t uid, want;
};
UP_EXPORT up_err up_nss_fleet_list(struct up_ctx *ctx, struct up_nss_fleet_item **ret_items,
				   size_t *ret_n);
UP_EXPORT void up_nss_fleet_list_free(struct up_nss_fleet_item *items, size_t n);
/* Make `name` a member of exactly the local groups that group_map assigns
 * to `pool_groups` (NULL-terminated: the token's groups), in
 * state_dir/nss/group, with the GIDs of /etc/group; and of exactly those of
 * them that the pool_groups key lists, as NSS groups of their own name
 * whose GIDs come from gid_source (a refused GID is logged and reported,
 * the other groups still apply). No-op when both keys are empty. */
UP_EXPORT up_err up_nss_user_groups(struct up_ctx *ctx, const char *name,
				    char *const *pool_groups);
/* Bind `name` to the account issuer + sub on its first sign-in, or check
 * the binding: UP_ESUBCHANGED when another account holds the name (the
 * binding outlives a purge of the record; see up_nss_user_unbind). */
UP_EXPORT up_err up_nss_user_bind(struct up_ctx *ctx, const char *name, const char *issuer,
				  const char *sub);
/* Remove the binding (userpool user del / rebind). */
UP_EXPORT up_err up_nss_user_unbind(struct up_ctx *ctx, const char *name);
/* Whether a change of nss/passwd + nss/group was cut short after its
 * journal was committed (the next NSS change completes it). */
UP_EXPORT up_err up_nss_journal_pending(struct up_ctx *ctx, bool *ret_pending);
/* Valid local name for an NSS entry (no ':', newline, '/', leading '-' or '.', cap). */
UP_EXPORT bool up_nss_name_valid(const char *name);

UP_END_DECLS

#endif
