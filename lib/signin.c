/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <string.h>

#include <userpool/cognito.h>
#include <userpool/oidc.h>

#include <userpool/otpauth.h>

#include "ctx.h"
#include "jwt.h"
#include "log.h"
#include "mfa_local.h"
#include "provider.h"
#include "secret.h"
#include "signin.h"
#include "store_int.h"
#include "tpm.h"
#include "vhelper.h"
#include "vjob.h"

/*
 * The sign-in policy (DESIGN §5): online first; the cache only when the
 * pool cannot be reached; a definitive answer from the pool always wins.
 */

#define MSG_OFFLINE "Signed in offline \xe2\x80\x94 the user pool is unreachable"
#define MSG_NO_MFA "No authenticator enrolled: run userpool-enroll"
#define MSG_NO_MFA_OIDC                                                                            \
	"The identity provider did not ask for a second factor; ask its administrator to "         \
	"require one"
/* Step-up entries kept per user (store.c accepts up to 64). */
#define MAX_STEPUPS 32u

/* The outcome of a sign-in (struct up_auth, <userpool/signin.h>), wiped. */
void up_auth_free(struct up_auth *auth)
{
	if (!auth)
		return;
	up_claims_free(auth->claims);
	up_free_secret(auth->id_token);
	up_free_secret(auth->access_token);
	up_free_secret(auth->refresh_token);
	up_free_secret(auth->new_password);
	up_free_secret(auth->totp_secret);
	up_free_secret(auth->totp_code);
	up_wipe(auth, sizeof(*auth));
	free(auth);
}

up_err up_signin_online(struct up_ctx *ctx, const char *username, const char *password,
			const struct up_conv *conv, struct up_auth **ret_auth)
{
	if (!ctx || !username || !ret_auth)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	return up_provider(ctx)->signin(ctx, username, password, conv, ret_auth);
}

/* up_fail() with the current detail appended: the detail is copied first,
 * since up_fail() formats into the very buffer it would be read from. */
static up_err fail_because(struct up_ctx *ctx, up_err err, const char *what)
{
	char why[sizeof(ctx->detail)];

	snprintf(why, sizeof(why), "%s", ctx->detail);
	return up_fail(ctx, err, "%s: %s", what, why);
}

/* ---------------------------------------------------------------------- */
/* record helpers */

static up_err stepups_dup(const struct up_stepup *src, size_t n, struct up_stepup **ret,
			  size_t *ret_n)
{
	struct up_stepup *s = calloc(n + 1, sizeof(*s));

	if (!s)
		return UP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		s[i].service = strdup(src[i].service);
		s[i].tty = strdup(src[i].tty);
		s[i].at = src[i].at;
		if (!s[i].service || !s[i].tty) {
			for (size_t k = 0; k <= i; k++) {
				free(s[k].service);
				free(s[k].tty);
			}
			free(s);
			return UP_ENOMEM;
		}
	}
	*ret = s;
	*ret_n = n;
	return UP_OK;
}

static up_err record_dup(const struct up_user_record *cur, struct up_user_record **ret)
{
	struct up_user_record *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return UP_ENOMEM;
	rec->username = up_strdup(cur->username);
	rec->issuer = up_strdup(cur->issuer);
	rec->client_id = up_strdup(cur->client_id);
	rec->sub = up_strdup(cur->sub);
	rec->groups = up_strv_dup(cur->groups);
	rec->id_token = up_strdup(cur->id_token);
	rec->refresh_token = up_strdup(cur->refresh_token);
	rec->verifier = up_strdup(cur->verifier);
	rec->mfa = cur->mfa;
	rec->mfa_method = cur->mfa_method;
	rec->last_online = cur->last_online;
	rec->failures = cur->failures;
	rec->mfa_secret = up_strdup(cur->mfa_secret);
	rec->mfa_step = cur->mfa_step;
	if (cur->n_fails) {
		rec->fails = calloc(cur->n_fails, sizeof(*rec->fails));
		if (rec->fails) {
			memcpy(rec->fails, cur->fails, cur->n_fails * sizeof(*rec->fails));
			rec->n_fails = cur->n_fails;
		}
	}
	if ((cur->n_fails && !rec->fails) || !rec->username || !rec->issuer || !rec->client_id ||
	    !rec->sub || !rec->groups || !rec->id_token ||
	    (cur->refresh_token && !rec->refresh_token) || (cur->verifier && !rec->verifier) ||
	    (cur->mfa_secret && !rec->mfa_secret) ||
	    stepups_dup(cur->stepups, cur->n_stepups, &rec->stepups, &rec->n_stepups)) {
		up_user_record_free(rec);
		return UP_ENOMEM;
	}
	*ret = rec;
	return UP_OK;
}

static void stepups_free_all(struct up_user_record *rec)
{
	for (size_t i = 0; i < rec->n_stepups; i++) {
		free(rec->stepups[i].service);
		free(rec->stepups[i].tty);
	}
	free(rec->stepups);
	rec->stepups = NULL;
	rec->n_stepups = 0;
}

/* ---------------------------------------------------------------------- */
/* online success: refresh the entry */

struct online_ud {
	struct up_ctx *ctx;
	const char *username;
	const struct up_auth *auth;
	char *verifier;	    /* moved into the record */
	char *mfa_secret;   /* the wrapped TOTP secret that goes with it (moved) */
	int64_t mfa_step;   /* the step of the code the pool accepted (0: none) */
	const char *marker; /* the verifier helper's: the record is written marked */
};

/* Say when an online sign-in changes how the offline record is bound to
 * the TPM (issue 22): bound now, re-bound to a new machine key, unbound. */
static void log_binding(struct up_ctx *ctx, const char *username, const char *old_v,
			const char *new_v)
{
	char old_id[UP_TPM_KEYID_LEN + 1], new_id[UP_TPM_KEYID_LEN + 1];
	const char *os = old_v ? up_verifier_scheme(old_v, old_id) : NULL;
	const char *ns = new_v ? up_verifier_scheme(new_v, new_id) : NULL;

	if (!ns || (os && strcmp(old_id, new_id) == 0))
		return;
	if (new_id[0] && os && old_id[0])
		up_log(ctx, LOG_NOTICE,
		       "%s: offline record re-bound to the TPM's machine key %s (was %s)", username,
		       new_id, old_id);
	else if (new_id[0])
		up_log(ctx, LOG_NOTICE, "%s: offline record bound to the TPM (machine key %s)",
		       username, new_id);
	else if (os && old_id[0])
		up_log(ctx, LOG_NOTICE, "%s: offline record no longer bound to the TPM (%s)",
		       username, ns);
}

/* Marked for the verifier helper (vhelper.h): the marker and the previous
 * verifier (its TOTP secret and step stay with it), so the helper can open
 * the secret; no offline sign-in matches it meanwhile. */
static up_err online_mark(struct online_ud *o, const struct up_user_record *cur, bool same_sub,
			  struct up_user_record *rec)
{
	const char *inner = same_sub ? up_vhelper_inner(cur->verifier) : NULL;

	if (asprintf(&rec->verifier, "%s%s", o->marker, inner ? inner : "") < 0) {
		rec->verifier = NULL;
		return UP_ENOMEM;
	}
	if (inner && cur->mfa_secret) {
		rec->mfa_secret = strdup(cur->mfa_secret);
		rec->mfa_step = cur->mfa_step;
		if (!rec->mfa_secret)
			return UP_ENOMEM;
	}
	return UP_OK;
}

static up_err online_update(void *ud, const struct up_user_record *cur,
			    struct up_user_record **ret_new)
{
	struct online_ud *o = ud;
	const struct up_config *cfg = o->ctx->cfg;
	const struct up_claims *claims = o->auth->claims;
	struct up_user_record *rec = calloc(1, sizeof(*rec));
	bool same_sub = cur && strcmp(cur->sub, claims->sub) == 0;

	if (!rec)
		return UP_ENOMEM;
	/* check_binding refused another account before this runs. */
	if (cur && !same_sub) {
		free(rec);
		return up_fail(o->ctx, UP_ESUBCHANGED,
			       "%s is bound to another account (sub changed)", o->username);
	}
	rec->username = strdup(o->username);
	rec->issuer = strdup(cfg->issuer);
	rec->client_id = strdup(cfg->client_id);
	rec->sub = strdup(claims->sub);
	rec->groups = up_strv_dup(claims->groups);
	rec->id_token = strdup(o->auth->id_token);
	/* Kept for the account phase (a later handle without this sign-in
	 * asks the pool through it) and for revoke_on_close. */
	if (o->auth->refresh_token)
		rec->refresh_token = strdup(o->auth->refresh_token);
	/* No password (device flow): no verifier, so no offline sign-in with
	 * whatever password an older entry knew. */
	if (o->marker && online_mark(o, cur, same_sub, rec)) {
		up_user_record_free(rec);
		return UP_ENOMEM;
	}
	if (!o->marker) {
		log_binding(o->ctx, o->username, same_sub ? up_vhelper_inner(cur->verifier) : NULL,
			    o->verifier);
		rec->verifier = o->verifier;
		o->verifier = NULL;
		/* Wrapped under this verifier's KEK (or none). */
		rec->mfa_secret = o->mfa_secret;
		o->mfa_secret = NULL;
		rec->mfa_step = o->mfa_step;
		if (rec->mfa_secret && same_sub && cur->mfa_step > rec->mfa_step)
			rec->mfa_step = cur->mfa_step;
	}
	if (!rec->mfa_secret)
		rec->mfa_step = 0;
	rec->mfa = o->auth->mfa;
	rec->mfa_method = o->auth->mfa ? o->auth->mfa_method : UP_MFA_NONE;
	rec->last_online = up_ctx_now(o->ctx);
	rec->failures = 0;
	if (!rec->username || !rec->issuer || !rec->client_id || !rec->sub || !rec->groups ||
	    !rec->id_token || (o->auth->refresh_token && !rec->refresh_token) ||
	    (same_sub ? stepups_dup(cur->stepups, cur->n_stepups, &rec->stepups, &rec->n_stepups)
		      : UP_OK)) {
		up_user_record_free(rec);
		return UP_ENOMEM;
	}
	*ret_new = rec;
	return UP_OK;
}

