#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 16 item 5c: offline sign-in keeps the second factor. The TOTP
# secret the module sees at MFA_SETUP is kept in the user's record wrapped
# under a key derived from the password (the verifier's one scrypt run,
# AES-256-GCM); with the pool unreachable, a user whose last online sign-in
# used TOTP must give the password AND a code checked locally (RFC 6238,
# +-1 step, no reuse). The built pam_userpool.so through the real libpam
# (pamdrive, pam_start_confdir) against the test pool over HTTPS. TAP.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-otp.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

cleanup() {
	pool_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root "root-owned configuration and state"
need_tools oathtool curl zbarimg
need_build
pam_env_start
PW='Otp-Passw0rd-5c'
PW2='Otp-NewPassw0rd-6d'
printf '%s\n' "$PW2" >>"$T/passwords"

# drive, result, expect, has, hasnt, rec_file, rec_get, edit_rec: tests/pam/lib.sh.
# The code of USER's secret at now+OFFSET seconds, computed once (logged
# in $T/codes for the leak check).
code_now() { "$T/code.sh" "$1" "${2:-0}" "$T/codes"; }

conf main "max_auth_age = 0"
service "$SVC" main main
conf skip "max_auth_age = 0" "offline_mfa = skip"
service "$SVC" skip skip

# enrol USER: MFA_SETUP inside the login conversation (the QR code decoded,
# the code computed from it); the secret is then known to the test too.
enrol() {
	create_user "$1" "$PW" "" '["staff"]' || echo "Bail out! cannot create $1"
	drive -s main -u "$1" -a "$PW" -a "!$PYTHON3 $top_srcdir/tests/pam/enroll_code.py %i $T/$1.uri" auth acct
	expect auth PAM_SUCCESS "$1 enrols an authenticator at sign-in (MFA_SETUP) and signs in"
	sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/$1.uri" >"$T/secrets/$1"
	cat "$T/secrets/$1" >>"$T/totp_secrets"
}

# --- online: enrolments and a password change ---------------------------
for u in tina tom tara chad ezra rex ola; do
	enrol "$u"
done
[ -s "$T/secrets/tina" ] && [ "$(rec_get tina mfa_method)" = totp ] &&
	grep -q '^"\?gcm1\$' <<<"$(rec_get tina mfa_secret)" &&
	grep -q '^scrypt2\$' <<<"$(rec_get tina verifier)" &&
	! grep -qF "$(cat "$T/secrets/tina")" "$(rec_file tina)"
ok $? "tina's record holds the TOTP secret wrapped (gcm1\$…) next to a scrypt2\$ verifier, never in clear"
"$top_builddir/tools/userpool" -c "$T/conf/main.conf" cache show tina >"$T/show.out" 2>&1
grep -q 'TOTP secret held (wrapped)' "$T/show.out"
ok $? "userpool cache show tina: 'TOTP secret held (wrapped)'"

# nick has an authenticator already (set up elsewhere): the module never
# sees his secret, so none is held locally.
create_user nick "$PW" "$(new_secret)" '["staff"]' || echo "Bail out! cannot create nick"
cat "$T/secrets/nick" >>"$T/totp_secrets"
drive -s main -u nick -a "$PW" -a "$(code_for nick)" auth
expect auth PAM_SUCCESS "nick (authenticator set up elsewhere) signs in online"
[ -z "$(rec_get nick mfa_secret)" ] && [ "$(rec_get nick mfa)" = True ]
ok $? "nick's record: a second factor was used, no TOTP secret held"

# chad changes his password online: the secret is re-wrapped under the new one.
before=$(rec_get chad mfa_secret)
drive -s main -u chad -a "$PW" -a "$(code_for chad 30)" -a "$PW2" -a "$PW2" chauthtok
expect chauthtok PAM_SUCCESS "chad changes his password (chauthtok through ChangePassword)"
after=$(rec_get chad mfa_secret)
[ -n "$after" ] && [ "$after" != "$before" ]
ok $? "chauthtok: chad's TOTP secret is re-wrapped (the wrapped text changed, still held)"

# tara's wrapped secret is tampered with (one ciphertext character flipped).
edit_rec tara '
p = r["mfa_secret"].split("$")
c = list(p[2]); i = len(c) // 2
c[i] = "B" if c[i] == "A" else "A"
p[2] = "".join(c); r["mfa_secret"] = "$".join(p)'

# --- a TLS failure is never "unreachable", secret or not -----------------
pool_port=$(printf '%s' "$POOL_URL" | sed -n 's|^https://[^/]*:\([0-9]*\)/.*|\1|p')
pool_stop
POOL_ARGS=--wrong-host-cert pool_start "$pool_port" || echo "Bail out! wrong-host pool did not start"
drive -s main -u tom -a "$PW" -a "$(code_now tom 30)" auth
expect auth PAM_AUTH_ERR "wrong-host certificate: tom (secret held) gets PAM_AUTH_ERR, no offline fallback"
hasnt "Signed in offline" && hasnt "PROMPT_ECHO_OFF: Verification code" &&
	grep -q '^4 .*TLS verification of .* failed' "$LOG"
ok $? "wrong-host certificate: LOG_WARNING, no code prompt, no 'Signed in offline'"
pool_stop

# --- the pool is unreachable ----------------------------------------------
# (a) the attack of issue 16 item 5: the password alone.
drive -s main -u tina -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "pool stopped: tina's password alone (no answer to the code prompt) is refused"
has "PROMPT_ECHO_OFF: Verification code: " && hasnt "Signed in offline"
ok $? "pool stopped: the code is asked for locally after the password, no 'Signed in offline'"
drive -s skip -u tom -a "$PW" -a "" auth
expect auth PAM_AUTH_ERR "pool stopped, offline_mfa = skip: tom's password with an empty code is refused (no downgrade)"
# (b) password + the right code, checked locally.
c=$(code_now tina 30)
drive -s main -u tina -a "$PW" -a "$c" auth acct
expect auth PAM_SUCCESS "pool stopped: tina's password + the right code: offline PAM_SUCCESS"
has "INFO: Signed in offline" && grep -q 'password and verification code checked locally' "$LOG"
ok $? "offline: 'Signed in offline', the log says the code was checked locally"
step=$(rec_get tina mfa_step)
[ -n "$step" ] && [ "$step" -ge $(($(date +%s) / 30 - 1)) ]
ok $? "the accepted time step ($step) is stored in tina's record"
# (c) the same code again: refused (no reuse), counted.
fails=$(rec_get tina failures)
drive -s main -u tina -a "$PW" -a "$c" auth
expect auth PAM_AUTH_ERR "offline: the same code again is refused (reuse of the accepted step)"
has "Verification code rejected" && grep -q 'verification code rejected' "$LOG"
ok $? "offline reuse: 'Verification code rejected', logged"
[ "$(rec_get tina failures)" = $((fails + 1)) ]
ok $? "offline reuse: counted as an offline failure ($fails -> $(rec_get tina failures))"
# (d) a wrong code: refused and counted like a wrong password.
fails=$(rec_get tom failures)
drive -s skip -u tom -a "$PW" -a "$(printf '%06d' $((($(code_now tom 30) + 1) % 1000000)))" auth
expect auth PAM_AUTH_ERR "offline: tom's password + a wrong code: PAM_AUTH_ERR (offline_mfa = skip too)"
[ "$(rec_get tom failures)" = $((fails + 1)) ] && [ "$(rec_get tom offline_failures.0.count)" = $((fails + 1)) ] &&
	grep -q 'offline sign-in for tom failed: verification code rejected' "$LOG"
ok $? "offline wrong code: counted per requester like a wrong password ($fails -> $(rec_get tom failures)), logged"
conf lock "max_auth_age = 0" "offline_max_failures = 2"
service "$SVC" lock lock
drive -s lock -u tom -a "$PW" -a "000000" auth
drive -s lock -u tom -a "$PW" -a "$(code_now tom 30)" auth
expect auth PAM_MAXTRIES "offline: after offline_max_failures wrong codes the requester is delayed (PAM_MAXTRIES)"
# (e) the password change re-wrapped the secret: new password + code works,
# the old password does not.
drive -s main -u chad -a "$PW" auth
expect auth PAM_AUTH_ERR "pool stopped: chad's old password (before chauthtok) is refused offline"
hasnt "Verification code"
ok $? "old password: refused before any code prompt"
drive -s main -u chad -a "$PW2" -a "$(code_now chad 30)" auth
expect auth PAM_SUCCESS "pool stopped: chad's new password + code: offline PAM_SUCCESS (secret re-wrapped)"
# (f) a tampered wrapped secret: refused, logged, no code accepted.
drive -s main -u tara -a "$PW" -a "$(code_now tara 30)" auth
expect auth PAM_AUTHINFO_UNAVAIL "pool stopped: tara's tampered wrapped secret: no offline sign-in"
grep -q '^4 .*TOTP secret held for this user does not open' "$LOG" && hasnt "Signed in offline"
ok $? "tampered secret: LOG_WARNING 'does not open', no 'Signed in offline'"
# (g) no secret held (nick): refused under require, password only under skip.
drive -s main -u nick -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "pool stopped: nick (no local secret), offline_mfa = require: no offline sign-in"
grep -q 'no TOTP secret is held locally (offline_mfa = require)' "$LOG"
ok $? "nick: the log says no TOTP secret is held (offline_mfa = require)"
drive -s skip -u nick -a "$PW" auth
expect auth PAM_SUCCESS "pool stopped: nick (no local secret), offline_mfa = skip: password only"
hasnt "Verification code" && grep -q 'password only' "$LOG"
ok $? "nick under skip: no code prompt, logged as password only"
# (h) a record whose secret was removed: the same as none held (require).
edit_rec ezra 'del r["mfa_secret"]'
drive -s main -u ezra -a "$PW" -a "$(code_now ezra 30)" auth
expect auth PAM_AUTHINFO_UNAVAIL "pool stopped: ezra's record without its secret: no offline sign-in (require)"

# (i) an older record's "scrypt$" verifier still checks offline.
edit_rec nick '
import base64, hashlib
salt = b"0123456789abcdef"
h = hashlib.scrypt(b"'"$PW"'", salt=salt, n=131072, r=8, p=1, maxmem=256 << 20, dklen=32)
r["verifier"] = "scrypt$131072$8$1$%s$%s" % (base64.b64encode(salt).decode(), base64.b64encode(h).decode())'
drive -s skip -u nick -a "$PW" auth
expect auth PAM_SUCCESS "pool stopped: nick's older scrypt\$ verifier still checks (offline_mfa = skip)"

# --- back online ------------------------------------------------------------
pool_start "$pool_port" || echo "Bail out! the pool did not restart"
# The older verifier is replaced at the next online sign-in.
drive -s main -u nick -a "$PW" -a "$(code_for nick 30)" auth
expect auth PAM_SUCCESS "pool back: nick signs in online"
grep -q '^scrypt2\$' <<<"$(rec_get nick verifier)"
ok $? "nick's verifier is upgraded to scrypt2\$ at the online sign-in"
# rex's password was reset elsewhere: the new one does not open the held
# secret, which is dropped (rex then has no local secret).
admin set_password '{"username":"rex","password":"'"$PW2"'"}' >/dev/null
# (the helper derives after the module returned: its log, tests/pam/lib.sh)
drive -s main -u rex -a "$PW2" -a "$(code_for rex 30)" auth
expect auth PAM_SUCCESS "rex (password reset elsewhere) signs in online with the new password"
[ -z "$(rec_get rex mfa_secret)" ] && grep -q 'does not open the offline TOTP secret held for this user' "$LOG" "$T/logs/verifier"
ok $? "rex: the held secret no longer opens with this password: dropped, logged"
# ola re-enrolled elsewhere (a new secret in the pool): the code the pool
# accepted does not fit the held secret, which is dropped.
admin set_totp_secret '{"username":"ola","secret":"'"$(new_secret | tee "$T/secrets/ola" | tee -a "$T/totp_secrets")"'"}' >/dev/null
drive -s main -u ola -a "$PW" -a "$(code_for ola 30)" auth
expect auth PAM_SUCCESS "ola (authenticator replaced elsewhere) signs in online"
[ -z "$(rec_get ola mfa_secret)" ] && grep -q 'does not match the offline TOTP secret' "$LOG" "$T/logs/verifier"
ok $? "ola: the accepted code does not match the held secret: dropped, logged"
# tina signs in online again: her secret stays held, and the record's
# verifier and wrapped secret are the same (one derivation, nothing rewritten).
v=$(rec_get tina verifier)
w=$(rec_get tina mfa_secret)
drive -s main -u tina -a "$PW" -a "$(code_for tina 30)" auth
expect auth PAM_SUCCESS "pool back: tina signs in online (password + code)"
[ "$(rec_get tina verifier)" = "$v" ] && [ "$(rec_get tina mfa_secret)" = "$w" ]
ok $? "tina: verifier and wrapped secret kept as they were"

# --- the debug logs hold no secret, code or password ----------------------
scan_logs 'eyJ\|gcm1\$' # a token or a wrapped secret
[ -z "$leak" ] && [ "$(grep -c '^7 ' "$T/all.log")" -gt 10 ]
ok $? "debug logs ($(wc -l <"$T/all.log") lines) hold no password, code, TOTP secret, wrapped secret or token${leak:+ — found:$leak}"

echo "1..$tap_n"
echo "# $tap_failed of $tap_n failed"
exit 0
