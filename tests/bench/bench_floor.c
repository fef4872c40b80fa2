/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_floor: the transport floor of figure 2 of `make bench`. For each
 * user it makes the HTTP exchanges of one Cognito sign-in with password and
 * TOTP, back to back on one new connection (a new easy handle per sign-in,
 * as each pamtester process opens its own), with nothing else: no PAM, no
 * configuration, no token verification, no state store.
 *
 *   bench_floor URL CA_FILE CLIENT_ID POOL_ID password|srp USERS_FILE
 *
 * USERS_FILE holds "username password totp-secret-base32" lines. The TOTP
 * code is computed (up_totp) just before it is sent; the SRP values come
 * from the library's SRP client (lib/srp.c), so the requests are the ones a
 * real client sends. Prints "floor_ms <wall ms> <cpu ms>" per sign-in, then
 * "requests <n>" and "process_cpu_ms <cpu>" (the whole process) once. Exit 1
 * on any failed sign-in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include <userpool/userpool.h>

#include "codec.h"
#include "secret.h"
#include "srp.h"

#define MAX_BODY (256u * 1024u)

struct sink {
	char *buf;
	size_t len;
	bool over;
};

struct floor_conf {
	const char *url;
	const char *ca_file;
	const char *client_id;
	const char *pool_name; /* user pool id after '_' */
	bool srp;
};

static long n_requests;

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t len = size * n;
	char *nb;

	if (len > MAX_BODY - s->len) {
		s->over = true;
		return 0;
	}
	nb = realloc(s->buf, s->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + s->len, p, len);
	s->buf = nb;
	s->len += len;
	s->buf[s->len] = '\0';
	return len;
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

/* POST one Cognito action on `curl` (its connection is reused) and parse the
 * 200 answer. NULL on any failure (reported on stderr). */
