/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_SIGNIN_H
#define USERPOOL_SIGNIN_H

#include <userpool/conv.h>
#include <userpool/ctx.h>
#include <userpool/jwt.h>

UP_BEGIN_DECLS

#define UP_PROMPT_CODE "Verification code: "
#define UP_PROMPT_SMS_CODE "SMS code: "
#define UP_PROMPT_EMAIL_CODE "Email code: "
/* auth_flow = custom, when the challenge names no prompt text */
#define UP_PROMPT_ANSWER "Answer: "
#define UP_PROMPT_NEW_PASSWORD "New password: "
#define UP_PROMPT_RETYPE_PASSWORD "Retype new password: "

/* The outcome of a successful sign-in. Tokens are secrets: up_auth_free()
 * wipes them. */
struct up_auth {
	struct up_claims *claims; /* the verified ID token's claims */
	char *id_token;
	char *access_token;	       /* NULL for an offline sign-in */
	char *refresh_token;	       /* NULL when the pool sent none */
	char *new_password;	       /* the password chosen at NEW_PASSWORD_REQUIRED
					  during this sign-in (it replaces the one
					  given); NULL otherwise */
	bool mfa;		       /* a second factor was used */
	bool offline;		       /* signed in from the cache */
	enum up_mfa_method mfa_method; /* which one (UP_MFA_NONE without) */
	/* Offline second factor (issue 16 item 5c), secrets both, wiped by
	 * up_auth_free and dropped by up_signin once the record is written:
	 * the TOTP secret (base32) set up at MFA_SETUP in this sign-in, and
	 * the TOTP code the pool accepted in it; NULL otherwise. */
	char *totp_secret;
	char *totp_code;
};
UP_EXPORT void up_auth_free(struct up_auth *auth);

/*
 * Sign in `username` (the pool username, after username_format) with the
 * configured provider and flow, answering challenges through `conv`. Only a
 * verified ID token is a success. No cache is read or written.
 * `password` may be NULL for the OIDC device flow.
 */
UP_EXPORT up_err up_signin_online(struct up_ctx *ctx, const char *username, const char *password,
				  const struct up_conv *conv, struct up_auth **ret_auth);

/*
 * The whole policy of DESIGN §5: online sign-in; on success the state store
 * is updated (token, sub, groups, mfa, last_online, offline verifier); when
 * the pool is unreachable and `offline = yes`, sign-in from the cache; a
 * definitive refusal purges the entry when the user is disabled or gone;
 * `mfa = required` refuses a sign-in without a second factor (UP_ENOMFA).
 */
UP_EXPORT up_err up_signin(struct up_ctx *ctx, const char *username, const char *password,
			   const struct up_conv *conv, struct up_auth **ret_auth);

/*
 * The account phase (DESIGN §6). `signin_groups` (NULL-terminated) are the
 * verified groups of a sign-in made in this PAM handle; then only
 * allow_groups is checked. With NULL (auth did not run here: sshd public
 * key, another module) the pool is asked through the cached refresh token
 * (REFRESH_TOKEN_AUTH / the OIDC refresh grant; the new ID token verified
 * in full, the record's groups, ID token and last_online updated under the
 * user's lock) and the fresh groups are checked. A definitive no
 * (disabled, deleted, revoked: UP_EDISABLED, UP_ENOUSER, UP_EDENIED)
 * purges the record; UP_ETLS is refused, never "unreachable"; an
 * unreachable pool leaves the cached record, within offline_max_age of
 * last_online (and only with offline = yes); a record without a refresh
 * token must be younger than account_max_age (else UP_EOFFLINE).
 * UP_EGROUP: in none of allow_groups. UP_ENOENT: no record of the user.
 */
UP_EXPORT up_err up_account_check(struct up_ctx *ctx, const char *username,
				  char *const *signin_groups);

struct up_user_record; /* <userpool/store.h> */

/* Where a sign-in happens, for the max_auth_age window (DESIGN §5). */
struct up_stepup_site {
	const char *login;    /* the local name */
	const char *username; /* the pool username */
	const char *service;  /* PAM_SERVICE */
	const char *ruser;    /* PAM_RUSER, or NULL */
	const char *tty;      /* PAM_TTY, or NULL */
};

