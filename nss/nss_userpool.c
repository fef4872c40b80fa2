/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libnss_userpool.so.2: passwd and group lookups for pool users (DESIGN §7).
 *
 * Answers only from /var/lib/userpool/nss/{passwd,group} (the nss/ folder
 * of the default state_dir; it cannot read the configuration to find
 * another one, since that file may be readable by root only), files
 * in the classic /etc/passwd and /etc/group formats written by the PAM
 * module and `userpool user add` (lib/nss_format.h: the writer's limits are
 * this reader's). No network, no configuration file (it may hold a client
 * secret this process must not read), no allocation beyond the caller's
 * buffer and one line buffer per call, no state shared between threads
 * except the enumeration cursor, which a mutex guards. Loaded into every process that
 * resolves a user, so it trusts nothing: files must be root-owned regular
 * files that nobody else can write, and every line is validated.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nss_format.h"

#define EXPORT __attribute__((visibility("default")))

/* The fuzz build points this at a scratch directory (-DNSS_DIR=...). */
#ifndef NSS_DIR
#define NSS_DIR "/var/lib/userpool/nss"
#endif
/* A line of UP_NSS_LINE_MAX bytes, its '\n' and the NUL: on the heap,
 * since callers' threads may have small stacks. */
#define LINE_BUF ((size_t)UP_NSS_LINE_MAX + 2u)

enum nss_status _nss_userpool_getpwnam_r(const char *name, struct passwd *pw, char *buf,
					 size_t buflen, int *errnop);
enum nss_status _nss_userpool_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
					 int *errnop);
enum nss_status _nss_userpool_setpwent(int stayopen);
enum nss_status _nss_userpool_endpwent(void);
enum nss_status _nss_userpool_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_userpool_getgrnam_r(const char *name, struct group *gr, char *buf,
					 size_t buflen, int *errnop);
enum nss_status _nss_userpool_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
					 int *errnop);
enum nss_status _nss_userpool_setgrent(int stayopen);
enum nss_status _nss_userpool_endgrent(void);
enum nss_status _nss_userpool_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop);
enum nss_status _nss_userpool_initgroups_dyn(const char *user, gid_t group, long int *start,
					     long int *size, gid_t **groupsp, long int limit,
					     int *errnop);

/* Open a state file only if it can be trusted. */
static FILE *open_checked(const char *name)
{
	char path[256];
	struct stat st;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", NSS_DIR, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0022) ||
	    st.st_size > (off_t)UP_NSS_FILE_CAP) {
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "re");
	if (!f)
		close(fd);
	return f;
}

/* Open a state file and a line buffer for reading it: NSS_STATUS_SUCCESS,
 * or the status to return (with *errnop set). */
static enum nss_status open_lines(const char *name, FILE **f, char **line, int *errnop)
{
	*line = NULL;
	*f = open_checked(name);
	if (!*f) {
		*errnop = ENOENT;
		return NSS_STATUS_UNAVAIL;
	}
	*line = malloc(LINE_BUF);
	if (!*line) {
		fclose(*f);
		*f = NULL;
		*errnop = ENOMEM;
		return NSS_STATUS_TRYAGAIN;
	}
	return NSS_STATUS_SUCCESS;
}

static void close_lines(FILE *f, char *line)
{
	free(line);
	fclose(f);
}

/* Next line into `line` (NUL-terminated, newline stripped). Over-long
 * lines are skipped whole. Returns false at the end. */
static bool next_line(FILE *f, char *line, size_t cap)
{
	for (;;) {
		size_t len;
		if (!fgets(line, (int)cap, f))
			return false;
		len = strlen(line);
		if (len && line[len - 1] == '\n') {
			line[len - 1] = '\0';
			return true;
		}
		if (feof(f))
			return true;
		/* too long: discard the rest of it */
		int c;
		while ((c = fgetc(f)) != EOF && c != '\n')
			;
	}
}

/* Split `line` at ':' into exactly `n` fields (in place). */
static bool split(char *line, char **fields, int n)
{
	int i = 0;
	char *p = line;

	for (;;) {
		if (i == n)
			return false;
		fields[i++] = p;
		p = strchr(p, UP_NSS_FIELD_SEP);
		if (!p)
			break;
		*p++ = '\0';
	}
	return i == n;
}

