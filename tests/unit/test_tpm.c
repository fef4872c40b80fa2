/* SPDX-License-Identifier: Apache-2.0 */
/* lib/tpm.c against swtpm on 127.0.0.1: the machine key's HMAC is stable
 * across processes and TPM restarts, differs on another TPM, and a cleared
 * TPM or a copied state_dir no longer computes it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "../../lib/store_int.h"
#include "../../lib/tpm.h"
#include "swtpm.h"
#include "testlib.h"

#define ISSUER "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1"

struct fx {
	char *dir;
	struct t_log log;
	struct t_clock clock;
	struct t_swtpm tpm;
	char *tpm_state; /* dir/tpmA */
};

static const uint8_t in_a[32] = "the scrypt output of password A";
static const uint8_t in_b[32] = "the scrypt output of password B";

static struct up_ctx *make_ctx(struct fx *f, const char *state, const char *tpm, const char *tcti)
{
	char *cfg = NULL;
	struct up_ctx *ctx;

	assert_true(asprintf(&cfg,
			     "user_pool_id = us-east-1_TestPool1\n"
			     "client_id = testclient0001\n"
			     "issuer = " ISSUER "\n"
			     "state_dir = %s/%s\n"
			     "tpm = %s\n"
			     "tpm_tcti = %s\n",
			     f->dir, state, tpm, tcti) > 0);
	ctx = t_ctx_with_config(f->dir, cfg, &f->log, &f->clock);
	free(cfg);
	return ctx;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = t_mkdtemp();
	f->clock.now = 1700000000;
	assert_true(asprintf(&f->tpm_state, "%s/tpmA", f->dir) > 0);
	assert_int_equal(mkdir(f->tpm_state, 0700), 0);
	if (t_swtpm_binary())
		t_swtpm_start(&f->tpm, f->tpm_state);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	t_swtpm_stop(&f->tpm);
	t_rmtree(f->dir);
	free(f->dir);
	free(f->tpm_state);
	free(f);
	return 0;
}

#define NEED_SWTPM(f)                                                                              \
	do {                                                                                       \
		if (!(f)->tpm.pid) {                                                               \
			print_message("swtpm is not installed\n");                                \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static up_err hmac(struct fx *f, const char *state, const char *tcti, bool create,
		   const uint8_t *in, uint8_t out[UP_TPM_HMAC_LEN], char keyid[UP_TPM_KEYID_LEN + 1])
{
	struct up_ctx *ctx = make_ctx(f, state, "yes", tcti);
	up_err r = up_tpm_hmac(ctx, create, in, 32, out, keyid);

	up_ctx_free(ctx);
	return r;
}

static void copy_file(const char *from, const char *to_dir, const char *name)
{
	char *path = NULL, buf[4096];
	ssize_t n;
	int in, out;

	in = open(from, O_RDONLY);
	assert_true(in >= 0);
	assert_true(asprintf(&path, "%s/%s", to_dir, name) > 0);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	free(path);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* Clear the TPM (TPM2_Clear with the empty lockout authorisation): new owner
 * seed, so nothing wrapped under the old primary loads any more. */
static void tpm_clear(const char *tcti)
{
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *e = NULL;

	assert_int_equal(Tss2_TctiLdr_Initialize(tcti, &t), TSS2_RC_SUCCESS);
	assert_int_equal(Esys_Initialize(&e, t, NULL), TSS2_RC_SUCCESS);
	assert_int_equal(Esys_Clear(e, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				    ESYS_TR_NONE),
			 TSS2_RC_SUCCESS);
	Esys_Finalize(&e);
	Tss2_TctiLdr_Finalize(&t);
}

static void test_stable(void **state)
{
	struct fx *f = *state;
	uint8_t a1[32], a2[32], b[32];
	char id1[17], id2[17];

	NEED_SWTPM(f);
	/* no key yet: without create there is nothing to compute with */
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_a, a1, id1), UP_ENOKEY);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, true, in_a, a1, id1), UP_OK);
	assert_int_equal(strlen(id1), UP_TPM_KEYID_LEN);
	/* another context (another process's view), no create */
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_a, a2, id2), UP_OK);
	assert_memory_equal(a1, a2, 32);
	assert_string_equal(id1, id2);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_b, b, id2), UP_OK);
	assert_memory_not_equal(a1, b, 32);
	/* create on an existing key keeps it */
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, true, in_a, a2, id2), UP_OK);
	assert_memory_equal(a1, a2, 32);
	assert_string_equal(id1, id2);

	/* the TPM restarted (a reboot): the primary re-derives, same HMAC */
	t_swtpm_stop(&f->tpm);
	t_swtpm_start(&f->tpm, f->tpm_state);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_a, a2, id2), UP_OK);
	assert_memory_equal(a1, a2, 32);
	assert_string_equal(id1, id2);

	/* the key file holds no HMAC key in the clear: it is not the HMAC
	 * that software could compute from it (a weak but real check: the
	 * file's bytes do not contain the output) */
	{
		char path[1024], buf[4096];
		ssize_t n;
		struct stat st;
		int fd;

		snprintf(path, sizeof(path), "%s/s1/tpm/hmac.key", f->dir);
		fd = open(path, O_RDONLY | O_NOFOLLOW);
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
		n = read(fd, buf, sizeof(buf));
		close(fd);
		assert_true(n > 32);
		assert_null(memmem(buf, (size_t)n, a1, 32));
	}
}

