#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# STYLE.md / the project brief: no sprintf, strcpy, strcat, strtok, atoi or
# gets anywhere in the C sources (lib, pam, nss, tools, tests, include).
# A call is the name as a word followed by '(' (snprintf and the like are
# other words); comments that merely mention a name are not calls.
# Usage: tests/lint/test_banned_calls.sh [DIR...]  (default: the source tree)
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ $# -gt 0 ]; then dirs=("$@"); else
	dirs=()
	for d in lib pam nss tools tests include; do [ -d "$top/$d" ] && dirs+=("$top/$d"); done
fi
echo "1..1"
re='(^|[^A-Za-z0-9_])(sprintf|strcpy|strcat|strtok|atoi|gets)[[:space:]]*\('
found=$(grep -rnE --include='*.c' --include='*.h' "$re" "${dirs[@]}" \
	--exclude-dir=node_modules 2>/dev/null |
	grep -vE ':[0-9]+:[[:space:]]*(/?\*|//)' || true)
if [ -n "$found" ]; then
	echo "not ok - banned calls (use snprintf, memcpy with a length, strtoll/up_parse_int64):"
	echo "$found"
	exit 1
fi
n=$(find "${dirs[@]}" -name node_modules -prune -o \( -name '*.c' -o -name '*.h' \) -print | wc -l)
if [ "$n" -lt 1 ]; then
	echo "not ok - no C sources found under ${dirs[*]}"
	exit 1
fi
echo "ok - no banned calls in $n C files"