static json_t *call(CURL *curl, const struct floor_conf *fc, const char *action, json_t *body)
{
	char target[128];
	struct curl_slist *hdrs = NULL, *h2;
	struct sink s = { 0 };
	json_t *ret = NULL;
	json_error_t jerr;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long status = 0;
	CURLcode cc;

	/* `body` is consumed here; it may hold the password. */
	if (body) {
		up_json_wipe(body);
		json_decref(body);
	}

	snprintf(target, sizeof(target), "X-Amz-Target: AWSCognitoIdentityProviderService.%s",
		 action);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/x-amz-json-1.1");
	h2 = hdrs ? curl_slist_append(hdrs, target) : NULL;
	if (!text || !h2) {
		fprintf(stderr, "bench_floor: out of memory\n");
		goto out;
	}
	hdrs = h2;
	curl_easy_setopt(curl, CURLOPT_URL, fc->url);
	curl_easy_setopt(curl, CURLOPT_CAINFO, fc->ca_file);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
	cc = curl_easy_perform(curl);
	n_requests++;
	if (cc != CURLE_OK) {
		fprintf(stderr, "bench_floor: %s: %s\n", action, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 || s.over || !s.buf) {
		fprintf(stderr, "bench_floor: %s: HTTP %ld\n", action, status);
		goto out;
	}
	ret = json_loadb(s.buf, s.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(ret)) {
		fprintf(stderr, "bench_floor: %s: not a JSON object\n", action);
		json_decref(ret);
		ret = NULL;
	}
out:
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (char *)NULL);
	curl_slist_free_all(hdrs);
	if (text)
		up_free_secret(text);
	if (s.buf)
		up_free_secret_len(s.buf, s.len);
	return ret;
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static json_t *challenge_body(const struct floor_conf *fc, const char *name, const char *session,
			      json_t *answers)
{
	json_t *b = json_pack("{s:s,s:s,s:o}", "ChallengeName", name, "ClientId", fc->client_id,
			      "ChallengeResponses", answers);

	if (b && session)
		json_object_set_new(b, "Session", json_string(session));
	return b;
}

static int totp_now(const char *secret_b32, char code[9])
{
	uint8_t *key = NULL;
	size_t key_len = 0;
	up_err r = up_base32_decode(secret_b32, &key, &key_len);

	if (!r)
		r = up_totp(key, key_len, (int64_t)time(NULL), 30, 6, code);
	up_free_secret_len(key, key_len);
	return r ? -1 : 0;
}

/* One sign-in; returns 0 when the pool issued tokens. */
static int signin(struct up_ctx *ctx, const struct floor_conf *fc, const char *user,
		  const char *password, const char *secret)
{
	CURL *curl = curl_easy_init();
	struct up_srp *srp = NULL;
	json_t *resp = NULL, *next = NULL;
	char *a_hex = NULL, *sig = NULL, *ts = NULL;
	char code[9];
	const char *name;
	int rc = -1;

	if (!curl)
		return -1;
	if (fc->srp) {
		if (up_srp_new(ctx, &srp) || up_srp_public_hex(ctx, srp, &a_hex))
			goto out;
		resp = call(curl, fc, "InitiateAuth",
			    json_pack("{s:s,s:s,s:{s:s,s:s}}", "AuthFlow", "USER_SRP_AUTH",
				      "ClientId", fc->client_id, "AuthParameters", "USERNAME",
				      user, "SRP_A", a_hex));
		name = resp ? jstr(resp, "ChallengeName", NULL) : NULL;
		if (!name || strcmp(name, "PASSWORD_VERIFIER") != 0) {
			fprintf(stderr, "bench_floor: expected PASSWORD_VERIFIER\n");
			goto out;
		}
		{
			const char *uid = jstr(resp, "ChallengeParameters", "USER_ID_FOR_SRP");
			const char *salt = jstr(resp, "ChallengeParameters", "SALT");
			const char *b = jstr(resp, "ChallengeParameters", "SRP_B");
			const char *block = jstr(resp, "ChallengeParameters", "SECRET_BLOCK");

			if (!uid || !salt || !b || !block ||
			    up_srp_answer(ctx, srp, fc->pool_name, uid, password, salt, b, block,
					  (int64_t)time(NULL), &sig, &ts)) {
				fprintf(stderr, "bench_floor: SRP answer: %s\n",
					up_ctx_detail(ctx));
				goto out;
			}
			next = call(curl, fc, "RespondToAuthChallenge",
				    challenge_body(fc, "PASSWORD_VERIFIER",
						   jstr(resp, "Session", NULL),
						   json_pack("{s:s,s:s,s:s,s:s}", "USERNAME", uid,
							     "PASSWORD_CLAIM_SECRET_BLOCK", block,
							     "PASSWORD_CLAIM_SIGNATURE", sig,
							     "TIMESTAMP", ts)));
		}
	} else {
		next = call(curl, fc, "InitiateAuth",
			    json_pack("{s:s,s:s,s:{s:s,s:s}}", "AuthFlow", "USER_PASSWORD_AUTH",
				      "ClientId", fc->client_id, "AuthParameters", "USERNAME",
				      user, "PASSWORD", password));
	}
	json_decref(resp);
	resp = next;
	next = NULL;
	name = resp ? jstr(resp, "ChallengeName", NULL) : NULL;
	if (!name || strcmp(name, "SOFTWARE_TOKEN_MFA") != 0) {
		fprintf(stderr, "bench_floor: expected SOFTWARE_TOKEN_MFA\n");
		goto out;
	}
	if (totp_now(secret, code))
		goto out;
	next = call(curl, fc, "RespondToAuthChallenge",
		    challenge_body(fc, "SOFTWARE_TOKEN_MFA", jstr(resp, "Session", NULL),
				   json_pack("{s:s,s:s}", "USERNAME", user,
					     "SOFTWARE_TOKEN_MFA_CODE", code)));
	if (next && jstr(next, "AuthenticationResult", "IdToken"))
		rc = 0;
	else
		fprintf(stderr, "bench_floor: no tokens for %s\n", user);
out:
	if (resp)
		up_json_wipe(resp);
	if (next)
		up_json_wipe(next);
	json_decref(resp);
	json_decref(next);
	up_srp_free(srp);
	free(a_hex);
	up_free_secret(sig);
	free(ts);
	curl_easy_cleanup(curl);
	return rc;
}

int main(int argc, char **argv)
{
	struct floor_conf fc;
	struct up_ctx *ctx = NULL;
	char line[1024];
	FILE *f;
	int rc = 0;

	if (argc != 7 || (strcmp(argv[5], "password") != 0 && strcmp(argv[5], "srp") != 0)) {
		fprintf(stderr, "usage: bench_floor URL CA_FILE CLIENT_ID POOL_ID password|srp "
				"USERS_FILE\n");
		return 2;
	}
	fc.url = argv[1];
	fc.ca_file = argv[2];
	fc.client_id = argv[3];
	fc.pool_name = strchr(argv[4], '_') ? strchr(argv[4], '_') + 1 : argv[4];
	fc.srp = strcmp(argv[5], "srp") == 0;
	f = fopen(argv[6], "re");
	if (!f) {
		fprintf(stderr, "bench_floor: %s: %s\n", argv[6], strerror(errno));
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || up_ctx_new(&ctx) != UP_OK) {
		fclose(f);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		char *user = next_field(&p);
		char *pw = next_field(&p);
		char *secret = next_field(&p);
		double t0, c0;

		if (!user || !pw || !secret)
			continue;
		t0 = clock_ms(CLOCK_MONOTONIC);
		c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
		if (signin(ctx, &fc, user, pw, secret)) {
			rc = 1;
			break;
		}
		printf("floor_ms %.3f %.3f\n", clock_ms(CLOCK_MONOTONIC) - t0,
		       clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
		fflush(stdout);
	}
	printf("requests %ld\n", n_requests);
	/* The whole process: exec, libcurl and its libraries, curl_global_init
	 * and the sign-ins (what a PAM host process pays, less PAM itself). */
	printf("process_cpu_ms %.3f\n", clock_ms(CLOCK_PROCESS_CPUTIME_ID));
	up_wipe(line, sizeof(line));
	fclose(f);
	up_ctx_free(ctx);
	curl_global_cleanup();
	return rc;
}
