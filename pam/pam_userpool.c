/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pam_userpool: adapts PAM to libuserpool (DESIGN §6). Nothing here speaks
 * a protocol or touches crypto; it gets the user and the password, runs the
 * library's sign-in policy through a conversation adapter, and maps the one
 * error enum to PAM codes in one function.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#define PAM_SM_PASSWORD
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include <userpool/userpool.h>

#define PUBLIC __attribute__((visibility("default")))

#define DATA_AUTH "pam_userpool_auth"
#define DATA_IGNORED "pam_userpool_ignored"
static int ignored_mark;
/* Seconds libpam waits after a failed sign-in (a floor: the largest
 * delay asked for by any module in the stack wins). */
#define FAIL_DELAY_USEC 2000000u

/* What the auth phase leaves for the account phase (same process). */
struct auth_data {
	char *username;
	char **groups;
	bool offline;
	bool stepup;
};

static void auth_data_free(pam_handle_t *pamh, void *data, int status)
{
	struct auth_data *d = data;

	(void)pamh;
	(void)status;
	if (!d)
		return;
	free(d->username);
	if (d->groups) {
		for (char **g = d->groups; *g; g++)
			free(*g);
		free(d->groups);
	}
	free(d);
}

static void log_to_syslog(void *ud, int priority, const char *msg)
{
	pam_syslog((pam_handle_t *)ud, priority, "%s", msg);
}

#define CONFIG_WARNED "pam_userpool_config_warned"

static void log_not_warnings(void *ud, int priority, const char *msg)
{
	if (priority != LOG_WARNING)
		pam_syslog((pam_handle_t *)ud, priority, "%s", msg);
}

/* The one mapping from the library's causes to PAM codes. Anything not
 * named here fails closed. */
static int pam_code(up_err r)
{
	switch (r) {
	case UP_OK:
		return PAM_SUCCESS;
	case UP_ENOMEM:
		return PAM_BUF_ERR;
	case UP_ECONV:
		return PAM_CONV_ERR;
	case UP_ENOUSER:
		return PAM_USER_UNKNOWN;
	case UP_ELOCKED:
		return PAM_MAXTRIES;
	case UP_ENET:
	case UP_ESERVER:
	case UP_EHTTP:
	case UP_EPROTO:
	case UP_ERATE:
	case UP_EOFFLINE:
		return PAM_AUTHINFO_UNAVAIL;
	case UP_ECONFIG:
	case UP_EINVAL:
	case UP_EINTERNAL:
	case UP_ESTATE:
	case UP_ENOTFOUND:
	case UP_EPOOLCONFIG:
	case UP_EFORBIDDEN:
		return PAM_SERVICE_ERR;
	case UP_EGROUP:
		return PAM_PERM_DENIED;
	case UP_ETLS: /* certificate / host name: an interception is a denial */
	case UP_EDENIED:
	case UP_EDISABLED:
	case UP_ECODE:
	case UP_ECODEEXPIRED:
	case UP_ERESET:
	case UP_ENOTCONFIRMED:
	case UP_EPOLICY:
	case UP_EPARAM:
	case UP_ENOMFA:
	case UP_ECHALLENGE:
	case UP_EJWT:
	case UP_ESIG:
	case UP_EEXPIRED:
	case UP_ENOKEY:
	case UP_ETIMEOUT:
	case UP_EACCESSDENIED:
	case UP_ENOENT:
	case UP_ERANGE:
	case UP_ELAMBDA:
	case UP_ESKEW:
	case UP_ESESSION:
		return PAM_AUTH_ERR;
	case UP_EDELIVERY: /* the pool answered: no outage, no offline fallback */
		return PAM_AUTHINFO_UNAVAIL;
	case UP_ESUBCHANGED:
		return PAM_PERM_DENIED;
	default:
		return PAM_SERVICE_ERR;
	}
}

/*
 * The part of the context's detail after `marker`, made printable and capped,
 * into buf: the pool's message of a Lambda trigger, the clock offset.
 */