/* The fallback when the full update could not be written: the record keeps
 * what it had, minus its password verifier. */
static up_err drop_verifier(void *ud, const struct up_user_record *cur,
			    struct up_user_record **ret_new)
{
	up_err r;

	(void)ud;
	*ret_new = NULL;
	if (!cur || !cur->verifier)
		return UP_OK;
	r = record_dup(cur, ret_new);
	if (r)
		return r;
	up_free_secret((*ret_new)->verifier);
	(*ret_new)->verifier = NULL;
	/* Wrapped under that verifier's key: it goes with it. */
	up_free_secret((*ret_new)->mfa_secret);
	(*ret_new)->mfa_secret = NULL;
	(*ret_new)->mfa_step = 0;
	return UP_OK;
}

/* ---------------------------------------------------------------------- */
/* offline second factor: the TOTP secret wrapped under the password's KEK */

static void mfa_aad(struct up_ctx *ctx, const char *username, const char *sub,
		    struct up_mfa_aad *aad)
{
	aad->issuer = ctx->cfg->issuer;
	aad->sub = sub;
	aad->username = username;
	aad->version = UP_STORE_VERSION;
}

/* The secret held in `cur` opened with the password's KEK, when it opens:
 * UP_OK with *ret_key, else logged and UP_EDENIED / another code (the
 * caller drops the secret). *ret_kept: cur's verifier already is the
 * current form, so it and the wrapped secret can stay as they are. */
static up_err held_secret(struct up_ctx *ctx, const char *username,
			  const struct up_user_record *cur, const char *password, uint8_t **ret_key,
			  size_t *ret_len, bool *ret_kept)
{
	const char *verifier = up_vhelper_inner(cur->verifier);
	uint8_t kek[UP_MFA_KEY_LEN];
	struct up_mfa_aad aad;
	bool has_kek = false;
	up_err r;

	*ret_kept = false;
	r = verifier ? up_verifier_check_kek(ctx, verifier, password, kek, &has_kek) : UP_EDENIED;
	if (r == UP_ENOMEM)
		return r;
	if (r || !has_kek) {
		up_log(ctx, LOG_NOTICE,
		       "%s: the password of this sign-in does not open the offline TOTP secret "
		       "held for this user (%s): dropped",
		       username, r ? up_strerror(r) : "no key in an older verifier");
		up_wipe(kek, sizeof(kek));
		return r ? r : UP_EDENIED;
	}
	mfa_aad(ctx, username, cur->sub, &aad);
	r = up_mfa_unwrap(ctx, kek, &aad, cur->mfa_secret, ret_key, ret_len);
	up_wipe(kek, sizeof(kek));
	if (r) {
		up_log(ctx, LOG_WARNING,
		       "%s: the offline TOTP secret held for this user does not open (%s: the "
		       "record was changed): dropped",
		       username, up_strerror(r));
		return r;
	}
	*ret_kept = up_verifier_current(ctx, verifier);
	return UP_OK;
}

/*
 * The verifier and the wrapped TOTP secret for the record of an online
 * sign-in with `password`. The secret is the one set up in this sign-in
 * (MFA_SETUP), else the one the record holds if this password opens it;
 * it is kept only if the TOTP code the pool accepted in this sign-in (when
 * it asked for one) verifies against it (else the user re-enrolled
 * elsewhere and it is stale). One scrypt when nothing changes (the
 * record's verifier and wrapped secret stay), two after a password change
 * or a parameter upgrade while a secret is held.
 */
static up_err online_keys(struct up_ctx *ctx, const char *username, const char *password,
			  const struct up_auth *auth, struct up_vjob *job,
			  const struct up_user_record *cur, struct online_ud *o)
{
	uint8_t *key = NULL, kek[UP_MFA_KEY_LEN];
	size_t key_len = 0;
	bool kept = false;
	struct up_mfa_aad aad;
	up_err r;

	if (auth->totp_secret) {
		r = up_base32_decode(auth->totp_secret, &key, &key_len);
		if (r == UP_ENOMEM)
			return r;
		if (r || key_len == 0 || key_len > UP_MFA_SECRET_MAX) {
			up_log(ctx, LOG_WARNING,
			       "%s: the TOTP secret set up at this sign-in is not usable "
			       "offline",
			       username);
			up_free_secret_len(key, key_len);
			key = NULL;
		}
	} else if (cur && cur->mfa_secret && cur->verifier &&
		   strcmp(cur->sub, auth->claims->sub) == 0) {
		r = held_secret(ctx, username, cur, password, &key, &key_len, &kept);
		if (r == UP_ENOMEM)
			return r;
	}
	/* The code the pool accepted must be a code of the secret kept. */
	if (key && auth->totp_code && auth->mfa_method == UP_MFA_TOTP &&
	    up_mfa_totp_check(key, key_len, auth->totp_code, up_ctx_now(ctx), 0, &o->mfa_step)) {
		up_log(ctx, LOG_NOTICE,
		       "%s: the code the user pool accepted does not match the offline TOTP "
		       "secret held for this user (enrolled again elsewhere?): dropped",
		       username);
		up_free_secret_len(key, key_len);
		key = NULL;
		kept = false;
		o->mfa_step = 0;
	}
	if (key && kept) {
		o->verifier = up_strdup(up_vhelper_inner(cur->verifier));
		o->mfa_secret = up_strdup(cur->mfa_secret);
		up_free_secret_len(key, key_len);
		if (!o->verifier || !o->mfa_secret)
			return UP_ENOMEM;
		return UP_OK;
	}
	/* The worker thread up_signin started with this password has derived
	 * it by now (overlapped with the pool's round trips); without one (or
	 * for a password replaced at NEW_PASSWORD_REQUIRED) derive it here. */
	r = job ? up_vjob_join(ctx, job, password, &o->verifier, kek) : UP_EINVAL;
	if (r == UP_EINVAL)
		r = up_verifier_new_kek(ctx, password, &o->verifier, kek);
	if (!r && key) {
		mfa_aad(ctx, username, auth->claims->sub, &aad);
		r = up_mfa_wrap(ctx, kek, &aad, key, key_len, &o->mfa_secret);
		if (r) {
			up_free_secret(o->verifier);
			o->verifier = NULL;
		}
	}
	up_wipe(kek, sizeof(kek));
	up_free_secret_len(key, key_len);
	return r;
}

/* The sign-in itself succeeded; a cache that cannot be written only costs
 * the offline fallback, but never leaves an old verifier. */
static void store_failed(struct up_ctx *ctx, const char *username, up_err r)
{
	up_log(ctx, LOG_ERR, "cannot update the cached entry of %s: %s: %s", username,
	       up_strerror(r), up_ctx_detail(ctx));
	if (up_store_user_update(ctx, username, drop_verifier, NULL) &&
	    up_store_user_purge(ctx, username))
		up_log(ctx, LOG_WARNING, "cannot remove the old offline verifier of %s either: %s",
		       username, up_ctx_detail(ctx));
}

static void cannot_derive(struct up_ctx *ctx, const char *username, up_err r, struct online_ud *o)
{
	up_log(ctx, LOG_WARNING,
	       "cannot derive the offline verifier of %s: %s: %s: offline sign-in disabled for "
	       "this user until the next online sign-in",
	       username, up_strerror(r), up_ctx_detail(ctx));
	up_free_secret(o->verifier);
	up_free_secret(o->mfa_secret);
	o->verifier = o->mfa_secret = NULL;
	o->mfa_step = 0;
}

/* The verifier helper configured and executable (else the worker thread). */
static bool helper_usable(struct up_ctx *ctx)
{
	const char *path = ctx->cfg->verifier_helper;

	if (!path || !*path)
		return false;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
		return true;
	up_log(ctx, LOG_WARNING,
	       "verifier_helper %s is not usable (%s): the offline verifier is derived in the "
	       "sign-in",
	       path, strerror(errno));
	return false;
}

/*
 * offline = yes with the verifier helper (vhelper.h): the entry is written
 * at once, marked (no offline sign-in matches it), and the helper derives
 * the verifier after we returned. false: no helper was started (logged by
 * up_vhelper_start): the caller derives in the call. When the helper does
 * not take the work, it is done here all the same.
 */
