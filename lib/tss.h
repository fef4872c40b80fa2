/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_TSS_H
#define UP_LIB_TSS_H

/*
 * Private to libuserpool (lib/tss.c): the tpm2-tss functions lib/tpm.c calls,
 * loaded at their first use (issue 21) instead of linked: libuserpool,
 * pam_userpool.so and the NSS module have no libtss2 in their NEEDED
 * entries, so a process that loads the module (sudo, su, sshd) but never
 * touches the TPM does not pay for mapping and relocating the tss2 libraries.
 * The headers still give every type and prototype: each pointer has the
 * type of the function it stands for.
 *
 * Only in a build with tpm2-tss (HAVE_TSS2).
 */

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

/* X(library index, function): every function lib/tpm.c calls. The
 * libraries, by index: 0 libtss2-esys.so.0, 1 libtss2-tctildr.so.0,
 * 2 libtss2-mu.so.0, 3 libtss2-rc.so.0 (tss.c: tss_libs). */
#define UP_TSS_FUNCS(X)                                                                            \
	X(0, Esys_Initialize)                                                                      \
	X(0, Esys_Finalize)                                                                        \
	X(0, Esys_Free)                                                                            \
	X(0, Esys_FlushContext)                                                                    \
	X(0, Esys_GetCapability)                                                                   \
	X(0, Esys_CreatePrimary)                                                                   \
	X(0, Esys_StartAuthSession)                                                                \
	X(0, Esys_TRSess_SetAttributes)                                                            \
	X(0, Esys_Create)                                                                          \
	X(0, Esys_Load)                                                                            \
	X(0, Esys_HMAC)                                                                            \
	X(1, Tss2_TctiLdr_Initialize)                                                              \
	X(1, Tss2_TctiLdr_Finalize)                                                                \
	X(2, Tss2_MU_TPM2B_PUBLIC_Marshal)                                                         \
	X(2, Tss2_MU_TPM2B_PUBLIC_Unmarshal)                                                       \
	X(2, Tss2_MU_TPM2B_PRIVATE_Marshal)                                                        \
	X(2, Tss2_MU_TPM2B_PRIVATE_Unmarshal)                                                      \
	X(3, Tss2_RC_Decode)

#define UP_TSS_LIBS 4

/* One pointer per function, named as the function: tss->Esys_HMAC(...). */
struct up_tss {
#define UP_TSS_MEMBER(lib, fn) __typeof__(fn) *fn;
	UP_TSS_FUNCS(UP_TSS_MEMBER)
#undef UP_TSS_MEMBER
};

/*
 * The functions, loaded once per process (thread-safe); NULL when a library
 * or one of its symbols is missing, with *ret_detail (when not NULL) saying
 * which: "libtss2-esys.so.0: cannot open shared object file: ...". The
 * result of the first call holds for the life of the process.
 */
const struct up_tss *up_tss(const char **ret_detail);

#ifdef UP_TSS_TEST
/* Only in tests/unit/test_tss (lib/tss.c compiled with UP_TSS_TEST): load
 * from these library names instead of the SONAMEs, uncached. */
const struct up_tss *up_tss_test_load(const char *const libs[UP_TSS_LIBS], struct up_tss *out,
				      char *detail, size_t detail_len);
#endif

#endif
