/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_CONFIG_H
#define USERPOOL_CONFIG_H

#include <userpool/common.h>
#include <userpool/err.h>

UP_BEGIN_DECLS

#define UP_DEFAULT_CONFIG "/etc/userpool/userpool.conf"

enum up_provider { UP_PROVIDER_COGNITO = 0, UP_PROVIDER_OIDC };
/* Cognito: srp, password, custom (CUSTOM_AUTH, SRP first), user_auth (USER_AUTH
 * answered with PASSWORD_SRP); OIDC: password, device */
enum up_auth_flow {
	UP_FLOW_SRP = 0,
	UP_FLOW_PASSWORD,
	UP_FLOW_DEVICE,
	UP_FLOW_CUSTOM,
	UP_FLOW_USER_AUTH
};
enum up_otp_mode { UP_OTP_PROMPT = 0, UP_OTP_APPEND };
enum up_client_auth { UP_CLIENT_AUTH_BASIC = 0, UP_CLIENT_AUTH_POST };
/* qr = auto (terminals only) | text (always) | off (never draw a text QR code) */
enum up_qr_mode { UP_QR_AUTO = 0, UP_QR_TEXT, UP_QR_OFF };
/* uid_source = sequential (per machine) | claim (uid_claim of the ID token) | hash (of
 * issuer + sub); claim and hash give the same UID on every machine */
enum up_uid_source { UP_UID_SEQUENTIAL = 0, UP_UID_HASH, UP_UID_CLAIM };
/* gid_source = sequential | hash (of the group name): GIDs of the pool_groups */
enum up_gid_source { UP_GID_SEQUENTIAL = 0, UP_GID_HASH };
/* tpm = auto (when the TPM answers) | yes (required) | no */
enum up_tpm_mode { UP_TPM_AUTO = 0, UP_TPM_YES, UP_TPM_NO };
/* Cognito second factors (mfa_methods); UP_MFA_NONE ends a list. */
enum up_mfa_method {
	UP_MFA_NONE = 0,
	UP_MFA_TOTP,
	UP_MFA_EMAIL,
	UP_MFA_SMS,
	UP_MFA_MAX = UP_MFA_SMS
};

/*
 * The parsed configuration (DESIGN §2): opaque, owned by the context
 * (up_ctx_config), read-only for callers through the accessors below. Each
 * accessor takes NULL (no configuration loaded) and then returns the zero
 * value: 0, false, NULL, the first enumerator.
 */
struct up_config;
struct up_ctx;

UP_EXPORT enum up_auth_flow up_config_auth_flow(const struct up_config *cfg);
/* the issuer the ID token must name (derived for Cognito) */
UP_EXPORT const char *up_config_issuer(const struct up_config *cfg);
/* offline sign-in and enrolment allowed (offline = yes) */
UP_EXPORT bool up_config_offline(const struct up_config *cfg);
/* echo verification codes while typed (echo_code) */
UP_EXPORT bool up_config_echo_code(const struct up_config *cfg);
UP_EXPORT enum up_qr_mode up_config_qr(const struct up_config *cfg);
/* issuer label of otpauth:// URIs (totp_issuer) */
UP_EXPORT const char *up_config_totp_issuer(const struct up_config *cfg);
/* step-up window in seconds; 0: off (max_auth_age) */
UP_EXPORT int64_t up_config_max_auth_age(const struct up_config *cfg);
/* allowed clock skew in seconds (leeway) */
UP_EXPORT int64_t up_config_leeway(const struct up_config *cfg);
UP_EXPORT bool up_config_revoke_on_close(const struct up_config *cfg);
UP_EXPORT enum up_uid_source up_config_uid_source(const struct up_config *cfg);
UP_EXPORT enum up_gid_source up_config_gid_source(const struct up_config *cfg);
/* the ID-token claim of uid_source = claim (uid_claim) */
UP_EXPORT const char *up_config_uid_claim(const struct up_config *cfg);
UP_EXPORT const char *up_config_state_dir(const struct up_config *cfg);

/*
 * Load the configuration: `path` (NULL: UP_DEFAULT_CONFIG, or `config=` in
 * argv), then the PAM-style arguments `argv` (key=value, config=PATH, debug,
 * use_first_pass, try_first_pass). `check_owner` demands a root-owned file
 * that is not writable by others (the PAM and NSS modules pass true; the
 * tools pass true unless a test build overrides it). A file that holds
 * client_secret must be root-owned and not readable by others. ("Root":
 * the owner up_ctx_set_state_owner names, root unless a test says so.)
 * On failure the context keeps its previous configuration.
 */
UP_EXPORT up_err up_ctx_load_config(struct up_ctx *ctx, const char *path, int argc,
				    const char *const *argv, bool check_owner);

/* Every problem in the configuration, one per line, for `userpool status`
 * (the loader stops at the first hard error; this lists them all).
 * Returns a malloc'd string ("" when clean) or NULL on ENOMEM. */
UP_EXPORT char *up_config_check(struct up_ctx *ctx, const char *path, bool check_owner);

/* Map a local login name to the pool username with username_format. */
UP_EXPORT up_err up_username_map(struct up_ctx *ctx, const char *login, char **ret_username);

/*
 * Why the module must not handle `login` (PAM_IGNORE, before any prompt), or
 * NULL when the pool may sign it in: one of ignore_users, or a local account
 * (a name in the files database /etc/passwd, or one that resolves to a uid
 * outside uid_min..uid_max) not listed in pool_local_users. A reason is
 * logged at LOG_INFO when `announce`, else at LOG_DEBUG.
 */
UP_EXPORT const char *up_user_skip_reason(struct up_ctx *ctx, const char *login, bool announce);

/* True when up_user_skip_reason() gives a reason (logged at debug). */
UP_EXPORT bool up_user_ignored(struct up_ctx *ctx, const char *login);

UP_END_DECLS

#endif
