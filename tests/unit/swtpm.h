/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_TEST_SWTPM_H
#define UP_TEST_SWTPM_H

/* A software TPM (swtpm) for the tests, on 127.0.0.1 at free ports, killed
 * when the test process exits. */

#include <stdbool.h>
#include <sys/types.h>

struct t_swtpm {
	pid_t pid;
	int port, ctrl_port; /* ctrl_port = port + 1 */
	char tcti[96]; /* "swtpm:host=127.0.0.1,port=P" */
};

/* The swtpm binary ($SWTPM or /usr/bin/swtpm), NULL when not installed. */
const char *t_swtpm_binary(void);
/* Start swtpm on state directory `dir` (created by the caller); fails the
 * test when swtpm is installed but does not come up within 10 s. */
void t_swtpm_start(struct t_swtpm *s, const char *dir);
/* Kill and reap it (no-op when not running). */
void t_swtpm_stop(struct t_swtpm *s);

#endif
