#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 16 item 3: the account phase in a handle where the module did not
# authenticate (sshd public-key auth, another auth module) asks the pool
# through the cached refresh token (REFRESH_TOKEN_AUTH), never admits from
# the cache alone. The built pam_userpool.so through the real libpam
# (pamdrive, pam_start_confdir) against the test pool over HTTPS. TAP.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-acct.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

cleanup() {
	pool_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root "root-owned configuration and state"
need_tools oathtool curl
need_build
pam_env_start
PW='Acct-Passw0rd-7'
# drive, result, expect: tests/pam/lib.sh.
refreshes() { # how many REFRESH_TOKEN_AUTH calls the pool answered so far
	admin stats '{}' | json_get "targets.InitiateAuth" | sed 's/^$/0/'
}
# rec_file, edit_rec: tests/pam/lib.sh.

conf acct "allow_groups = staff" "offline_max_age = 1d" "account_max_age = 1h"
service "$SVC" acct acct

# Every user signs in once (auth only, its own handle) and fills the cache.
users="fine disabled deleted moved young old norefresh staleref wronghost same revoked"
for u in $users; do
	create_user "$u" "$PW" "$(new_secret)" '["staff"]' || echo "Bail out! cannot create $u"
	drive -s acct -u "$u" -a "$PW" -a "$(code_for "$u")" auth
	[ "$(result auth)" = PAM_SUCCESS ] || echo "Bail out! $u cannot sign in: $(cat "$OUT" "$LOG" | head -n 20)"
done
"$PYTHON3" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r.get("refresh_token") else 1)' "$(rec_file fine)"
ok $? "the record keeps the refresh token (revoke_on_close = no) for the account phase"

# (a) fine: a new handle, account only: the pool is asked (a refresh).
before=$(refreshes)
drive -s acct -u fine acct
expect acct PAM_SUCCESS "(a) account only, user fine: PAM_SUCCESS"
[ "$(refreshes)" = $((before + 1)) ] && grep -q "checked with the user pool (refresh)" "$LOG"
ok $? "(a) the account phase refreshed with the pool (InitiateAuth $before -> $(refreshes))"

# (b) disabled in the pool: denied, record purged.
admin disable_user '{"username":"disabled"}' >/dev/null
drive -s acct -u disabled acct
expect acct PAM_ACCT_EXPIRED "(b) user disabled in the pool: account PAM_ACCT_EXPIRED"
[ ! -e "$(rec_file disabled)" ] && grep -q "cached entry purged" "$LOG"
ok $? "(b) the disabled user's record is purged"

# (c) deleted in the pool: denied, record purged.
admin delete_user '{"username":"deleted"}' >/dev/null
drive -s acct -u deleted acct
expect acct PAM_ACCT_EXPIRED "(c) user deleted in the pool: account PAM_ACCT_EXPIRED"
[ ! -e "$(rec_file deleted)" ]
ok $? "(c) the deleted user's record is purged"

# (c') refresh token revoked (GlobalSignOut elsewhere): a definitive no too.
tok=$(admin issue_tokens "{\"username\":\"revoked\",\"client_id\":\"$CLIENT_ID\"}" | json_get AccessToken)
curl -sS --max-time 20 --cacert "$T/ca/ca.pem" -X POST -H 'Content-Type: application/x-amz-json-1.1' \
	-H 'X-Amz-Target: AWSCognitoIdentityProviderService.GlobalSignOut' \
	-d "{\"AccessToken\":\"$tok\"}" "$POOL_URL" >/dev/null
drive -s acct -u revoked acct
expect acct PAM_ACCT_EXPIRED "(c') refresh token revoked (GlobalSignOut): account PAM_ACCT_EXPIRED"

# (d) removed from the allow_groups group: the fresh groups decide.
admin set_groups '{"username":"moved","groups":["other"]}' >/dev/null
drive -s acct -u moved acct
expect acct PAM_PERM_DENIED "(d) user moved out of staff in the pool: account PAM_PERM_DENIED (UP_EGROUP)"
grep -q "moved is in none of allow_groups" "$LOG" &&
	"$PYTHON3" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["groups"]==["other"] else 1)' "$(rec_file moved)"
ok $? "(d) logged 'none of allow_groups'; the record holds the fresh groups"

# (f) no refresh token: account_max_age bounds the record's age.
edit_rec norefresh 'r.pop("refresh_token", None)'
edit_rec staleref 'r.pop("refresh_token", None); r["last_online"] = now - 7200'
before=$(refreshes)
drive -s acct -u norefresh acct
expect acct PAM_SUCCESS "(f) no refresh token, record younger than account_max_age: PAM_SUCCESS"
drive -s acct -u staleref acct
expect acct PAM_PERM_DENIED "(f) no refresh token, record 2 h old (account_max_age = 1h): PAM_PERM_DENIED"
grep -q "account_max_age" "$LOG" && [ "$(refreshes)" = "$before" ]
ok $? "(f) logged account_max_age; no pool call without a refresh token"

# (h) account right after auth in the same handle: no second pool call.
code=$(code_for same 30)
before=$(refreshes)
drive -s acct -u same -a "$PW" -a "$code" auth acct
expect acct PAM_SUCCESS "(h) auth + account in one handle: PAM_SUCCESS"
[ "$(refreshes)" = $((before + 1)) ] && ! grep -q "checked with the user pool" "$LOG"
ok $? "(h) one InitiateAuth (the sign-in), no refresh in the account phase"

# (g) a wrong-host certificate at the pool's address: an attack, deny.
pool_port=$(printf '%s' "$POOL_URL" | sed -n 's|^https://[^/]*:\([0-9]*\)/.*|\1|p')
pool_stop
POOL_ARGS=--wrong-host-cert pool_start "$pool_port" || echo "Bail out! wrong-host pool did not start"
drive -s acct -u wronghost acct
expect acct PAM_PERM_DENIED "(g) wrong-host certificate: account PAM_PERM_DENIED, never 'unreachable'"
grep -q '^4 .*TLS verification of the user pool failed' "$LOG" && [ -e "$(rec_file wronghost)" ]
ok $? "(g) logged at LOG_WARNING; the record is kept (no definitive answer)"
pool_stop

# (e) pool stopped: offline_max_age applied to last_online.
edit_rec old 'r["last_online"] = now - 2 * 86400'
drive -s acct -u young acct
expect acct PAM_SUCCESS "(e) pool stopped, last online check just now: PAM_SUCCESS (offline_max_age)"
drive -s acct -u old acct
expect acct PAM_PERM_DENIED "(e) pool stopped, last online check 2 d ago (offline_max_age = 1d): PAM_PERM_DENIED"
grep -q "offline_max_age" "$LOG"
ok $? "(e) logged offline_max_age"
conf nooffline "allow_groups = staff" "offline = no"
service "$SVC" nooffline nooffline
drive -s nooffline -u young acct
expect acct PAM_PERM_DENIED "(e) pool stopped, offline = no: PAM_PERM_DENIED"

# No secret in any log or transcript.
leak=0
while read -r s; do
	[ -n "$s" ] || continue
	if grep -rqF -- "$s" "$T/logs" "$T"/out.*; then leak=1; fi
done < <(cat "$T/passwords" "$T/totp_secrets")
ok $leak "no password or TOTP secret in any log or transcript"

echo "1..$tap_n"
[ "$tap_failed" = 0 ]