static bool parse_id(const char *s, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > (unsigned long)UP_NSS_ID_MAX)
		return false;
	*ret = v;
	return true;
}

/* Copy `s` into the caller's buffer; NULL when it does not fit. */
static char *put(char **bufp, size_t *left, const char *s)
{
	size_t len = strlen(s) + 1;
	char *out = *bufp;

	if (len > *left)
		return NULL;
	memcpy(out, s, len);
	*bufp += len;
	*left -= len;
	return out;
}

struct pwline {
	char *name, *uid, *gid, *gecos, *home, *shell;
	unsigned long u, g;
};

static bool parse_pw(char *line, struct pwline *l)
{
	char *f[UP_NSS_PASSWD_FIELDS];

	if (!split(line, f, UP_NSS_PASSWD_FIELDS) || !f[0][0] ||
	    strcmp(f[1], UP_NSS_NO_PASSWORD) != 0)
		return false;
	if (!parse_id(f[2], &l->u) || !parse_id(f[3], &l->g) || f[5][0] != '/' || f[6][0] != '/')
		return false;
	l->name = f[0];
	l->gecos = f[4];
	l->home = f[5];
	l->shell = f[6];
	return true;
}

static enum nss_status fill_pw(const struct pwline *l, struct passwd *pw, char *buf, size_t buflen,
			       int *errnop)
{
	char *b = buf;
	size_t left = buflen;

	pw->pw_name = put(&b, &left, l->name);
	pw->pw_passwd = put(&b, &left, UP_NSS_NO_PASSWORD);
	pw->pw_gecos = put(&b, &left, l->gecos);
	pw->pw_dir = put(&b, &left, l->home);
	pw->pw_shell = put(&b, &left, l->shell);
	if (!pw->pw_name || !pw->pw_passwd || !pw->pw_gecos || !pw->pw_dir || !pw->pw_shell) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	pw->pw_uid = (uid_t)l->u;
	pw->pw_gid = (gid_t)l->g;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status pw_lookup(const char *name, uid_t uid, struct passwd *pw, char *buf,
				 size_t buflen, int *errnop)
{
	char *line;
	struct pwline l;
	FILE *f;
	enum nss_status st = open_lines("passwd", &f, &line, errnop);

	if (st != NSS_STATUS_SUCCESS)
		return st;
	st = NSS_STATUS_NOTFOUND;
	while (next_line(f, line, LINE_BUF)) {
		if (!parse_pw(line, &l))
			continue;
		if (name ? strcmp(l.name, name) == 0 : l.u == (unsigned long)uid) {
			st = fill_pw(&l, pw, buf, buflen, errnop);
			break;
		}
	}
	close_lines(f, line);
	if (st == NSS_STATUS_NOTFOUND)
		*errnop = ENOENT;
	return st;
}

EXPORT enum nss_status _nss_userpool_getpwnam_r(const char *name, struct passwd *pw, char *buf,
						size_t buflen, int *errnop)
{
	if (!name || !*name) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return pw_lookup(name, 0, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_userpool_getpwuid_r(uid_t uid, struct passwd *pw, char *buf,
						size_t buflen, int *errnop)
{
	return pw_lookup(NULL, uid, pw, buf, buflen, errnop);
}

/* Enumeration: the position is a byte offset, so a retry after ERANGE
 * starts again at the same line. */
static pthread_mutex_t ent_lock = PTHREAD_MUTEX_INITIALIZER;
static long pw_pos = 0;
static long gr_pos = 0;

/* Go to the saved offset. When the file was replaced since the last call
 * the offset may fall inside a line: skip to the next one rather than parse
 * the tail of "alice:x:..." as an entry of its own. */
static bool seek_line(FILE *f, long pos)
{
	int c;

	if (pos <= 0)
		return fseek(f, 0, SEEK_SET) == 0;
	if (fseek(f, pos - 1, SEEK_SET) != 0)
		return false;
	c = fgetc(f);
	while (c != EOF && c != '\n')
		c = fgetc(f);
	return true;
}

/* One line's entry: NSS_STATUS_NOTFOUND when the line is not an entry (it is
 * skipped), else what filling `ent` from it gave. */
typedef enum nss_status (*ent_fill)(char *line, void *ent, char *buf, size_t buflen, int *errnop);

/* The get*ent_r walk, under ent_lock: the next entry of `file` after *pos;
 * *pos moves past it, or stays before it when the buffer was too small
 * (the caller retries with a larger one). */
static enum nss_status next_ent(const char *file, long *pos, ent_fill fill, void *ent, char *buf,
				size_t buflen, int *errnop)
{
	char *line;
	enum nss_status st;
	FILE *f;

	pthread_mutex_lock(&ent_lock);
	st = open_lines(file, &f, &line, errnop);
	if (st == NSS_STATUS_SUCCESS && !seek_line(f, *pos)) {
		close_lines(f, line);
		*errnop = ENOENT;
		st = NSS_STATUS_NOTFOUND;
	}
	if (st != NSS_STATUS_SUCCESS) {
		pthread_mutex_unlock(&ent_lock);
		return st;
	}
	st = NSS_STATUS_NOTFOUND;
	for (;;) {
		long before = ftell(f);
		if (!next_line(f, line, LINE_BUF))
			break;
		st = fill(line, ent, buf, buflen, errnop);
		if (st == NSS_STATUS_NOTFOUND)
			continue;
		*pos = st == NSS_STATUS_SUCCESS ? ftell(f) : before;
		break;
	}
	if (st == NSS_STATUS_NOTFOUND) {
		*pos = ftell(f);
		*errnop = ENOENT;
	}
	close_lines(f, line);
	pthread_mutex_unlock(&ent_lock);
	return st;
}

EXPORT enum nss_status _nss_userpool_setpwent(int stayopen)
{
	(void)stayopen;
	pthread_mutex_lock(&ent_lock);
	pw_pos = 0;
	pthread_mutex_unlock(&ent_lock);
	return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_userpool_endpwent(void)
{
	return _nss_userpool_setpwent(0);
}

static enum nss_status pw_ent(char *line, void *ent, char *buf, size_t buflen, int *errnop)
{
	struct pwline l;

	return parse_pw(line, &l) ? fill_pw(&l, ent, buf, buflen, errnop) : NSS_STATUS_NOTFOUND;
}

EXPORT enum nss_status _nss_userpool_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
						int *errnop)
{
	return next_ent("passwd", &pw_pos, pw_ent, pw, buf, buflen, errnop);
}

struct grline {
	char *name;
	char *members;
	unsigned long g;
};

static bool parse_gr(char *line, struct grline *l)
{
	char *f[UP_NSS_GROUP_FIELDS];

	if (!split(line, f, UP_NSS_GROUP_FIELDS) || !f[0][0] ||
	    strcmp(f[1], UP_NSS_NO_PASSWORD) != 0 || !parse_id(f[2], &l->g))
		return false;
	l->name = f[0];
	l->members = f[3];
	return true;
}

/* Splits l->members in place. */
static enum nss_status fill_gr(const struct grline *l, struct group *gr, char *buf, size_t buflen,
			       int *errnop)
{
	static const char sep[] = {UP_NSS_MEMBER_SEP, '\0'};
	size_t n = 0, left, align;
	char *b = buf, **mem, *m, *save = NULL;
	char *members = l->members;

	/* Members are comma-separated; count them first. */
	if (members[0]) {
		n = 1;
		for (const char *p = members; *p; p++)
			if (*p == UP_NSS_MEMBER_SEP)
				n++;
	}
	align = (sizeof(char *) - ((uintptr_t)b % sizeof(char *))) % sizeof(char *);
	if (buflen < align + (n + 1) * sizeof(char *)) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	mem = (char **)(void *)(b + align);
	b += align + (n + 1) * sizeof(char *);
	left = buflen - align - (n + 1) * sizeof(char *);
	gr->gr_name = put(&b, &left, l->name);
	gr->gr_passwd = put(&b, &left, UP_NSS_NO_PASSWORD);
	if (!gr->gr_name || !gr->gr_passwd) {
		*errnop = ERANGE;
		return NSS_STATUS_TRYAGAIN;
	}
	n = 0;
	for (m = strtok_r(members, sep, &save); m; m = strtok_r(NULL, sep, &save)) {
		mem[n] = put(&b, &left, m);
		if (!mem[n]) {
			*errnop = ERANGE;
			return NSS_STATUS_TRYAGAIN;
		}
		n++;
	}
	mem[n] = NULL;
	gr->gr_mem = mem;
	gr->gr_gid = (gid_t)l->g;
	return NSS_STATUS_SUCCESS;
}

static enum nss_status gr_lookup(const char *name, gid_t gid, struct group *gr, char *buf,
				 size_t buflen, int *errnop)
{
	char *line;
	struct grline l;
	FILE *f;
	enum nss_status st = open_lines("group", &f, &line, errnop);

	if (st != NSS_STATUS_SUCCESS)
		return st;
	st = NSS_STATUS_NOTFOUND;
	while (next_line(f, line, LINE_BUF)) {
		if (!parse_gr(line, &l))
			continue;
		if (name ? strcmp(l.name, name) == 0 : l.g == (unsigned long)gid) {
			st = fill_gr(&l, gr, buf, buflen, errnop);
			break;
		}
	}
	close_lines(f, line);
	if (st == NSS_STATUS_NOTFOUND)
		*errnop = ENOENT;
	return st;
}

EXPORT enum nss_status _nss_userpool_getgrnam_r(const char *name, struct group *gr, char *buf,
						size_t buflen, int *errnop)
{
	if (!name || !*name) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return gr_lookup(name, 0, gr, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_userpool_getgrgid_r(gid_t gid, struct group *gr, char *buf,
						size_t buflen, int *errnop)
{
	return gr_lookup(NULL, gid, gr, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_userpool_setgrent(int stayopen)
{
	(void)stayopen;
	pthread_mutex_lock(&ent_lock);
	gr_pos = 0;
	pthread_mutex_unlock(&ent_lock);
	return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_userpool_endgrent(void)
{
	return _nss_userpool_setgrent(0);
}

static enum nss_status gr_ent(char *line, void *ent, char *buf, size_t buflen, int *errnop)
{
	struct grline l;

	return parse_gr(line, &l) ? fill_gr(&l, ent, buf, buflen, errnop) : NSS_STATUS_NOTFOUND;
}

EXPORT enum nss_status _nss_userpool_getgrent_r(struct group *gr, char *buf, size_t buflen,
						int *errnop)
{
	return next_ent("group", &gr_pos, gr_ent, gr, buf, buflen, errnop);
}

/* Supplementary groups: every pool group whose member list names `user`. */
EXPORT enum nss_status _nss_userpool_initgroups_dyn(const char *user, gid_t group, long int *start,
						    long int *size, gid_t **groupsp, long int limit,
						    int *errnop)
{
	static const char sep[] = {UP_NSS_MEMBER_SEP, '\0'};
	char *line;
	struct grline l;
	FILE *f;
	bool any = false;
	enum nss_status st = open_lines("group", &f, &line, errnop);

	if (st != NSS_STATUS_SUCCESS)
		return st;
	while (next_line(f, line, LINE_BUF)) {
		char *save = NULL, *m;
		bool member = false;
		if (!parse_gr(line, &l) || l.g == (unsigned long)group)
			continue;
		for (m = strtok_r(l.members, sep, &save); m; m = strtok_r(NULL, sep, &save))
			if (strcmp(m, user) == 0)
				member = true;
		if (!member)
			continue;
		if (*start == *size) {
			long int nsize = *size ? *size * 2 : 8;
			gid_t *ng;
			if (limit > 0 && nsize > limit)
				nsize = limit;
			if (nsize <= *size)
				break; /* at the caller's limit */
			ng = realloc(*groupsp, (size_t)nsize * sizeof(gid_t));
			if (!ng) {
				close_lines(f, line);
				*errnop = ENOMEM;
				return NSS_STATUS_TRYAGAIN;
			}
			*groupsp = ng;
			*size = nsize;
		}
		(*groupsp)[(*start)++] = (gid_t)l.g;
		any = true;
	}
	close_lines(f, line);
	if (!any) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	return NSS_STATUS_SUCCESS;
}
