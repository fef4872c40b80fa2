#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# PAM-level tests (issue 6): the built pam_userpool.so loaded by the real
# libpam, through pamdrive (pam_start_confdir, scripted conversation, syslog
# capture) and pamtester under pam_wrapper, against the test user pool over
# HTTPS. Prints TAP. Needs root (the configuration and state must be
# root-owned), pamtester, libpam-wrapper, oathtool, zbarimg, curl.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-pam.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

cleanup() {
	pool_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root "root-owned configuration and state"
need_tools pamtester oathtool zbarimg curl
need_pam_wrapper
need_build
pam_env_start

# drive, result, expect, has, hasnt: tests/pam/lib.sh.
stat_of() { # stat_of TARGET -> how many requests the pool saw for it
	admin stats '{}' | json_get "targets.$1" | sed 's/^$/0/'
}

PW=Passw0rd-test1
PW2=NewPassw0rd-2

# --- users ------------------------------------------------------------------
for u in alice bob carol dave erin frank kate lena mia ned t1 t2 t3 t4 pat ola; do
	s=$(new_secret)
	case $u in
	frank) s= ;; # no authenticator: MFA_SETUP on login
	esac
	groups='["staff"]'
	[ "$u" = bob ] && groups='[]'
	create_user "$u" "$PW" "$s" "$groups" || echo "Bail out! cannot create $u"
done
create_user gina "$PW" "" '["staff"]'
for u in gus hal ida; do # no authenticator: MFA_SETUP at a greeter (qr = auto)
	create_user "$u" "$PW" "" '["staff"]' || echo "Bail out! cannot create $u"
done
create_user hank "$PW" "$(new_secret)" '["staff"]' FORCE_CHANGE_PASSWORD
create_user ivy "$PW" "$(new_secret)" '["staff"]'
create_user jack "$PW" "$(new_secret)" '["staff"]'

conf main "max_auth_age = 0"
service "$SVC" main main

# --- PAM_SUCCESS through pamtester under pam_wrapper -------------------
code=$("$T/code.sh" alice 0 "$T/codes")
out=$(printf '%s\n%s\n' "$PW" "$code" | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
	PAM_WRAPPER_SERVICE_DIR="$SVC" pamtester main alice authenticate acct_mgmt 2>&1)
st=$?
ok $st "pamtester (pam_wrapper): alice signs in with password + TOTP, account ok"
[ $st -eq 0 ] || diag "$out"
echo "$out" | grep -q "successfully authenticated"
ok $? "pamtester reports the authentication"
echo "$out" | grep -q "Verification code"
ok $? "pamtester showed the Verification code prompt"

# --- PAM_SUCCESS through pamdrive, transcript order --------------------
drive -s main -u erin -a "$PW" -a "$(code_for erin)" auth acct
expect auth PAM_SUCCESS "password + TOTP: PAM_SUCCESS"
expect acct PAM_SUCCESS "account phase after auth in one process: PAM_SUCCESS"
[ "$(grep -c '^PROMPT' "$OUT")" = 2 ] && sed -n 1p "$OUT" | grep -q '^PROMPT_ECHO_OFF: Password: $' &&
	sed -n 2p "$OUT" | grep -q '^PROMPT_ECHO_OFF: Verification code: $'
ok $? "prompts: Password: then Verification code: (both echo off)"

# --- PAM_AUTH_ERR ------------------------------------------------------
drive -s main -u carol -a "wrong-$PW" auth
expect auth PAM_AUTH_ERR "wrong password: PAM_AUTH_ERR"
hasnt "Verification code"
ok $? "wrong password: no code prompt"
d=$(sed -n 's/^DELAY //p' "$OUT")
[ -n "$d" ] && [ "$d" -ge 1000000 ]
ok $? "a failure asks libpam for a fail delay (got ${d:-none} us)"