static bool store_by_helper(struct up_ctx *ctx, const char *username, const char *password,
			    const struct up_auth *auth)
{
	struct online_ud o = {ctx, username, auth, NULL, NULL, 0, NULL};
	struct up_vhelper *h = NULL;
	struct up_vwork w = {0};
	char marker[80];
	up_err r;

	if (up_vhelper_start(ctx, &h))
		return false;
	snprintf(marker, sizeof(marker), "%s", up_vhelper_marker(h));
	o.marker = marker;
	r = up_store_user_update(ctx, username, online_update, &o);
	if (r) {
		up_vhelper_free(h);
		store_failed(ctx, username, r);
		return true;
	}
	w.cfg_path = ctx->cfg->path;
	w.cfg_args = (const char *const *)ctx->cfg->args;
	w.username = username;
	w.marker = marker;
	w.password = password;
	w.sub = auth->claims->sub;
	w.totp_secret = auth->totp_secret;
	w.totp_code = auth->totp_code;
	w.mfa_method = auth->mfa_method;
	w.requester = ctx->requester;
	w.signin_at = up_ctx_now(ctx);
	r = up_vhelper_send(ctx, h, &w);
	if (r) {
		up_log(ctx, LOG_WARNING,
		       "the verifier helper did not take the work for %s (%s): derived in the "
		       "sign-in",
		       username, up_ctx_detail(ctx));
		(void)up_vwork_finish(ctx, &w);
	}
	return true;
}

/* `hand_over`: the verifier helper may derive after we returned (not for
 * up_enroll_keep, which reads the record back at once). */
static void store_online(struct up_ctx *ctx, const char *username, const char *password,
			 const struct up_auth *auth, struct up_vjob *job, bool hand_over)
{
	struct online_ud o = {ctx, username, auth, NULL, NULL, 0, NULL};
	struct up_user_record *cur = NULL;
	up_err r = UP_OK;

	if (!auth->claims || !auth->claims->sub || !auth->id_token) {
		up_log(ctx, LOG_ERR, "sign-in of %s returned no verified token: not cached",
		       username);
		return;
	}
	if (auth->new_password)
		password = auth->new_password; /* replaced at NEW_PASSWORD_REQUIRED */
	if (password && ctx->cfg->offline && hand_over && !job &&
	    store_by_helper(ctx, username, password, auth))
		return;
	/* The expensive part (scrypt) happens before the lock is taken: in the
	 * worker thread up_signin started with the password (overlapped with
	 * the pool's round trips), else here. */
	if (password && ctx->cfg->offline) {
		if (up_store_user_read(ctx, username, &cur))
			cur = NULL;
		r = online_keys(ctx, username, password, auth, job, cur, &o);
		up_user_record_free(cur);
		/* A derivation that cannot get its memory (or a slot) must not
		 * leave the old verifier behind: after a password change it
		 * would keep the old password working offline. The entry is
		 * refreshed without one, so offline sign-in is refused until
		 * the next online sign-in that can derive. */
		if (r)
			cannot_derive(ctx, username, r, &o);
	}
	r = up_store_user_update(ctx, username, online_update, &o);
	up_free_secret(o.verifier);
	up_free_secret(o.mfa_secret);
	if (r)
		store_failed(ctx, username, r);
}

/* The helper's write: only into the record still marked with its marker. */
struct finish_ud {
	const struct up_vwork *w;
	struct online_ud *o;
	bool stale;
};

static bool marked_by(const struct up_user_record *cur, const struct up_vwork *w)
{
	return cur && cur->verifier && strncmp(cur->verifier, w->marker, strlen(w->marker)) == 0 &&
	       strcmp(cur->sub, w->sub) == 0;
}

static up_err finish_update(void *ud, const struct up_user_record *cur,
			    struct up_user_record **ret_new)
{
	struct finish_ud *f = ud;
	struct up_user_record *rec;
	up_err r;

	*ret_new = NULL;
	if (!marked_by(cur, f->w)) {
		f->stale = true;
		return UP_OK;
	}
	r = record_dup(cur, &rec);
	if (r)
		return r;
	log_binding(f->o->ctx, f->w->username, up_vhelper_inner(cur->verifier), f->o->verifier);
	up_free_secret(rec->verifier);
	up_free_secret(rec->mfa_secret);
	rec->verifier = f->o->verifier;
	rec->mfa_secret = f->o->mfa_secret;
	f->o->verifier = f->o->mfa_secret = NULL;
	rec->mfa_step = f->o->mfa_step > cur->mfa_step ? f->o->mfa_step : cur->mfa_step;
	if (!rec->mfa_secret)
		rec->mfa_step = 0;
	*ret_new = rec;
	return UP_OK;
}

up_err up_vwork_finish(struct up_ctx *ctx, const struct up_vwork *w)
{
	struct up_claims claims = {.sub = (char *)(uintptr_t)w->sub};
	struct up_auth auth = {.claims = &claims};
	struct online_ud o = {ctx, w->username, &auth, NULL, NULL, 0, NULL};
	struct finish_ud f = {w, &o, false};
	struct up_user_record *cur = NULL;
	up_err r, k;

	auth.totp_secret = (char *)(uintptr_t)w->totp_secret;
	auth.totp_code = (char *)(uintptr_t)w->totp_code;
	auth.mfa_method = (enum up_mfa_method)w->mfa_method;
	r = up_store_user_read(ctx, w->username, &cur);
	if (r || !marked_by(cur, w)) {
		up_user_record_free(cur);
		up_log(ctx, LOG_NOTICE,
		       "offline verifier of %s not derived: the entry changed since "
		       "the sign-in",
		       w->username);
		return r == UP_ENOMEM ? r : UP_OK;
	}
	k = online_keys(ctx, w->username, w->password, &auth, NULL, cur, &o);
	up_user_record_free(cur);
	if (k)
		cannot_derive(ctx, w->username, k, &o);
	r = up_store_user_update(ctx, w->username, finish_update, &f);
	up_free_secret(o.verifier);
	up_free_secret(o.mfa_secret);
	if (r)
		up_log(ctx, LOG_ERR,
		       "cannot write the offline verifier of %s: %s: %s: offline "
		       "sign-in refused until the next online sign-in",
		       w->username, up_strerror(r), up_ctx_detail(ctx));
	else if (f.stale)
		up_log(ctx, LOG_NOTICE,
		       "offline verifier of %s not written: the entry changed "
		       "meanwhile",
		       w->username);
	return k ? k : r;
}

/* ---------------------------------------------------------------------- */
/* password change (chauthtok) */

struct pwchange_ud {
	const char *sub;  /* the record the keys were made for */
	char *verifier;	  /* of the new password (moved); NULL: none */
	char *mfa_secret; /* re-wrapped under its KEK (moved); NULL: none */
};

static up_err pwchange_update(void *ud, const struct up_user_record *cur,
			      struct up_user_record **ret_new)
{
	struct pwchange_ud *u = ud;
	struct up_user_record *rec;
	up_err r;

	*ret_new = NULL;
	if (!cur)
		return UP_OK;
	r = record_dup(cur, &rec);
	if (r)
		return r;
	up_free_secret(rec->verifier);
	up_free_secret(rec->mfa_secret);
	rec->verifier = rec->mfa_secret = NULL;
	/* Keys made for another account's record are not this one's. */
	if (u->sub && strcmp(cur->sub, u->sub) == 0) {
		rec->verifier = u->verifier;
		rec->mfa_secret = u->mfa_secret;
		u->verifier = u->mfa_secret = NULL;
	}
	if (!rec->mfa_secret)
		rec->mfa_step = 0;
	/* A password changed online starts the offline failure counts and
	 * the step-up windows afresh. */
	stepups_free_all(rec);
	free(rec->fails);
	rec->fails = NULL;
	rec->n_fails = 0;
	rec->failures = 0;
	*ret_new = rec;
	return UP_OK;
}

up_err up_password_changed(struct up_ctx *ctx, const char *username, const char *old_password,
			   const char *new_password)
{
	struct up_user_record *cur = NULL;
	struct pwchange_ud u = {NULL, NULL, NULL};
	uint8_t *key = NULL, kek[UP_MFA_KEY_LEN];
	size_t key_len = 0;
	struct up_mfa_aad aad;
	bool kept = false;
	char *sub = NULL;
	up_err r, w;

	if (!ctx || !ctx->cfg || !username || !old_password || !new_password)
		return UP_EINVAL;
	r = up_store_user_read(ctx, username, &cur);
	if (r == UP_ENOENT)
		return UP_OK; /* nothing cached */
	if (r)
		return r;
	sub = strdup(cur->sub);
	if (!sub) {
		up_user_record_free(cur);
		return UP_ENOMEM;
	}
	/* The held TOTP secret, opened with the old password's key. */
	if (cur->mfa_secret && cur->verifier) {
		r = held_secret(ctx, username, cur, old_password, &key, &key_len, &kept);
		if (r == UP_ENOMEM) {
			up_user_record_free(cur);
			free(sub);
			return r;
		}
	}
	up_user_record_free(cur);
	r = ctx->cfg->offline ? up_verifier_new_kek(ctx, new_password, &u.verifier, kek) : UP_OK;
	if (!r && key && u.verifier) {
		mfa_aad(ctx, username, sub, &aad);
		r = up_mfa_wrap(ctx, kek, &aad, key, key_len, &u.mfa_secret);
	}
	up_wipe(kek, sizeof(kek));
	up_free_secret_len(key, key_len);
	if (r) {
		/* The old verifier must not stay: the record goes without one. */
		up_free_secret(u.verifier);
		up_free_secret(u.mfa_secret);
		u.verifier = u.mfa_secret = NULL;
	}
	u.sub = sub;
	w = up_store_user_update(ctx, username, pwchange_update, &u);
	up_free_secret(u.verifier);
	up_free_secret(u.mfa_secret);
	free(sub);
	return r ? r : w;
}

/* ---------------------------------------------------------------------- */
/* offline sign-in: checked outside the user's lock, counted under it */