static const char *detail_after(struct up_ctx *ctx, const char *marker, const char *prefix,
				char *buf, size_t len)
{
	const char *d = up_ctx_detail(ctx);
	const char *m = d ? strstr(d, marker) : NULL;
	size_t n;

	if (!m)
		return NULL;
	m += strlen(marker);
	n = (size_t)snprintf(buf, len, "%s%.200s", prefix, m);
	if (n >= len)
		n = len - 1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
	return buf;
}

/* A short message that tells the person what to do, or NULL. */
static const char *user_message(struct up_ctx *ctx, up_err r)
{
	static __thread char buf[256];
	const char *m = up_ctx_user_message(ctx);

	/* The library's own text for this failure comes first. */
	if (m && r != UP_OK)
		return m;
	switch (r) {
	case UP_ELAMBDA:
		/* The trigger's own message is meant for the person (AWS: "the
		 * message is returned to the client"). */
		m = detail_after(ctx, "UserLambdaValidationException: ",
				 "Sign-in refused by the user pool: ", buf, sizeof(buf));
		return m ? m : "Sign-in refused by a check of the user pool";
	case UP_ESKEW:
		m = detail_after(ctx, "the clock of this machine is ",
				 "Sign-in refused: the clock of this machine is ", buf,
				 sizeof(buf));
		return m ? m : "Sign-in refused: the clock of this machine is off";
	case UP_ESUBCHANGED:
		return "This user name belongs to another account on this machine: ask your "
		       "administrator to run userpool user rebind";
	case UP_ENOTFOUND:
	case UP_EPOOLCONFIG:
	case UP_EFORBIDDEN:
		return "The user pool refused this machine's configuration: contact your "
		       "administrator (userpool status)";
	case UP_ECODE:
		return "Verification code rejected";
	case UP_ECODEEXPIRED:
		return "Verification code expired or already used: wait for the next one and try "
		       "again";
	case UP_ENOMFA:
		return "No authenticator enrolled: run userpool-enroll";
	case UP_EDISABLED:
		return "Your account is disabled";
	case UP_ERESET:
		return "Your password must be reset: contact your administrator";
	case UP_ENOTCONFIRMED:
		return "Your account is not confirmed yet";
	case UP_ELOCKED:
		return "Offline sign-in is delayed after too many failures: try again later";
	case UP_ETLS:
		return "The user pool's certificate could not be verified: sign-in refused, "
		       "contact your administrator";
	case UP_ENET:
	case UP_ESERVER:
	case UP_EOFFLINE:
		return "The user pool is unreachable and offline sign-in is not possible";
	case UP_ERATE:
		return "Too many attempts: try again later";
	case UP_EACCESSDENIED:
		return "Sign-in was denied";
	case UP_ETIMEOUT:
		return "Sign-in timed out";
	case UP_ECHALLENGE:
		return "The user pool asks for a sign-in step this machine does not support: "
		       "contact your administrator";
	case UP_ESESSION:
		return "Sign-in took too long: start again";
	case UP_EDELIVERY:
		return "The user pool could not send the code: try again later or contact your "
		       "administrator";
	default:
		return NULL;
	}
}

static up_err conv_prompt(void *ud, const char *text, bool echo, char **ret_answer)
{
	pam_handle_t *pamh = ud;
	char *resp = NULL;
	int rc;

	rc = pam_prompt(pamh, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, &resp, "%s", text);
	if (rc != PAM_SUCCESS || !resp) {
		if (resp) {
			explicit_bzero(resp, strlen(resp));
			free(resp);
		}
		return rc == PAM_BUF_ERR ? UP_ENOMEM : UP_ECONV;
	}
	*ret_answer = resp;
	return UP_OK;
}

/* Text for the person as messages of one pam_conv call, each within
 * PAM_MAX_MSG_SIZE and at most PAM_MAX_NUM_MSG of them (up_conv_split):
 * LightDM drops a longer message and its greeter hangs. */
