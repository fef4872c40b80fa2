/* SPDX-License-Identifier: Apache-2.0 */
#include <userpool/userpool.h>

static const char *const messages[UP_ERR_MAX] = {
    [UP_OK] = "success",
    [UP_ENOMEM] = "out of memory",
    [UP_EINVAL] = "invalid argument",
    [UP_ECONFIG] = "configuration error",
    [UP_ENET] = "user pool unreachable",
    [UP_ETLS] = "TLS certificate verification failed",
    [UP_ESERVER] = "user pool server error",
    [UP_EHTTP] = "unexpected HTTP response",
    [UP_EPROTO] = "malformed response",
    [UP_EDENIED] = "incorrect user name or password",
    [UP_EDISABLED] = "user is disabled",
    [UP_ENOUSER] = "no such user",
    [UP_ECODE] = "verification code rejected",
    [UP_ECODEEXPIRED] = "verification code or session expired",
    [UP_ERESET] = "password reset required",
    [UP_ENOTCONFIRMED] = "user not confirmed",
    [UP_ERATE] = "too many requests",
    [UP_EPOLICY] = "password does not meet the policy",
    [UP_EPARAM] = "invalid parameter",
    [UP_ENOMFA] = "no authenticator enrolled",
    [UP_ECHALLENGE] = "unsupported challenge",
    [UP_ECONV] = "conversation failed",
    [UP_EJWT] = "token rejected",
    [UP_ESIG] = "token signature invalid",
    [UP_EEXPIRED] = "token expired or not yet valid",
    [UP_ENOKEY] = "no key for token",
    [UP_ESTATE] = "state file refused",
    [UP_ENOENT] = "no such entry",
    [UP_ELOCKED] = "offline sign-in locked",
    [UP_EOFFLINE] = "offline sign-in not possible",
    [UP_EGROUP] = "not in an allowed group",
    [UP_ERANGE] = "out of range",
    [UP_ETIMEOUT] = "timed out",
    [UP_EACCESSDENIED] = "access denied",
    [UP_EINTERNAL] = "internal error",
    [UP_ENOTFOUND] = "not found (check client_id, user_pool_id, region and endpoint)",
    [UP_ELAMBDA] = "refused by a Lambda trigger of the user pool",
    [UP_EPOOLCONFIG] = "the user pool or its app client is misconfigured",
    [UP_EFORBIDDEN] = "forbidden by the user pool (AWS WAF or resource policy)",
    [UP_ESKEW] = "the clock of this machine is off",
    [UP_ESUBCHANGED] = "the name is bound to another account (sub changed)",
    [UP_EDELIVERY] = "the user pool could not send the code",
    [UP_ESESSION] = "the sign-in session expired",
};

const char *up_strerror(up_err err)
{
	if ((unsigned)err >= UP_ERR_MAX || !messages[err])
		return "unknown error";
	return messages[err];
}

bool up_err_unreachable(up_err err)
{
	switch (err) {
	case UP_ENET:
	case UP_ESERVER:
		return true;
	case UP_ETLS: /* a certificate or host-name failure is an attack */
	default:
		return false;
	}
}
