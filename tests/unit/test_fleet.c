/* SPDX-License-Identifier: Apache-2.0 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/*
 * Issue 24: uid_source = claim and hash give the same person the same UID
 * on every machine. Two state directories (two machines) that provision the
 * same 1,000 people in different orders write byte-identical NSS files; a
 * hash collision with another entry is refused, never a different UID; a
 * missing or invalid claim is refused naming the claim; switching
 * uid_source keeps the entries there are.
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
	/* the worked example of userpool.conf(5): v = 0x17220a8feb73197e */
	assert_int_equal(up_nss_hash_uid("https://cognito-idp.us-east-1.amazonaws.com/"
					 "us-east-1_Example",
					 "a1b2c3d4-0000-4000-8000-000000000001", 200000, 299999, &uid),
			 UP_OK);
	assert_int_equal(uid, 294846);
	assert_int_equal(up_nss_hash_uid("https://cognito-idp.us-east-1.amazonaws.com/"
					 "us-east-1_Example",
					 "a1b2c3d4-0000-4000-8000-000000000001", 1073610752,
					 2147352575, &uid),
			 UP_OK);
	assert_int_equal(uid, 1073610752 + (0x17220a8feb73197eULL & ((1u << 30) - 1)));
	assert_int_equal(uid, 1802574206);
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
	assert_true(uid >= 1073610752u && uid <= 2147352575u);
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
	/* The log line names both users and the fix. */
	{
		char *want = NULL;
		assert_true(
		    asprintf(&want,
			     "uid_source = hash: second%d (sub %c) hashes to uid %lld, which "
			     "first%d already has: second%d refused; give one of them an "
			     "explicit UID (userpool user add second%d --uid N, or "
			     "uid_source = claim with custom:uid_number set)",
			     second, 'a' + second, (long long)h[second], first, second,
			     second) > 0);
		if (!t_log_contains(&f->log, want))
			fail_msg("no log line \"%s\"", want);
		free(want);
	}
	assert_non_null(strstr(up_ctx_detail(ctx), "already first"));
	char *p = slurp(s, "passwd");
	assert_null(strstr(p, "second"));
	free(p);
	/* Without a sub, hash cannot choose: refused with the reason. */
	assert_int_equal(up_nss_user_add(ctx, "nosub", &uid), UP_EINVAL);
	assert_non_null(strstr(up_ctx_detail(ctx), "--sub"));
	assert_non_null(
	    strstr(up_ctx_detail(ctx), "its UID is a hash of its account's issuer and sub"));
	(void)seen;
	up_ctx_free(ctx);
	free(s);
}

/* Cognito tokens name either issuer form of the pool (DESIGN §2); the hash
 * takes the configured issuer (here derived: the cognito-idp form), so a
 * token of the issuer-cognito-idp form gives the same UID as user add
 * --sub, the binding and renumber. */
static void test_hash_issuer_form(void **state)
{
	struct fx *f = *state;
	char *s = NULL, *cfg = NULL, sub[] = "sub-form", *groups[] = {NULL};
	char alt[] = "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1";
	const char *main_iss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool1";
	struct up_claims c = {.sub = sub, .issuer = alt, .groups = groups};
	struct up_ctx *ctx;
	uint32_t uid = 0;
	int64_t h = 0, h_alt = 0;

	assert_true(asprintf(&s, "%s/form", f->dir) > 0);
	assert_true(asprintf(&cfg,
			     "user_pool_id = us-east-1_TestPool1\nclient_id = testclient0001\n"
			     "state_dir = %s\nuid_source = hash\n",
			     s) > 0);
	ctx = t_ctx_with_config(f->dir, cfg, &f->log, &f->clock);
	free(cfg);
	assert_non_null(ctx);
	assert_string_equal(up_config_issuer(up_ctx_config(ctx)), main_iss);
	assert_int_equal(up_nss_hash_uid(main_iss, sub, 200000, 299999, &h), UP_OK);
	assert_int_equal(up_nss_hash_uid(alt, sub, 200000, 299999, &h_alt), UP_OK);
	assert_true(h != h_alt);
	assert_int_equal(up_nss_provision_claims(ctx, "formuser", &c, &uid), UP_OK);
	assert_int_equal(uid, h);
	up_ctx_free(ctx);
	free(s);
}