static int conv_send(pam_handle_t *pamh, int style, const char *text)
{
	const struct pam_message *msgp[UP_CONV_MAX_NUM];
	struct pam_message msg[UP_CONV_MAX_NUM];
	struct pam_response *resp = NULL;
	const struct pam_conv *pc = NULL;
	const void *item = NULL;
	char **parts = NULL;
	size_t n = 0;
	int rc;

	if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || !item)
		return PAM_CONV_ERR;
	pc = item;
	if (!pc->conv)
		return PAM_CONV_ERR;
	if (up_conv_split(text, &parts, &n) != UP_OK)
		return PAM_BUF_ERR;
	for (size_t i = 0; i < n; i++) {
		msg[i].msg_style = style;
		msg[i].msg = parts[i];
		msgp[i] = &msg[i];
	}
	rc = pc->conv((int)n, msgp, &resp, pc->appdata_ptr);
	if (resp) {
		for (size_t i = 0; i < n; i++)
			if (resp[i].resp) {
				explicit_bzero(resp[i].resp, strlen(resp[i].resp));
				free(resp[i].resp);
			}
		free(resp);
	}
	up_conv_split_free(parts, n);
	return rc;
}

static up_err conv_info(void *ud, const char *text)
{
	return conv_send(ud, PAM_TEXT_INFO, text) == PAM_SUCCESS ? UP_OK : UP_ECONV;
}

static up_err conv_error(void *ud, const char *text)
{
	return conv_send(ud, PAM_ERROR_MSG, text) == PAM_SUCCESS ? UP_OK : UP_ECONV;
}

/* qr = auto: no text QR code where a graphical greeter is likely. */
static bool conv_no_qr(pam_handle_t *pamh, const struct up_config *cfg)
{
	const void *service = NULL, *tty = NULL, *xdisplay = NULL;

	(void)pam_get_item(pamh, PAM_SERVICE, &service);
	(void)pam_get_item(pamh, PAM_TTY, &tty);
	(void)pam_get_item(pamh, PAM_XDISPLAY, &xdisplay);
	return !up_qr_draw(up_config_qr(cfg), service, tty, xdisplay,
			   pam_getenv(pamh, "GDM_SUPPORTED_PAM_EXTENSIONS") != NULL);
}

/* Context with the configuration of this stack line; logs through
 * pam_syslog. On failure, returns the PAM code. */
static int setup(pam_handle_t *pamh, int argc, const char **argv, struct up_ctx **ret_ctx)
{
	struct up_ctx *ctx = NULL;
	up_err r;

	r = up_ctx_new(&ctx);
	if (r)
		return pam_code(r);
	/* Configuration warnings (a typo'd key, ...) once per sign-in, not once
	 * per phase (issue 18): the first phase of this handle logs them. */
	{
		const void *seen = NULL;

		up_ctx_set_logger(ctx,
				  pam_get_data(pamh, CONFIG_WARNED, &seen) == PAM_SUCCESS && seen
				      ? log_not_warnings
				      : log_to_syslog,
				  pamh);
	}
	r = up_ctx_load_config(ctx, NULL, argc, (const char *const *)argv, true);
	up_ctx_set_logger(ctx, log_to_syslog, pamh);
	if (!r)
		(void)pam_set_data(pamh, CONFIG_WARNED, (void *)1, NULL);
	if (r) {
		pam_syslog(pamh, LOG_ERR, "configuration refused: %s", up_ctx_detail(ctx));
		up_ctx_free(ctx);
		return PAM_SERVICE_ERR;
	}
	*ret_ctx = ctx;
	return PAM_SUCCESS;
}

/* Who asks for this sign-in: PAM_RUSER's uid (sudo, su set it), else the
 * calling uid. Offline failures are counted per requester. */
static int64_t requester_uid(pam_handle_t *pamh)
{
	const void *item = NULL;
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];

	if (pam_get_item(pamh, PAM_RUSER, &item) == PAM_SUCCESS && item && *(const char *)item &&
	    getpwnam_r(item, &pwbuf, buf, sizeof(buf), &pw) == 0 && pw)
		return (int64_t)pw->pw_uid;
	return (int64_t)getuid();
}

