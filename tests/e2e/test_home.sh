#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end (issue 9): a pool user who is in no local file, provisioned with
# `userpool user add`, signs in over ssh and lands in a home directory that
# pam_mkhomedir creates in the session phase, owned by the UID that
# libnss_userpool.so.2 hands out. /home is an empty tmpfs (see lib.sh).
set -u
. "$(dirname "$0")/lib.sh"
e2e_prereqs
e2e_enter_ns "$@"

mkhomedir=
for d in /lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security /lib/security \
	/usr/lib/security /lib64/security; do
	[ -e "$d/pam_mkhomedir.so" ] && mkhomedir=$d/pam_mkhomedir.so && break
done
[ -n "$mkhomedir" ] || e2e_skip "pam_mkhomedir.so not installed (libpam-modules)"

e2e_setup_fs
e2e_start_pool
e2e_pam_sshd "session  required  pam_mkhomedir.so skel=/etc/skel umask=0077"
e2e_start_sshd

echo "1..9"

json() { # FILE FIELD
	"$E2E_PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2" 2>/dev/null
}
out_line() { # FILE N: line N of the remote command's output (blank lines dropped)
	json "$1" output | tr -d '\r' | grep -v '^[[:space:]]*$' | grep -v "^Creating directory" | sed -n "$2p"
}

user=dave
pw='Dave-pass-333'
check "$user is in no local file" bash -c "! grep -q '^$user:' /etc/passwd /etc/group"
e2e_pool_user "$user" "$pw" totp
sec=$secret
ent=$(getent passwd "$user")
uid=$(echo "$ent" | cut -d: -f3)
gid=$(echo "$ent" | cut -d: -f4)
home=$(echo "$ent" | cut -d: -f6)
check "'userpool user add' provisions $user: getent passwd gives home /home/$user" \
	[ "$home" = "/home/$user" ]
check "the pool range UID ($uid) and the user's group resolve" \
	bash -c "[ '$uid' -ge 200000 ] && [ '$uid' -le 299999 ] && getent group '$gid' >/dev/null"
check "no home directory before the first sign-in" [ ! -e "/home/$user" ]

e2e_ssh "$user" "$pw" "$tmp/h.log" --secret "$sec" \
	--command 'pwd; id -u; stat -c %u .; echo "$HOME"' > "$tmp/h.json"
rc=$?
if [ $rc = 0 ] && [ "$(out_line "$tmp/h.json" 1)" = "/home/$user" ]; then
	ok "first ssh sign-in lands in the new home: pwd prints /home/$user"
else
	notok "first ssh sign-in lands in the new home: pwd prints /home/$user (rc $rc)" \
		"$tmp/h.json" "$tmp/h.log" "$tmp/sshd.log"
fi
check "the session runs as UID $uid and the home is owned by it" \
	[ "$(out_line "$tmp/h.json" 2):$(out_line "$tmp/h.json" 3)" = "${uid:-none}:${uid:-none}" ]
check "HOME is /home/$user in the session" [ "$(out_line "$tmp/h.json" 4)" = "/home/$user" ]
check "the home directory is a directory owned by $uid:$gid, mode 0700" \
	[ "$(stat -c '%F %u:%g %a' "/home/$user" 2>/dev/null)" = "directory $uid:$gid 700" ]
skel_ok=yes
for f in /etc/skel/.[!.]* /etc/skel/*; do
	[ -e "$f" ] || continue
	[ -e "/home/$user/$(basename "$f")" ] || skel_ok=no
done
check "the files of /etc/skel were copied in" [ "$skel_ok" = yes ]

exit 0