static void test_other_machine(void **state)
{
	struct fx *f = *state;
	struct t_swtpm other;
	uint8_t a1[32], a2[32];
	char id1[17], id2[17], path[1024], *other_state = NULL, *dst = NULL;

	NEED_SWTPM(f);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, true, in_a, a1, id1), UP_OK);
	assert_true(asprintf(&other_state, "%s/tpmB", f->dir) > 0);
	assert_int_equal(mkdir(other_state, 0700), 0);
	t_swtpm_start(&other, other_state);

	/* state_dir copied to another machine (its own TPM) */
	assert_true(asprintf(&dst, "%s/s2", f->dir) > 0);
	assert_int_equal(mkdir(dst, 0700), 0);
	snprintf(path, sizeof(path), "%s/tpm", dst);
	assert_int_equal(mkdir(path, 0700), 0);
	{
		char src[1024];

		snprintf(src, sizeof(src), "%s/s1/tpm/hmac.key", f->dir);
		copy_file(src, path, "hmac.key");
	}
	t_log_reset(&f->log);
	assert_int_equal(hmac(f, "s2", other.tcti, false, in_a, a2, id2), UP_ENOKEY);
	for (size_t i = 0; i < 32; i++)
		assert_int_equal(a2[i], 0); /* wiped, nothing computed */

	/* its own key there computes something else */
	assert_int_equal(hmac(f, "s3", other.tcti, true, in_a, a2, id2), UP_OK);
	assert_memory_not_equal(a1, a2, 32);
	assert_string_not_equal(id1, id2);
	t_swtpm_stop(&other);
	free(other_state);
	free(dst);
}

static void test_cleared(void **state)
{
	struct fx *f = *state;
	uint8_t a1[32], a2[32];
	char id1[17], id2[17];

	NEED_SWTPM(f);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, true, in_a, a1, id1), UP_OK);
	tpm_clear(f->tpm.tcti);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_a, a2, id2), UP_ENOKEY);
	/* the next online sign-in (create) makes a new key: another id and
	 * another HMAC, so records of the old key cannot match by accident */
	t_log_reset(&f->log);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, true, in_a, a2, id2), UP_OK);
	assert_true(t_log_contains(&f->log, "replacing the TPM machine key"));
	assert_string_not_equal(id1, id2);
	assert_memory_not_equal(a1, a2, 32);
}