right=$(oathtool --totp -b "$(cat "$T/secrets/dave")")
bad=$(printf '%06d' $(((10#$right + 1) % 1000000)))
drive -s main -u dave -a "$PW" -a "$bad" auth
expect auth PAM_AUTH_ERR "wrong TOTP code: PAM_AUTH_ERR"
has "ERROR: Verification code rejected"
ok $? "wrong code: the person is told 'Verification code rejected'"
# Issue 25: the error about the code is followed by a new prompt (the pool's
# Session stays valid after CodeMismatchException), so greeters that replace
# failure texts still show it above a live field.
awk '/^ERROR: Verification code rejected/{e=1; next} e{print; exit}' "$OUT" | grep -q '^PROMPT_ECHO_OFF: Verification code: $'
ok $? "wrong code: the error is followed by a new 'Verification code: ' prompt"
right=$(oathtool --totp -b "$(cat "$T/secrets/dave")")
bad=$(printf '%06d' $(((10#$right + 1) % 1000000)))
drive -s main -u dave -a "$PW" -a "$bad" -a "$right" auth
expect auth PAM_SUCCESS "wrong code, then the right one in the same sign-in: PAM_SUCCESS"
[ "$(grep -c '^PROMPT_ECHO_OFF: Verification code: $' "$OUT")" = 2 ]
ok $? "wrong code then right code: asked twice"
drive -s main -u dave -a "$PW" -a "$bad" -a "$bad" -a "$bad" -a "$bad" auth
expect auth PAM_AUTH_ERR "three wrong codes: PAM_AUTH_ERR"
[ "$(grep -c '^PROMPT_ECHO_OFF: Verification code: $' "$OUT")" = 3 ]
ok $? "three wrong codes: at most 3 tries"

# --- PAM_USER_UNKNOWN -----------------------------------------------------
drive -s main -u nosuchuser -a "$PW" auth
expect auth PAM_USER_UNKNOWN "pool says no such user: PAM_USER_UNKNOWN"

# --- PAM_IGNORE for ignore_users ---------------------------------------------
# A stack whose only module ignores the user fails as a whole (libpam's
# PAM_PERM_DENIED), so PAM_IGNORE is made visible by the stack: the module's
# PAM_IGNORE skips pam_deny and reaches pam_permit; any other result of the
# module (success included) ends the stack in a failure.
SECDIR=/lib/x86_64-linux-gnu/security
{
	echo "auth [ignore=1 default=die] $UP_PAM_MODULE config=$T/conf/main.conf debug"
	echo "auth required $SECDIR/pam_deny.so"
	echo "auth required $SECDIR/pam_permit.so"
	echo "account [ignore=1 default=die] $UP_PAM_MODULE config=$T/conf/main.conf debug"
	echo "account required $SECDIR/pam_deny.so"
	echo "account required $SECDIR/pam_permit.so"
} >"$SVC/ignore"
drive -s ignore -u root -a "$PW" auth acct
expect auth PAM_SUCCESS "root (ignore_users default): the module returns PAM_IGNORE in auth"
expect acct PAM_SUCCESS "root: the module returns PAM_IGNORE in account"
! grep -q '^PROMPT' "$OUT"
ok $? "ignored user: no prompt at all"
drive -s ignore -u carol -a "wrong-$PW" auth
r=$(result auth)
[ -n "$r" ] && [ "$r" != PAM_SUCCESS ]
ok $? "control: the same stack fails for a user the module does not ignore ($r)"
conf ignore2 "ignore_users = root carol"
sed "s#conf/main.conf#conf/ignore2.conf#" "$SVC/ignore" >"$SVC/ignore2"
drive -s ignore2 -u carol -a "wrong-$PW" auth
expect auth PAM_SUCCESS "ignore_users = root carol: carol is ignored too"

# --- PAM_SERVICE_ERR for bad configuration ---------------------------
svc_err() { # svc_err NAME DESCRIPTION: config $T/conf/NAME.conf must be refused
	service "$SVC" "$1" "$1"
	drive -s "$1" -u alice -a "$PW" auth
	expect auth PAM_SERVICE_ERR "$2: PAM_SERVICE_ERR"
}
conf httpfar "endpoint = http://192.0.2.10/"
# conf writes endpoint first; a duplicate security key is itself an error,
# so build this one by hand.
sed -i '/^endpoint = https/d' "$T/conf/httpfar.conf"
svc_err httpfar "http:// endpoint on a non-loopback host"
conf notroot
chown 65534 "$T/conf/notroot.conf"
svc_err notroot "configuration file not owned by root"
conf gwrite
chmod 0620 "$T/conf/gwrite.conf"
svc_err gwrite "configuration file group-writable"
conf secret "client_secret = s3cr3t-client-secret"
chmod 0644 "$T/conf/secret.conf"
svc_err secret "client_secret in a world-readable file"
# issue 16: a secret as a module argument would sit in world-readable /etc/pam.d
conf argsecret
service "$SVC" argsecret argsecret client_secret=argv-s3cr3t-client-secret
drive -s argsecret -u alice -a "$PW" auth
expect auth PAM_SERVICE_ERR "client_secret as a PAM module argument: PAM_SERVICE_ERR"
grep -q "argument client_secret: refused" "$LOG" && ! grep -q "argv-s3cr3t" "$LOG" && hasnt "PROMPT"
ok $? "client_secret argument: logged as refused, value not logged, no prompt"
conf badmfa "mfa = maybe"
svc_err badmfa "bad value of a security setting (mfa = maybe)"
hasnt "PROMPT"
ok $? "configuration refused before any prompt"

# --- failing conversations -------------------------------------------
before=$(stat_of InitiateAuth)
drive -s main -u alice -f conv_err:1 auth
expect auth PAM_CONV_ERR "conversation returns PAM_CONV_ERR at the password: PAM_CONV_ERR"
drive -s main -u alice -f null_reply:1 auth
expect auth PAM_CONV_ERR "conversation returns no reply array: PAM_CONV_ERR"
drive -s main -u alice -f null_resp:1 auth
r=$(result auth)
[ -n "$r" ] && [ "$r" != PAM_SUCCESS ] && [ $RC -lt 2 ]
ok $? "conversation reply with a NULL resp: refused cleanly ($r)"
drive -s main -u alice -a "" auth
expect auth PAM_AUTH_ERR "empty password: PAM_AUTH_ERR"
drive -s main -u alice -a "@rep:65536:x" auth
expect auth PAM_AUTH_ERR "64 KB password: PAM_AUTH_ERR"
[ "$(stat_of InitiateAuth)" = "$before" ]
ok $? "none of these reached the pool (InitiateAuth count unchanged)"
drive -s main -u mia -a "$PW" -f conv_err:2 auth
expect auth PAM_CONV_ERR "conversation fails at the code prompt: PAM_CONV_ERR"

# --- hostile user names ------------------------------------------------
hostile() { # hostile HEX DESCRIPTION
	drive -s main -U "$1" -a "$PW" -a 123456 auth acct
	local r
	r=$(result auth)
	[ -n "$r" ] && [ "$r" != PAM_SUCCESS ] && [ $RC -lt 2 ]
	ok $? "hostile user name $2: refused cleanly ($r)"
}
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
hostile "$(hex /)" "'/'"
hostile "$(hex ..)" "'..'"
hostile "$(hex ../../etc/passwd)" "'../../etc/passwd'"
hostile "$(hex a:b)" "'a:b'"
hostile "$(hex %n%n%s%s)" "'%n%n%s%s'"
hostile "$(hex alice)0a$(hex root)" "'alice\\nroot'"
hostile "$(printf 'a%.0s' $(seq 1 300) | od -An -v -tx1 | tr -d ' \n')" "300 characters"
hostile "$(hex ALICE)" "'ALICE' (case variant of a pool user)"
hostile "$(hex ' alice')" "' alice' (leading blank)"
hostile "$(hex -alice)" "'-alice'"
! (ls "$T/state/users" | grep -qv '^[0-9a-f]\{64\}\.\(json\|lock\)$')
ok $? "state_dir holds only hash-named user files"

# --- account phase ---------------------------------------------------
conf groups "allow_groups = admins staff"
service "$SVC" groups groups
drive -s groups -u bob -a "$PW" -a "$(code_for bob)" auth acct
expect acct PAM_PERM_DENIED "allow_groups: user in none of them: acct PAM_PERM_DENIED"
has "ERROR: You are not allowed to sign in here"
ok $? "allow_groups refusal tells the person"
drive -s groups -u alice acct
expect acct PAM_SUCCESS "account phase in a new process, from the cache (alice in staff): PAM_SUCCESS"
drive -s main -u neverseen acct
expect acct PAM_USER_UNKNOWN "account phase for a user the module never saw: PAM_USER_UNKNOWN"

# --- use_first_pass / try_first_pass ---------------------------------
conf main2
{
	echo "auth required $PWRAP_DIR/pam_set_items.so"
	echo "auth required $UP_PAM_MODULE config=$T/conf/main2.conf debug use_first_pass"
	echo "account required $UP_PAM_MODULE config=$T/conf/main2.conf debug"
} >"$SVC/ufp"
{
	echo "auth required $PWRAP_DIR/pam_set_items.so"
	echo "auth required $UP_PAM_MODULE config=$T/conf/main2.conf debug try_first_pass"
} >"$SVC/tfp"
PAM_AUTHTOK=$PW drive -s ufp -u kate -a "$(code_for kate)" auth acct
expect auth PAM_SUCCESS "use_first_pass with the stacked token: PAM_SUCCESS"
! grep -q '^PROMPT_ECHO_OFF: Password' "$OUT"
ok $? "use_first_pass: no password prompt, only the code"
drive -s ufp -u kate -a "$PW" auth
r=$(result auth)
[ -n "$r" ] && [ "$r" != PAM_SUCCESS ] && ! grep -q '^PROMPT' "$OUT"
ok $? "use_first_pass without a stacked token: refused without prompting ($r)"
drive -s tfp -u lena -a "$PW" -a "$(code_for lena)" auth
expect auth PAM_SUCCESS "try_first_pass without a stacked token: prompts and succeeds"
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT"
ok $? "try_first_pass without a token asked for the password"

# --- MFA_SETUP inside the conversation -------------------------------
conf enroll "enroll_on_login = yes"
service "$SVC" enroll enroll
drive -s enroll -u frank -a "$PW" -a "!$PYTHON3 $top_srcdir/tests/pam/enroll_code.py %i $T/frank.uri" auth acct
expect auth PAM_SUCCESS "MFA_SETUP: QR decoded with zbarimg, code from the secret, sign-in completes"
# The info messages with the QR code (one conversation call: issue 25
# splits it) are immediately followed by the prompt.
[ "$(grep -c '^INFO: ' "$OUT")" -ge 1 ] && grep -q 'Scan this QR code' "$OUT" &&
	[ "$(awk '/^INFO: /{i=1; next} i && /^(PROMPT|ERROR|INFO|RESULT|CONV|NO_ANSWER)/{print; exit}' "$OUT")" = "PROMPT_ECHO_OFF: Verification code: " ]
ok $? "MFA_SETUP: the QR text is immediately followed by 'Verification code: '"
grep -q "^otpauth://totp/.*secret=" "$T/frank.uri" 2>/dev/null
ok $? "MFA_SETUP: the QR code holds an otpauth://totp URI"
[ "$(admin get_user '{"username":"frank"}' | json_get totp_enabled)" = True ]
ok $? "MFA_SETUP: the pool now has frank's authenticator"
grep -q "enrolment: frank enrolled authenticator \"$(hostname)\" at sign-in" "$LOG"
ok $? "MFA_SETUP: the log has an audit line (who, which device name) (issue 18)"
sed -n 's/.*secret=\([A-Z2-7]*\).*/\1/p' "$T/frank.uri" >>"$T/totp_secrets"
hasnt "OVERSIZE"
ok $? "MFA_SETUP: every message is shorter than PAM_MAX_MSG_SIZE (512)"
[ "$(grep -c '^INFO: ' "$OUT")" -gt 1 ]
ok $? "MFA_SETUP: the QR text is split into several messages"

# --- issue 25: qr = auto at a graphical greeter: the short fallback ------
cat >"$T/fallback_code.sh" <<'EOS'
#!/bin/sh
# the key from "... with the key ABCD EFGH ..., then enter the 6-digit code below."
k=$(sed -n 's/.* with the key \([A-Z2-7 ]*\), then enter the 6-digit code below\.$/\1/p' "$1" | tr -d ' ')
[ -n "$k" ] || exit 1
printf '%s\n' "$k" >>"$2"
oathtool --totp -b "$k"
EOS
chmod +x "$T/fallback_code.sh"
for g in "lightdm gus" "enroll hal -x :0" "enroll ida -t /dev/tty1 -e GDM_SUPPORTED_PAM_EXTENSIONS=gdm-pam-extension-choice-list"; do
	set -- $g
	svc=$1 u=$2
	shift 2
	[ -f "$SVC/$svc" ] || service "$SVC" "$svc" enroll
	drive -s "$svc" -u "$u" "$@" -a "$PW" -a "!$T/fallback_code.sh %i $T/totp_secrets" auth acct
	expect auth PAM_SUCCESS "qr = auto, greeter ($svc $*): enrolment with the fallback text, sign-in completes"
	[ "$(grep -c '^INFO: ' "$OUT")" = 1 ] && grep -q "^INFO: Add the account $u (userpool) to your authenticator app with the key [A-Z2-7 ]*, then enter the 6-digit code below.$" "$OUT" &&
		! grep -q '█\|otpauth://' "$OUT" &&
		[ "$(awk '/^INFO: /{i=1; next} i{print; exit}' "$OUT")" = "PROMPT_ECHO_OFF: Verification code: " ]
	ok $? "qr = auto, greeter ($svc $*): one short message, no QR code, then the prompt"
	[ "$(admin get_user "{\"username\":\"$u\"}" | json_get totp_enabled)" = True ]
	ok $? "qr = auto, greeter ($svc $*): the pool now has $u's authenticator"
done

# --- mfa = required refuses a sign-in without a second factor --------
admin set_pool_mfa '{"mfa":"OPTIONAL"}' >/dev/null
drive -s main -u gina -a "$PW" auth
expect auth PAM_AUTH_ERR "mfa = required, user without TOTP (pool MFA OPTIONAL): refused"
has "ERROR: No authenticator enrolled: run userpool-enroll"
ok $? "the refusal says 'No authenticator enrolled: run userpool-enroll'"
admin set_pool_mfa '{"mfa":"ON"}' >/dev/null

# --- NEW_PASSWORD_REQUIRED -------------------------------------------
drive -s main -u hank -a "$PW" -a short -a short -a "$PW2" -a "$PW2" -a "$(code_for hank)" auth
expect auth PAM_SUCCESS "NEW_PASSWORD_REQUIRED: new password set, sign-in completes"
grep -q '^PROMPT_ECHO_OFF: New password: $' "$OUT" && grep -q '^PROMPT_ECHO_OFF: Retype new password: $' "$OUT"
ok $? "NEW_PASSWORD_REQUIRED: asks New password / Retype new password"
grep -q '^ERROR: .*Password not long enough' "$OUT"
ok $? "NEW_PASSWORD_REQUIRED: the pool's policy message reaches the person"
printf '%s\n' "$PW2" >>"$T/passwords"

# --- password change (chauthtok) -------------------------------------
drive -s main -u ivy -a "$PW" -a "$(code_for ivy)" -a short1 -a short1 chauthtok
expect chauthtok PAM_AUTHTOK_ERR "chauthtok with a too short password: PAM_AUTHTOK_ERR"
grep -q '^ERROR: .*Password not long enough' "$OUT"
ok $? "chauthtok: the pool's policy message reaches the person"
drive -s main -u ivy -a "$PW" -a "$(code_for ivy 30)" -a "$PW2" -a "$PW2" chauthtok
expect chauthtok PAM_SUCCESS "chauthtok through ChangePassword: PAM_SUCCESS"
resp=$(curl -sS --cacert "$T/ca/ca.pem" -H 'Content-Type: application/x-amz-json-1.1' \
	-H 'X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth' \
	-d "{\"AuthFlow\":\"USER_PASSWORD_AUTH\",\"ClientId\":\"$CLIENT_ID\",\"AuthParameters\":{\"USERNAME\":\"ivy\",\"PASSWORD\":\"$PW2\"}}" "$POOL_URL")
echo "$resp" | grep -q SOFTWARE_TOKEN_MFA
ok $? "chauthtok: the pool accepts the new password"

# --- revoke_on_close -------------------------------------------------
conf revoke "revoke_on_close = yes"
service "$SVC" revoke revoke
drive -s revoke -u jack -a "$PW" -a "$(code_for jack)" auth acct
expect auth PAM_SUCCESS "revoke_on_close: sign-in"
revoked_before=$(json_get revoked_origins <"$T/pool/pool.json")
# jack's own record (other users' records keep their refresh tokens for the
# account phase, issue 16 item 3).
rec_has_rt() { # rec_has_rt USER: does USER's cached record hold a refresh token?
	python3 -c 'import json,glob,sys
for p in glob.glob(sys.argv[1] + "/users/*.json"):
    try:
        d = json.load(open(p))
    except Exception:
        continue
    if d.get("username") == sys.argv[2]:
        sys.exit(0 if d.get("refresh_token") else 1)
sys.exit(2)' "$T/state" "$1"
}
rec_has_rt jack
have_rt=$?
rt_before=$(stat_of RevokeToken)
drive -s revoke -u jack open close
expect close PAM_SUCCESS "revoke_on_close: session open/close in another process: PAM_SUCCESS"
revoked_after=$(json_get revoked_origins <"$T/pool/pool.json")
rec_has_rt jack
rt_after=$?
[ $have_rt -eq 0 ] && [ "$(stat_of RevokeToken)" -gt "$rt_before" ] && [ "$revoked_after" != "$revoked_before" ] &&
	[ $rt_after -eq 1 ]
ok $? "revoke_on_close: the pool revoked the refresh token; the state no longer holds it"

# --- max_auth_age step-up --------------------------------------------
# The window applies only to the invoking user acting as themselves (here
# PAM_RUSER = the user, as sudo sets it) on a controlling terminal, bound to
# the terminal device + session id + session leader start time (issue 16
# item 4). in_pty runs a script as the leader of a new session whose
# controlling terminal is a fresh pty.
in_pty() { # in_pty SCRIPT
	"$PYTHON3" -c 'import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/bash", ["bash", sys.argv[1]])
while True:
    try:
        if not os.read(fd, 4096):
            break
    except OSError:
        break
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))' "$1"
}
# pty_drive NAME [pamdrive args]: a line of the script $T/pty.sh
pty_drive() {
	local n=$1
	shift
	printf '"%s" -d "%s" -D -l "%s" %s >"%s" 2>&1\n' "$PAMDRIVE" "$SVC" "$T/logs/pty.$n" \
		"$(printf '%q ' "$@")" "$T/pty.$n" >>"$T/pty.sh"
}
conf stepup "max_auth_age = 300"
service "$SVC" stepup stepup
: >"$T/pty.sh"
pty_drive 1 -s stepup -u pat -R pat -t pts/7 -a "$PW" -a "$(code_for pat)" auth
pty_drive 2 -s stepup -u pat -R pat -t pts/7 auth acct
pty_drive 3 -s stepup -u pat -R pat -t pts/8 -a "wrong-$PW" auth
# su to pat from another user on the same terminal
pty_drive 4 -s stepup -u pat -R bob -t pts/7 -a "wrong-$PW" auth
# login: no PAM_RUSER, the caller is root
pty_drive 5 -s stepup -u pat -t pts/7 -a "wrong-$PW" auth
in_pty "$T/pty.sh"
grep -q 'RESULT auth PAM_SUCCESS' "$T/pty.1"
ok $? "step-up: first sign-in with password + code (sudo-like, on a terminal)"
[ $? -eq 0 ] || diag "$(cat "$T/pty.1")"
OUT=$T/pty.2
[ "$(result auth)" = PAM_SUCCESS ] && [ "$(result acct)" = PAM_SUCCESS ] && ! grep -q '^PROMPT' "$OUT"
ok $? "step-up: same user as themselves, same session and terminal, within max_auth_age: no prompt"
[ $? -eq 0 ] || diag "$(cat "$OUT")"
OUT=$T/pty.3
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT" && [ "$(result auth)" = PAM_AUTH_ERR ]
ok $? "step-up: another PAM_TTY gets the full flow"
OUT=$T/pty.4
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT" && [ "$(result auth)" = PAM_AUTH_ERR ]
ok $? "step-up: su to the user from another user (PAM_RUSER bob), same terminal: full flow"
OUT=$T/pty.5
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT" && [ "$(result auth)" = PAM_AUTH_ERR ]
ok $? "step-up: login (no PAM_RUSER, caller root), same terminal: full flow"
# another session with the same PAM_TTY name (a reused tty1 / pts): full flow
: >"$T/pty.sh"
pty_drive 6 -s stepup -u pat -R pat -t pts/7 -a "wrong-$PW" auth
in_pty "$T/pty.sh"
OUT=$T/pty.6
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT" && [ "$(result auth)" = PAM_AUTH_ERR ]
ok $? "step-up: the same PAM_TTY name in another session: full flow"
# no controlling terminal at all (a daemon, sshd): full flow
drive -s stepup -u pat -R pat -t pts/7 -a "wrong-$PW" auth
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT" && [ "$(result auth)" = PAM_AUTH_ERR ]
ok $? "step-up: no controlling terminal: full flow"
# login on tty1 leaves no window for the next person on tty1
: >"$T/pty.sh"
pty_drive 7 -s stepup -u ola -t tty1 -a "$PW" -a "$(code_for ola)" auth
in_pty "$T/pty.sh"
: >"$T/pty.sh"
pty_drive 8 -s stepup -u ola -t tty1 auth
in_pty "$T/pty.sh"
OUT=$T/pty.7
[ "$(result auth)" = PAM_SUCCESS ]
ok $? "step-up: ola signs in on login/tty1"
OUT=$T/pty.8
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT" && [ "$(result auth)" != PAM_SUCCESS ]
ok $? "step-up: the next sign-in on tty1 from another session needs the full flow"
mkdir -p "$T/svc-short"
conf stepup_short "max_auth_age = 2"
service "$T/svc-short" stepup stepup_short
SVC_SAVE=$SVC
SVC=$T/svc-short
: >"$T/pty.sh"
pty_drive 9 -s stepup -u pat -R pat -t pts/7 -a "$PW" -a "$(code_for pat 30)" auth
echo "sleep 3" >>"$T/pty.sh"
pty_drive 10 -s stepup -u pat -R pat -t pts/7 -a "wrong-$PW" auth
in_pty "$T/pty.sh"
SVC=$SVC_SAVE
OUT=$T/pty.9
[ "$(result auth)" = PAM_SUCCESS ]
ok $? "step-up: sign-in with a 2 s window"
[ $? -eq 0 ] || diag "$(cat "$OUT")"
OUT=$T/pty.10
grep -q '^PROMPT_ECHO_OFF: Password' "$OUT" && [ "$(result auth)" = PAM_AUTH_ERR ]
ok $? "step-up: outside the window the full flow runs again"

# --- threads and file descriptors ------------------------------------
drive -s main -T 4 -u t1 -u t2 -u t3 -u t4 -a "$PW" -a "!$T/code.sh %u 0 $T/codes" -F auth acct
[ $RC -eq 0 ] && [ "$(grep -c 'RESULT auth PAM_SUCCESS' "$OUT")" = 4 ]
ok $? "4 threads, one handle each, sign in at once: all PAM_SUCCESS"
grep -q '^FDS ' "$OUT" && ! grep -q 'FD LEFT OPEN' "$OUT"
ok $? "no file descriptor left open after pam_end ($(grep '^FDS' "$OUT"))"
[ $RC -eq 0 ] || diag "$(cat "$OUT" | head -n 30)"

# --- issue 16 item 5: cutting the network keeps the second factor -----
# After one online sign-in with password + TOTP, an attacker who has only
# the password must not get in by cutting the connection.
create_user oscar "$PW" "$(new_secret)" '["staff"]' || echo "Bail out! cannot create oscar"
conf skipmfa "max_auth_age = 0" "offline_mfa = skip"
service "$SVC" skipmfa skipmfa
drive -s main -u oscar -a "$PW" -a "$(code_for oscar)" auth
expect auth PAM_SUCCESS "downgrade: oscar signs in online with password + TOTP (fills the cache)"
# (1) the connection drops at InitiateAuth: no TOTP secret is held
# locally, so offline_mfa = require (default) means no offline sign-in.
admin fault '{"action":"drop","match":"InitiateAuth"}' >/dev/null
drive -s main -u oscar -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "downgrade (1): dropped at InitiateAuth, password only: PAM_AUTHINFO_UNAVAIL, not an offline sign-in"
hasnt "Signed in offline" && grep -q 'offline_mfa = require' "$LOG"
ok $? "downgrade (1): the log says why (offline_mfa = require), no 'Signed in offline'"
admin clear_faults '{}' >/dev/null
# (2) the pool asked for the code, then the connection drops when the code
# is sent: the pool answered, so no fallback even with offline_mfa = skip.
admin fault '{"action":"drop","match":"RespondToAuthChallenge","body_match":"SOFTWARE_TOKEN_MFA"}' >/dev/null
drive -s skipmfa -u oscar -a "$PW" -a "000000" auth
expect auth PAM_AUTHINFO_UNAVAIL "downgrade (2): dropped after the pool asked for the code: PAM_AUTHINFO_UNAVAIL (offline_mfa = skip)"
has "PROMPT_ECHO_OFF: Verification code" && hasnt "Signed in offline" &&
	grep -q '^4 .*no offline fallback' "$LOG"
ok $? "downgrade (2): the code was asked for, no offline sign-in, LOG_WARNING 'no offline fallback'"
drive -s main -u oscar -a "$PW" -a "000000" auth
expect auth PAM_AUTHINFO_UNAVAIL "downgrade (2): the same with the default configuration"
admin clear_faults '{}' >/dev/null

# --- issue 18 item 7: a typo'd key: nearest key named, logged once per sign-in
conf typo "max_auth_age = 0" "timout = 10s"
service "$SVC" typo typo
# ned signs in nowhere else: a code dave used earlier in this 30 s step
# would be refused as already used (the pool keeps the last time step).
drive -s typo -u ned -a "$PW" -a "$(code_for ned)" auth acct
[ "$(result auth)" = PAM_SUCCESS ] && [ "$(grep -c 'did you mean timeout?' "$LOG")" = 1 ]
st=$?
ok $st "a typo'd key: 'did you mean timeout?' logged once for auth + account, not per phase"
[ $st -eq 0 ] || diag "$(grep -i timout "$LOG")" "$(cat "$OUT" | tail -n 5)"

# --- issue 18 item 6: an unprovisioned pool user under sshd --------------------
# sshd sends "\b\n\r\177INCORRECT" when getpwnam fails: it never reaches the
# pool, and the log says how to provision the user.
service "$SVC" sshd main
before=$(stat_of InitiateAuth)
drive -s sshd -u carol -a "$(printf '\b\n\r\177INCORRECT')" auth
after=$(stat_of InitiateAuth)
[ "$(result auth)" = PAM_USER_UNKNOWN ] && [ "$before" = "$after" ] &&
	grep -q "carol has no NSS entry: run userpool user add carol" "$LOG"
st=$?
ok $st "sshd, no NSS entry: the dummy password is not sent to the pool; the log names userpool user add"
[ $st -eq 0 ] || diag "before=$before after=$after $(cat "$OUT" "$LOG" | tail -n 20)"

# --- issue 16 item 2: a pool name re-created for another person ---------------
uid_of() { sed -n "s/^$1:x:\([0-9]*\):.*/\1/p" "$T/state/nss/passwd"; }
service "$SVC" main main
create_user dana "$PW" "$(new_secret)" '["staff"]' || echo "Bail out! cannot create dana"
drive -s main -u dana -a "$PW" -a "$(code_for dana)" auth acct
expect auth PAM_SUCCESS "dana signs in: the name is bound to her account (issuer + sub)"
dana_uid=$(uid_of dana)
admin delete_user '{"username":"dana"}' >/dev/null
create_user dana "$PW2" "$(new_secret)" '["staff"]' || echo "Bail out! cannot re-create dana"
drive -s main -u dana -a "$PW2" -a "$(code_for dana)" auth acct
expect auth PAM_PERM_DENIED "a new pool account dana (another sub): PAM_PERM_DENIED"
grep -q "dana is bound to another account (sub changed): run userpool user rebind dana" "$LOG" &&
	has "userpool user rebind" && [ -n "$dana_uid" ] && [ "$(uid_of dana)" = "$dana_uid" ]
ok $? "new dana refused: log and message name userpool user rebind; uid $dana_uid is not hers"
"$top_builddir/tools/userpool" -c "$T/conf/main.conf" user rebind dana >"$T/rebind.out" 2>&1
ok $? "userpool user rebind dana: $(cat "$T/rebind.out")"
drive -s main -u dana -a "$PW2" -a "$(code_for dana 30)" auth acct
expect auth PAM_SUCCESS "after userpool user rebind the new dana signs in"
new_uid=$(uid_of dana)
[ -n "$new_uid" ] && [ "$new_uid" != "$dana_uid" ] && ! grep -q ":x:$dana_uid:" "$T/state/nss/passwd"
ok $? "the new dana has a new uid ($new_uid), the old uid $dana_uid is given to no one"

# --- offline ---------------------------------------------------------
pool_port=$(printf '%s' "$POOL_URL" | sed -n 's|^https://[^/]*:\([0-9]*\)/.*|\1|p')
pool_stop
# (3) a wrong-host certificate (signed by the right CA) at the pool's
# address: an attack, never "unreachable" (offline_mfa = skip isolates it).
POOL_ARGS=--wrong-host-cert pool_start "$pool_port" || echo "Bail out! wrong-host pool did not start"
drive -s skipmfa -u oscar -a "$PW" auth
expect auth PAM_AUTH_ERR "downgrade (3): wrong-host certificate: PAM_AUTH_ERR, no offline fallback"
has "certificate could not be verified" && hasnt "Signed in offline" &&
	grep -q '^4 .*TLS verification of .* failed' "$LOG"
ok $? "downgrade (3): 'certificate could not be verified', LOG_WARNING, no 'Signed in offline'"
pool_stop
drive -s main -u alice -a "$PW" auth acct
expect auth PAM_AUTHINFO_UNAVAIL "pool stopped, alice's last sign-in used MFA, no local TOTP secret: no offline sign-in (offline_mfa = require)"
drive -s skipmfa -u alice -a "$PW" auth acct
expect auth PAM_SUCCESS "pool stopped, offline_mfa = skip: alice signs in offline with her password"
has "INFO: Signed in offline — the user pool is unreachable" && hasnt "Verification code"
ok $? "offline: 'Signed in offline — the user pool is unreachable', no code prompt"
drive -s main -u mia -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "pool stopped, no cached entry: PAM_AUTHINFO_UNAVAIL"
conf lockout "offline_max_failures = 3" "offline_mfa = skip"
service "$SVC" lockout lockout
for i in 1 2 3; do
	drive -s lockout -u erin -a "wrong-$PW" auth
done
drive -s lockout -u erin -a "$PW" auth
expect auth PAM_MAXTRIES "offline: after offline_max_failures wrong passwords: PAM_MAXTRIES"

# --- issue 25: no message of any run above is PAM_MAX_MSG_SIZE or longer ---
big=$(grep -l '^OVERSIZE' "$T"/out.[0-9]* 2>/dev/null | wc -l)
[ "$big" = 0 ]
ok $? "every message of every run (enrolment, errors, prompts) is within PAM_MAX_MSG_SIZE ($big runs over)"

# --- debug logs hold no secrets -----------------------------------------------
scan_logs
[ -z "$leak" ] && [ "$(grep -c '^7 ' "$T/all.log")" -gt 10 ]
ok $? "debug logs ($(wc -l <"$T/all.log") lines) hold no password, code, TOTP secret or token${leak:+ — found:$leak}"
[ -z "$leak" ] || grep -n -F -f <(cat "$T/passwords" "$T/totp_secrets") "$T/all.log" | head -n 5 | sed 's/^/# /'

echo "1..$tap_n"
echo "# $tap_failed of $tap_n failed"
exit 0
