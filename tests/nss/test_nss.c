/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NSS provisioning and lookups through the real glibc. Runs inside a
 * private mount namespace made by tests/nss/test_nss.sh: /var/lib/userpool
 * is a test directory, /etc/nsswitch.conf says "passwd: files userpool",
 * /etc/passwd and /etc/group are test copies, and LD_LIBRARY_PATH finds
 * the built libnss_userpool.so.2.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nss_format.h"
#include "testlib.h"

static char *confdir;

static struct up_ctx *ctx_range(int64_t min, int64_t max)
{
	char conf[512];

	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\n"
		 "state_dir = /var/lib/userpool\nuid_min = %lld\nuid_max = %lld\n",
		 (long long)min, (long long)max);
	return t_ctx_with_config(confdir, conf, NULL, NULL);
}

static void test_add_and_lookup(void **state)
{
	struct up_ctx *ctx = ctx_range(200000, 200100);
	struct passwd pw, *res = NULL;
	struct group gr, *gres = NULL;
	char buf[1024];
	uint32_t uid = 0, again = 0;

	(void)state;
	assert_int_equal(up_nss_user_add(ctx, "alice", &uid), UP_OK);
	/* /etc/passwd of the test holds uid 200000, /etc/group gid 200001. */
	assert_int_equal(uid, 200002);
	assert_int_equal(up_nss_user_add(ctx, "alice", &again), UP_OK);
	assert_int_equal(again, uid);

	assert_int_equal(getpwnam_r("alice", &pw, buf, sizeof(buf), &res), 0);
	assert_non_null(res);
	assert_int_equal(pw.pw_uid, 200002);
	assert_int_equal(pw.pw_gid, 200002);
	assert_string_equal(pw.pw_dir, "/home/alice");
	assert_string_equal(pw.pw_shell, "/bin/bash");
	assert_int_equal(getpwuid_r(200002, &pw, buf, sizeof(buf), &res), 0);
	assert_non_null(res);
	assert_string_equal(pw.pw_name, "alice");
	assert_int_equal(getgrnam_r("alice", &gr, buf, sizeof(buf), &gres), 0);
	assert_non_null(gres);
	assert_int_equal(gr.gr_gid, 200002);
	assert_int_equal(getgrgid_r(200002, &gr, buf, sizeof(buf), &gres), 0);
	assert_non_null(gres);
	/* Local accounts still come from files. */
	assert_int_equal(getpwnam_r("root", &pw, buf, sizeof(buf), &res), 0);
	assert_non_null(res);
	assert_int_equal(pw.pw_uid, 0);
	/* Unknown names are not found. */
	assert_int_equal(getpwnam_r("nobody-here", &pw, buf, sizeof(buf), &res), 0);
	assert_null(res);
	up_ctx_free(ctx);
}