/* Delay of a requester with `count` failures: none below
 * offline_max_failures, then 30 s doubling per further failure, capped. */
#define OFFLINE_DELAY_FIRST 30
#define OFFLINE_DELAY_CAP 900
#define OFFLINE_RETRIES 4

static int64_t offline_delay(const struct up_config *cfg, int64_t count)
{
	int64_t k;

	if (count < cfg->offline_max_failures)
		return 0;
	k = count - cfg->offline_max_failures;
	if (k >= 5)
		return OFFLINE_DELAY_CAP;
	return OFFLINE_DELAY_FIRST << k < OFFLINE_DELAY_CAP ? OFFLINE_DELAY_FIRST << k
							    : OFFLINE_DELAY_CAP;
}

static const struct up_offline_fail *fail_of(const struct up_user_record *rec, int64_t uid)
{
	for (size_t i = 0; i < rec->n_fails; i++)
		if (rec->fails[i].uid == uid)
			return &rec->fails[i];
	return NULL;
}

struct offline_ud {
	struct up_ctx *ctx;
	const char *username;
	int64_t requester;
	const char *checked;	  /* the verifier the password was checked against */
	int64_t checked_online;	  /* and the record's last_online then */
	bool match;		  /* the password matched `checked` */
	bool changed;		  /* the record changed in between: check again */
	up_err result;		  /* the decision */
	struct up_claims *claims; /* on success */
	char *id_token;		  /* on success */
	bool locked_now;	  /* this failure started a delay */
	int64_t count;		  /* the requester's failures after this attempt */
	const struct up_conv *conv;
	const char *checked_secret; /* the wrapped TOTP secret the code was checked with */
	bool code_asked;	    /* a verification code was checked locally */
	bool code_wrong;	    /* ... and refused (wrong or reused) */
	int64_t step;		    /* ... and accepted at this step */
};

/* An offline sign-in of this record needs a verification code: its last
 * online sign-in used a second factor and a TOTP secret is held. (Without
 * a secret: refused under offline_mfa = require, password only under skip.) */
static bool needs_code(const struct up_user_record *cur)
{
	return cur->mfa && cur->mfa_secret;
}

/* The cheap checks, on the record as read (before the KDF) and again under
 * the lock. UP_OK with o->result set when refused; *ret_claims on a pass
 * (when asked for). */
/* A second factor is never silently dropped: a user whose last online
 * sign-in used one gets no password-only sign-in offline unless
 * offline_mfa = skip. UP_OK or the refusal (reported). */
static up_err offline_mfa_refusal(struct up_ctx *ctx, const struct up_user_record *cur)
{
	const struct up_config *cfg = ctx->cfg;

	if (cur->mfa && !cfg->offline_mfa_skip &&
	    (cur->mfa_method == UP_MFA_SMS || cur->mfa_method == UP_MFA_EMAIL)) {
		/* Offline MFA checks a TOTP code locally; an SMS or email code
		 * can only come from the pool. */
		const char *what = cur->mfa_method == UP_MFA_SMS ? "SMS" : "email";

		up_set_user_msg(ctx,
				"The user pool is unreachable and offline sign-in is not possible: "
				"your second factor (%s code) needs the user pool",
				what);
		return up_fail(ctx, UP_EOFFLINE,
			       "the last online sign-in used an %s code, which cannot be checked "
			       "offline (offline_mfa = require)",
			       what);
	}
	if (cur->mfa && !cfg->offline_mfa_skip && !cur->mfa_secret)
		return up_fail(ctx, UP_EOFFLINE,
			       "the last online sign-in used a second factor and no TOTP secret is "
			       "held locally (offline_mfa = require)");
	/* An entry from a sign-in without a second factor (made while mfa was
	 * optional) must not stand in for one that mfa = required demands. */
	if (cfg->mfa_required && !cur->mfa)
		return up_fail(ctx, UP_EOFFLINE,
			       "cached entry is from a sign-in without a second factor");
	return UP_OK;
}

/* The cached entry's own refusals of an offline sign-in: binding, second
 * factor, verifier, age, the requester's delay. UP_OK or the refusal
 * (reported). */
static up_err offline_refusal(struct offline_ud *o, const struct up_user_record *cur)
{
	struct up_ctx *ctx = o->ctx;
	const struct up_config *cfg = ctx->cfg;
	const struct up_offline_fail *mine;
	int64_t now = up_ctx_now(ctx), wait;
	up_err r;

	if (!cur)
		return up_fail(ctx, UP_EOFFLINE, "no cached entry");
	/* store.c already refuses entries of another user, issuer or client;
	 * this is the policy's own statement of the binding. */
	if (strcmp(cur->username, o->username) != 0 || strcmp(cur->issuer, cfg->issuer) != 0 ||
	    strcmp(cur->client_id, cfg->client_id) != 0)
		return up_fail(ctx, UP_EOFFLINE, "cached entry bound to another pool or client");
	/* An online sign-in's verifier the helper has not written yet: fail
	 * closed (the password may have changed at the pool). */
	if (up_vhelper_pending(cur->verifier))
		return up_fail(ctx, UP_EOFFLINE,
			       "the offline verifier of the last online sign-in "
			       "is still being derived: try again in a moment");
	if ((r = offline_mfa_refusal(ctx, cur)))
		return r;
	if (!cur->verifier)
		return up_fail(ctx, UP_EOFFLINE, "cached entry has no password verifier");
	if (now - cur->last_online > cfg->offline_max_age)
		return up_fail(ctx, UP_EOFFLINE,
			       "last online sign-in %lld s ago is older than offline_max_age",
			       (long long)(now - cur->last_online));
	/* A last_online in the future would stretch the window. */
	if (cur->last_online > now + cfg->leeway)
		return up_fail(ctx, UP_EOFFLINE, "last online sign-in is in the future");
	/* Failures count per requesting uid: one local user's guesses delay
	 * that user's next attempts, not the victim's own. */
	mine = fail_of(cur, o->requester);
	if (mine && (wait = offline_delay(cfg, mine->count)) > 0 && now < mine->at + wait)
		return up_fail(ctx, UP_ELOCKED,
			       "offline sign-in for requester uid %lld delayed %lld s more after "
			       "%lld failed attempts",
			       (long long)o->requester, (long long)(mine->at + wait - now),
			       (long long)mine->count);
	return UP_OK;
}

static up_err offline_precheck(struct offline_ud *o, const struct up_user_record *cur,
			       struct up_claims **ret_claims)
{
	struct up_ctx *ctx = o->ctx;
	struct up_claims *claims = NULL;
	struct up_token_rules rules;
	up_err r;

	o->result = offline_refusal(o, cur);
	if (o->result || !ret_claims)
		return UP_OK;
	/* the provider's rules, offline: the cached key set, no discovery */
	r = up_provider(ctx)->token_rules(ctx, UP_VERIFY_OFFLINE, &rules);
	if (!r)
		r = up_token_verify_rules(ctx, &rules, cur->id_token, UP_TOKEN_ID, o->username,
					  UP_VERIFY_OFFLINE, &claims);
	if (r == UP_ENOMEM)
		return r;
	if (r) {
		o->result = fail_because(ctx, UP_EOFFLINE, "cached ID token no longer verifies");
		return UP_OK;
	}
	if (!claims->sub || strcmp(claims->sub, cur->sub) != 0) {
		up_claims_free(claims);
		o->result = up_fail(ctx, UP_EOFFLINE, "cached ID token names another sub");
		return UP_OK;
	}
	*ret_claims = claims;
	return UP_OK;
}

/* The record with the requester's count set to `count` (0: removed); the
 * entry with the oldest failure makes room when the list is full. */
static up_err with_count(const struct up_user_record *cur, int64_t uid, int64_t count, int64_t now,
			 struct up_user_record **ret)
{
	struct up_user_record *rec;
	size_t i, n = 0;
	up_err r = record_dup(cur, &rec);

	if (r)
		return r;
	free(rec->fails);
	rec->fails = calloc(UP_MAX_REQUESTERS + 1, sizeof(*rec->fails));
	rec->n_fails = 0;
	if (!rec->fails) {
		up_user_record_free(rec);
		return UP_ENOMEM;
	}
	for (i = 0; i < cur->n_fails && n < UP_MAX_REQUESTERS; i++)
		if (cur->fails[i].uid != uid)
			rec->fails[n++] = cur->fails[i];
	if (count > 0) {
		if (n == UP_MAX_REQUESTERS) {
			size_t old = 0;

			for (i = 1; i < n; i++)
				if (rec->fails[i].at < rec->fails[old].at)
					old = i;
			rec->fails[old] = rec->fails[--n];
		}
		rec->fails[n].uid = uid;
		rec->fails[n].count = count;
		rec->fails[n].at = now;
		n++;
	}
	rec->n_fails = n;
	rec->failures = 0;
	for (i = 0; i < n; i++)
		rec->failures += rec->fails[i].count;
	*ret = rec;
	return UP_OK;
}

/* Under the user's lock: the record must still be the one the password was
 * checked against; then count the failure (or clear the requester's). */
static up_err offline_decide(void *ud, const struct up_user_record *cur,
			     struct up_user_record **ret_new)
{
	struct offline_ud *o = ud;
	struct up_ctx *ctx = o->ctx;
	const struct up_offline_fail *mine;
	struct up_claims *claims = NULL;
	int64_t count;
	up_err r;