/* The local login name; PAM_IGNORE for ignore_users. */
static int get_login(pam_handle_t *pamh, struct up_ctx *ctx, const char **ret_login)
{
	const char *login = NULL, *why;
	const void *seen = NULL;
	int rc;

	rc = pam_get_user(pamh, &login, NULL);
	if (rc != PAM_SUCCESS)
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	if (!login || !*login)
		return PAM_USER_UNKNOWN;
	/* Said at LOG_INFO once per handle (every phase asks again). */
	if (pam_get_data(pamh, DATA_IGNORED, &seen) != PAM_SUCCESS)
		seen = NULL;
	why = up_user_skip_reason(ctx, login, !seen);
	if (why) {
		if (!seen)
			(void)pam_set_data(pamh, DATA_IGNORED, &ignored_mark, NULL);
		return PAM_IGNORE;
	}
	*ret_login = login;
	return PAM_SUCCESS;
}

static int map_user(pam_handle_t *pamh, struct up_ctx *ctx, const char *login, char **ret_username)
{
	up_err r = up_username_map(ctx, login, ret_username);

	if (r) {
		/* The name goes through the same sanitising logger as the rest. */
		pam_syslog(pamh, LOG_NOTICE, "refusing user name: %s", up_ctx_detail(ctx));
		return r == UP_ENOMEM ? PAM_BUF_ERR : PAM_USER_UNKNOWN;
	}
	return PAM_SUCCESS;
}

/* Context, login name and pool username for one PAM call. On failure
 * nothing is left allocated and the PAM code is returned. */
static int begin(pam_handle_t *pamh, int argc, const char **argv, struct up_ctx **ret_ctx,
		 const char **ret_login, char **ret_username)
{
	struct up_ctx *ctx = NULL;
	int rc;

	rc = setup(pamh, argc, argv, &ctx);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = get_login(pamh, ctx, ret_login);
	if (rc == PAM_SUCCESS)
		rc = map_user(pamh, ctx, *ret_login, ret_username);
	if (rc != PAM_SUCCESS) {
		up_ctx_free(ctx);
		return rc;
	}
	*ret_ctx = ctx;
	return PAM_SUCCESS;
}

static void get_service_tty(pam_handle_t *pamh, const char **service, const char **tty)
{
	const void *item = NULL;

	*service = "";
	*tty = "";
	if (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS && item)
		*service = item;
	item = NULL;
	if (pam_get_item(pamh, PAM_TTY, &item) == PAM_SUCCESS && item)
		*tty = item;
}

