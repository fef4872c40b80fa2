#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# provider = oidc through PAM: the built pam_userpool.so loaded by libpam
# under pam_wrapper, driven by pamtester, against the OpenID Provider side of
# the test user pool over HTTPS. ROPC with the TOTP code as a form field and
# appended to the password, a wrong code, and the device flow: approved (or
# denied) through the pool's admin API by a background job while pamtester
# waits at the "Press Enter after approving" prompt. Issue 20: a 400/401/403
# without an OAuth error is a refusal, 5xx an outage; mfa = required without a
# second factor in amr; a device code approved by another account tells the
# person; with the provider down the password flow asks only for the
# password before signing in offline. Prints TAP.
set -u
export LC_ALL=C.UTF-8
s=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
b=${top_builddir:-$s}
MOD=${UP_PAM_MODULE:-$b/pam/.libs/pam_userpool.so}
PY=/usr/bin/python3

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (root-owned configuration and state)"
	exit 0
fi
for tool in pamtester oathtool curl; do
	command -v $tool >/dev/null || { echo "1..0 # SKIP $tool missing"; exit 0; }
done
if ! ldconfig -p | grep -q libpam_wrapper.so; then
	echo "1..0 # SKIP libpam-wrapper missing"
	exit 0
fi
[ -e "$MOD" ] || { echo "1..0 # SKIP $MOD not built"; exit 0; }