/* A fixed permutation of 0..n-1 that is not the identity. */
static void permute(int *order, int n)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(((unsigned)i * 2654435761u) % (unsigned)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	assert_true(order[0] != 0 || order[1] != 1);
}

#define CLAIM_MIN 1073741824
#define CLAIM_CONF                                                                                 \
	"uid_source = claim\nuid_min = 1073741824\nuid_max = 2147352575\n"                      \
	"gid_claim = custom:gid_number\n"
#define SHARED_GID 1073741825

/* Person i of the claim fleet: a UID from custom:uid_number; every third
 * one has the shared primary group SHARED_GID, the others GID = UID. */
static up_err claim_provision(struct up_ctx *ctx, int i, uint32_t *uid)
{
	char name[32], sub[32], u[32], g[32];
	struct up_nss_ident id = {.issuer = ISSUER, .sub = sub, .uid_text = u, .gid_text = g,
				  .uid = -1, .gid = -1};

	snprintf(name, sizeof(name), "claim%04d", i);
	snprintf(sub, sizeof(sub), "sub-%d", i);
	snprintf(u, sizeof(u), "%d", CLAIM_MIN + 10 + ((i * 7919) % 100000));
	snprintf(g, sizeof(g), "%d", i % 3 == 0 ? SHARED_GID : CLAIM_MIN + 10 + ((i * 7919) % 100000));
	return up_nss_user_provision(ctx, name, &id, uid);
}

static void test_claim_two_machines(void **state)
{
	struct fx *f = *state;
	char *a = NULL, *b = NULL;
	int order[NUSERS];
	struct up_ctx *ca, *cb;
	uint32_t uid = 0;

	assert_true(asprintf(&a, "%s/a", f->dir) > 0);
	assert_true(asprintf(&b, "%s/b", f->dir) > 0);
	ca = make_ctx(f, a, CLAIM_CONF);
	cb = make_ctx(f, b, CLAIM_CONF);
	permute(order, NUSERS);
	for (int i = 0; i < NUSERS; i++) {
		assert_int_equal(claim_provision(ca, i, &uid), UP_OK);
		assert_int_equal(uid, CLAIM_MIN + 10 + ((i * 7919) % 100000));
	}
	for (int i = 0; i < NUSERS; i++)
		assert_int_equal(claim_provision(cb, order[i], &uid), UP_OK);
	/* Through the sign-in's entry point: verified claims. */
	{
		char *groups[] = {NULL}, sub[] = "sub-x", iss[] = ISSUER, u[] = "1073741999";
		struct up_claims c = {.sub = sub, .issuer = iss, .uid_value = u, .gid_value = u,
				      .groups = groups};
		assert_int_equal(up_nss_provision_claims(ca, "claimx", &c, &uid), UP_OK);
		assert_int_equal(uid, 1073741999u);
		assert_int_equal(up_nss_provision_claims(cb, "claimx", &c, &uid), UP_OK);
	}
	char *pa = slurp(a, "passwd"), *pb = slurp(b, "passwd");
	char *ga = slurp(a, "group"), *gb = slurp(b, "group");
	assert_true(strlen(pa) > 40 * NUSERS);
	assert_string_equal(pa, pb);
	assert_string_equal(ga, gb);
	/* The claimed primary GID is in the passwd line and its group file. */
	assert_non_null(strstr(pa, "claim0003:x:1073765591:1073741825:"));
	assert_non_null(strstr(ga, "claim0000:x:1073741825:\nclaim0003:x:1073741825:\n"));
	free(pa);
	free(pb);
	free(ga);
	free(gb);
	up_ctx_free(ca);
	up_ctx_free(cb);
	free(a);
	free(b);
}

/* A UID of /etc/passwd at or above 1000 (nobody's 65534 on most systems),
 * and its account's name in `name`. */
static int64_t local_uid(char *name, size_t size)
{
	struct passwd *pw;
	int64_t best = -1;

	setpwent();
	while ((pw = getpwent()))
		if (pw->pw_uid >= 1000 && pw->pw_uid <= 2147483646u) {
			best = pw->pw_uid;
			snprintf(name, size, "%s", pw->pw_name);
			break;
		}
	endpwent();
	return best;
}

