/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_STORE_DEF_H
#define UP_LIB_STORE_DEF_H

/* Private to libuserpool, its unit tests and fuzz targets: struct
 * up_user_record, which <userpool/store.h> keeps opaque (the adapters use
 * its up_user_record_* accessors), and its parts. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <userpool/config.h>

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

/* The per-user state record (users/<hash>.json, DESIGN §4). */
struct up_user_record {
	char *username; /* pool username */
	char *issuer;
	char *client_id;
	char *sub;
	char **groups;	     /* NULL-terminated */
	char *id_token;	     /* the last verified ID token (secret: wiped) */
	char *refresh_token; /* the last one the pool gave (account phase, revoke_on_close); NULL
				when none */
	char *verifier;	     /* offline password verifier; NULL when none */
	bool mfa;
	enum up_mfa_method mfa_method; /* the factor of the last online sign-in
					  ("mfa_method": totp, sms, email; absent:
					  UP_MFA_NONE, older records: TOTP) */
	int64_t last_online;
	int64_t failures; /* failed offline attempts since last online sign-in
			     (all requesters; the sum of `fails`) */
	struct up_stepup *stepups;
	size_t n_stepups;
	struct up_offline_fail *fails; /* per requester; records without it load empty */
	size_t n_fails;
	/* Offline second factor (issue 16 item 5c): the TOTP secret wrapped
	 * (AES-256-GCM, "gcm1$nonce$ciphertext$tag") under the KEK of the
	 * "scrypt2$" or "tpm1$" verifier (tpm1: the KEK needs the TPM too), AAD issuer, sub,
	 * username, UP_STORE_VERSION; NULL when none is held. A malformed one is dropped on read
	 * (logged). */
	char *mfa_secret;
	/* The last TOTP time step accepted offline (0: none): no code of this
	 * or an older step is accepted again. */
	int64_t mfa_step;
};

#endif
