/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pamdrive: drives the real libpam (pam_start_confdir, or pam_start under
 * pam_wrapper) through a scripted conversation for the PAM-level tests of
 * pam_userpool.so. It records every message the stack sends, answers
 * prompts from a list, can make the conversation fail in the ways a broken
 * application does, runs the sign-in in a loop (valgrind) or from several
 * threads at once, checks that no file descriptor outlives pam_end, and
 * captures what the modules send to syslog (the executable exports
 * syslog/vsyslog, which libpam's pam_syslog calls).
 *
 * usage: pamdrive [options] OP...
 *   OP: auth | acct | setcred | open | close | chauthtok
 *   -s SERVICE   service name (default "userpool-test")
 *   -d DIR       service directory for pam_start_confdir; without it
 *                pam_start is used (run under pam_wrapper)
 *   -u USER      PAM user (repeatable: thread i uses user i mod n)
 *   -U HEX       PAM user given in hex (hostile names with newlines)
 *   -N           no PAM user at pam_start (the module asks for it)
 *   -a ANSWER    next answer (repeatable). Forms:
 *                  TEXT              the text
 *                  @rep:N:C          N copies of the character C
 *                  !CMD              output (first line) of /bin/sh -c CMD,
 *                                    where %u is the user, %i a file with the
 *                                    last PAM_TEXT_INFO text, %t a file with
 *                                    the transcript so far
 *   -f MODE:N    the Nth message handed to the conversation fails:
 *                conv_err (conv returns PAM_CONV_ERR), null_reply (returns
 *                PAM_SUCCESS with no reply array), null_resp (reply with a
 *                NULL resp), buf_err (returns PAM_BUF_ERR)
 *   -t TTY       PAM_TTY
 *   -x DISPLAY   PAM_XDISPLAY
 *   -e NAME=VAL  put NAME=VAL in the PAM environment (before the ops)
 *   -r RHOST     PAM_RHOST
 *   -R RUSER     PAM_RUSER (the requesting user, as sudo and su set it)
 *   -T N         run the ops from N threads at once, one handle each
 *   -n N         run the ops N times (new handle each time); every result
 *                must be PAM_SUCCESS
 *   -F           fail unless /proc/self/fd is the same after the last pam_end
 *   -l FILE      append syslog lines ("PRIO message") to FILE
 *   -q           do not print the transcript
 *   -k LIB       dlopen LIB first and keep it loaded (repeatable): the
 *                module and libssl stay resident across pam_end, as in a
 *                daemon, so valgrind runs of many rounds stay fast
 *   -D           no-op fail delay (the module's pam_fail_delay is recorded,
 *                not slept)
 * Prints "RESULT <op> <PAM_CODE>" per op (and "DELAY <usec>" with -D).
 * Exit: 0 when the ops ran (whatever they returned) and, with -n/-T, all
 * succeeded; 1 when a check failed; 2 on a usage or driver error.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define MAX_ANSWERS 64
#define MAX_USERS 16
#define MAX_OPS 16
#define MAX_THREADS 64
#define MAX_FDS 1024

enum fail_mode { FAIL_NONE, FAIL_CONV_ERR, FAIL_NULL_REPLY, FAIL_NULL_RESP, FAIL_BUF_ERR };

static const char *opt_service = "userpool-test";
static const char *opt_confdir;
static const char *users[MAX_USERS];
static size_t n_users;
static bool no_user;
static const char *answers[MAX_ANSWERS];
static size_t n_answers;
static enum fail_mode fail_mode;
static unsigned fail_at;
static const char *opt_tty, *opt_rhost, *opt_xdisplay, *opt_env, *opt_ruser;
static unsigned opt_threads, opt_loops;
static bool opt_fds, opt_quiet, opt_nodelay;
static const char *ops[MAX_OPS];
static size_t n_ops;

static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------------ */
/* syslog capture: libpam's pam_syslog ends in vsyslog (or its fortified
 * twin); these definitions in the executable take precedence. */

static void log_line(int prio, const char *fmt, va_list ap)
{
	if (!log_file)
		return;
	pthread_mutex_lock(&log_lock);
	fprintf(log_file, "%d ", prio & LOG_PRIMASK);
	vfprintf(log_file, fmt, ap);
	fputc('\n', log_file);
	fflush(log_file);
	pthread_mutex_unlock(&log_lock);
}

void vsyslog(int prio, const char *fmt, va_list ap)
{
	log_line(prio, fmt, ap);
}

void syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(prio, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int prio, int flag, const char *fmt, va_list ap);
void __vsyslog_chk(int prio, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	log_line(prio, fmt, ap);
}

void __syslog_chk(int prio, int flag, const char *fmt, ...);
void __syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	log_line(prio, fmt, ap);
	va_end(ap);
}