static void test_claim_refused(void **state)
{
	struct fx *f = *state;
	char *s = NULL, *p, num[32];
	struct up_ctx *ctx;
	uint32_t uid = 0;
	char lname[256] = "";
	int64_t lu = local_uid(lname, sizeof(lname));
	const struct {
		const char *text, *why;
	} bad[] = {
	    {NULL, "custom:uid_number is missing from the ID token"},
	    {"", "custom:uid_number is not an integer"},
	    {"20x0000", "custom:uid_number is not an integer"},
	    {"-200001", "custom:uid_number is not an integer"},
	    {"+200001", "custom:uid_number is not an integer"},
	    {"200000.5", "custom:uid_number is not an integer"},
	    {"99999999999999999999", "custom:uid_number is not an integer"},
	    {"199999", "custom:uid_number is outside uid_min..uid_max"},
	    {"300000", "custom:uid_number is outside uid_min..uid_max"},
	};

	assert_true(asprintf(&s, "%s/r", f->dir) > 0);
	ctx = make_ctx(f, s, "uid_source = claim\nuid_min = 200000\nuid_max = 299999\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct up_nss_ident id = {.issuer = ISSUER, .sub = "s1", .uid_text = bad[i].text,
					  .uid = -1, .gid = -1};
		t_log_reset(&f->log);
		assert_int_equal(up_nss_user_provision(ctx, "refused", &id, &uid), UP_EINVAL);
		if (!strstr(up_ctx_detail(ctx), bad[i].why))
			fail_msg("%s: detail '%s'", bad[i].text ? bad[i].text : "(absent)",
				 up_ctx_detail(ctx));
		assert_true(t_log_contains(&f->log, bad[i].why));
		assert_non_null(strstr(up_ctx_user_message(ctx), "custom:uid_number"));
	}
	/* A UID another entry holds: refused, never another number. */
	{
		struct up_nss_ident id = {.sub = "s2", .uid_text = "200123", .uid = -1, .gid = -1};
		assert_int_equal(up_nss_user_provision(ctx, "first", &id, &uid), UP_OK);
		assert_int_equal(uid, 200123);
		id.sub = "s3";
		assert_int_equal(up_nss_user_provision(ctx, "second", &id, &uid), UP_EINVAL);
		assert_non_null(strstr(up_ctx_detail(ctx), "already first's"));
	}
	/* gid_claim: missing or invalid is refused, naming it. */
	up_ctx_free(ctx);
	ctx = make_ctx(f, s,
		       "uid_source = claim\nuid_min = 200000\nuid_max = 299999\n"
		       "gid_claim = custom:gid_number\n");
	{
		struct up_nss_ident id = {.sub = "s4", .uid_text = "200124", .uid = -1, .gid = -1};
		assert_int_equal(up_nss_user_provision(ctx, "nogid", &id, &uid), UP_EINVAL);
		assert_non_null(strstr(up_ctx_detail(ctx), "custom:gid_number is missing"));
		id.gid_text = "12x45";
		assert_int_equal(up_nss_user_provision(ctx, "nogid", &id, &uid), UP_EINVAL);
		assert_non_null(strstr(up_ctx_detail(ctx), "custom:gid_number is not an integer"));
		id.gid_text = "12345";
		assert_int_equal(up_nss_user_provision(ctx, "nogid", &id, &uid), UP_EINVAL);
		assert_non_null(strstr(up_ctx_detail(ctx), "custom:gid_number is neither"));
	}
	/* A local account's UID: refused (uid_min..uid_max widened to hold it). */
	if (lu >= 0) {
		up_ctx_free(ctx);
		ctx = make_ctx(f, s, "uid_source = claim\nuid_min = 1000\nuid_max = 2147483646\n");
		snprintf(num, sizeof(num), "%lld", (long long)lu);
		struct up_nss_ident id = {.sub = "s5", .uid_text = num, .uid = -1, .gid = -1};
		char *want = NULL;
		t_log_reset(&f->log);
		assert_int_equal(up_nss_user_provision(ctx, "localuid", &id, &uid), UP_EINVAL);
		/* the detail, the log and the user's message name the claim; the
		 * detail and the log name the local account and the fix */
		assert_true(asprintf(&want,
				     "custom:uid_number collision: uid %lld of localuid is %s's, "
				     "taken in /etc/passwd",
				     (long long)lu, lname) > 0);
		if (!strstr(up_ctx_detail(ctx), want))
			fail_msg("detail '%s', want '%s'", up_ctx_detail(ctx), want);
		free(want);
		assert_true(
		    asprintf(&want,
			     "custom:uid_number: uid %lld of localuid is %s's in /etc/passwd: "
			     "localuid refused; give localuid another UID (userpool user add "
			     "localuid --uid N)",
			     (long long)lu, lname) > 0);
		assert_true(t_log_contains(&f->log, want));
		free(want);
		assert_non_null(strstr(up_ctx_user_message(ctx), "custom:uid_number"));
		/* an explicit UID (--uid): refused the same way */
		struct up_nss_ident ex = {.uid = lu, .gid = -1};
		assert_int_equal(up_nss_user_provision(ctx, "localuid", &ex, &uid), UP_EINVAL);
		assert_non_null(strstr(up_ctx_detail(ctx), "explicit UID collision"));
		assert_non_null(strstr(up_ctx_detail(ctx), lname));
	} else {
		print_message("# no /etc/passwd UID >= 1000 here: local-UID case not run\n");
	}
	p = slurp(s, "passwd");
	assert_string_equal(p, "first:x:200123:200123:userpool user:/home/first:/bin/bash\n");
	free(p);
	up_ctx_free(ctx);
	free(s);
}

