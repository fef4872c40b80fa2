/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_COGNITO_H
#define USERPOOL_COGNITO_H

#include <userpool/signin.h>

UP_BEGIN_DECLS

/* The Cognito user-pool API (DESIGN §3). Every call uses the context's
 * configuration; tokens passed in are not copied and not freed. */

/* InitiateAuth (USER_SRP_AUTH or USER_PASSWORD_AUTH per auth_flow) and the
 * challenge loop; the ID token is verified before success is returned. */
UP_EXPORT up_err up_cognito_signin(struct up_ctx *ctx, const char *username, const char *password,
				   const struct up_conv *conv, struct up_auth **ret_auth);

/*
 * userpool status: a sign-in for a random name that cannot exist, with a
 * random password, through the configured flow. UP_OK when the pool answered
 * with a user-level refusal (UserNotFound, NotAuthorized): the client id, pool
 * and flow work. Otherwise the cause (UP_ENOTFOUND for a wrong client_id,
 * UP_EPARAM for a flow the client does not allow, ...). *ret_skew is the
 * pool's Date header minus the local clock (seconds) and *ret_have_date
 * whether the pool sent one.
 */
UP_EXPORT up_err up_cognito_probe(struct up_ctx *ctx, int64_t *ret_skew, bool *ret_have_date);

/* REFRESH_TOKEN_AUTH; the new ID token is verified. */
UP_EXPORT up_err up_cognito_refresh(struct up_ctx *ctx, const char *username,
				    const char *refresh_token, struct up_auth **ret_auth);

/* GetUser's answer: opaque (its fields are private to the library), read
 * with the accessors below; NULL gives NULL. */
struct up_cognito_user;
UP_EXPORT up_err up_cognito_get_user(struct up_ctx *ctx, const char *access_token,
				     struct up_cognito_user **ret_user);
UP_EXPORT void up_cognito_user_free(struct up_cognito_user *user);
/* the pool username */
UP_EXPORT const char *up_cognito_user_name(const struct up_cognito_user *user);
/* "SOFTWARE_TOKEN_MFA", ... or NULL when none is preferred */
UP_EXPORT const char *up_cognito_user_preferred_mfa(const struct up_cognito_user *user);
/* the enabled second factors, NULL-terminated (empty when none) */
UP_EXPORT char *const *up_cognito_user_mfa_settings(const struct up_cognito_user *user);
/* the value of the attribute `name` ("sub", "email", "custom:..."), NULL when
 * the user has none */
UP_EXPORT const char *up_cognito_user_attr(const struct up_cognito_user *user, const char *name);

/* AssociateSoftwareToken with an access token; *ret_secret is base32 (wipe it). */
UP_EXPORT up_err up_cognito_associate_token(struct up_ctx *ctx, const char *access_token,
					    char **ret_secret);
UP_EXPORT up_err up_cognito_verify_token(struct up_ctx *ctx, const char *access_token,
					 const char *code, const char *device_name);
/*
 * userpool-enroll's enrolment, the same routine as the MFA_SETUP answer of a
 * sign-in: AssociateSoftwareToken with the access token; the enrolment shown
 * through `conv` (its enroll() hook, else the library's text through info());
 * the code asked through conv->prompt() and checked with VerifySoftwareToken
 * naming `device_name` (NULL or "" for none), three tries in all, each wrong
 * one said through conv->error(). On success *ret_secret (base32) and, when
 * ret_code is not NULL, *ret_code (the accepted code) are the caller's to wipe
 * and free; on failure neither is touched.
 */
UP_EXPORT up_err up_cognito_enroll(struct up_ctx *ctx, const char *access_token,
				   const char *username, const char *device_name,
				   const struct up_conv *conv, char **ret_secret, char **ret_code);
UP_EXPORT up_err up_cognito_set_mfa_preference(struct up_ctx *ctx, const char *access_token,
					       bool enabled, bool preferred);
UP_EXPORT up_err up_cognito_change_password(struct up_ctx *ctx, const char *access_token,
					    const char *old_password, const char *new_password);
UP_EXPORT up_err up_cognito_revoke(struct up_ctx *ctx, const char *refresh_token);
UP_EXPORT up_err up_cognito_global_signout(struct up_ctx *ctx, const char *access_token);

UP_END_DECLS

#endif
