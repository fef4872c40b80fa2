/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/qr.c: terminal QR codes. Checks the geometry of both styles and
 * decodes every rendering for real: the text goes through
 * tests/unit/qr_decode.py (text -> module matrix -> PNG -> zbarimg). A
 * missing zbarimg or python3 fails the test; it is never skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <userpool/otpauth.h>

#include "testlib.h"

#define QUIET 4

static const char FULL[] = "\xe2\x96\x88";
static const char UPPER[] = "\xe2\x96\x80";
static const char LOWER[] = "\xe2\x96\x84";

/* --- the decoder -------------------------------------------------------- */

/* tests/unit/qr_decode.py: from $top_srcdir (make check), else next to this
 * source file as the compiler saw it (running the binary by hand from the
 * build directory). */
static char *decoder_path(void)
{
	const char *top = getenv("top_srcdir");
	char *path = NULL;
	if (top && *top) {
		assert_true(asprintf(&path, "%s/tests/unit/qr_decode.py", top) > 0);
	} else {
		const char *f = __FILE__;
		const char *slash = strrchr(f, '/');
		int dirlen = slash ? (int)(slash - f) : 1;
		assert_true(asprintf(&path, "%.*s/qr_decode.py", dirlen, slash ? f : ".") > 0);
	}
	return path;
}

/*
 * Run qr_decode.py on `text`; return its output (malloc'd) and set *ret_ok
 * to whether it exited 0. Its stderr goes to ours, so a failure explains
 * itself in the test log, unless the failure is the expected outcome
 * (`quiet`).
 */
static char *run_decoder(const char *text, bool invert, bool quiet, bool *ret_ok)
{
	const char *tmp = getenv("TMPDIR");
	char *file = NULL;
	assert_true(asprintf(&file, "%s/qrtext.XXXXXX", tmp && *tmp ? tmp : "/tmp") > 0);
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);

	const char *python = getenv("PYTHON3");
	if (!python || !*python)
		python = "/usr/bin/python3";
	char *script = decoder_path();

	int pfd[2];
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		if (quiet) {
			int devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0)
				dup2(devnull, STDERR_FILENO);
		}
		if (invert)
			execl(python, python, script, "--invert", file, (char *)NULL);
		else
			execl(python, python, script, file, (char *)NULL);
		fprintf(stderr, "test_qr: cannot run %s: %s\n", python, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);

	size_t cap = 64 * 1024, n = 0;
	char *out = malloc(cap + 1);
	assert_non_null(out);
	for (;;) {
		ssize_t r = read(pfd[0], out + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
		assert_true(n < cap);
	}
	out[n] = '\0';
	close(pfd[0]);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	unlink(file);
	free(file);
	free(script);
	*ret_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	return out;
}

static void assert_decodes_to(const char *text, bool invert, const char *want)
{
	bool ok = false;
	char *got = run_decoder(text, invert, false, &ok);
	if (!ok || strcmp(got, want) != 0)
		print_error("decoded %s: \"%s\"\nwanted: \"%s\"\n", ok ? "wrongly" : "nothing", got,
			    want);
	assert_true(ok);
	assert_string_equal(got, want);
	free(got);
}

/* --- geometry ------------------------------------------------------------ */

/* Parsed rendering: n x rows modules, true = dark. */
struct grid {
	unsigned n;    /* modules per row (QR width + 2 * quiet zone) */
	unsigned rows; /* module rows drawn (n, or n + 1 for UTF-8 with odd n) */
	bool dark[200][200];
};

static void parse_utf8(const char *text, unsigned columns, struct grid *g)
{
	memset(g, 0, sizeof(*g));
	g->n = columns;
	assert_true(columns < 200);
	const char *p = text;
	unsigned line = 0;
	while (*p) {
		unsigned x = 0;
		while (*p != '\n') {
			assert_true(*p != '\0'); /* every line ends in '\n' */
			assert_true(x < columns);
			assert_true(2 * line + 1 < 200);
			bool top = false, bottom = false;
			if (*p == ' ') {
				top = bottom = true;
				p++;
			} else if (strncmp(p, FULL, 3) == 0) {
				top = bottom = false;
				p += 3;
			} else if (strncmp(p, UPPER, 3) == 0) {
				top = false;
				bottom = true;
				p += 3;
			} else if (strncmp(p, LOWER, 3) == 0) {
				top = true;
				bottom = false;
				p += 3;
			} else {
				fail_msg("unexpected byte 0x%02x on line %u", (unsigned char)*p,
					 line);
			}
			g->dark[2 * line][x] = top;
			g->dark[2 * line + 1][x] = bottom;
			x++;
		}
		assert_int_equal(x, columns); /* every line exactly the width */
		p++;
		line++;
	}
	g->rows = 2 * line;
	/* two module rows per line: the last line may carry one extra row */
	assert_int_equal(line, (columns + 1) / 2);
}

