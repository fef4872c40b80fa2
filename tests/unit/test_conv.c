/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Issue 25: every message the module puts in a conversation fits Linux-PAM's
 * PAM_MAX_MSG_SIZE (512, NUL included) and one call carries at most
 * PAM_MAX_NUM_MSG (32); the qr = auto decision table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <security/_pam_types.h>

#include <userpool/otpauth.h>
#include <userpool/signin.h>

#include "testlib.h"

static const char SECRET[] = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80		 ? 1
			   : (*p & 0xE0) == 0xC0 ? 2
			   : (*p & 0xF0) == 0xE0 ? 3
			   : (*p & 0xF8) == 0xF0 ? 4
						 : 0;
		if (!n)
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

/* Split `text`; every part within the limits and valid UTF-8; when `whole`,
 * the parts give back the text in order (a line break at a split point
 * dropped, a final '\n' dropped). Returns the number of parts. */
static size_t check_split(const char *text, bool whole)
{
	char **parts = NULL;
	size_t n = 0, len = strlen(text), o = 0;

	assert_int_equal(up_conv_split(text, &parts, &n), UP_OK);
	assert_true(n >= 1);
	assert_true(n <= UP_CONV_MAX_NUM);
	assert_true(n <= PAM_MAX_NUM_MSG);
	if (len && text[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(parts[i]);

		assert_true(l + 1 <= PAM_MAX_MSG_SIZE);
		assert_true(l + 1 <= UP_CONV_MAX_MSG);
		assert_true(utf8_valid(parts[i]));
		if (!whole)
			continue;
		assert_true(o + l <= len);
		assert_memory_equal(parts[i], text + o, l);
		o += l;
		if (i + 1 < n && text[o] == '\n')
			o++;
	}
	if (whole)
		assert_int_equal(o, len);
	up_conv_split_free(parts, n);
	return n;
}

static void test_split_short(void **state)
{
	char **parts = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(up_conv_split("Verification code rejected: try again", &parts, &n), UP_OK);
	assert_int_equal(n, 1);
	assert_string_equal(parts[0], "Verification code rejected: try again");
	up_conv_split_free(parts, n);
	assert_int_equal(up_conv_split("", &parts, &n), UP_OK);
	assert_int_equal(n, 1);
	assert_string_equal(parts[0], "");
	up_conv_split_free(parts, n);
	assert_int_equal(up_conv_split(NULL, &parts, &n), UP_EINVAL);
	/* exactly 511 bytes is one message, 512 are two */
	char *t = malloc(513);
	assert_non_null(t);
	memset(t, 'a', 512);
	t[511] = '\0';
	assert_int_equal(check_split(t, true), 1);
	t[511] = 'a';
	t[512] = '\0';
	assert_int_equal(check_split(t, true), 2);
	free(t);
}

static void test_split_lines(void **state)
{
	char text[4001];
	size_t o = 0;
	char **parts = NULL;
	size_t n = 0;

	(void)state;
	/* 40 lines of 99 characters: split on line boundaries only */
	for (int i = 0; i < 40; i++) {
		memset(text + o, 'a' + (i % 26), 99);
		o += 99;
		text[o++] = '\n';
	}
	text[o] = '\0';
	check_split(text, true);
	assert_int_equal(up_conv_split(text, &parts, &n), UP_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(strlen(parts[i]) % 100, 99); /* whole lines */
	up_conv_split_free(parts, n);
}

static void test_split_utf8(void **state)
{
	/* one long line of 3-byte and 2-byte characters: never cut inside one */
	size_t cap = 3 * 700 + 2 * 300 + 1, o = 0;
	char *t = malloc(cap);

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 700; i++) {
		memcpy(t + o, "\xe2\x96\x88", 3);
		o += 3;
		if (i < 300) {
			memcpy(t + o, "\xc3\xa9", 2);
			o += 2;
		}
	}
	t[o] = '\0';
	assert_true(check_split(t, true) >= 5);
	free(t);
}

static void test_split_too_long(void **state)
{
	/* a long pool message (a Lambda trigger's text): 40 KB without breaks */
	size_t len = 40000;
	char *t = malloc(len + 1);
	char **parts = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(t);
	memset(t, 'x', len);
	t[len] = '\0';
	check_split(t, false);
	assert_int_equal(up_conv_split(t, &parts, &n), UP_OK);
	assert_int_equal(n, UP_CONV_MAX_NUM);
	assert_non_null(strstr(parts[n - 1], " [...]"));
	up_conv_split_free(parts, n);
	/* 10 KB of short lines fits, whole */
	for (size_t i = 0; i < 10000; i++)
		t[i] = i % 80 == 79 ? '\n' : 'y';
	t[10000] = '\0';
	check_split(t, true);
	free(t);
}

/* The enrolment (MFA_SETUP) display with the longest account and issuer */
static void test_enrolment_messages(void **state)
{
	char issuer[65], account[129];
	char *uri = NULL, *text = NULL;

	(void)state;
	memset(issuer, 'I', sizeof(issuer) - 1);
	issuer[sizeof(issuer) - 1] = '\0';
	memset(account, 'a', sizeof(account) - 1);
	account[sizeof(account) - 1] = '\0';
	assert_int_equal(up_otpauth_uri(issuer, account, SECRET, &uri), UP_OK);
	for (int style = UP_QR_UTF8; style <= UP_QR_ASCII; style++) {
		assert_int_equal(up_enroll_text(uri, SECRET, (enum up_qr_style)style, &text),
				 UP_OK);
		assert_true(strlen(text) >= UP_CONV_MAX_MSG); /* the bug: one message */
		assert_true(check_split(text, true) > 1);
		free(text);
	}
	free(uri);
	/* the short fallback: one message */
	assert_int_equal(up_enroll_fallback(issuer, account, SECRET, &text), UP_OK);
	assert_int_equal(check_split(text, true), 1);
	assert_non_null(strstr(text, "JBSW Y3DP EHPK 3PXP"));
	assert_non_null(strstr(text, "then enter the 6-digit code below"));
	assert_non_null(strstr(text, account));
	free(text);
}

/* The OIDC device flow's display */
static void test_device_messages(void **state)
{
	char uri[300];
	char *text = NULL;

	(void)state;
	snprintf(uri, sizeof(uri), "https://login.example.com/device?");
	memset(uri + strlen(uri), 'q', sizeof(uri) - strlen(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	assert_int_equal(up_device_text(uri, "WDJB-MJHT", true, &text), UP_OK);
	assert_non_null(strstr(text, "\xe2\x96")); /* a QR code */
	assert_true(check_split(text, true) > 1);
	free(text);
	assert_int_equal(up_device_text(uri, "WDJB-MJHT", false, &text), UP_OK);
	assert_null(strstr(text, "\xe2\x96"));
	assert_non_null(strstr(text, uri));
	assert_non_null(strstr(text, "WDJB-MJHT"));
	assert_int_equal(check_split(text, true), 1);
	free(text);
}

static void test_qr_table(void **state)
{
	static const struct {
		enum up_qr_mode mode;
		const char *service, *tty, *xdisplay;
		bool gdm, draw;
	} rows[] = {
	    /* terminals: ssh, a text console, su/sudo in a terminal */
	    {UP_QR_AUTO, "sshd", "ssh", NULL, false, true},
	    {UP_QR_AUTO, "sshd", NULL, NULL, false, true},
	    {UP_QR_AUTO, "login", "/dev/tty2", NULL, false, true},
	    {UP_QR_AUTO, "login", "tty2", NULL, false, true},
	    {UP_QR_AUTO, "su", "/dev/pts/3", NULL, false, true},
	    {UP_QR_AUTO, "sudo", "/dev/pts/0", NULL, false, true},
	    {UP_QR_AUTO, NULL, NULL, NULL, false, true},
	    {UP_QR_AUTO, "sudo", "/dev/pts/0", "", false, true},
	    /* greeters */
	    {UP_QR_AUTO, "lightdm", ":0", ":0", false, false},
	    {UP_QR_AUTO, "lightdm", NULL, NULL, false, false},
	    {UP_QR_AUTO, "lightdm-greeter", NULL, NULL, false, false},
	    {UP_QR_AUTO, "lightdm-autologin", NULL, NULL, false, false},
	    {UP_QR_AUTO, "sddm", "/dev/tty1", NULL, false, false},
	    {UP_QR_AUTO, "gdm-password", "/dev/tty1", NULL, false, false},
	    {UP_QR_AUTO, "gdm-autologin", "/dev/tty1", NULL, false, false},
	    {UP_QR_AUTO, "gdm-fingerprint", "/dev/tty1", NULL, false, false},
	    /* GDM sets PAM_TTY=/dev/tty1: the environment flag decides */
	    {UP_QR_AUTO, "login", "/dev/tty1", NULL, true, false},
	    {UP_QR_AUTO, "other", "/dev/tty1", NULL, true, false},
	    {UP_QR_AUTO, "other", ":1", NULL, false, false},
	    {UP_QR_AUTO, "other", ":1.0", NULL, false, false},
	    {UP_QR_AUTO, "other", "host:0", NULL, false, false},
	    {UP_QR_AUTO, "other", "/dev/tty7", ":0", false, false},
	    {UP_QR_AUTO, "sudo", "/dev/pts/1", "localhost:10.0", false, false},
	    /* text: always; off: never */
	    {UP_QR_TEXT, "lightdm", ":0", ":0", true, true},
	    {UP_QR_TEXT, "sshd", "ssh", NULL, false, true},
	    {UP_QR_OFF, "sshd", "ssh", NULL, false, false},
	    {UP_QR_OFF, "login", "/dev/tty2", NULL, false, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool got = up_qr_draw(rows[i].mode, rows[i].service, rows[i].tty, rows[i].xdisplay,
				      rows[i].gdm);
		if (got != rows[i].draw)
			fail_msg("row %zu (%s, %s, %s, %d): got %d", i,
				 rows[i].service ? rows[i].service : "NULL",
				 rows[i].tty ? rows[i].tty : "NULL",
				 rows[i].xdisplay ? rows[i].xdisplay : "NULL", rows[i].gdm, got);
	}
}

static void test_qr_config(void **state)
{
	static const struct {
		const char *line;
		bool ok;
		enum up_qr_mode want;
	} rows[] = {
	    {"", true, UP_QR_AUTO},
	    {"qr = auto\n", true, UP_QR_AUTO},
	    {"qr = text\n", true, UP_QR_TEXT},
	    {"qr = off\n", true, UP_QR_OFF},
	    {"qr = Off\n", true, UP_QR_OFF},
	    {"qr = yes\n", false, UP_QR_AUTO},
	    {"qr = \n", false, UP_QR_AUTO},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *dir = t_mkdtemp();
		char *conf = NULL, *path;
		struct up_ctx *ctx = NULL;
		up_err r;

		assert_true(asprintf(&conf,
				     "region = us-east-1\nuser_pool_id = us-east-1_abc\n"
				     "client_id = x\nstate_dir = %s\n%s",
				     dir, rows[i].line) > 0);
		path = t_write_file(dir, "userpool.conf", conf, 0600);
		assert_int_equal(up_ctx_new(&ctx), UP_OK);
		r = up_ctx_load_config(ctx, path, 0, NULL, false);
		if (rows[i].ok) {
			if (r)
				fail_msg("'%s' refused: %s", rows[i].line, up_ctx_detail(ctx));
			assert_int_equal(up_ctx_config(ctx)->qr, rows[i].want);
		} else if (r == UP_OK) {
			fail_msg("'%s' accepted", rows[i].line);
		}
		up_ctx_free(ctx);
		free(path);
		free(conf);
		t_rmtree(dir);
		free(dir);
	}
}

static up_err ask(void *ud, const char *text, bool echo, char **ret)
{
	(void)ud, (void)text, (void)echo, (void)ret;
	return UP_ECONV;
}

static up_err say(void *ud, const char *text)
{
	(void)ud, (void)text;
	return UP_OK;
}

/* The one set-up the PAM module and the tools share: callbacks, ud, and
 * echo_code from the configuration; everything else cleared. */
static void test_conv_init(void **state)
{
	static const char *const lines[] = {"", "echo_code = yes\n"};
	struct up_conv conv;
	int ud;

	(void)state;
	memset(&conv, 0xff, sizeof(conv));
	up_conv_init(&conv, NULL, ask, say, say, &ud);
	assert_ptr_equal(conv.prompt, ask);
	assert_ptr_equal(conv.info, say);
	assert_ptr_equal(conv.error, say);
	assert_ptr_equal(conv.ud, &ud);
	assert_null(conv.enroll);
	assert_false(conv.echo_code);
	assert_false(conv.no_qr);
	for (size_t i = 0; i < 2; i++) {
		char *dir = t_mkdtemp();
		char *conf = NULL, *path;
		struct up_ctx *ctx = NULL;

		assert_true(asprintf(&conf,
				     "region = us-east-1\nuser_pool_id = us-east-1_abc\n"
				     "client_id = x\nstate_dir = %s\n%s",
				     dir, lines[i]) > 0);
		path = t_write_file(dir, "userpool.conf", conf, 0600);
		assert_int_equal(up_ctx_new(&ctx), UP_OK);
		assert_int_equal(up_ctx_load_config(ctx, path, 0, NULL, false), UP_OK);
		up_conv_init(&conv, ctx, ask, say, say, NULL);
		assert_int_equal(conv.echo_code, i == 1);
		up_ctx_free(ctx);
		free(path);
		free(conf);
		t_rmtree(dir);
		free(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_short),	       cmocka_unit_test(test_split_lines),
	    cmocka_unit_test(test_split_utf8),	       cmocka_unit_test(test_split_too_long),
	    cmocka_unit_test(test_enrolment_messages), cmocka_unit_test(test_device_messages),
	    cmocka_unit_test(test_qr_table),	       cmocka_unit_test(test_qr_config),
	    cmocka_unit_test(test_conv_init),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
