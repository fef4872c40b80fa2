/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "ctx.h"
#include "kdf.h"
#include "log.h"
#include "secret.h"
#include "state.h"

/*
 * The password KDF and its machine-wide bound (issue 23 item 4).
 *
 * scrypt with the stored parameters needs 8 MiB (128 MiB for a verifier of
 * an earlier version) and more per derivation;
 * many sign-ins at once (a burst of sshd logins, a cron of sudo) would need
 * that many times over and, under a memory limit, be killed mid-derivation.
 * Each derivation therefore holds one of kdf_slots flock'd files
 * state_dir/kdf/slot.<i> while it runs: the (kdf_slots+1)th waits for a free
 * one, at most `timeout`, instead of allocating. The lock goes with the
 * process, so a killed derivation frees its slot.
 */

#define SLOTS_MAX 1024
#define POLL_MIN_NS (5L * 1000 * 1000)
#define POLL_MAX_NS (40L * 1000 * 1000)

uint64_t up_kdf_scrypt_mem(const struct up_scrypt_params *params)
{
	return 128ull * params->r * (params->n + 2) + 128ull * params->r * params->p;
}

static long slot_count(const struct up_config *cfg)
{
	long n = cfg->kdf_slots;

	if (n <= 0) {
		n = sysconf(_SC_NPROCESSORS_ONLN);
		if (n < 1)
			n = 1;
	}
	return n > SLOTS_MAX ? SLOTS_MAX : n;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Try slot i without waiting: 1 taken (*ret_fd set), 0 busy, <0 error. */
static int try_slot(struct up_ctx *ctx, int dirfd, long i, int *ret_fd, up_err *ret_err)
{
	char name[32];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "slot.%ld", i);
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		    0600);
	if (fd < 0) {
		*ret_err = up_fail(ctx, UP_ESTATE, "cannot open state_dir/kdf/%s: %s", name,
				   strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0022)) {
		close(fd);
		*ret_err =
		    up_fail(ctx, UP_ESTATE, "state_dir/kdf/%s refused (type, owner or mode)", name);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		*ret_fd = fd;
		return 1;
	}
	if (errno == EWOULDBLOCK || errno == EINTR) {
		close(fd);
		return 0;
	}
	*ret_err =
	    up_fail(ctx, UP_ESTATE, "cannot lock state_dir/kdf/%s: %s", name, strerror(errno));
	close(fd);
	return -1;
}

#define BURST_FILE "started"
#define QUIET_MS 300u
#define STEP_MS 50u
#define DEBOUNCE_MAX_MS 10000u

static int64_t ts_ms(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_ms(&ts);
}

/* The last start noted in fd, in ms of CLOCK_REALTIME; -1 when refused. */
static int64_t last_start(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0022))
		return -1;
	return ts_ms(&st.st_mtim);
}

int64_t up_kdf_debounce(int dirfd, const char *name, unsigned quiet_ms, unsigned step_ms,
			unsigned max_ms)
{
	struct timespec step = {(time_t)(step_ms / 1000), (long)(step_ms % 1000) * 1000000L};
	unsigned rounds = step_ms ? max_ms / step_ms : 0, steps = 0;
	const int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	int fd = openat(dirfd, name, flags);

	if (fd < 0 && errno == ENOENT) {
		/* The first helper on this machine, or one that lost that race. */
		fd = openat(dirfd, name, flags | O_CREAT | O_EXCL, 0600);
		if (fd < 0 && errno == EEXIST)
			fd = openat(dirfd, name, flags);
	}
	if (fd < 0)
		return -1;
	if (last_start(fd) < 0 || futimens(fd, NULL) != 0) {
		close(fd);
		return -1;
	}
	/* Every helper, the first of a burst too: until no helper has started
	 * for quiet_ms. A start in the future (the clock stepped back) ends the
	 * wait. Bounded: at most max_ms / step_ms steps. */
	for (; steps < rounds; steps++) {
		int64_t last = last_start(fd), now = real_ms();

		if (last < 0 || last > now || now - last >= (int64_t)quiet_ms)
			break;
		nanosleep(&step, NULL);
	}
	close(fd);
	return (int64_t)steps * step_ms;
}

