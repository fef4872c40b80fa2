/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_lib: in-process figures for `make bench` (tests/bench/bench.py).
 *
 *   bench_lib verify CONFIG TOKEN_FILE JWKS_FILE USERNAME ROUNDS
 *     Figure 1. Per round, nanoseconds per operation of
 *       bare    EVP_DigestVerifyInit + EVP_DigestVerify on the token's key
 *               (the floor: what any RS256 verifier must spend),
 *       jws     up_jws_parse + up_jws_verify_sig with the key in memory,
 *       jwks    up_jwks_parse of the key set (what a verify adds per call
 *               for reading the cached set),
 *       full    up_token_verify: parse, the key set from the on-disk cache,
 *               signature, every claim check (what a sign-in pays).
 *     Prints "verify <what> <wall ns> <cpu ns>" lines, one per round and
 *     measure.
 *
 *   bench_lib kdf CONFIG ROUNDS
 *     Figure 5. Milliseconds of one up_verifier_check (scrypt at the
 *     parameters the library writes). Prints "kdf_ms <wall> <cpu>" per
 *     round.
 *
 *   bench_lib guess CONFIG ROUNDS
 *     Figure 5t (issue 22). The cost of one guess against a verifier made
 *     under CONFIG (its `tpm` key picks scrypt2 or tpm1): up_verifier_check
 *     with a wrong password. Prints "guess_ms <scheme> <wall> <kdf> <cpu>"
 *     per round: the whole check and its part inside scrypt (ctx->kdf_ns);
 *     for tpm1 the rest is mostly the TPM's HMAC (TCTI round trips).
 *
 *   bench_lib offline CONFIG USERS_FILE
 *     Figure 5. For each "username password" line, one offline sign-in
 *     (up_signin with the pool unreachable) on a new context with the
 *     configuration loaded, as the PAM module does per sign-in. Prints
 *     "offline_ms <wall> <kdf> <cpu>": the whole call (configuration load
 *     included) and the part of it inside scrypt (ctx->kdf_ns, slot wait
 *     excluded).
 *
 *   bench_lib jwks CONFIG ROUNDS
 *     Figure 4. Milliseconds of one up_jwks_refresh (GET of the key set on
 *     the context's open connection, parse, atomic write of the cache with
 *     fsync): what a cold sign-in adds. One untimed call first opens the
 *     connection. Prints "jwks_ms <wall> <cpu>" per round.
 *
 *   bench_lib rss OUTFILE PROG [ARG...]
 *     Figure 7. Runs PROG (stdin/stdout inherited), waits with wait4() and
 *     writes "<child ru_maxrss kB> <own VmHWM kB>" to OUTFILE; exits with
 *     PROG's status. A child forked from a big process (python) would
 *     inherit its parent's high-water mark across execve; forked from this
 *     small one, the child's figure is its own unless it stays below ours.
 *
 * Only figures are printed; bench.py takes the medians. Exit 0 on success,
 * 1 when an operation failed (the figure would be meaningless).
 */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "ctx.h"
#include "jwt_int.h"
#include "num.h"
#include "secret.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* CPU time of this process: the figure that stays meaningful on a machine
 * shared with other work (wall time is printed too). */
