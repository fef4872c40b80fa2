#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Debian symbols file lists exactly what libuserpool.so.1 exports:
# dpkg-gensymbols (and so the package build) fails on any difference, so
# catch a new export here, long before the package test runs.
set -u
lib=${top_builddir:-.}/.libs/libuserpool.so.1
syms=${top_srcdir:-.}/debian/libuserpool1.symbols
echo "1..2"
if [ ! -e "$lib" ]; then
	echo "not ok 1 - $lib is built"
	echo "not ok 2 - # no library"
	exit 0
fi
echo "ok 1 - $lib is built"
if [ ! -e "$syms" ]; then
	# A release tarball (make dist) carries no debian/ directory.
	echo "ok 2 # SKIP no $syms in this tree"
	exit 0
fi
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort >"$t/exported"
sed -n 's/^ \([A-Za-z_0-9]*\)@USERPOOL_1 .*/\1/p' "$syms" | grep -v '^USERPOOL_1$' | sort >"$t/listed"
if diff -u "$t/listed" "$t/exported" >"$t/diff"; then
	echo "ok 2 - debian/libuserpool1.symbols lists every export ($(wc -l <"$t/exported") symbols)"
else
	echo "not ok 2 - debian/libuserpool1.symbols differs from the exports (- listed only, + exported only)"
	sed 's/^/# /' "$t/diff"
fi
