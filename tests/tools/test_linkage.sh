#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# What the shipped objects load (issue 21): every sudo, su and sshd that
# loads pam_userpool.so maps its whole library graph, so no libcurl (its
# ~30 libraries cost ~4.4 ms of CPU per process): the library's HTTP client
# is lib/http.c over libssl. The verifier helper talks to no one: no libssl.
set -u
b=${top_builddir:-.}
echo "1..3"
needed() { readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
check() { # n file pattern-that-must-not-appear what
	if [ ! -e "$2" ]; then
		echo "not ok $1 - $2 is built"
		return
	fi
	bad=$(needed "$2" | grep -E "$3")
	if [ -z "$(needed "$2")" ]; then
		echo "not ok $1 - readelf -d lists no NEEDED entry in $2"
	elif [ -n "$bad" ]; then
		echo "not ok $1 - $2 $4: $bad"
	else
		echo "ok $1 - $2 $4 ($(needed "$2" | tr '\n' ' '))"
	fi
}
check 1 "$b/pam/.libs/pam_userpool.so" '^libcurl' "needs no libcurl"
check 2 "$b/.libs/libuserpool.so.1" '^libcurl' "needs no libcurl"
check 3 "$b/tools/userpool-verifier" '^lib(curl|ssl)' "needs neither libcurl nor libssl"
