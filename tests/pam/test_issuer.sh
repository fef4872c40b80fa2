#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 20, tokens: with `issuer` (and endpoint, jwks_uri) unset, a Cognito
# pool's tokens verify under both issuer forms AWS's verifier accepts,
# https://cognito-idp.<region>.amazonaws.com/<pool> and
# https://issuer-cognito-idp.<region>.amazonaws.com/<pool>, each with the key
# set fetched from its own host; a third form, or an issuer naming another
# pool or region, is refused; setting issuer allows only that one. Through
# the real libpam against the test pool, which listens on 127.0.0.1:443 in
# a private network namespace where AWS's host names resolve to it (a hosts
# file bind-mounted over /etc/hosts in a private mount namespace). Prints TAP.

set -u
export LC_ALL=C.UTF-8

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (network and mount namespaces, port 443)"
	exit 0
fi
if [ -z "${UP_ISSUER_INNER:-}" ]; then
	if ! command -v unshare >/dev/null || ! command -v ip >/dev/null ||
		! unshare -n -m --propagation private true 2>/dev/null; then
		echo "1..0 # SKIP no private network + mount namespace (unshare -n -m, ip)"
		exit 0
	fi
	exec env UP_ISSUER_INNER=1 unshare -n -m --propagation private "$0" "$@"
fi

T=$(mktemp -d /tmp/userpool-issuer.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

cleanup() {
	pool_stop
	umount /etc/hosts 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_tools oathtool curl
need_build

REGION=us-east-1
H1=cognito-idp.$REGION.amazonaws.com
H2=issuer-cognito-idp.$REGION.amazonaws.com
H3=cognito-idp-fips.$REGION.amazonaws.com
ip link set lo up || { echo "Bail out! no loopback in the network namespace"; exit 1; }
printf '127.0.0.1 localhost %s %s %s\n' "$H1" "$H2" "$H3" >"$T/hosts"
mount --bind "$T/hosts" /etc/hosts || { echo "Bail out! cannot bind-mount /etc/hosts"; exit 1; }

mkdir -p "$T/secrets" "$T/logs" "$T/svc"
: >"$T/passwords"
: >"$T/totp_secrets"
: >"$T/codes"
write_code_sh
POOL_ARGS="--tls-names $H1,$H2,$H3"
if ! pool_start 443; then
	echo "Bail out! the test pool did not start on 127.0.0.1:443"
	exit 1
fi
SVC=$T/svc
LOGN=0

check() { # check NAME (after a test command): ok with the transcript on failure
	local st=$?
	ok $st "$1"
	[ $st -eq 0 ] || diag "$(head -n 30 "$OUT")" "$(tail -n 8 "$LOG" 2>/dev/null)"
}
iss_base() { admin set_issuer_base "{\"base\": $1}" >/dev/null || echo "Bail out! set_issuer_base"; }
jwks_hosts() { admin jwks_hosts '{"reset": true}' | json_get hosts; }

# Nothing derived from the pool's own URL: region and pool id only.
derived_conf() { # derived_conf NAME [lines...]
	local name=$1
	shift
	{
		echo "region = $REGION"
		echo "user_pool_id = $POOL_ID"
		echo "client_id = $CLIENT_ID"
		echo "ca_file = $T/ca/ca.pem"
		echo "state_dir = $T/state"
		echo "timeout = 10s"
		for l in "$@"; do echo "$l"; done
	} >"$T/conf/$name.conf"
	chmod 0600 "$T/conf/$name.conf"
}
mkdir -p "$T/conf"
derived_conf derived
derived_conf pinned "issuer = https://$H1/$POOL_ID"
service "$SVC" derived derived
service "$SVC" pinned pinned

PW=Passw0rd-test1
for u in ida ines iris ivo igor ilse; do create_user "$u" "$PW" "$(new_secret)" '["staff"]'; done

# 1. the classic form: keys from cognito-idp.
iss_base "\"https://$H1\""
jwks_hosts >/dev/null
drive -s derived -u ida -a "$PW" -a "$(code_for ida)" auth
expect auth PAM_SUCCESS "issuer unset, iss = https://$H1/<pool>: PAM_SUCCESS"
[ "$(jwks_hosts)" = "[\"$H1\"]" ]
check "the key set came from $H1"

# 2. the new form: keys from issuer-cognito-idp.
iss_base "\"https://$H2\""
drive -s derived -u ines -a "$PW" -a "$(code_for ines)" auth
expect auth PAM_SUCCESS "issuer unset, iss = https://$H2/<pool>: PAM_SUCCESS"
[ "$(jwks_hosts)" = "[\"$H2\"]" ]
check "the key set came from $H2, the host of that issuer"
h=$(printf '%s\n%s' "https://$H1/$POOL_ID" ines | sha256sum | cut -d' ' -f1)
grep -q "\"issuer\": *\"https://$H1/$POOL_ID\"" "$T/state/users/$h.json" 2>/dev/null
check "the sign-in under the new form is recorded under the pool's first form (one identity)"

# 3. a third form the pool could name: refused.
iss_base "\"https://$H3\""
drive -s derived -u iris -a "$PW" -a "$(code_for iris)" auth
expect auth PAM_AUTH_ERR "iss = https://$H3/<pool> (a third form): refused"
grep -q "iss mismatch" "$LOG"
check "third form: the log says iss mismatch"

# 4. an issuer the token chooses (another pool, another region): refused.
iss_base "\"https://$H2/x/../us-east-1_Other#\""
drive -s derived -u ivo -a "$PW" -a "$(code_for ivo)" auth
expect auth PAM_AUTH_ERR "iss naming another path of the issuer-cognito-idp host: refused"
iss_base "\"https://issuer-cognito-idp.eu-west-1.amazonaws.com\""
drive -s derived -u igor -a "$PW" -a "$(code_for igor)" auth
expect auth PAM_AUTH_ERR "iss = issuer-cognito-idp of another region: refused"
grep -q "iss mismatch" "$LOG" && [ -z "$(jwks_hosts | tr -d '[]')" ]
check "a token-chosen issuer: iss mismatch, and no key set fetched from a host it names"

# 5. issuer set: only that one.
iss_base "\"https://$H2\""
drive -s pinned -u ilse -a "$PW" -a "$(code_for ilse)" auth
expect auth PAM_AUTH_ERR "issuer = https://$H1/<pool> set: a token under $H2 is refused"
iss_base "\"https://$H1\""
drive -s pinned -u ilse -a "$PW" -a "$(code_for ilse 30)" auth
expect auth PAM_SUCCESS "issuer set: a token under that issuer signs in"

# --- logs hold no secret ---------------------------------------------------
cat "$T"/logs/* >"$T/all.log"
leak=
while read -r c; do
	[ -n "$c" ] && grep -qE -- "(^|[^0-9A-Za-z])$c([^0-9A-Za-z]|$)" "$T/all.log" && leak="$leak code:$c"
done <"$T/codes"
grep -qF -- "$PW" "$T/all.log" && leak="$leak password"
grep -q 'eyJ' "$T/all.log" && leak="$leak token"
[ -z "$leak" ] && [ -s "$T/all.log" ]
ok $? "logs hold no password, code or token${leak:+ — found:$leak}"

echo "1..$tap_n"
echo "# $tap_failed of $tap_n failed"
exit 0