static void test_wanted(void **state)
{
	struct fx *f = *state;
	struct up_ctx *ctx;
	bool use = true;
	char dead[96];
	int port;

	/* tpm = no never looks */
	ctx = make_ctx(f, "s1", "no", "device:/dev/tpm-none");
	assert_int_equal(up_tpm_wanted(ctx, &use), UP_OK);
	assert_false(use);
	up_ctx_free(ctx);
	/* auto without a TPM: scrypt-only, no error */
	use = true;
	ctx = make_ctx(f, "s1", "auto", "device:/dev/tpm-none");
	assert_int_equal(up_tpm_wanted(ctx, &use), UP_OK);
	assert_false(use);
	up_ctx_free(ctx);
	/* yes without a TPM: refused */
	ctx = make_ctx(f, "s1", "yes", "device:/dev/tpm-none");
	assert_int_not_equal(up_tpm_wanted(ctx, &use), UP_OK);
	up_ctx_free(ctx);
	if (!f->tpm.pid) {
		print_message("swtpm is not installed\n");
		skip();
	}
	/* a swtpm TCTI nobody listens on: auto says no, yes refuses */
	port = f->tpm.ctrl_port; /* the control port does not speak the TPM protocol */
	t_swtpm_stop(&f->tpm);
	snprintf(dead, sizeof(dead), "swtpm:host=127.0.0.1,port=%d", port);
	use = true;
	ctx = make_ctx(f, "s1", "auto", dead);
	assert_int_equal(up_tpm_wanted(ctx, &use), UP_OK);
	assert_false(use);
	up_ctx_free(ctx);
	ctx = make_ctx(f, "s1", "yes", dead);
	assert_int_not_equal(up_tpm_wanted(ctx, &use), UP_OK);
	up_ctx_free(ctx);
	t_swtpm_start(&f->tpm, f->tpm_state);
	ctx = make_ctx(f, "s1", "auto", f->tpm.tcti);
	assert_int_equal(up_tpm_wanted(ctx, &use), UP_OK);
	assert_true(use);
	up_ctx_free(ctx);
}

/* An owner password would make every attempt a DA-counted failure: the TPM
 * is then not used at all (never tried). */
static void test_owner_auth(void **state)
{
	struct fx *f = *state;
	TSS2_TCTI_CONTEXT *t = NULL;
	ESYS_CONTEXT *e = NULL;
	TPM2B_AUTH auth = {.size = 4, .buffer = "pw12"};
	uint8_t a1[32];
	char id1[17];
	bool use = true;
	struct up_ctx *ctx;

	NEED_SWTPM(f);
	assert_int_equal(Tss2_TctiLdr_Initialize(f->tpm.tcti, &t), TSS2_RC_SUCCESS);
	assert_int_equal(Esys_Initialize(&e, t, NULL), TSS2_RC_SUCCESS);
	assert_int_equal(Esys_HierarchyChangeAuth(e, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
						  ESYS_TR_NONE, ESYS_TR_NONE, &auth),
			 TSS2_RC_SUCCESS);
	Esys_Finalize(&e);
	Tss2_TctiLdr_Finalize(&t);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, true, in_a, a1, id1), UP_EINTERNAL);
	ctx = make_ctx(f, "s1", "auto", f->tpm.tcti);
	assert_int_equal(up_tpm_wanted(ctx, &use), UP_OK);
	assert_false(use);
	up_ctx_free(ctx);
}

/* The key file is a state file: group-writable or a symlink is refused. */
static void test_key_file_checks(void **state)
{
	struct fx *f = *state;
	uint8_t a1[32];
	char id1[17], path[1024], link[1024], keyid[17];
	bool reach, loads;
	struct up_ctx *ctx;

	NEED_SWTPM(f);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, true, in_a, a1, id1), UP_OK);
	ctx = make_ctx(f, "s1", "auto", f->tpm.tcti);
	assert_int_equal(up_tpm_key_state(ctx, keyid, &reach, &loads), UP_OK);
	assert_string_equal(keyid, id1);
	assert_true(reach);
	assert_true(loads);
	up_ctx_free(ctx);
	snprintf(path, sizeof(path), "%s/s1/tpm/hmac.key", f->dir);
	assert_int_equal(chmod(path, 0620), 0);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_a, a1, id1), UP_ESTATE);
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s/s1/tpm/real.key", f->dir);
	assert_int_equal(rename(path, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_a, a1, id1), UP_ESTATE);
}

/* ---------------------------------------------------------------------- */
/* the tpm1 verifier scheme (lib/store.c) */

#define PW "correct horse"

static char *new_verifier(struct fx *f, const char *state, const char *tpm, const char *tcti,
			  uint8_t kek[UP_MFA_KEY_LEN], up_err *ret)
{
	struct up_ctx *ctx = make_ctx(f, state, tpm, tcti);
	char *v = NULL;

	t_log_reset(&f->log);
	*ret = up_verifier_new_kek(ctx, PW, &v, kek);
	up_ctx_free(ctx);
	return v;
}

