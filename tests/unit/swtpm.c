/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "swtpm.h"
#include "testlib.h"

const char *t_swtpm_binary(void)
{
	const char *b = getenv("SWTPM");

	if (b && b[0] && access(b, X_OK) == 0)
		return b;
	return access("/usr/bin/swtpm", X_OK) == 0 ? "/usr/bin/swtpm" : NULL;
}

/* Bind 127.0.0.1:port (0: any) and return the socket; -1 when taken. */
static int bind_port(int port, int *ret_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

/* A port P on 127.0.0.1 with P+1 free too (the swtpm TCTI reaches the
 * control channel at P+1). */
static int free_port(void)
{
	for (int i = 0; i < 50; i++) {
		int p, q, fd = bind_port(0, &p), fd2;

		assert_true(fd >= 0);
		fd2 = p < 65535 ? bind_port(p + 1, &q) : -1;
		close(fd);
		if (fd2 >= 0) {
			close(fd2);
			return p;
		}
	}
	fail_msg("no two adjacent free ports on 127.0.0.1");
	return -1;
}

static bool port_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static pid_t spawn(const char *bin, const char *dir, int port, int ctrl)
{
	char state[1024], server[96], ctrlarg[96];
	pid_t pid;

	snprintf(state, sizeof(state), "dir=%s", dir);
	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", port);
	snprintf(ctrlarg, sizeof(ctrlarg), "type=tcp,port=%d,bindaddr=127.0.0.1", ctrl);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(bin, bin, "socket", "--tpm2", "--tpmstate", state, "--server", server,
		      "--ctrl", ctrlarg, "--flags", "not-need-init,startup-clear", (char *)NULL);
		_exit(127);
	}
	return pid;
}

void t_swtpm_start(struct t_swtpm *s, const char *dir)
{
	const char *bin = t_swtpm_binary();

	assert_non_null(bin);
	memset(s, 0, sizeof(*s));
	/* A port taken between free_port() and swtpm's bind: try again. */
	for (int attempt = 0; attempt < 5; attempt++) {
		int status;

		s->port = free_port();
		s->ctrl_port = s->port + 1;
		s->pid = spawn(bin, dir, s->port, s->ctrl_port);
		/* at most 10 s: 500 polls of 20 ms */
		for (int i = 0; i < 500; i++) {
			struct timespec ts = {0, 20 * 1000 * 1000};

			if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
				s->pid = 0;
				break;
			}
			if (port_open(s->port)) {
				snprintf(s->tcti, sizeof(s->tcti), "swtpm:host=127.0.0.1,port=%d",
					 s->port);
				return;
			}
			nanosleep(&ts, NULL);
		}
		t_swtpm_stop(s);
	}
	fail_msg("swtpm did not start on 127.0.0.1");
}

void t_swtpm_stop(struct t_swtpm *s)
{
	if (s->pid > 0) {
		/* SIGTERM lets it store its state; SIGKILL after 2 s. */
		kill(s->pid, SIGTERM);
		for (int i = 0; i < 100 && waitpid(s->pid, NULL, WNOHANG) == 0; i++) {
			struct timespec ts = {0, 20 * 1000 * 1000};

			nanosleep(&ts, NULL);
			if (i == 99) {
				kill(s->pid, SIGKILL);
				waitpid(s->pid, NULL, 0);
			}
		}
	}
	s->pid = 0;
}