T=$(mktemp -d /tmp/upoidcpam.XXXXXX)
chmod 0711 "$T"
pool_pid=
bg_pids=
cleanup() {
	for p in $bg_pids; do kill "$p" 2>/dev/null; done
	if [ -n "$pool_pid" ]; then
		kill "$pool_pid" 2>/dev/null
		wait "$pool_pid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
ok() { # ok STATUS NAME [FILE-TO-SHOW-ON-FAILURE]
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && sed 's/^/# /' "$3"
	fi
}


mkdir -m 0700 "$T/state" "$T/pool" "$T/ca" "$T/svc" "$T/conf"
"$PY" "$s/tests/pool/pool.py" --port 0 --state "$T/pool" --tls "$T/ca" >"$T/pool.out" 2>"$T/pool.err" &
pool_pid=$!
for _ in $(seq 1 300); do
	grep -q '^READY ' "$T/pool.out" 2>/dev/null && break
	kill -0 "$pool_pid" 2>/dev/null || break
	sleep 0.1
done
URL=$(sed -n 's/^READY //p' "$T/pool.out")
if [ -z "$URL" ]; then
	echo "Bail out! the test pool did not start"
	sed 's/^/# /' "$T/pool.err"
	exit 1
fi

admin() { # admin OP JSON
	curl -sS --fail-with-body --max-time 20 --cacert "$T/ca/ca.pem" -X POST \
		-H 'Content-Type: application/json' -d "$2" "${URL}admin/$1"
}
user() { # user NAME -> prints the TOTP secret
	local sec
	sec=$("$PY" -c 'import base64,os;print(base64.b32encode(os.urandom(20)).decode())')
	admin create_user "{\"username\":\"$1\",\"password\":\"Passw0rd-$1\",\"groups\":[\"staff\"],\"totp_secret\":\"$sec\"}" >/dev/null || return 1
	echo "$sec"
}
conf() { # conf NAME lines...
	local name=$1 f=$T/conf/$1.conf
	shift
	{
		echo "provider = oidc"
		echo "issuer = ${URL}oidc"
		echo "client_id = userpooltestclient00000001"
		echo "ca_file = $T/ca/ca.pem"
		echo "state_dir = $T/state"
		echo "timeout = 10s"
		printf '%s\n' "$@"
	} >"$f"
	chmod 0600 "$f"
	printf 'auth required %s config=%s debug\naccount required %s config=%s\n' \
		"$MOD" "$f" "$MOD" "$f" >"$T/svc/$name"
}
pamt() { # pamt SERVICE USER < answers
	# timeout outside the preload: pam_wrapper only in pamtester itself.
	timeout 60 env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/svc" pamtester "$1" "$2" authenticate acct_mgmt 2>&1
}
# Approve (or deny) the next pending device code, from the background.
decide() { # decide approve|deny USER
	local codes code
	for _ in $(seq 1 100); do
		codes=$(admin device_codes '{}' 2>/dev/null)
		code=$(printf '%s' "$codes" | "$PY" -c 'import json,sys
p=json.load(sys.stdin).get("pending") or []
print(p[-1] if p else "")' 2>/dev/null)
		[ -n "$code" ] && break
		sleep 0.1
	done
	[ -n "$code" ] || return 1
	if [ "$1" = approve ]; then
		admin device_approve "{\"user_code\":\"$code\",\"username\":\"$2\"}" >/dev/null
	else
		admin device_deny "{\"user_code\":\"$code\"}" >/dev/null
	fi
}

admin set_oidc '{"device_interval": 1}' >/dev/null

# --- ROPC, code as the form field "totp" ---------------------------------
sec=$(user alice)
conf ropc "auth_flow = password" "otp_mode = prompt" "otp_param = totp"
code=$(oathtool --totp -b "$sec")
printf 'Passw0rd-alice\n%s\n' "$code" | pamt ropc alice >"$T/o1"
grep -q "successfully authenticated" "$T/o1" && grep -q "Verification code" "$T/o1"
ok $? "ROPC: password, then the Verification code prompt; signed in, account ok" "$T/o1"

# --- a wrong code -------------------------------------------------------
bad=000000
[ "$code" = 000000 ] && bad=111111
printf 'Passw0rd-alice\n%s\n' "$bad" | pamt ropc alice >"$T/o2"
refused() { # refused FILE: pamtester got PAM_AUTH_ERR (not an init or service error)
	! grep -q "successfully authenticated" "$1" && grep -q "pamtester: Authentication failure" "$1"
}
refused "$T/o2"
ok $? "ROPC: a wrong code is refused" "$T/o2"

# --- a wrong password ---------------------------------------------------
code=$(oathtool --totp -b --now "$(date -u -d '+30 sec' '+%Y-%m-%d %H:%M:%S UTC')" "$sec")
printf 'wrong-password\n%s\n' "$code" | pamt ropc alice >"$T/o3"
refused "$T/o3"
ok $? "ROPC: a wrong password is refused" "$T/o3"

# --- ROPC, code appended to the password (Keycloak-style append) ---------
sec=$(user carol)
admin set_oidc '{"otp_mode": "append"}' >/dev/null
conf append "auth_flow = password" "otp_mode = append"
code=$(oathtool --totp -b "$sec")
printf 'Passw0rd-carol\n%s\n' "$code" | pamt append carol >"$T/o4"
grep -q "successfully authenticated" "$T/o4"
ok $? "ROPC append mode: signed in" "$T/o4"
admin set_oidc '{"otp_mode": "param"}' >/dev/null

# --- device flow: approved while pamtester waits at the prompt ----------
user bob >/dev/null
conf device "auth_flow = device"
decide approve bob &
bg_pids="$!"
(sleep 3; echo) | pamt device bob >"$T/o5"
grep -q "successfully authenticated" "$T/o5"
ok $? "device flow: approved through the admin API, signed in, account ok" "$T/o5"
grep -q "/oidc/device?user_code=" "$T/o5" && grep -q "Code: " "$T/o5" &&
	grep -q "Press Enter after approving" "$T/o5"
ok $? "device flow: verification URI, user code and the Enter prompt were shown" "$T/o5"
grep -Eq "▀|▄|█" "$T/o5"
ok $? "device flow: the URI as a QR code" "$T/o5"

# --- device flow: denied ------------------------------------------------
decide deny &
bg_pids="$bg_pids $!"
(sleep 3; echo) | pamt device bob >"$T/o6"
refused "$T/o6"
ok $? "device flow: denied is refused" "$T/o6"

# --- device flow: approved by another user -------------------------------
user mallory >/dev/null
decide approve mallory &
bg_pids="$bg_pids $!"
(sleep 3; echo) | pamt device bob >"$T/o7"
refused "$T/o7"
ok $? "device flow: approval by another user does not sign bob in" "$T/o7"
grep -q "The sign-in was approved as another account: approve it as bob" "$T/o7"
ok $? "device flow: approved by another account: the person is told" "$T/o7"
for p in $bg_pids; do wait "$p" 2>/dev/null; done
bg_pids=

# --- issue 20: token-endpoint answers without an OAuth error member ------
fault() { admin fault "$1" >/dev/null; }
unavail() { ! grep -q "successfully authenticated" "$1" && grep -q "Authentication service cannot retrieve authentication info" "$1"; }
code=$(oathtool --totp -b --now "$(date -u -d '+60 sec' '+%Y-%m-%d %H:%M:%S UTC')" "$sec")
fault '{"action":"status","code":403,"body":"","match":"/oidc/token","count":1}'
printf 'Passw0rd-carol\n%s\n' "$code" | pamt append carol >"$T/o8"
refused "$T/o8" && ! grep -q "unreachable" "$T/o8"
ok $? "token endpoint 403 with an empty body (Glewlwyd's wrong password): refused, not an outage" "$T/o8"
fault '{"action":"status","code":401,"body":"{}","match":"/oidc/token","count":1}'
printf 'Passw0rd-carol\n%s\n' "$code" | pamt append carol >"$T/o9"
refused "$T/o9"
ok $? "token endpoint 401 with {} (no error member): refused" "$T/o9"
fault '{"action":"status","code":400,"body":"<html>bad</html>","match":"/oidc/token","count":1}'
printf 'Passw0rd-carol\n%s\n' "$code" | pamt append carol >"$T/o10"
refused "$T/o10"
ok $? "token endpoint 400 with HTML: refused" "$T/o10"
fault '{"action":"status","code":502,"body":"","match":"/oidc/token","count":1}'
conf append_nooff "auth_flow = password" "otp_mode = append" "offline = no"
printf 'Passw0rd-carol\n%s\n' "$code" | pamt append_nooff carol >"$T/o11"
unavail "$T/o11"
ok $? "token endpoint 502 with an empty body: unreachable (PAM_AUTHINFO_UNAVAIL)" "$T/o11"
admin clear_faults '{}' >/dev/null

# --- mfa = required, amr without a second factor -------------------------
admin create_user '{"username":"dora","password":"Passw0rd-dora","groups":["staff"]}' >/dev/null
printf 'Passw0rd-dora\n\n' | pamt ropc dora >"$T/o12"
refused "$T/o12" && grep -q "The identity provider did not ask for a second factor; ask its administrator to require one" "$T/o12" &&
	! grep -q "userpool-enroll" "$T/o12"
ok $? "mfa = required, amr pwd only: 'the identity provider did not ask for a second factor', not userpool-enroll" "$T/o12"

# --- provider down: the password flow asks only for the password ---------
conf ropcskip "auth_flow = password" "otp_mode = prompt" "offline_mfa = skip"
code=$(oathtool --totp -b --now "$(date -u -d '+30 sec' '+%Y-%m-%d %H:%M:%S UTC')" "$(admin get_totp_secret '{"username":"alice"}' | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["secret"])')")
printf 'Passw0rd-alice\n%s\n' "$code" | pamt ropcskip alice >"$T/o13"
grep -q "successfully authenticated" "$T/o13"
ok $? "ROPC online sign-in fills the cache (offline_mfa = skip)" "$T/o13"
kill "$pool_pid" 2>/dev/null
wait "$pool_pid" 2>/dev/null
pool_pid=
printf 'Passw0rd-alice\n123456\n' | pamt ropcskip alice >"$T/o14"
grep -q "successfully authenticated" "$T/o14" && grep -q "Signed in offline" "$T/o14" &&
	! grep -q "Verification code" "$T/o14"
ok $? "provider down: only the password is asked, then the offline sign-in" "$T/o14"

echo "1..$n"
