# SPDX-License-Identifier: Apache-2.0
"""Decode a QR code rendered as terminal text by lib/qr.c.

usage: python3 qr_decode.py [--invert] FILE

Reads the text (UTF-8 half blocks or ASCII "##"), turns it back into a module
matrix with the polarity lib/qr.c documents, writes a PNG (each module 8x8
pixels, dark = black, light = white; nothing added around it, so the text's
own quiet zone is what the scanner gets) and runs `zbarimg --quiet --raw` on
it. Prints the decoded bytes exactly (no newline added) and exits 0; exits 1
with a message on stderr when the text is malformed, zbarimg is missing, or
nothing decodes. --invert swaps black and white (what a terminal with the
other background colour shows) and asks zbar to try inverted images.
"""

import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

# lib/qr.c: UTF-8 style draws LIGHT modules as ink, DARK modules as spaces;
# each character is (top, bottom), True = dark.
UTF8 = {
    "\u2588": (False, False),
    "\u2580": (False, True),
    "\u2584": (True, False),
    " ": (True, True),
}
# ASCII style: "##" = dark, "  " = light.
ASCII = {"##": True, "  ": False}

SCALE = 8


def fail(msg):
    sys.stderr.write("qr_decode: %s\n" % msg)
    sys.exit(1)


def parse(text):
    if not text.endswith("\n"):
        fail("text does not end in a newline")
    lines = text[:-1].split("\n")
    if not lines or any(len(l) != len(lines[0]) for l in lines):
        fail("lines differ in length")
    rows = []
    if any(c in UTF8 and c != " " for c in text):
        for l in lines:
            top, bottom = [], []
            for c in l:
                if c not in UTF8:
                    fail("unexpected character %r in UTF-8 style" % c)
                t, b = UTF8[c]
                top.append(t)
                bottom.append(b)
            rows.append(top)
            rows.append(bottom)
    else:
        for l in lines:
            if len(l) % 2:
                fail("odd ASCII line length")
            row = []
            for i in range(0, len(l), 2):
                pair = l[i:i + 2]
                if pair not in ASCII:
                    fail("unexpected cell %r in ASCII style" % pair)
                row.append(ASCII[pair])
            rows.append(row)
    return rows


def png(rows, invert, path):
    width = len(rows[0]) * SCALE
    height = len(rows) * SCALE
    raw = bytearray()
    for row in rows:
        line = bytearray([0])  # filter type: none
        for dark in row:
            black = dark != invert
            line += (b"\x00" if black else b"\xff") * SCALE
        raw += bytes(line) * SCALE

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", ihdr))
        f.write(chunk(b"IDAT", zlib.compress(bytes(raw), 9)))
        f.write(chunk(b"IEND", b""))


def main(argv):
    invert = False
    if argv and argv[0] == "--invert":
        invert = True
        argv = argv[1:]
    if len(argv) != 1:
        fail("usage: qr_decode.py [--invert] FILE")
    zbarimg = shutil.which("zbarimg")
    if not zbarimg:
        fail("zbarimg not found (install zbar-tools)")
    with open(argv[0], "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        fail("text is not UTF-8")
    rows = parse(text)
    with tempfile.TemporaryDirectory(prefix="qr_decode.") as d:
        path = os.path.join(d, "qr.png")
        png(rows, invert, path)
        # -Sbinary: hand back the symbol's bytes as they are; without it zbar
        # guesses a character set for 8-bit data (UTF-8 text can come back
        # as Shift-JIS), and the test compares bytes.
        cmd = [zbarimg, "--quiet", "--raw", "--nodbus", "-Sdisable", "-Sqrcode.enable",
               "-Sbinary"]
        if invert:
            cmd.append("-Stest-inverted")
        cmd.append(path)
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=60)
        except subprocess.TimeoutExpired:
            fail("zbarimg timed out")
    if p.returncode != 0:
        fail("zbarimg exit %d (4: no code found) %s"
             % (p.returncode, p.stderr.decode("utf-8", "replace").strip()))
    out = p.stdout
    # With -Sbinary zbarimg 0.23 writes the payload bytes and nothing else
    # (no newline): print them unchanged for the caller to compare.
    if not out:
        fail("zbarimg decoded nothing")
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
