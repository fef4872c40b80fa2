#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# uid_source = claim through the real libpam (issue 24): the test pool's ID
# token carries the Cognito custom attribute custom:uid_number (a string, as
# Cognito sends it) and the user signed in gets exactly that UID; a user
# without it, or with one outside uid_min..uid_max, is refused with a
# message naming the claim and gets no NSS entry. Prints TAP.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-fleet.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

cleanup() {
	pool_stop
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root "root-owned configuration and state"
need_tools pamtester oathtool curl
need_pam_wrapper
need_build
pam_env_start

PW=Passw0rd-test1
for u in fa fb fc; do
	create_user "$u" "$PW" "$(new_secret)" '["staff"]' || echo "Bail out! cannot create $u"
done
create_user fd "$PW" "$(new_secret)" '["staff","lab-fleet"]' || echo "Bail out! cannot create fd"
admin set_attributes '{"username":"fa","attributes":{"custom:uid_number":"234567"}}' >/dev/null ||
	echo "Bail out! set_attributes"
admin set_attributes '{"username":"fc","attributes":{"custom:uid_number":"1234"}}' >/dev/null
admin set_attributes '{"username":"fd","attributes":{"custom:uid_number":"234568"}}' >/dev/null
conf fleet "uid_source = claim"
service "$SVC" main fleet
uid_of() { sed -n "s/^$1:x:\([0-9]*\):.*/\1/p" "$T/state/nss/passwd" 2>/dev/null; }
gid_of() { sed -n "s/^$1:x:[0-9]*:\([0-9]*\):.*/\1/p" "$T/state/nss/passwd" 2>/dev/null; }

drive -s main -u fa -a "$PW" -a "$(code_for fa)" auth acct
expect auth PAM_SUCCESS "fa (custom:uid_number 234567) signs in"
[ "$(uid_of fa)" = 234567 ] && [ "$(gid_of fa)" = 234567 ] &&
	grep -q "^fa:x:234567:$" "$T/state/nss/group"
ok $? "fa's NSS entry has the claimed UID 234567 (and GID, private group)"

drive -s main -u fb -a "$PW" -a "$(code_for fb)" auth acct
expect auth PAM_AUTH_ERR "fb without custom:uid_number: refused"
grep -q "custom:uid_number is missing from the ID token for fb" "$LOG" && has "custom:uid_number" &&
	[ -z "$(uid_of fb)" ]
ok $? "fb: the log and the message name custom:uid_number; no NSS entry"

drive -s main -u fc -a "$PW" -a "$(code_for fc)" auth acct
expect auth PAM_AUTH_ERR "fc with custom:uid_number 1234 (outside uid_min..uid_max): refused"
grep -q "custom:uid_number is outside uid_min..uid_max for fc" "$LOG" && [ -z "$(uid_of fc)" ]
ok $? "fc: the log names the claim and the range; no NSS entry"

# gid_claim: the primary group from custom:gid_number.
admin set_attributes '{"username":"fd","attributes":{"custom:gid_number":"250000"}}' >/dev/null
# pool_groups with gid_source = hash: the token's cognito:groups "lab-fleet"
# becomes an NSS group whose GID is the documented hash of its name;
# "staff" is a group of /etc/group (Debian's 50): not made, logged.
conf fleet "uid_source = claim" "gid_claim = custom:gid_number" "gid_source = hash" \
	"pool_groups = staff, lab-fleet, other"
drive -s main -u fd -a "$PW" -a "$(code_for fd)" auth acct
expect auth PAM_SUCCESS "fd (custom:uid_number 234568, custom:gid_number 250000) signs in"
[ "$(uid_of fd)" = 234568 ] && [ "$(gid_of fd)" = 250000 ] &&
	grep -q "^fd:x:250000:$" "$T/state/nss/group"
ok $? "fd's entry: UID 234568, primary GID 250000 from gid_claim"
lab_gid=$(python3 -c 'import hashlib; d = hashlib.sha256(b"lab-fleet").digest()
print(200000 + int.from_bytes(d[:8], "big") % 100000)')
grep -qx "lab-fleet:x:$lab_gid:fd" "$T/state/nss/group" && ! grep -q "^other:" "$T/state/nss/group"
ok $? "pool group lab-fleet: NSS group with GID $lab_gid (hash of its name), member fd; no line for other"
if grep -q "^staff:" /etc/group; then
	grep -q "pool_groups: staff is already a group of /etc/group" "$LOG" &&
		! grep -q "^staff:" "$T/state/nss/group"
	ok $? "pool group staff (a group of /etc/group): not made, logged"
fi

# Switching back to sequential keeps fa's UID at its next sign-in.
conf fleet "uid_source = sequential"
drive -s main -u fa -a "$PW" -a "$(code_for fa 30)" auth acct
expect auth PAM_SUCCESS "fa signs in again under uid_source = sequential"
[ "$(uid_of fa)" = 234567 ]
ok $? "fa keeps UID 234567 after the switch (never renumbered silently)"

# uid_source = hash through the sign-in: the UID is the documented hash
# (userpool.conf(5)) of the configured issuer, a newline and the sub.
create_user fe "$PW" "$(new_secret)" '["staff"]' || echo "Bail out! cannot create fe"
fe_sub=$(admin get_user '{"username":"fe"}' | json_get sub)
conf fleet "uid_source = hash"
drive -s main -u fe -a "$PW" -a "$(code_for fe)" auth acct
expect auth PAM_SUCCESS "fe signs in under uid_source = hash"
fe_want=$("$PYTHON3" -c 'import hashlib, sys
d = hashlib.sha256((sys.argv[1] + "\n" + sys.argv[2]).encode()).digest()
print(200000 + int.from_bytes(d[:8], "big") % 100000)' "${POOL_URL}$POOL_ID" "$fe_sub")
[ -n "$fe_sub" ] && [ "$(uid_of fe)" = "$fe_want" ] && [ "$(gid_of fe)" = "$fe_want" ]
ok $? "fe's UID is the hash of the issuer and its sub ($fe_want)"

if grep -rlF -f "$T/passwords" "$T/logs" "$T/state" >/dev/null 2>&1; then
	ok 1 "no password in the logs or the state"
else
	ok 0 "no password in the logs or the state"
fi
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
