#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Issue 17: the C sources of lib, pam, nss, tools and include are laid out as
# the committed .clang-format says (clang-format --dry-run -Werror). Prints
# each file that differs and the first lines of its difference; fix with
#   clang-format -i FILE
# Usage: tests/lint/test_format.sh [FILE...]  (default: the source tree)
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cf=${CLANG_FORMAT:-clang-format}
echo "1..1"
if ! command -v "$cf" >/dev/null 2>&1; then
	# tests/install-deps and .ci/run install it; a bare build may not have it
	echo "ok 1 # SKIP $cf not installed (tests/install-deps installs it)"
	exit 0
fi
if [ ! -f "$top/.clang-format" ]; then
	echo "not ok 1 - $top/.clang-format is missing"
	exit 1
fi
if [ $# -gt 0 ]; then files=("$@"); else
	mapfile -t files < <(cd "$top" && find lib pam nss tools include -name '*.[ch]' | sort)
fi
if [ "${#files[@]}" -eq 0 ]; then
	echo "not ok 1 - no C sources found under $top"
	exit 1
fi
bad=()
for f in "${files[@]}"; do
	if ! (cd "$top" && "$cf" --style=file --dry-run -Werror "$f" >/dev/null 2>&1); then
		bad+=("$f")
	fi
done
if [ "${#bad[@]}" -gt 0 ]; then
	echo "not ok 1 - ${#bad[@]} of ${#files[@]} files differ from .clang-format (clang-format -i them):"
	for f in "${bad[@]:0:10}"; do
		echo "#   $f"
		(cd "$top" && "$cf" --style=file "$f" | diff -u "$f" - | sed -n '3,12s/^/#     /p')
	done
	exit 1
fi
echo "ok 1 - ${#files[@]} C files laid out as .clang-format says"
