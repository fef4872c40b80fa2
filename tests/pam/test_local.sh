#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Local accounts (issue 16 item 1) through the real libpam: pool users named
# like local accounts (postgres, uid 101; a uid-1000 admin) get PAM_IGNORE in
# every phase before any prompt, and the pool sees no request (Cognito SRP,
# auth_flow = password, OIDC ROPC); listed in pool_local_users they sign in.
# The files database is a copy of /etc/passwd with those two names,
# bind-mounted over /etc/passwd in a private mount namespace. Prints TAP.

set -u
export LC_ALL=C.UTF-8

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (mount namespace, root-owned configuration)"
	exit 0
fi
if [ -z "${UP_LOCAL_INNER:-}" ]; then
	if ! command -v unshare >/dev/null ||
		! unshare -m --propagation private true 2>/dev/null; then
		echo "1..0 # SKIP no private mount namespace (unshare -m)"
		exit 0
	fi
	exec env UP_LOCAL_INNER=1 unshare -m --propagation private "$0" "$@"
fi

T=$(mktemp -d /tmp/userpool-local.XXXXXX)
chmod 0711 "$T"
. "$(dirname "$0")/lib.sh"

cleanup() {
	pool_stop
	umount /etc/passwd 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need_tools pamtester oathtool curl
need_pam_wrapper
need_build

LOCAL1=upadmin1000
cp /etc/passwd "$T/passwd"
sed -i "/^postgres:/d; /^$LOCAL1:/d" "$T/passwd"
echo "postgres:x:101:104:PostgreSQL administrator:/var/lib/postgresql:/bin/bash" >>"$T/passwd"
echo "$LOCAL1:x:1000:1000:Local admin:/home/$LOCAL1:/bin/bash" >>"$T/passwd"
chmod 0644 "$T/passwd"
if ! mount --bind "$T/passwd" /etc/passwd; then
	echo "Bail out! cannot bind-mount the test /etc/passwd"
	exit 1
fi

pam_env_start
# drive, result, expect, has, hasnt: tests/pam/lib.sh.
pool_requests() { # traffic the module sent (admin calls are not counted)
	admin stats '{}' | json_get connections | sed 's/^$/0/'
}

PW=Passw0rd-test1
for u in postgres "$LOCAL1" alice; do
	create_user "$u" "$PW" "$(new_secret)" '["staff"]' || echo "Bail out! cannot create $u"
done

# probe NAME CONF: every phase runs the module, then (only when it returned
# PAM_IGNORE) pam_echo "MARK-<phase>", then pam_permit. libpam never hands
# PAM_IGNORE to the application; the mark shows it.
probe() {
	local ph
	for ph in auth account password session; do
		echo "$ph [success=done ignore=ignore default=die] $UP_PAM_MODULE config=$T/conf/$2.conf debug"
		echo "$ph optional pam_echo.so MARK-$ph"
		echo "$ph required pam_permit.so"
	done >"$SVC/$1"
}
ignored() { # ignored PHASE...: the module returned PAM_IGNORE in each
	local ph
	for ph in "$@"; do
		grep -q "^INFO: MARK-$ph\$" "$OUT" || return 1
	done
}

# --- default: local names are not the pool's -----------------------------
conf main
service "$SVC" main main
probe pmain main
for u in postgres "$LOCAL1"; do
	admin reset_stats '{}' >/dev/null
	drive -s pmain -u "$u" -a "$PW" -a "$(code_for "$u")" -a "$PW" -a "$PW" -a "$PW" \
		auth acct chauthtok open close
	expect auth PAM_SUCCESS "$u: the probe stack runs"
	ignored auth
	ok $? "$u (local account): auth PAM_IGNORE"
	ignored account
	ok $? "$u: account PAM_IGNORE"
	ignored password
	ok $? "$u: password (chauthtok) PAM_IGNORE"
	# pam_echo says nothing at close: the module's debug line shows it
	ignored session && grep -q "(pmain:session): user $u: ignored" "$LOG" &&
		[ "$(result close)" = PAM_SUCCESS ] && [ "$(grep -c "(pmain:session)" "$LOG")" = 2 ]
	ok $? "$u: session open and close PAM_IGNORE"
	[ $? -eq 0 ] || diag "$(head -n 20 "$OUT")"
	hasnt PROMPT
	ok $? "$u: no prompt at all (no password asked)"
	[ $? -eq 0 ] || diag "$(head -n 20 "$OUT")"
	[ "$(pool_requests)" = 0 ]
	ok $? "$u: the pool saw no request"
	[ "$(grep -c "^6 .*user $u: ignored: a local account in /etc/passwd" "$LOG")" = 1 ]
	ok $? "$u: logged once (LOG_INFO) that the local account is ignored"
done

# pamtester through pam_wrapper: no password prompt, not authenticated
admin reset_stats '{}' >/dev/null
out=$(printf '%s\n%s\n' "$PW" 123456 | LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
	PAM_WRAPPER_SERVICE_DIR="$SVC" pamtester main postgres authenticate 2>&1)
st=$?
[ $st -ne 0 ] && ! echo "$out" | grep -q "Password" && ! echo "$out" | grep -q "successfully"
ok $? "pamtester: postgres is not authenticated and sees no password prompt"
[ "$(pool_requests)" = 0 ]
ok $? "pamtester: the pool saw no request"

# the same with the flows that send the password itself
conf pwflow "auth_flow = password"
probe pwflow pwflow
admin reset_stats '{}' >/dev/null
drive -s pwflow -u "$LOCAL1" -a "$PW" -a "$(code_for "$LOCAL1")" auth
ignored auth
ok $? "auth_flow = password: $LOCAL1 PAM_IGNORE"
hasnt PROMPT && [ "$(pool_requests)" = 0 ]
ok $? "auth_flow = password: no prompt, the local password never reaches the pool"

mkdir -p "$T/conf"
{
	echo "provider = oidc"
	echo "issuer = ${POOL_URL}oidc"
	echo "client_id = $CLIENT_ID"
	echo "auth_flow = password"
	echo "ca_file = $T/ca/ca.pem"
	echo "state_dir = $T/state"
	echo "timeout = 10s"
} >"$T/conf/ropc.conf"
chmod 0600 "$T/conf/ropc.conf"
probe ropc ropc
admin reset_stats '{}' >/dev/null
drive -s ropc -u postgres -a "$PW" -a "$(code_for postgres)" auth
ignored auth
ok $? "OIDC ROPC: postgres PAM_IGNORE"
hasnt PROMPT && [ "$(pool_requests)" = 0 ]
ok $? "OIDC ROPC: no prompt, no token request"

# control: a pool user that is not local still signs in
drive -s main -u alice -a "$PW" -a "$(code_for alice)" auth acct
expect auth PAM_SUCCESS "alice (pool only) signs in"

# --- pool_local_users -----------------------------------------------------
conf allow "pool_local_users = postgres, $LOCAL1" "max_auth_age = 0"
service "$SVC" allow allow
for u in postgres "$LOCAL1"; do
	drive -s allow -u "$u" -a "$PW" -a "$(code_for "$u" 30)" auth acct
	expect auth PAM_SUCCESS "pool_local_users: $u signs in through the pool"
	has "Verification code"
	ok $? "pool_local_users: $u asked for password and code"
done
# ignore_users still wins over pool_local_users
conf both "pool_local_users = postgres" "ignore_users = root, postgres"
probe both both
drive -s both -u postgres -a "$PW" auth
ignored auth
ok $? "ignore_users wins over pool_local_users"

# --- logs hold no secrets -----------------------------------------------------
cat "$T"/logs/* >"$T/all.log"
leak=
while read -r s; do
	[ -n "$s" ] && grep -qF -- "$s" "$T/all.log" && leak="$leak secret"
done < <(cat "$T/passwords" "$T/totp_secrets")
[ -z "$leak" ]
ok $? "logs hold no password or TOTP secret"

echo "1..$tap_n"
echo "# $tap_failed of $tap_n failed"
exit 0