/* The helper's debounce, once per context, in state_dir/kdf. */
static void yield_to_burst(struct up_ctx *ctx, int dirfd)
{
	int64_t waited;

	ctx->kdf_yield = false;
	waited = up_kdf_debounce(dirfd, BURST_FILE, QUIET_MS, STEP_MS, DEBOUNCE_MAX_MS);
	if (waited < 0)
		up_log(ctx, LOG_DEBUG, "state_dir/kdf/" BURST_FILE " refused: no debounce");
	else if (waited >= (int64_t)STEP_MS)
		up_log(ctx, LOG_DEBUG,
		       "waited %lld ms, until no helper had started for %u ms, before deriving",
		       (long long)waited, QUIET_MS);
}

/* Take a free slot, waiting at most the configured timeout. */
static up_err slot_take(struct up_ctx *ctx, int *ret_fd)
{
	const struct up_config *cfg = ctx->cfg;
	long n = slot_count(cfg), start = (long)(getpid() % n);
	int64_t deadline = mono_ns() + cfg->timeout * 1000000000;
	long delay = POLL_MIN_NS;
	bool logged = false;
	up_err r = UP_OK;
	int dirfd;

	r = up_state_dir(ctx, "kdf", &dirfd);
	if (r)
		return r;
	if (ctx->kdf_yield)
		yield_to_burst(ctx, dirfd);
	/* Bounded by the deadline: every round sleeps at least POLL_MIN_NS. */
	for (;;) {
		for (long k = 0; k < n; k++) {
			int got = try_slot(ctx, dirfd, (start + k) % n, ret_fd, &r);

			if (got) {
				close(dirfd);
				return got > 0 ? UP_OK : r;
			}
		}
		if (mono_ns() >= deadline)
			break;
		if (!logged) {
			up_log(ctx, LOG_DEBUG, "all %ld derivation slots busy: waiting", n);
			logged = true;
		}
		{
			struct timespec ts = {0, delay};

			nanosleep(&ts, NULL);
		}
		delay = delay * 2 > POLL_MAX_NS ? POLL_MAX_NS : delay * 2;
	}
	close(dirfd);
	return up_fail(ctx, UP_EINTERNAL, "no free derivation slot (of %ld) within %llds", n,
		       (long long)cfg->timeout);
}

up_err up_kdf_scrypt(struct up_ctx *ctx, const char *password, const uint8_t *salt, size_t salt_len,
		     const struct up_scrypt_params *params, uint8_t *out, size_t out_len)
{
	/* OpenSSL checks its own estimate against maxmem; leave it 1 MiB. */
	uint64_t maxmem, n, mem;
	uint32_t r, p;
	EVP_KDF *kdf;
	EVP_KDF_CTX *kctx;
	OSSL_PARAM op[7];
	int slot = -1;
	int64_t t0;
	bool ok;
	up_err ret = UP_OK;

	if (!ctx || !password || !salt || !params || !out || !out_len)
		return UP_EINVAL;
	n = params->n;
	r = params->r;
	p = params->p;
	mem = up_kdf_scrypt_mem(params);
	maxmem = mem + (1u << 20);
	if (ctx->cfg) {
		ret = slot_take(ctx, &slot);
		if (ret) {
			up_wipe(out, out_len);
			return ret;
		}
	}
	kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	if (!kctx) {
		ret = up_fail(ctx, UP_EINTERNAL,
			      "scrypt is not available in OpenSSL (out of memory?)");
		goto out;
	}
	op[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
						  (void *)(uintptr_t)password, strlen(password));
	op[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt,
						  salt_len);
	op[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	op[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	op[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	op[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
	op[6] = OSSL_PARAM_construct_end();
	t0 = mono_ns();
	ok = EVP_KDF_derive(kctx, out, out_len, op) == 1;
	ctx->kdf_ns += mono_ns() - t0;
	if (!ok)
		ret = up_fail(ctx, UP_EINTERNAL,
			      "scrypt could not derive (N=%llu r=%u p=%u needs %llu MiB: out of "
			      "memory?)",
			      (unsigned long long)n, r, p, (unsigned long long)(mem >> 20));
	/* EVP_KDF_CTX_free cleanses the scrypt state. */
	EVP_KDF_CTX_free(kctx);
out:
	if (slot >= 0)
		close(slot); /* releases the flock */
	if (ret)
		up_wipe(out, out_len);
	return ret;
}
