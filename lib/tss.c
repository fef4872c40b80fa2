/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tss.h"

/*
 * tpm2-tss, loaded at first use (see tss.h for why).
 *
 * By SONAME only, never by a path: ld.so searches its cache and the system
 * directories. In a setuid or otherwise AT_SECURE process (sudo, su, passwd)
 * it ignores LD_LIBRARY_PATH and friends, so the caller's environment cannot
 * pick the library the module runs as root. No variable of ours names a
 * library either. (The tss2 TCTI loader has always dlopen'ed the TCTI modules
 * the same way; this adds no new kind of loading.)
 *
 * RTLD_LOCAL: the symbols stay out of the global namespace, where they could
 * clash with a program that links another tpm2-tss. RTLD_NOW: a broken
 * library fails here, at one place, not at some later call.
 *
 * The handles are never dlclose'd: the PAM module may be unloaded and loaded
 * again by the same process (pam_end, then pam_start), and a library a
 * previous copy of the module still points into must not go away. Leaking
 * one reference per library per load is the safe choice.
 */

static const char *const tss_libs[UP_TSS_LIBS] = {
    "libtss2-esys.so.0",
    "libtss2-tctildr.so.0",
    "libtss2-mu.so.0",
    "libtss2-rc.so.0",
};

struct tss_sym {
	int lib;
	const char *name;
	size_t off;
};

static const struct tss_sym tss_syms[] = {
#define UP_TSS_SYM(l, fn) {.lib = (l), .name = #fn, .off = offsetof(struct up_tss, fn)},
    UP_TSS_FUNCS(UP_TSS_SYM)
#undef UP_TSS_SYM
};

/* Open every library, then find every symbol in its own library. NULL and
 * the reason in detail on the first one missing. */
static const struct up_tss *tss_load(const char *const libs[UP_TSS_LIBS], struct up_tss *out,
				     char *detail, size_t detail_len)
{
	void *h[UP_TSS_LIBS];
	size_t i;

	for (i = 0; i < UP_TSS_LIBS; i++) {
		h[i] = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			const char *e = dlerror();

			snprintf(detail, detail_len, "tpm2-tss not loaded: %s", e ? e : libs[i]);
			return NULL;
		}
	}
	for (i = 0; i < sizeof(tss_syms) / sizeof(tss_syms[0]); i++) {
		const struct tss_sym *s = &tss_syms[i];
		void *p;

		(void)dlerror();
		p = dlsym(h[s->lib], s->name);
		if (!p) {
			snprintf(detail, detail_len, "tpm2-tss not loaded: %s has no %s",
				 libs[s->lib], s->name);
			return NULL;
		}
		/* A function pointer from dlsym's void *: same size and
		 * representation on every platform POSIX dlsym supports. */
		memcpy((char *)out + s->off, &p, sizeof(p));
	}
	return out;
}

static struct up_tss tss_fns;
static const struct up_tss *tss_loaded;
static char tss_detail[256];
static pthread_once_t tss_once = PTHREAD_ONCE_INIT;

static void tss_init(void)
{
	tss_loaded = tss_load(tss_libs, &tss_fns, tss_detail, sizeof(tss_detail));
}

const struct up_tss *up_tss(const char **ret_detail)
{
	pthread_once(&tss_once, tss_init);
	if (ret_detail)
		*ret_detail = tss_loaded ? "" : tss_detail;
	return tss_loaded;
}

#ifdef UP_TSS_TEST
const struct up_tss *up_tss_test_load(const char *const libs[UP_TSS_LIBS], struct up_tss *out,
				      char *detail, size_t detail_len)
{
	return tss_load(libs, out, detail, detail_len);
}
#endif