static void parse_ascii(const char *text, unsigned columns, struct grid *g)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(columns % 2, 0);
	g->n = columns / 2;
	assert_true(g->n < 200);
	const char *p = text;
	unsigned y = 0;
	while (*p) {
		assert_true(y < 200);
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_int_equal((size_t)(nl - p), columns);
		for (unsigned x = 0; x < g->n; x++) {
			const char *cell = p + 2 * x;
			if (cell[0] == '#' && cell[1] == '#')
				g->dark[y][x] = true;
			else if (cell[0] == ' ' && cell[1] == ' ')
				g->dark[y][x] = false;
			else
				fail_msg("unexpected cell \"%.2s\" at %u,%u", cell, x, y);
		}
		p = nl + 1;
		y++;
	}
	g->rows = y;
	assert_int_equal(g->rows, g->n);
}

static void assert_no_controls(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		assert_true(*p != 0x1b);
		assert_true(*p == '\n' || (*p >= 0x20 && *p != 0x7f));
	}
	size_t len = strlen(text);
	assert_true(len > 0 && text[len - 1] == '\n');
}

/* A 7x7 finder pattern with its top-left module at (x0, y0). */
static void assert_finder(const struct grid *g, unsigned x0, unsigned y0)
{
	for (unsigned y = 0; y < 7; y++)
		for (unsigned x = 0; x < 7; x++) {
			bool ring = x == 0 || y == 0 || x == 6 || y == 6;
			bool core = x >= 2 && x <= 4 && y >= 2 && y <= 4;
			assert_int_equal(g->dark[y0 + y][x0 + x], ring || core);
		}
}

static void check_geometry(const struct grid *g)
{
	unsigned w = g->n - 2 * QUIET;			       /* the symbol itself */
	assert_true(w >= 21 && w <= 177 && (w - 21) % 4 == 0); /* versions 1..40 */
	for (unsigned y = 0; y < g->rows; y++)
		for (unsigned x = 0; x < g->n; x++)
			if (x < QUIET || x >= QUIET + w || y < QUIET || y >= QUIET + w)
				assert_false(g->dark[y][x]); /* quiet zone all light */
	/* the finders sit right inside the quiet zone: it is exactly 4 wide,
	 * and dark is dark (the polarity is what lib/qr.c documents) */
	assert_finder(g, QUIET, QUIET);
	assert_finder(g, QUIET + w - 7, QUIET);
	assert_finder(g, QUIET, QUIET + w - 7);
}

static void render_and_check(const char *uri, enum up_qr_style style, char **ret_text)
{
	char *text = NULL;
	unsigned columns = 0;
	assert_int_equal(up_qr_render(uri, style, &text, &columns), UP_OK);
	assert_non_null(text);
	assert_no_controls(text);

	struct grid *g = malloc(sizeof(*g));
	assert_non_null(g);
	if (style == UP_QR_UTF8)
		parse_utf8(text, columns, g);
	else
		parse_ascii(text, columns, g);
	check_geometry(g);
	free(g);

	assert_decodes_to(text, false, uri);
	*ret_text = text;
}

/* --- tests ----------------------------------------------------------------- */

static const char *const uris[] = {
    "otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example",
    "otpauth://totp/Example%20Co%20Ltd:Zo%C3%AB%20%C3%9Cnal"
    "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Co%20Ltd",
    /* a 32-byte seed as Cognito's AssociateSoftwareToken hands it out */
    "otpauth://totp/eu-west-1_AbCdEf123:first.last%40example.org"
    "?secret=ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRST&issuer=eu-west-1_AbCdEf123",
};

static void test_render_utf8(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		char *text = NULL;
		render_and_check(uris[i], UP_QR_UTF8, &text);
		free(text);
	}
}

static void test_render_ascii(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		char *text = NULL;
		render_and_check(uris[i], UP_QR_ASCII, &text);
		free(text);
	}
}

