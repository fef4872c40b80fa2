#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Interop: lib/oidc.c against panva's oidc-provider 9.x (OpenID Certified),
# started by tests/oidc/provider.mjs on 127.0.0.1. Discovery, JWKS, the
# device flow (approved through the provider's own device pages), ID token
# verification with preferred_username read from userinfo (oidc-provider
# keeps it out of the ID token), refresh, revocation, both client
# authentication methods, denial and a wrong approver. Prints TAP.
set -u
s=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
b=${top_builddir:-$s}
client="$b/tests/oidc/oidc_client"
mods=$(dirname "${UP_NODE_MODULES:-$s/tests/sdk/node_modules}") # holds node_modules
secret='provider-test-secret:with/odd+chars'

# Node from the npm registry (tests/sdk/package.json pins "node"), so the
# test runs the same on Debian 12, whose nodejs 18 cannot load these modules.
[ -x "$mods/node_modules/node/bin/node" ] && PATH="$mods/node_modules/node/bin:$PATH"
if ! command -v node >/dev/null || [ ! -d "$mods/node_modules/oidc-provider" ]; then
	echo "1..0 # SKIP node or oidc-provider missing (run npm install in tests/sdk)"
	exit 0
fi
if [ ! -x "$client" ]; then
	echo "1..0 # SKIP $client not built"
	exit 0
fi

tmp=$(mktemp -d /tmp/upoidcp.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && sed 's/^/# /' "$2"
}
check() { # name file pattern...
	local name=$1 file=$2
	shift 2
	for p in "$@"; do
		if ! grep -Eq -- "$p" "$file"; then
			notok "$name (missing: $p)" "$file"
			return
		fi
	done
	ok "$name"
}

echo "1..12"

timeout 120 node "$s/tests/oidc/provider.mjs" --module-dir "$mods" >"$tmp/provider.out" 2>"$tmp/provider.err" &
pid=$!
for _ in $(seq 1 300); do
	grep -q '^READY ' "$tmp/provider.out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
iss=$(sed -n 's/^READY //p' "$tmp/provider.out")
if [ -z "$iss" ]; then
	echo "Bail out! oidc-provider did not start"
	sed 's/^/# /' "$tmp/provider.err"
	exit 1
fi

mkdir -m 0700 "$tmp/state"
conf() { # file client_id client_auth [secret]
	cat >"$1" <<-EOF
		provider = oidc
		issuer = $iss
		client_id = $2
		client_secret = ${4-$secret}
		client_auth = $3
		auth_flow = device
		scope = openid profile offline_access
		state_dir = $tmp/state
		timeout = 10s
	EOF
	chmod 0600 "$1"
}
conf "$tmp/basic.conf" userpool-basic basic
conf "$tmp/post.conf" userpool-post post
conf "$tmp/wrong.conf" userpool-basic basic wrong-secret

approve() { # account [deny]
	local deny=false
	[ "${2:-}" = deny ] && deny=true
	echo "curl -s -f -o /dev/null --max-time 20 -X POST $iss/test/approve -H 'Content-Type: application/json' -d '{\"user_code\":\"'\"\$USER_CODE\"'\",\"account\":\"$1\",\"deny\":$deny}'"
}

# 1-2: discovery and JWKS
"$client" "$tmp/basic.conf" --discover >"$tmp/d.out" 2>&1
check "discovery: every endpoint from the document" "$tmp/d.out" \
	"^token_endpoint=$iss/token\$" "^device_authorization_endpoint=$iss/device/auth\$" \
	"^jwks_uri=$iss/jwks\$" "^userinfo_endpoint=$iss/me\$" "^revocation_endpoint=$iss/token/revocation\$"
check "JWKS fetched from the discovered jwks_uri" "$tmp/d.out" "^jwks keys=[1-9]"

# 3-6: device flow with client_secret_basic, userinfo fallback, refresh, revoke
OIDC_CLIENT_DEBUG=1 timeout 60 "$client" "$tmp/basic.conf" alice --approve "$(approve alice)" \
	--refresh --revoke >"$tmp/a.out" 2>"$tmp/a.err"
check "device flow (basic auth): QR code, user code, Enter prompt" "$tmp/a.out" \
	"^$iss/device\\?user_code=" "▀|▄|█" "^Code: [A-Z]{4}-[A-Z]{4}" "^prompt: Press Enter after approving"
check "ID token verified; preferred_username and groups from userinfo" "$tmp/a.out" \
	"^signin ok user=alice sub=alice mfa=1 groups=staff refresh=yes"
if grep -q "preferred_username read from userinfo" "$tmp/a.err"; then
	ok "userinfo was asked (not in oidc-provider's ID token)"
else
	notok "userinfo was asked" "$tmp/a.err"
fi
check "refresh, then revocation makes the refresh token useless" "$tmp/a.out" \
	"^refresh ok user=alice" "^revoke ok" "^refresh-after-revoke incorrect user name or password"

# 7: client_secret_post
timeout 60 "$client" "$tmp/post.conf" bob --approve "$(approve bob)" >"$tmp/p.out" 2>&1
check "device flow with client_secret_post" "$tmp/p.out" "^signin ok user=bob sub=bob"

# 8: approval after the first poll: the default interval (none sent) is 5 s
start=$(date +%s)
timeout 60 "$client" "$tmp/basic.conf" carol --approve "(sleep 1; $(approve carol)) &" >"$tmp/c.out" 2>&1
took=$(($(date +%s) - start))
if grep -q "^signin ok user=carol" "$tmp/c.out" && [ "$took" -ge 5 ] && [ "$took" -le 20 ]; then
	ok "authorization_pending, then success after the default 5 s interval (${took} s)"
else
	notok "pending then success after 5 s (took ${took} s)" "$tmp/c.out"
fi

# 9: denied at the provider
timeout 60 "$client" "$tmp/basic.conf" dave --approve "$(approve dave deny)" >"$tmp/x.out" 2>&1
check "denied on the device page: access denied" "$tmp/x.out" "^signin failed: access denied"

# 10: approved by somebody else
timeout 60 "$client" "$tmp/basic.conf" erin --approve "$(approve mallory)" >"$tmp/m.out" 2>&1
check "approved as another account: refused" "$tmp/m.out" "^signin failed: token rejected: preferred_username does not match"

# 11: wrong client secret
timeout 60 "$client" "$tmp/wrong.conf" alice >"$tmp/w.out" 2>&1
check "wrong client secret: invalid_client is a configuration error" "$tmp/w.out" \
	"^signin failed: configuration error: device authorization: invalid_client"

# 12: discovery cached on disk; used when the provider is gone
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
"$client" "$tmp/basic.conf" --discover >"$tmp/o.out" 2>&1
if ls "$tmp"/state/jwks/*.discovery.json >/dev/null 2>&1 && grep -q "^token_endpoint=$iss/token" "$tmp/o.out"; then
	ok "discovery served from the on-disk cache with the provider down"
else
	notok "discovery cache with the provider down" "$tmp/o.out"
fi
