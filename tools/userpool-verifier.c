/* SPDX-License-Identifier: Apache-2.0 */
/*
 * userpool-verifier: derives the offline verifier of an online sign-in
 * after pam_userpool returned (issue 21 item 1; lib/vhelper.h). Started by
 * the module only (no environment, stdin a socket carrying the work:
 * configuration, user, the record's marker, the password); nothing on its
 * command line. It loads the module's configuration, waits for a
 * derivation slot like any derivation, writes the verifier into the record
 * if the record still carries the marker, and exits. Logs to syslog
 * (authpriv). Not meant to be run by hand.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ctx.h"
#include "log.h"
#include "vhelper.h"

/* A derivation slot may be a long wait behind many sign-ins at once; the
 * helper's is not the sign-in's (configured timeout), it is its own. */
#define SLOT_WAIT_S 600
/* Its whole life is bounded: a module that never closes its end of the
 * socket, a wedged TPM or state_dir cannot keep it (and the password it
 * holds) around; SIGALRM's default ends it, the record stays marked and
 * offline sign-in stays refused until the next online one. */
#define LIFETIME_S (SLOT_WAIT_S + 120)
/* Background work: the sign-ins (the one that started it, the next ones)
 * get the CPU first; on an idle core it runs at full speed. */
#define HELPER_NICE 19

static void log_syslog(void *ud, int priority, const char *msg)
{
	(void)ud;
	syslog(priority, "%s", msg);
}

static int64_t signin_clock(void *ud)
{
	return *(const int64_t *)ud;
}

static int run(struct up_vwork *w)
{
	struct up_ctx *ctx = NULL;
	size_t nargs = 0;
	up_err r;

	if (up_ctx_new(&ctx)) {
		syslog(LOG_ERR, "out of memory");
		return 1;
	}
	up_ctx_set_logger(ctx, log_syslog, NULL);
	while (w->cfg_args[nargs])
		nargs++;
	r = up_ctx_load_config(ctx, w->cfg_path, (int)nargs, w->cfg_args, true);
	if (r) {
		syslog(LOG_ERR,
		       "offline verifier of %s not derived: configuration refused: %s: offline "
		       "sign-in refused until the next online sign-in",
		       w->username, up_ctx_detail(ctx));
		up_ctx_free(ctx);
		return 1;
	}
	if (ctx->cfg->timeout < SLOT_WAIT_S)
		ctx->cfg->timeout = SLOT_WAIT_S;
	ctx->requester = w->requester;
	/* Background work: in a burst it lets the sign-ins go first. */
	ctx->kdf_yield = true;
	/* The code the pool accepted is checked at the sign-in's time. */
	up_ctx_set_clock(ctx, signin_clock, &w->signin_at);
	r = up_vwork_finish(ctx, w);
	if (!r) {
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		up_log(ctx, LOG_DEBUG, "offline verifier of %s derived (peak RSS %ld KiB)",
		       w->username, ru.ru_maxrss);
	}
	up_ctx_free(ctx);
	return r ? 1 : 0;
}

/*
 * The derivation yields to everything else on the machine. The module
 * started the helper in a session of its own (setsid), and with the
 * kernel's autogroup scheduling (CONFIG_SCHED_AUTOGROUP, on by default) a
 * new session is a new scheduling group: nice weighs a task only against
 * the tasks of its own group, and each group competes as an equal. So the
 * group's nice is lowered too, else 2 helpers would take as much CPU as
 * every sign-in and the pool together. Failing either, it keeps the
 * priority it has (no autogroup: the file is absent).
 */
static void lower_priority(void)
{
	static const char nice_text[] = "19";
	int fd;

	_Static_assert(HELPER_NICE == 19, "nice_text is HELPER_NICE");
	(void)setpriority(PRIO_PROCESS, 0, HELPER_NICE);
	fd = open("/proc/self/autogroup", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		/* A failure is ignored: the nice above still holds in its group. */
		ssize_t n = write(fd, nice_text, sizeof(nice_text) - 1);

		(void)n;
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct up_vwork w;
	int rc;

	(void)argv;
	lower_priority();
	openlog("userpool-verifier", LOG_PID | LOG_PERROR, LOG_AUTHPRIV);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, SIG_DFL);
	alarm(LIFETIME_S);
	if (argc != 1 || isatty(0)) {
		fprintf(stderr, "userpool-verifier: started by pam_userpool only (see "
				"userpool.conf(5), verifier_helper)\n");
		return 2;
	}
	if (up_vwork_read(0, &w)) {
		syslog(LOG_ERR, "no usable work on stdin");
		return 2;
	}
	close(0);
	rc = run(&w);
	up_vwork_clear(&w);
	closelog();
	return rc;
}
