#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Unit tests run without root (issue 17): up_ctx_set_state_owner lets the
# owner checks accept the test's own uid. Runs test_state (state_dir and
# its files), test_config (a file with client_secret), test_jwks (the JWKS
# cache) and test_store (user records) as nobody (65534) with TMPDIR, where
# their files go, owned by nobody. As a non-root user, runs them as that user.
# The binaries (and what they read from the source tree: the man page
# test_config checks, test_jwks's JWKS server) are copied into a 0755
# directory first: the build tree may sit below a directory nobody cannot
# enter (CI's sanitizer copy is a 0700 mktemp directory).
set -u
b=${top_builddir:-.}
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
tests="test_state test_config test_jwks test_store"
echo "1..4"
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
chmod 0755 "$t"
mkdir -p "$t/tmp" "$t/bin" "$t/src/man" "$t/src/tests/unit" || exit 1
for x in $tests; do
	cp "$b/tests/unit/$x" "$t/bin/$x" || exit 1
done
cp "$src/man/userpool.conf.5" "$t/src/man/" || exit 1
cp "$src/tests/unit/jwks_server.py" "$t/src/tests/unit/" || exit 1
chmod -R a+rX "$t/bin" "$t/src"
if [ "$(id -u)" = 0 ]; then
	chown 65534:65534 "$t/tmp" || exit 1
	as="setpriv --reuid=65534 --regid=65534 --clear-groups"
	who="uid 65534"
else
	as=""
	who="uid $(id -u)"
fi
n=0
for x in $tests; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	(cd "$t" && $as env TMPDIR="$t/tmp" top_srcdir="$t/src" CMOCKA_MESSAGE_OUTPUT=TAP \
		"$t/bin/$x") >"$t/$x.out" 2>&1
	rc=$?
	oks=$(grep -c '^ok' "$t/$x.out")
	bad=$(grep -c '^not ok' "$t/$x.out")
	if [ "$rc" -eq 0 ] && [ "$oks" -gt 0 ] && [ "$bad" -eq 0 ]; then
		echo "ok $n - $x as $who: $oks cases pass"
	else
		echo "not ok $n - $x as $who: exit $rc, $oks ok, $bad not ok"
		sed 's/^/# /' "$t/$x.out" | tail -40
	fi
done
