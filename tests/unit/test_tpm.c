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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_machine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cleared, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wanted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owner_auth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_file_checks, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