/* glibc's own getent, through the same module */
static void test_getent(void **state)
{
	char line[256] = "";
	FILE *p;

	(void)state;
	p = popen("getent passwd alice", "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	assert_string_equal(line, "alice:x:200002:200002:userpool user:/home/alice:/bin/bash\n");
	p = popen("getent group alice", "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	pclose(p);
	assert_string_equal(line, "alice:x:200002:\n");
}

static void test_never_reused(void **state)
{
	struct up_ctx *ctx = ctx_range(200000, 200100);
	uint32_t a = 0, b = 0;

	(void)state;
	assert_int_equal(up_nss_user_add(ctx, "bob", &a), UP_OK);
	assert_int_equal(up_nss_user_del(ctx, "bob"), UP_OK);
	assert_int_equal(up_nss_user_del(ctx, "bob"), UP_ENOENT);
	assert_int_equal(up_nss_user_add(ctx, "bob", &b), UP_OK);
	assert_true(b > a);
	assert_null(getpwnam("no-such-bob"));
	up_ctx_free(ctx);
}

static void test_hostile_names(void **state)
{
	static const char *const bad[] = {
		"a:b", "a\nb", "a/b", "-rf", ".hidden", "", "a b", "a,b", "1234", "x%n",
		"a\tb", "../etc", "ab\"c", "aé",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct up_ctx *ctx = ctx_range(200000, 200100);
	struct passwd *pw;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(up_nss_name_valid(bad[i]));
		assert_int_equal(up_nss_user_add(ctx, bad[i], NULL), UP_EINVAL);
	}
	assert_true(up_nss_name_valid("carol.smith@example.org"));
	/* A local account is never shadowed. */
	assert_int_equal(up_nss_user_add(ctx, "root", NULL), UP_EINVAL);
	assert_int_equal(up_nss_user_add(ctx, "localgroup", NULL), UP_EINVAL);
	pw = getpwnam("root");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, 0);
	up_ctx_free(ctx);
}

static void test_erange(void **state)
{
	struct up_ctx *ctx = ctx_range(200000, 200100);
	struct passwd pw, *res = NULL;
	struct group gr, *gres = NULL;
	char buf[256];
	size_t sz;
	int rc = -1;

	(void)state;
	assert_int_equal(up_nss_user_add(ctx, "dave", NULL), UP_OK);
	for (sz = 1; sz < sizeof(buf); sz++) {
		rc = getpwnam_r("dave", &pw, buf, sz, &res);
		if (rc == 0)
			break;
		assert_int_equal(rc, ERANGE);
		assert_null(res);
	}
	assert_int_equal(rc, 0);
	assert_non_null(res);
	assert_string_equal(pw.pw_name, "dave");
	assert_true(sz > 10);
	for (sz = 1; sz < sizeof(buf); sz++) {
		rc = getgrnam_r("dave", &gr, buf, sz, &gres);
		if (rc == 0)
			break;
		assert_int_equal(rc, ERANGE);
	}
	assert_int_equal(rc, 0);
	assert_non_null(gres);
	assert_string_equal(gr.gr_name, "dave");
	/* getpwnam (glibc grows its own buffer on ERANGE) */
	assert_non_null(getpwnam("dave"));
	up_ctx_free(ctx);
}

static void test_enumeration(void **state)
{
	struct passwd *pw;
	int seen = 0;

	(void)state;
	setpwent();
	while ((pw = getpwent()))
		if (strcmp(pw->pw_name, "alice") == 0 || strcmp(pw->pw_name, "dave") == 0)
			seen++;
	endpwent();
	assert_int_equal(seen, 2);
}

static void test_exhaustion(void **state)
{
	struct up_ctx *ctx = ctx_range(250000, 250002);
	int ok = 0;
	up_err r = UP_OK;
	char name[32];

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "ex%d", i);
		r = up_nss_user_add(ctx, name, NULL);
		if (r)
			break;
		ok++;
	}
	/* Range 250000..250002 starts above the high-water mark of earlier
	 * tests: exactly three fit. */
	assert_int_equal(ok, 3);
	assert_int_equal(r, UP_ERANGE);
	assert_non_null(strstr(up_ctx_detail(ctx), "exhausted"));
	up_ctx_free(ctx);
}

struct lookups {
	int rounds;
	int errors;
};