static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		fprintf(stderr, "bench_lib: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

static struct up_ctx *ctx_for(const char *config)
{
	struct up_ctx *ctx = NULL;

	if (up_ctx_new(&ctx) != UP_OK)
		return NULL;
	if (up_ctx_load_config(ctx, config, 0, NULL, false) != UP_OK) {
		fprintf(stderr, "bench_lib: config %s: %s\n", config, up_ctx_detail(ctx));
		up_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

static int parse_count(const char *s, int64_t max, int64_t *ret)
{
	if (up_parse_int64(s, 1, max, ret) != UP_OK) {
		fprintf(stderr, "bench_lib: bad count %s\n", s);
		return -1;
	}
	return 0;
}

/* Iterations that take about `target_ns` for an operation of `once_ns`. */
static long iters_for(double once_ns, double target_ns)
{
	double n = target_ns / (once_ns > 1.0 ? once_ns : 1.0);

	if (n < 20)
		return 20;
	if (n > 2000000)
		return 2000000;
	return (long)n;
}

static int bare_verify(EVP_PKEY *pkey, const struct up_jws *jws)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int v = 0;

	if (m && EVP_DigestVerifyInit_ex(m, NULL, "SHA256", NULL, NULL, pkey, NULL) == 1)
		v = EVP_DigestVerify(m, jws->sig, jws->sig_len,
				     (const unsigned char *)jws->signing_input,
				     jws->signing_input_len);
	EVP_MD_CTX_free(m);
	return v == 1 ? 0 : -1;
}

static int jws_verify(struct up_ctx *ctx, const char *token, size_t len, const struct up_jwk *key)
{
	struct up_jws *jws = NULL;
	up_err r = up_jws_parse(ctx, token, len, &jws);

	if (!r)
		r = up_jws_verify_sig(ctx, jws, key);
	up_jws_free(jws);
	return r ? -1 : 0;
}

static int jwks_load(struct up_ctx *ctx, const char *text, size_t len)
{
	struct up_jwks *set = NULL;
	up_err r = up_jwks_parse(ctx, text, len, &set);

	up_jwks_free(set);
	return r ? -1 : 0;
}

static int full_verify(struct up_ctx *ctx, const char *token, const char *username)
{
	struct up_claims *claims = NULL;
	up_err r = up_token_verify(ctx, token, UP_TOKEN_ID, username, 0, &claims);

	up_claims_free(claims);
	return r ? -1 : 0;
}

enum measure { M_BARE, M_JWS, M_JWKS, M_FULL, M_COUNT };
static const char *const measure_name[M_COUNT] = { "bare", "jws", "jwks", "full" };

struct vstate {
	struct up_ctx *ctx;
	const char *token;
	size_t token_len;
	const char *jwks;
	size_t jwks_len;
	const char *username;
	struct up_jws *jws;
	const struct up_jwk *key;
};

static int run_once(struct vstate *s, enum measure m)
{
	switch (m) {
	case M_BARE:
		return bare_verify(s->key->pkey, s->jws);
	case M_JWS:
		return jws_verify(s->ctx, s->token, s->token_len, s->key);
	case M_JWKS:
		return jwks_load(s->ctx, s->jwks, s->jwks_len);
	case M_FULL:
		return full_verify(s->ctx, s->token, s->username);
	case M_COUNT:
		break;
	}
	return -1;
}

static int cmd_verify(int argc, char **argv)
{
	struct vstate s = { 0 };
	struct up_jwks *set = NULL;
	char *token = NULL, *jwks = NULL;
	int64_t rounds;
	long iters[M_COUNT];
	int rc = 1;

	if (argc != 7 || parse_count(argv[6], 100, &rounds))
		return 2;
	s.ctx = ctx_for(argv[2]);
	token = slurp(argv[3], &s.token_len);
	jwks = slurp(argv[4], &s.jwks_len);
	if (!s.ctx || !token || !jwks)
		goto out;
	s.token = token;
	s.jwks = jwks;
	s.username = argv[5];
	/* The on-disk cache is filled once, as the first sign-in would. */
	if (up_jwks_refresh(s.ctx) != UP_OK ||
	    up_jwks_parse(s.ctx, jwks, s.jwks_len, &set) != UP_OK ||
	    up_jws_parse(s.ctx, token, s.token_len, &s.jws) != UP_OK ||
	    s.jws->alg != UP_ALG_RS256 || !(s.key = up_jwks_find(set, s.jws->kid))) {
		fprintf(stderr, "bench_lib: setup: %s\n", up_ctx_detail(s.ctx));
		goto out;
	}
	/* A cache file is memoized once its mtime is 2 s old (jwks.c
	 * MEMO_SETTLE); a real one was written long before the sign-ins that
	 * read it, so the measure starts after that. */
	nanosleep(&(struct timespec){ .tv_sec = 2, .tv_nsec = 200000000 }, NULL);
	/* Calibrate: about 0.15 s per round and measure. */
	for (int m = 0; m < M_COUNT; m++) {
		double t0 = now_ns();

		for (int i = 0; i < 10; i++) {
			if (run_once(&s, (enum measure)m)) {
				fprintf(stderr, "bench_lib: %s failed: %s\n", measure_name[m],
					up_ctx_detail(s.ctx));
				goto out;
			}
		}
		iters[m] = iters_for((now_ns() - t0) / 10.0, 150e6);
	}
	/* Rounds interleave the measures, so a change in machine load hits
	 * every measure alike. */
	for (int64_t r = 0; r < rounds; r++) {
		for (int m = 0; m < M_COUNT; m++) {
			double t0 = now_ns(), c0 = cpu_ns();

			for (long i = 0; i < iters[m]; i++) {
				if (run_once(&s, (enum measure)m)) {
					fprintf(stderr, "bench_lib: %s failed: %s\n",
						measure_name[m], up_ctx_detail(s.ctx));
					goto out;
				}
			}
			printf("verify %s %.0f %.0f\n", measure_name[m],
			       (now_ns() - t0) / (double)iters[m],
			       (cpu_ns() - c0) / (double)iters[m]);
		}
		fflush(stdout);
	}
	rc = 0;
out:
	up_jws_free(s.jws);
	up_jwks_free(set);
	free(token);
	free(jwks);
	up_ctx_free(s.ctx);
	return rc;
}

static int cmd_kdf(int argc, char **argv)
{
	static const char pw[] = "Bench-kdf-password-1";
	struct up_ctx *ctx;
	char *verifier = NULL;
	int64_t rounds;
	int rc = 1;

	if (argc != 4 || parse_count(argv[3], 100, &rounds))
		return 2;
	ctx = ctx_for(argv[2]);
	if (!ctx)
		return 1;
	if (up_verifier_new(ctx, pw, &verifier) != UP_OK) {
		fprintf(stderr, "bench_lib: verifier: %s\n", up_ctx_detail(ctx));
		goto out;
	}
	for (int64_t r = 0; r < rounds; r++) {
		double t0 = now_ns(), c0 = cpu_ns();

		if (up_verifier_check(ctx, verifier, pw) != UP_OK) {
			fprintf(stderr, "bench_lib: verifier check: %s\n", up_ctx_detail(ctx));
			goto out;
		}
		printf("kdf_ms %.3f %.3f\n", (now_ns() - t0) / 1e6, (cpu_ns() - c0) / 1e6);
		fflush(stdout);
	}
	rc = 0;
out:
	up_free_secret(verifier);
	up_ctx_free(ctx);
	return rc;
}

/* Figure 5t: a wrong password against this configuration's verifier. */
static int cmd_guess(int argc, char **argv)
{
	static const char pw[] = "Bench-guess-password-1";
	struct up_ctx *ctx;
	char *verifier = NULL;
	const char *scheme;
	int64_t rounds;
	int rc = 1;

	if (argc != 4 || parse_count(argv[3], 1000, &rounds))
		return 2;
	ctx = ctx_for(argv[2]);
	if (!ctx)
		return 1;
	if (up_verifier_new(ctx, pw, &verifier) != UP_OK) {
		fprintf(stderr, "bench_lib: verifier: %s\n", up_ctx_detail(ctx));
		goto out;
	}
	scheme = up_verifier_scheme(verifier, NULL);
	for (int64_t r = 0; r < rounds; r++) {
		double t0 = now_ns(), c0 = cpu_ns();
		int64_t k0 = ctx->kdf_ns;

		if (up_verifier_check(ctx, verifier, "Bench-guess-wrong-2") != UP_EDENIED) {
			fprintf(stderr, "bench_lib: a wrong guess was not refused: %s\n",
				up_ctx_detail(ctx));
			goto out;
		}
		printf("guess_ms %s %.3f %.3f %.3f\n", scheme ? scheme : "?", (now_ns() - t0) / 1e6,
		       (double)(ctx->kdf_ns - k0) / 1e6, (cpu_ns() - c0) / 1e6);
		fflush(stdout);
	}
	rc = 0;
out:
	up_free_secret(verifier);
	up_ctx_free(ctx);
	return rc;
}

static up_err no_prompt(void *ud, const char *text, bool echo, char **ret_answer)
{
	(void)ud;
	(void)text;
	(void)echo;
	*ret_answer = NULL;
	return UP_EINVAL; /* an offline password-only sign-in asks nothing */
}

static int offline_one(const char *config, const char *user, const char *pw)
{
	const struct up_conv conv = {.prompt = no_prompt};
	struct up_auth *auth = NULL;
	double t0 = now_ns(), c0 = cpu_ns();
	struct up_ctx *ctx = ctx_for(config);
	int64_t kdf;
	up_err r;

	if (!ctx)
		return 1;
	r = up_signin(ctx, user, pw, &conv, &auth);
	kdf = ctx->kdf_ns;
	if (r != UP_OK || !auth || !auth->offline) {
		fprintf(stderr, "bench_lib: offline sign-in of %s: %s: %s\n", user, up_strerror(r),
			up_ctx_detail(ctx));
		up_auth_free(auth);
		up_ctx_free(ctx);
		return 1;
	}
	up_auth_free(auth);
	up_ctx_free(ctx);
	printf("offline_ms %.3f %.3f %.3f\n", (now_ns() - t0) / 1e6, (double)kdf / 1e6,
	       (cpu_ns() - c0) / 1e6);
	fflush(stdout);
	return 0;
}

static int cmd_offline(int argc, char **argv)
{
	char line[512], user[256], pw[256];
	FILE *f;
	int rc = 0;

	if (argc != 4)
		return 2;
	f = fopen(argv[3], "r");
	if (!f)
		return 1;
	while (rc == 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %255s", user, pw) == 2)
			rc = offline_one(argv[2], user, pw);
	fclose(f);
	return rc;
}

static int cmd_jwks(int argc, char **argv)
{
	struct up_ctx *ctx;
	int64_t rounds;
	int rc = 1;

	if (argc != 4 || parse_count(argv[3], 100, &rounds))
		return 2;
	ctx = ctx_for(argv[2]);
	if (!ctx)
		return 1;
	if (up_jwks_refresh(ctx) != UP_OK) {
		fprintf(stderr, "bench_lib: jwks: %s\n", up_ctx_detail(ctx));
		goto out;
	}
	for (int64_t r = 0; r < rounds; r++) {
		double t0 = now_ns(), c0 = cpu_ns();

		if (up_jwks_refresh(ctx) != UP_OK) {
			fprintf(stderr, "bench_lib: jwks: %s\n", up_ctx_detail(ctx));
			goto out;
		}
		printf("jwks_ms %.3f %.3f\n", (now_ns() - t0) / 1e6, (cpu_ns() - c0) / 1e6);
		fflush(stdout);
	}
	rc = 0;
out:
	up_ctx_free(ctx);
	return rc;
}

static long own_hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int64_t v;
		char *e;

		if (strncmp(line, "VmHWM:", 6) != 0)
			continue;
		e = strstr(line, " kB");
		if (e)
			*e = '\0';
		for (e = line + 6; *e == ' ' || *e == '\t'; e++)
			;
		if (up_parse_int64(e, 0, INT64_MAX, &v) == UP_OK)
			kb = (long)v;
	}
	fclose(f);
	return kb;
}

static int cmd_rss(int argc, char **argv)
{
	struct rusage ru;
	int status = 0;
	pid_t pid;
	FILE *f;

	if (argc < 4)
		return 2;
	pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		execv(argv[3], argv + 3);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) != pid)
		return 2;
	f = fopen(argv[2], "we");
	if (!f)
		return 2;
	fprintf(f, "%ld %ld\n", ru.ru_maxrss, own_hwm_kb());
	if (fclose(f) != 0)
		return 2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "kdf") == 0)
		return cmd_kdf(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "guess") == 0)
		return cmd_guess(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "offline") == 0)
		return cmd_offline(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "jwks") == 0)
		return cmd_jwks(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "rss") == 0)
		return cmd_rss(argc, argv);
	fprintf(stderr, "usage: bench_lib verify CONFIG TOKEN_FILE JWKS_FILE USERNAME ROUNDS\n"
			"       bench_lib kdf CONFIG ROUNDS\n"
			"       bench_lib guess CONFIG ROUNDS\n"
			"       bench_lib offline CONFIG USERS_FILE\n"
			"       bench_lib jwks CONFIG ROUNDS\n"
			"       bench_lib rss OUTFILE PROG [ARG...]\n");
	return 2;
}