/* Switching uid_source keeps every entry's UID; the new rule places only
 * new entries, and the entries that differ from it are reported. */
static void test_switch_keeps(void **state)
{
	struct fx *f = *state;
	char *s = NULL, *before, *after;
	struct up_ctx *ctx;
	uint32_t ua = 0, ub = 0, uid = 0;
	int64_t h = 0;

	assert_true(asprintf(&s, "%s/sw", f->dir) > 0);
	ctx = make_ctx(f, s, "");
	assert_int_equal(up_nss_user_add(ctx, "alice", &ua), UP_OK);
	assert_int_equal(up_nss_user_add(ctx, "bob", &ub), UP_OK);
	assert_int_equal(ua, 200000);
	assert_int_equal(ub, 200001);
	before = slurp(s, "passwd");
	up_ctx_free(ctx);

	ctx = make_ctx(f, s, "uid_source = hash\n");
	assert_int_equal(up_nss_user_add_sub(ctx, "alice", ISSUER, "sub-alice", &uid), UP_OK);
	assert_int_equal(uid, ua);
	assert_int_equal(up_nss_user_add_sub(ctx, "carol", ISSUER, "sub-carol", &uid), UP_OK);
	assert_int_equal(up_nss_hash_uid(ISSUER, "sub-carol", 200000, 299999, &h), UP_OK);
	assert_int_equal(uid, h);
	up_ctx_free(ctx);

	ctx = make_ctx(f, s, "uid_source = claim\n");
	{
		struct up_nss_ident id = {.sub = "sub-bob", .uid_text = "250000", .uid = -1,
					  .gid = -1};
		t_log_reset(&f->log);
		assert_int_equal(up_nss_user_provision(ctx, "bob", &id, &uid), UP_OK);
		assert_int_equal(uid, ub);
		assert_true(t_log_contains(&f->log, "bob keeps uid 200001"));
	}
	after = slurp(s, "passwd");
	/* alice and bob: the same lines as under sequential. */
	assert_non_null(strstr(after, "alice:x:200000:200000:"));
	assert_non_null(strstr(after, "bob:x:200001:200001:"));
	assert_true(strncmp(before, "alice:x:200000:", 15) == 0);
	{
		char *rep = slurp(s, "report");
		assert_non_null(strstr(rep, "bob\tdiffers\t250000\t"));
		free(rep);
	}
	free(before);
	free(after);
	up_ctx_free(ctx);
	free(s);
}