static void *lookup_thread(void *arg)
{
	struct lookups *l = arg;
	struct passwd pw, *res;
	char buf[512];

	for (int i = 0; i < l->rounds; i++) {
		res = NULL;
		if (getpwnam_r("alice", &pw, buf, sizeof(buf), &res) != 0 || !res ||
		    pw.pw_uid != 200002)
			l->errors++;
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct lookups l[4];
	pthread_t th[4];
	pid_t pids[4];
	int status;

	struct up_ctx *wctx = ctx_range(200000, 299999);

	(void)state;
	/* Writers in other processes (each adds users under the lock) while
	 * four threads look up an existing user. Each child uses its copy of
	 * the context loaded here. */
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			struct up_ctx *ctx = wctx;
			char name[32];
			int bad = 0;
			for (int i = 0; i < 10; i++) {
				snprintf(name, sizeof(name), "c%d_%d", p, i);
				if (up_nss_user_add(ctx, name, NULL))
					bad++;
			}
			up_ctx_free(ctx);
			_exit(bad ? 1 : 0);
		}
	}
	for (int i = 0; i < 4; i++) {
		l[i].rounds = 300;
		l[i].errors = 0;
		assert_int_equal(pthread_create(&th[i], NULL, lookup_thread, &l[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(l[i].errors, 0);
	}
	for (int p = 0; p < 4; p++) {
		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	up_ctx_free(wctx);
	/* Forty distinct users with forty distinct UIDs. */
	{
		uid_t seen[40];
		int n = 0;
		char name[32];
		for (int p = 0; p < 4; p++)
			for (int i = 0; i < 10; i++) {
				struct passwd *pw;
				snprintf(name, sizeof(name), "c%d_%d", p, i);
				pw = getpwnam(name);
				assert_non_null(pw);
				for (int k = 0; k < n; k++)
					assert_int_not_equal(seen[k], pw->pw_uid);
				seen[n++] = pw->pw_uid;
			}
		assert_int_equal(n, 40);
	}
}

static void test_hostile_file(void **state)
{
	struct passwd *pw;
	FILE *f;

	(void)state;
	/* A group/world-writable passwd file is not trusted at all. */
	assert_int_equal(chmod("/var/lib/userpool/nss/passwd", 0666), 0);
	assert_null(getpwnam("alice"));
	assert_int_equal(chmod("/var/lib/userpool/nss/passwd", 0644), 0);
	assert_non_null(getpwnam("alice"));
	/* Malformed lines are skipped, good ones still answer. */
	f = fopen("/var/lib/userpool/nss/passwd", "a");
	assert_non_null(f);
	fputs("evil:x:0:0::/root\nbad:x:notanumber:1::/home/bad:/bin/sh\n", f);
	fputs("zero:x:0:0::/root:/bin/sh\n", f);
	fclose(f);
	assert_null(getpwnam("evil"));
	assert_null(getpwnam("bad"));
	/* uid 0 is never answered by this module */
	assert_null(getpwnam("zero"));
	pw = getpwnam("alice");
	assert_non_null(pw);
}

static bool in_grouplist(const char *user, gid_t primary, gid_t gid)
{
	gid_t groups[64];
	int n = 64;

	assert_true(getgrouplist(user, primary, groups, &n) >= 0);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* group_map: pool groups become supplementary local groups, through
 * initgroups (the real glibc path that login, sshd and su use). */
static void test_group_map(void **state)
{
	char conf[512];
	char g_admins[] = "admins", g_other[] = "other", g_lab[] = "lab";
	char *const admins[] = { g_admins, g_other, NULL };
	char *const lab[] = {g_lab, NULL};
	char *const none[] = { NULL };
	struct up_ctx *ctx;
	uint32_t uid = 0;
	FILE *f;
	char text[4096] = "";
	size_t n;

	(void)state;
	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\nstate_dir = /var/lib/userpool\n"
		 "uid_min = 200000\nuid_max = 299999\n"
		 "group_map = admins:localgroup, lab:labgrp, ghost:nosuchgroup\n");
	ctx = t_ctx_with_config(confdir, conf, NULL, NULL);
	assert_int_equal(up_nss_user_add(ctx, "gm", &uid), UP_OK);
	assert_int_equal(up_nss_user_add(ctx, "gm2", NULL), UP_OK);
	assert_int_equal(up_nss_user_groups(ctx, "gm", admins), UP_OK);
	assert_int_equal(up_nss_user_groups(ctx, "gm2", admins), UP_OK);
	assert_true(in_grouplist("gm", uid, 200001));
	assert_false(in_grouplist("gm", uid, 3000));
	/* The pool moved gm from admins to lab. */
	assert_int_equal(up_nss_user_groups(ctx, "gm", lab), UP_OK);
	assert_false(in_grouplist("gm", uid, 200001));
	assert_true(in_grouplist("gm", uid, 3000));
	assert_true(in_grouplist("gm2", uid + 1, 200001));
	/* No pool groups: no mapped groups. */
	assert_int_equal(up_nss_user_groups(ctx, "gm", none), UP_OK);
	assert_false(in_grouplist("gm", uid, 3000));
	/* Deleting gm2 takes it out of every member list. */
	assert_int_equal(up_nss_user_del(ctx, "gm2"), UP_OK);
	f = fopen("/var/lib/userpool/nss/group", "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_null(strstr(text, "gm2"));
	assert_null(strstr(text, "nosuchgroup"));
	up_ctx_free(ctx);
	/* A bad map is a configuration error. */
	{
		struct up_ctx *bad = NULL;
		char *path = t_write_file(confdir, "bad.conf",
					  "user_pool_id = us-east-1_Test\nclient_id = abc\n"
					  "group_map = admins\n",
					  0600);
		assert_int_equal(up_ctx_new(&bad), UP_OK);
		assert_int_equal(up_ctx_load_config(bad, path, 0, NULL, false), UP_ECONFIG);
		up_ctx_free(bad);
		free(path);
	}
}

static void read_nss_file(const char *name, char *buf, size_t cap)
{
	char path[128];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/var/lib/userpool/nss/%s", name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* The line of `name` in a passwd/group text, with its newline; "" if none. */
static void line_of(const char *text, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);

	out[0] = '\0';
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) + 1 : strlen(p);
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ':' && llen < cap) {
			memcpy(out, p, llen);
			out[llen] = '\0';
			return;
		}
		p += llen;
	}
}

/* The member list ("a,b,c", malloc'd) of the entry `name` that the pool
 * module answers in a getgrent walk (the files entry of the same name has
 * no members); NULL when there is none. */
static char *pool_members_of(const char *name)
{
	struct group *g;
	char *out = NULL;

	setgrent();
	for (int i = 0; i < 100000 && (g = getgrent()) != NULL; i++) {
		size_t len = 0, o = 0;
		if (strcmp(g->gr_name, name) != 0 || !g->gr_mem[0])
			continue;
		for (char **m = g->gr_mem; *m; m++)
			len += strlen(*m) + 1;
		out = malloc(len + 1);
		assert_non_null(out);
		for (char **m = g->gr_mem; *m; m++)
			o += (size_t)snprintf(out + o, len + 1 - o, "%s%s", o ? "," : "", *m);
		break;
	}
	endgrent();
	return out;
}

/* Issue 17: a group_map group whose member list passed 1 KiB stopped
 * gaining members (the writer kept the old line), and the reader skipped
 * such a line whole. Every member is written and read back. */
static void test_group_map_long_members(void **state)
{
	char conf[512], name[64], *members;
	char g_lab[] = "lab";
	char *const lab[] = {g_lab, NULL};
	struct up_ctx *ctx;
	uint32_t uid[48];
	size_t listed = 0;

	(void)state;
	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\nstate_dir = /var/lib/userpool\n"
		 "uid_min = 200000\nuid_max = 299999\ngroup_map = lab:labgrp\n");
	ctx = t_ctx_with_config(confdir, conf, NULL, NULL);
	for (int i = 0; i < 48; i++) {
		snprintf(name, sizeof(name), "lm-member-with-a-long-pool-name-%02d", i);
		assert_int_equal(up_nss_user_add(ctx, name, &uid[i]), UP_OK);
		assert_int_equal(up_nss_user_groups(ctx, name, lab), UP_OK);
	}
	members = pool_members_of("labgrp");
	assert_non_null(members);
	assert_true(strlen(members) > 1024 + 512);
	for (int i = 0; i < 48; i++) {
		snprintf(name, sizeof(name), "lm-member-with-a-long-pool-name-%02d", i);
		assert_non_null(strstr(members, name));
		assert_true(in_grouplist(name, uid[i], 3000));
		listed++;
	}
	assert_int_equal(listed, 48);
	free(members);
	for (int i = 0; i < 48; i++) {
		snprintf(name, sizeof(name), "lm-member-with-a-long-pool-name-%02d", i);
		assert_int_equal(up_nss_user_del(ctx, name), UP_OK);
	}
	assert_null(pool_members_of("labgrp"));
	up_ctx_free(ctx);
}

