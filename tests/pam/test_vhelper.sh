#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 21 item 1: the offline verifier is derived by a helper process
# (verifier_helper, tools/userpool-verifier) after the module returned. The
# record is written marked before the module returns (no offline sign-in
# matches it: fail closed), the helper writes the verifier afterwards; a
# password changed at the pool is useless offline as soon as the next online
# sign-in returns; a missing or unstartable helper falls back to the
# derivation in the call. The helper is held back deterministically by
# taking the only derivation slot (kdf_slots = 1) with flock(1). The built
# pam_userpool.so through the real libpam (pamdrive). TAP.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-vhelper.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

HOLD=
release() { # let the held-back helper take its slot
	: >"$T/release"
	[ -z "$HOLD" ] || wait "$HOLD" 2>/dev/null
	HOLD=
}
cleanup() {
	release
	pool_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_root "root-owned configuration and state"
need_tools oathtool curl flock
need_build
[ -x "$UP_VERIFIER" ] || { echo "1..0 # SKIP build first: $UP_VERIFIER"; exit 0; }
pam_env_start
PW='Helper-Passw0rd-1'
PW2='Helper-NewPassw0rd-2'
printf '%s\n' "$PW2" >>"$T/passwords"
pool_port=$(printf '%s' "$POOL_URL" | sed -n 's|^https://[^/]*:\([0-9]*\)/.*|\1|p')

conf main "kdf_slots = 1" "offline_mfa = skip"
service "$SVC" main main
# The helper itself, not the logging wrapper: its argv and environment.
# "direct": the helper itself (no logging wrapper), a copy of its own, so that
# helper_pid finds this test's helper and not one of a test running beside it
mkdir -p "$T/direct" && cp "$UP_VERIFIER" "$T/direct/userpool-verifier" ||
	echo "Bail out! cannot copy $UP_VERIFIER"
DIRECT_HELPER=$T/direct/userpool-verifier
VERIFIER_HELPER=$DIRECT_HELPER conf direct "kdf_slots = 1" "offline_mfa = skip"
service "$SVC" direct direct
VERIFIER_HELPER=$T/no-such-helper conf missing "offline_mfa = skip"
service "$SVC" missing missing
printf 'not a program\n' >"$T/not-a-program"
chmod 755 "$T/not-a-program"
VERIFIER_HELPER=$T/not-a-program conf noexec "offline_mfa = skip"
service "$SVC" noexec noexec

# hold: take the only derivation slot, so a helper waits for it (bounded:
# the holder gives it up after 60 s on its own).
hold() {
	rm -f "$T/held" "$T/release"
	(
		flock -x 9 || exit 1
		: >"$T/held"
		for _ in $(seq 1 1200); do
			[ -e "$T/release" ] && break
			sleep 0.05
		done
	) 9>>"$T/state/kdf/slot.0" &
	HOLD=$!
	for _ in $(seq 1 200); do
		[ -e "$T/held" ] && return 0
		sleep 0.05
	done
	return 1
}
verifier_of() { rec_get "$1" verifier; }
# The helper process (its executable is the build's), by /proc.
helper_pid() {
	local p exe want
	want=$(readlink -f "$DIRECT_HELPER")
	for _ in $(seq 1 200); do
		for p in /proc/[0-9]*; do
			exe=$(readlink "$p/exe" 2>/dev/null) || continue
			[ "$exe" = "$want" ] && { basename "$p"; return 0; }
		done
		sleep 0.05
	done
	return 1
}
offline_signin() { # offline_signin USER PASSWORD (the pool is stopped; starts no helper)
	NO_SETTLE=1 drive -s main -u "$1" -a "$2" auth
}

# Authenticators set up in the pool (none held locally): offline_mfa = skip
# signs them in offline with the password alone.
for u in vera walt xena; do
	create_user "$u" "$PW" "$(new_secret)" || echo "Bail out! cannot create $u"
done

# --- the record after the module returned --------------------------------
drive -s main -u vera -a "$PW" -a "$(code_for vera -30)" auth
expect auth PAM_SUCCESS "vera signs in online (the helper derives her verifier)"
grep -Eq '^(scrypt2|tpm1)\$' <<<"$(verifier_of vera)"
ok $? "after the helper: vera's record holds a scrypt2\$/tpm1\$ verifier"

hold || echo "Bail out! cannot take the derivation slot"
NO_SETTLE=1 drive -s direct -u vera -a "$PW" -a "$(code_for vera)" auth
expect auth PAM_SUCCESS "vera signs in online while the only derivation slot is taken"
grep -q '^pending\$' <<<"$(verifier_of vera)"
ok $? "the module returned before the verifier was derived: the record is marked pending"
pid=$(helper_pid)
ok $? "the helper process runs after the module returned (pid ${pid:-none})"
if [ -n "$pid" ]; then
	[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "userpool-verifier " ] &&
		! grep -qF -- "$PW" "/proc/$pid/cmdline"
	ok $? "the helper's argv is its name alone: no password"
	[ ! -s "/proc/$pid/environ" ]
	ok $? "the helper's environment is empty: no password"
	# stdin (the socket) is closed once the work is read; nothing of the
	# sign-in's process (pamdrive's transcript and log files) is open.
	fds=$(for f in "/proc/$pid/fd/"*; do readlink "$f"; done)
	[ "$(readlink "/proc/$pid/fd/1")" = /dev/null ] && [ "$(readlink "/proc/$pid/fd/2")" = /dev/null ] &&
		! grep -qE "^$T/(out\.|logs/)" <<<"$fds"
	st=$?
	ok $st "the helper's stdout and stderr are /dev/null, none of the sign-in's files is open"
	[ "$st" -eq 0 ] || diag "$fds"
	# It yields the CPU: nice 19, and its session's autogroup too (each
	# session is a scheduling group of its own, where nice alone weighs
	# nothing against the other groups).
	[ "$(awk '{print $19}' "/proc/$pid/stat")" = 19 ] &&
		{ [ ! -e "/proc/$pid/autogroup" ] || grep -q ' nice 19$' "/proc/$pid/autogroup"; }
	st=$?
	ok $st "the helper runs at nice 19, its session's scheduling group too"
	[ "$st" -eq 0 ] || diag "$(cat "/proc/$pid/autogroup" 2>&1)"
	ppid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")
	[ "$ppid" != "$$" ] && ! grep -q "pamdrive" "/proc/$ppid/cmdline" 2>/dev/null
	ok $? "the helper is no child of the sign-in's process (double fork)"
else
	for n in argv environment stdio priority parent; do ok 1 "helper $n (no helper found)"; done
fi
pool_stop
offline_signin vera "$PW"
expect auth PAM_AUTHINFO_UNAVAIL "pool stopped while the verifier is pending: no offline sign-in (fail closed)"
grep -q 'still being derived' "$LOG"
ok $? "pending: the log says the verifier is still being derived"
release
settle
ok $? "the slot freed: the helper writes the record"
grep -Eq '^(scrypt2|tpm1)\$' <<<"$(verifier_of vera)"
ok $? "vera's record holds the helper's verifier"
offline_signin vera "$PW"
expect auth PAM_SUCCESS "pool stopped: the helper's verifier checks the password just used"
offline_signin vera "wrong-$PW"
expect auth PAM_AUTH_ERR "pool stopped: a wrong password is refused by the helper's verifier"

# --- a password changed at the pool --------------------------------------
pool_start "$pool_port" || echo "Bail out! the pool did not start again"
admin set_password '{"username":"vera","password":"'"$PW2"'"}' >/dev/null
hold || echo "Bail out! cannot take the derivation slot"
# as if another sign-in's helper had just started: a burst
touch "$T/state/kdf/started"
NO_SETTLE=1 drive -s main -u vera -a "$PW2" -a "$(code_for vera 30)" auth
expect auth PAM_SUCCESS "vera signs in online with the password changed at the pool"
pool_stop
offline_signin vera "$PW"
expect auth PAM_AUTHINFO_UNAVAIL "right after that sign-in returned: the old password fails offline"
offline_signin vera "$PW2"
expect auth PAM_AUTHINFO_UNAVAIL "and the new one waits for the helper (fail closed, no old verifier)"
release
settle
ok $? "the helper writes the new password's verifier"
grep -q 'waited [0-9]* ms, until no helper had started for 300 ms' "$T/logs/verifier"
st=$?
ok $st "another helper had just started (a burst): this one waited for the burst to end"
[ "$st" -eq 0 ] || diag "$(tail -n 8 "$T/logs/verifier")"
offline_signin vera "$PW"
expect auth PAM_AUTH_ERR "after the helper: the old password is refused offline"
offline_signin vera "$PW2"
expect auth PAM_SUCCESS "after the helper: the new password signs in offline"

# --- no helper: the derivation in the call --------------------------------
pool_start "$pool_port" || echo "Bail out! the pool did not start again"
NO_SETTLE=1 drive -s missing -u walt -a "$PW" -a "$(code_for walt)" auth
expect auth PAM_SUCCESS "verifier_helper missing: walt signs in online"
grep -Eq '^(scrypt2|tpm1)\$' <<<"$(verifier_of walt)"
ok $? "missing helper: the verifier is in the record when the module returns (derived in the call)"
grep -q '^4 .*verifier_helper .* is not usable' "$LOG"
ok $? "missing helper: logged at LOG_WARNING"
NO_SETTLE=1 drive -s noexec -u xena -a "$PW" -a "$(code_for xena)" auth
expect auth PAM_SUCCESS "verifier_helper not a program (execve fails): xena signs in online"
grep -Eq '^(scrypt2|tpm1)\$' <<<"$(verifier_of xena)" &&
	grep -q '^4 .*cannot start the verifier helper' "$LOG"
ok $? "execve failure: derived in the call, logged at LOG_WARNING"
pool_stop
offline_signin walt "$PW"
expect auth PAM_SUCCESS "pool stopped: walt's in-call verifier checks his password"
offline_signin xena "$PW"
expect auth PAM_SUCCESS "pool stopped: xena's in-call verifier checks her password"

scan_logs
[ -z "$leak" ] && [ -s "$T/logs/verifier" ]
ok $? "the module's and the helper's logs hold no password or token${leak:+ (found:$leak)}"
echo "1..$tap_n"
[ "$tap_failed" -eq 0 ] || diag "$tap_failed of $tap_n failed"
exit 0
