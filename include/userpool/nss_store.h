/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_NSS_STORE_H
#define USERPOOL_NSS_STORE_H

/* lib/nss_store.c: the NSS files the module provisions. */

#include <userpool/ctx.h>
#include <userpool/jwt.h>

UP_BEGIN_DECLS

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
UP_EXPORT up_err up_nss_user_groups(struct up_ctx *ctx, const char *name, char *const *pool_groups);
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
