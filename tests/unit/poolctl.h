/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_POOLCTL_H
#define UP_POOLCTL_H

/*
 * Test helpers around the test user pool (tests/pool/pool.py): start and
 * stop it, call its admin API, and compute TOTP codes it accepts. Shared by
 * the Cognito unit tests and the PAM tests. Failures fail the current test
 * (cmocka asserts) except where a return value says otherwise.
 */

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

struct t_pool {
	pid_t pid;
	char *dir;       /* temp dir holding state/ and ca/ (removed on stop) */
	char *url;       /* base URL with a trailing slash, e.g. https://127.0.0.1:4433/ */
	char *ca_file;   /* the pool's CA (ca/ca.pem); NULL without TLS */
	char *pool_id;   /* us-east-1_TestPool1 */
	char *client_id; /* userpooltestclient00000001 */
	char *issuer;    /* url + pool_id */
	char *jwks_uri;
};

struct t_pool_opts {
	bool tls;             /* serve HTTPS with a generated CA (default in t_pool_start) */
	bool wrong_host_cert; /* certificate for another host name */
	const char *client_secret;
	const char *ca_dir;   /* reuse this CA directory (NULL: a new one under dir) */
};

/* Start the pool; NULL opts means HTTPS with a new CA. Waits (bounded) for
 * "READY <url>". */
struct t_pool *t_pool_start(const struct t_pool_opts *opts);
/* Stop the pool (SIGTERM, then SIGKILL), reap it and free everything. */
void t_pool_stop(struct t_pool *pool);

/*
 * POST <url>admin/<op> with a JSON body given as a jansson pack format
 * (json_pack), e.g. t_pool_admin(p, "create_user", "{s:s,s:s}", "username",
 * "alice", "password", "Passw0rd!"). Returns the parsed answer (decref it);
 * fails the test on an HTTP error unless `ret_status` is used through
 * t_pool_admin_status().
 */
json_t *t_pool_admin(struct t_pool *pool, const char *op, const char *fmt, ...);
/* Same, returning the HTTP status and never failing on 4xx. */
long t_pool_admin_status(struct t_pool *pool, const char *op, json_t **ret, const char *fmt,
			 ...);

/* Add a fault ({"action": ..., "match": ...}, json_pack format); returns its id. */
long t_pool_fault(struct t_pool *pool, const char *fmt, ...);
void t_pool_clear_faults(struct t_pool *pool);

/* Create a CONFIRMED user (groups: NULL or a NULL-terminated list). */
void t_pool_user(struct t_pool *pool, const char *username, const char *password,
		 const char *const *groups);
/* Enrol TOTP for the user; returns the base32 secret (free it). */
char *t_pool_enable_totp(struct t_pool *pool, const char *username);

/*
 * A TOTP code for `secret_b32` that the pool accepts now and that was not
 * used before by this user (`last_step` from the pool's get_totp_secret; -1
 * for a new secret). Computed with up_totp(); waits for the next 30 s step
 * when the current and next steps are used up.
 */
void t_totp_code(const char *secret_b32, long last_step, char out[9]);
/* Same for the user's enrolled secret, asking the pool for last_step. */
void t_pool_totp_code(struct t_pool *pool, const char *username, char out[9]);

/* Request and connection counters of the pool ("targets" by action). */
long t_pool_stat_target(struct t_pool *pool, const char *action);
long t_pool_stat_connections(struct t_pool *pool);
long t_pool_stat_path(struct t_pool *pool, const char *path);
void t_pool_reset_stats(struct t_pool *pool);

/* A configuration for this pool; `extra` lines are appended (may be NULL).
 * malloc'd. */
char *t_pool_config(struct t_pool *pool, const char *state_dir, const char *extra);

/* A fresh state directory (root-owned when run as root, 0700). */
char *t_state_dir(void);

#endif
