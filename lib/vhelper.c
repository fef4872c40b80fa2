/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "buf.h"
#include "codec.h"
#include "ctx.h"
#include "log.h"
#include "num.h"
#include "secret.h"
#include "vhelper.h"

/* The work travels as fields, each a 4-byte big-endian length and its
 * bytes (NO_FIELD: a NULL string); the first one names the format. */
#define MSG_MAGIC "userpool-verifier 1"
#define NO_FIELD 0xffffffffu
#define NONCE_LEN 16u
#define MARK_LEN (sizeof(UP_VHELPER_MARK) - 1 + 2 * NONCE_LEN + 1)

struct up_vhelper {
	pid_t pid; /* the intermediate child, reaped by start */
	int sock;  /* our end; the helper's stdin is the other */
	char marker[MARK_LEN + 1];
};

bool up_vhelper_pending(const char *verifier)
{
	return verifier && strncmp(verifier, UP_VHELPER_MARK, sizeof(UP_VHELPER_MARK) - 1) == 0;
}

const char *up_vhelper_inner(const char *verifier)
{
	if (!up_vhelper_pending(verifier))
		return verifier;
	if (strlen(verifier) <= MARK_LEN)
		return NULL;
	return verifier + MARK_LEN;
}

const char *up_vhelper_marker(const struct up_vhelper *h)
{
	return h ? h->marker : NULL;
}

void up_vhelper_free(struct up_vhelper *h)
{
	if (!h)
		return;
	if (h->sock >= 0)
		close(h->sock);
	free(h);
}

/* ---------------------------------------------------------------------- */
/* the double fork (only async-signal-safe calls in the children) */

/* In the grandchild: stdin the socket, stdout/stderr /dev/null, every other
 * descriptor closed at execve (the status pipe reports a failed execve). */
static void child_exec(const char *path, int sock, int status_fd, int maxfd)
{
	static const struct sigaction dfl = {.sa_handler = SIG_DFL};
	static char name[] = "userpool-verifier";
	char *const argv[] = {name, NULL};
	char *const envp[] = {NULL};
	sigset_t none;
	int e, null_fd;

	for (int s = 1; s < NSIG; s++)
		(void)sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(sock, 0) < 0)
		goto fail;
	/* After stdin, and not close-on-exec: with the host's 1 or 2 closed it
	 * lands there (and stays); else close_range marks it. */
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0)
		goto fail;
	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
		for (int fd = 3; fd < maxfd; fd++)
			if (fd != status_fd)
				close(fd);
	execve(path, argv, envp);
fail:
	e = errno;
	if (write(status_fd, &e, sizeof(e)) < 0)
		e = 0;
	_exit(127);
}

/* In the intermediate child: a session of its own for the helper, then
 * exit at once (the caller reaps it; the helper is init's). */
static void child_detach(const char *path, int sock, int status_fd, int maxfd)
{
	pid_t pid;
	int e;

	setsid();
	pid = _Fork();
	if (pid == 0)
		child_exec(path, sock, status_fd, maxfd);
	if (pid < 0) {
		e = errno;
		if (write(status_fd, &e, sizeof(e)) < 0)
			e = 0;
		_exit(1);
	}
	_exit(0);
}

/* Fork, reap the intermediate child with SIGCHLD at its default (so the
 * host's handler never sees it, as pam_unix does for unix_chkpwd), and
 * read the grandchild's execve outcome: 0, or its errno. */
static int spawn(const char *path, int sock, int status_pipe[2])
{
	struct sigaction dfl, old_chld;
	sigset_t all, old_mask;
	int maxfd = (int)sysconf(_SC_OPEN_MAX), e = 0, status;
	pid_t pid;
	ssize_t n;

	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &old_chld);
	/* No handler of the host runs in the children. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old_mask);
	pid = fork();
	if (pid == 0)
		child_detach(path, sock, status_pipe[1], maxfd);
	if (pid < 0)
		e = errno;
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	close(status_pipe[1]);
	status_pipe[1] = -1;
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		/* EOF: the execve succeeded (the pipe is close-on-exec). */
		while ((n = read(status_pipe[0], &e, sizeof(e))) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof(e))
			e = 0;
		else if (e == 0)
			e = EIO;
	}
	sigaction(SIGCHLD, &old_chld, NULL);
	return e;
}

/* A descriptor of ours at 3 or above (a host may run with 0-2 closed),
 * close-on-exec. */