static up_err check(struct fx *f, const char *state, const char *tcti, const char *v,
		    const char *pw, uint8_t kek[UP_MFA_KEY_LEN], bool *has, char *detail, size_t dlen)
{
	struct up_ctx *ctx = make_ctx(f, state, "auto", tcti);
	up_err r = up_verifier_check_kek(ctx, v, pw, kek, has);

	if (detail)
		snprintf(detail, dlen, "%s", up_ctx_detail(ctx));
	up_ctx_free(ctx);
	return r;
}

static bool current(struct fx *f, const char *state, const char *tpm, const char *tcti,
		    const char *v)
{
	struct up_ctx *ctx = make_ctx(f, state, tpm, tcti);
	bool cur = up_verifier_current(ctx, v);

	up_ctx_free(ctx);
	return cur;
}

/* A record made with the TPM checks through it, yields its KEK, names its
 * key; the scrypt stage is the cheaper one; scrypt2 records are upgraded. */
static void test_tpm1_verifier(void **state)
{
	struct fx *f = *state;
	uint8_t kek1[32], kek2[32];
	char keyid[17], id[17], prefix[64], *v, *v2;
	bool has = false;
	up_err r;

	NEED_SWTPM(f);
	v = new_verifier(f, "s1", "yes", f->tpm.tcti, kek1, &r);
	assert_int_equal(r, UP_OK);
	assert_string_equal(up_verifier_scheme(v, keyid), "tpm1");
	assert_int_equal(hmac(f, "s1", f->tpm.tcti, false, in_a, kek2, id), UP_OK);
	assert_string_equal(keyid, id);
	snprintf(prefix, sizeof(prefix), "tpm1$%s$16384$8$1$", keyid);
	assert_true(strncmp(v, prefix, strlen(prefix)) == 0);
	assert_int_equal(check(f, "s1", f->tpm.tcti, v, PW, kek2, &has, NULL, 0), UP_OK);
	assert_true(has);
	assert_memory_equal(kek1, kek2, 32);
	assert_int_equal(check(f, "s1", f->tpm.tcti, v, "correct hors", kek2, &has, NULL, 0),
			 UP_EDENIED);
	assert_false(has);
	assert_true(current(f, "s1", "auto", f->tpm.tcti, v));
	/* tpm = no: the next online sign-in writes scrypt2 instead */
	assert_false(current(f, "s1", "no", f->tpm.tcti, v));

	/* a scrypt2 record (made without the TPM) still checks, and is not
	 * current once a TPM is usable: upgraded at the next online sign-in */
	v2 = new_verifier(f, "s1", "no", f->tpm.tcti, kek1, &r);
	assert_int_equal(r, UP_OK);
	assert_string_equal(up_verifier_scheme(v2, keyid), "scrypt2");
	assert_string_equal(keyid, "");
	assert_int_equal(check(f, "s1", f->tpm.tcti, v2, PW, kek2, &has, NULL, 0), UP_OK);
	assert_true(current(f, "s1", "no", f->tpm.tcti, v2));
	assert_false(current(f, "s1", "auto", f->tpm.tcti, v2));

	/* the stored key is not the scrypt2 key of the same salt: rewriting
	 * the scheme word to scrypt2 (a weaker check) matches nothing */
	{
		size_t off = strcspn(v + 5, "$") + 5;
		char *edited = NULL;

		assert_true(asprintf(&edited, "scrypt2%s", v + off) > 0);
		/* tpm1 parameters are below scrypt2's floor: refused, not checked */
		assert_int_equal(check(f, "s1", f->tpm.tcti, edited, PW, kek2, &has, NULL, 0),
				 UP_ESTATE);
		free(edited);
	}
	free(v);
	free(v2);
}

/* Bounds of the tpm1 form: key id, the cheaper stage's floor. */
static void test_tpm1_parse(void **state)
{
	static const char *const bad[] = {
	    "tpm1$0123456789abcdeF$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "tpm1$0123456789abcde$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "tpm1$0123456789abcdef$8192$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "tpm1$0123456789abcdef$16384$4$2$AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "tpm1$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "tpm2$0123456789abcdef$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	struct fx *f = *state;
	char id[17];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(up_verifier_scheme(bad[i], id));
		assert_int_equal(check(f, "s1", "device:/dev/tpm-none", bad[i], PW, NULL, NULL,
				       NULL, 0),
				 UP_ESTATE);
	}
	assert_string_equal(up_verifier_scheme("tpm1$0123456789abcdef$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$"
					       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
					       id),
			    "tpm1");
	assert_string_equal(id, "0123456789abcdef");
}