/* "bm00000,bm00001,...,bmzzz" of exactly `len` bytes. */
static char *member_list(size_t len)
{
	char *s = malloc(len + 1);
	size_t o = 0;

	assert_non_null(s);
	for (int i = 0; len - o > 40; i++)
		o += (size_t)snprintf(s + o, len + 1 - o, "%sbm%05d", o ? "," : "", i);
	memcpy(s + o, ",bm", 3);
	for (o += 3; o < len; o++)
		s[o] = 'z';
	s[o] = '\0';
	return s;
}

/* The writer and the reader share one line limit (lib/nss_format.h): a
 * group line of exactly UP_NSS_LINE_MAX bytes is written and read; one
 * member more is refused loudly, and the group stays as it was. */
static void test_group_line_limit(void **state)
{
	static const char head[] = "biggrp:x:3001:";
	char conf[512];
	char g_big[] = "big";
	char *const big[] = {g_big, NULL};
	char *gr = malloc(UP_NSS_FILE_CAP), *gr2 = malloc(UP_NSS_FILE_CAP), *list, *got;
	struct up_ctx *ctx;
	FILE *f;

	(void)state;
	assert_non_null(gr);
	assert_non_null(gr2);
	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\nstate_dir = /var/lib/userpool\n"
		 "uid_min = 200000\nuid_max = 299999\ngroup_map = big:biggrp\n");
	ctx = t_ctx_with_config(confdir, conf, NULL, NULL);
	/* Room for exactly ",bm-last" more. */
	list = member_list(UP_NSS_LINE_MAX - strlen(head) - strlen(",bm-last"));
	read_nss_file("group", gr, UP_NSS_FILE_CAP);
	f = fopen("/var/lib/userpool/nss/group", "w");
	assert_non_null(f);
	assert_true(fprintf(f, "%s%s%s\n", gr, head, list) > 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(up_nss_user_groups(ctx, "bm-last", big), UP_OK);
	read_nss_file("group", gr, UP_NSS_FILE_CAP);
	{
		const char *l = strstr(gr, head);
		assert_non_null(l);
		assert_int_equal(strchr(l, '\n') - l, UP_NSS_LINE_MAX);
	}
	got = pool_members_of("biggrp");
	assert_non_null(got);
	assert_int_equal(strlen(got), strlen(list) + strlen(",bm-last"));
	assert_memory_equal(got, list, strlen(list));
	assert_string_equal(got + strlen(list), ",bm-last");
	free(got);
	assert_true(in_grouplist("bm-last", 65534, 3001));
	/* One byte over: refused, nothing written. */
	assert_int_equal(up_nss_user_groups(ctx, "bm-over", big), UP_ERANGE);
	read_nss_file("group", gr2, UP_NSS_FILE_CAP);
	assert_string_equal(gr2, gr);
	assert_false(in_grouplist("bm-over", 65534, 3001));
	assert_true(in_grouplist("bm-last", 65534, 3001));
	/* Leaving the group always works. */
	assert_int_equal(up_nss_user_groups(ctx, "bm-last", NULL), UP_OK);
	assert_false(in_grouplist("bm-last", 65534, 3001));
	got = pool_members_of("biggrp");
	assert_non_null(got);
	assert_string_equal(got, list);
	free(got);
	free(list);
	free(gr);
	free(gr2);
	up_ctx_free(ctx);
}

