/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_pamloop: many sign-ins in one process, for the leak figure of
 * `make bench` (figure 7, under valgrind). Each line of USERS_FILE
 * ("username password totp-secret-base32") is one sign-in: pam_start_confdir
 * with SERVICE from CONFDIR, pam_authenticate, pam_end. The conversation
 * answers a "code" prompt with the user's current TOTP code (computed when
 * asked, so a slow run under valgrind still sends a valid code) and any other
 * secret prompt with the password.
 *
 *   bench_pamloop CONFDIR SERVICE USERS_FILE
 *
 * Prints "signins <n>"; exit 1 when any sign-in did not return PAM_SUCCESS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_appl.h>

#include <userpool/userpool.h>

#include "secret.h"

struct who {
	const char *password;
	const char *secret;
};

static int answer(const struct who *w, const struct pam_message *m, char **ret)
{
	uint8_t *key = NULL;
	size_t key_len = 0;
	char code[9];

	*ret = NULL;
	if (m->msg_style != PAM_PROMPT_ECHO_OFF && m->msg_style != PAM_PROMPT_ECHO_ON)
		return 0;
	if (m->msg && strstr(m->msg, "code")) {
		if (up_base32_decode(w->secret, &key, &key_len) ||
		    up_totp(key, key_len, (int64_t)time(NULL), 30, 6, code)) {
			up_free_secret_len(key, key_len);
			return -1;
		}
		up_free_secret_len(key, key_len);
		*ret = strdup(code);
		up_wipe(code, sizeof(code));
	} else {
		*ret = strdup(w->password);
	}
	return *ret ? 0 : -1;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *ud)
{
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (!r)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (answer(ud, msg[i], &r[i].resp)) {
			for (int j = 0; j < i; j++)
				up_free_secret(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* The next space-separated field of *p (NUL-terminated in place); NULL at the end. */
static char *next_field(char **p)
{
	char *s = *p, *e;

	while (*s == ' ' || *s == '\n')
		s++;
	if (!*s)
		return NULL;
	e = s;
	while (*e && *e != ' ' && *e != '\n')
		e++;
	if (*e)
		*e++ = '\0';
	*p = e;
	return s;
}

int main(int argc, char **argv)
{
	char line[1024];
	long n = 0;
	FILE *f;
	int rc = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_pamloop CONFDIR SERVICE USERS_FILE\n");
		return 2;
	}
	f = fopen(argv[3], "re");
	if (!f) {
		fprintf(stderr, "bench_pamloop: %s: %s\n", argv[3], strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		char *user = next_field(&p);
		char *pw = next_field(&p);
		char *secret = next_field(&p);
		struct who w = { pw, secret };
		struct pam_conv c = { conv, &w };
		pam_handle_t *pamh = NULL;
		int pr;

		if (!user || !pw || !secret)
			continue;
		pr = pam_start_confdir(argv[2], user, &c, argv[1], &pamh);
		if (pr == PAM_SUCCESS)
			pr = pam_authenticate(pamh, 0);
		if (pamh)
			pam_end(pamh, pr);
		if (pr != PAM_SUCCESS) {
			fprintf(stderr, "bench_pamloop: %s: PAM code %d\n", user, pr);
			rc = 1;
			break;
		}
		n++;
	}
	up_wipe(line, sizeof(line));
	fclose(f);
	printf("signins %ld\n", n);
	return rc;
}