static void test_render_sizes(void **state)
{
	(void)state;
	/* the smallest symbol, and a big one (long, mixed-case, UTF-8 text) */
	char *text = NULL;
	unsigned columns = 0;
	assert_int_equal(up_qr_render("a", UP_QR_UTF8, &text, &columns), UP_OK);
	assert_int_equal(columns, 21 + 2 * QUIET);
	free(text);
	assert_int_equal(up_qr_render("a", UP_QR_ASCII, &text, &columns), UP_OK);
	assert_int_equal(columns, 2 * (21 + 2 * QUIET));
	free(text);

	char big[700];
	size_t o = 0;
	while (o + 8 < sizeof(big)) {
		memcpy(big + o, "Ab9 \xc3\xab-z", 8);
		o += 8;
	}
	big[o] = '\0';
	render_and_check(big, UP_QR_UTF8, &text);
	free(text);
	render_and_check(big, UP_QR_ASCII, &text);
	free(text);

	/* ret_columns is optional */
	assert_int_equal(up_qr_render("abc", UP_QR_UTF8, &text, NULL), UP_OK);
	free(text);
}

static void test_render_same_matrix(void **state)
{
	(void)state;
	/* both styles draw the same modules */
	char *u = NULL, *a = NULL;
	unsigned cu = 0, ca = 0;
	assert_int_equal(up_qr_render(uris[1], UP_QR_UTF8, &u, &cu), UP_OK);
	assert_int_equal(up_qr_render(uris[1], UP_QR_ASCII, &a, &ca), UP_OK);
	assert_int_equal(ca, 2 * cu);
	struct grid *gu = malloc(sizeof(*gu)), *ga = malloc(sizeof(*ga));
	assert_non_null(gu);
	assert_non_null(ga);
	parse_utf8(u, cu, gu);
	parse_ascii(a, ca, ga);
	for (unsigned y = 0; y < ga->rows; y++)
		for (unsigned x = 0; x < ga->n; x++)
			assert_int_equal(gu->dark[y][x], ga->dark[y][x]);
	free(gu);
	free(ga);
	free(u);
	free(a);
}

static void test_polarity_matters(void **state)
{
	(void)state;
	/* The decoder is not lenient: a rendering with dark and light swapped
	 * does not decode as-is, and does once zbar is told to look for
	 * inverted codes (what a scanner sees on a light-background terminal). */
	char *text = NULL;
	unsigned columns = 0;
	assert_int_equal(up_qr_render(uris[0], UP_QR_UTF8, &text, &columns), UP_OK);

	bool ok = true;
	char *got = run_decoder(text, true, false, &ok);
	assert_true(ok);
	assert_string_equal(got, uris[0]);
	free(got);

	/* swap the glyphs: full <-> space, upper <-> lower */
	size_t len = strlen(text);
	char *swapped = malloc(len * 3 + 1);
	assert_non_null(swapped);
	size_t o = 0;
	for (const char *p = text; *p;) {
		if (*p == ' ') {
			memcpy(swapped + o, FULL, 3);
			o += 3;
			p++;
		} else if (*p == '\n') {
			swapped[o++] = *p++;
		} else {
			const char *rep = strncmp(p, FULL, 3) == 0    ? " "
					  : strncmp(p, UPPER, 3) == 0 ? LOWER
								      : UPPER;
			size_t rl = strlen(rep);
			memcpy(swapped + o, rep, rl);
			o += rl;
			p += 3;
		}
	}
	swapped[o] = '\0';
	got = run_decoder(swapped, false, true, &ok);
	assert_false(ok);
	free(got);
	assert_decodes_to(swapped, true, uris[0]);
	free(swapped);

	/* and a damaged code does not decode: lines 12..17 all light */
	char *damaged = malloc(len * 3 + 1);
	assert_non_null(damaged);
	o = 0;
	int line = 0;
	for (const char *p = text; *p; line++) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		if (line >= 12 && line < 18) {
			for (unsigned x = 0; x < columns; x++, o += 3)
				memcpy(damaged + o, FULL, 3);
		} else {
			memcpy(damaged + o, p, (size_t)(nl - p));
			o += (size_t)(nl - p);
		}
		damaged[o++] = '\n';
		p = nl + 1;
	}
	damaged[o] = '\0';
	got = run_decoder(damaged, false, true, &ok);
	assert_false(ok);
	free(got);
	free(damaged);
	free(text);
}

