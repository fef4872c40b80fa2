/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "log.h"
#include "secret.h"
#include "store_int.h"
#include "vjob.h"

/*
 * With offline = yes every online sign-in with a password writes a fresh
 * scrypt verifier: a third of a second of CPU that used to follow the
 * pool's answer. The job starts it as soon as the password is known, in a
 * thread, and up_signin joins it before it returns (nothing outlives the
 * PAM call). The result is written only after the pool accepted the
 * password (store_online), so the old password is useless offline after
 * a password change exactly as before; a refused or unreachable sign-in
 * throws it away.
 *
 * The thread has a context of its own (the configuration shared, read
 * only; no logger): up_fail and the slot code write into it, never into
 * the caller's, and the caller copies the detail at the join.
 */

#define VJOB_STACK (256u * 1024u)

struct up_vjob {
	pthread_t thread;
	struct up_ctx tctx; /* the thread's: cfg borrowed */
	char *password;	    /* copy, wiped */
	size_t password_len;
	atomic_bool cancel;
	up_err result;
	char *verifier;
	uint8_t kek[UP_MFA_KEY_LEN];
	bool joined;
};

static void *vjob_run(void *arg)
{
	struct up_vjob *job = arg;

	if (atomic_load(&job->cancel)) {
		job->result = UP_EINTERNAL;
		return NULL;
	}
	job->result = up_verifier_new_kek(&job->tctx, job->password, &job->verifier, job->kek);
	return NULL;
}

struct up_vjob *up_vjob_start(struct up_ctx *ctx, const char *password)
{
	struct up_vjob *job;
	pthread_attr_t attr;
	sigset_t all, old;
	int rc;

	if (!ctx || !ctx->cfg || !password)
		return NULL;
	job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->password_len = strlen(password);
	job->password = strdup(password);
	if (!job->password) {
		free(job);
		return NULL;
	}
	job->tctx.cfg = ctx->cfg;
	job->tctx.requester = ctx->requester;
	job->tctx.state_uid = ctx->state_uid; /* the kdf/ slots are state files */
	job->tctx.state_gid = ctx->state_gid;
	atomic_init(&job->cancel, false);
	if (pthread_attr_init(&attr) != 0) {
		up_free_secret(job->password);
		free(job);
		return NULL;
	}
	pthread_attr_setstacksize(&attr, VJOB_STACK);
	/* The application's signal handlers run in its own threads only. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&job->thread, &attr, vjob_run, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		up_log(ctx, LOG_DEBUG, "no thread for the verifier derivation: derived in line");
		up_free_secret(job->password);
		free(job);
		return NULL;
	}
	return job;
}

static void vjob_wait(struct up_vjob *job)
{
	if (!job->joined) {
		pthread_join(job->thread, NULL);
		job->joined = true;
	}
}

up_err up_vjob_join(struct up_ctx *ctx, struct up_vjob *job, const char *password,
		    char **ret_verifier, uint8_t kek[UP_MFA_KEY_LEN])
{
	size_t len;

	if (!job || !password || !ret_verifier)
		return UP_EINVAL;
	*ret_verifier = NULL;
	vjob_wait(job);
	len = strlen(password);
	if (len != job->password_len || !up_memeq_ct(password, job->password, len))
		return UP_EINVAL;
	if (job->result)
		return up_fail(ctx, job->result, "%s", job->tctx.detail);
	if (!job->verifier)
		return UP_EINTERNAL;
	*ret_verifier = job->verifier;
	job->verifier = NULL;
	if (kek)
		memcpy(kek, job->kek, UP_MFA_KEY_LEN);
	return UP_OK;
}

void up_vjob_free(struct up_vjob *job)
{
	if (!job)
		return;
	atomic_store(&job->cancel, true);
	vjob_wait(job);
	up_free_secret(job->password);
	up_free_secret(job->verifier);
	up_wipe(job->kek, sizeof(job->kek));
	free(job);
}