/* A state_dir copied to another machine, a cleared TPM, no TPM at all: the
 * tpm1 record is refused (UP_ENOKEY, the log line), for the right password
 * and the wrong one alike, and never checked against anything weaker. */
static void test_tpm1_gone(void **state)
{
	struct fx *f = *state;
	struct t_swtpm other;
	char detail[512], src[1024], path[1024], *other_state = NULL, *v, *v2;
	uint8_t kek[32];
	bool has = true;
	up_err r;

	NEED_SWTPM(f);
	v = new_verifier(f, "s1", "auto", f->tpm.tcti, kek, &r);
	assert_int_equal(r, UP_OK);
	assert_string_equal(up_verifier_scheme(v, NULL), "tpm1");
	/* copied to another machine: its own TPM does not load the key */
	assert_true(asprintf(&other_state, "%s/tpmB", f->dir) > 0);
	assert_int_equal(mkdir(other_state, 0700), 0);
	t_swtpm_start(&other, other_state);
	snprintf(path, sizeof(path), "%s/s2", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/s2/tpm", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(src, sizeof(src), "%s/s1/tpm/hmac.key", f->dir);
	copy_file(src, path, "hmac.key");
	for (int wrong = 0; wrong < 2; wrong++) {
		assert_int_equal(check(f, "s2", other.tcti, v, wrong ? "x" : PW, kek, &has, detail,
				       sizeof(detail)),
				 UP_ENOKEY);
		assert_false(has);
		assert_non_null(strstr(detail, "the TPM that sealed this record is gone: sign in "
						"online once"));
	}
	/* no TPM reachable at all */
	assert_int_equal(check(f, "s1", "device:/dev/tpm-none", v, PW, kek, &has, detail,
			       sizeof(detail)),
			 UP_ENOKEY);
	assert_non_null(strstr(detail, "the TPM that sealed this record is gone"));
	t_swtpm_stop(&other);

	/* cleared: refused; the next online sign-in re-binds to a new key, and
	 * the old record stays refused (its key id is not the new key's) */
	tpm_clear(f->tpm.tcti);
	assert_int_equal(check(f, "s1", f->tpm.tcti, v, PW, kek, &has, detail, sizeof(detail)),
			 UP_ENOKEY);
	assert_non_null(strstr(detail, "the TPM that sealed this record is gone"));
	v2 = new_verifier(f, "s1", "auto", f->tpm.tcti, kek, &r);
	assert_int_equal(r, UP_OK);
	assert_string_equal(up_verifier_scheme(v2, NULL), "tpm1");
	assert_int_equal(check(f, "s1", f->tpm.tcti, v2, PW, kek, &has, NULL, 0), UP_OK);
	assert_int_equal(check(f, "s1", f->tpm.tcti, v, PW, kek, &has, detail, sizeof(detail)),
			 UP_ENOKEY);
	assert_non_null(strstr(detail, "the machine key is now"));
	free(v);
	free(v2);
	free(other_state);
}

/* No TPM: auto makes scrypt2 records, yes makes none (and says why). */
static void test_tpm1_absent(void **state)
{
	struct fx *f = *state;
	struct up_ctx *ctx;
	uint8_t kek[32];
	char *v = NULL;
	up_err r;

	v = new_verifier(f, "s1", "auto", "device:/dev/tpm-none", kek, &r);
	assert_int_equal(r, UP_OK);
	assert_string_equal(up_verifier_scheme(v, NULL), "scrypt2");
	assert_int_equal(check(f, "s1", "device:/dev/tpm-none", v, PW, kek, NULL, NULL, 0), UP_OK);
	free(v);
	ctx = make_ctx(f, "s1", "yes", "device:/dev/tpm-none");
	v = NULL;
	assert_int_equal(up_verifier_new_kek(ctx, PW, &v, kek), UP_EINTERNAL);
	assert_null(v);
	assert_non_null(strstr(up_ctx_detail(ctx), "tpm = yes and no usable TPM"));
	up_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_machine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cleared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wanted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_file_checks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tpm1_verifier, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tpm1_parse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tpm1_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tpm1_absent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