/* Issue 23: adding, deleting and mapping one user leaves every other
 * user's passwd and group lines byte for byte as they were. */
static void test_other_users_untouched(void **state)
{
	static const char *const names[] = { "ou_alice", "ou_bob", "ou_carol" };
	char conf[512], pw[8192], gr[8192], pw2[8192], gr2[8192];
	char before[3][2][256], after[256];
	char g_admins[] = "admins";
	char *const admins[] = { g_admins, NULL };
	struct up_ctx *ctx;

	(void)state;
	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\nstate_dir = /var/lib/userpool\n"
		 "uid_min = 200000\nuid_max = 299999\ngroup_map = admins:localgroup\n");
	ctx = t_ctx_with_config(confdir, conf, NULL, NULL);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(up_nss_user_add(ctx, names[i], NULL), UP_OK);
	read_nss_file("passwd", pw, sizeof(pw));
	read_nss_file("group", gr, sizeof(gr));
	for (size_t i = 0; i < 3; i++) {
		line_of(pw, names[i], before[i][0], sizeof(before[i][0]));
		line_of(gr, names[i], before[i][1], sizeof(before[i][1]));
		assert_true(before[i][0][0] != '\0');
		assert_true(before[i][1][0] != '\0');
	}
	/* group_map synced for bob only, then alice deleted. */
	assert_int_equal(up_nss_user_groups(ctx, "ou_bob", admins), UP_OK);
	assert_int_equal(up_nss_user_del(ctx, "ou_alice"), UP_OK);
	read_nss_file("passwd", pw2, sizeof(pw2));
	read_nss_file("group", gr2, sizeof(gr2));
	line_of(pw2, "ou_alice", after, sizeof(after));
	assert_string_equal(after, "");
	line_of(gr2, "ou_alice", after, sizeof(after));
	assert_string_equal(after, "");
	for (size_t i = 1; i < 3; i++) {
		line_of(pw2, names[i], after, sizeof(after));
		assert_string_equal(after, before[i][0]);
		line_of(gr2, names[i], after, sizeof(after));
		assert_string_equal(after, before[i][1]);
	}
	/* Mapping bob out again keeps carol's and bob's private groups. */
	assert_int_equal(up_nss_user_groups(ctx, "ou_bob", NULL), UP_OK);
	read_nss_file("group", gr2, sizeof(gr2));
	for (size_t i = 1; i < 3; i++) {
		line_of(gr2, names[i], after, sizeof(after));
		assert_string_equal(after, before[i][1]);
	}
	/* A group file that lost carol's line (a crash between the two
	 * writes): adding carol again repairs it, with her own UID. */
	{
		char *dropped = NULL;
		const char *cl = strstr(gr2, "ou_carol:");
		FILE *f;
		assert_non_null(cl);
		assert_true(asprintf(&dropped, "%.*s%s", (int)(cl - gr2), gr2,
				     strchr(cl, '\n') + 1) > 0);
		f = fopen("/var/lib/userpool/nss/group", "w");
		assert_non_null(f);
		fputs(dropped, f);
		fclose(f);
		free(dropped);
		assert_int_equal(up_nss_user_add(ctx, "ou_carol", NULL), UP_OK);
		read_nss_file("group", gr2, sizeof(gr2));
		line_of(gr2, "ou_carol", after, sizeof(after));
		assert_string_equal(after, before[2][1]);
	}
	for (size_t i = 1; i < 3; i++)
		assert_int_equal(up_nss_user_del(ctx, names[i]), UP_OK);
	up_ctx_free(ctx);
}