/* gid_source = hash: the GID of a pool group is the first 8 bytes of
 * SHA-256(name) as a big-endian uint64, mod the range size, plus uid_min;
 * the range is userpool.conf(5)'s recommended one, and lab-staff its
 * example. Computed outside C: python3 -c 'import hashlib;
 * d=hashlib.sha256(b"lab-staff").digest();
 * print(1073610752+int.from_bytes(d[:8],"big")%(2147352575-1073610752+1))' */
#define LAB_STAFF_GID 1324433547
#define POOL_CONF                                                                                  \
	"uid_source = hash\ngid_source = hash\nuid_min = 1073610752\nuid_max = 2147352575\n"       \
	"pool_groups = g00 g01 g02 g03 g04 g05 g06 g07 g08 g09 g10 g11 g12 g13 g14 g15 g16 g17 "   \
	"g18 g19 lab-staff\n"

/* Person i signs in: provisioned, then put in the pool groups of the
 * token: g<i % 20>, and lab-staff for every 50th. */
static void pool_signin(struct up_ctx *ctx, int i, bool other_group)
{
	char g1[8], g2[16], *groups[] = {g1, g2, NULL, NULL};
	char name[32];

	provision(ctx, i);
	snprintf(name, sizeof(name), "fleet%04d", i);
	snprintf(g1, sizeof(g1), "g%02d", i % 20);
	snprintf(g2, sizeof(g2), "g%02d", (i + 1) % 20);
	if (!other_group && i % 50 == 0)
		snprintf(g2, sizeof(g2), "lab-staff");
	else if (!other_group)
		groups[1] = NULL;
	assert_int_equal(up_nss_user_groups(ctx, name, groups), UP_OK);
}

static void test_pool_groups_two_machines(void **state)
{
	struct fx *f = *state;
	char *a = NULL, *b = NULL;
	int order[NUSERS];
	struct up_ctx *ca, *cb;

	assert_true(asprintf(&a, "%s/a", f->dir) > 0);
	assert_true(asprintf(&b, "%s/b", f->dir) > 0);
	ca = make_ctx(f, a, POOL_CONF);
	cb = make_ctx(f, b, POOL_CONF);
	permute(order, NUSERS);
	for (int i = 0; i < NUSERS; i++)
		pool_signin(ca, i, false);
	/* Machine b: another order, and some people first signed in while
	 * the pool had them in one more group, which they have since left. */
	for (int i = 0; i < NUSERS; i += 37)
		pool_signin(cb, i, true);
	for (int i = 0; i < NUSERS; i++)
		pool_signin(cb, order[i], false);

	char *pa = slurp(a, "passwd"), *pb = slurp(b, "passwd");
	char *ga = slurp(a, "group"), *gb = slurp(b, "group");
	assert_true(strlen(pa) > 40 * NUSERS);
	assert_string_equal(pa, pb);
	assert_string_equal(ga, gb);
	/* lab-staff: the documented GID, its members sorted. */
	char *line = strstr(ga, "\nlab-staff:x:");
	assert_non_null(line);
	assert_true(strncmp(line,
			    "\nlab-staff:x:"
			    "1324433547"
			    ":fleet0000,fleet0050,fleet0100,",
			    42) == 0);
	(void)LAB_STAFF_GID;
	assert_non_null(strstr(ga, "fleet0900,fleet0950\n"));
	/* g07: 50 members, fleet0007 first, fleet0987 last. */
	line = strstr(ga, "\ng07:x:");
	assert_non_null(line);
	assert_non_null(strstr(line, ":fleet0007,fleet0027,"));
	assert_true(strchr(line + 1, '\n') - line > 50 * 10 - 1);
	free(pa);
	free(pb);
	free(ga);
	free(gb);
	up_ctx_free(ca);
	up_ctx_free(cb);
	free(a);
	free(b);
}

/* Two GIDs for three groups: the third collides, and is refused naming
 * both groups; the others still apply. */
