/* SPDX-License-Identifier: Apache-2.0 */
#ifndef UP_LIB_NSS_FORMAT_H
#define UP_LIB_NSS_FORMAT_H

/*
 * The format of state_dir/nss/passwd and nss/group (DESIGN §7), shared by
 * their writer (lib/nss_store.c) and their reader (nss/nss_userpool.c, which
 * links nothing else of the library), so the two cannot disagree on what a
 * valid file is: a writer that produced a line the reader skips would make
 * an entry or a group member silently vanish.
 *
 *   passwd: name:x:uid:gid:gecos:home:shell   (UP_NSS_PASSWD_FIELDS fields)
 *   group:  name:x:gid:member,member,...      (UP_NSS_GROUP_FIELDS fields)
 *
 * One entry per line, '\n'-terminated. Names are at most UP_NSS_NAME_MAX
 * bytes of [A-Za-z0-9_.@-] (lib/nss_store.c up_nss_name_valid), IDs are
 * decimal 1..UP_NSS_ID_MAX.
 */

/* Either file, whole: the reader refuses a larger one, the writer refuses
 * a change that would make one. */
#define UP_NSS_FILE_CAP (4u * 1024u * 1024u)
/* One line, without its '\n': the reader skips a longer one, the writer
 * refuses to write one. A group of about 1000 members of 64-byte names. */
#define UP_NSS_LINE_MAX (64u * 1024u)
#define UP_NSS_NAME_MAX 64u
#define UP_NSS_ID_MAX 0x7ffffffeL

#define UP_NSS_PASSWD_FIELDS 7
#define UP_NSS_GROUP_FIELDS 4
#define UP_NSS_FIELD_SEP ':'
#define UP_NSS_MEMBER_SEP ','
/* The password field of every line. */
#define UP_NSS_NO_PASSWORD "x"

#endif
