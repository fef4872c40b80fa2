#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Issue 17: the header layout holds.
#  1. Every public function (UP_EXPORT in include/userpool/X.h) is declared
#     in the header named after the lib/ file that defines it (X.c), read from
#     the objects the build made (nm), so macro-made definitions count too.
#  2. No private catch-all header: lib/internal.h is gone and nothing
#     includes it; each lib/X.c's private declarations live in lib/ headers.
# Usage: tests/lint/test_headers.py (top_srcdir and top_builddir from make check)
import glob
import os
import re
import subprocess
import sys

top = os.environ.get("top_srcdir") or os.path.join(os.path.dirname(__file__), "..", "..")
build = os.environ.get("top_builddir") or top

# Declared in one header, defined elsewhere, on purpose (say why).
EXCEPTIONS = {}


def strip(text):
    tok = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', re.S)
    return tok.sub(" ", text)


def declared():
    out = {}
    for h in sorted(glob.glob(os.path.join(top, "include", "userpool", "*.h"))):
        name = os.path.basename(h)[:-2]
        for m in re.finditer(r"UP_EXPORT\s[^;{]*?\b(up_\w+)\s*\(", strip(open(h).read()), re.S):
            out[m.group(1)] = name
    return out


def defined():
    """symbol -> lib file stem, from the convenience library's objects."""
    out = {}
    objs = glob.glob(os.path.join(build, "lib", ".libs", "libuserpool_core_la-*.o"))
    if not objs:
        objs = glob.glob(os.path.join(build, "lib", "libuserpool_core_la-*.o"))
    for o in objs:
        stem = re.sub(r"^libuserpool_core_la-", "", os.path.basename(o))[:-2]
        nm = subprocess.run(["nm", "--defined-only", o], capture_output=True, text=True)
        for line in nm.stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "T" and parts[2].startswith("up_"):
                out[parts[2]] = stem
    return out


def main():
    print("1..2")
    decl, defs = declared(), defined()
    if not defs:
        print("not ok 1 - no objects of libuserpool_core under %s/lib (build first)" % build)
    else:
        bad = []
        for fn, hdr in sorted(decl.items()):
            src = defs.get(fn)
            if src is None:
                bad.append("%s: declared in <userpool/%s.h>, defined in no lib/ object" % (fn, hdr))
            elif src != hdr and EXCEPTIONS.get(fn) != (hdr, src):
                bad.append("%s: declared in <userpool/%s.h>, defined in lib/%s.c: declare it in "
                           "include/userpool/%s.h" % (fn, hdr, src, src))
        if bad:
            print("not ok 1 - %d public functions in the wrong header" % len(bad))
            for b in bad:
                print("# " + b)
        else:
            print("ok 1 - each of %d public functions is declared in the header named after "
                  "its file (%d listed exceptions)" % (len(decl), len(EXCEPTIONS)))
    users = []
    for pat in ("lib/*.[ch]", "tests/*/*.[ch]", "tools/*.[ch]", "pam/*.[ch]", "nss/*.[ch]"):
        for f in glob.glob(os.path.join(top, pat)):
            if re.search(r'^\s*#\s*include\s+"internal\.h"', open(f, errors="replace").read(), re.M):
                users.append(os.path.relpath(f, top))
    if os.path.exists(os.path.join(top, "lib", "internal.h")) or users:
        print("not ok 2 - lib/internal.h is back (included by: %s): put declarations in the "
              "header of the lib/ file that defines them" % (", ".join(sorted(users)) or "none"))
    else:
        print("ok 2 - no lib/internal.h: private declarations live in per-module headers")
    return 0


sys.exit(main())