static int above_stdio(int fd)
{
	int moved;

	if (fd < 0 || fd > 2)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return moved;
}

static up_err new_marker(struct up_ctx *ctx, struct up_vhelper *h)
{
	uint8_t nonce[NONCE_LEN];
	char *hex = NULL;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1 || up_hex_encode(nonce, sizeof(nonce), &hex))
		return up_fail(ctx, UP_EINTERNAL, "no random bytes for the verifier helper");
	snprintf(h->marker, sizeof(h->marker), "%s%s$", UP_VHELPER_MARK, hex);
	free(hex);
	return UP_OK;
}

up_err up_vhelper_start(struct up_ctx *ctx, struct up_vhelper **ret)
{
	const char *path = ctx && ctx->cfg ? ctx->cfg->verifier_helper : NULL;
	int sv[2] = {-1, -1}, st[2] = {-1, -1}, e;
	struct up_vhelper *h;

	*ret = NULL;
	if (!path || !*path)
		return UP_ENOENT;
	h = calloc(1, sizeof(*h));
	if (!h)
		return UP_ENOMEM;
	h->sock = -1;
	if (new_marker(ctx, h)) {
		free(h);
		return UP_EINTERNAL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(st, O_CLOEXEC) < 0) {
		e = errno;
		goto fail;
	}
	sv[0] = above_stdio(sv[0]);
	sv[1] = above_stdio(sv[1]);
	st[0] = above_stdio(st[0]);
	st[1] = above_stdio(st[1]);
	if (sv[0] < 0 || sv[1] < 0 || st[0] < 0 || st[1] < 0) {
		e = errno;
		goto fail;
	}
	e = spawn(path, sv[1], st);
	if (e)
		goto fail;
	close(sv[1]);
	close(st[0]);
	h->sock = sv[0];
	*ret = h;
	return UP_OK;
fail:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (st[i] >= 0)
			close(st[i]);
	}
	free(h);
	up_log(ctx, LOG_WARNING,
	       "cannot start the verifier helper %s: %s: the offline verifier is derived in the "
	       "sign-in",
	       path, strerror(e));
	return up_fail(ctx, UP_EINTERNAL, "cannot start the verifier helper %s: %s", path,
		       strerror(e));
}

/* ---------------------------------------------------------------------- */
/* the message */

static void add_field(struct up_buf *b, const char *s)
{
	uint32_t n = s ? (uint32_t)strlen(s) : NO_FIELD;
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

	up_buf_add(b, len, sizeof(len));
	if (s)
		up_buf_add(b, s, strlen(s));
}

static void add_int(struct up_buf *b, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	add_field(b, num);
}

static bool encode(const struct up_vwork *w, struct up_buf *b)
{
	size_t n = 0;

	while (w->cfg_args && w->cfg_args[n])
		n++;
	if (n > UP_VHELPER_ARGS_MAX)
		return false;
	add_field(b, MSG_MAGIC);
	add_field(b, w->cfg_path);
	add_int(b, (int64_t)n);
	for (size_t i = 0; i < n; i++)
		add_field(b, w->cfg_args[i]);
	add_field(b, w->username);
	add_field(b, w->marker);
	add_field(b, w->password);
	add_field(b, w->sub);
	add_field(b, w->totp_secret);
	add_field(b, w->totp_code);
	add_int(b, w->mfa_method);
	add_int(b, w->requester);
	add_int(b, w->signin_at);
	return !b->over && !b->oom;
}