/* Issue 16: at the size cap new provisioning is refused and the existing
 * entries stay readable (the files never grow past what the reader takes). */
static void test_size_cap(void **state)
{
	char conf[512];
	struct up_ctx *ctx;
	struct passwd *pw;
	struct stat st_before, st_after;
	FILE *f;
	size_t written = 0;
	uint32_t uid = 0;

	(void)state;
	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\nstate_dir = /var/lib/userpool\n"
		 "uid_min = 200000\nuid_max = 299999\n");
	ctx = t_ctx_with_config(confdir, conf, NULL, NULL);
	assert_int_equal(up_nss_user_add(ctx, "capkeep", &uid), UP_OK);
	/* Pad the passwd file to just under the 4 MiB cap with filler lines. */
	assert_int_equal(stat("/var/lib/userpool/nss/passwd", &st_before), 0);
	written = (size_t)st_before.st_size;
	f = fopen("/var/lib/userpool/nss/passwd", "a");
	assert_non_null(f);
	for (unsigned i = 0; written < 4u * 1024u * 1024u - 64u; i++) {
		char line[128];
		int n = snprintf(line, sizeof(line), "f%07u:x:%u:%u:filler:/nonexistent:/bin/false\n",
				 i, 250000u + (i % 40000u), 250000u + (i % 40000u));
		if (written + (size_t)n > 4u * 1024u * 1024u - 64u)
			break;
		fputs(line, f);
		written += (size_t)n;
	}
	fclose(f);
	assert_int_equal(stat("/var/lib/userpool/nss/passwd", &st_before), 0);
	{
		up_err r = up_nss_user_add(ctx, "capnew_with_a_long_name_to_pass_the_cap", NULL);
		if (r != UP_ERANGE)
			fprintf(stderr, "# user add at the cap: %s\n", up_ctx_detail(ctx));
		assert_int_equal(r, UP_ERANGE);
	}
	assert_int_equal(stat("/var/lib/userpool/nss/passwd", &st_after), 0);
	assert_int_equal(st_after.st_size, st_before.st_size);
	/* The existing entry still resolves through glibc. */
	pw = getpwnam("capkeep");
	assert_non_null(pw);
	assert_int_equal(pw->pw_uid, uid);
	assert_null(getpwnam("capnew_with_a_long_name_to_pass_the_cap"));
	up_ctx_free(ctx);
	/* Leave a clean file for the tests after this one. */
	f = fopen("/var/lib/userpool/nss/passwd", "w");
	assert_non_null(f);
	fclose(f);
	f = fopen("/var/lib/userpool/nss/group", "w");
	assert_non_null(f);
	fclose(f);
}

