/* SPDX-License-Identifier: Apache-2.0 */
#ifndef USERPOOL_CONV_H
#define USERPOOL_CONV_H

/* lib/conv.c: the conversation with the person signing in. */

#include <userpool/config.h>
#include <userpool/ctx.h>

UP_BEGIN_DECLS

/*
 * How the library talks to the person signing in. The PAM module adapts
 * pam_conv to this; the tools adapt the terminal. Answers are malloc'd; the
 * library wipes and frees them. Text shown with info() is always followed by
 * a prompt() (sshd shows info text only together with the next prompt).
 */
struct up_conv {
	/* Ask; echo = false for secrets. */
	up_err (*prompt)(void *ud, const char *text, bool echo, char **ret_answer);
	up_err (*info)(void *ud, const char *text);
	up_err (*error)(void *ud, const char *text);
	/* Optional: show an authenticator enrolment (MFA_SETUP). When NULL, the
	 * library sends its own text (QR code, URI, secret in groups of four)
	 * through info(). Either way the library then prompts for the code. */
	up_err (*enroll)(void *ud, const char *secret_b32, const char *uri);
	void *ud;
	bool echo_code; /* echo verification codes */
	bool no_qr;	/* draw no text QR code: show the short text
			   fallback (set from up_qr_draw() by the PAM
			   module; `qr = off` has the same effect) */
};

/* The one conversation set-up of the PAM module and the tools: the
 * adapter's callbacks and `ud`, and what the configuration says (echo_code);
 * the rest cleared. */
UP_EXPORT void up_conv_init(struct up_conv *conv, struct up_ctx *ctx,
			    up_err (*prompt)(void *ud, const char *text, bool echo,
					     char **ret_answer),
			    up_err (*info)(void *ud, const char *text),
			    up_err (*error)(void *ud, const char *text), void *ud);

/* Linux-PAM's limits (<security/_pam_types.h>): a message, its NUL
 * included, is at most UP_CONV_MAX_MSG bytes; one pam_conv call carries at
 * most UP_CONV_MAX_NUM messages. Greeters (LightDM) hang on longer ones. */
#define UP_CONV_MAX_MSG 512
#define UP_CONV_MAX_NUM 32

/*
 * Split `text` into messages for one conversation call: each at most
 * UP_CONV_MAX_MSG - 1 bytes, at most UP_CONV_MAX_NUM of them, split at line
 * breaks (the break itself dropped; a final '\n' is dropped) and a line
 * longer than a message between UTF-8 characters. Text beyond
 * UP_CONV_MAX_NUM messages is cut and the last message ends in " [...]".
 * Free with up_conv_split_free() (which wipes).
 */
UP_EXPORT up_err up_conv_split(const char *text, char ***ret_parts, size_t *ret_n);
UP_EXPORT void up_conv_split_free(char **parts, size_t n);

/*
 * `qr = auto`: true when a text QR code can be drawn where the person sits
 * (a terminal: ssh, a text console, su/sudo in a terminal) and false where a
 * graphical greeter is likely: `xdisplay` (PAM_XDISPLAY) set, `tty`
 * (PAM_TTY) of the form ":N", `gdm_env` (GDM_SUPPORTED_PAM_EXTENSIONS in the
 * PAM environment), or `service` gdm-*, gdm, lightdm*, sddm*, xdm, lxdm,
 * slim. GDM sets PAM_TTY to /dev/tty1, so the tty alone is not enough.
 * `qr = text` is always true, `qr = off` always false. Any argument may be NULL.
 */
UP_EXPORT bool up_qr_draw(enum up_qr_mode mode, const char *service, const char *tty,
			  const char *xdisplay, bool gdm_env);

UP_END_DECLS

#endif
