/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/*
 * Issue 24: uid_source = hash gives the same person the same UID on every
 * machine. Two state directories (two machines) that provision the same
 * 1,000 people in different orders write byte-identical NSS files; a hash
 * collision with another entry is refused, never a different UID.
 */

#define ISSUER "https://127.0.0.1:9/us-east-1_TestPool1"
#define NUSERS 1000
#define HASH_SUB0 238671

struct fx {
	char *dir;
	struct t_log log;
	struct t_clock clock;
};

static struct up_ctx *make_ctx(struct fx *f, const char *state_dir, const char *extra)
{
	char *cfg = NULL;

	assert_true(asprintf(&cfg,
			     "user_pool_id = us-east-1_TestPool1\n"
			     "client_id = testclient0001\n"
			     "issuer = " ISSUER "\n"
			     "state_dir = %s\n"
			     "%s",
			     state_dir, extra) > 0);
	struct up_ctx *ctx = t_ctx_with_config(f->dir, cfg, &f->log, &f->clock);
	free(cfg);
	assert_non_null(ctx);
	return ctx;
}

static char *slurp(const char *dir, const char *name)
{
	char *path = NULL, *buf;
	FILE *fp;
	long n;

	assert_true(asprintf(&path, "%s/nss/%s", dir, name) > 0);
	fp = fopen(path, "r");
	free(path);
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = t_mkdtemp();
	f->clock.now = 1700000000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	t_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* The documented hash: first 8 bytes of SHA-256(issuer "\n" sub) as a
 * big-endian uint64, mod the range size, plus uid_min. The expected
 * number was computed outside C: python3 -c 'import hashlib;
 * d=hashlib.sha256(b"https://127.0.0.1:9/us-east-1_TestPool1\nsub-0").digest();
 * print(200000+int.from_bytes(d[:8],"big")%100000)' */
static void test_hash_documented(void **state)
{
	int64_t uid = 0;

	(void)state;
	assert_int_equal(up_nss_hash_uid(ISSUER, "sub-0", 200000, 299999, &uid), UP_OK);
	assert_int_equal(uid, HASH_SUB0);
	assert_int_equal(up_nss_hash_uid(ISSUER, "", 200000, 299999, &uid), UP_EINVAL);
	assert_int_equal(up_nss_hash_uid(NULL, "s", 200000, 299999, &uid), UP_EINVAL);
}

static void provision(struct up_ctx *ctx, int i)
{
	char name[32], sub[32];
	uint32_t uid = 0;

	snprintf(name, sizeof(name), "fleet%04d", i);
	snprintf(sub, sizeof(sub), "sub-%d", i);
	assert_int_equal(up_nss_user_add_sub(ctx, name, ISSUER, sub, &uid), UP_OK);
	assert_true(uid >= 1073741824u && uid <= 2147352575u);
}

static void test_two_machines(void **state)
{
	struct fx *f = *state;
	char *a = NULL, *b = NULL;
	int order[NUSERS];
	struct up_ctx *ca, *cb;
	const char *extra = "uid_source = hash\nuid_min = 1073741824\nuid_max = 2147352575\n";

	assert_true(asprintf(&a, "%s/a", f->dir) > 0);
	assert_true(asprintf(&b, "%s/b", f->dir) > 0);
	ca = make_ctx(f, a, extra);
	cb = make_ctx(f, b, extra);
	/* Machine b sees the people in another order (a fixed permutation). */
	for (int i = 0; i < NUSERS; i++)
		order[i] = i;
	for (int i = NUSERS - 1; i > 0; i--) {
		int j = (int)(((unsigned)i * 2654435761u) % (unsigned)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	assert_true(order[0] != 0 || order[1] != 1);
	for (int i = 0; i < NUSERS; i++)
		provision(ca, i);
	for (int i = 0; i < NUSERS; i++)
		provision(cb, order[i]);
	/* Provisioning again keeps the UID and the bytes. */
	provision(cb, 7);

	char *pa = slurp(a, "passwd"), *pb = slurp(b, "passwd");
	char *ga = slurp(a, "group"), *gb = slurp(b, "group");
	assert_true(strlen(pa) > 40 * NUSERS);
	assert_string_equal(pa, pb);
	assert_string_equal(ga, gb);
	free(pa);
	free(pb);
	free(ga);
	free(gb);
	up_ctx_free(ca);
	up_ctx_free(cb);
	free(a);
	free(b);
}

/* Two UIDs for three people: a collision is certain, and refused. */
static void test_collision_refused(void **state)
{
	struct fx *f = *state;
	char *s = NULL, name[32], sub[32];
	struct up_ctx *ctx;
	uint32_t uid = 0, seen[2] = {0, 0};
	int64_t h[3];
	int first = -1, second = -1;
	up_err r;

	assert_true(asprintf(&s, "%s/c", f->dir) > 0);
	ctx = make_ctx(f, s, "uid_source = hash\nuid_min = 300000\nuid_max = 300001\n");
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    up_nss_hash_uid(ISSUER, (char[]){(char)('a' + i), 0}, 300000, 300001, &h[i]),
		    UP_OK);
	for (int i = 0; i < 3 && second < 0; i++)
		for (int j = i + 1; j < 3 && second < 0; j++)
			if (h[i] == h[j]) {
				first = i;
				second = j;
			}
	assert_true(second > first && first >= 0);
	snprintf(name, sizeof(name), "first%d", first);
	snprintf(sub, sizeof(sub), "%c", 'a' + first);
	assert_int_equal(up_nss_user_add_sub(ctx, name, ISSUER, sub, &uid), UP_OK);
	assert_int_equal(uid, h[first]);
	seen[0] = uid;
	snprintf(name, sizeof(name), "second%d", second);
	snprintf(sub, sizeof(sub), "%c", 'a' + second);
	r = up_nss_user_add_sub(ctx, name, ISSUER, sub, &seen[1]);
	assert_int_equal(r, UP_EINVAL);
	assert_int_equal(seen[1], 0);
	assert_true(t_log_contains(&f->log, "which first"));
	assert_true(t_log_contains(&f->log, "give one of them an explicit UID"));
	char *p = slurp(s, "passwd");
	assert_null(strstr(p, "second"));
	free(p);
	/* Without a sub, hash cannot choose: refused with the reason. */
	assert_int_equal(up_nss_user_add(ctx, "nosub", &uid), UP_EINVAL);
	assert_non_null(strstr(up_ctx_detail(ctx), "--sub"));
	(void)seen;
	up_ctx_free(ctx);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_documented),
	    cmocka_unit_test_setup_teardown(test_two_machines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collision_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
