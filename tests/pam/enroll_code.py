# SPDX-License-Identifier: Apache-2.0
"""Answer the "Verification code: " prompt that follows an MFA_SETUP display.

usage: python3 enroll_code.py INFO_FILE [URI_OUT]

INFO_FILE holds the PAM_TEXT_INFO text the module sent (the QR code drawn
with characters, a blank line, the key in groups of four, the otpauth URI).
The QR code is decoded with tests/unit/qr_decode.py (zbarimg), the URI is
checked against the key in groups and the URI line, and the current TOTP
code is computed with `oathtool --totp -b SECRET` and printed. The decoded
URI is written to URI_OUT when given. Exits 1 with a message on any
mismatch, so a QR code that does not scan fails the sign-in.
"""

import os
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
QR_DECODE = os.path.join(HERE, "..", "unit", "qr_decode.py")


def fail(msg):
    sys.stderr.write("enroll_code: %s\n" % msg)
    sys.exit(1)


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: enroll_code.py INFO_FILE [URI_OUT]")
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    try:
        blank = lines.index("")
    except ValueError:
        fail("no blank line after the QR code")
    qr = lines[:blank]
    if len(qr) < 10:
        fail("no QR code in the message")
    rest = lines[blank + 1:]
    groups = [l.strip() for l in rest if l.startswith("  ")]
    uri_lines = [l[5:] for l in rest if l.startswith("URI: ")]
    if len(groups) != 1 or len(uri_lines) != 1:
        fail("expected one line of key groups and one URI line")
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt",
                                     delete=False) as t:
        t.write("\n".join(qr) + "\n")
        qr_path = t.name
    try:
        p = subprocess.run([sys.executable, QR_DECODE, qr_path], capture_output=True,
                           timeout=30)
    finally:
        os.unlink(qr_path)
    if p.returncode != 0:
        fail("QR code does not decode: %s" % p.stderr.decode(errors="replace").strip())
    uri = p.stdout.decode()
    if uri != uri_lines[0]:
        fail("decoded QR code differs from the URI line")
    u = urllib.parse.urlsplit(uri)
    if u.scheme != "otpauth" or u.netloc != "totp":
        fail("not an otpauth://totp URI")
    q = urllib.parse.parse_qs(u.query)
    secret = q.get("secret", [""])[0]
    if not secret or secret.upper() != groups[0].replace(" ", "").upper():
        fail("the key in groups differs from the URI's secret")
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w") as f:
            f.write(uri + "\n")
    p = subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, timeout=10)
    if p.returncode != 0:
        fail("oathtool failed")
    sys.stdout.write(p.stdout.decode().strip() + "\n")


if __name__ == "__main__":
    main()
