/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "ctx.h"
#include "log.h"
#include "secret.h"
#include "state.h"
#include "tpm.h"

/* The machine's TPM: see tpm.h for the design (keys, noDA, session). */

#define KEY_DIR "tpm"
#define KEY_FILE "hmac.key"
#define KEY_LOCK "hmac.lock"
#define KEY_MAGIC "userpool-tpm-hmac-v1\n"
#define KEY_FILE_MAX 4096u

static up_err key_id_of(const uint8_t *pub, size_t len, char keyid[UP_TPM_KEYID_LEN + 1])
{
	char hex[65];

	if (up_sha256_hex(pub, len, hex))
		return UP_EINTERNAL;
	memcpy(keyid, hex, UP_TPM_KEYID_LEN);
	keyid[UP_TPM_KEYID_LEN] = '\0';
	return UP_OK;
}

/* The key file: magic, then the marshalled TPM2B_PUBLIC and TPM2B_PRIVATE.
 * Find its public bytes and private bytes. */
static up_err key_file_split(struct up_ctx *ctx, const char *data, size_t len,
			     const uint8_t **ret_rest, size_t *ret_rest_len)
{
	size_t m = sizeof(KEY_MAGIC) - 1;

	if (len <= m || memcmp(data, KEY_MAGIC, m) != 0)
		return up_fail(ctx, UP_ESTATE, "state_dir/" KEY_DIR "/" KEY_FILE " is malformed");
	*ret_rest = (const uint8_t *)data + m;
	*ret_rest_len = len - m;
	return UP_OK;
}

/* The key id from the key file's bytes alone, without tpm2-tss (a build
 * without it, or its libraries missing): the public part's length is the
 * TPM2B's big-endian size + 2. */
static up_err key_file_keyid(struct up_ctx *ctx, const char *data, size_t len,
			     char keyid[UP_TPM_KEYID_LEN + 1])
{
	const uint8_t *rest = NULL;
	size_t rest_len = 0, pub_len;
	up_err r;

	r = key_file_split(ctx, data, len, &rest, &rest_len);
	if (r)
		return r;
	if (rest_len < 2)
		return up_fail(ctx, UP_ESTATE, "state_dir/" KEY_DIR "/" KEY_FILE " is malformed");
	pub_len = 2u + ((size_t)rest[0] << 8 | rest[1]);
	if (pub_len > rest_len)
		return up_fail(ctx, UP_ESTATE, "state_dir/" KEY_DIR "/" KEY_FILE " is malformed");
	return key_id_of(rest, pub_len, keyid);
}

#ifdef HAVE_TSS2

#include "tss.h"

#define DEFAULT_TCTI "device:/dev/tpmrm0"

bool up_tpm_built(void)
{
	return true;
}

struct tpm {
	const struct up_tss *f; /* tpm2-tss (lib/tss.c), loaded by tpm_open */
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	ESYS_TR session;
	ESYS_TR key;
};

static const char *tcti_conf(struct up_ctx *ctx)
{
	const char *t = ctx->cfg ? ctx->cfg->tpm_tcti : NULL;

	return t && t[0] ? t : DEFAULT_TCTI;
}

static up_err tss_fail(struct up_ctx *ctx, const struct tpm *t, up_err err, const char *what,
		       TSS2_RC rc)
{
	return up_fail(ctx, err, "TPM %s failed: %s", what, t->f->Tss2_RC_Decode(rc));
}

static void tpm_close(struct tpm *t)
{
	if (t->esys) {
		if (t->key != ESYS_TR_NONE)
			t->f->Esys_FlushContext(t->esys, t->key);
		if (t->session != ESYS_TR_NONE)
			t->f->Esys_FlushContext(t->esys, t->session);
		if (t->primary != ESYS_TR_NONE)
			t->f->Esys_FlushContext(t->esys, t->primary);
		t->f->Esys_Finalize(&t->esys);
	}
	if (t->tcti)
		t->f->Tss2_TctiLdr_Finalize(&t->tcti);
	t->key = t->session = t->primary = ESYS_TR_NONE;
}