/*
 * The step-up window: UP_OK and the user's record (*ret_rec, for its
 * groups) when the same person signed in with a second factor to the same
 * service in the same terminal session within max_auth_age (bound as sudo
 * binds its timestamps: see up_stepup_binding); then no prompt is needed.
 * UP_ENOENT (the reason in up_ctx_detail) when the window does not apply:
 * max_auth_age 0, no terminal, login or su to another user, no fresh MFA
 * sign-in here. Anything else is an error; the caller runs the full flow.
 */
UP_EXPORT up_err up_stepup_try(struct up_ctx *ctx, const struct up_stepup_site *site,
			       struct up_user_record **ret_rec);

/*
 * After a sign-in: open the window for this site when the sign-in used a
 * second factor and the window applies here. UP_OK also when it does not
 * apply; the store's error (logged) when the time could not be recorded.
 */
UP_EXPORT up_err up_stepup_note(struct up_ctx *ctx, const struct up_stepup_site *site,
				const struct up_auth *auth);

/*
 * After a sign-in: provision `login` in the NSS files from the verified
 * claims of `auth` (uid_source, group_map, pool_groups; see
 * up_nss_provision_claims). UP_OK when the entry is there, or when
 * uid_source = sequential and the name resolves otherwise; the refusal
 * (with a message for the person in up_ctx_user_message) when claim or hash
 * could not place the user: the sign-in must then fail.
 */
UP_EXPORT up_err up_signin_provision(struct up_ctx *ctx, const char *login,
				     const struct up_auth *auth);

/*
 * The PAM session's close: with revoke_on_close, the refresh token cached
 * for `username` is revoked at the pool (RevokeToken / RFC 7009) and dropped
 * from the record. UP_OK when there is nothing to revoke or the option is
 * off; the pool's error when it refused or could not be reached (the token
 * is then kept, so the account phase can still ask the pool).
 */
UP_EXPORT up_err up_session_close(struct up_ctx *ctx, const char *username);

/*
 * Change the password of `username` at the provider (Cognito
 * ChangePassword with the access token of `auth`, a sign-in just made with
 * the old password), then update the offline state as up_password_changed
 * does (a failure there is logged; the change stands). UP_ECONFIG when the
 * provider changes passwords elsewhere (!up_provider_has(ctx,
 * UP_CAP_CHANGE_PASSWORD)); UP_EPOLICY with the pool's message in
 * up_ctx_detail; the pool's other refusals.
 */
UP_EXPORT up_err up_password_change(struct up_ctx *ctx, const char *username,
				    const struct up_auth *auth, const char *old_password,
				    const char *new_password);

/*
 * After the pool accepted a password change of `username`: the cached
 * record's offline verifier follows the new password (else the old one
 * would keep working offline), the TOTP secret held for offline sign-in is
 * re-wrapped under the new password's key (opened with the old one's; when
 * it does not open it is dropped, logged), and the offline failure counts
 * and step-up windows start afresh. UP_OK when nothing is cached. On a
 * derivation failure the record is left without a verifier.
 */
UP_EXPORT up_err up_password_changed(struct up_ctx *ctx, const char *username,
				     const char *old_password, const char *new_password);

/*
 * userpool-enroll run as root: keep the TOTP secret (base32) it just set
 * up for `username` for offline sign-in, as an MFA_SETUP inside a sign-in
 * through the module does. `auth` is the online sign-in made with
 * `password` (its ID token verified; the name's binding to issuer + sub is
 * checked or made); `code` is the code VerifySoftwareToken accepted, which
 * must fit `secret_b32`. The record is refreshed as after an online TOTP
 * sign-in, with the secret wrapped under the password's key. UP_ESTATE when
 * the secret could not be kept (logged), UP_ECONFIG with offline = no.
 */
UP_EXPORT up_err up_enroll_keep(struct up_ctx *ctx, const char *username, const char *password,
				struct up_auth *auth, const char *secret_b32, const char *code);

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

UP_END_DECLS

#endif