static void test_pool_group_collision(void **state)
{
	struct fx *f = *state;
	char *s = NULL, *g, *rep;
	char ga[] = "ga", gb[] = "gb", gc[] = "gc", *groups[] = {gb, gc, ga, NULL};
	struct up_ctx *ctx;

	/* python3: 300000 + sha256(name)[:8] % 2 is 300000 for ga, 300001 for
	 * gb and gc. */
	assert_true(asprintf(&s, "%s/gc", f->dir) > 0);
	ctx = make_ctx(f, s,
		       "gid_source = hash\nuid_min = 300000\nuid_max = 300001\n"
		       "pool_groups = ga, gb, gc\n");
	assert_int_equal(up_nss_user_groups(ctx, "alice", groups), UP_OK);
	assert_true(t_log_contains(&f->log, "pool group gc hashes to gid 300001, which group gb "
					    "already has: gc not made"));
	g = slurp(s, "group");
	assert_string_equal(g, "ga:x:300000:alice\ngb:x:300001:alice\n");
	free(g);
	rep = slurp(s, "report");
	assert_non_null(strstr(rep, "group:gc\trefused\t300001\t"));
	free(rep);
	/* Both IDs are groups' now: a user gets none of them. */
	assert_int_equal(up_nss_user_add(ctx, "bob", NULL), UP_ERANGE);
	up_ctx_free(ctx);
	free(s);
}

/* gid_source = sequential: a pool group's GID comes from uid_next, is
 * never a user's, and stays when its members leave or are deleted. */
static void test_pool_group_sequential(void **state)
{
	struct fx *f = *state;
	char *s = NULL, *g;
	char labn[] = "lab", *lab[] = {labn, NULL}, *none[] = {NULL};
	struct up_ctx *ctx;
	uint32_t uid = 0;

	assert_true(asprintf(&s, "%s/gs", f->dir) > 0);
	ctx = make_ctx(f, s, "pool_groups = lab\n");
	assert_int_equal(up_nss_user_add(ctx, "alice", &uid), UP_OK);
	assert_int_equal(uid, 200000);
	assert_int_equal(up_nss_user_groups(ctx, "alice", lab), UP_OK);
	assert_int_equal(up_nss_user_add(ctx, "bob", &uid), UP_OK);
	assert_int_equal(uid, 200002);
	assert_int_equal(up_nss_user_groups(ctx, "bob", lab), UP_OK);
	g = slurp(s, "group");
	assert_string_equal(g, "alice:x:200000:\nlab:x:200001:alice,bob\nbob:x:200002:\n");
	free(g);
	assert_int_equal(up_nss_user_groups(ctx, "alice", none), UP_OK);
	assert_int_equal(up_nss_user_del(ctx, "bob"), UP_OK);
	g = slurp(s, "group");
	assert_string_equal(g, "alice:x:200000:\nlab:x:200001:\n");
	free(g);
	assert_int_equal(up_nss_user_groups(ctx, "alice", lab), UP_OK);
	g = slurp(s, "group");
	assert_string_equal(g, "alice:x:200000:\nlab:x:200001:alice\n");
	free(g);
	/* A pool group's name is no user's. */
	assert_int_equal(up_nss_user_add(ctx, "lab", &uid), UP_EINVAL);
	up_ctx_free(ctx);
	free(s);
}

/* The item of `name` in a fleet list, or NULL. */
static const struct up_nss_fleet_item *item_of(const struct up_nss_fleet_item *it, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(it[i].name, name) == 0)
			return &it[i];
	return NULL;
}

/* userpool status and user renumber: after a switch to hash, the entries
 * that differ from the rule are listed (with the rule's UID), those it
 * cannot place yet too; renumber moves one to its hash (its private group
 * with it), refuses another entry's UID, one outside the range, and a rule
 * that has no UID for it; an explicit UID keeps a non-private GID. */