/* Open the TCTI and ESAPI. A device TCTI whose node is missing is refused
 * before tpm2-tss is loaded (no cost on a machine without a TPM) and before
 * its TCTI loader is called (it would print to stderr). Missing tpm2-tss
 * libraries are a missing TPM, named in the detail. */
static up_err tpm_open(struct up_ctx *ctx, struct tpm *t)
{
	const char *conf = tcti_conf(ctx), *why = NULL;
	TSS2_RC rc;

	*t = (struct tpm){.primary = ESYS_TR_NONE, .session = ESYS_TR_NONE, .key = ESYS_TR_NONE};
	if (strncmp(conf, "device:", 7) == 0 && access(conf + 7, R_OK | W_OK) != 0)
		return up_fail(ctx, UP_EINTERNAL, "no TPM: %s: %s", conf + 7, strerror(errno));
	t->f = up_tss(&why);
	if (!t->f)
		return up_fail(ctx, UP_EINTERNAL, "no TPM: %s", why);
	rc = t->f->Tss2_TctiLdr_Initialize(conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(ctx, t, UP_EINTERNAL, "connection", rc);
	rc = t->f->Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_close(t);
		return tss_fail(ctx, t, UP_EINTERNAL, "context", rc);
	}
	return UP_OK;
}

/* An owner hierarchy with a password would turn every attempt into a failed
 * authorisation that counts towards the TPM's lockout: refuse it untried. */
static up_err owner_auth_empty(struct up_ctx *ctx, struct tpm *t)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more;
	TSS2_RC rc;
	bool set;

	rc = t->f->Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				      TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PERMANENT, 1, &more, &cap);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(ctx, t, UP_EINTERNAL, "GetCapability", rc);
	if (cap->data.tpmProperties.count < 1 ||
	    cap->data.tpmProperties.tpmProperty[0].property != TPM2_PT_PERMANENT) {
		t->f->Esys_Free(cap);
		return up_fail(ctx, UP_EINTERNAL, "TPM did not report TPM_PT_PERMANENT");
	}
	set = cap->data.tpmProperties.tpmProperty[0].value & TPMA_PERMANENT_OWNERAUTHSET;
	t->f->Esys_Free(cap);
	if (set)
		return up_fail(ctx, UP_EINTERNAL,
			       "the TPM's owner hierarchy has a password: not used (it would count "
			       "towards the TPM's lockout)");
	return UP_OK;
}

/* The primary: the TCG's ECC P-256 storage key template, noDA, empty unique:
 * the same TPM derives the same key from its owner seed every time. */
static up_err tpm_primary(struct up_ctx *ctx, struct tpm *t)
{
	const TPM2B_SENSITIVE_CREATE sens = {0};
	const TPM2B_PUBLIC pub = {
	    .publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
		.parameters.eccDetail =
		    {
			.symmetric = {.algorithm = TPM2_ALG_AES,
				      .keyBits.aes = 128,
				      .mode.aes = TPM2_ALG_CFB},
			.scheme = {.scheme = TPM2_ALG_NULL},
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = {.scheme = TPM2_ALG_NULL},
		    },
	    }};
	const TPM2B_DATA outside = {0};
	const TPML_PCR_SELECTION pcrs = {0};
	const TPMT_SYM_DEF sym = {
	    .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
	TSS2_RC rc;
	up_err r;

	r = owner_auth_empty(ctx, t);
	if (r)
		return r;
	rc = t->f->Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				      ESYS_TR_NONE, &sens, &pub, &outside, &pcrs, &t->primary, NULL,
				      NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->primary = ESYS_TR_NONE;
		return tss_fail(ctx, t, UP_EINTERNAL, "CreatePrimary", rc);
	}
	/* Salted through the primary: parameters travel encrypted. */
	rc = t->f->Esys_StartAuthSession(t->esys, t->primary, ESYS_TR_NONE, ESYS_TR_NONE,
					 ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym,
					 TPM2_ALG_SHA256, &t->session);
	if (rc != TSS2_RC_SUCCESS) {
		t->session = ESYS_TR_NONE;
		return tss_fail(ctx, t, UP_EINTERNAL, "StartAuthSession", rc);
	}
	rc = t->f->Esys_TRSess_SetAttributes(
	    t->esys, t->session,
	    TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(ctx, t, UP_EINTERNAL, "session attributes", rc);
	return UP_OK;
}