/* Names of the "hw" users in a passwd or group text, with their id field
 * (field 2), as "name:id\n" lines in file order. */
static void hw_ids(const char *text, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = eol ? (size_t)(eol - p) + 1 : strlen(p);
		const char *c1 = memchr(p, ':', llen), *c2 = c1 ? memchr(c1 + 1, ':', llen) : NULL;
		const char *c3 = c2 ? memchr(c2 + 1, ':', llen - (size_t)(c2 + 1 - p)) : NULL;
		if (strncmp(p, "hw", 2) == 0 && c1 && c2 && c3) {
			int n = snprintf(out + o, cap - o, "%.*s:%.*s\n", (int)(c1 - p), p,
					 (int)(c3 - c2 - 1), c2 + 1);
			assert_true(n > 0 && (size_t)n < cap - o);
			o += (size_t)n;
		}
		p += llen;
	}
}

/* Is every "name:id" line of `a` also in `b`? */
static bool lines_within(const char *a, const char *b)
{
	for (const char *p = a; *p;) {
		const char *eol = strchr(p, '\n');
		size_t llen = (size_t)(eol - p) + 1;
		bool found = false;
		for (const char *q = b; *q && !found;) {
			const char *e2 = strchr(q, '\n');
			size_t l2 = (size_t)(e2 - q) + 1;
			found = l2 == llen && memcmp(p, q, llen) == 0;
			q += l2;
		}
		if (!found)
			return false;
		p += llen;
	}
	return true;
}

/* Issue 23 item 3: a writer killed at any moment of a user add or del
 * never leaves a passwd entry without its private group, and the next
 * change of the NSS files completes (or leaves out) the cut one, so both
 * files agree on every entry. */