void openlog(const char *ident, int option, int facility)
{
	(void)ident;
	(void)option;
	(void)facility;
}

void closelog(void)
{
}

/* ------------------------------------------------------------------ */

struct run {
	unsigned id;
	const char *user;
	size_t next_answer;
	unsigned n_msgs;
	char *transcript;
	size_t tlen;
	char *last_info;
	char tfile[64];
	char ifile[64];
	unsigned delay_usec;
	bool delayed;
	bool all_ok;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pamdrive: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void tappend(struct run *r, const char *kind, const char *text)
{
	size_t add = strlen(kind) + 2 + strlen(text) + 1;
	char *t = realloc(r->transcript, r->tlen + add + 1);

	if (!t)
		die("out of memory");
	r->transcript = t;
	r->tlen += (size_t)snprintf(t + r->tlen, add + 1, "%s: %s\n", kind, text);
	if (!opt_quiet) {
		pthread_mutex_lock(&out_lock);
		if (opt_threads > 1)
			printf("[%u] ", r->id);
		printf("%s: %s\n", kind, text);
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text ? text : "", f) < 0 || fclose(f) != 0)
		die("cannot write %s", path);
}

/* "!CMD" with %u, %i, %t substituted; first line of its output. */
static char *run_cmd(struct run *r, const char *cmd)
{
	char buf[8192];
	size_t o = 0;
	FILE *p;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int st;

	write_file(r->tfile, r->transcript);
	write_file(r->ifile, r->last_info);
	for (const char *c = cmd; *c; c++) {
		const char *sub = NULL;
		char one[2] = { *c, 0 };

		if (c[0] == '%' && c[1] == 'u')
			sub = r->user ? r->user : "";
		else if (c[0] == '%' && c[1] == 'i')
			sub = r->ifile;
		else if (c[0] == '%' && c[1] == 't')
			sub = r->tfile;
		if (sub)
			c++;
		else
			sub = one;
		if (o + strlen(sub) + 1 > sizeof(buf))
			die("command too long");
		memcpy(buf + o, sub, strlen(sub));
		o += strlen(sub);
	}
	buf[o] = '\0';
	fflush(NULL);
	p = popen(buf, "r");
	if (!p)
		die("popen failed");
	n = getline(&line, &cap, p);
	/* Drain so the child never blocks on a full pipe. */
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	if (n <= 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(line);
		return NULL;
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

static char *make_answer(struct run *r)
{
	const char *a;

	if (r->next_answer >= n_answers)
		return NULL;
	a = answers[r->next_answer++];
	if (strncmp(a, "@rep:", 5) == 0) {
		char *end = NULL;
		unsigned long n = strtoul(a + 5, &end, 10);
		char *s;

		if (!end || *end != ':' || !end[1] || n > (1ul << 24))
			die("bad @rep answer");
		s = malloc(n + 1);
		if (!s)
			die("out of memory");
		memset(s, end[1], n);
		s[n] = '\0';
		return s;
	}
	if (a[0] == '!')
		return run_cmd(r, a + 1);
	return strdup(a);
}

static int conv(int num, const struct pam_message **msgs, struct pam_response **ret, void *ud)
{
	struct run *r = ud;
	struct pam_response *resp;

	if (num <= 0 || num > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	resp = calloc((size_t)num, sizeof(*resp));
	if (!resp)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		const struct pam_message *m = msgs[i];
		const char *text = m->msg ? m->msg : "(null)";
		bool ask = false;

		r->n_msgs++;
		/* Linux-PAM's limit, which greeters (LightDM) enforce */
		if (strlen(text) >= PAM_MAX_MSG_SIZE) {
			char note[64];

			snprintf(note, sizeof(note), "%zu bytes", strlen(text));
			tappend(r, "OVERSIZE", note);
		}
		switch (m->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			tappend(r, "PROMPT_ECHO_OFF", text);
			ask = true;
			break;
		case PAM_PROMPT_ECHO_ON:
			tappend(r, "PROMPT_ECHO_ON", text);
			ask = true;
			break;
		case PAM_TEXT_INFO:
			tappend(r, "INFO", text);
			/* consecutive info messages of one call are one text */
			if (i > 0 && msgs[i - 1]->msg_style == PAM_TEXT_INFO && r->last_info) {
				char *joined = NULL;

				if (asprintf(&joined, "%s\n%s", r->last_info, text) < 0)
					die("out of memory");
				free(r->last_info);
				r->last_info = joined;
			} else {
				free(r->last_info);
				r->last_info = strdup(text);
			}
			break;
		case PAM_ERROR_MSG:
			tappend(r, "ERROR", text);
			break;
		default:
			tappend(r, "UNKNOWN_STYLE", text);
			break;
		}
		if (fail_mode != FAIL_NONE && r->n_msgs == fail_at) {
			tappend(r, "CONV_FAILS", fail_mode == FAIL_CONV_ERR     ? "conv_err"
						 : fail_mode == FAIL_NULL_REPLY ? "null_reply"
						 : fail_mode == FAIL_NULL_RESP	? "null_resp"
										: "buf_err");
			switch (fail_mode) {
			case FAIL_CONV_ERR:
			case FAIL_BUF_ERR:
				for (int k = 0; k < i; k++)
					free(resp[k].resp);
				free(resp);
				return fail_mode == FAIL_CONV_ERR ? PAM_CONV_ERR : PAM_BUF_ERR;
			case FAIL_NULL_REPLY:
				for (int k = 0; k < i; k++)
					free(resp[k].resp);
				free(resp);
				*ret = NULL;
				return PAM_SUCCESS;
			case FAIL_NULL_RESP:
				continue; /* resp[i].resp stays NULL */
			default:
				break;
			}
		}
		if (ask) {
			resp[i].resp = make_answer(r);
			if (!resp[i].resp) {
				tappend(r, "NO_ANSWER", "(the script has no answer left)");
				for (int k = 0; k < i; k++) {
					if (resp[k].resp) {
						explicit_bzero(resp[k].resp, strlen(resp[k].resp));
						free(resp[k].resp);
					}
				}
				free(resp);
				return PAM_CONV_ERR;
			}
		}
	}
	*ret = resp;
	return PAM_SUCCESS;
}

static void fail_delay(int status, unsigned delay, void *ud)
{
	struct run *r = ud;

	/* libpam calls this after every pam_authenticate; only a failure
	 * would sleep. */
	if (status == PAM_SUCCESS)
		return;
	r->delay_usec = delay;
	r->delayed = true;
}

static const char *code_name(int rc)
{
	switch (rc) {
#define C(x)                                                                                       \
	case x:                                                                                    \
		return #x
		C(PAM_SUCCESS);
		C(PAM_OPEN_ERR);
		C(PAM_SYMBOL_ERR);
		C(PAM_SERVICE_ERR);
		C(PAM_SYSTEM_ERR);
		C(PAM_BUF_ERR);
		C(PAM_PERM_DENIED);
		C(PAM_AUTH_ERR);
		C(PAM_CRED_INSUFFICIENT);
		C(PAM_AUTHINFO_UNAVAIL);
		C(PAM_USER_UNKNOWN);
		C(PAM_MAXTRIES);
		C(PAM_NEW_AUTHTOK_REQD);
		C(PAM_ACCT_EXPIRED);
		C(PAM_SESSION_ERR);
		C(PAM_CRED_UNAVAIL);
		C(PAM_CRED_EXPIRED);
		C(PAM_CRED_ERR);
		C(PAM_NO_MODULE_DATA);
		C(PAM_CONV_ERR);
		C(PAM_AUTHTOK_ERR);
		C(PAM_AUTHTOK_RECOVERY_ERR);
		C(PAM_AUTHTOK_LOCK_BUSY);
		C(PAM_AUTHTOK_DISABLE_AGING);
		C(PAM_TRY_AGAIN);
		C(PAM_IGNORE);
		C(PAM_ABORT);
		C(PAM_AUTHTOK_EXPIRED);
		C(PAM_MODULE_UNKNOWN);
		C(PAM_BAD_ITEM);
		C(PAM_CONV_AGAIN);
		C(PAM_INCOMPLETE);
#undef C
	default:
		return "PAM_UNKNOWN_CODE";
	}
}

static int run_op(pam_handle_t *pamh, const char *op)
{
	if (strcmp(op, "auth") == 0)
		return pam_authenticate(pamh, 0);
	if (strcmp(op, "acct") == 0)
		return pam_acct_mgmt(pamh, 0);
	if (strcmp(op, "setcred") == 0)
		return pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (strcmp(op, "open") == 0)
		return pam_open_session(pamh, 0);
	if (strcmp(op, "close") == 0)
		return pam_close_session(pamh, 0);
	if (strcmp(op, "chauthtok") == 0)
		return pam_chauthtok(pamh, 0);
	die("unknown op %s", op);
	return PAM_SYSTEM_ERR;
}

/* One pam_start .. pam_end; false when an op did not succeed. */
static bool one_round(struct run *r)
{
	struct pam_conv pc = { conv, r };
	pam_handle_t *pamh = NULL;
	const char *user = no_user ? NULL : r->user;
	bool ok = true;
	int rc, last = PAM_SUCCESS;

	r->next_answer = 0;
	r->n_msgs = 0;
	if (opt_confdir)
		rc = pam_start_confdir(opt_service, user, &pc, opt_confdir, &pamh);
	else
		rc = pam_start(opt_service, user, &pc, &pamh);
	if (rc != PAM_SUCCESS)
		die("pam_start: %s", code_name(rc));
	if (opt_tty && pam_set_item(pamh, PAM_TTY, opt_tty) != PAM_SUCCESS)
		die("PAM_TTY");
	if (opt_xdisplay && pam_set_item(pamh, PAM_XDISPLAY, opt_xdisplay) != PAM_SUCCESS)
		die("PAM_XDISPLAY");
	if (opt_env && pam_putenv(pamh, opt_env) != PAM_SUCCESS)
		die("pam_putenv");
	if (opt_rhost && pam_set_item(pamh, PAM_RHOST, opt_rhost) != PAM_SUCCESS)
		die("PAM_RHOST");
	if (opt_ruser && pam_set_item(pamh, PAM_RUSER, opt_ruser) != PAM_SUCCESS)
		die("PAM_RUSER");
	if (opt_nodelay) {
		void (*fn)(int, unsigned, void *) = fail_delay;
		if (pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)fn) != PAM_SUCCESS)
			die("PAM_FAIL_DELAY");
	}
	for (size_t i = 0; i < n_ops; i++) {
		rc = run_op(pamh, ops[i]);
		last = rc;
		if (rc != PAM_SUCCESS)
			ok = false;
		if (!opt_quiet || rc != PAM_SUCCESS) {
			pthread_mutex_lock(&out_lock);
			if (opt_threads > 1)
				printf("[%u] ", r->id);
			printf("RESULT %s %s\n", ops[i], code_name(rc));
			fflush(stdout);
			pthread_mutex_unlock(&out_lock);
		}
		/* An application stops at the first failure, as sshd does. */
		if (rc != PAM_SUCCESS)
			break;
	}
	pam_end(pamh, last);
	if (opt_nodelay && r->delayed && !opt_quiet) {
		printf("DELAY %u\n", r->delay_usec);
		r->delayed = false;
	}
	return ok;
}