/* A new HMAC key under the primary: the TPM generates its secret. The key
 * file bytes (magic + public + private) into *ret_data. */
static up_err key_create(struct up_ctx *ctx, struct tpm *t, uint8_t **ret_data, size_t *ret_len)
{
	const TPM2B_SENSITIVE_CREATE sens = {0};
	const TPM2B_PUBLIC tmpl = {
	    .publicArea = {
		.type = TPM2_ALG_KEYEDHASH,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
				    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
				    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
		.parameters.keyedHashDetail.scheme = {.scheme = TPM2_ALG_HMAC,
						      .details.hmac.hashAlg = TPM2_ALG_SHA256},
	    }};
	const TPM2B_DATA outside = {0};
	const TPML_PCR_SELECTION pcrs = {0};
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	size_t m = sizeof(KEY_MAGIC) - 1, off = m;
	uint8_t *buf;
	TSS2_RC rc;

	rc = t->f->Esys_Create(t->esys, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       &sens, &tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(ctx, t, UP_EINTERNAL, "Create (HMAC key)", rc);
	buf = malloc(KEY_FILE_MAX);
	if (!buf) {
		t->f->Esys_Free(priv);
		t->f->Esys_Free(pub);
		return UP_ENOMEM;
	}
	memcpy(buf, KEY_MAGIC, m);
	rc = t->f->Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, KEY_FILE_MAX, &off);
	if (rc == TSS2_RC_SUCCESS)
		rc = t->f->Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, KEY_FILE_MAX, &off);
	t->f->Esys_Free(priv);
	t->f->Esys_Free(pub);
	if (rc != TSS2_RC_SUCCESS) {
		free(buf);
		return tss_fail(ctx, t, UP_EINTERNAL, "marshal (HMAC key)", rc);
	}
	*ret_data = buf;
	*ret_len = off;
	return UP_OK;
}

/* Parse the key file bytes into public and private parts; keyid from the
 * public bytes. */
static up_err key_parse(struct up_ctx *ctx, const struct up_tss *f, const char *data, size_t len,
			TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv, char keyid[UP_TPM_KEYID_LEN + 1])
{
	const uint8_t *rest = NULL;
	size_t rest_len = 0, off = 0, pub_len;
	up_err r;

	r = key_file_split(ctx, data, len, &rest, &rest_len);
	if (r)
		return r;
	*pub = (TPM2B_PUBLIC){0};
	*priv = (TPM2B_PRIVATE){0};
	if (f->Tss2_MU_TPM2B_PUBLIC_Unmarshal(rest, rest_len, &off, pub) != TSS2_RC_SUCCESS)
		return up_fail(ctx, UP_ESTATE,
			       "state_dir/" KEY_DIR "/" KEY_FILE ": bad public part");
	pub_len = off;
	if (f->Tss2_MU_TPM2B_PRIVATE_Unmarshal(rest, rest_len, &off, priv) != TSS2_RC_SUCCESS ||
	    off != rest_len)
		return up_fail(ctx, UP_ESTATE,
			       "state_dir/" KEY_DIR "/" KEY_FILE ": bad private part");
	if (pub->publicArea.type != TPM2_ALG_KEYEDHASH ||
	    !(pub->publicArea.objectAttributes & TPMA_OBJECT_FIXEDTPM))
		return up_fail(ctx, UP_ESTATE,
			       "state_dir/" KEY_DIR "/" KEY_FILE ": not a TPM-bound HMAC key");
	return key_id_of(rest, pub_len, keyid);
}

