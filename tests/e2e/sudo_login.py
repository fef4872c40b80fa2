#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Run the real setuid /usr/bin/sudo as another user in a pty (end-to-end tests).

usage: sudo_login.py --user NAME --password PW [--code CODE | --secret B32]
                     [--no-code] [--command CMD] [--log FILE] [--timeout S]

Started by root; `setpriv --reuid --regid --init-groups` drops to the user's
real UID and GID (taken from NSS, so a pool user provisioned with
`userpool user add` works), then execs `sudo -k -- sh -c CMD`. The kernel
runs sudo setuid root for a non-root caller, exactly as for a person at a
terminal, and sudo authenticates through its PAM service "sudo".

Answers "[sudo] password for NAME:" with PW and "Verification code:" with
CODE or the current TOTP of B32. --no-code: a code prompt is an error (an
offline sign-in asks for the password only).

Prints one JSON object: {"result": "ok"|"denied"|"error", "output": text
after the last answer, "exit": sudo's exit status, "detail": why}. Exit
status: 0 the command ran, 1 sudo refused, 2 anything else.
"""

import argparse
import json
import pwd
import re
import subprocess
import sys

import pexpect

DENIED = r"incorrect password attempt|Sorry, try again|Authentication failure|" \
    r"is not in the sudoers file|sudo: .*(unable|error)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--code")
    g.add_argument("--secret")
    g.add_argument("--no-code", action="store_true")
    ap.add_argument("--command", default="id -un")
    ap.add_argument("--log")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()

    res = {"result": "error", "output": "", "exit": None}
    try:
        pw = pwd.getpwnam(a.user)
    except KeyError:
        res["detail"] = "user %s does not resolve" % a.user
        return res
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb",
           "HOME": pw.pw_dir, "USER": a.user, "LOGNAME": a.user}
    args = ["--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid, "--init-groups", "--",
            "/usr/bin/sudo", "-k", "--", "/bin/sh", "-c", a.command]
    logf = open(a.log, "w", encoding="utf-8") if a.log else None
    child = pexpect.spawn("/usr/bin/setpriv", args, env=env, cwd="/", encoding="utf-8",
                          codec_errors="replace", timeout=a.timeout)
    if logf:
        child.logfile_read = logf
    prompt = re.escape("[sudo] password for %s:" % a.user)
    try:
        i = child.expect([prompt, DENIED, pexpect.EOF])
        if i != 0:
            res["detail"] = "no sudo password prompt"
            res["output"] = child.before
            res["result"] = "denied" if i == 1 else "error"
            return res
        child.sendline(a.password)
        i = child.expect([r"Verification code: ?", DENIED, prompt, pexpect.EOF])
        if i == 0:
            if a.no_code:
                res["detail"] = "asked for a code"
                return res
            if a.secret:
                code = subprocess.run(["oathtool", "--totp", "-b", a.secret], check=True,
                                      timeout=10, stdout=subprocess.PIPE,
                                      text=True).stdout.strip()
            else:
                code = a.code or ""
            child.sendline(code)
            res["code_prompts"] = 1
            i = child.expect([DENIED, r"Verification code: ?", prompt, pexpect.EOF])
            # A rejected code is asked for again (issue 25: up to 3 tries in
            # one sign-in): answer with the same code.
            while i == 1 and a.code and res["code_prompts"] < 3:
                res["code_prompts"] += 1
                child.sendline(code)
                i = child.expect([DENIED, r"Verification code: ?", prompt, pexpect.EOF])
            if i == 0:
                child.expect(pexpect.EOF)
                res["output"] = child.before
                res["result"] = "denied"
                return res
            if i != 3:
                res["detail"] = "prompted again after the code"
                return res
        elif i == 1:
            child.expect(pexpect.EOF)
            res["output"] = child.before
            res["result"] = "denied"
            return res
        elif i == 2:
            res["detail"] = "password prompt repeated"
            return res
        res["output"] = child.before.replace("\r\n", "\n")
        res["result"] = "ok"
        return res
    except pexpect.TIMEOUT:
        res["detail"] = "timeout"
        return res
    except (subprocess.SubprocessError, OSError) as e:
        res["detail"] = str(e)
        return res
    finally:
        child.close(force=True)
        res["exit"] = child.exitstatus if child.exitstatus is not None else child.signalstatus
        if res["result"] == "ok" and res["exit"] != 0:
            res["result"] = "denied" if res["exit"] == 1 else "error"
        if logf:
            logf.close()


if __name__ == "__main__":
    r = main()
    print(json.dumps(r))
    sys.exit({"ok": 0, "denied": 1}.get(r["result"], 2))
