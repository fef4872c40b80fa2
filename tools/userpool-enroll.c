/* SPDX-License-Identifier: Apache-2.0 */
/*
 * userpool-enroll: enroll an authenticator app for TOTP sign-in (DESIGN §8).
 * Runs as the invoking user; needs no root. Signs in with the password (and
 * the current code if one is enrolled), associates a new software token,
 * shows it as a QR code, verifies the first code and makes TOTP the
 * preferred second factor. The secret is wiped on every path and never
 * logged or written anywhere but the terminal, except: run as root (an
 * administrator with the user at the keyboard), it is also kept in the
 * user's record on this machine, wrapped under a key derived from the
 * password, so that offline sign-in asks for this authenticator's code
 * (issue 16 item 5c; up_enroll_keep). Unprivileged, it cannot write the
 * root-owned state store and says how the secret gets there.
 */
#include <getopt.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "term.h"

enum {
	EXIT_ENROLLED = 0,
	EXIT_USAGE = 1,
	EXIT_CONFIG = 2,
	EXIT_SIGNIN = 3,
	EXIT_CODE = 4,
	EXIT_UNREACHABLE = 5,
	EXIT_OTHER = 6,
};

static char prog[] = "userpool-enroll";

struct enroll {
	struct up_ctx *ctx;
	const char *username;
	bool ascii;
	bool shown; /* the enrolment was shown (inside the sign-in: MFA_SETUP) */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: userpool-enroll [OPTION]...\n"
		"Enroll an authenticator app for sign-in with a verification code.\n\n"
		"  -u, --user NAME         pool user to enroll (default: you)\n"
		"  -a, --ascii             draw the QR code with ASCII characters\n"
		"  -d, --device-name NAME  name of the authenticator (default: host name)\n"
		"  -c, --config PATH       configuration file (default %s)\n"
		"  -h, --help              show this help\n"
		"  -V, --version           show the version\n\n"
		"Exit status: 0 enrolled, 1 usage, 2 configuration, 3 sign-in refused,\n"
		"4 code rejected three times, 5 user pool unreachable, 6 other error.\n",
		UP_DEFAULT_CONFIG);
}

static int exit_for(up_err r)
{
	switch (r) {
	case UP_OK:
		return EXIT_ENROLLED;
	case UP_ECONFIG:
		return EXIT_CONFIG;
	case UP_ECODE:
	case UP_ECODEEXPIRED:
	case UP_ESESSION:
		return EXIT_CODE;
	case UP_ENET:
	case UP_ETLS:
	case UP_ESERVER:
		return EXIT_UNREACHABLE;
	case UP_EDENIED:
	case UP_EDISABLED:
	case UP_ENOUSER:
	case UP_ERESET:
	case UP_ENOTCONFIRMED:
	case UP_ECONV:
		return EXIT_SIGNIN;
	default:
		return EXIT_OTHER;
	}
}

/* Print the enrolment: a QR code when it fits the terminal, and always the
 * key in groups of four and the URI for manual entry. */
static up_err show(struct enroll *e, const char *secret, const char *uri)
{
	unsigned cols = term_columns(), qcols = 0;
	char *qr = NULL, *groups = NULL;
	enum up_qr_style style = e->ascii || !term_utf8() ? UP_QR_ASCII : UP_QR_UTF8;
	up_err r;

	r = up_secret_groups(secret, &groups);
	if (r)
		return r;
	if (cols) {
		r = up_qr_render(uri, style, &qr, &qcols);
		if (r) {
			term_free_secret(groups);
			return r;
		}
	}
	if (qr && qcols <= cols) {
		fputs("Scan this QR code with your authenticator app:\n\n", stdout);
		fputs(qr, stdout);
		fputs("\nOr enter this key by hand:\n", stdout);
	} else {
		fputs(cols ? "The terminal is too narrow for the QR code.\n" : "", stdout);
		fputs("Enter this key in your authenticator app:\n", stdout);
	}
	fprintf(stdout, "  %s\n\nURI: %s\n\n", groups, uri);
	fflush(stdout);
	term_free_secret(qr);
	term_free_secret(groups);
	return UP_OK;
}

static void fail(struct up_ctx *ctx, const char *what, up_err r)
{
	const char *d = up_ctx_detail(ctx);

	fprintf(stderr, "userpool-enroll: %s: %s%s%s\n", what, up_strerror(r), d[0] ? ": " : "", d);
}

/* The conversation's enroll hook, for MFA_SETUP inside the sign-in and for
 * up_cognito_enroll alike: the library then asks for the code. */
static up_err on_enroll(void *ud, const char *secret, const char *uri)
{
	struct enroll *e = ud;
	up_err r;

	e->shown = true;
	r = show(e, secret, uri);
	if (r)
		fail(e->ctx, "new authenticator", r);
	return r;
}

/*
 * Offline sign-in checks the code against the secret kept in the user's
 * record (root-owned state store). As root, keep it; else say how it gets
 * there. The enrolment in the pool stands either way.
 */
static void keep_for_offline(struct up_ctx *ctx, const char *username, const char *password,
			     struct up_auth *auth, const char *secret, const char *code)
{
	const struct up_config *cfg = up_ctx_config(ctx);
	char *su;
	up_err r;

