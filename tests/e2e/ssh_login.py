#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Drive a keyboard-interactive ssh sign-in in a pty (end-to-end tests).

usage: ssh_login.py --port N --user NAME --password PW
                    [--code CODE | --secret B32 | --enroll]
                    [--command CMD] [--log FILE] [--timeout S]

Answers "Password:" with PW and "Verification code:" with CODE, with the
current TOTP of B32 (oathtool), or, with --enroll, with a code computed from
the secret of the QR code that the MFA_SETUP message shows in the client's
terminal (decoded by tests/unit/qr_decode.py through zbarimg; the decoded
otpauth:// URI must also equal the "URI:" line printed under it).

Prints one JSON object on stdout:
  {"result": "ok"|"denied"|"error", "output": remote command output,
   "exit": ssh exit status, "messages": text shown before the code prompt,
   "uri": decoded otpauth URI (--enroll), "detail": why, on error}
Exit status: 0 signed in and the command ran, 1 sign-in refused, 2 anything
else (unexpected prompt, timeout, QR not decodable).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

import pexpect

HERE = os.path.dirname(os.path.abspath(__file__))
QR_DECODE = os.path.join(HERE, "..", "unit", "qr_decode.py")
QR_CHARS = "\u2588\u2580\u2584 "
DENIED = r"Permission denied|Authentication failed|Too many authentication failures"


def totp(secret):
    return subprocess.run(["oathtool", "--totp", "-b", secret], check=True, timeout=10,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def extract_qr(text):
    """The rendered QR block (UTF-8 half blocks) in TEXT, newline-terminated.

    The first line of the message carries the client's "(user@host) "
    prefix; every QR row starts with its light quiet zone (a full block), so
    anything before the first block character is dropped."""
    rows, best = [], []
    for line in text.replace("\r", "").split("\n"):
        i = min((line.find(c) for c in "\u2588\u2580\u2584" if c in line), default=-1)
        cand = line[i:] if i >= 0 else ""
        if cand and all(c in QR_CHARS for c in cand):
            rows.append(cand.rstrip("\n"))
            continue
        if len(rows) > len(best):
            best = rows
        rows = []
    if len(rows) > len(best):
        best = rows
    if len(best) < 10:
        return None
    width = len(best[0])
    if any(len(r) != width for r in best):
        return None
    return "\n".join(best) + "\n"


def decode_qr(text):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt",
                                     delete=False) as f:
        f.write(text)
        path = f.name
    try:
        p = subprocess.run([sys.executable, QR_DECODE, path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=90)
    finally:
        os.unlink(path)
    if p.returncode != 0:
        raise RuntimeError("qr_decode: " + p.stderr.decode("utf-8", "replace").strip())
    return p.stdout.decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--code")
    g.add_argument("--secret")
    g.add_argument("--enroll", action="store_true")
    ap.add_argument("--command", default="id -un")
    ap.add_argument("--log")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()

    env = dict(os.environ)
    for k in list(env):
        if k.startswith("LC_") or k in ("LANG", "LANGUAGE", "SSH_AUTH_SOCK"):
            del env[k]
    env["LANG"] = "C.UTF-8"  # UTF-8 half blocks display as such
    args = ["-F", "/dev/null", "-p", str(a.port),
            "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR",
            "-o", "PreferredAuthentications=keyboard-interactive",
            "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=20",
            "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null",
            "-o", "ServerAliveInterval=10",
            "-l", a.user, a.host, a.command]
    res = {"result": "error", "output": "", "exit": None, "messages": "", "uri": None}
    logf = open(a.log, "w", encoding="utf-8") if a.log else None
    child = pexpect.spawn("ssh", args, env=env, encoding="utf-8", codec_errors="replace",
                          timeout=a.timeout, dimensions=(200, 250))
    if logf:
        child.logfile_read = logf
    try:
        i = child.expect([r"[Pp]assword: ?", DENIED, pexpect.EOF])
        if i != 0:
            res["detail"] = "no password prompt"
            res["result"] = "denied" if i == 1 else "error"
            return res
        child.sendline(a.password)
        i = child.expect([r"Verification code: ?", DENIED, r"[Pp]assword: ?", pexpect.EOF])
        res["messages"] = child.before
        if i == 1:
            res["result"] = "denied"
            return res
        if i != 0:
            res["detail"] = "unexpected %s after the password" % (
                "password prompt" if i == 2 else "end of session")
            res["output"] = child.before
            return res
        if a.enroll:
            qr = extract_qr(child.before)
            if not qr:
                res["detail"] = "no QR code before the verification prompt"
                return res
            uri = decode_qr(qr)
            res["uri"] = uri
            shown = re.search(r"URI: (otpauth://\S+)", child.before)
            if not shown or shown.group(1) != uri:
                res["detail"] = "printed URI differs from the QR code's"
                return res
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
            code = totp(q["secret"][0])
        elif a.secret:
            code = totp(a.secret)
        else:
            code = a.code or ""
        child.sendline(code)
        res["code_prompts"] = 1
        i = child.expect([DENIED, r"Verification code: ?", r"[Pp]assword: ?", pexpect.EOF])
        # A rejected code is asked for again (issue 25: up to 3 tries in one
        # sign-in): answer with the same code.
        while i == 1 and res["code_prompts"] < 3 and a.code:
            res["messages"] += child.before
            res["code_prompts"] += 1
            child.sendline(code)
            i = child.expect([DENIED, r"Verification code: ?", r"[Pp]assword: ?", pexpect.EOF])
        if i == 0:
            res["messages"] += child.before
            res["result"] = "denied"
            return res
        if i != 3:
            res["detail"] = "unexpected prompt after the code"
            res["output"] = child.before
            return res
        res["output"] = child.before.replace("\r\n", "\n")
        res["result"] = "ok"
        return res
    except pexpect.TIMEOUT:
        res["detail"] = "timeout"
        res["output"] = child.before if isinstance(child.before, str) else ""
        return res
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        res["detail"] = str(e)
        return res
    finally:
        child.close(force=True)
        res["exit"] = child.exitstatus if child.exitstatus is not None else child.signalstatus
        if res["result"] == "ok" and res["exit"] == 255:
            res["result"] = "denied" if re.search(DENIED, res["output"]) else "error"
        if logf:
            logf.close()


if __name__ == "__main__":
    r = main()
    print(json.dumps(r))
    sys.exit({"ok": 0, "denied": 1}.get(r["result"], 2))