/* Does this TPM response code say the blob was not made under this primary
 * (another TPM, or this one cleared since)? */
static bool rc_not_ours(TSS2_RC rc)
{
	TSS2_RC tpm_rc;

	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER || !(rc & TPM2_RC_FMT1))
		return false;
	tpm_rc = rc & (TPM2_RC_FMT1 | 0x3f);
	return tpm_rc == TPM2_RC_INTEGRITY || tpm_rc == TPM2_RC_BINDING || tpm_rc == TPM2_RC_SIZE ||
	       tpm_rc == TPM2_RC_VALUE;
}

static up_err key_load(struct up_ctx *ctx, struct tpm *t, const char *data, size_t len,
		       char keyid[UP_TPM_KEYID_LEN + 1])
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TSS2_RC rc;
	up_err r;

	r = key_parse(ctx, t->f, data, len, &pub, &priv, keyid);
	if (r)
		return r;
	rc = t->f->Esys_Load(t->esys, t->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			     &priv, &pub, &t->key);
	up_wipe(&priv, sizeof(priv));
	if (rc != TSS2_RC_SUCCESS) {
		t->key = ESYS_TR_NONE;
		if (rc_not_ours(rc))
			return up_fail(ctx, UP_ENOKEY,
				       "the TPM does not load the machine key %s (cleared, or "
				       "state_dir comes from another machine): %s",
				       keyid, t->f->Tss2_RC_Decode(rc));
		return tss_fail(ctx, t, UP_EINTERNAL, "Load (HMAC key)", rc);
	}
	return UP_OK;
}

/* Read the key file; UP_ENOENT when absent. */
static up_err key_read(struct up_ctx *ctx, int dirfd, char **ret_data, size_t *ret_len)
{
	return up_state_read(ctx, dirfd, KEY_FILE, KEY_FILE_MAX, ret_data, ret_len);
}

/* Load the machine key, creating (or replacing a key this TPM no longer
 * loads) under the key lock when `create`. */
static up_err key_get(struct up_ctx *ctx, struct tpm *t, int dirfd, bool create,
		      char keyid[UP_TPM_KEYID_LEN + 1])
{
	uint8_t *fresh = NULL;
	char *data = NULL;
	size_t len = 0, fresh_len = 0;
	int lockfd = -1;
	up_err r;

	r = key_read(ctx, dirfd, &data, &len);
	if (!r) {
		r = key_load(ctx, t, data, len, keyid);
		free(data);
		data = NULL;
		if (!r || r != UP_ENOKEY || !create)
			return r;
	} else if (r != UP_ENOENT || !create) {
		return r == UP_ENOENT ? up_fail(ctx, UP_ENOKEY, "no machine key in state_dir/tpm")
				      : r;
	}
	/* Create (or replace) under the lock; another process may have done it
	 * meanwhile: try what is there first. */
	r = up_state_lock(ctx, dirfd, KEY_LOCK, &lockfd);
	if (r)
		return r;
	if (flock(lockfd, LOCK_EX) != 0) {
		close(lockfd);
		return up_fail(ctx, UP_ESTATE, "cannot lock the TPM key: %s", strerror(errno));
	}
	r = key_read(ctx, dirfd, &data, &len);
	if (!r) {
		r = key_load(ctx, t, data, len, keyid);
		free(data);
		if (r != UP_ENOKEY)
			goto out;
		up_log(ctx, LOG_WARNING,
		       "replacing the TPM machine key %s: this TPM no longer "
		       "loads it; records bound to it need an online sign-in",
		       keyid);
	} else if (r != UP_ENOENT) {
		goto out;
	}
	r = key_create(ctx, t, &fresh, &fresh_len);
	if (!r)
		r = up_state_write(ctx, dirfd, KEY_FILE, fresh, fresh_len, 0600);
	if (!r)
		r = key_load(ctx, t, (const char *)fresh, fresh_len, keyid);
	if (!r)
		up_log(ctx, LOG_NOTICE, "created the TPM machine key %s", keyid);
	free(fresh);
out:
	close(lockfd);
	return r;
}