up_err up_vhelper_send(struct up_ctx *ctx, struct up_vhelper *h, const struct up_vwork *w)
{
	struct up_buf b = {.cap = UP_VHELPER_MSG_MAX};
	size_t off = 0;
	ssize_t n;
	up_err r = UP_OK;

	if (!h || !w || !w->marker || strcmp(w->marker, h->marker) != 0) {
		up_vhelper_free(h);
		return UP_EINVAL;
	}
	if (!encode(w, &b))
		r = up_fail(ctx, b.oom ? UP_ENOMEM : UP_EINVAL,
			    "the verifier helper's work does not fit");
	/* Far below the socket's buffer: no wait for the helper to read. */
	while (!r && off < b.len) {
		n = send(h->sock, b.s + off, b.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = up_fail(ctx, UP_EINTERNAL, "the verifier helper does not read: %s",
				    n < 0 ? strerror(errno) : "closed");
		else
			off += (size_t)n;
	}
	up_buf_clear(&b);
	up_vhelper_free(h);
	return r;
}

/* ---------------------------------------------------------------------- */
/* the helper's side */

static void vwork_free_str(const char **p)
{
	up_free_secret((char *)(uintptr_t)*p);
	*p = NULL;
}

void up_vwork_clear(struct up_vwork *w)
{
	if (!w)
		return;
	vwork_free_str(&w->cfg_path);
	if (w->cfg_args) {
		const char **args = (const char **)(uintptr_t)w->cfg_args;

		for (size_t i = 0; args[i]; i++)
			vwork_free_str(&args[i]);
		free(args);
	}
	vwork_free_str(&w->username);
	vwork_free_str(&w->marker);
	vwork_free_str(&w->password);
	vwork_free_str(&w->sub);
	vwork_free_str(&w->totp_secret);
	vwork_free_str(&w->totp_code);
	memset(w, 0, sizeof(*w));
}

struct reader {
	const uint8_t *p;
	size_t left;
	bool bad;
};

/* The next field, copied (NULL for NO_FIELD or a bad message: r->bad). */
static char *next_field(struct reader *r, bool *ret_null)
{
	uint32_t n;
	char *s;

	*ret_null = false;
	if (r->bad || r->left < 4) {
		r->bad = true;
		return NULL;
	}
	n = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	if (n == NO_FIELD) {
		*ret_null = true;
		return NULL;
	}
	if (n > r->left || memchr(r->p, '\0', n)) {
		r->bad = true;
		return NULL;
	}
	s = malloc((size_t)n + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, r->p, n);
	s[n] = '\0';
	r->p += n;
	r->left -= n;
	return s;
}

static void str_field(struct reader *r, const char **out, bool may_be_null)
{
	bool null;

	*out = next_field(r, &null);
	if (!*out && !(null && may_be_null))
		r->bad = true;
}

static void int_field(struct reader *r, int64_t min, int64_t max, int64_t *out)
{
	const char *s = NULL;

	str_field(r, &s, false);
	if (s && up_parse_int64(s, min, max, out))
		r->bad = true;
	free((char *)(uintptr_t)s);
}

static up_err decode(const uint8_t *buf, size_t len, struct up_vwork *w)
{
	struct reader r = {buf, len, false};
	const char *magic = NULL, **args = NULL;
	int64_t n = 0;

	memset(w, 0, sizeof(*w));
	str_field(&r, &magic, false);
	if (magic && strcmp(magic, MSG_MAGIC) != 0)
		r.bad = true;
	free((char *)(uintptr_t)magic);
	str_field(&r, &w->cfg_path, true);
	int_field(&r, 0, UP_VHELPER_ARGS_MAX, &n);
	args = r.bad ? NULL : calloc((size_t)n + 1, sizeof(*args));
	if (!args)
		r.bad = true;
	w->cfg_args = args;
	for (int64_t i = 0; !r.bad && i < n; i++)
		str_field(&r, &args[i], false);
	str_field(&r, &w->username, false);
	str_field(&r, &w->marker, false);
	str_field(&r, &w->password, false);
	str_field(&r, &w->sub, false);
	str_field(&r, &w->totp_secret, true);
	str_field(&r, &w->totp_code, true);
	int_field(&r, 0, 64, &w->mfa_method);
	int_field(&r, -1, INT64_MAX, &w->requester);
	int_field(&r, 0, INT64_MAX, &w->signin_at);
	if (r.bad || r.left || !up_vhelper_pending(w->marker) || strlen(w->marker) != MARK_LEN) {
		up_vwork_clear(w);
		return UP_EINVAL;
	}
	return UP_OK;
}

up_err up_vwork_read(int fd, struct up_vwork *w)
{
	uint8_t *buf = malloc(UP_VHELPER_MSG_MAX);
	size_t len = 0;
	ssize_t n;
	up_err r;

	if (!buf)
		return UP_ENOMEM;
	for (;;) {
		n = read(fd, buf + len, UP_VHELPER_MSG_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == UP_VHELPER_MSG_MAX)
			break;
	}
	r = n < 0 || len == UP_VHELPER_MSG_MAX || len == 0 ? UP_EINVAL : decode(buf, len, w);
	up_free_secret_len(buf, UP_VHELPER_MSG_MAX);
	return r;
}