	if (!up_config_offline(cfg))
		return;
	su = term_safe(username);
	if (geteuid() != 0) {
		printf(
		    "Offline sign-in on this machine (user pool unreachable) will need this code "
		    "only once the machine holds the secret: set up the authenticator at a "
		    "sign-in here, or ask an administrator to run \"sudo userpool-enroll --user "
		    "%s\" with you.\n",
		    su ? su : "NAME");
		free(su);
		return;
	}
	r = secret && code ? up_enroll_keep(ctx, username, password, auth, secret, code)
			   : UP_EINVAL;
	if (r)
		fail(ctx, "keeping the secret for offline sign-in on this machine", r);
	else
		printf("Offline sign-in on this machine will ask for this authenticator's code.\n");
	free(su);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"ascii", no_argument, NULL, 'a'},
	    {"device-name", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *user = NULL, *device = NULL;
	struct enroll e = {0};
	struct up_ctx *ctx = NULL;
	struct up_auth *auth = NULL;
	struct up_conv conv;
	char host[256] = "", *username = NULL, *password = NULL, *secret = NULL, *accepted = NULL;
	bool at_signin;
	int c, rc = EXIT_OTHER;
	up_err r;

	setlocale(LC_ALL, "");
	while ((c = getopt_long(argc, argv, "u:ad:c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			user = optarg;
			break;
		case 'a':
			e.ascii = true;
			break;
		case 'd':
			device = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_ENROLLED;
		case 'V':
			printf("userpool-enroll %s\n", PACKAGE_VERSION);
			return EXIT_ENROLLED;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!user) {
		struct passwd *pw = getpwuid(getuid());
		if (!pw) {
			fprintf(stderr,
				"userpool-enroll: who are you? (no passwd entry for uid %u)\n",
				(unsigned)getuid());
			return EXIT_USAGE;
		}
		user = pw->pw_name;
	}
	if (!device) {
		if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
			snprintf(host, sizeof(host), "userpool");
		device = host;
	}

	if (up_ctx_new(&ctx))
		return EXIT_OTHER;
	up_ctx_set_logger(ctx, term_log, prog);
	r = up_ctx_load_config(ctx, config, 0, NULL, true);
	if (r) {
		fail(ctx, "configuration", r);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (!up_provider_has(ctx, UP_CAP_ENROLL)) {
		fprintf(stderr, "userpool-enroll: provider = oidc: enroll your authenticator with "
				"your identity provider\n");
		rc = EXIT_CONFIG;
		goto out;
	}
	r = up_username_map(ctx, user, &username);
	if (r) {
		fail(ctx, "user name", r);
		rc = EXIT_USAGE;
		goto out;
	}
	e.ctx = ctx;
	e.username = username;

	printf("Enrolling an authenticator for %s.\n", username);
	fflush(stdout);
	r = term_prompt("Password: ", false, &password);
	if (r) {
		rc = EXIT_SIGNIN;
		goto out;
	}
	term_conv(&conv, ctx, &e);
	conv.enroll = on_enroll;
	/* The sign-in asks for the current code if one is enrolled, or runs
	 * MFA_SETUP (which enrolls) when the pool demands a second factor. */
	r = up_cognito_signin(ctx, username, password, &conv, &auth);
	if (r) {
		fail(ctx, "sign-in", r);
		rc = exit_for(r);
		if (rc == EXIT_CODE)
			rc = EXIT_SIGNIN;
		goto out;
	}

	at_signin = e.shown;
	if (!at_signin) {
		/* The same enrolment as MFA_SETUP's, with the access token: the
		 * library shows it through on_enroll and asks for the code
		 * (three tries). A failed prompt (or on_enroll) has spoken. */
		r = up_cognito_enroll(ctx, auth->access_token, username, device, &conv, &secret,
				      &accepted);
		if (r) {
			if (r != UP_ECONV)
				fail(ctx, e.shown ? "verification" : "new authenticator", r);
			rc = exit_for(r);
			goto out;
		}
	}
	r = up_cognito_set_mfa_preference(ctx, auth->access_token, true, true);
	if (r) {
		fail(ctx, "making TOTP the preferred second factor", r);
		rc = exit_for(r);
		goto out;
	}
	/* Audit (issue 18): who (the calling uid), for which pool user, which device. */
	{
		char *sd = term_safe(device), *su = term_safe(username);

		openlog("userpool-enroll", LOG_PID, LOG_AUTHPRIV);
		syslog(LOG_NOTICE, "uid %u enrolled authenticator \"%s\" for pool user %s",
		       (unsigned)getuid(), sd ? sd : "?", su ? su : "?");
		closelog();
		free(sd);
		free(su);
	}
	printf("Authenticator \"%s\" enrolled for %s. Sign-in will now ask for its code.\n", device,
	       username);
	keep_for_offline(ctx, username, password, auth, at_signin ? auth->totp_secret : secret,
			 at_signin ? auth->totp_code : accepted);
	rc = EXIT_ENROLLED;
out:
	term_free_secret(accepted);
	term_free_secret(secret);
	term_free_secret(password);
	up_auth_free(auth);
	free(username);
	up_ctx_free(ctx);
	return rc;
}