up_err up_tpm_hmac(struct up_ctx *ctx, bool create, const uint8_t *in, size_t in_len,
		   uint8_t out[UP_TPM_HMAC_LEN], char keyid[UP_TPM_KEYID_LEN + 1])
{
	TPM2B_MAX_BUFFER buf = {0};
	TPM2B_DIGEST *mac = NULL;
	struct tpm t;
	int dirfd = -1;
	TSS2_RC rc;
	up_err r;

	if (!ctx || !in || !in_len || in_len > UP_TPM_IN_MAX || !out || !keyid)
		return UP_EINVAL;
	up_wipe(out, UP_TPM_HMAC_LEN);
	r = up_state_dir(ctx, KEY_DIR, &dirfd);
	if (r)
		return r;
	r = tpm_open(ctx, &t);
	if (!r)
		r = tpm_primary(ctx, &t);
	if (!r)
		r = key_get(ctx, &t, dirfd, create, keyid);
	close(dirfd);
	if (r) {
		tpm_close(&t);
		return r;
	}
	buf.size = (UINT16)in_len;
	memcpy(buf.buffer, in, in_len);
	rc = t.f->Esys_HMAC(t.esys, t.key, t.session, ESYS_TR_NONE, ESYS_TR_NONE, &buf,
			    TPM2_ALG_SHA256, &mac);
	up_wipe(&buf, sizeof(buf));
	if (rc != TSS2_RC_SUCCESS)
		r = tss_fail(ctx, &t, UP_EINTERNAL, "HMAC", rc);
	else if (mac->size != UP_TPM_HMAC_LEN)
		r = up_fail(ctx, UP_EINTERNAL, "TPM HMAC of %u bytes", (unsigned)mac->size);
	else
		memcpy(out, mac->buffer, UP_TPM_HMAC_LEN);
	if (mac) {
		up_wipe(mac, sizeof(*mac));
		t.f->Esys_Free(mac);
	}
	tpm_close(&t);
	if (r)
		up_wipe(out, UP_TPM_HMAC_LEN);
	return r;
}

up_err up_tpm_wanted(struct up_ctx *ctx, bool *ret_use)
{
	struct tpm t;
	up_err r;

	if (!ctx || !ctx->cfg || !ret_use)
		return UP_EINVAL;
	if (ctx->cfg->tpm == UP_TPM_NO) {
		*ret_use = false;
		return UP_OK;
	}
	r = tpm_open(ctx, &t);
	if (!r)
		r = owner_auth_empty(ctx, &t);
	tpm_close(&t);
	if (r && ctx->cfg->tpm == UP_TPM_YES)
		return r;
	*ret_use = !r;
	return UP_OK;
}

up_err up_tpm_key_state(struct up_ctx *ctx, char keyid[UP_TPM_KEYID_LEN + 1], bool *ret_reachable,
			bool *ret_loads)
{
	const struct up_tss *f = NULL;
	char *data = NULL;
	struct tpm t;
	size_t len = 0;
	int dirfd = -1;
	up_err r;

	if (!ctx || !keyid || !ret_reachable || !ret_loads)
		return UP_EINVAL;
	*ret_reachable = *ret_loads = false;
	keyid[0] = '\0';
	r = up_state_dir(ctx, KEY_DIR, &dirfd);
	if (r)
		return r;
	r = key_read(ctx, dirfd, &data, &len);
	close(dirfd);
	/* tpm2-tss missing: the key id still shows */
	f = r ? NULL : up_tss(NULL);
	if (f) {
		TPM2B_PUBLIC pub;
		TPM2B_PRIVATE priv;

		r = key_parse(ctx, f, data, len, &pub, &priv, keyid);
	} else if (!r) {
		r = key_file_keyid(ctx, data, len, keyid);
	}
	if (tpm_open(ctx, &t) == UP_OK) {
		*ret_reachable = owner_auth_empty(ctx, &t) == UP_OK;
		if (!r && *ret_reachable && tpm_primary(ctx, &t) == UP_OK) {
			char id[UP_TPM_KEYID_LEN + 1];

			*ret_loads = key_load(ctx, &t, data, len, id) == UP_OK;
		}
		tpm_close(&t);
	}
	free(data);
	return r;
}