	*ret_new = NULL;
	r = offline_precheck(o, cur, &claims);
	if (r || o->result)
		return r;
	if (strcmp(cur->verifier, o->checked) != 0 || cur->last_online != o->checked_online ||
	    (o->match && !o->code_asked && needs_code(cur)) ||
	    (o->code_asked &&
	     (!needs_code(cur) || strcmp(cur->mfa_secret, o->checked_secret) != 0))) {
		/* A sign-in changed the entry while the password was derived. */
		up_claims_free(claims);
		o->changed = true;
		o->result = up_fail(ctx, UP_EOFFLINE, "cached entry changed during the check");
		return UP_OK;
	}
	/* A parallel offline sign-in accepted this step (or a later one)
	 * while the code was checked: the code is used up. */
	if (o->match && o->code_asked && o->step <= cur->mfa_step) {
		o->match = false;
		o->code_wrong = true;
	}
	mine = fail_of(cur, o->requester);
	count = mine ? mine->count : 0;
	if (!o->match || count > 0 || (!mine && cur->failures > 0 && !cur->n_fails)) {
		/* Count the failure (or clear the count) in the same locked
		 * step that re-read it: parallel guesses are all counted. */
		o->count = o->match ? 0 : count + 1;
		r = with_count(cur, o->requester, o->count, up_ctx_now(ctx), ret_new);
		if (r) {
			up_claims_free(claims);
			return r;
		}
		o->locked_now = !o->match && o->count >= ctx->cfg->offline_max_failures;
	}
	if (!o->match) {
		up_claims_free(claims);
		o->result =
		    up_fail(ctx, UP_EDENIED, "offline %s (%lld of %lld for requester uid %lld)",
			    o->code_wrong ? "verification code rejected (wrong or used)"
					  : "password mismatch",
			    (long long)o->count, (long long)ctx->cfg->offline_max_failures,
			    (long long)o->requester);
		return UP_OK;
	}
	if (o->code_asked) {
		/* The accepted step, stored in the same locked write: never
		 * accepted again. */
		if (!*ret_new && (r = record_dup(cur, ret_new))) {
			up_claims_free(claims);
			return r;
		}
		(*ret_new)->mfa_step = o->step;
	}
	o->id_token = strdup(cur->id_token);
	if (!o->id_token) {
		up_claims_free(claims);
		up_user_record_free(*ret_new);
		*ret_new = NULL;
		return UP_ENOMEM;
	}
	o->claims = claims;
	o->result = UP_OK;
	return UP_OK;
}

/*
 * After the password matched: open the held TOTP secret with the KEK of
 * this password and check a "Verification code: " locally (RFC 6238, +-1
 * step, only steps after the last one accepted). UP_OK with o->result set
 * when refused without counting (the secret does not open: the record was
 * changed); o->code_wrong (counted by offline_decide like a wrong password)
 * when the code is wrong or used; o->step when it is good.
 */
static up_err offline_code(struct offline_ud *o, const struct up_user_record *cur,
			   const uint8_t kek[UP_MFA_KEY_LEN], bool has_kek)
{
	struct up_ctx *ctx = o->ctx;
	struct up_mfa_aad aad;
	uint8_t *key = NULL;
	size_t key_len = 0;
	char *code = NULL;
	up_err r;

	o->code_asked = true;
	mfa_aad(ctx, o->username, cur->sub, &aad);
	r = has_kek ? up_mfa_unwrap(ctx, kek, &aad, cur->mfa_secret, &key, &key_len) : UP_ESTATE;
	if (r == UP_ENOMEM)
		return r;
	if (r) {
		up_log(ctx, LOG_WARNING,
		       "offline sign-in for %s refused: the TOTP secret held for this user does "
		       "not open with the password that matched (%s: the record was changed)",
		       o->username, has_kek ? up_strerror(r) : "older verifier without a key");
		o->result = up_fail(ctx, UP_EOFFLINE, "the held TOTP secret does not open");
		return UP_OK;
	}
	if (!o->conv || !o->conv->prompt) {
		up_free_secret_len(key, key_len);
		o->result = up_fail(ctx, UP_EOFFLINE, "no conversation to ask for the code");
		return UP_OK;
	}
	r = o->conv->prompt(o->conv->ud, UP_PROMPT_CODE, o->conv->echo_code, &code);
	if (r || !code) {
		up_free_secret_len(key, key_len);
		up_free_secret(code);
		o->result = up_fail(ctx, UP_ECONV, "conversation failed at \"%s\"", UP_PROMPT_CODE);
		return UP_OK;
	}
	r = up_mfa_totp_check(key, key_len, code, up_ctx_now(ctx), cur->mfa_step, &o->step);
	up_free_secret(code);
	up_free_secret_len(key, key_len);
	if (r == UP_ENOMEM)
		return r;
	if (r) {
		o->match = false;
		o->code_wrong = true;
		o->step = 0;
	}
	return UP_OK;
}

/* Read the entry, check the password against it without holding the lock
 * (the KDF takes a good part of a second), then decide under the lock. */
static up_err offline_attempt(struct offline_ud *o, const char *password)
{
	struct up_ctx *ctx = o->ctx;
	struct up_user_record *cur = NULL;
	char *checked = NULL, *checked_secret = NULL;
	uint8_t kek[UP_MFA_KEY_LEN];
	bool has_kek = false;
	up_err r;

	o->changed = false;
	r = up_store_user_read(ctx, o->username, &cur);
	if (r == UP_ENOMEM)
		return r;
	if (r == UP_ENOENT)
		cur = NULL;
	else if (r) {
		o->result = UP_EOFFLINE;
		return UP_OK;
	}
	r = offline_precheck(o, cur, NULL);
	if (r || o->result) {
		up_user_record_free(cur);
		return r;
	}
	r = up_verifier_check_kek(ctx, cur->verifier, password, kek, &has_kek);
	if (r == UP_ENOMEM) {
		up_user_record_free(cur);
		return r;
	}
	if (r && r != UP_EDENIED) {
		up_user_record_free(cur);
		o->result = fail_because(ctx, UP_EOFFLINE, "password verifier unusable");
		return UP_OK;
	}
	o->match = r == UP_OK;
	o->code_asked = o->code_wrong = false;
	o->step = 0;
	if (o->match && needs_code(cur)) {
		r = offline_code(o, cur, kek, has_kek);
		if (r || o->result) {
			up_wipe(kek, sizeof(kek));
			up_user_record_free(cur);
			return r;
		}
	}
	up_wipe(kek, sizeof(kek));
	checked = strdup(cur->verifier);
	checked_secret = needs_code(cur) ? strdup(cur->mfa_secret) : NULL;
	o->checked_online = cur->last_online;
	if (!checked || (needs_code(cur) && !checked_secret)) {
		up_user_record_free(cur);
		up_free_secret(checked);
		up_free_secret(checked_secret);
		return UP_ENOMEM;
	}
	up_user_record_free(cur);
	o->checked = checked;
	o->checked_secret = checked_secret;
	/* No decision until offline_decide made one under the lock. */
	o->result = UP_EOFFLINE;
	r = up_store_user_update(ctx, o->username, offline_decide, o);
	o->checked = o->checked_secret = NULL;
	up_free_secret(checked);
	up_free_secret(checked_secret);
	if (r && r != UP_ENOMEM) {
		if (o->result == UP_OK)
			/* Only the reset of the failure count was lost. */
			up_log(ctx, LOG_WARNING, "cannot update the cached entry of %s: %s",
			       o->username, up_ctx_detail(ctx));
		else if (o->result == UP_EDENIED)
			up_log(ctx, LOG_ERR, "cannot count a failed offline attempt of %s: %s",
			       o->username, up_ctx_detail(ctx));
		else
			/* No decision was made (the entry could not be locked or
			 * read): the detail says why. */
			o->result = UP_EOFFLINE;
		return UP_OK;
	}
	return r;
}

static up_err signin_offline(struct up_ctx *ctx, const char *username, const char *password,
			     const struct up_conv *conv, struct up_auth **ret_auth)
{
	struct offline_ud o = {0};
	struct up_auth *auth;
	up_err r = UP_OK;

	if (!password)
		return up_fail(ctx, UP_EOFFLINE, "no password to check offline");
	o.ctx = ctx;
	o.username = username;
	o.conv = conv;
	o.requester = up_ctx_requester(ctx);
	o.result = UP_EOFFLINE;
	for (int i = 0; i < OFFLINE_RETRIES; i++) {
		r = offline_attempt(&o, password);
		if (r || !o.changed)
			break;
	}
	if (r == UP_ENOMEM) {
		up_claims_free(o.claims);
		up_free_secret(o.id_token);
		return r;
	}
	if (o.result == UP_EDENIED)
		up_log(ctx, LOG_NOTICE, "offline sign-in for %s failed: %s%s", username,
		       o.code_wrong ? "verification code rejected (wrong or already used)"
				    : "wrong password",
		       o.locked_now ? "; this requester's offline attempts are now delayed" : "");
	if (o.result == UP_EDENIED && o.code_wrong)
		up_set_user_msg(ctx, "Verification code rejected");
	if (o.result)
		return o.result;
	if (!o.claims || !o.id_token) { /* never success without a verified result */
		up_claims_free(o.claims);
		up_free_secret(o.id_token);
		return up_fail(ctx, UP_EOFFLINE, "no offline decision was made");
	}
	auth = calloc(1, sizeof(*auth));
	if (!auth) {
		up_claims_free(o.claims);
		up_free_secret(o.id_token);
		return UP_ENOMEM;
	}
	auth->claims = o.claims;
	auth->id_token = o.id_token;
	auth->offline = true;
	auth->mfa = false;
	up_log(ctx, LOG_NOTICE, "offline sign-in for %s (%s: the user pool is unreachable)",
	       username,
	       o.code_asked ? "password and verification code checked locally" : "password only");
	if (conv && conv->info)
		(void)conv->info(conv->ud, MSG_OFFLINE);
	*ret_auth = auth;
	return UP_OK;
}

