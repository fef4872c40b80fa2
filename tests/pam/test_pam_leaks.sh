#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 6: many sign-ins through the real libpam and pam_userpool.so in one
# process under valgrind, with no definite leak and no memory error.
# UP_PAM_LEAK_ROUNDS sets the number of sign-ins (default 1000, the issue's
# figure). auth_flow = password, mfa = optional and offline = no keep each
# round to one HTTPS request and no scrypt, so the loop measures the module,
# the library, OpenSSL and libpam rather than key stretching.
# Prints TAP.

set -u
export LC_ALL=C.UTF-8
T=$(mktemp -d /tmp/userpool-pamleak.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"
ROUNDS=${UP_PAM_LEAK_ROUNDS:-1000}

cleanup() {
	pool_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (root-owned configuration and state)"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	echo "1..0 # SKIP valgrind missing"
	exit 0
fi
if [ ! -x "$PAMDRIVE" ] || [ ! -e "$UP_PAM_MODULE" ]; then
	echo "1..0 # SKIP build first: $PAMDRIVE / $UP_PAM_MODULE"
	exit 0
fi

echo "1..4"
mkdir -p "$T/secrets"
: >"$T/passwords"
if ! pool_start; then
	echo "Bail out! the test pool did not start"
	exit 1
fi
admin set_pool_mfa '{"mfa":"OFF"}' >/dev/null
create_user leaky "Passw0rd-leak1" "" '["staff"]'
conf leak "auth_flow = password" "mfa = optional" "offline = no"
service "$T/svc" leak leak

# The same loop without valgrind first: a failure here is a functional one.
"$PAMDRIVE" -d "$T/svc" -s leak -D -q -n 3 -u leaky -a "Passw0rd-leak1" auth acct >"$T/plain.out" 2>&1
st=$?
ok $st "3 sign-ins without valgrind succeed"
[ $st -eq 0 ] || diag "$(head -n 20 "$T/plain.out")"

# Load and unload: libpam dlopens the module (and with it libssl and libcrypto)
# on every pam_start and dlcloses it at pam_end.
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	--error-exitcode=99 --log-file="$T/vg0.log" \
	"$PAMDRIVE" -d "$T/svc" -s leak -D -q -n 10 -u leaky -a "Passw0rd-leak1" auth acct \
	>"$T/vg0.out" 2>&1
st=$?
ok $st "10 sign-ins under valgrind, module loaded and unloaded each round: no error, no definite leak"
[ $st -eq 0 ] || diag "exit $st" "$(head -n 60 "$T/vg0.log")" "$(head -n 10 "$T/vg0.out")"

# The long run keeps the module resident (-k), as a daemon would, so that
# valgrind does not re-read its symbols on every round.
start=$(date +%s)
valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	--error-exitcode=99 --log-file="$T/vg.log" \
	"$PAMDRIVE" -k "$UP_PAM_MODULE" -d "$T/svc" -s leak -D -q -n "$ROUNDS" -u leaky -a "Passw0rd-leak1" auth acct \
	>"$T/vg.out" 2>&1
st=$?
secs=$(($(date +%s) - start))
[ $st -eq 0 ]
ok $? "$ROUNDS sign-ins (auth + account, new handle each) in one process under valgrind: all PAM_SUCCESS, no error, no definite leak (${secs}s)"
[ $st -eq 0 ] || diag "exit $st" "$(head -n 60 "$T/vg.log")" "$(head -n 10 "$T/vg.out")"
n=$(admin stats '{}' | json_get targets.InitiateAuth)
[ "${n:-0}" -ge $((ROUNDS + 13)) ]
ok $? "the pool saw every sign-in (InitiateAuth: ${n:-0})"
exit 0
