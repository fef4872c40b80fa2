#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 17 / STYLE.md: no function in lib/ is longer than 80 lines (the lines
# between its opening and closing brace, both at column 0, as the committed
# .clang-format lays a function out). Prints each longer one with its length.
# Usage: tests/lint/test_function_length.sh [DIR...]  (default: lib)
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
max=${UP_MAX_FUNCTION_LINES:-80}
if [ $# -gt 0 ]; then dirs=("$@"); else dirs=("$top/lib"); fi
echo "1..1"
files=$(find "${dirs[@]}" -name '*.c' -print 2>/dev/null | sort)
if [ -z "$files" ]; then
	echo "not ok 1 - no C sources found under ${dirs[*]}"
	exit 1
fi
# awk: a line "{" opens a function whose name is the last identifier before
# "(" on the nearest line above holding one; "}" at column 0 closes it.
long=$(awk -v max="$max" '
	FNR == 1 { inside = 0; sig = "" }
	!inside && /\(/ { sig = $0 }
	!inside && /^\{$/ {
		inside = 1; start = FNR; name = sig
		sub(/\(.*/, "", name); sub(/.*[^A-Za-z0-9_]/, "", name)
		next
	}
	inside && /^\}/ {
		inside = 0
		n = FNR - start - 1
		if (n > max) printf "%s:%d: %s is %d lines\n", FILENAME, start, name, n
	}
' $files)
nf=$(echo "$files" | wc -l)
if [ -n "$long" ]; then
	echo "not ok 1 - functions over $max lines in ${dirs[*]} (split them):"
	echo "$long" | sed "s|^$top/||; s/^/#   /"
	exit 1
fi
echo "ok 1 - no function over $max lines in $nf C files"