/* ---------------------------------------------------------------------- */

/*
 * The name belongs to the account (issuer + sub) that first signed in with
 * it (issue 16 item 2): a pool name re-created for another person is
 * refused, never given the old UID, home or record, until the
 * administrator re-binds it (userpool user rebind / user del + add). The
 * cached record states the binding too (entries written before bindings
 * existed); the root-only nss/bind-* file is what outlives a purge.
 */
static up_err check_binding(struct up_ctx *ctx, const char *username, const struct up_auth *auth)
{
	struct up_user_record *cur = NULL;
	up_err r;

	if (!auth->claims || !auth->claims->sub)
		return up_fail(ctx, UP_EJWT, "the token names no account (sub)");
	r = up_store_user_read(ctx, username, &cur);
	if (!r && strcmp(cur->sub, auth->claims->sub) != 0) {
		up_user_record_free(cur);
		up_log(ctx, LOG_WARNING,
		       "%s is bound to another account (sub changed): run userpool user rebind %s",
		       username, username);
		return up_fail(ctx, UP_ESUBCHANGED,
			       "%s is bound to another account (sub changed): run userpool user "
			       "rebind %s",
			       username, username);
	}
	up_user_record_free(cur);
	if (r && r != UP_ENOENT)
		return r;
	return up_nss_user_bind(ctx, username, ctx->cfg->issuer, auth->claims->sub);
}

/* ---------------------------------------------------------------------- */

static up_err signin_job(struct up_ctx *ctx, const char *username, const char *password,
			 const struct up_conv *conv, struct up_auth **ret_auth,
			 struct up_vjob *const *job)
{
	struct up_auth *auth = NULL;
	char online_detail[sizeof(ctx->detail)];
	up_err r, o;

	ctx->pool_answered = false;
	ctx->http_answered = false;
	up_clear_user_msg(ctx);
	r = up_signin_online(ctx, username, password, conv, &auth);
	if (!r) {
		if (ctx->cfg->mfa_required && !auth->mfa) {
			up_auth_free(auth);
			up_log(ctx, LOG_NOTICE,
			       "sign-in of %s refused: no second factor and mfa = required",
			       username);
			/* userpool-enroll refuses provider = oidc: the provider
			 * decides which factors it asks for. */
			if (!up_provider(ctx)->enrolls_here)
				up_set_user_msg(ctx, "%s", MSG_NO_MFA_OIDC);
			return up_fail(ctx, UP_ENOMFA,
				       up_provider(ctx)->enrolls_here ? MSG_NO_MFA
								      : MSG_NO_MFA_OIDC);
		}
		r = check_binding(ctx, username, auth);
		if (r) {
			up_auth_free(auth);
			return r;
		}
		/* started by now, if at all */
		store_online(ctx, username, password, auth, *job, true);
		/* Kept wrapped in the record, if at all; not handed on. */
		up_free_secret(auth->totp_secret);
		up_free_secret(auth->totp_code);
		auth->totp_secret = auth->totp_code = NULL;
		*ret_auth = auth;
		return UP_OK;
	}
	if (r == UP_EDISABLED || r == UP_ENOUSER) {
		snprintf(online_detail, sizeof(online_detail), "%s", up_ctx_detail(ctx));
		o = up_store_user_purge(ctx, username);
		if (!o)
			up_log(ctx, LOG_NOTICE, "cached entry of %s purged: %s", username,
			       up_strerror(r));
		else if (o != UP_ENOENT)
			up_log(ctx, LOG_ERR, "cannot purge the cached entry of %s: %s", username,
			       up_ctx_detail(ctx));
		up_fail(ctx, r, "%s", online_detail);
		return r;
	}
	/* Any other definitive answer stands: only "unreachable" may fall
	 * back to the cache. */
	if (!up_err_unreachable(r) || !ctx->cfg->offline)
		return r;
	/* Once the pool has answered anything in this sign-in (it asked for
	 * the code), a cut connection is no outage but a possible downgrade
	 * of password + code to password only (issue 16 item 5). */
	if (ctx->pool_answered) {
		up_log(ctx, LOG_WARNING,
		       "sign-in of %s: the connection to the user pool failed after the pool "
		       "answered; no offline fallback: %s",
		       username, up_ctx_detail(ctx));
		return r;
	}
	snprintf(online_detail, sizeof(online_detail), "%s", up_ctx_detail(ctx));
	o = signin_offline(ctx, username, password, conv, ret_auth);
	if (!o)
		return UP_OK;
	if (o == UP_ELOCKED || o == UP_EDENIED || o == UP_ENOMEM)
		return o;
	up_log(ctx, LOG_NOTICE, "offline sign-in for %s not possible: %s", username,
	       up_ctx_detail(ctx));
	up_fail(ctx, r, "%s; offline sign-in not possible", online_detail);
	return r;
}

void up_pool_answered(struct up_ctx *ctx)
{
	if (ctx->pool_answered)
		return;
	ctx->pool_answered = true;
	if (ctx->answered_fn)
		ctx->answered_fn(ctx, ctx->answered_ud);
}

struct job_start {
	const char *password;
	struct up_vjob *job;
};

static void start_job(struct up_ctx *ctx, void *ud)
{
	struct job_start *js = ud;

	if (!js->job)
		js->job = up_vjob_start(ctx, js->password);
}

up_err up_signin(struct up_ctx *ctx, const char *username, const char *password,
		 const struct up_conv *conv, struct up_auth **ret_auth)
{
	struct job_start js = {password, NULL};
	up_err r;

	if (!ctx || !username || !ret_auth)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	/*
	 * offline = yes: the fresh verifier is derived while the rest of the
	 * sign-in runs (issue 21): started in a worker thread when the pool
	 * first answers well-formed (a challenge, tokens: the password flow's
	 * answer means the password was accepted, SRP's first one precedes
	 * the proof), so a pool that is unreachable (the offline path) or a
	 * password refused at once costs no derivation; it overlaps the
	 * remaining round trips and the code prompt, is joined before we
	 * return, and its result is written only after a success.
	 */
	if (password && ctx->cfg->offline && !helper_usable(ctx)) {
		ctx->answered_fn = start_job;
		ctx->answered_ud = &js;
	}
	r = signin_job(ctx, username, password, conv, ret_auth, &js.job);
	ctx->answered_fn = NULL;
	ctx->answered_ud = NULL;
	up_vjob_free(js.job);
	return r;
}

/* ---------------------------------------------------------------------- */
/* enrolment outside a sign-in (userpool-enroll run as root) */

up_err up_enroll_keep(struct up_ctx *ctx, const char *username, const char *password,
		      struct up_auth *auth, const char *secret_b32, const char *code)
{
	struct up_user_record *rec = NULL;
	bool held;
	up_err r;

	if (!ctx || !username || !password || !auth || !secret_b32 || !code)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	if (!ctx->cfg->offline)
		return up_fail(ctx, UP_ECONFIG,
			       "offline = no: nothing is kept for offline sign-in");
	r = check_binding(ctx, username, auth);
	if (r)
		return r;
	{
		/* Copied first: the arguments may be auth's own. */
		char *sc = up_strdup(secret_b32), *cc = up_strdup(code);

		up_free_secret(auth->totp_secret);
		up_free_secret(auth->totp_code);
		auth->totp_secret = sc;
		auth->totp_code = cc;
	}
	if (!auth->totp_secret || !auth->totp_code)
		r = UP_ENOMEM;
	/* From now on the user signs in with this authenticator's code. */
	auth->mfa = true;
	auth->mfa_method = UP_MFA_TOTP;
	if (!r)
		store_online(ctx, username, password, auth, NULL, false);
	up_free_secret(auth->totp_secret);
	up_free_secret(auth->totp_code);
	auth->totp_secret = auth->totp_code = NULL;
	if (r)
		return r;
	r = up_store_user_read(ctx, username, &rec);
	if (r == UP_ENOMEM)
		return r;
	held = !r && rec->mfa_secret;
	up_user_record_free(rec);
	if (!held)
		return up_fail(ctx, UP_ESTATE, "the TOTP secret could not be kept (see the log)");
	up_log(ctx, LOG_NOTICE, "enrolment: the TOTP secret of %s is kept for offline sign-in",
	       username);
	return UP_OK;
}

/* ---------------------------------------------------------------------- */
/* step-up window (max_auth_age) */

struct stepup_ud {
	struct up_ctx *ctx;
	const char *service;
	const char *tty;
};

static up_err stepup_update(void *ud, const struct up_user_record *cur,
			    struct up_user_record **ret_new)
{
	struct stepup_ud *s = ud;
	int64_t now = up_ctx_now(s->ctx), max_age = s->ctx->cfg->max_auth_age;
	struct up_user_record *rec;
	struct up_stepup *slot = NULL;
	size_t keep = 0;
	up_err r;

