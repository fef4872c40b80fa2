/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the NSS module's file reader (nss/nss_userpool.c),
 * built with NSS_DIR pointing at a scratch directory: the input (split at
 * the first NUL) becomes its passwd and group files, and every entry point
 * reads them, with a small and a large buffer. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum nss_status _nss_userpool_getpwnam_r(const char *, struct passwd *, char *, size_t, int *);
enum nss_status _nss_userpool_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
enum nss_status _nss_userpool_setpwent(int);
enum nss_status _nss_userpool_endpwent(void);
enum nss_status _nss_userpool_getpwent_r(struct passwd *, char *, size_t, int *);
enum nss_status _nss_userpool_getgrnam_r(const char *, struct group *, char *, size_t, int *);
enum nss_status _nss_userpool_getgrgid_r(gid_t, struct group *, char *, size_t, int *);
enum nss_status _nss_userpool_setgrent(int);
enum nss_status _nss_userpool_endgrent(void);
enum nss_status _nss_userpool_getgrent_r(struct group *, char *, size_t, int *);
enum nss_status _nss_userpool_initgroups_dyn(const char *, gid_t, long int *, long int *,
					     gid_t **, long int, int *);

static void put(const char *name, const uint8_t *data, size_t len)
{
	char path[256], tmp[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", NSS_DIR, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", NSS_DIR, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		abort();
}

static void check_pw(const struct passwd *pw)
{
	if (!pw->pw_name || !pw->pw_dir || !pw->pw_shell || !pw->pw_gecos || !pw->pw_passwd)
		abort();
}

static void check_gr(const struct group *gr)
{
	if (!gr->gr_name || !gr->gr_passwd || !gr->gr_mem)
		abort();
	for (char **m = gr->gr_mem; *m; m++)
		(void)strlen(*m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t sizes[2] = {64, 16384};
	const uint8_t *z = memchr(data, '\0', size);
	size_t pwlen = z ? (size_t)(z - data) : size;
	struct passwd pw;
	struct group gr;
	int err;

	if (size > 65536)
		return 0;
	mkdir(NSS_DIR, 0755);
	put("passwd", data, pwlen);
	put("group", z ? z + 1 : data, z ? size - pwlen - 1 : size);
	for (int k = 0; k < 2; k++) {
		char *buf = malloc(sizes[k]);
		long start = 0, cap = 4;
		gid_t *groups = malloc((size_t)cap * sizeof(gid_t));

		if (!buf || !groups)
			abort();
		if (_nss_userpool_getpwnam_r("alice", &pw, buf, sizes[k], &err) ==
		    NSS_STATUS_SUCCESS)
			check_pw(&pw);
		if (_nss_userpool_getpwuid_r(200000, &pw, buf, sizes[k], &err) ==
		    NSS_STATUS_SUCCESS)
			check_pw(&pw);
		_nss_userpool_setpwent(0);
		for (int i = 0; i < 64; i++) {
			enum nss_status st = _nss_userpool_getpwent_r(&pw, buf, sizes[k], &err);
			if (st == NSS_STATUS_SUCCESS)
				check_pw(&pw);
			else if (st != NSS_STATUS_TRYAGAIN)
				break;
			else
				break; /* ERANGE: a caller would grow the buffer */
		}
		_nss_userpool_endpwent();
		if (_nss_userpool_getgrnam_r("alice", &gr, buf, sizes[k], &err) ==
		    NSS_STATUS_SUCCESS)
			check_gr(&gr);
		if (_nss_userpool_getgrgid_r(200000, &gr, buf, sizes[k], &err) ==
		    NSS_STATUS_SUCCESS)
			check_gr(&gr);
		_nss_userpool_setgrent(0);
		for (int i = 0; i < 64; i++) {
			if (_nss_userpool_getgrent_r(&gr, buf, sizes[k], &err) != NSS_STATUS_SUCCESS)
				break;
			check_gr(&gr);
		}
		_nss_userpool_endgrent();
		_nss_userpool_initgroups_dyn("alice", 100, &start, &cap, &groups, 0, &err);
		if (start < 0 || start > cap)
			abort();
		free(groups);
		free(buf);
	}
	return 0;
}
