/* SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testlib.h"
#include "poolctl.h"

#define READY_TIMEOUT_MS 60000 /* the first start generates a CA and keys */
#define ADMIN_CAP (1u << 20)

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static char *pool_script(void)
{
	const char *top = getenv("top_srcdir");
	char *path = NULL;

	if (!top || !*top)
		top = ".";
	assert_true(asprintf(&path, "%s/tests/pool/pool.py", top) > 0);
	return path;
}

struct t_pool *t_pool_start(const struct t_pool_opts *opts)
{
	static const struct t_pool_opts defaults = { .tls = true };
	struct t_pool *p = calloc(1, sizeof(*p));
	char *script = pool_script(), *state = NULL, *cadir = NULL;
	char line[512];
	size_t len = 0;
	int fds[2];
	pid_t pid;
	struct timespec t0, t1;

	if (!opts)
		opts = &defaults;
	assert_non_null(p);
	p->dir = t_mkdtemp();
	assert_true(asprintf(&state, "%s/state", p->dir) > 0);
	if (opts->ca_dir)
		cadir = xstrdup(opts->ca_dir);
	else
		assert_true(asprintf(&cadir, "%s/ca", p->dir) > 0);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[16];
		int n = 0, devnull = open("/dev/null", O_RDWR);

		/* A test that dies (abort, timeout) takes its pool with it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(127);

		dup2(fds[1], STDOUT_FILENO);
		if (!getenv("POOLCTL_VERBOSE") && devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		argv[n++] = "/usr/bin/python3";
		argv[n++] = script;
		argv[n++] = "--port";
		argv[n++] = "0";
		argv[n++] = "--state";
		argv[n++] = state;
		if (opts->tls) {
			argv[n++] = "--tls";
			argv[n++] = cadir;
		}
		if (opts->wrong_host_cert)
			argv[n++] = "--wrong-host-cert";
		if (opts->client_secret) {
			argv[n++] = "--client-secret";
			argv[n++] = opts->client_secret;
		}
		if (getenv("POOLCTL_VERBOSE"))
			argv[n++] = "--verbose";
		argv[n] = NULL;
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(fds[1]);
	p->pid = pid;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		long waited;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (waited >= READY_TIMEOUT_MS)
			break;
		if (poll(&pfd, 1, (int)(READY_TIMEOUT_MS - waited)) <= 0)
			continue;
		n = read(fds[0], line + len, sizeof(line) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		line[len] = '\0';
		if (strchr(line, '\n') || len == sizeof(line) - 1)
			break;
	}
	close(fds[0]);
	if (strncmp(line, "READY ", 6) != 0 || !strchr(line, '\n')) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("test pool did not start (%s)", len ? line : "no output");
	}
	*strchr(line, '\n') = '\0';
	p->url = xstrdup(line + 6);
	if (opts->tls)
		assert_true(asprintf(&p->ca_file, "%s/ca.pem", cadir) > 0);
	p->pool_id = xstrdup("us-east-1_TestPool1");
	p->client_id = xstrdup("userpooltestclient00000001");
	assert_true(asprintf(&p->issuer, "%s%s", p->url, p->pool_id) > 0);
	assert_true(asprintf(&p->jwks_uri, "%s/.well-known/jwks.json", p->issuer) > 0);
	free(script);
	free(state);
	free(cadir);
	return p;
}

void t_pool_stop(struct t_pool *p)
{
	if (!p)
		return;
	if (p->pid > 0) {
		int status;
		kill(p->pid, SIGTERM);
		for (int i = 0; i < 50; i++) {
			if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
				p->pid = 0;
				break;
			}
			usleep(100000);
		}
		if (p->pid > 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
		}
	}
	t_rmtree(p->dir);
	free(p->dir);
	free(p->url);
	free(p->ca_file);
	free(p->pool_id);
	free(p->client_id);
	free(p->issuer);
	free(p->jwks_uri);
	free(p);
}

struct buf {
	char *data;
	size_t len;
};

static size_t on_data(char *d, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *nd;

	if (b->len + n > ADMIN_CAP)
		return 0;
	nd = realloc(b->data, b->len + n + 1);
	if (!nd)
		return 0;
	b->data = nd;
	memcpy(b->data + b->len, d, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static long admin_v(struct t_pool *p, const char *op, json_t **ret, const char *fmt, va_list ap)
{
	json_t *req = fmt ? json_vpack_ex(NULL, 0, fmt, ap) : json_object();
	char *body, *url = NULL;
	struct buf b = { 0 };
	struct curl_slist *hdrs = NULL;
	json_error_t jerr;
	long status = 0;
	CURL *c;
	CURLcode rc;

	assert_non_null(req);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	assert_non_null(body);
	assert_true(asprintf(&url, "%sadmin/%s", p->url, op) > 0);
	c = curl_easy_init();
	assert_non_null(c);
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (p->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
	/* The admin channel of a wrong-host pool: the name check is what that
	 * pool is there to fail, not this helper. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		fail_msg("admin %s: %s", op, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(url);
	free(body);
	if (ret) {
		*ret = b.len ? json_loadb(b.data, b.len, 0, &jerr) : json_object();
		if (!*ret)
			fail_msg("admin %s: bad JSON answer", op);
	}
	free(b.data);
	return status;
}

json_t *t_pool_admin(struct t_pool *p, const char *op, const char *fmt, ...)
{
	json_t *res = NULL;
	va_list ap;
	long status;

	va_start(ap, fmt);
	status = admin_v(p, op, &res, fmt, ap);
	va_end(ap);
	if (status != 200) {
		char *s = json_dumps(res, 0);
		fail_msg("admin %s: HTTP %ld %s", op, status, s ? s : "");
	}
	return res;
}

long t_pool_admin_status(struct t_pool *p, const char *op, json_t **ret, const char *fmt, ...)
{
	va_list ap;
	long status;

	va_start(ap, fmt);
	status = admin_v(p, op, ret, fmt, ap);
	va_end(ap);
	return status;
}

long t_pool_fault(struct t_pool *p, const char *fmt, ...)
{
	json_t *res = NULL;
	va_list ap;
	long status, id;

	va_start(ap, fmt);
	status = admin_v(p, "fault", &res, fmt, ap);
	va_end(ap);
	assert_int_equal(status, 200);
	id = (long)json_integer_value(json_object_get(res, "id"));
	json_decref(res);
	assert_true(id > 0);
	return id;
}

void t_pool_clear_faults(struct t_pool *p)
{
	json_decref(t_pool_admin(p, "clear_faults", NULL));
}

void t_pool_user(struct t_pool *p, const char *username, const char *password,
		 const char *const *groups)
{
	json_t *g = json_array();

	for (const char *const *x = groups; x && *x; x++)
		json_array_append_new(g, json_string(*x));
	json_decref(t_pool_admin(p, "create_user", "{s:s, s:s, s:o}", "username", username,
				 "password", password, "groups", g));
}

char *t_pool_enable_totp(struct t_pool *p, const char *username)
{
	json_t *r = t_pool_admin(p, "enable_totp", "{s:s}", "username", username);
	char *s = xstrdup(json_string_value(json_object_get(r, "secret")));

	json_decref(r);
	return s;
}

void t_totp_code(const char *secret_b32, long last_step, char out[9])
{
	uint8_t *key = NULL;
	size_t key_len = 0;
	int64_t now = (int64_t)time(NULL), step = now / 30, want = step;

	if (want <= last_step)
		want = last_step + 1;
	if (want > step + 1) {
		/* Both usable steps are spent: wait (at most one step). */
		int64_t until = (want - 1) * 30;
		while ((int64_t)time(NULL) < until)
			usleep(200000);
	}
	assert_int_equal(up_base32_decode(secret_b32, &key, &key_len), UP_OK);
	assert_int_equal(up_totp(key, key_len, want * 30, 30, 6, out), UP_OK);
	up_free_secret_len(key, key_len);
}