static void *thread_main(void *arg)
{
	struct run *r = arg;
	unsigned loops = opt_loops ? opt_loops : 1;

	r->all_ok = true;
	for (unsigned i = 0; i < loops; i++) {
		free(r->transcript);
		r->transcript = NULL;
		r->tlen = 0;
		if (!one_round(r))
			r->all_ok = false;
	}
	return NULL;
}

static size_t list_fds(char out[][400], size_t cap)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;
	int self;

	if (!d)
		die("opendir /proc/self/fd");
	self = dirfd(d);
	while ((e = readdir(d))) {
		char path[300], target[100];
		ssize_t len;

		if (e->d_name[0] == '.' || strtol(e->d_name, NULL, 10) == self)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		if (n < cap)
			snprintf(out[n++], 400, "%s -> %s", e->d_name, target);
	}
	closedir(d);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void add_user_hex(const char *hex)
{
	size_t n = strlen(hex);
	char *u;

	if (n % 2 || n_users >= MAX_USERS)
		die("bad -U");
	u = calloc(n / 2 + 1, 1);
	if (!u)
		die("out of memory");
	for (size_t i = 0; i < n / 2; i++) {
		char two[3] = { hex[2 * i], hex[2 * i + 1], 0 };
		char *end = NULL;
		u[i] = (char)strtoul(two, &end, 16);
		if (!end || *end)
			die("bad -U");
	}
	users[n_users++] = u; /* lives until exit */
}