static void test_half_written(void **state)
{
	char conf[512], pw[65536], gr[65536], pwids[16384], grids[16384];
	struct up_ctx *ctx;
	size_t journals = 0;

	(void)state;
	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\nstate_dir = /var/lib/userpool\n"
		 "uid_min = 200000\nuid_max = 2999999\n");
	ctx = t_ctx_with_config(confdir, conf, NULL, NULL);
	assert_int_equal(up_nss_user_add(ctx, "hw_keep", NULL), UP_OK);
	srand(23);
	for (int round = 0; round < 200; round++) {
		struct timespec ts = { 0, (long)(100 + (unsigned)rand() % 4000) * 1000 };
		bool pending = false;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			char name[32];
			for (unsigned k = 0; k < 100000; k++) {
				snprintf(name, sizeof(name), "hw%u_%u", (unsigned)round, k % 8);
				if (k % 16 < 8)
					(void)up_nss_user_add(ctx, name, NULL);
				else
					(void)up_nss_user_del(ctx, name);
			}
			_exit(0);
		}
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, NULL, 0), pid);
		/* As a reader sees the files right after the kill. */
		read_nss_file("passwd", pw, sizeof(pw));
		read_nss_file("group", gr, sizeof(gr));
		hw_ids(pw, pwids, sizeof(pwids));
		hw_ids(gr, grids, sizeof(grids));
		if (!lines_within(pwids, grids))
			fail_msg("round %d: a passwd entry without its group line:\n%s--\n%s", round,
				 pwids, grids);
		assert_int_equal(up_nss_journal_pending(ctx, &pending), UP_OK);
		journals += pending;
		/* The next change (any one) completes the cut change first. */
		assert_int_equal(up_nss_user_add(ctx, "hw_keep", NULL), UP_OK);
		assert_int_equal(up_nss_journal_pending(ctx, &pending), UP_OK);
		assert_false(pending);
		read_nss_file("passwd", pw, sizeof(pw));
		read_nss_file("group", gr, sizeof(gr));
		hw_ids(pw, pwids, sizeof(pwids));
		hw_ids(gr, grids, sizeof(grids));
		if (!lines_within(pwids, grids) || !lines_within(grids, pwids))
			fail_msg("round %d: passwd and group disagree after the next change:\n%s--\n%s",
				 round, pwids, grids);
		/* Clean up this round's users (a del of an absent one is ENOENT). */
		for (unsigned k = 0; k < 8; k++) {
			char name[32];
			snprintf(name, sizeof(name), "hw%u_%u", (unsigned)round, k);
			up_err r = up_nss_user_del(ctx, name);
			assert_true(r == UP_OK || r == UP_ENOENT);
		}
	}
	print_message("# %zu of 200 kills landed between the journal's commit and its removal\n",
		      journals);
	/* Some kill must have cut a committed change, or nothing was proven. */
	assert_true(journals > 0);
	assert_int_equal(up_nss_user_del(ctx, "hw_keep"), UP_OK);
	up_ctx_free(ctx);
}

/* A hand-edited (corrupt) journal is dropped with a log line; the files
 * stay as they were and provisioning goes on. */
static void test_corrupt_journal(void **state)
{
	struct up_ctx *ctx;
	struct passwd *p;
	FILE *f;
	bool pending = true;
	char conf[512];


	(void)state;
	snprintf(conf, sizeof(conf),
		 "user_pool_id = us-east-1_Test\nclient_id = abc\nstate_dir = /var/lib/userpool\n"
		 "uid_min = 200000\nuid_max = 299999\n");
	ctx = t_ctx_with_config(confdir, conf, NULL, NULL);
	assert_int_equal(up_nss_user_add(ctx, "cj_one", NULL), UP_OK);
	f = fopen("/var/lib/userpool/nss/journal", "w");
	assert_non_null(f);
	fputs("userpool-nss-journal 1\n999 3\nroot::0:0::/:/bin/sh\n", f);
	fclose(f);
	assert_int_equal(chmod("/var/lib/userpool/nss/journal", 0600), 0);
	assert_int_equal(up_nss_user_add(ctx, "cj_two", NULL), UP_OK);
	assert_int_equal(up_nss_journal_pending(ctx, &pending), UP_OK);
	assert_false(pending);
	p = getpwnam("cj_one");
	assert_non_null(p);
	assert_non_null(getpwnam("cj_two"));
	{
		char pwtext[8192];
		read_nss_file("passwd", pwtext, sizeof(pwtext));
		/* Nothing of the corrupt journal reached the files. */
		assert_null(strstr(pwtext, "root:"));
	}
	assert_int_equal(up_nss_user_del(ctx, "cj_one"), UP_OK);
	assert_int_equal(up_nss_user_del(ctx, "cj_two"), UP_OK);
	up_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_lookup), cmocka_unit_test(test_getent),
		cmocka_unit_test(test_never_reused),
		cmocka_unit_test(test_hostile_names),  cmocka_unit_test(test_erange),
		cmocka_unit_test(test_enumeration),    cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_concurrent),     cmocka_unit_test(test_hostile_file),
		cmocka_unit_test(test_group_map),
		cmocka_unit_test(test_other_users_untouched),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_half_written),
		cmocka_unit_test(test_corrupt_journal),
		cmocka_unit_test(test_group_map_long_members),
		cmocka_unit_test(test_group_line_limit),
	};
	int rc;

	confdir = t_mkdtemp();
	rc = cmocka_run_group_tests_name("nss", tests, NULL, NULL);
	t_rmtree(confdir);
	free(confdir);
	return rc;
}
