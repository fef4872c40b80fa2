/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every conversation adapter needs to stay within what PAM applications
 * accept: messages of at most PAM_MAX_MSG_SIZE bytes, at most PAM_MAX_NUM_MSG
 * of them per pam_conv call (LightDM drops a longer message and its greeter
 * hangs), and the decision whether a text QR code can be read where the
 * person sits (`qr`).
 */
#include <stdlib.h>
#include <string.h>

#include <userpool/signin.h>

#include "ctx.h"
#include "secret.h"

/* The longest prefix of s[0..len) that does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len)
{
	size_t n = len;

	/* back up over continuation bytes to the lead byte of the last char */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n ? n : len; /* no lead byte at all: not UTF-8, cut bytes */
}

void up_conv_init(struct up_conv *conv, struct up_ctx *ctx,
		  up_err (*prompt)(void *ud, const char *text, bool echo, char **ret_answer),
		  up_err (*info)(void *ud, const char *text),
		  up_err (*error)(void *ud, const char *text), void *ud)
{
	memset(conv, 0, sizeof(*conv));
	conv->prompt = prompt;
	conv->info = info;
	conv->error = error;
	conv->ud = ud;
	conv->echo_code = ctx && ctx->cfg && ctx->cfg->echo_code;
}

void up_conv_split_free(char **parts, size_t n)
{
	if (!parts)
		return;
	for (size_t i = 0; i < n; i++)
		up_free_secret(parts[i]);
	free(parts);
}

up_err up_conv_split(const char *text, char ***ret_parts, size_t *ret_n)
{
	const size_t max = UP_CONV_MAX_MSG - 1; /* bytes before the NUL */
	char **parts;
	size_t n = 0, len;
	const char *p;

	if (!text || !ret_parts || !ret_n)
		return UP_EINVAL;
	*ret_parts = NULL;
	*ret_n = 0;
	parts = calloc(UP_CONV_MAX_NUM, sizeof(*parts));
	if (!parts)
		return UP_ENOMEM;
	len = strlen(text);
	if (len && text[len - 1] == '\n')
		len--; /* every message is shown on lines of its own */
	p = text;
	do {
		size_t left = len - (size_t)(p - text), take, skip = 0;
		bool last = n + 1 == UP_CONV_MAX_NUM;

		if (left <= max) {
			take = left;
		} else if (last) {
			/* Too long even for PAM_MAX_NUM_MSG messages: cut, marked. */
			static const char more[] = " [...]";

			take = utf8_cut(p, max - (sizeof(more) - 1));
			parts[n] = malloc(take + sizeof(more));
			if (!parts[n])
				goto nomem;
			memcpy(parts[n], p, take);
			memcpy(parts[n] + take, more, sizeof(more));
			n++;
			break;
		} else {
			/* the last line break that leaves a piece of at most max
			 * bytes; a line longer than that is cut between characters */
			take = 0;
			for (size_t i = max; i > 0; i--)
				if (p[i] == '\n') {
					take = i;
					skip = 1;
					break;
				}
			if (!take)
				take = utf8_cut(p, max);
		}
		parts[n] = strndup(p, take);
		if (!parts[n])
			goto nomem;
		n++;
		p += take + skip;
	} while ((size_t)(p - text) < len);
	*ret_parts = parts;
	*ret_n = n;
	return UP_OK;
nomem:
	up_conv_split_free(parts, n);
	return UP_ENOMEM;
}

static bool tty_is_display(const char *tty)
{
	/* X displays as PAM_TTY: ":0", ":1.0", "host:0" */
	const char *c = tty ? strchr(tty, ':') : NULL;

	return c && c[1] >= '0' && c[1] <= '9';
}

bool up_qr_draw(enum up_qr_mode mode, const char *service, const char *tty, const char *xdisplay,
		bool gdm_env)
{
	static const char *const greeters[] = {"lightdm",
					       "lightdm-greeter",
					       "lightdm-autologin",
					       "sddm",
					       "sddm-greeter",
					       "sddm-autologin",
					       "gdm",
					       "xdm",
					       "lxdm",
					       "slim"};

	if (mode == UP_QR_TEXT)
		return true;
	if (mode != UP_QR_AUTO)
		return false;
	if (xdisplay && *xdisplay)
		return false;
	if (gdm_env)
		return false;
	if (tty_is_display(tty))
		return false;
	if (service) {
		if (strncmp(service, "gdm-", 4) == 0)
			return false;
		for (size_t i = 0; i < sizeof(greeters) / sizeof(greeters[0]); i++)
			if (strcmp(service, greeters[i]) == 0)
				return false;
	}
	return true;
}
