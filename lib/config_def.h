/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_CONFIG_DEF_H
#define USERPOOL_CONFIG_DEF_H

/* Private to libuserpool (and its unit tests): the fields of the opaque
 * struct up_config (include/userpool/config.h has the accessors). */

#include <userpool/config.h>

/* The installed verifier helper (Makefile.am sets it from pkglibexecdir). */
#ifndef UP_VERIFIER_HELPER
#define UP_VERIFIER_HELPER "/usr/libexec/userpool/userpool-verifier"
#endif

/*
 * The parsed configuration (DESIGN §2). Owned by the context; read-only for
 * callers. Strings are NUL-terminated and never NULL unless documented
 * ("NULL when unset"). Lists are NULL-terminated arrays (never NULL, may be
 * empty). Durations are seconds.
 *
 * Derived values are filled in by the loader in one place: endpoint (Cognito
 * default from region), issuer (Cognito default from region + pool id),
 * jwks_uri (Cognito default from issuer; OIDC: NULL until discovery),
 * pool_name (the part of user_pool_id after '_').
 */
struct up_config {
	char *path;  /* file it was read from; NULL if none */
	char **args; /* the arguments it was loaded with (PAM module arguments), NULL-terminated */

	enum up_provider provider;
	char *region;	     /* NULL when unset */
	char *user_pool_id;  /* NULL when unset */
	char *pool_name;     /* derived: user_pool_id after '_'; NULL when unset */
	char *client_id;     /* required */
	char *client_secret; /* NULL when unset */
	char *endpoint;	     /* Cognito API base URL (derived default); NULL for oidc unless set */
	char *issuer;	     /* required for oidc; derived for cognito */
	char *jwks_uri;	     /* derived for cognito; NULL for oidc unless set */
	enum up_auth_flow auth_flow;
	enum up_otp_mode otp_mode;
	char *otp_param;		 /* default "totp" */
	enum up_client_auth client_auth; /* OIDC token endpoint client auth, default basic */
	char *scope;			 /* OIDC scope, default "openid"; must contain openid */
	bool mfa_required;		 /* mfa = required (default) | optional */
	bool enroll_on_login;		 /* default yes */
	/* mfa_methods: accepted second factors in order of preference, ended by
	 * UP_MFA_NONE; default totp, email, sms */
	enum up_mfa_method mfa_methods[UP_MFA_MAX + 1];
	bool echo_code;		      /* echo the verification code (default no) */
	enum up_qr_mode qr;	      /* draw text QR codes (default auto) */
	char *totp_issuer;	      /* issuer label in otpauth:// URIs, default "userpool" */
	char *username_format;	      /* default "%u" */
	char *username_claim;	      /* default cognito:username / preferred_username */
	char *groups_claim;	      /* default cognito:groups / groups */
	char **allow_groups;	      /* empty: any pool user */
	char **group_map;	      /* "POOLGROUP:LOCALGROUP" items: NSS supplementary
					 groups for pool users (default empty) */
	char **ignore_users;	      /* default { "root" } */
	char **pool_local_users;      /* local names (files database, uid outside
					 uid_min..uid_max) the pool may still sign in;
					 default empty */
	char *state_dir;	      /* default /var/lib/userpool */
	bool offline;		      /* default yes */
	int64_t offline_max_age;      /* default 7d */
	int64_t account_max_age;      /* account phase without this handle's sign-in and
					 without a refresh token: record age; default 1h */
	int64_t offline_max_failures; /* default 5 */
	bool offline_mfa_skip;	      /* offline_mfa = skip; default require (false) */
	int64_t max_auth_age;	      /* default 0 (off) */
	int64_t timeout;	      /* default 10s */
	int64_t kdf_slots;    /* concurrent derivations per machine; 0 (default): online CPUs */
	char *ca_file;	      /* NULL: the system store */
	char *proxy;	      /* NULL: no proxy */
	int64_t leeway;	      /* default 60s */
	bool revoke_on_close; /* default no */
	int64_t uid_min;      /* default 200000 */
	int64_t uid_max;      /* default 299999 */
	enum up_uid_source uid_source; /* default sequential */
	char *uid_claim;	       /* uid_source = claim: default "custom:uid_number" */
	char *gid_claim;	       /* primary group claim; NULL (default): GID = UID */
	enum up_gid_source gid_source; /* default sequential */
	char **pool_groups;	       /* pool groups that become NSS groups (default empty) */
	char *home;		       /* default /home/%u */
	char *shell;		       /* default /bin/bash */
	enum up_tpm_mode tpm;	       /* bind offline records to the TPM (default auto) */
	char *verifier_helper;	       /* program deriving the offline verifier after the
					  call; NULL: in the call (issue 21) */
	char *tpm_tcti;		       /* TCTI of the TPM, default "device:/dev/tpmrm0" */

	/* Cognito with issuer unset: the second issuer form AWS's verifier
	 * accepts, https://issuer-cognito-idp.<region>.amazonaws.com/<pool>, and
	 * its key set (jwks_uri when that is set); NULL otherwise */
	char *issuer_alt;
	char *jwks_uri_alt;
	/* auth_flow = custom: the public challenge parameter that is the prompt
	 * (default "question"), echo the answer (default no), a passed custom
	 * challenge is the second factor (default no) */
	char *custom_prompt_param;
	bool custom_echo;
	bool custom_is_mfa;
	bool send_context; /* Cognito: send UserContextData (default no) */

	/* PAM flags (arguments only, not file keys) */
	bool debug;
	bool use_first_pass;
	bool try_first_pass;
};

#endif