int main(int argc, char **argv)
{
	static char before[MAX_FDS][400], after[MAX_FDS][400];
	size_t n_before = 0, n_after = 0;
	struct run runs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	unsigned nthreads;
	bool ok = true;
	int c;

	while ((c = getopt(argc, argv, "s:d:u:U:Na:f:t:r:R:T:n:Fl:qDk:x:e:")) != -1) {
		switch (c) {
		case 's':
			opt_service = optarg;
			break;
		case 'd':
			opt_confdir = optarg;
			break;
		case 'u':
			if (n_users >= MAX_USERS)
				die("too many users");
			users[n_users++] = optarg;
			break;
		case 'U':
			add_user_hex(optarg);
			break;
		case 'N':
			no_user = true;
			break;
		case 'a':
			if (n_answers >= MAX_ANSWERS)
				die("too many answers");
			answers[n_answers++] = optarg;
			break;
		case 'f': {
			char *colon = strchr(optarg, ':');
			char *end = NULL;
			if (!colon)
				die("-f MODE:N");
			*colon = '\0';
			if (strcmp(optarg, "conv_err") == 0)
				fail_mode = FAIL_CONV_ERR;
			else if (strcmp(optarg, "null_reply") == 0)
				fail_mode = FAIL_NULL_REPLY;
			else if (strcmp(optarg, "null_resp") == 0)
				fail_mode = FAIL_NULL_RESP;
			else if (strcmp(optarg, "buf_err") == 0)
				fail_mode = FAIL_BUF_ERR;
			else
				die("unknown failure mode %s", optarg);
			fail_at = (unsigned)strtoul(colon + 1, &end, 10);
			if (!end || *end || fail_at == 0)
				die("-f MODE:N");
			break;
		}
		case 't':
			opt_tty = optarg;
			break;
		case 'x':
			opt_xdisplay = optarg;
			break;
		case 'e':
			opt_env = optarg;
			break;
		case 'r':
			opt_rhost = optarg;
			break;
		case 'R':
			opt_ruser = optarg;
			break;
		case 'T':
		case 'n': {
			char *end = NULL;
			unsigned long v = strtoul(optarg, &end, 10);
			if (!end || *end || v == 0 || v > (c == 'T' ? MAX_THREADS : 1000000))
				die("bad -%c", c);
			if (c == 'T')
				opt_threads = (unsigned)v;
			else
				opt_loops = (unsigned)v;
			break;
		}
		case 'F':
			opt_fds = true;
			break;
		case 'l':
			log_file = fopen(optarg, "a");
			if (!log_file)
				die("cannot open %s", optarg);
			break;
		case 'q':
			opt_quiet = true;
			break;
		case 'D':
			opt_nodelay = true;
			break;
		case 'k':
			/* Deliberately never closed: the point is to stay loaded. */
			if (!dlopen(optarg, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE))
				die("dlopen %s: %s", optarg, dlerror());
			break;
		default:
			die("usage: see the comment at the top of pamdrive.c");
		}
	}
	for (int i = optind; i < argc; i++) {
		if (n_ops >= MAX_OPS)
			die("too many ops");
		ops[n_ops++] = argv[i];
	}
	if (!n_ops)
		die("no ops");
	nthreads = opt_threads ? opt_threads : 1;

	if (opt_fds) {
		n_before = list_fds(before, MAX_FDS);
		qsort(before, n_before, sizeof(before[0]), cmp_str);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].id = i;
		runs[i].user = n_users ? users[i % n_users] : NULL;
		snprintf(runs[i].tfile, sizeof(runs[i].tfile), "/tmp/pamdrive.%d.%u.t",
			 (int)getpid(), i);
		snprintf(runs[i].ifile, sizeof(runs[i].ifile), "/tmp/pamdrive.%d.%u.i",
			 (int)getpid(), i);
	}
	if (nthreads == 1) {
		thread_main(&runs[0]);
	} else {
		for (unsigned i = 0; i < nthreads; i++)
			if (pthread_create(&tids[i], NULL, thread_main, &runs[i]) != 0)
				die("pthread_create");
		for (unsigned i = 0; i < nthreads; i++)
			pthread_join(tids[i], NULL);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		if ((opt_loops || opt_threads) && !runs[i].all_ok) {
			printf("FAIL thread %u: not every round succeeded\n", i);
			ok = false;
		}
		unlink(runs[i].tfile);
		unlink(runs[i].ifile);
		free(runs[i].transcript);
		free(runs[i].last_info);
	}
	if (opt_fds) {
		n_after = list_fds(after, MAX_FDS);
		qsort(after, n_after, sizeof(after[0]), cmp_str);
		printf("FDS before=%zu after=%zu\n", n_before, n_after);
		for (size_t i = 0; i < n_after; i++) {
			bool seen = false;
			for (size_t k = 0; k < n_before; k++)
				if (strcmp(after[i], before[k]) == 0)
					seen = true;
			if (!seen) {
				printf("FD LEFT OPEN: %s\n", after[i]);
				ok = false;
			}
		}
	}
	if (log_file)
		fclose(log_file);
	return ok ? 0 : 1;
}