static char **copy_groups(char *const *groups)
{
	size_t n = 0;
	char **out;

	while (groups && groups[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(groups[i]);
		if (!out[i]) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static int keep_auth_data(pam_handle_t *pamh, const char *username, char *const *groups,
			  bool offline, bool stepup)
{
	struct auth_data *d = calloc(1, sizeof(*d));

	if (!d)
		return PAM_BUF_ERR;
	d->username = strdup(username);
	d->groups = copy_groups(groups);
	d->offline = offline;
	d->stepup = stepup;
	if (!d->username || !d->groups) {
		auth_data_free(pamh, d, 0);
		return PAM_BUF_ERR;
	}
	if (pam_set_data(pamh, DATA_AUTH, d, auth_data_free) != PAM_SUCCESS) {
		auth_data_free(pamh, d, 0);
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

/* Where this sign-in happens, for the max_auth_age window. */
static void stepup_site(pam_handle_t *pamh, const char *login, const char *username,
			struct up_stepup_site *site)
{
	const void *ruser = NULL;

	if (pam_get_item(pamh, PAM_RUSER, &ruser) != PAM_SUCCESS)
		ruser = NULL;
	site->login = login;
	site->username = username;
	site->ruser = ruser;
	get_service_tty(pamh, &site->service, &site->tty);
}

/* Within max_auth_age of an MFA sign-in of the same person here (the
 * library's rule): PAM_SUCCESS without a prompt. Else PAM_IGNORE: run the
 * flow. */
static int try_stepup(pam_handle_t *pamh, struct up_ctx *ctx, const char *login,
		      const char *username)
{
	struct up_user_record *rec = NULL;
	struct up_stepup_site site;
	int rc;

	stepup_site(pamh, login, username, &site);
	if (up_stepup_try(ctx, &site, &rec) != UP_OK) {
		pam_syslog(pamh, LOG_DEBUG, "no step-up window: %s", up_ctx_detail(ctx));
		return PAM_IGNORE;
	}
	rc = keep_auth_data(pamh, username, up_user_record_groups(rec), false, true);
	up_user_record_free(rec);
	return rc;
}

static const char *get_password(pam_handle_t *pamh, struct up_ctx *ctx, int *ret_rc)
{
	const char *pw = NULL;
	int rc;

	(void)ctx;
	/* pam_get_authtok honours use_first_pass and try_first_pass itself. */
	rc = pam_get_authtok(pamh, PAM_AUTHTOK, &pw, NULL);
	if (rc != PAM_SUCCESS) {
		/* libpam reports a conversation that failed or gave no answer
		 * as PAM_AUTHTOK_ERR, which is not an auth-phase code. */
		*ret_rc = rc == PAM_CONV_AGAIN	  ? PAM_INCOMPLETE
			  : rc == PAM_AUTHTOK_ERR ? PAM_CONV_ERR
						  : rc;
		return NULL;
	}
	if (!pw || !*pw) {
		*ret_rc = PAM_AUTH_ERR;
		return NULL;
	}
	if (strlen(pw) > UP_MAX_PASSWORD) {
		pam_syslog(pamh, LOG_NOTICE, "password longer than %u bytes refused",
			   UP_MAX_PASSWORD);
		*ret_rc = PAM_AUTH_ERR;
		return NULL;
	}
	*ret_rc = PAM_SUCCESS;
	return pw;
}

/*
 * issue 18: a pool user without an NSS entry gets no hint from sshd ("Invalid
 * user"), and sshd then sends a dummy password ("\b\n\r\177INCORRECT") that
 * must never reach the pool. Log what to do; under sshd (service names
 * starting with "sshd") do not contact the pool at all. PAM_IGNORE: go on.
 */
static int unprovisioned(pam_handle_t *pamh, const char *login)
{
	const void *svc = NULL;

	if (pam_modutil_getpwnam(pamh, login))
		return PAM_IGNORE;
	pam_syslog(pamh, LOG_NOTICE, "%s has no NSS entry: run userpool user add %s", login, login);
	if (pam_get_item(pamh, PAM_SERVICE, &svc) == PAM_SUCCESS && svc &&
	    strncmp((const char *)svc, "sshd", 4) == 0)
		return PAM_USER_UNKNOWN;
	return PAM_IGNORE;
}

PUBLIC int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct up_config *cfg;
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL;
	const char *login = NULL, *pw = NULL;
	struct up_stepup_site site;
	char *username = NULL;
	struct up_conv conv;
	up_err r;
	int rc;

	(void)flags;
	pam_fail_delay(pamh, FAIL_DELAY_USEC);
	rc = begin(pamh, argc, argv, &ctx, &login, &username);
	if (rc != PAM_SUCCESS)
		return rc;
	cfg = up_ctx_config(ctx);

	rc = try_stepup(pamh, ctx, login, username);
	if (rc != PAM_IGNORE)
		goto out;
	rc = unprovisioned(pamh, login);
	if (rc != PAM_IGNORE)
		goto out;

	if (up_provider_has(ctx, UP_CAP_PASSWORD)) {
		pw = get_password(pamh, ctx, &rc);
		if (!pw)
			goto out;
	}

	up_conv_init(&conv, ctx, conv_prompt, conv_info, conv_error, pamh);
	conv.no_qr = conv_no_qr(pamh, cfg);

	up_ctx_set_requester(ctx, requester_uid(pamh));
	{
		const void *rhost = NULL;

		(void)pam_get_item(pamh, PAM_RHOST, &rhost);
		up_ctx_set_remote_host(ctx, rhost); /* for send_context */
	}
	r = up_signin(ctx, username, pw, &conv, &auth);
	rc = pam_code(r);
	if (r != UP_OK || !auth || !auth->claims) {
		const char *msg = user_message(ctx, r);
		if (rc == PAM_SUCCESS)
			rc = PAM_AUTH_ERR; /* never success without a verified result */
		pam_syslog(pamh, LOG_NOTICE, "sign-in for %s failed: %s%s%s", username,
			   up_strerror(r), up_ctx_detail(ctx)[0] ? ": " : "", up_ctx_detail(ctx));
		/* Shown even under PAM_SILENT: sudo (before 1.9.16, so Debian
		 * 12's) always passes it, and a person at a sudo prompt must
		 * learn that the code, not the password, was wrong, or that the
		 * pool is down. The text names no secret. */
		if (msg)
			(void)conv_error(pamh, msg);
		goto out;
	}

	rc = keep_auth_data(pamh, username, auth->claims->groups, auth->offline, false);
	if (rc != PAM_SUCCESS)
		goto out;
	stepup_site(pamh, login, username, &site);
	(void)up_stepup_note(ctx, &site, auth); /* a failure is logged; the sign-in stands */
	if (up_signin_provision(ctx, login, auth) != UP_OK) {
		const char *msg = up_ctx_user_message(ctx);

		(void)conv_error(pamh, msg ? msg
					   : "No account on this machine: ask your "
					     "administrator");
		rc = PAM_AUTH_ERR;
		goto out;
	}
	pam_syslog(pamh, LOG_INFO, "%s signed in%s%s (sub %s)", username,
		   auth->offline ? " offline" : "", auth->mfa ? " with a second factor" : "",
		   auth->claims->sub ? auth->claims->sub : "?");
	rc = PAM_SUCCESS;
out:
	up_auth_free(auth);
	free(username);
	up_ctx_free(ctx);
	return rc;
}

PUBLIC int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	/* No credentials beyond the sign-in itself; sshd calls this in another
	 * process, where auth's PAM data does not exist. */
	return PAM_SUCCESS;
}

/* Account-phase codes (pam_acct_mgmt(3)): a user the pool no longer
 * accepts is expired, never "unknown" (stacks ignore that with
 * [user_unknown=ignore]). */
static int acct_code(up_err r)
{
	switch (r) {
	case UP_OK:
		return PAM_SUCCESS;
	case UP_ENOENT:
		return PAM_USER_UNKNOWN;
	case UP_ENOMEM:
		return PAM_BUF_ERR;
	case UP_EDISABLED:
	case UP_ENOUSER:
	case UP_EDENIED:
		return PAM_ACCT_EXPIRED;
	case UP_ECONFIG:
	case UP_EINVAL:
	case UP_EINTERNAL:
	case UP_ESTATE:
	case UP_ENOTFOUND:
	case UP_EPOOLCONFIG:
		return PAM_SERVICE_ERR;
	default:
		return PAM_PERM_DENIED;
	}
}

PUBLIC int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct auth_data *d = NULL;
	struct up_ctx *ctx = NULL;
	const char *login = NULL;
	char *username = NULL;
	char *const *groups = NULL;
	up_err r;
	int rc;

	(void)flags;
	rc = begin(pamh, argc, argv, &ctx, &login, &username);
	if (rc != PAM_SUCCESS)
		return rc;
	/* Auth ran in this handle: its verified groups; else the library
	 * asks the pool through the cached refresh token. */
	if (pam_get_data(pamh, DATA_AUTH, (const void **)&d) == PAM_SUCCESS && d &&
	    strcmp(d->username, username) == 0)
		groups = d->groups;
	r = up_account_check(ctx, username, groups);
	rc = acct_code(r);
	if (r && r != UP_ENOENT)
		pam_syslog(pamh, r == UP_ETLS ? LOG_WARNING : LOG_NOTICE, "account %s refused: %s",
			   username, up_ctx_detail(ctx));
	if (r == UP_EGROUP)
		pam_error(pamh, "You are not allowed to sign in here");
	else if (rc == PAM_ACCT_EXPIRED)
		pam_error(pamh, "Your account is disabled or no longer exists in the user pool");
	else if (r && r != UP_ENOENT && r != UP_ENOMEM)
		pam_error(pamh, "Your account could not be checked with the user pool");
	free(username);
	up_ctx_free(ctx);
	return rc;
}

PUBLIC int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct up_ctx *ctx = NULL;
	const char *login = NULL;
	int rc;

	(void)flags;
	/* Nothing to open; local accounts get PAM_IGNORE as in every phase. */
	rc = setup(pamh, argc, argv, &ctx);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = get_login(pamh, ctx, &login);
	up_ctx_free(ctx);
	return rc;
}

PUBLIC int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct up_ctx *ctx = NULL;
	const char *login = NULL;
	char *username = NULL;
	int rc;

	(void)flags;
	rc = begin(pamh, argc, argv, &ctx, &login, &username);
	if (rc != PAM_SUCCESS)
		return rc;
	/* revoke_on_close: the library revokes and logs */
	rc = up_session_close(ctx, username) ? PAM_SESSION_ERR : PAM_SUCCESS;
	free(username);
	up_ctx_free(ctx);
	return rc;
}

