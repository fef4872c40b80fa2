#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 22: offline records bound to the machine's TPM (the tpm1 verifier),
# against swtpm on 127.0.0.1 (socket TCTI). The built pam_userpool.so through
# the real libpam (pamdrive, pam_start_confdir) against the test pool over
# HTTPS: offline sign-in through the TPM, state_dir copied to a second TPM
# refused, TPM cleared refused (and re-bound online), no TPM with tpm = auto
# (scrypt2, works) and tpm = yes (no offline record), a scrypt2 record
# upgraded to tpm1 at the next online sign-in; a TOTP secret held under the
# TPM-derived key opens offline, and is dropped (not opened any other way)
# when the TPM is cleared; tpm = no makes a bound record scrypt-only at the
# next online sign-in; `userpool status` and `userpool cache show`. TAP.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-tpm.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

SWTPM_PIDS=()
cleanup() {
	pool_stop
	for p in "${SWTPM_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root "root-owned configuration and state"
need_tools swtpm curl oathtool zbarimg
need_build

# swtpm_start NAME [PORT]: a TPM whose state is $T/NAME, on PORT (else two
# free ports: PORT for the commands, PORT+1 for swtpm's control channel);
# sets PORT_<NAME> and PID_<NAME>.
swtpm_start() {
	local port=${2:-}
	mkdir -p "$T/$1"
	[ -n "$port" ] || port=$("$PYTHON3" -c 'import socket
for _ in range(200):
    a = socket.socket(); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("127.0.0.1", p + 1)); print(p); break
    except OSError: pass
    finally: a.close(); b.close()')
	swtpm socket --tpm2 --tpmstate dir="$T/$1" \
		--server type=tcp,port="$port",bindaddr=127.0.0.1 \
		--ctrl type=tcp,port=$((port + 1)),bindaddr=127.0.0.1 \
		--flags not-need-init,startup-clear >>"$T/$1.log" 2>&1 &
	SWTPM_PIDS+=($!)
	printf -v "PID_$1" '%s' "$!"
	printf -v "PORT_$1" '%s' "$port"
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# swtpm_stop NAME
swtpm_stop() {
	local pid="PID_$1"
	kill "${!pid}" 2>/dev/null
	wait "${!pid}" 2>/dev/null
}

pam_env_start
swtpm_start A && swtpm_start B || { echo "Bail out! swtpm did not start"; exit 1; }
TCTI_A="swtpm:host=127.0.0.1,port=$PORT_A"
TCTI_B="swtpm:host=127.0.0.1,port=$PORT_B"
PW='Tpm-Passw0rd-22'
printf '%s\n' "$PW" >>"$T/passwords"
pool_port=$(printf '%s' "$POOL_URL" | sed -n 's|^https://[^/]*:\([0-9]*\)/.*|\1|p')

conf yes "max_auth_age = 0" "mfa = optional" "tpm = yes" "tpm_tcti = $TCTI_A"
service "$SVC" yes yes
conf auto "max_auth_age = 0" "mfa = optional" "tpm = auto" "tpm_tcti = $TCTI_A"
service "$SVC" auto auto
conf none "max_auth_age = 0" "mfa = optional" "tpm = auto" "tpm_tcti = device:/dev/tpm-none"
service "$SVC" none none
conf yesmfa "max_auth_age = 0" "tpm = yes" "tpm_tcti = $TCTI_A"
service "$SVC" yesmfa yesmfa
conf off "max_auth_age = 0" "mfa = optional" "tpm = no" "tpm_tcti = $TCTI_A"
service "$SVC" off off
conf noyes "max_auth_age = 0" "mfa = optional" "tpm = yes" "tpm_tcti = device:/dev/tpm-none"
service "$SVC" noyes noyes
# the same state_dir copied to another machine: its own TPM (B)
conf other "max_auth_age = 0" "mfa = optional" "tpm = auto" "tpm_tcti = $TCTI_B"
sed -i "s|^state_dir = .*|state_dir = $T/state2|" "$T/conf/other.conf"
service "$SVC" other other
up() { "$top_builddir/tools/userpool" -c "$T/conf/$1.conf" "${@:2}"; }
keyid() { rec_get "$1" verifier | cut -d'$' -f2; }
if [ "$(up none --json status 2>/dev/null | json_get tpm.built)" != True ]; then
	echo "1..0 # SKIP built without TPM support (tpm2-tss)"
	exit 0
fi

# --- otto: an authenticator set up at sign-in (MFA_SETUP), the TOTP secret
# wrapped under the key that comes out of the TPM too ------------------------
create_user otto "$PW" "" '["staff"]' || echo "Bail out! cannot create otto"
drive -s yesmfa -u otto -a "$PW" -a "!$PYTHON3 $top_srcdir/tests/pam/enroll_code.py %i $T/otto.uri" auth
expect auth PAM_SUCCESS "otto enrols an authenticator at sign-in (MFA_SETUP), tpm = yes"
sed -n 's/.*[?&]secret=\([A-Z2-7]*\).*/\1/p' "$T/otto.uri" >"$T/secrets/otto"
cat "$T/secrets/otto" >>"$T/totp_secrets"
[[ "$(rec_get otto verifier)" == tpm1\$* ]] && [[ "$(rec_get otto mfa_secret)" == gcm1\$* ]]
ok $? "otto's record: a tpm1 verifier and the TOTP secret held wrapped (gcm1)"

# the others: passwords only
admin set_pool_mfa '{"mfa":"OFF"}' >/dev/null || echo "Bail out! cannot turn the pool's MFA off"
for u in tess ava yan; do
	create_user "$u" "$PW" "" '["staff"]' || echo "Bail out! cannot create $u"
done

# --- online: tpm = yes binds the record ------------------------------------
drive -s yes -u tess -a "$PW" auth acct
expect auth PAM_SUCCESS "tpm = yes: tess signs in online"
v=$(rec_get tess verifier)
K=$(keyid tess)
[[ "$v" == tpm1\$*\$16384\$8\$1\$* ]] && [ ${#K} -eq 16 ] && [ -s "$T/state/tpm/hmac.key" ]
ok $? "tess's record holds a tpm1\$<key id>\$16384\$8\$1\$ verifier; the machine key is in state_dir/tpm"
drive -s none -u ava -a "$PW" auth
expect auth PAM_SUCCESS "no TPM, tpm = auto: ava signs in online"
[[ "$(rec_get ava verifier)" == scrypt2\$* ]]
ok $? "no TPM, tpm = auto: ava's record is scrypt2"
# (the verifier helper logs the derivation: its log, tests/pam/lib.sh)
drive -s noyes -u yan -a "$PW" auth
expect auth PAM_SUCCESS "no TPM, tpm = yes: yan's online sign-in still succeeds"
[ -z "$(rec_get yan verifier)" ] && grep -q 'tpm = yes and no usable TPM' "$LOG" "$T/logs/verifier"
ok $? "no TPM, tpm = yes: no offline verifier for yan, and the log says why"

up auto status >"$T/status.out" 2>&1
grep -q "^TPM: used (tpm = auto, $TCTI_A): reachable, machine key $K\$" "$T/status.out" &&
	grep -q 'offline records: 2 bound to the TPM, 1 without it (bound at their next online sign-in)' "$T/status.out"
ok $? "userpool status: the TPM used, reachable, its key id, 2 records bound and 1 not" ||
	diag "$(cat "$T/status.out")"
up none status >"$T/status2.out" 2>&1
grep -q '^TPM: not used (tpm = auto, device:/dev/tpm-none): not reachable' "$T/status2.out"
ok $? "userpool status without a TPM: not used, not reachable" || diag "$(cat "$T/status2.out")"
up auto --json status >"$T/status.json" 2>/dev/null
[ "$(json_get tpm.records_bound <"$T/status.json")" = 2 ] &&
	[ "$(json_get tpm.records_without_tpm <"$T/status.json")" = 1 ] &&
	[ "$(json_get tpm.key_id <"$T/status.json")" = "$K" ]
ok $? "userpool --json status: tpm.records_bound 2, records_without_tpm 1, tpm.key_id"
up auto cache show tess >"$T/show.out" 2>&1
grep -q "verifier *tpm1 (bound to the TPM, machine key $K)" "$T/show.out"
ok $? "userpool cache show tess: tpm1 and the key id" || diag "$(cat "$T/show.out")"
up auto cache show ava >"$T/show2.out" 2>&1
grep -q "verifier *scrypt2 (not bound to a TPM)" "$T/show2.out"
ok $? "userpool cache show ava: scrypt2"

# --- tpm2-tss loaded at first use (issue 21) ----------------------------------
# What sudo, su or sshd loads (the module, the library, the NSS module) names
# no libtss2: lib/tss.c dlopens the TPM's libraries when a record is bound or
# checked through the TPM (as the sign-ins above and below do).
if command -v readelf >/dev/null 2>&1; then
	needed=$(for f in "$UP_PAM_MODULE" "$top_builddir/.libs/libuserpool.so" \
		"$top_builddir/nss/.libs/libnss_userpool.so.2" "$top_builddir/tools/.libs/userpool" \
		"$top_builddir/tools/userpool-verifier"; do readelf -d "$f" || echo "MISSING $f"; done 2>&1 |
		grep -E 'NEEDED|MISSING')
	grep -q 'libc\.so' <<<"$needed" && ! grep -qE 'libtss2|MISSING' <<<"$needed"
	ok $? "no libtss2 among the NEEDED entries of pam_userpool.so, libuserpool.so, the NSS module and the tools" ||
		diag "$needed"
else
	ok 0 "NEEDED entries # SKIP no readelf"
fi
# A tpm2-tss library missing (its file covered by an empty one in a private
# mount namespace): the TPM is absent, and the detail names the library.
esys=$(readlink -f "$(ldconfig -p | sed -n 's/^[[:space:]]*libtss2-esys\.so\.0 .*=> //p' | head -n1)")
printf '#!/bin/sh\nexec unshare -m sh -c '\''mount --bind /dev/null "$0" && exec "$@"'\'' "%s" "$@"\n' \
	"$esys" >"$T/noesys"
chmod 0755 "$T/noesys"
if [ -f "$esys" ] && "$T/noesys" true 2>/dev/null; then
	create_user zed "$PW" "" '["staff"]' || echo "Bail out! cannot create zed"
	create_user zoe "$PW" "" '["staff"]' || echo "Bail out! cannot create zoe"
	pamdrive_real=$PAMDRIVE
	PAMDRIVE=$T/pamdrive-noesys
	printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$T/noesys" "$pamdrive_real" >"$PAMDRIVE"
	chmod 0755 "$PAMDRIVE"
	drive -s yes -u zed -a "$PW" auth
	expect auth PAM_SUCCESS "libtss2-esys missing, tpm = yes: zed's online sign-in still succeeds"
	[ -z "$(rec_get zed verifier)" ] &&
		grep -q 'tpm = yes and no usable TPM (no TPM: tpm2-tss not loaded: .*libtss2-esys\.so\.0' \
			"$LOG" "$T/logs/verifier"
	ok $? "libtss2-esys missing, tpm = yes: no offline verifier for zed, the log names the library" ||
		diag "$(tail -n 5 "$T/logs/verifier")"
	drive -s auto -u zoe -a "$PW" auth
	expect auth PAM_SUCCESS "libtss2-esys missing, tpm = auto: zoe signs in online"
	[[ "$(rec_get zoe verifier)" == scrypt2\$* ]]
	ok $? "libtss2-esys missing, tpm = auto: the TPM counts as absent, zoe's record is scrypt2"
	PAMDRIVE=$pamdrive_real
	"$T/noesys" "$top_builddir/tools/userpool" -c "$T/conf/yes.conf" status >"$T/status-noesys.out" 2>&1
	st=$?
	[ $st = 1 ] && grep -q "^TPM: not used (tpm = yes, $TCTI_A): not reachable" "$T/status-noesys.out" &&
		grep -q '^  no TPM: tpm2-tss not loaded: .*libtss2-esys\.so\.0' "$T/status-noesys.out"
	ok $? "libtss2-esys missing: userpool status runs, says not reachable and names the library (exit 1, tpm = yes)" ||
		diag "exit $st" "$(cat "$T/status-noesys.out")"
	# the library back: zoe's next online sign-in binds her record
	drive -s auto -u zoe -a "$PW" auth
	[[ "$(rec_get zoe verifier)" == tpm1\$* ]]
	ok $? "libtss2-esys back: zoe's next online sign-in binds her record to the TPM"
else
	ok 0 "tpm2-tss library missing # SKIP no private mount namespace here (unshare -m)"
fi

cp -a "$T/state" "$T/state2"

# --- offline through the TPM -------------------------------------------------
pool_stop
drive -s yes -u tess -a "$PW" auth
expect auth PAM_SUCCESS "pool stopped: tess signs in offline through the TPM"
has "INFO: Signed in offline"
ok $? "offline through the TPM: 'Signed in offline'"
drive -s yes -u tess -a "wrong-$PW" auth
expect auth PAM_AUTH_ERR "offline through the TPM: a wrong password is refused"
[ "$(rec_get tess failures)" = 1 ]
ok $? "offline through the TPM: the wrong password is counted"
drive -s none -u ava -a "$PW" auth
expect auth PAM_SUCCESS "no TPM, tpm = auto: ava's scrypt2 record signs in offline"
drive -s noyes -u yan -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "no TPM, tpm = yes: yan has no offline record"
drive -s yesmfa -u otto -a "$PW" -a "$(code_for otto 30)" auth
expect auth PAM_SUCCESS "offline through the TPM: otto's password + code (the TPM's key opens the secret)"
has "INFO: Signed in offline" && grep -q 'password and verification code checked locally' "$LOG"
ok $? "otto offline: the code was checked locally against the secret the TPM's key unwrapped"

# --- state_dir copied to another machine (TPM B) ---------------------------------
for pw in "$PW" "wrong-$PW"; do
	drive -s other -u tess -a "$pw" auth
	expect auth PAM_AUTHINFO_UNAVAIL "state_dir copied to another TPM: refused ($([ "$pw" = "$PW" ] && echo right || echo wrong) password)"
	grep -q 'the TPM that sealed this record is gone: sign in online once' "$LOG" && hasnt "Signed in offline"
	ok $? "copied state_dir: the log says the TPM that sealed the record is gone" || diag "$(cat "$LOG")"
done
f2=$(json_get failures <"$T/state2/users/$(basename "$(rec_file tess)")")
[ "$f2" = 0 ]
ok $? "copied state_dir: a refusal by the TPM is not counted as a wrong password"

# --- the TPM cleared ---------------------------------------------------------
# A fresh TPM at the same address: its state (the seeds the machine key
# hangs off) wiped, as a TPM clear or a replaced board would.
swtpm_stop A
rm -rf "$T/A"
swtpm_start A "$PORT_A"
ok $? "TPM A wiped and started fresh on the same port"
drive -s yes -u tess -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "TPM cleared: tess's offline sign-in is refused"
grep -q 'the TPM that sealed this record is gone: sign in online once' "$LOG"
ok $? "TPM cleared: the log line"
drive -s yesmfa -u otto -a "$PW" -a "$(code_for otto 30)" auth
expect auth PAM_AUTHINFO_UNAVAIL "TPM cleared: otto's offline sign-in is refused"
grep -q 'the TPM that sealed this record is gone' "$LOG" && hasnt "PROMPT_ECHO_OFF: Verification code"
ok $? "TPM cleared: otto is refused before any code is asked (the secret cannot be opened)"
# a record edited to the weaker scheme word is refused, not checked weaker
cp "$(rec_file tess)" "$T/tess.json"
edit_rec tess 'r["verifier"] = "scrypt2$" + r["verifier"].split("$", 2)[2]'
drive -s yes -u tess -a "$PW" auth
expect auth PAM_AUTHINFO_UNAVAIL "a tpm1 record rewritten as scrypt2: refused (below scrypt2's cost floor)"
cp "$T/tess.json" "$(rec_file tess)"

pool_start "$pool_port" || echo "Bail out! the pool did not restart"
drive -s yes -u tess -a "$PW" auth
expect auth PAM_SUCCESS "TPM cleared: tess signs in online"
K2=$(keyid tess)
[ -n "$K2" ] && [ "$K2" != "$K" ] &&
	grep -q "tess: offline record re-bound to the TPM's machine key $K2 (was $K)" "$LOG" "$T/logs/verifier"
ok $? "TPM cleared: the online sign-in re-binds tess to a new machine key ($K -> $K2)"
admin set_pool_mfa '{"mfa":"ON"}' >/dev/null || echo "Bail out! cannot turn the pool's MFA on"
drive -s yesmfa -u otto -a "$PW" -a "$(code_for otto 30)" auth
expect auth PAM_SUCCESS "TPM cleared: otto signs in online (password + code)"
[[ "$(rec_get otto verifier)" == tpm1\$"$K2"\$* ]] && [ -z "$(rec_get otto mfa_secret)" ] &&
	grep -q 'otto: the password of this sign-in does not open the offline TOTP secret held for this user (.*): dropped' "$LOG" "$T/logs/verifier"
ok $? "TPM cleared: otto re-bound to $K2; the TOTP secret sealed by the old TPM is dropped (logged)"
admin set_pool_mfa '{"mfa":"OFF"}' >/dev/null || echo "Bail out! cannot turn the pool's MFA off"

# --- a scrypt2 record upgraded at the next online sign-in ------------------------
drive -s auto -u ava -a "$PW" auth
expect auth PAM_SUCCESS "TPM now usable: ava signs in online"
[[ "$(rec_get ava verifier)" == tpm1\$"$K2"\$* ]] &&
	grep -q "ava: offline record bound to the TPM (machine key $K2)" "$LOG" "$T/logs/verifier"
ok $? "ava's scrypt2 record is now tpm1 under the machine key (logged)"
pool_stop
drive -s auto -u ava -a "$PW" auth
expect auth PAM_SUCCESS "ava signs in offline through the TPM after the upgrade"
drive -s yes -u tess -a "$PW" auth
expect auth PAM_SUCCESS "tess signs in offline again after the re-binding"

# --- tpm = no: a bound record still checks through the TPM, and is made
# scrypt-only at the next online sign-in ---------------------------------------
drive -s off -u tess -a "$PW" auth
expect auth PAM_SUCCESS "tpm = no: tess's tpm1 record still signs in offline (through the TPM)"
pool_start "$pool_port" || echo "Bail out! the pool did not restart"
drive -s off -u tess -a "$PW" auth
expect auth PAM_SUCCESS "tpm = no: tess signs in online"
[[ "$(rec_get tess verifier)" == scrypt2\$* ]] &&
	grep -q 'tess: offline record no longer bound to the TPM (scrypt2)' "$LOG" "$T/logs/verifier"
ok $? "tpm = no: tess's record is scrypt2 after the online sign-in (logged)"

scan_logs
[ -z "$leak" ]
ok $? "no password in the module's logs${leak:+ (found:$leak)}"
echo "1..$tap_n"
echo "# $tap_failed of $tap_n failed"
exit 0