	if (!cur)
		return up_fail(s->ctx, UP_ENOENT, "no cached entry to record a step-up in");
	r = record_dup(cur, &rec);
	if (r)
		return r;
	/* Drop entries of this (service, tty) and expired ones; keep the
	 * newest others up to the cap. */
	for (size_t i = 0; i < rec->n_stepups; i++) {
		struct up_stepup *e = &rec->stepups[i];
		bool same = strcmp(e->service, s->service) == 0 && strcmp(e->tty, s->tty) == 0;
		bool expired = max_age > 0 && now - e->at > max_age;

		if (same || expired || e->at > now) {
			free(e->service);
			free(e->tty);
			continue;
		}
		rec->stepups[keep++] = *e;
	}
	rec->n_stepups = keep;
	while (keep >= MAX_STEPUPS) {
		/* Oldest first out. */
		size_t oldest = 0;
		for (size_t i = 1; i < keep; i++)
			if (rec->stepups[i].at < rec->stepups[oldest].at)
				oldest = i;
		free(rec->stepups[oldest].service);
		free(rec->stepups[oldest].tty);
		rec->stepups[oldest] = rec->stepups[keep - 1];
		rec->n_stepups = --keep;
	}
	/* stepups_dup allocated n + 1 slots, so there is room for one more. */
	slot = &rec->stepups[rec->n_stepups];
	slot->service = strdup(s->service);
	slot->tty = strdup(s->tty);
	slot->at = now;
	if (!slot->service || !slot->tty) {
		free(slot->service);
		free(slot->tty);
		up_user_record_free(rec);
		return UP_ENOMEM;
	}
	rec->n_stepups++;
	*ret_new = rec;
	return UP_OK;
}

/* Field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat. */
static bool proc_starttime(pid_t pid, unsigned long long *ret)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and ')': skip to the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	p++;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (!p)
		return false;
	errno = 0;
	{
		char *end = NULL;
		unsigned long long v = strtoull(p + 1, &end, 10);

		if (errno || end == p + 1 || (*end != ' ' && *end != '\0'))
			return false;
		*ret = v;
	}
	return true;
}

up_err up_stepup_binding(struct up_ctx *ctx, const char *login, const char *ruser, const char *tty,
			 char **ret_key)
{
	struct passwd pwbuf, *pw = NULL;
	char buf[4096], key[384];
	unsigned long long start = 0;
	struct stat st;
	bool self;
	pid_t sid;
	int fd;

	if (!ctx || !login || !*login || !ret_key || (tty && strlen(tty) > 128))
		return UP_EINVAL;
	*ret_key = NULL;
	/* Only someone acting as themselves (sudo: PAM_RUSER is the user; or
	 * the calling uid is the user's): never login, su to another user. */
	self = ruser && strcmp(ruser, login) == 0;
	if (!self && getpwnam_r(login, &pwbuf, buf, sizeof(buf), &pw) == 0 && pw)
		self = pw->pw_uid == getuid();
	if (!self)
		return up_fail(ctx, UP_ENOENT, "not the invoking user acting as themselves");
	/* Bound as sudo binds its timestamps: the controlling terminal's
	 * device, the session id and the session leader's start time. */
	fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return up_fail(ctx, UP_ENOENT, "no controlling terminal");
	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode)) {
		close(fd);
		return up_fail(ctx, UP_ENOENT, "no controlling terminal");
	}
	close(fd);
	sid = getsid(0);
	if (sid <= 0 || !proc_starttime(sid, &start))
		return up_fail(ctx, UP_ENOENT, "no session leader start time");
	snprintf(key, sizeof(key), "%s ctty=%llu sid=%ld start=%llu", tty ? tty : "",
		 (unsigned long long)st.st_rdev, (long)sid, start);
	*ret_key = strdup(key);
	return *ret_key ? UP_OK : UP_ENOMEM;
}

static bool stepup_args_ok(struct up_ctx *ctx, const char *username, const char *service,
			   const char *tty)
{
	return ctx && ctx->cfg && username && service && service[0] && strlen(service) < 256 &&
	       (!tty || strlen(tty) < 256);
}

up_err up_stepup_record(struct up_ctx *ctx, const char *username, const char *service,
			const char *tty)
{
	struct stepup_ud s = {ctx, service, tty ? tty : ""};

	if (!stepup_args_ok(ctx, username, service, tty))
		return UP_EINVAL;
	return up_store_user_update(ctx, username, stepup_update, &s);
}

up_err up_stepup_check(struct up_ctx *ctx, const char *username, const char *service,
		       const char *tty, bool *ret_fresh)
{
	struct up_user_record *rec = NULL;
	int64_t now, max_age;
	bool fresh = false;
	up_err r;

	if (!stepup_args_ok(ctx, username, service, tty) || !ret_fresh)
		return UP_EINVAL;
	if (!tty)
		tty = "";
	max_age = ctx->cfg->max_auth_age;
	if (max_age <= 0) {
		*ret_fresh = false;
		return UP_OK;
	}
	r = up_store_user_read(ctx, username, &rec);
	if (r == UP_ENOENT) {
		*ret_fresh = false;
		return UP_OK;
	}
	if (r)
		return r;
	now = up_ctx_now(ctx);
	for (size_t i = 0; i < rec->n_stepups; i++) {
		const struct up_stepup *e = &rec->stepups[i];
		if (strcmp(e->service, service) == 0 && strcmp(e->tty, tty) == 0 && e->at <= now &&
		    now - e->at <= max_age)
			fresh = true;
	}
	up_user_record_free(rec);
	*ret_fresh = fresh;
	return UP_OK;
}

/* ---------------------------------------------------------------------- */
/* account phase (DESIGN §6, issue 16 item 3) */

static bool groups_allowed(const struct up_config *cfg, char *const *groups)
{
	if (!cfg->allow_groups || !cfg->allow_groups[0])
		return true;
	for (size_t i = 0; groups && groups[i]; i++)
		for (size_t k = 0; cfg->allow_groups[k]; k++)
			if (strcmp(groups[i], cfg->allow_groups[k]) == 0)
				return true;
	return false;
}

static up_err check_groups(struct up_ctx *ctx, const char *username, char *const *groups)
{
	if (groups_allowed(ctx->cfg, groups))
		return UP_OK;
	up_log(ctx, LOG_NOTICE, "%s is in none of allow_groups: refused", username);
	return up_fail(ctx, UP_EGROUP, "%s is in none of allow_groups", username);
}

struct refresh_ud {
	struct up_ctx *ctx;
	const char *sub;	    /* the record the refresh started from */
	const struct up_auth *auth; /* the verified refresh answer */
};

/* Under the user's lock: the fresh groups, ID token, last_online (and a
 * rotated refresh token) replace the cached ones in one atomic write. */
static up_err refresh_update(void *ud, const struct up_user_record *cur,
			     struct up_user_record **ret_new)
{
	struct refresh_ud *u = ud;
	struct up_user_record *rec;
	char **groups;
	char *id, *rt = NULL;
	up_err r;

	*ret_new = NULL;
	if (!cur || strcmp(cur->sub, u->sub) != 0)
		return up_fail(u->ctx, UP_ESTATE, "the cached entry changed during the check");
	r = record_dup(cur, &rec);
	if (r)
		return r;
	groups = up_strv_dup(u->auth->claims->groups);
	id = strdup(u->auth->id_token);
	if (u->auth->refresh_token)
		rt = strdup(u->auth->refresh_token);
	if (!groups || !id || (u->auth->refresh_token && !rt)) {
		up_strv_free(groups);
		up_free_secret(id);
		up_free_secret(rt);
		up_user_record_free(rec);
		return UP_ENOMEM;
	}
	up_strv_free(rec->groups);
	rec->groups = groups;
	up_free_secret(rec->id_token);
	rec->id_token = id;
	if (rt) {
		up_free_secret(rec->refresh_token);
		rec->refresh_token = rt;
	}
	rec->last_online = up_ctx_now(u->ctx);
	*ret_new = rec;
	return UP_OK;
}

static void purge_refused(struct up_ctx *ctx, const char *username, up_err why)
{
	char detail[sizeof(ctx->detail)];
	up_err o;

	snprintf(detail, sizeof(detail), "%s", ctx->detail);
	o = up_store_user_purge(ctx, username);
	if (!o)
		up_log(ctx, LOG_NOTICE,
		       "account %s: the pool refused the refresh (%s): cached "
		       "entry purged",
		       username, up_strerror(why));
	else if (o != UP_ENOENT)
		up_log(ctx, LOG_ERR, "cannot purge the cached entry of %s: %s", username,
		       ctx->detail);
	up_fail(ctx, why, "%s", detail);
}

/* The cache may stand in for the pool: last_online within `max_age` and
 * not in the future. */
static up_err cache_young(struct up_ctx *ctx, const struct up_user_record *rec, int64_t max_age,
			  const char *key)
{
	int64_t now = up_ctx_now(ctx);

	if (rec->last_online > now + ctx->cfg->leeway)
		return up_fail(ctx, UP_EOFFLINE,
			       "the cached entry's last online sign-in is in the "
			       "future");
	if (now - rec->last_online > max_age)
		return up_fail(ctx, UP_EOFFLINE,
			       "last online check %lld s ago is older than %s (%lld s)",
			       (long long)(now - rec->last_online), key, (long long)max_age);
	return UP_OK;
}