PUBLIC int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct up_config *cfg;
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL;
	const char *login = NULL, *oldpw = NULL, *newpw = NULL;
	char *username = NULL;
	struct up_conv conv;
	up_err r;
	int rc;

	rc = begin(pamh, argc, argv, &ctx, &login, &username);
	if (rc != PAM_SUCCESS)
		return rc;
	cfg = up_ctx_config(ctx);
	if (!up_provider_has(ctx, UP_CAP_CHANGE_PASSWORD)) {
		pam_error(pamh, "Change your password at your identity provider");
		rc = PAM_AUTHTOK_ERR;
		goto out;
	}
	if (flags & PAM_PRELIM_CHECK) {
		rc = PAM_SUCCESS;
		goto out;
	}
	if (!(flags & PAM_UPDATE_AUTHTOK)) {
		rc = PAM_SERVICE_ERR;
		goto out;
	}
	rc = pam_get_authtok(pamh, PAM_OLDAUTHTOK, &oldpw, "Current password: ");
	if (rc != PAM_SUCCESS || !oldpw || !*oldpw) {
		rc = rc == PAM_SUCCESS ? PAM_AUTHTOK_RECOVERY_ERR : rc;
		goto out;
	}
	up_conv_init(&conv, ctx, conv_prompt, conv_info, conv_error, pamh);
	conv.no_qr = conv_no_qr(pamh, cfg);
	/* An access token is needed: sign in online with the old password
	 * (and the code); the cache cannot change a password. */
	r = up_signin_online(ctx, username, oldpw, &conv, &auth);
	if (r) {
		const char *msg = user_message(ctx, r);
		pam_syslog(pamh, LOG_NOTICE, "password change for %s: sign-in failed: %s: %s",
			   username, up_strerror(r), up_ctx_detail(ctx));
		if (msg)
			(void)conv_error(pamh, msg);
		rc = r == UP_EDENIED ? PAM_AUTHTOK_RECOVERY_ERR : pam_code(r);
		if (rc == PAM_SUCCESS || rc == PAM_AUTH_ERR)
			rc = PAM_AUTHTOK_RECOVERY_ERR;
		goto out;
	}
	/* Asks "New password:" and "Retype new password:" and compares. */
	rc = pam_get_authtok(pamh, PAM_AUTHTOK, &newpw, NULL);
	if (rc != PAM_SUCCESS || !newpw || !*newpw) {
		rc = rc == PAM_SUCCESS ? PAM_AUTHTOK_ERR : rc;
		goto out;
	}
	/* the provider's change, then the offline verifier and TOTP secret */
	r = up_password_change(ctx, username, auth, oldpw, newpw);
	if (r) {
		pam_syslog(pamh, LOG_NOTICE, "password change for %s refused: %s: %s", username,
			   up_strerror(r), up_ctx_detail(ctx));
		if (r == UP_EPOLICY)
			(void)conv_error(pamh, up_ctx_detail(ctx)); /* the pool's policy message */
		else if (user_message(ctx, r))
			(void)conv_error(pamh, user_message(ctx, r));
		rc = PAM_AUTHTOK_ERR;
		goto out;
	}
	rc = PAM_SUCCESS;
out:
	up_auth_free(auth);
	free(username);
	up_ctx_free(ctx);
	return rc;
}
