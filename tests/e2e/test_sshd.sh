#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end (issue 6): a real OpenSSH server on 127.0.0.1 whose PAM stack is
# pam_userpool.so (SRP, TLS to the test pool with its own CA), pool users
# resolved by libnss_userpool.so.2 after `userpool user add`. Driven by the
# real ssh client in a pty (ssh_login.py). Runs in private namespaces: see
# lib.sh.
set -u
. "$(dirname "$0")/lib.sh"
e2e_prereqs
command -v zbarimg >/dev/null || e2e_skip "no zbarimg (install zbar-tools)"
e2e_enter_ns "$@"

e2e_setup_fs
e2e_start_pool
e2e_pam_sshd ""
e2e_start_sshd

echo "1..17"

json() { # FILE FIELD
	"$E2E_PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2" 2>/dev/null
}
out_line() { # FILE N: line N of the remote command's output (blank lines dropped)
	json "$1" output | tr -d '\r' | grep -v '^[[:space:]]*$' | sed -n "$2p"
}
# Home directories exist here (test_home.sh covers pam_mkhomedir).
mkhome() {
	local pw
	pw=$(getent passwd "$1") || return 1
	install -d -m 0700 -o "$(echo "$pw" | cut -d: -f3)" -g "$(echo "$pw" | cut -d: -f4)" \
		"$(echo "$pw" | cut -d: -f6)"
}

pw_a='Alice-pass-1'
pw_b='Bob-pass-22'
e2e_pool_user alice "$pw_a" totp && secret_a=$secret && mkhome alice
check "alice exists in the pool with TOTP and is provisioned" [ -n "${secret_a:-}" ]
check "getent resolves the provisioned user through libnss_userpool" \
	bash -c 'getent passwd alice | grep -q "^alice:x:2[0-9]*:"'

# (a) password + TOTP: signed in, the command runs as the pool user.
e2e_ssh alice "$pw_a" "$tmp/a.log" --secret "$secret_a" --command 'id -un; id -u' > "$tmp/a.json"
rc=$?
if [ $rc = 0 ] && [ "$(out_line "$tmp/a.json" 1)" = alice ]; then
	ok "(a) password + TOTP: ssh signs in and 'id -un' prints alice"
else
	notok "(a) password + TOTP: ssh signs in and 'id -un' prints alice (rc $rc)" \
		"$tmp/a.json" "$tmp/a.log" "$tmp/sshd.log"
fi
uid_a=$(getent passwd alice | cut -d: -f3)
out_uid=$(out_line "$tmp/a.json" 2)
check "(a) the session runs with the UID the NSS module hands out ($uid_a)" \
	[ "$out_uid" = "${uid_a:-none}" ]
check "(a) sshd logged the accepted keyboard-interactive/pam sign-in" \
	grep -q "Accepted keyboard-interactive/pam for alice from 127.0.0.1" "$tmp/sshd.log"

# (b) wrong code: refused.
good=$(e2e_totp "$secret_a")
bad=$(printf '%06d' $(((10#$good + 1) % 1000000)))
e2e_ssh alice "$pw_a" "$tmp/b.log" --code "$bad" > "$tmp/b.json"
rc=$?
if [ $rc = 1 ]; then
	ok "(b) wrong verification code: sign-in refused"
else
	notok "(b) wrong verification code: sign-in refused (rc $rc)" "$tmp/b.json" "$tmp/b.log"
fi
check "(b) sshd logged the failure" grep -q "Failed keyboard-interactive/pam for alice" "$tmp/sshd.log"
check "(b) the rejected code is asked for again with the error above the prompt (3 tries)" \
	grep -q '"code_prompts": 3' "$tmp/b.json"
check "(b) the person is told 'Verification code rejected: try again'" \
	grep -q "Verification code rejected: try again" "$tmp/b.log"

# (d) wrong password: refused before any code is asked for.
e2e_ssh alice "wrong-$pw_a" "$tmp/d.log" --secret "$secret_a" > "$tmp/d.json"
rc=$?
if [ $rc = 1 ] && ! grep -q "Verification code" "$tmp/d.log"; then
	ok "(d) wrong password: refused without a code prompt"
else
	notok "(d) wrong password: refused without a code prompt (rc $rc)" "$tmp/d.json" "$tmp/d.log"
fi

# An unknown user (not in the pool, not provisioned) is refused.
e2e_ssh mallory "whatever-1" "$tmp/u.log" --code 000000 > "$tmp/u.json"
rc=$?
check "unknown user: refused" [ $rc = 1 ]

# Issue 18 item 6: a pool user with no NSS entry yet. sshd has no passwd
# entry, so it sends its dummy password through PAM; the module answers
# user-unknown before contacting the pool, so that dummy never reaches it.
inits() { e2e_admin stats '{}' | "$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)["targets"].get("InitiateAuth", 0))'; }
e2e_admin create_user '{"username":"carol","password":"Carol-pass-3"}' > /dev/null
before=$(inits)
e2e_ssh carol "Carol-pass-3" "$tmp/e.log" --code 000000 > "$tmp/e.json"
rc=$?
after=$(inits)
check "(e) an unprovisioned pool user: refused by sshd (Invalid user carol)" \
	bash -c "[ $rc = 1 ] && grep -q 'Invalid user carol' '$tmp/sshd.log'"
check "(e) sshd's dummy password for the unprovisioned user never reached the pool" \
	bash -c "[ -n '$before' ] && [ '$before' = '$after' ]"

# (c) first sign-in without an authenticator while the pool requires MFA:
# MFA_SETUP shows a QR code in the client's terminal; its secret gives the
# code that completes this sign-in.
e2e_admin set_pool_mfa '{"mfa":"ON"}' > /dev/null
e2e_pool_user bob "$pw_b" nototp && mkhome bob
e2e_ssh bob "$pw_b" "$tmp/c.log" --enroll > "$tmp/c.json"
rc=$?
if [ $rc = 0 ] && [ "$(out_line "$tmp/c.json" 1)" = bob ]; then
	ok "(c) MFA_SETUP over ssh: QR decoded, code accepted, 'id -un' prints bob"
else
	notok "(c) MFA_SETUP over ssh: QR decoded, code accepted, 'id -un' prints bob (rc $rc)" \
		"$tmp/c.json" "$tmp/c.log" "$tmp/sshd.log"
fi
uri=$(json "$tmp/c.json" uri)
check "(c) the QR code holds an otpauth://totp URI for bob" \
	bash -c "case '$uri' in otpauth://totp/*bob*secret=*) exit 0;; esac; exit 1"
sec_b=$(e2e_admin_field get_totp_secret '{"username":"bob"}' secret)
check "(c) the pool now holds the enrolled secret, the one the QR code showed" \
	bash -c "[ -n '$sec_b' ] && case '$uri' in *secret=$sec_b*) exit 0;; esac; exit 1"

# A second sign-in of bob now asks for a code from the enrolled secret
# (the next TOTP step's: a code is accepted once per step).
next=$(oathtool --totp -b "${sec_b:-AAAA}" -N "@$(( $(date +%s) + 30 ))")
e2e_ssh bob "$pw_b" "$tmp/c2.log" --code "$next" > "$tmp/c2.json"
rc=$?
if [ $rc = 0 ] && ! grep -q "otpauth://" "$tmp/c2.log"; then
	ok "(c) the enrolled authenticator signs bob in again, with no QR code"
else
	notok "(c) the enrolled authenticator signs bob in again, with no QR code (rc $rc)" \
		"$tmp/c2.json" "$tmp/c2.log"
fi

exit 0
