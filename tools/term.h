/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_TERM_H
#define UP_TERM_H

/* Terminal helpers shared by userpool-enroll and userpool. */

#include <stdbool.h>
#include <stdio.h>

#include <userpool/userpool.h>

/* Ask on stderr/stdin; echo off for secrets when stdin is a terminal.
 * *ret is malloc'd; wipe it (term_free_secret). */
up_err term_prompt(const char *text, bool echo, char **ret);
void term_free_secret(char *s);
/* Columns of the terminal on stdout; 0 when stdout is not a terminal. */
unsigned term_columns(void);
/* The locale's character set is UTF-8. */
bool term_utf8(void);
/* Logger for up_ctx_set_logger: stderr, "<prog>: message"; debug lines
 * only when the configuration says debug. */
void term_log(void *ud, int priority, const char *msg);
/* Fill a conversation that talks to this terminal (up_conv_init). */
void term_conv(struct up_conv *conv, struct up_ctx *ctx, void *ud);
/* Strip control characters (a value from the network must not drive the
 * terminal) into a static buffer-free copy; returns malloc'd text. */
char *term_safe(const char *s);

#endif
