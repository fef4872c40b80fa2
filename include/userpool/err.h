/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_ERR_H
#define USERPOOL_ERR_H

#include <userpool/common.h>

UP_BEGIN_DECLS

/*
 * One error enum for the whole library. The cause is the enum; the detail
 * (HTTP status, the pool's __type and message, the transport's error text) stays on
 * the context: up_ctx_detail().
 */
typedef enum up_err {
	UP_OK = 0,
	UP_ENOMEM,	  /* out of memory */
	UP_EINVAL,	  /* bad argument from the caller */
	UP_ECONFIG,	  /* configuration missing or invalid */
	UP_ENET,	  /* DNS, connect, timeout, connection dropped: unreachable */
	UP_ETLS,	  /* TLS certificate / host-name verification failed: an attack,
			     never unreachable (a broken handshake is UP_ENET) */
	UP_ESERVER,	  /* HTTP 5xx from the pool: unreachable */
	UP_EHTTP,	  /* other unexpected HTTP status (redirect, 404, ...) */
	UP_EPROTO,	  /* malformed or unexpected response */
	UP_EDENIED,	  /* NotAuthorized: wrong user name or password */
	UP_EDISABLED,	  /* the user is disabled in the pool */
	UP_ENOUSER,	  /* the pool has no such user */
	UP_ECODE,	  /* verification code wrong (CodeMismatch, EnableSoftwareTokenMFA) */
	UP_ECODEEXPIRED,  /* code already used or session expired (ExpiredCode) */
	UP_ERESET,	  /* PasswordResetRequired */
	UP_ENOTCONFIRMED, /* UserNotConfirmed */
	UP_ERATE,	  /* TooManyRequests, LimitExceeded */
	UP_EPOLICY,	  /* InvalidPassword: new password violates the pool's policy */
	UP_EPARAM,	  /* InvalidParameter from the pool */
	UP_ENOMFA,	  /* no second factor where one is required / SoftwareTokenMFANotFound */
	UP_ECHALLENGE,	  /* a challenge this code does not answer */
	UP_ECONV,	  /* the conversation with the user failed or was cancelled */
	UP_EJWT,	  /* token malformed or a claim check failed */
	UP_ESIG,	  /* token signature invalid */
	UP_EEXPIRED,	  /* token expired or not yet valid */
	UP_ENOKEY,	  /* no JWKS key for the token's kid */
	UP_ESTATE,	  /* on-disk state refused (owner, mode, type, corrupt) */
	UP_ENOENT,	  /* no such entry (state store, NSS) */
	UP_ELOCKED,	  /* offline sign-in locked after too many failures */
	UP_EOFFLINE,	  /* offline sign-in not possible (disabled, too old, no entry) */
	UP_EGROUP,	  /* not a member of an allowed group */
	UP_ERANGE,	  /* UID range exhausted, or a value out of range */
	UP_ETIMEOUT,	  /* device authorization expired or polling gave up */
	UP_EACCESSDENIED, /* device authorization denied by the user */
	UP_EINTERNAL,	  /* an internal error (OpenSSL setup) */
	UP_ENOTFOUND, /* ResourceNotFound or HTTP 404: wrong client_id, user_pool_id or endpoint */
	UP_ELAMBDA,   /* a Lambda trigger of the pool refused the sign-in (UserLambdaValidation) */
	UP_EPOOLCONFIG, /* InvalidUserPoolConfiguration: the pool or app client is misconfigured */
	UP_EFORBIDDEN,	/* ForbiddenException: AWS WAF or the pool's policy refused the request */
	UP_ESKEW,	/* token issued in the future beyond leeway: the local clock is off */
	UP_ESUBCHANGED, /* the name is bound to another account (issuer + sub): userpool user rebind
			 */
	UP_EDELIVERY,	/* CodeDeliveryFailure: the pool could not send an SMS/email code */
	UP_ESESSION,	/* the pool's sign-in Session expired: start again */
	UP_ERR_MAX
} up_err;

/* Short English description of an error code; never NULL. */
UP_EXPORT const char *up_strerror(up_err err);

/* True for the causes that mean "the pool cannot be reached" (DESIGN §5):
 * DNS/connect/timeout, TLS, HTTP 5xx. Only these may lead to offline sign-in. */
UP_EXPORT bool up_err_unreachable(up_err err);

UP_END_DECLS

#endif