static up_err account_refresh(struct up_ctx *ctx, const char *username,
			      const struct up_user_record *rec)
{
	struct up_auth *auth = NULL;
	struct refresh_ud u = {ctx, rec->sub, NULL};
	up_err r;

	/* The record's username is the pool's name for the user (sign-in
	 * requires username_claim to equal it): Cognito computes SECRET_HASH
	 * of REFRESH_TOKEN_AUTH over that name, and the refreshed ID token is
	 * verified in full (signature, iss, aud, token_use, exp) for it. */
	r = up_provider(ctx)->refresh(ctx, username, rec->refresh_token, &auth);
	if (r == UP_ENOMEM)
		return r;
	if (r == UP_EDISABLED || r == UP_ENOUSER || r == UP_EDENIED) {
		/* NotAuthorized (disabled, revoked, expired), UserNotFound, OIDC
		 * invalid_grant: a definitive no. */
		purge_refused(ctx, username, r);
		return r;
	}
	if (r == UP_ETLS) {
		up_log(ctx, LOG_WARNING,
		       "account %s: TLS verification of the user pool failed: refused, never "
		       "treated as unreachable: %s",
		       username, ctx->detail);
		return r;
	}
	if (up_err_unreachable(r)) {
		char why[sizeof(ctx->detail)];
		up_err c;

		snprintf(why, sizeof(why), "%s", ctx->detail);
		if (!ctx->cfg->offline)
			return up_fail(ctx, r, "%s; offline = no", why);
		c = cache_young(ctx, rec, ctx->cfg->offline_max_age, "offline_max_age");
		if (c) {
			up_log(ctx, LOG_NOTICE, "account %s: the user pool is unreachable and %s",
			       username, ctx->detail);
			return c;
		}
		up_log(ctx, LOG_NOTICE,
		       "account %s: the user pool is unreachable (%s): cached entry used", username,
		       why);
		return check_groups(ctx, username, rec->groups);
	}
	if (r)
		return r;
	if (!auth->claims || !auth->claims->sub || strcmp(auth->claims->sub, rec->sub) != 0) {
		up_auth_free(auth);
		up_log(ctx, LOG_WARNING, "account %s: the refreshed token names another account",
		       username);
		return up_fail(ctx, UP_ESUBCHANGED, "the refreshed token names another account");
	}
	u.auth = auth;
	r = up_store_user_update(ctx, username, refresh_update, &u);
	if (r) {
		up_auth_free(auth);
		return r;
	}
	up_log(ctx, LOG_INFO, "account %s: checked with the user pool (refresh)", username);
	r = check_groups(ctx, username, auth->claims->groups);
	up_auth_free(auth);
	return r;
}

up_err up_account_check(struct up_ctx *ctx, const char *username, char *const *signin_groups)
{
	struct up_user_record *rec = NULL;
	up_err r;

	if (!ctx || !username)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	/* This handle signed the user in: its verified claims decide. */
	if (signin_groups)
		return check_groups(ctx, username, signin_groups);
	r = up_store_user_read(ctx, username, &rec);
	if (r)
		return r; /* UP_ENOENT: a user the module never saw */
	if (strcmp(rec->issuer, ctx->cfg->issuer) != 0 ||
	    strcmp(rec->client_id, ctx->cfg->client_id) != 0) {
		up_user_record_free(rec);
		return up_fail(ctx, UP_EOFFLINE, "cached entry bound to another pool or client");
	}
	if (rec->refresh_token) {
		r = account_refresh(ctx, username, rec);
	} else {
		r = cache_young(ctx, rec, ctx->cfg->account_max_age, "account_max_age");
		if (r)
			up_log(ctx, LOG_NOTICE, "account %s: no refresh token cached and %s",
			       username, ctx->detail);
		else
			r = check_groups(ctx, username, rec->groups);
	}
	up_user_record_free(rec);
	return r;
}

up_err up_session_close(struct up_ctx *ctx, const char *username)
{
	struct up_user_record *rec = NULL;
	up_err r;

	if (!ctx || !username)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	if (!ctx->cfg->revoke_on_close)
		return UP_OK;
	r = up_store_user_read(ctx, username, &rec);
	if (r == UP_ENOENT || (r == UP_OK && !rec->refresh_token)) {
		up_user_record_free(rec);
		return UP_OK;
	}
	if (r)
		return r;
	r = up_provider_revoke(ctx, rec->refresh_token);
	if (r) {
		up_log(ctx, LOG_ERR, "could not revoke the refresh token of %s: %s", username,
		       ctx->detail);
		up_user_record_free(rec);
		return r;
	}
	explicit_bzero(rec->refresh_token, strlen(rec->refresh_token));
	free(rec->refresh_token);
	rec->refresh_token = NULL;
	if (up_store_user_write(ctx, rec))
		up_log(ctx, LOG_WARNING, "revoked, but could not update the state of %s: %s",
		       username, ctx->detail);
	else
		up_log(ctx, LOG_INFO, "revoked the refresh token of %s at session close", username);
	up_user_record_free(rec);
	return UP_OK;
}

up_err up_password_change(struct up_ctx *ctx, const char *username, const struct up_auth *auth,
			  const char *old_password, const char *new_password)
{
	const struct up_provider_ops *ops;
	up_err r;

	if (!ctx || !username || !auth || !auth->access_token || !old_password || !new_password)
		return UP_EINVAL;
	if (!(ops = up_provider(ctx)))
		return UP_ECONFIG;
	if (!ops->change_password)
		return up_fail(ctx, UP_ECONFIG,
			       "provider = %s: change the password at the provider", ops->name);
	r = ops->change_password(ctx, auth->access_token, old_password, new_password);
	if (r)
		return r;
	up_log(ctx, LOG_INFO, "password of %s changed in the user pool", username);
	/* The offline verifier follows, and the TOTP secret held for offline
	 * sign-in is re-wrapped under the new password. */
	if (up_password_changed(ctx, username, old_password, new_password))
		up_log(ctx, LOG_WARNING, "could not update the offline verifier of %s: %s",
		       username, ctx->detail);
	return UP_OK;
}

/* A terminal the step-up window can be bound to: a device path or a tty
 * name, never a label (sshd's "ssh") or nothing. */
static bool stepup_tty_ok(const char *tty)
{
	return tty && (strncmp(tty, "/dev/", 5) == 0 || strncmp(tty, "tty", 3) == 0 ||
		       strncmp(tty, "pts/", 4) == 0);
}

/* The binding of the window here, or UP_ENOENT (detail: why) when the
 * window does not apply to this sign-in. */
static up_err stepup_here(struct up_ctx *ctx, const struct up_stepup_site *site, char **ret_key)
{
	*ret_key = NULL;
	if (ctx->cfg->max_auth_age <= 0)
		return up_fail(ctx, UP_ENOENT, "max_auth_age is 0");
	if (!stepup_tty_ok(site->tty))
		return up_fail(ctx, UP_ENOENT, "no terminal to bind the window to");
	return up_stepup_binding(ctx, site->login, site->ruser, site->tty, ret_key);
}

up_err up_stepup_try(struct up_ctx *ctx, const struct up_stepup_site *site,
		     struct up_user_record **ret_rec)
{
	struct up_user_record *rec = NULL;
	bool fresh = false;
	char *key = NULL;
	up_err r;

	if (!ctx || !site || !site->login || !site->username || !site->service || !ret_rec)
		return UP_EINVAL;
	*ret_rec = NULL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	r = stepup_here(ctx, site, &key);
	if (r)
		return r;
	r = up_stepup_check(ctx, site->username, site->service, key, &fresh);
	free(key);
	if (r)
		return r;
	if (!fresh)
		return up_fail(ctx, UP_ENOENT, "no MFA sign-in within max_auth_age here");
	r = up_store_user_read(ctx, site->username, &rec);
	if (r)
		return r;
	up_log(ctx, LOG_INFO, "%s: within max_auth_age of an MFA sign-in on %s; no prompt",
	       site->username, site->service);
	*ret_rec = rec;
	return UP_OK;
}

up_err up_stepup_note(struct up_ctx *ctx, const struct up_stepup_site *site,
		      const struct up_auth *auth)
{
	char *key = NULL;
	up_err r;

	if (!ctx || !site || !site->login || !site->username || !site->service || !auth)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	/* Only a sign-in with a second factor opens the window. */
	if (!auth->mfa || stepup_here(ctx, site, &key) != UP_OK) {
		up_log(ctx, LOG_DEBUG, "no step-up window opened: %s",
		       auth->mfa ? ctx->detail : "no second factor");
		return UP_OK;
	}
	r = up_stepup_record(ctx, site->username, site->service, key);
	free(key);
	if (r)
		up_log(ctx, LOG_WARNING, "could not record the step-up time: %s", ctx->detail);
	return r;
}

up_err up_signin_provision(struct up_ctx *ctx, const char *login, const struct up_auth *auth)
{
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];
	up_err r;

	if (!ctx || !login || !auth || !auth->claims)
		return UP_EINVAL;
	if (!ctx->cfg)
		return up_fail(ctx, UP_ECONFIG, "no configuration loaded");
	if (!up_nss_name_valid(login))
		return UP_OK; /* not a name the NSS files can hold: the local NSS decides */
	r = up_nss_provision_claims(ctx, login, auth->claims, NULL);
	if (r == UP_OK)
		return UP_OK;
	up_log(ctx, LOG_DEBUG, "no NSS entry for %s: %s", login, ctx->detail);
	/* uid_source = claim / hash refused to place the user (logged, with the
	 * reason for the person in up_ctx_user_message): no account, no
	 * sign-in. Sequential: an entry made otherwise (user add) still serves. */
	if (ctx->cfg->uid_source == UP_UID_SEQUENTIAL ||
	    (getpwnam_r(login, &pwbuf, buf, sizeof(buf), &pw) == 0 && pw))
		return UP_OK;
	return r;
}
