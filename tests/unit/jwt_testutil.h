/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_JWT_TESTUTIL_H
#define UP_JWT_TESTUTIL_H

/*
 * Shared by test_jwt.c and test_jwks.c: keys generated at test time, JWKs
 * exported from them, tokens signed here, a pre-seeded JWKS cache and the
 * little JWKS server (jwks_server.py).
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "testlib.h"
#include "jwt_int.h"

#define T_NOW ((int64_t)1700000000)
#define T_ISS "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1"
#define T_CLIENT "client123"
#define T_DEAD_URI "http://127.0.0.1:9/jwks" /* nothing listens: refused at once */

static inline EVP_PKEY *tu_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	assert_non_null(k);
	return k;
}

static inline EVP_PKEY *tu_ec(const char *crv)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", crv);

	assert_non_null(k);
	return k;
}

static inline char *tu_b64(const void *data, size_t len)
{
	char *s = NULL;

	assert_int_equal(up_b64url_encode(data, len, &s), UP_OK);
	return s;
}

static inline json_t *tu_bn_json(const BIGNUM *bn, int pad)
{
	int len = pad ? pad : BN_num_bytes(bn);
	unsigned char *buf = malloc((size_t)len + 1);
	char *s;
	json_t *j;

	assert_non_null(buf);
	assert_int_equal(BN_bn2binpad(bn, buf, len), len);
	s = tu_b64(buf, (size_t)len);
	j = json_string(s);
	free(s);
	free(buf);
	return j;
}

/* Public JWK of `pk`; alg and use are left out when NULL. */
static inline json_t *tu_jwk(EVP_PKEY *pk, const char *kid, const char *alg, const char *use)
{
	json_t *k = json_object();

	json_object_set_new(k, "kid", json_string(kid));
	if (alg)
		json_object_set_new(k, "alg", json_string(alg));
	if (use)
		json_object_set_new(k, "use", json_string(use));
	if (EVP_PKEY_is_a(pk, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;

		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e), 1);
		json_object_set_new(k, "kty", json_string("RSA"));
		json_object_set_new(k, "n", tu_bn_json(n, 0));
		json_object_set_new(k, "e", tu_bn_json(e, 0));
		BN_free(n);
		BN_free(e);
	} else {
		BIGNUM *x = NULL, *y = NULL;
		char crv[32];
		size_t l = 0;
		int clen;

		assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, crv,
								sizeof(crv), &l),
				 1);
		clen = strcmp(crv, "prime256v1") == 0 ? 32 : 48;
		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
		json_object_set_new(k, "kty", json_string("EC"));
		json_object_set_new(k, "crv", json_string(clen == 32 ? "P-256" : "P-384"));
		json_object_set_new(k, "x", tu_bn_json(x, clen));
		json_object_set_new(k, "y", tu_bn_json(y, clen));
		BN_free(x);
		BN_free(y);
	}
	return k;
}

/* {"keys": [k1, k2, ...]} as text; the keys (NULL-terminated list) are consumed. */
static inline char *tu_jwks(json_t *first, ...)
{
	json_t *root = json_object(), *keys = json_array();
	va_list ap;
	char *s;

	va_start(ap, first);
	for (json_t *k = first; k; k = va_arg(ap, json_t *))
		json_array_append_new(keys, k);
	va_end(ap);
	json_object_set_new(root, "keys", keys);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(s);
	return s;
}

/* header.payload with a given raw signature. */
static inline char *tu_token_raw(const char *header, const char *payload, const void *sig,
				 size_t sig_len)
{
	char *h = tu_b64(header, strlen(header)), *p = tu_b64(payload, strlen(payload));
	char *s = sig_len ? tu_b64(sig, sig_len) : strdup("");
	char *tok = NULL;

	assert_true(asprintf(&tok, "%s.%s.%s", h, p, s) > 0);
	free(h);
	free(p);
	free(s);
	return tok;
}

static inline const char *tu_md(const char *alg)
{
	return strstr(alg, "256") ? "SHA256" : strstr(alg, "384") ? "SHA384" : "SHA512";
}

/*
 * Sign header.payload with `pk` as `alg` says: RS*, PS256, ES* (raw r||s),
 * HS256 (the HMAC key is `pk`'s public key in PEM: the alg-confusion attack),
 * "none" (empty signature).
 */
static inline char *tu_token(EVP_PKEY *pk, const char *alg, const char *header,
			     const char *payload)
{
	char *h = tu_b64(header, strlen(header)), *p = tu_b64(payload, strlen(payload));
	char *input = NULL, *s, *tok = NULL;
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig);

	assert_true(asprintf(&input, "%s.%s", h, p) > 0);
	if (strcmp(alg, "none") == 0) {
		sig_len = 0;
	} else if (strncmp(alg, "HS", 2) == 0) {
		BIO *b = BIO_new(BIO_s_mem());
		char *pem;
		long pem_len;

		assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
		pem_len = BIO_get_mem_data(b, &pem);
		assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, tu_md(alg), NULL, pem, (size_t)pem_len,
					  (unsigned char *)input, strlen(input), sig, sizeof(sig),
					  &sig_len));
		BIO_free(b);
	} else {
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;

		assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, tu_md(alg), NULL, NULL, pk, NULL), 1);
		if (alg[0] == 'P') {
			assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
		}
		assert_int_equal(EVP_DigestSign(m, sig, &sig_len, (unsigned char *)input,
						strlen(input)),
				 1);
		EVP_MD_CTX_free(m);
		if (alg[0] == 'E') {
			const unsigned char *d = sig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)sig_len);
			int clen = strstr(alg, "256") ? 32 : 48;

			assert_non_null(es);
			assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, clen), clen);
			assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + clen, clen), clen);
			sig_len = (size_t)(2 * clen);
			ECDSA_SIG_free(es);
		}
	}
	s = sig_len ? tu_b64(sig, sig_len) : strdup("");
	assert_true(asprintf(&tok, "%s.%s", input, s) > 0);
	free(h);
	free(p);
	free(s);
	free(input);
	return tok;
}