static void test_renumber(void **state)
{
	struct fx *f = *state;
	struct up_nss_fleet_item *it = NULL;
	const struct up_nss_fleet_item *a;
	struct up_nss_move mv;
	struct up_ctx *ctx;
	char *s = NULL, *p, *want = NULL;
	uint32_t uid = 0;
	size_t n = 0;
	int64_t h = 0;

	assert_true(asprintf(&s, "%s/rn", f->dir) > 0);
	ctx = make_ctx(f, s, "");
	assert_int_equal(up_nss_user_add(ctx, "alice", &uid), UP_OK);
	assert_int_equal(up_nss_user_add(ctx, "bob", &uid), UP_OK);
	assert_int_equal(up_nss_user_bind(ctx, "alice", ISSUER, "sub-alice"), UP_OK);
	{
		struct up_nss_ident id = {.uid = 260000, .gid = 270000};
		assert_int_equal(up_nss_user_provision(ctx, "carol", &id, &uid), UP_OK);
	}
	/* sequential has no rule: only an explicit UID */
	assert_int_equal(up_nss_user_renumber(ctx, "alice", -1, &mv), UP_ENOENT);
	assert_int_equal(up_nss_fleet_list(ctx, &it, &n), UP_OK);
	assert_int_equal(n, 0);
	up_nss_fleet_list_free(it, n);
	up_ctx_free(ctx);

	ctx = make_ctx(f, s, "uid_source = hash\n");
	assert_int_equal(up_nss_hash_uid(ISSUER, "sub-alice", 200000, 299999, &h), UP_OK);
	assert_int_equal(up_nss_fleet_list(ctx, &it, &n), UP_OK);
	a = item_of(it, n, "alice");
	assert_non_null(a);
	assert_string_equal(a->kind, "differs");
	assert_int_equal(a->uid, 200000);
	assert_int_equal(a->want, h);
	a = item_of(it, n, "bob");
	assert_non_null(a);
	assert_string_equal(a->kind, "unknown");
	assert_non_null(strstr(a->detail, "bound to no account"));
	up_nss_fleet_list_free(it, n);

	assert_int_equal(up_nss_user_renumber(ctx, "alice", -1, &mv), UP_OK);
	assert_int_equal(mv.old_uid, 200000);
	assert_int_equal(mv.new_uid, h);
	assert_int_equal(mv.new_gid, h);
	assert_string_equal(mv.home, "/home/alice");
	free(mv.home);
	p = slurp(s, "passwd");
	assert_true(asprintf(&want, "alice:x:%lld:%lld:userpool user:/home/alice:/bin/bash\n",
			     (long long)h, (long long)h) > 0);
	assert_non_null(strstr(p, want));
	assert_null(strstr(p, ":200000:"));
	free(p);
	free(want);
	p = slurp(s, "group");
	assert_true(asprintf(&want, "alice:x:%lld:\n", (long long)h) > 0);
	assert_non_null(strstr(p, want));
	free(p);
	free(want);
	/* nothing left to move; bob: no binding, another's UID, out of range */
	assert_int_equal(up_nss_user_renumber(ctx, "alice", -1, &mv), UP_OK);
	assert_int_equal(mv.new_uid, mv.old_uid);
	free(mv.home);
	assert_int_equal(up_nss_user_renumber(ctx, "bob", -1, &mv), UP_ENOENT);
	assert_int_equal(up_nss_user_renumber(ctx, "bob", h, &mv), UP_EINVAL);
	assert_int_equal(up_nss_user_renumber(ctx, "bob", 100, &mv), UP_ERANGE);
	assert_int_equal(up_nss_user_renumber(ctx, "nobody", 250000, &mv), UP_ENOENT);
	/* carol's primary group 270000 is not private: it stays */
	assert_int_equal(up_nss_user_renumber(ctx, "carol", 260500, &mv), UP_OK);
	assert_int_equal(mv.new_gid, 270000);
	free(mv.home);
	p = slurp(s, "passwd");
	assert_non_null(strstr(p, "carol:x:260500:270000:"));
	free(p);
	p = slurp(s, "group");
	assert_non_null(strstr(p, "carol:x:270000:\n"));
	free(p);
	/* a later sequential entry gets a UID above every one handed out */
	up_ctx_free(ctx);
	ctx = make_ctx(f, s, "");
	assert_int_equal(up_nss_user_add(ctx, "dave", &uid), UP_OK);
	assert_true(uid > 260500);
	up_ctx_free(ctx);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_documented),
	    cmocka_unit_test_setup_teardown(test_two_machines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_collision_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash_issuer_form, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_two_machines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_switch_keeps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_groups_two_machines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_group_collision, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pool_group_sequential, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_renumber, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
