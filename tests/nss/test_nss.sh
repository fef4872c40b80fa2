#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs tests/nss/test_nss inside a private mount namespace, so that
# /etc/nsswitch.conf, /etc/passwd, /etc/group and /var/lib/userpool are test
# copies and the machine's own files are never touched.
set -u
b=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root for a private mount namespace"
	exit 0
fi
if [ -z "${UP_NSS_INNER:-}" ]; then
	exec env UP_NSS_INNER=1 unshare -m --propagation private "$0" "$@"
fi
set -e
tmp=$(mktemp -d /tmp/upnss.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/varlib/userpool" "$tmp/etc"
chmod 0711 "$tmp/varlib/userpool"
# /var/lib of this namespace only
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir -p /var/lib/userpool
chmod 0711 /var/lib/userpool
grep -E '^(root|daemon|nobody):' /etc/passwd > "$tmp/etc/passwd"
echo 'taken:x:200000:100::/home/taken:/bin/sh' >> "$tmp/etc/passwd"
echo 'root:x:0:' > "$tmp/etc/group"
echo 'localgroup:x:200001:' >> "$tmp/etc/group"
echo 'labgrp:x:3000:' >> "$tmp/etc/group"
echo 'biggrp:x:3001:' >> "$tmp/etc/group"
printf 'passwd: files userpool\ngroup: files userpool\nshadow: files\n' > "$tmp/etc/nsswitch.conf"
mount --bind "$tmp/etc/passwd" /etc/passwd
mount --bind "$tmp/etc/group" /etc/group
mount --bind "$tmp/etc/nsswitch.conf" /etc/nsswitch.conf
export LD_LIBRARY_PATH="$b/nss/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CMOCKA_MESSAGE_OUTPUT=TAP
set +e
"$b/tests/nss/test_nss"
rc=$?
exit $rc