/* Config text: provider cognito or oidc with the test issuer and client. */
static inline char *tu_config(const char *dir, const char *provider, const char *jwks_uri,
			      const char *extra)
{
	char *c = NULL;

	if (strcmp(provider, "oidc") == 0)
		assert_true(asprintf(&c,
				     "provider = oidc\nissuer = %s\nclient_id = %s\n"
				     "jwks_uri = %s\nstate_dir = %s/state\nleeway = 60\n"
				     "timeout = 5s\nauth_flow = password\n%s",
				     T_ISS, T_CLIENT, jwks_uri, dir, extra ? extra : "") > 0);
	else
		assert_true(asprintf(&c,
				     "provider = cognito\nregion = eu-west-1\n"
				     "user_pool_id = eu-west-1_TestPool1\nclient_id = %s\n"
				     "jwks_uri = %s\nstate_dir = %s/state\nleeway = 60\n"
				     "timeout = 5s\n%s",
				     T_CLIENT, jwks_uri, dir, extra ? extra : "") > 0);
	return c;
}

/* Path of the cache file of the context's jwks_uri (malloc'd). */
static inline char *tu_cache_path(struct up_ctx *ctx)
{
	const char *uri = NULL;
	char name[70], *path = NULL;

	assert_int_equal(up_jwks_uri(ctx, &uri), UP_OK);
	assert_int_equal(up_jwks_cache_name(uri, name), UP_OK);
	assert_true(asprintf(&path, "%s/jwks/%s", ctx->cfg->state_dir, name) > 0);
	return path;
}

/* Write the cache file as jwks.c would. */
static inline void tu_seed_cache(struct up_ctx *ctx, const char *jwks_text, int64_t fetched_at,
				 int64_t refetch_at)
{
	const char *uri = NULL;
	char name[70], *text;
	json_t *root, *jwks;
	json_error_t jerr;
	int fd = -1;

	assert_int_equal(up_jwks_uri(ctx, &uri), UP_OK);
	assert_int_equal(up_jwks_cache_name(uri, name), UP_OK);
	assert_int_equal(up_state_dir(ctx, "jwks", &fd), UP_OK);
	jwks = json_loads(jwks_text, 0, &jerr);
	assert_non_null(jwks);
	root = json_pack("{s:I, s:I, s:s, s:o}", "fetched_at", (json_int_t)fetched_at,
			 "refetch_at", (json_int_t)refetch_at, "jwks_uri", uri, "jwks", jwks);
	assert_non_null(root);
	text = json_dumps(root, JSON_COMPACT);
	assert_int_equal(up_state_write(ctx, fd, name, text, strlen(text), 0600), UP_OK);
	free(text);
	json_decref(root);
	close(fd);
}

/* ---- the JWKS server ---- */

struct tu_server {
	pid_t pid;
	int port;
	char *body;  /* file it serves */
	char *count; /* file with the number of key-set GETs */
	char uri[64];
};

static inline void tu_server_start(const char *dir, struct tu_server *s)
{
	const char *py = getenv("PYTHON3"), *top = getenv("top_srcdir");
	char *script = NULL, line[32];
	int fds[2];
	FILE *f;

	if (!py || !*py)
		py = "/usr/bin/python3";
	assert_true(asprintf(&script, "%s/tests/unit/jwks_server.py", top && *top ? top : ".") > 0);
	assert_true(asprintf(&s->body, "%s/jwks.body", dir) > 0);
	assert_true(asprintf(&s->count, "%s/jwks.count", dir) > 0);
	assert_int_equal(pipe(fds), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(py, py, script, s->body, s->count, "120", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	free(script);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	s->port = (int)strtol(line, NULL, 10);
	assert_true(s->port > 0);
	snprintf(s->uri, sizeof(s->uri), "http://127.0.0.1:%d/jwks", s->port);
}

static inline void tu_server_stop(struct tu_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
	free(s->body);
	free(s->count);
	s->body = s->count = NULL;
}

/* Serve `body` (with `status`, 200 when 0) from now on. */
static inline void tu_server_serve(struct tu_server *s, const char *body, int status)
{
	char *dir = strdup(s->body), *slash = strrchr(dir, '/'), *spath = NULL;
	char st[16];

	*slash = '\0';
	free(t_write_file(dir, "jwks.body", body, 0644));
	snprintf(st, sizeof(st), "%d", status);
	if (status)
		free(t_write_file(dir, "jwks.body.status", st, 0644));
	else {
		assert_true(asprintf(&spath, "%s/jwks.body.status", dir) > 0);
		unlink(spath);
		free(spath);
	}
	free(dir);
}

static inline long tu_server_count(const struct tu_server *s)
{
	FILE *f = fopen(s->count, "r");
	long n = -1;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &n), 1);
	fclose(f);
	return n;
}

#endif
