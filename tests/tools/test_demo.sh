#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# README's first command: tests/demo runs unattended to the end (pool over
# HTTPS, enrolment with a QR code, PAM sign-in with the code, offline
# sign-in), and it asks make to rebuild what is stale every time instead of
# trusting a pam_userpool.so that happens to exist (issue 18 item 5).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
echo "1..4"
if [ "$(id -u)" != 0 ]; then
	for i in 1 2 3 4; do echo "ok $i # SKIP the demo needs root"; done
	exit 0
fi
t=$(mktemp -d /tmp/userpool-demotest.XXXXXX) || exit 1
trap 'rm -rf "$t"' EXIT
mkdir "$t/bin"
real_make=$(command -v make)
# A make that records where it was asked to run, then runs the real one.
cat >"$t/bin/make" <<SH
#!/bin/sh
pwd >>"$t/make.calls"
exec "$real_make" "\$@"
SH
chmod 755 "$t/bin/make"
unset UP_PAM_MODULE
PATH=$t/bin:$PATH top_builddir=$top_builddir timeout 300 "$top_srcdir/tests/demo" </dev/null >"$t/out" 2>&1
rc=$?
n=0
res() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; tail -n 30 "$t/out" | sed 's/^/# /'; fi; }
res "$rc" "tests/demo runs unattended to the end (exit $rc)"
[ "$(cd "$top_builddir" && pwd)" = "$(head -n1 "$t/make.calls" 2>/dev/null)" ]
res $? "the demo asked make to rebuild what is stale in the build tree"
grep -q '█' "$t/out" && grep -q 'otpauth://totp/' "$t/out"
res $? "the demo drew the QR code and its otpauth URI"
grep -q 'successfully authenticated' "$t/out" && grep -q 'Signed in offline' "$t/out"
res $? "the demo signed in online through PAM, then offline"
