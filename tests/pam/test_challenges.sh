#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 20 through the real libpam (pamdrive, pam_start_confdir) against the
# test user pool over HTTPS: SMS_MFA and EMAIL_OTP (info line from
# CODE_DELIVERY_*, prompts, re-prompts, session expiry), SELECT_MFA_TYPE by
# mfa_methods, MFA_SETUP that offers only SMS/email, the factor in the state
# record and offline_mfa = require for SMS users, the Cognito error map
# (none falls back to the offline cache), auth_flow = custom (SRP, then
# CUSTOM_CHALLENGE rounds), auth_flow = user_auth (USER_AUTH, PASSWORD_SRP,
# SELECT_CHALLENGE, passkeys and one-time codes refused) and send_context.
# Prints TAP. Needs root.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-chal.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

cleanup() {
	pool_stop
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root "root-owned configuration and state"
need_tools oathtool curl
need_build
pam_env_start
# drive, result, expect, has, hasnt: tests/pam/lib.sh.
check() { # check NAME (after a test command): ok with the transcript on failure
	local st=$?
	ok $st "$1"
	[ $st -eq 0 ] || diag "$(head -n 30 "$OUT")"
}
stat_of() { admin stats '{}' | json_get "targets.$1" | sed 's/^$/0/'; }
state_of() { # state_of USER -> the user's state record (JSON)
	local h
	h=$(printf '%s\n%s' "${POOL_URL}$POOL_ID" "$1" | sha256sum | cut -d' ' -f1)
	cat "$T/state/users/$h.json" 2>/dev/null
}

# The person's phone / mailbox: the last code the pool sent to USER.
cat >"$T/outbox.sh" <<EOS
#!/bin/sh
# outbox.sh USER [SLEEP]: the code the pool last sent to USER
[ -z "\$2" ] || sleep "\$2"
c=\$(curl -sS --fail --max-time 10 --cacert "$T/ca/ca.pem" -X POST -H 'Content-Type: application/json' \
	-d "{\"username\":\"\$1\"}" "${POOL_URL}admin/outbox" | $PYTHON3 -c 'import json,sys;print(json.load(sys.stdin)["code"])') || exit 1
echo "\$c" >>"$T/codes"
echo "\$c"
EOS
chmod 755 "$T/outbox.sh"
sent() { printf '!%s %s %s' "$T/outbox.sh" "$1" "${2:-}"; }
wrong_of() { # wrong_of USER: a code that is not the one last sent
	local c
	c=$("$T/outbox.sh" "$1")
	printf '%06d' $(((10#$c + 1) % 1000000))
}

PW=Passw0rd-test1
set_mfa() { admin set_mfa "$1" >/dev/null || echo "Bail out! set_mfa $1"; }

# users: SMS only, email only, TOTP + SMS (SELECT_MFA_TYPE), no factor
for u in sam sid sal sue; do create_user "$u" "$PW" "" '["staff"]'; done
for u in emma eve; do create_user "$u" "$PW" "" '["staff"]'; done
for u in tom tess; do create_user "$u" "$PW" "$(new_secret)" '["staff"]'; done
create_user nora "$PW" "" '["staff"]'
for u in sam sid sal sue tom tess; do
	set_mfa "{\"username\":\"$u\",\"phone\":\"+15555550100\",\"sms\":true}"
done
for u in emma eve; do
	set_mfa "{\"username\":\"$u\",\"email\":\"ann@example.org\",\"email_mfa\":true}"
done

conf main "max_auth_age = 0"
service "$SVC" main main

# --- SMS_MFA ------------------------------------------------------------
drive -s main -u sam -a "$PW" -a "$(sent sam)" auth acct
expect auth PAM_SUCCESS "SMS_MFA: password + the code sent by SMS: PAM_SUCCESS"
has "INFO: Code sent by SMS to +*******0100"
check "SMS_MFA: the person is told 'Code sent by SMS to +*******0100'"
awk '/^INFO: Code sent by SMS/{e=1; next} e{print; exit}' "$OUT" | grep -q '^PROMPT_ECHO_OFF: SMS code: $'
check "SMS_MFA: the info line is followed by the prompt 'SMS code: '"
state_of sam | grep -q '"mfa_method": *"sms"'
check "SMS_MFA: the state record says the factor was sms"

drive -s main -u sid -a "$PW" -a "!$T/outbox.sh sid >/dev/null; echo 000000" -a "$(sent sid)" auth
expect auth PAM_SUCCESS "SMS_MFA: a wrong code, then the right one in the same sign-in: PAM_SUCCESS"
[ "$(grep -c '^PROMPT_ECHO_OFF: SMS code: $' "$OUT")" = 2 ] && has "ERROR: SMS code rejected: try again"
check "SMS_MFA: wrong code: 'SMS code rejected: try again', then asked again"

drive -s main -u sid -a "$PW" -a 000001 -a 000002 -a 000003 -a 000004 auth
expect auth PAM_AUTH_ERR "SMS_MFA: three wrong codes: PAM_AUTH_ERR"
[ "$(grep -c '^PROMPT_ECHO_OFF: SMS code: $' "$OUT")" = 3 ]
check "SMS_MFA: at most 3 tries"

admin set_session_ttl '{"seconds": 2}' >/dev/null
drive -s main -u sal -a "$PW" -a "$(sent sal 3)" auth
admin set_session_ttl '{"seconds": 180}' >/dev/null
expect auth PAM_AUTH_ERR "SMS_MFA: the pool's Session expired before the code came: PAM_AUTH_ERR"
has "Sign-in took too long: start again" && hasnt "code expired" && hasnt "expired or already used"
check "session expiry: 'Sign-in took too long: start again', not 'code expired'"

set_mfa '{"username":"sue","delivery_destination":"\u001b[2J+1\r\n555\u0007-0100-'"$(printf 'x%.0s' $(seq 1 200))"'"}'
drive -s main -u sue -a "$PW" -a "$(sent sue)" auth
expect auth PAM_SUCCESS "SMS_MFA with a hostile CODE_DELIVERY_DESTINATION: still signs in"
line=$(grep '^INFO: Code sent by SMS' "$OUT")
[ -n "$line" ] && ! printf '%s' "$line" | LC_ALL=C grep -q '[[:cntrl:]]' &&
	printf '%s' "$line" | grep -q '^INFO: Code sent by SMS to \[2J+1555-0100-x' && [ "${#line}" -lt 110 ]
check "CODE_DELIVERY_DESTINATION: control characters stripped, length capped (${#line} bytes)"

# --- EMAIL_OTP ----------------------------------------------------------
drive -s main -u emma -a "$PW" -a "$(sent emma)" auth
expect auth PAM_SUCCESS "EMAIL_OTP: password + the code sent by email: PAM_SUCCESS"
has "INFO: Code sent by email to a***@e***"
check "EMAIL_OTP: 'Code sent by email to a***@e***'"
awk '/^INFO: Code sent by email/{e=1; next} e{print; exit}' "$OUT" | grep -q '^PROMPT_ECHO_OFF: Email code: $'
check "EMAIL_OTP: then the prompt 'Email code: '"
state_of emma | grep -q '"mfa_method": *"email"'
check "EMAIL_OTP: the state record says the factor was email"

# --- SELECT_MFA_TYPE and mfa_methods -------------------------------------
drive -s main -u tom -a "$PW" -a "$(code_for tom)" auth
expect auth PAM_SUCCESS "SELECT_MFA_TYPE (TOTP + SMS) with the default mfa_methods: TOTP chosen, PAM_SUCCESS"
has "PROMPT_ECHO_OFF: Verification code: " && hasnt "SMS code"
check "SELECT_MFA_TYPE: the first of mfa_methods (totp) was chosen"

conf smsfirst "mfa_methods = sms, totp"
service "$SVC" smsfirst smsfirst
drive -s smsfirst -u tess -a "$PW" -a "$(sent tess)" auth
expect auth PAM_SUCCESS "mfa_methods = sms, totp: SELECT_MFA_TYPE answered with SMS_MFA, PAM_SUCCESS"
has "PROMPT_ECHO_OFF: SMS code: " && hasnt "Verification code"
check "mfa_methods = sms, totp: asked for the SMS code"

conf emailonly "mfa_methods = email"
service "$SVC" emailonly emailonly
drive -s emailonly -u tess -a "$PW" auth
expect auth PAM_AUTH_ERR "SELECT_MFA_TYPE offers nothing in mfa_methods: PAM_AUTH_ERR"
has "None of your second factors is accepted on this machine" && hasnt "SMS code" && hasnt "Verification code"
check "SELECT_MFA_TYPE without an allowed factor: a clear refusal, no code prompt"

conf totponly "mfa_methods = totp"
service "$SVC" totponly totponly
drive -s totponly -u sam -a "$PW" auth
expect auth PAM_AUTH_ERR "mfa_methods = totp, the pool sends SMS_MFA: PAM_AUTH_ERR"
has "does not accept SMS codes" && hasnt "SMS code:"
check "SMS_MFA not in mfa_methods: refused with a message, no prompt"

conf badmethods "mfa_methods = totp, fax"
service "$SVC" badmethods badmethods
drive -s badmethods -u sam -a "$PW" auth
expect auth PAM_SERVICE_ERR "mfa_methods = totp, fax: PAM_SERVICE_ERR"
hasnt "PROMPT"
check "bad mfa_methods: refused before any prompt"

# --- MFA_SETUP offering only SMS/email -----------------------------------
admin set_mfas_can_setup '{"list":["SMS_MFA","EMAIL_OTP"]}' >/dev/null
before=$(stat_of AssociateSoftwareToken)
drive -s main -u nora -a "$PW" -a 123456 auth
admin set_mfas_can_setup '{"list":["SOFTWARE_TOKEN_MFA"]}' >/dev/null
expect auth PAM_AUTH_ERR "MFA_SETUP offering only SMS/email: PAM_AUTH_ERR"
has "cannot be set up at this sign-in: contact your administrator" && hasnt "run userpool-enroll" &&
	hasnt "PROMPT_ECHO_OFF: Verification code" && [ "$(stat_of AssociateSoftwareToken)" = "$before" ]
check "MFA_SETUP SMS/email only: points to the administrator, nothing asked or bound"

tap_plan_part1=$tap_n

# --- the error map (Cognito) --------------------------------------------
# eve has a fresh cache entry; under offline_mfa = skip an outage would let
# her in offline. None of the pool's answers below may.
conf skip "offline_mfa = skip"
service "$SVC" skip skip
drive -s skip -u eve -a "$PW" -a "$(sent eve)" auth
expect auth PAM_SUCCESS "error map: eve signs in online (fills the cache)"
admin fault '{"action":"drop","match":"InitiateAuth","count":1}' >/dev/null
drive -s skip -u eve -a "$PW" auth
expect auth PAM_SUCCESS "error map control: with the connection dropped eve signs in offline"

inject() { # inject TYPE MESSAGE EXPECTED-PAM MESSAGE-SHOWN NAME
	local body
	body=$("$PYTHON3" -c 'import json,sys;print(json.dumps({"action":"status","code":400,"type":sys.argv[1],"message":sys.argv[2],"match":"InitiateAuth","count":1}))' "$1" "$2")
	admin fault "$body" >/dev/null
	drive -s skip -u eve -a "$PW" auth
	expect auth "$3" "$5: $3"
	has "$4" && hasnt "Signed in offline"
	check "$5: '$4', no offline fallback"
}
inject UserLambdaValidationException "PreAuthentication failed with error Outside office hours$(printf '\033')[31m." \
	PAM_AUTH_ERR "ERROR: Sign-in refused by the user pool: PreAuthentication failed with error Outside office hours[31m." \
	"UserLambdaValidationException"
inject NotAuthorizedException "PreAuthentication failed with error Your account is on hold." \
	PAM_AUTH_ERR "ERROR: Sign-in refused by the user pool: PreAuthentication failed with error Your account is on hold." \
	"NotAuthorized '<Trigger> failed with error'"
for t in InvalidLambdaResponseException UnexpectedLambdaException InvalidUserPoolConfigurationException \
	InvalidSmsRoleAccessPolicyException InvalidSmsRoleTrustRelationshipException \
	InvalidEmailRoleAccessPolicyException ResourceNotFoundException UnsupportedOperationException; do
	inject "$t" "x" PAM_SERVICE_ERR "the user pool is misconfigured" "$t"
	grep -q "$t" "$LOG"
	ok $? "$t: the log names it"
done
inject CodeDeliveryFailureException "Unable to deliver" PAM_AUTHINFO_UNAVAIL "could not send the code" CodeDeliveryFailureException
inject MFAMethodNotFoundException "No MFA" PAM_AUTH_ERR "No usable second factor" MFAMethodNotFoundException
inject ForbiddenException "Request blocked" PAM_SERVICE_ERR "blocked by the user pool's firewall rules" ForbiddenException
inject NotAuthorizedException "Unable to login because of security reasons." PAM_AUTH_ERR \
	"ERROR: Unable to login because of security reasons." "NotAuthorized (threat protection)"

# PasswordHistoryPolicyViolationException re-prompts like InvalidPasswordException
create_user hugo "$PW" "$(new_secret)" '["staff"]' FORCE_CHANGE_PASSWORD
admin fault '{"action":"status","code":400,"type":"PasswordHistoryPolicyViolationException","message":"The password cannot be one of the previous passwords.","match":"RespondToAuthChallenge","body_match":"NEW_PASSWORD_REQUIRED","count":1}' >/dev/null
drive -s main -u hugo -a "$PW" -a "Fresh-Passw0rd-9" -a "Fresh-Passw0rd-9" -a "Fresh-Passw0rd-8" -a "Fresh-Passw0rd-8" -a "$(code_for hugo)" auth
expect auth PAM_SUCCESS "PasswordHistoryPolicyViolationException at NEW_PASSWORD_REQUIRED: asked again, then PAM_SUCCESS"
has "The password cannot be one of the previous passwords." && [ "$(grep -c '^PROMPT_ECHO_OFF: New password: $' "$OUT")" = 2 ]
check "PasswordHistoryPolicyViolation: the pool's message, then 'New password: ' again"

# conf_for CLIENT NAME [lines...]: conf NAME with another app client
conf_for() {
	local cid=$1
	shift
	conf "$@"
	sed -i "s/^client_id = .*/client_id = $cid/" "$T/conf/$1.conf"
}

# --- auth_flow = custom: SRP first, then the pool's CUSTOM_CHALLENGE rounds --
CC=userpoolcustomclient0000001
admin set_client '{"client_id":"'$CC'","auth_flows":["ALLOW_CUSTOM_AUTH","ALLOW_REFRESH_TOKEN_AUTH"]}' >/dev/null
custom() { admin set_custom_auth "{\"custom_auth\": $1}" >/dev/null || echo "Bail out! set_custom_auth"; }
TWO_ROUNDS='{"rounds":[{"public":{"question":"Colour of the door?"},"answer":"green"},{"public":{"question":"Room number?","hint":"Floor 2"},"answer":"204"}]}'
for u in cara cody cleo cliff; do create_user "$u" "$PW" "" '["staff"]'; done
create_user carl "$PW" "$(new_secret)" '["staff"]'
conf_for $CC custom "auth_flow = custom" "mfa = optional"
conf_for $CC custom_mfa "auth_flow = custom" "custom_is_mfa = yes"
conf_for $CC custom_req "auth_flow = custom"
conf_for $CC custom_hint "auth_flow = custom" "mfa = optional" "custom_prompt_param = hint" "custom_echo = yes"
for c in custom custom_mfa custom_req custom_hint; do service "$SVC" $c $c; done
custom "$TWO_ROUNDS"

admin reset_stats '{}' >/dev/null
drive -s custom -u cara -a "$PW" -a green -a 204 auth
expect auth PAM_SUCCESS "auth_flow = custom: password (SRP) + two custom challenges: PAM_SUCCESS"
grep -q '^PROMPT_ECHO_OFF: Colour of the door? $' "$OUT" && grep -q '^PROMPT_ECHO_OFF: Room number? $' "$OUT"
check "custom: the prompts are the challenges' 'question' parameter, echo off"
[ "$(stat_of RespondToAuthChallenge)" = 3 ]
check "custom: PASSWORD_VERIFIER then two CUSTOM_CHALLENGE answers (3 RespondToAuthChallenge calls)"
[ "$(admin custom_answers '{}' | json_get answers)" = '["green", "204"]' ]
check "custom: the answers went as ANSWER, the password was not one of them (SRP)"
state_of cara | grep -q '"mfa": *false'
check "custom_is_mfa = no (default): the sign-in is not recorded as two-factor"

drive -s custom_req -u cody -a "$PW" -a green -a 204 auth
expect auth PAM_AUTH_ERR "custom, custom_is_mfa = no, mfa = required: password + custom answers alone are refused"
drive -s custom_mfa -u cody -a "$PW" -a green -a 204 auth
expect auth PAM_SUCCESS "custom_is_mfa = yes, mfa = required: the custom challenge is the second factor"
state_of cody | grep -q '"mfa": *true'
check "custom_is_mfa = yes: the record says a second factor was used"

drive -s custom -u cleo -a "$PW" -a blue -a green -a 204 auth
expect auth PAM_SUCCESS "custom: a wrong answer, the pool asks the round again, then right: PAM_SUCCESS"
[ "$(grep -c '^PROMPT_ECHO_OFF: Colour of the door? $' "$OUT")" = 2 ]
check "custom: the repeated round is asked again"
drive -s custom -u cleo -a "$PW" -a red -a blue -a black auth
expect auth PAM_AUTH_ERR "custom: the pool's trigger fails the sign-in after three wrong answers: PAM_AUTH_ERR"
drive -s custom -u cleo -a "wrong-$PW" auth
expect auth PAM_AUTH_ERR "custom: a wrong password is refused at PASSWORD_VERIFIER"
hasnt "Colour of the door?"
check "custom: a wrong password never reaches the custom challenge"

drive -s custom_hint -u cliff -a "$PW" -a green -a 204 auth
expect auth PAM_SUCCESS "custom_prompt_param = hint, custom_echo = yes: PAM_SUCCESS"
grep -q '^PROMPT_ECHO_ON: Answer: $' "$OUT" && grep -q '^PROMPT_ECHO_ON: Floor 2 $' "$OUT"
check "custom_prompt_param = hint: 'Answer: ' when the round has no hint, the hint text when it has one; echo on"

custom '{"rounds":[{"public":{"question":"\u001b[2JSay \u0007yes\r\n'"$(printf 'q%.0s' $(seq 1 400))"'"},"answer":"yes"}]}'
drive -s custom -u cliff -a "$PW" -a yes auth
expect auth PAM_SUCCESS "custom: a hostile question text still signs in"
line=$(grep '^PROMPT_ECHO_OFF: \[2JSay yes' "$OUT")
[ -n "$line" ] && ! printf '%s' "$line" | LC_ALL=C grep -q '[[:cntrl:]]' && [ "${#line}" -lt 280 ]
check "custom: the question is shown without control characters, capped (${#line} bytes)"

custom '{"rounds":['"$(for i in $(seq 1 9); do printf '{"public":{"question":"Q%s?"},"answer":"a"},' $i; done)"'{"public":{},"answer":"a"}]}'
drive -s custom -u cliff -a "$PW" -a a -a a -a a -a a -a a -a a -a a -a a -a a -a a auth
expect auth PAM_AUTH_ERR "custom: a pool that asks a 9th custom challenge is refused"
[ "$(grep -c '^PROMPT_ECHO_OFF: Q[0-9]*? $' "$OUT")" = 8 ] && has "Too many sign-in questions"
check "custom: at most 8 rounds are answered, and the person is told"

custom '{"rounds":[{"public":{"question":"Colour?"},"answer":"green"}],"skip_password":true}'
drive -s custom -u cliff -a "$PW" -a green auth
expect auth PAM_AUTH_ERR "custom: a pool that asks the custom challenge without the password step is refused"
hasnt "Colour?" && has "does not support"
check "custom without PASSWORD_VERIFIER: nothing is asked beyond the password"
custom null
drive -s custom -u cliff -a "$PW" auth
expect auth PAM_AUTH_ERR "custom: a pool without the custom-auth trigger: refused"

# --- auth_flow = user_auth: USER_AUTH, PASSWORD_SRP, SELECT_CHALLENGE ------
UC=userpooluserauthclient00001
UCP=userpooluserauthpwclient001
admin set_client '{"client_id":"'$UC'","auth_flows":["ALLOW_USER_AUTH","ALLOW_USER_SRP_AUTH","ALLOW_REFRESH_TOKEN_AUTH"]}' >/dev/null
admin set_client '{"client_id":"'$UCP'","auth_flows":["ALLOW_USER_AUTH","ALLOW_USER_PASSWORD_AUTH","ALLOW_REFRESH_TOKEN_AUTH"]}' >/dev/null
for u in uma ugo uli; do create_user "$u" "$PW" "$(new_secret)" '["staff"]'; done
for u in usha uwe; do create_user "$u" "$PW" "" '["staff"]'; done
set_mfa '{"username":"usha","phone":"+15555550100","sms":true}'
set_mfa '{"username":"uwe","email":"ann@example.org","phone":"+15555550100"}'
conf_for $UC ua "auth_flow = user_auth"
conf_for $UCP uap "auth_flow = user_auth"
service "$SVC" ua ua
service "$SVC" uap uap
firstf() { admin set_first_factors "$1" >/dev/null || echo "Bail out! set_first_factors"; }

admin reset_stats '{}' >/dev/null
drive -s ua -u uma -a "$PW" -a "$(code_for uma)" auth
expect auth PAM_SUCCESS "user_auth: USER_AUTH + PREFERRED_CHALLENGE=PASSWORD_SRP, then TOTP: PAM_SUCCESS"
[ "$(stat_of RespondToAuthChallenge)" = 2 ]
check "user_auth: PASSWORD_VERIFIER straight away, then SOFTWARE_TOKEN_MFA (2 answers, no SELECT_CHALLENGE)"

firstf '{"list":["PASSWORD","EMAIL_OTP","WEB_AUTHN"],"ignore_preferred":true}'
admin reset_stats '{}' >/dev/null
drive -s ua -u ugo -a "$PW" -a "$(code_for ugo)" auth
expect auth PAM_SUCCESS "user_auth: SELECT_CHALLENGE (AvailableChallenges at the top level) answered with PASSWORD_SRP: PAM_SUCCESS"
[ "$(stat_of RespondToAuthChallenge)" = 3 ]
check "user_auth SELECT_CHALLENGE: SELECT_CHALLENGE, PASSWORD_VERIFIER, SOFTWARE_TOKEN_MFA"

drive -s uap -u uli -a "$PW" -a "$(code_for uli)" auth
expect auth PAM_SUCCESS "user_auth: only PASSWORD offered (client without SRP): answered with PASSWORD, then TOTP"
drive -s uap -u uli -a "wrong-$PW" auth
expect auth PAM_AUTH_ERR "user_auth, PASSWORD: a wrong password is refused"

drive -s ua -u usha -a "$PW" -a "$(sent usha)" auth
expect auth PAM_SUCCESS "user_auth: then SMS_MFA as the second factor: PAM_SUCCESS"
has "INFO: Code sent by SMS to +*******0100"
check "user_auth + SMS_MFA: the delivery line is shown"

firstf '{"list":["WEB_AUTHN"],"ignore_preferred":false}'
drive -s ua -u uma -a "$PW" auth
expect auth PAM_AUTH_ERR "user_auth: only WEB_AUTHN offered: refused"
has "passkeys need a browser; this sign-in is text only"
check "user_auth WEB_AUTHN: 'passkeys need a browser; this sign-in is text only'"
firstf '{"list":["EMAIL_OTP","SMS_OTP"]}'
drive -s ua -u uwe -a "$PW" -a 123456 auth
expect auth PAM_AUTH_ERR "user_auth: only one-time codes as the first factor: refused"
has "A one-time code alone is not accepted here" && [ "$(grep -c '^PROMPT' "$OUT")" = 1 ]
check "user_auth one-time code first: told why, no code asked"
firstf '{"list":["PASSWORD"],"ignore_preferred":false}'
[ "$(admin contexts '{}' | json_get device_keys)" = 0 ] && [ "$(stat_of ConfirmDevice)" = 0 ]
check "no DEVICE_KEY was ever sent and no ConfirmDevice call was made"

# --- send_context = yes: UserContextData with IpAddress = PAM_RHOST -----------
SC=userpoolsecretclient0000001
SCS=c2VjcmV0LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3ODk
admin set_client '{"client_id":"'$SC'","secret":"'$SCS'"}' >/dev/null
for u in rita rudi; do create_user "$u" "$PW" "$(new_secret)" '["staff"]'; done
conf_for $SC ctx "client_secret = $SCS" "send_context = yes"
conf_for $SC noctx "client_secret = $SCS"
service "$SVC" ctx ctx
service "$SVC" noctx noctx
ctx_of() { # ctx_of USER: the IpAddress of the last UserContextData the pool got for USER
	admin contexts '{}' | "$PYTHON3" -c 'import json,sys
print((json.load(sys.stdin)["contexts"].get(sys.argv[1]) or {}).get("IpAddress", ""))' "$1"
}
drive -s ctx -u rita -r 192.0.2.44 -a "$PW" -a "$(code_for rita)" auth
expect auth PAM_SUCCESS "send_context = yes: sign-in with PAM_RHOST 192.0.2.44: PAM_SUCCESS"
[ "$(ctx_of rita)" = 192.0.2.44 ]
check "send_context = yes: the pool got UserContextData.IpAddress = PAM_RHOST"
drive -s noctx -u rudi -r 192.0.2.45 -a "$PW" -a "$(code_for rudi)" auth
expect auth PAM_SUCCESS "send_context unset: PAM_SUCCESS"
[ -z "$(ctx_of rudi)" ]
check "send_context unset (default no): no UserContextData sent"
drive -s ctx -u rudi -r "evil.example" -a "$PW" -a "$(code_for rudi 30)" auth
expect auth PAM_SUCCESS "send_context = yes with a host name as PAM_RHOST: PAM_SUCCESS"
[ -z "$(ctx_of rudi)" ]
check "send_context: a PAM_RHOST that is not a numeric address is not sent"
conf ctxpub "send_context = yes"
service "$SVC" ctxpub ctxpub
drive -s ctxpub -u rudi -a "$PW" auth
expect auth PAM_SERVICE_ERR "send_context = yes without client_secret: a configuration error"

# --- a JWKS entry with private members is refused --------------------------
create_user kim "$PW" "$(new_secret)" '["staff"]'
admin set_jwk_extra '{"members":{"d":"AQAB"}}' >/dev/null
admin rotate_keys '{}' >/dev/null
drive -s main -u kim -a "$PW" -a "$(code_for kim)" auth
admin set_jwk_extra '{"members":{}}' >/dev/null
expect auth PAM_AUTH_ERR "JWKS whose new key carries the private member d: the token is refused"
grep -q "carries private key members" "$LOG"
check "JWKS private member: the log says why the key was refused"

# --- offline: SMS/email users under offline_mfa = require -----------------
pool_stop
drive -s main -u sam -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "pool down, sam's last sign-in used SMS, offline_mfa = require: no offline sign-in"
has "your second factor (SMS code) needs the user pool" && hasnt "Signed in offline"
check "offline_mfa = require, SMS user: the message says why"

# --- logs hold no secret ---------------------------------------------------
cat "$T"/logs/* >"$T/all.log"
leak=
while read -r c; do
	[ -n "$c" ] && grep -qE -- "(^|[^0-9A-Za-z])$c([^0-9A-Za-z]|$)" "$T/all.log" && leak="$leak code:$c"
done <"$T/codes"
grep -qF -- "$PW" "$T/all.log" && leak="$leak password"
grep -q 'eyJ' "$T/all.log" && leak="$leak token"
[ -z "$leak" ] && [ -s "$T/all.log" ]
ok $? "logs hold no password, SMS/email code or token${leak:+ — found:$leak}"

echo "1..$tap_n"
echo "# $tap_failed of $tap_n failed"
exit 0
