/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_STORE_DEF_H
#define UP_LIB_STORE_DEF_H

/* Private to libuserpool (lib/store.c, lib/signin.c), its unit tests and
 * fuzz targets: the parts of struct up_user_record that <userpool/store.h>
 * keeps opaque. */

#include <stdint.h>

/* One step-up window (max_auth_age): an MFA sign-in on (service, tty). */
struct up_stepup {
	char *service;
	char *tty;  /* "" when PAM_TTY is unset */
	int64_t at; /* time of the MFA sign-in */
};

/* Failed offline attempts of one requesting uid (issue 16). */
struct up_offline_fail {
	int64_t uid;   /* the requester */
	int64_t count; /* failures since its last success / the last online sign-in */
	int64_t at;    /* time of its last failure */
};

#endif