#else /* !HAVE_TSS2 */

bool up_tpm_built(void)
{
	return false;
}

up_err up_tpm_wanted(struct up_ctx *ctx, bool *ret_use)
{
	if (!ctx || !ctx->cfg || !ret_use)
		return UP_EINVAL;
	/* config.c refuses tpm = yes in such a build */
	if (ctx->cfg->tpm == UP_TPM_YES)
		return up_fail(ctx, UP_ECONFIG, "tpm = yes, but built without TPM support");
	*ret_use = false;
	return UP_OK;
}

up_err up_tpm_hmac(struct up_ctx *ctx, bool create, const uint8_t *in, size_t in_len,
		   uint8_t out[UP_TPM_HMAC_LEN], char keyid[UP_TPM_KEYID_LEN + 1])
{
	(void)create;
	(void)in;
	(void)in_len;
	(void)keyid;
	if (out)
		up_wipe(out, UP_TPM_HMAC_LEN);
	return up_fail(ctx, UP_ENOKEY, "built without TPM support");
}

up_err up_tpm_key_state(struct up_ctx *ctx, char keyid[UP_TPM_KEYID_LEN + 1], bool *ret_reachable,
			bool *ret_loads)
{
	char *data = NULL;
	size_t len = 0;
	int dirfd = -1;
	up_err r;

	if (!ctx || !keyid || !ret_reachable || !ret_loads)
		return UP_EINVAL;
	*ret_reachable = *ret_loads = false;
	keyid[0] = '\0';
	r = up_state_dir(ctx, KEY_DIR, &dirfd);
	if (r)
		return r;
	r = up_state_read(ctx, dirfd, KEY_FILE, KEY_FILE_MAX, &data, &len);
	close(dirfd);
	if (!r)
		r = key_file_keyid(ctx, data, len, keyid);
	free(data);
	return r;
}

#endif

/* Both builds: the summary `userpool status` shows. */
up_err up_tpm_info(struct up_ctx *ctx, struct up_tpm_info *ret)
{
	bool reachable = false, loads = false, used = false;
	char keyid[UP_TPM_KEYID_LEN + 1] = "", why[sizeof(ctx->detail)] = "";
	up_err r;

	if (!ctx || !ctx->cfg || !ret)
		return UP_EINVAL;
	*ret = (struct up_tpm_info){
	    .mode = ctx->cfg->tpm, .tcti = ctx->cfg->tpm_tcti, .built = up_tpm_built()};
	r = up_tpm_key_state(ctx, keyid, &reachable, &loads);
	if (r && r != UP_ENOENT)
		return r;
	/* not reachable: the TPM's failure (no device, tpm2-tss missing, an
	 * owner password) was the last detail set */
	if (!reachable)
		snprintf(why, sizeof(why), "%s", ctx->detail);
	if (up_tpm_wanted(ctx, &used) != UP_OK)
		used = false;
	if (ret->built && !reachable)
		up_fail(ctx, UP_OK, "%s", why);
	ret->reachable = reachable;
	ret->loads = loads;
	ret->used = used;
	memcpy(ret->keyid, keyid, sizeof(ret->keyid));
	return UP_OK;
}
