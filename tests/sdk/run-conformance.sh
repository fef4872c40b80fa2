#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Runs AWS's JavaScript SDK (amazon-cognito-identity-js) against the test user
# pool over HTTPS with a CA the pool generates, and prints TAP.
set -u

here=$(cd "$(dirname "$0")" && pwd)
pool_py="$here/../pool/pool.py"
# node_modules: this folder's, or the one the build names (VPATH, distcheck).
nm=${UP_NODE_MODULES:-$here/node_modules}
python=${PYTHON:-/usr/bin/python3}
# Node from the npm registry (package.json pins "node") before Debian 12's 18.
[ -z "${NODE:-}" ] && [ -x "$nm/node/bin/node" ] && PATH="$nm/node/bin:$PATH"
node=${NODE:-node}

if ! command -v "$node" >/dev/null 2>&1; then
	echo "1..1"
	echo "not ok 1 - node is not installed (needed for the SDK conformance test)"
	exit 1
fi

if [ ! -d "$nm/amazon-cognito-identity-js" ]; then
	echo "# node_modules missing: running npm install in $here" >&2
	nm=$here/node_modules
	(cd "$here" && npm install --no-audit --no-fund >&2) || {
		echo "1..1"
		echo "not ok 1 - npm install of amazon-cognito-identity-js failed"
		exit 1
	}
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/up-sdk.XXXXXX") || exit 1
pool_pid=
cleanup() {
	if [ -n "$pool_pid" ]; then
		kill "$pool_pid" 2>/dev/null
		wait "$pool_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$python" "$pool_py" --port 0 --state "$work/state" --tls "$work/ca" \
	--ready-file "$work/url" >"$work/pool.out" 2>"$work/pool.err" &
pool_pid=$!

# wait for READY (bounded: 10 s)
i=0
while [ ! -s "$work/url" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pool_pid" 2>/dev/null; then
		echo "1..1"
		echo "not ok 1 - test pool did not start"
		sed 's/^/# /' "$work/pool.err"
		exit 1
	fi
	sleep 0.1
done
url=$(cat "$work/url")
echo "# pool at $url"

# USER_AUTH needs the SDK v3 client (amazon-cognito-identity-js has none):
# from node_modules, else installed into a temporary prefix; without the
# npm registry that part is skipped (and says so).
v3=
if [ -d "$nm/@aws-sdk/client-cognito-identity-provider" ]; then
	v3=$nm/@aws-sdk/client-cognito-identity-provider
elif command -v npm >/dev/null 2>&1 &&
	timeout 300 npm install --silent --no-audit --no-fund --prefix "$work/v3" \
		@aws-sdk/client-cognito-identity-provider >"$work/v3.log" 2>&1; then
	v3=$work/v3/node_modules/@aws-sdk/client-cognito-identity-provider
fi

POOL_URL=$url NODE_EXTRA_CA_CERTS="$work/ca/ca.pem" NODE_PATH="$nm" UP_SDK_V3=$v3 \
	timeout 300 "$node" "$here/conformance.js"
rc=$?
if [ $rc -ne 0 ]; then
	echo "# pool stderr:"
	sed 's/^/# /' "$work/pool.err"
fi
exit $rc