void t_pool_totp_code(struct t_pool *p, const char *username, char out[9])
{
	json_t *r = t_pool_admin(p, "get_totp_secret", "{s:s}", "username", username);
	const char *secret = json_string_value(json_object_get(r, "secret"));

	assert_non_null(secret);
	t_totp_code(secret, (long)json_integer_value(json_object_get(r, "last_step")), out);
	json_decref(r);
}

static long stat_get(struct t_pool *p, const char *group, const char *key)
{
	json_t *r = t_pool_admin(p, "stats", NULL);
	json_t *v = group ? json_object_get(json_object_get(r, group), key)
			  : json_object_get(r, key);
	long n = v ? (long)json_integer_value(v) : 0;

	json_decref(r);
	return n;
}

long t_pool_stat_target(struct t_pool *p, const char *action)
{
	return stat_get(p, "targets", action);
}

long t_pool_stat_connections(struct t_pool *p)
{
	return stat_get(p, NULL, "connections");
}

long t_pool_stat_path(struct t_pool *p, const char *path)
{
	return stat_get(p, "paths", path);
}

void t_pool_reset_stats(struct t_pool *p)
{
	json_decref(t_pool_admin(p, "reset_stats", NULL));
}

char *t_pool_config(struct t_pool *p, const char *state_dir, const char *extra)
{
	char *cfg = NULL;
	bool own_ca = extra && strstr(extra, "ca_file");

	assert_true(asprintf(&cfg,
			     "provider = cognito\n"
			     "region = us-east-1\n"
			     "user_pool_id = %s\n"
			     "client_id = %s\n"
			     "endpoint = %s\n"
			     "issuer = %s\n"
			     "jwks_uri = %s\n"
			     "%s%s%s"
			     "state_dir = %s\n"
			     "timeout = 10s\n"
			     "%s\n",
			     p->pool_id, p->client_id, p->url, p->issuer, p->jwks_uri,
			     (p->ca_file && !own_ca) ? "ca_file = " : "",
			     (p->ca_file && !own_ca) ? p->ca_file : "",
			     (p->ca_file && !own_ca) ? "\n" : "", state_dir,
			     extra ? extra : "") > 0);
	return cfg;
}

char *t_state_dir(void)
{
	char *d = t_mkdtemp();

	/* state.c wants root-owned (when root) and 0700. */
	assert_int_equal(chmod(d, 0700), 0);
	return d;
}
