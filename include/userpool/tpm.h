/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_TPM_H
#define USERPOOL_TPM_H

/* lib/tpm.c: the machine's TPM. */

#include <userpool/config.h>
#include <userpool/ctx.h>

UP_BEGIN_DECLS

/* The machine's TPM as this configuration uses it (issue 22, `userpool
 * status`). Probes the TPM; never creates a key. When built and not
 * reachable, up_ctx_detail(ctx) says why (no device, the tpm2-tss libraries
 * missing, an owner password). */
struct up_tpm_info {
	enum up_tpm_mode mode; /* the `tpm` key */
	const char *tcti;      /* the `tpm_tcti` key (borrowed from the configuration) */
	bool built;	       /* this build has TPM support (tpm2-tss) */
	bool reachable;	       /* the TCTI opens and the TPM answers (owner auth empty) */
	bool used;	       /* new offline records are bound to it (`tpm` and reachable) */
	bool loads;	       /* the machine key in state_dir/tpm loads in this TPM */
	char keyid[17];	       /* the machine key's id ("" when state_dir/tpm has none) */
};
UP_EXPORT up_err up_tpm_info(struct up_ctx *ctx, struct up_tpm_info *ret);

UP_END_DECLS

#endif
