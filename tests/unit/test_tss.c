/* SPDX-License-Identifier: Apache-2.0 */
/* lib/tss.c (issue 21): tpm2-tss loaded at first use. Built from lib/tss.c
 * alone with UP_TSS_TEST, not linked with any libtss2 (Makefile.am), so the
 * process has none of them until the loader runs. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tss.h"

static const char *const sonames[UP_TSS_LIBS] = {"libtss2-esys.so.0", "libtss2-tctildr.so.0",
						 "libtss2-mu.so.0", "libtss2-rc.so.0"};

static bool loaded(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h); /* the reference RTLD_NOLOAD just took */
	return h != NULL;
}

/* Nothing is loaded before the first use; then every function, from the
 * SONAMEs, kept out of the global namespace, the same table every time. */
static void test_first_use(void **state)
{
	const struct up_tss *f, *g;
	const char *detail = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < UP_TSS_LIBS; i++)
		assert_false(loaded(sonames[i]));
	f = up_tss(&detail);
	assert_non_null(f);
	assert_string_equal(detail, "");
	for (i = 0; i < UP_TSS_LIBS; i++)
		assert_true(loaded(sonames[i]));
#define CHECK_FN(lib, fn)                                                                          \
	assert_non_null(f->fn);                                                                    \
	assert_null(dlsym(RTLD_DEFAULT, #fn));
	UP_TSS_FUNCS(CHECK_FN)
#undef CHECK_FN
	g = up_tss(NULL);
	assert_ptr_equal(f, g);
	assert_non_null(strstr(f->Tss2_RC_Decode(TSS2_RC_SUCCESS), "success"));
}

/* The pointers are the functions: a TPM2B_PUBLIC through marshal and back. */
static void test_calls(void **state)
{
	const struct up_tss *f = up_tss(NULL);
	TPM2B_PUBLIC pub = {
	    .publicArea = {.type = TPM2_ALG_KEYEDHASH,
			   .nameAlg = TPM2_ALG_SHA256,
			   .objectAttributes = TPMA_OBJECT_FIXEDTPM,
			   .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL}};
	TPM2B_PUBLIC back = {0};
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t off = 0, off2 = 0;

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(buf), &off),
			 TSS2_RC_SUCCESS);
	assert_true(off > 2);
	assert_int_equal(f->Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, off, &off2, &back),
			 TSS2_RC_SUCCESS);
	assert_int_equal(off2, off);
	assert_int_equal(back.publicArea.type, TPM2_ALG_KEYEDHASH);
	assert_int_equal(back.publicArea.objectAttributes, TPMA_OBJECT_FIXEDTPM);
}

/* A library missing: no table, and the detail names it. */
static void test_library_missing(void **state)
{
	const char *const libs[UP_TSS_LIBS] = {"libtss2-esys.so.0", "libtss2-userpool-absent.so.0",
					       "libtss2-mu.so.0", "libtss2-rc.so.0"};
	struct up_tss out;
	char detail[256] = "";

	(void)state;
	memset(&out, 0, sizeof(out));
	assert_null(up_tss_test_load(libs, &out, detail, sizeof(detail)));
	assert_non_null(strstr(detail, "tpm2-tss not loaded: "));
	assert_non_null(strstr(detail, "libtss2-userpool-absent.so.0"));
}

/* A symbol missing (a library that is not the one expected): no table, and
 * the detail names the library and the symbol. */
static void test_symbol_missing(void **state)
{
	const char *const libs[UP_TSS_LIBS] = {"libtss2-esys.so.0", "libtss2-tctildr.so.0",
					       "libc.so.6", "libtss2-rc.so.0"};
	struct up_tss out;
	char detail[256] = "";

	(void)state;
	memset(&out, 0, sizeof(out));
	assert_null(up_tss_test_load(libs, &out, detail, sizeof(detail)));
	assert_string_equal(detail,
			    "tpm2-tss not loaded: libc.so.6 has no Tss2_MU_TPM2B_PUBLIC_Marshal");
	/* the loaded table is not touched by a failed load */
	assert_non_null(up_tss(NULL));
}

int main(void)
{
	/* test_first_use first: it checks that nothing is loaded before */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_use),
	    cmocka_unit_test(test_calls),
	    cmocka_unit_test(test_library_missing),
	    cmocka_unit_test(test_symbol_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
