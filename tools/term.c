/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

void term_free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

up_err term_prompt(const char *text, bool echo, char **ret)
{
	struct termios old, quiet;
	bool restore = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	fputs(text, stderr);
	fflush(stderr);
	if (!echo && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0)
			restore = true;
	}
	n = getline(&line, &cap, stdin);
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n < 0) {
		if (line) {
			explicit_bzero(line, cap);
			free(line);
		}
		return UP_ECONV;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	*ret = line;
	return UP_OK;
}

unsigned term_columns(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

bool term_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

void term_log(void *ud, int priority, const char *msg)
{
	const char *prog = ud ? ud : "userpool";

	if (priority > LOG_WARNING && priority != LOG_DEBUG && priority != LOG_NOTICE)
		return; /* info lines belong to syslog, not the terminal */
	fprintf(stderr, "%s: %s%s\n", prog,
		priority <= LOG_ERR	  ? "error: "
		: priority == LOG_WARNING ? "warning: "
					  : "",
		msg);
}

static up_err conv_prompt(void *ud, const char *text, bool echo, char **ret)
{
	(void)ud;
	return term_prompt(text, echo, ret);
}

static up_err conv_info(void *ud, const char *text)
{
	(void)ud;
	fprintf(stdout, "%s\n", text);
	fflush(stdout);
	return UP_OK;
}

static up_err conv_error(void *ud, const char *text)
{
	(void)ud;
	fprintf(stderr, "%s\n", text);
	return UP_OK;
}

void term_conv(struct up_conv *conv, struct up_ctx *ctx, void *ud)
{
	up_conv_init(conv, ctx, conv_prompt, conv_info, conv_error, ud);
}

char *term_safe(const char *s)
{
	char *out;

	if (!s)
		return strdup("");
	out = strdup(s);
	if (!out)
		return NULL;
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}