static void test_render_rejects(void **state)
{
	(void)state;
	static char s;
	char *text = &s;
	unsigned columns = 4242;
	assert_int_equal(up_qr_render(NULL, UP_QR_UTF8, &text, &columns), UP_EINVAL);
	assert_int_equal(up_qr_render("", UP_QR_UTF8, &text, &columns), UP_EINVAL);
	assert_int_equal(up_qr_render("abc", (enum up_qr_style)7, &text, &columns), UP_EINVAL);
	assert_int_equal(up_qr_render("abc", UP_QR_UTF8, NULL, &columns), UP_EINVAL);

	/* more than a version 40-M symbol holds (2331 bytes) */
	char *huge = malloc(4001);
	assert_non_null(huge);
	memset(huge, 'x', 4000);
	huge[4000] = '\0';
	assert_int_equal(up_qr_render(huge, UP_QR_UTF8, &text, &columns), UP_EINVAL);
	free(huge);

	assert_ptr_equal(text, &s);
	assert_int_equal(columns, 4242);
}

/* --- enrolment text -------------------------------------------------------- */

static const char intro[] =
    "Scan this QR code with your authenticator app, or enter the key by hand:\n";

static void check_enroll(enum up_qr_style style)
{
	const char *uri = uris[1];
	char *msg = NULL, *qr = NULL;
	assert_int_equal(up_enroll_text(uri, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", style, &msg),
			 UP_OK);
	assert_no_controls(msg);
	assert_int_equal(up_qr_render(uri, style, &qr, NULL), UP_OK);

	/* the QR code first, then a blank line, then the text */
	size_t qlen = strlen(qr);
	assert_memory_equal(msg, qr, qlen);
	char *want = NULL;
	assert_true(asprintf(&want, "\n%s  GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ\nURI: %s\n",
			     intro, uri) > 0);
	assert_string_equal(msg + qlen, want);

	/* and the code in the message decodes to the URI */
	assert_decodes_to(qr, false, uri);
	free(want);
	free(qr);
	up_free_secret(msg);
}

static void test_enroll_utf8(void **state)
{
	(void)state;
	check_enroll(UP_QR_UTF8);
}

static void test_enroll_ascii(void **state)
{
	(void)state;
	check_enroll(UP_QR_ASCII);
}

static void test_enroll_rejects(void **state)
{
	(void)state;
	static char s;
	char *msg = &s;
	const char *uri = uris[0];
	assert_int_equal(up_enroll_text(NULL, "JBSWY3DPEHPK3PXP", UP_QR_UTF8, &msg), UP_EINVAL);
	assert_int_equal(up_enroll_text("", "JBSWY3DPEHPK3PXP", UP_QR_UTF8, &msg), UP_EINVAL);
	assert_int_equal(up_enroll_text(uri, NULL, UP_QR_UTF8, &msg), UP_EINVAL);
	assert_int_equal(up_enroll_text(uri, "JBSW&Y3DP", UP_QR_UTF8, &msg), UP_EINVAL);
	assert_int_equal(up_enroll_text(uri, "JBSWY3DPEHPK3PXP", (enum up_qr_style)9, &msg),
			 UP_EINVAL);
	assert_int_equal(up_enroll_text(uri, "JBSWY3DPEHPK3PXP", UP_QR_UTF8, NULL), UP_EINVAL);
	/* nothing that a terminal could interpret reaches the message */
	static const char *const bad_uri[] = {
	    "otpauth://totp/a\x1b[2J:b?secret=JBSWY3DPEHPK3PXP",
	    "otpauth://totp/a:b?secret=JBSWY3DPEHPK3PXP\n",
	    "otpauth://totp/a b:c?secret=JBSWY3DPEHPK3PXP",
	    "otpauth://totp/\xc3\xab:c?secret=JBSWY3DPEHPK3PXP",
	    "otpauth://totp/a:b?secret=JBSWY3DPEHPK3PXP\x7f",
	};
	for (size_t i = 0; i < sizeof(bad_uri) / sizeof(bad_uri[0]); i++)
		assert_int_equal(up_enroll_text(bad_uri[i], "JBSWY3DPEHPK3PXP", UP_QR_UTF8, &msg),
				 UP_EINVAL);
	assert_ptr_equal(msg, &s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_utf8),	     cmocka_unit_test(test_render_ascii),
	    cmocka_unit_test(test_render_sizes),     cmocka_unit_test(test_render_same_matrix),
	    cmocka_unit_test(test_polarity_matters), cmocka_unit_test(test_render_rejects),
	    cmocka_unit_test(test_enroll_utf8),	     cmocka_unit_test(test_enroll_ascii),
	    cmocka_unit_test(test_enroll_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
