#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end (issue 6): the real setuid /usr/bin/sudo, called by a pool user
# (provisioned with `userpool user add`, resolved by libnss_userpool.so.2)
# with a real non-root UID, authenticates through its PAM service "sudo",
# whose stack is pam_userpool.so with offline = no (step-up: always fresh MFA).
#
# How the caller gets a real UID: root starts `setpriv --reuid --regid
# --init-groups sudo ...` (sudo_login.py), so the kernel runs sudo setuid
# root for a non-root caller exactly as at a terminal. This replaces the
# uid_wrapper recipe of NOTES.md: uid_wrapper only fakes the UID inside
# the preloaded process, while this runs the unmodified sudo binary with
# its real privilege transition (and no LD_PRELOAD in it at all).
# /etc/sudoers and /etc/pam.d are namespace copies (lib.sh); sudo's own
# timestamp is off (timestamp_timeout=0 and -k).
set -u
. "$(dirname "$0")/lib.sh"
e2e_prereqs
[ -u /usr/bin/sudo ] || e2e_skip "no setuid /usr/bin/sudo (install sudo)"
command -v setpriv >/dev/null || e2e_skip "no setpriv (util-linux)"
e2e_enter_ns "$@"

e2e_setup_fs
e2e_start_pool

user=carol
pw='Carol-pass-4444'

# sudoers: a test copy over /etc/sudoers in this namespace only.
cat > "$tmp/sudoers" <<EOF
Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults timestamp_timeout=0
Defaults passwd_tries=1
Defaults !lecture, !mail_badpass, !mail_no_user, !syslog
Defaults logfile=$tmp/sudo.log, loglinelen=0
root ALL=(ALL:ALL) ALL
$user ALL=(ALL:ALL) ALL
EOF
chown root:root "$tmp/sudoers"
chmod 0440 "$tmp/sudoers"
mount --bind "$tmp/sudoers" /etc/sudoers

sudo_stack() { # OFFLINE: the "sudo" service of this namespace
	cat > /etc/pam.d/sudo <<-EOF
	# userpool end-to-end test stack (namespace copy of /etc/pam.d)
	auth     required  $e2e_pammod $e2e_pamargs offline=$1 offline_mfa=skip
	account  required  $e2e_pammod $e2e_pamargs
	password required  pam_deny.so
	session  required  pam_permit.so
	EOF
}
sudo_stack no

run_sudo() { # LOG [sudo_login.py options...] → JSON in LOG.json, status in $rc
	local log=$1
	shift
	"$E2E_PY" "$e2e_s/tests/e2e/sudo_login.py" --user "$user" --log "$log" "$@" > "$log.json"
	rc=$?
}
out_line() { # JSON-FILE N: line N of the command's output (blank lines dropped)
	"$E2E_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["output"])' "$1" \
		2>/dev/null | tr -d '\r' | grep -v '^[[:space:]]*$' | sed -n "$2p"
}

echo "1..13"

e2e_pool_user "$user" "$pw" totp
sec=$secret
uid=$(getent passwd "$user" | cut -d: -f3)
check "$user is a pool user with TOTP, provisioned in NSS (UID ${uid:-none})" \
	[ -n "$sec" -a -n "$uid" ]

# 1. step-up with password + code: the command runs as root.
run_sudo "$tmp/s1" --password "$pw" --secret "$sec" --command 'id -un; id -u'
if [ $rc = 0 ] && [ "$(out_line "$tmp/s1.json" 1)" = root ]; then
	ok "sudo with password + TOTP code runs the command as root"
else
	notok "sudo with password + TOTP code runs the command as root (rc $rc)" \
		"$tmp/s1.json" "$tmp/s1" "$tmp/sudo.log"
fi
check "sudo saw $user as the caller (its log)" \
	grep -q "$user : TTY=[^;]* ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c 'id -un; id -u'" "$tmp/sudo.log"
check "the sign-in left a cache entry for $user" \
	bash -c "'$e2e_userpool' --config '$conf' cache list 2>&1 | grep -qw '$user'"

# 2. wrong code: refused, with the module's message on the terminal.
good=$(e2e_totp "$sec")
bad=$(printf '%06d' $(((10#$good + 1) % 1000000)))
run_sudo "$tmp/s2" --password "$pw" --code "$bad" --command 'id -un'
if [ $rc = 1 ] && ! grep -q '^root' "$tmp/s2"; then
	ok "sudo with a wrong code is refused"
else
	notok "sudo with a wrong code is refused (rc $rc)" "$tmp/s2.json" "$tmp/s2"
fi
check "the user is told the code was rejected" grep -q "Verification code rejected" "$tmp/s2"
check "the rejected code is asked for again, 3 tries in one sudo sign-in" \
	grep -q '"code_prompts": 3' "$tmp/s2.json"

# 3. wrong password: refused, no code asked.
run_sudo "$tmp/s3" --password "x$pw" --no-code --command 'id -un'
check "sudo with a wrong password is refused without a code prompt (rc $rc)" [ $rc = 1 ]

# 4. With offline = yes the same sudo signs in online (next TOTP step: a
# code is good once per step) and keeps an offline verifier ...
sudo_stack yes
next=$(oathtool --totp -b "$sec" -N "@$(( $(date +%s) + 30 ))")
run_sudo "$tmp/s4" --password "$pw" --code "$next" --command 'id -un'
if [ $rc = 0 ] && [ "$(out_line "$tmp/s4.json" 1)" = root ]; then
	ok "offline = yes stack: sudo with password + code signs in online"
else
	notok "offline = yes stack: sudo with password + code signs in online (rc $rc)" \
		"$tmp/s4.json" "$tmp/s4"
fi

# (the offline verifier the helper writes after sudo's sign-in returned)
check "the offline verifier is written after the sign-in" e2e_settle

# 5. ... yet offline = no refuses while the pool is unreachable (503).
sudo_stack no
e2e_admin fault '{"action":"status","code":503,"match":"InitiateAuth"}' > /dev/null
run_sudo "$tmp/s5" --password "$pw" --no-code --command 'id -un'
check "offline = no: pool unreachable (503), sudo refused despite the cache (rc $rc)" [ $rc = 1 ]
check "the user is told the pool is unreachable" \
	grep -q "unreachable and offline sign-in is not possible" "$tmp/s5"

# Control for 5: the same outage with offline = yes (and offline_mfa = skip,
# the stack's explicit choice of the password alone) signs in from the cache
# with the password only, so it is offline = no that refused above.
sudo_stack yes
run_sudo "$tmp/s6" --password "$pw" --no-code --command 'id -un'
if [ $rc = 0 ] && [ "$(out_line "$tmp/s6.json" 2)" = root ] &&
	grep -q "Signed in offline" "$tmp/s6"; then
	ok "control: offline = yes signs in from the cache during the outage, password only"
else
	notok "control: offline = yes signs in from the cache during the outage, password only (rc $rc)" \
		"$tmp/s6.json" "$tmp/s6"
fi

exit 0
