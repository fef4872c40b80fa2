# SPDX-License-Identifier: Apache-2.0
"""userpool-enroll and the userpool CLI, driven like a person would: in a
pseudo-terminal (pexpect), against the test user pool over HTTPS.

The QR code printed in the terminal is cut out of the captured screen,
turned into an image and decoded with zbarimg (tests/unit/qr_decode.py);
the code computed from the decoded URI completes the enrolment, and a
following PAM sign-in (pamtester + pam_wrapper, the real module) asks for
that code. Prints TAP.
"""

import hashlib
import io
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

import pexpect

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BUILD = os.environ.get("top_builddir") or TOP
PY = os.environ.get("PYTHON3", "/usr/bin/python3")
ENROLL = os.path.join(BUILD, "tools", "userpool-enroll")
CLI = os.path.join(BUILD, "tools", "userpool")
MODULE = os.path.join(BUILD, "pam", ".libs", "pam_userpool.so")
POOL_ID = "us-east-1_TestPool1"
CLIENT = "userpooltestclient00000001"
PASSWORD = "Enrol-Me-2026"

results = []


def tap(ok, name, why=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name), flush=True)
    if not ok and why:
        for line in str(why).splitlines()[-25:]:
            print("# " + line, flush=True)


class Pool:
    def __init__(self, tmp):
        self.tmp = tmp
        self.state = os.path.join(tmp, "pool")
        self.ca = os.path.join(tmp, "ca")
        os.makedirs(self.state, exist_ok=True)
        self.proc = None
        self.url = None
        self.start()

    def start(self):
        ready = os.path.join(self.tmp, "ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.proc = subprocess.Popen(
            [PY, os.path.join(TOP, "tests", "pool", "pool.py"), "--port", str(self.port()) if self.url else "0",
             "--state", self.state, "--tls", self.ca, "--ready-file", ready],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline and not (os.path.exists(ready) and os.path.getsize(ready)):
            time.sleep(0.05)
        with open(ready) as f:
            self.url = f.read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.ca, "ca.pem"))

    def port(self):
        return int(self.url.rsplit(":", 1)[1].strip("/"))

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def admin(self, op, **body):
        req = urllib.request.Request(self.url + "admin/" + op, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, context=self.ctx, timeout=10) as r:
            return json.loads(r.read())


def totp(secret):
    return subprocess.check_output(["oathtool", "--totp", "-b", secret], text=True).strip()


def totp_at(secret, offset):
    """The code of the 30 s step at now + offset seconds."""
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + offset))
    return subprocess.check_output(["oathtool", "--totp", "-b", "--now", when, secret], text=True).strip()


def next_code(secret, used):
    """A code of a 30 s step the pool has not seen yet."""
    for _ in range(70):
        c = totp(secret)
        if c not in used:
            used.add(c)
            return c
        time.sleep(1)
    raise RuntimeError("no fresh TOTP step within 70 s")


def write_conf(tmp, pool, extra=""):
    path = os.path.join(tmp, "userpool.conf")
    with open(path, "w") as f:
        f.write("user_pool_id = %s\nclient_id = %s\nendpoint = %s\nissuer = %s/%s\n"
                "ca_file = %s\nstate_dir = %s\nauth_flow = srp\ntimeout = 5s\n%s"
                % (POOL_ID, CLIENT, pool.url, pool.url.rstrip("/"), POOL_ID,
                   os.path.join(pool.ca, "ca.pem"), os.path.join(tmp, "state"), extra))
    os.chmod(path, 0o644)
    return path


def spawn(args, cols=120, rows=60, env=None):
    e = dict(os.environ)
    e.update({"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
    if env:
        e.update(env)
    return pexpect.spawn(args[0], args[1:], dimensions=(rows, cols), env=e, encoding="utf-8",
                         timeout=30)


def decode_qr(tmp, text):
    path = os.path.join(tmp, "qr.txt")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([PY, os.path.join(TOP, "tests", "unit", "qr_decode.py"), path],
                          capture_output=True, text=True, timeout=30)


def enroll_via_qr(tmp, pool, conf, user, ascii=False):
    """Run userpool-enroll, decode its QR, answer with the code. Returns
    (exit status, decoded uri, printed uri, output)."""
    args = [ENROLL, "--config", conf, "--user", user, "--device-name", "test-phone"]
    if ascii:
        args.append("--ascii")
    p = spawn(args)
    p.expect("Password: ")
    p.sendline(PASSWORD)
    p.expect("Scan this QR code with your authenticator app:\r\n\r\n")
    p.expect("\r\nOr enter this key by hand:")
    qr = p.before.replace("\r\n", "\n")
    p.expect(r"URI: (otpauth://\S+)")
    printed = p.match.group(1)
    dec = decode_qr(tmp, qr)
    uri = dec.stdout
    secret = re.search(r"secret=([A-Z2-7]+)", uri or printed).group(1)
    p.expect("Verification code: ")
    p.sendline(totp(secret))
    p.expect(pexpect.EOF)
    p.close()
    return p.exitstatus, uri, printed, p.before, dec.stderr


def pam_signin(tmp, conf, user, answers):
    svc = os.path.join(tmp, "pamsvc")
    os.makedirs(svc, exist_ok=True)
    with open(os.path.join(svc, "upt"), "w") as f:
        f.write("auth required %s config=%s\naccount required %s config=%s\n"
                % (MODULE, conf, MODULE, conf))
    env = dict(os.environ)
    env.update({"LD_PRELOAD": "libpam_wrapper.so", "PAM_WRAPPER": "1",
                "PAM_WRAPPER_SERVICE_DIR": svc})
    return subprocess.run(["pamtester", "-v", "upt", user, "authenticate"], input="\n".join(answers) + "\n",
                          capture_output=True, text=True, env=env, timeout=60)


PLAN = 34


def main():
    print("1..%d" % PLAN, flush=True)
    tmp = tempfile.mkdtemp(prefix="uptools.")
    os.chmod(tmp, 0o755)
    pool = Pool(tmp)
    try:
        run(tmp, pool)
    finally:
        pool.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(results) and len(results) == PLAN else 1


def run(tmp, pool):
    pool.admin("set_pool_mfa", mfa="OPTIONAL")
    conf = write_conf(tmp, pool)
    used = set()

    # 1-3: UTF-8 QR, decoded, enrolment completes, PAM then asks for the code
    pool.admin("create_user", username="erin", password=PASSWORD)
    st, uri, printed, out, err = enroll_via_qr(tmp, pool, conf, "erin")
    erin_out = out
    secret = pool.admin("get_totp_secret", username="erin").get("secret")
    expect = "otpauth://totp/userpool:erin?secret=%s&issuer=userpool" % secret
    tap(uri == expect and printed == expect, "UTF-8 QR decodes to exactly the URI the pool's secret implies",
        "decoded=%r printed=%r expected=%r %s" % (uri, printed, expect, err))
    tap(st == 0 and "enrolled" in out, "enrolment completes with the code computed from the QR", out)
    used.add(totp(secret))
    r = pam_signin(tmp, conf, "erin", [PASSWORD, next_code(secret, used)])
    tap(r.returncode == 0 and "Verification code" in (r.stdout + r.stderr),
        "a following PAM sign-in asks for that code and succeeds", r.stdout + r.stderr)

    # 4: ASCII mode
    pool.admin("create_user", username="ascii", password=PASSWORD)
    st, uri, printed, out, err = enroll_via_qr(tmp, pool, conf, "ascii", ascii=True)
    tap(st == 0 and uri == printed and uri.startswith("otpauth://totp/userpool:ascii?"),
        "--ascii QR decodes and enrolment completes", out + err)

    # 5: narrow terminal: no QR, key in groups of four and URI
    pool.admin("create_user", username="narrow", password=PASSWORD)
    p = spawn([ENROLL, "--config", conf, "--user", "narrow"], cols=40)
    p.expect("Password: ")
    p.sendline(PASSWORD)
    p.expect("Verification code: ")
    text = p.before
    p.sendcontrol("c")
    p.close()
    tap("too narrow" in text and re.search(r"  ([A-Z2-7]{4} ){7}[A-Z2-7]{4}", text) and "URI: otpauth://" in text
        and "\u2588" not in text, "a narrow terminal gets no QR but the key in groups of four and the URI", text)

    # 6: not a terminal
    pool.admin("create_user", username="pipe", password=PASSWORD)
    r = subprocess.run([ENROLL, "--config", conf, "--user", "pipe"], input=PASSWORD + "\n000000\n000000\n000000\n",
                       capture_output=True, text=True, timeout=60)
    tap("Scan this QR" not in r.stdout and "URI: otpauth://" in r.stdout and "\u2588" not in r.stdout,
        "stdout that is not a terminal gets no QR", r.stdout + r.stderr)

    # 7-8: wrong code three times → exit 4, secret not enrolled
    pool.admin("create_user", username="wrong", password=PASSWORD)
    p = spawn([ENROLL, "--config", conf, "--user", "wrong"])
    seen = io.StringIO()
    p.logfile_read = seen
    p.expect("Password: ")
    p.sendline(PASSWORD)
    n = 0
    for _ in range(3):
        p.expect("Verification code: ")
        p.sendline("000000")
        n += 1
    p.expect(pexpect.EOF)
    p.close()
    tap(p.exitstatus == 4 and seen.getvalue().count("rejected") == 3, "three wrong codes: exit status 4",
        seen.getvalue())
    info = pool.admin("get_totp_secret", username="wrong")
    tap(not info.get("enabled"), "after three wrong codes no authenticator is enrolled", json.dumps(info))

    # 9: pool down mid-enrolment → exit 5
    pool.admin("create_user", username="down", password=PASSWORD)
    p = spawn([ENROLL, "--config", conf, "--user", "down"])
    p.expect("Password: ")
    p.sendline(PASSWORD)
    p.expect("Verification code: ")
    pool.stop()
    p.sendline("123456")
    p.expect(pexpect.EOF)
    p.close()
    tap(p.exitstatus == 5 and "unreachable" in p.before, "the pool going down mid-enrolment: exit status 5", p.before)
    pool.start()

    # 10: the secret never reaches a log or the state directory
    leaked = False
    for root, _, files in os.walk(os.path.join(tmp, "state")):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                if secret.encode() in f.read():
                    leaked = True
    tap(not leaked, "the TOTP secret is not written to the state directory")

    # 11: runs as the user: no root, and root's cache is left alone
    pool.admin("create_user", username="plain", password=PASSWORD)
    before = sorted(os.listdir(os.path.join(tmp, "state", "jwks")))
    p = pexpect.spawn(ENROLL, ["--config", conf, "--user", "plain"], dimensions=(60, 120), encoding="utf-8",
                      timeout=30, env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"},
                      preexec_fn=lambda: (os.setgroups([]), os.setgid(65534), os.setuid(65534)))
    p.expect("Password: ")
    p.sendline(PASSWORD)
    p.expect(r"URI: otpauth://\S+secret=([A-Z2-7]+)")
    psecret = p.match.group(1)
    p.expect("Verification code: ")
    p.sendline(totp(psecret))
    p.expect(pexpect.EOF)
    p.close()
    after = sorted(os.listdir(os.path.join(tmp, "state", "jwks")))
    tap(p.exitstatus == 0 and before == after, "userpool-enroll runs as an unprivileged user", p.before)

    # 12-14: issue 16 item 5c, the handover of the secret to the root-owned
    # store: run as root (erin above), userpool-enroll keeps it wrapped in
    # the user's record; unprivileged (plain) it says how the secret gets
    # there and keeps nothing.
    r = subprocess.run([CLI, "--config", conf, "cache", "show", "erin"], capture_output=True, text=True, timeout=60)
    r2 = subprocess.run([CLI, "--config", conf, "cache", "show", "plain"], capture_output=True, text=True,
                        timeout=60)
    tap("Offline sign-in on this machine will ask for this authenticator's code" in erin_out
        and "TOTP secret held (wrapped)" in r.stdout
        and "sudo userpool-enroll --user plain" in p.before and "will ask for this" not in p.before
        and "TOTP secret held" not in r2.stdout,
        "root-run userpool-enroll keeps the secret wrapped (cache show); unprivileged it says how",
        out + r.stdout + r.stderr + p.before + r2.stdout)
    # Offline (pool stopped): erin's password alone is refused, password and
    # a code of her authenticator (checked locally) sign her in.
    pool.stop()
    try:
        r = pam_signin(tmp, conf, "erin", [PASSWORD])
        r2 = pam_signin(tmp, conf, "erin", [PASSWORD, totp_at(secret, 30)])
    finally:
        pool.start()
    tap(r.returncode != 0 and "Signed in offline" not in r.stdout + r.stderr,
        "pool stopped: erin's password alone is refused offline", r.stdout + r.stderr)
    tap(r2.returncode == 0 and "Signed in offline" in r2.stdout + r2.stderr
        and "Verification code" in r2.stdout + r2.stderr,
        "pool stopped: erin's password + code (checked locally) sign her in offline", r2.stdout + r2.stderr)

    # 12-17: the admin CLI
    r = subprocess.run([CLI, "--config", conf, "status"], capture_output=True, text=True, timeout=60)
    tap(r.returncode == 0 and "reachable" in r.stdout and "State directory" in r.stdout,
        "userpool status: clean config, pool reachable, state ok", r.stdout + r.stderr)
    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("client_id = x\nendpoint = http://example.com/\ntimeout = forever\nbogus = 1\n")
    r = subprocess.run([CLI, "--config", bad, "status"], capture_output=True, text=True, timeout=60)
    tap(r.returncode != 0 and "timeout" in r.stdout and "endpoint" in r.stdout,
        "userpool status lists every problem of a broken config", r.stdout + r.stderr)
    p = spawn([CLI, "--config", conf, "login", "erin"])
    p.expect("Password: ")
    p.sendline(PASSWORD)
    p.expect("Verification code: ")
    p.sendline(next_code(secret, used))
    p.expect(pexpect.EOF)
    p.close()
    tap(p.exitstatus == 0 and "sub" in p.before and "eyJ" not in p.before,
        "userpool login prints the verified claims and never a token", p.before)
    tok = pool.admin("issue_tokens", username="erin")
    idt = tok.get("IdToken") or tok.get("id_token") or tok.get("AuthenticationResult", {}).get("IdToken")
    r = subprocess.run([CLI, "--config", conf, "verify", "-"], input=idt + "\n", capture_output=True, text=True,
                       timeout=60)
    forged = pool.admin("forge", kind="wrong_iss")["token"]
    r2 = subprocess.run([CLI, "--config", conf, "--json", "verify", forged], capture_output=True, text=True,
                        timeout=60)
    tap(r.returncode == 0 and "erin" in r.stdout and r2.returncode == 1 and "iss" in r2.stdout,
        "userpool verify: a good token's claims, a forged token's exact reason", r.stdout + r.stderr + r2.stdout)
    r = subprocess.run([CLI, "--config", conf, "--json", "cache", "list"], capture_output=True, text=True, timeout=60)
    ok_list = r.returncode == 0 and any(u.get("username") == "erin" for u in json.loads(r.stdout or "[]"))
    r2 = subprocess.run([CLI, "--config", conf, "cache", "purge", "erin"], capture_output=True, text=True, timeout=60)
    r3 = subprocess.run([CLI, "--config", conf, "cache", "show", "erin"], capture_output=True, text=True, timeout=60)
    tap(ok_list and r2.returncode == 0 and r3.returncode == 1, "userpool cache list / purge / show",
        r.stdout + r.stderr + r2.stderr + r3.stderr)
    r = subprocess.run([CLI, "--config", conf, "jwks", "refresh"], capture_output=True, text=True, timeout=60)
    r2 = subprocess.run([CLI, "--config", conf, "user", "add", "bad:name"], capture_output=True, text=True,
                        timeout=60)
    tap(r.returncode == 0 and r2.returncode == 1, "userpool jwks refresh; user add refuses a hostile name",
        r.stdout + r.stderr + r2.stderr)
    status_checks(tmp, pool, conf)


def status(conf, user=None):
    pre = None
    if user:
        import pwd
        pw = pwd.getpwnam(user)
        def pre():
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    r = subprocess.run([CLI, "--config", conf, "status"], capture_output=True, text=True, timeout=60,
                       preexec_fn=pre)
    return r.returncode, r.stdout + r.stderr


def status_checks(tmp, pool, conf):
    """issue 18 item 4 and 7, issue 16: status finds what makes every sign-in fail."""
    # 18: a working setup: the client probe passes, the clock agrees, and the
    # empty allow_groups is one warning (issue 16), printed once.
    rc, out = status(conf)
    tap(rc == 0 and "App client: ok" in out and "Clock: within" in out
        and "warning: allow_groups: empty" in out and out.count("allow_groups") == 1,
        "status probes the app client and the clock; warns once that allow_groups is empty", out)
    # issue 23 item 3: a provisioning change cut between its two files is
    # reported (and completed by the next change of the NSS files).
    nssdir = os.path.join(tmp, "state", "nss")
    os.makedirs(nssdir, mode=0o755, exist_ok=True)
    jpath = os.path.join(nssdir, "journal")
    fd = os.open(jpath, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"userpool-nss-journal 1\n0 0\n")
    os.close(fd)
    rc, out = status(conf)
    r = subprocess.run([CLI, "--config", conf, "user", "add", "journaluser"], capture_output=True,
                       text=True, timeout=60)
    tap(rc == 0 and "interrupted change is pending" in out and r.returncode == 0
        and not os.path.exists(jpath),
        "status reports a pending NSS journal; the next user add completes it", out + r.stdout + r.stderr)
    subprocess.run([CLI, "--config", conf, "user", "del", "journaluser"], capture_output=True, timeout=60)
    # 19: a wrong client_id: ResourceNotFoundException, named with the fix
    bad = os.path.join(tmp, "badclient.conf")
    with open(conf) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace(CLIENT, "wrongclient0000000000000001") + "allow_groups = admins\n")
    rc, out = status(bad)
    tap(rc == 1 and "App client: sign-in cannot work" in out and "not found" in out and "fix:" in out
        and "malformed" not in out, "status: a wrong client_id is found and named with its fix", out)
    # 20: issuer of another pool, empty ca_file, region of the endpoint: configuration errors (exit 2)
    with open(bad, "w") as f:
        f.write(text.replace("%s/%s" % (pool.url.rstrip("/"), POOL_ID), pool.url.rstrip("/") + "/us-east-1_Other"))
    rc1, out1 = status(bad)
    with open(bad, "w") as f:
        f.write(text.replace("ca_file = ", "ca_file =\n#"))
    rc2, out2 = status(bad)
    with open(bad, "w") as f:
        f.write(text.replace("endpoint = %s" % pool.url, "endpoint = https://cognito-idp.eu-west-1.amazonaws.com/"))
    rc3, out3 = status(bad)
    tap(rc1 == 2 and "does not end in /" + POOL_ID in out1 and rc2 == 2 and "ca_file: empty" in out2
        and rc3 == 2 and "region eu-west-1, the pool in us-east-1" in out3,
        "status: issuer of another pool, empty ca_file, endpoint in another region are errors",
        out1 + out2 + out3)
    # 21: the pool's clock 10 minutes ahead: status reports the skew, and a
    # sign-in says the clock is off, not "incorrect password"
    pool.admin("create_user", username="skewy", password=PASSWORD)
    optional = os.path.join(tmp, "optional.conf")
    with open(optional, "w") as f:
        f.write(text + "mfa = optional\nenroll_on_login = no\n")
    os.chmod(optional, 0o644)
    pwflow = os.path.join(tmp, "pwflow.conf")
    with open(pwflow, "w") as f:
        f.write(text.replace("auth_flow = srp", "auth_flow = password") + "mfa = optional\nenroll_on_login = no\n")
    os.chmod(pwflow, 0o644)
    pool.admin("set_clock_offset", seconds=600)
    try:
        rc, out = status(conf)
        r = pam_signin(tmp, optional, "skewy", [PASSWORD])      # SRP: the pool refuses the TIMESTAMP
        r2 = pam_signin(tmp, pwflow, "skewy", [PASSWORD])       # tokens issued "in the future"
    finally:
        pool.admin("set_clock_offset", seconds=0)
    said = r.stdout + r.stderr
    said2 = r2.stdout + r2.stderr
    tap(rc == 1 and re.search(r"clock of this machine is (599|600|601) s behind", out)
        and r.returncode != 0 and re.search(r"the clock of this machine is (599|600|601) s off", said)
        and r2.returncode != 0 and re.search(r"the clock of this machine is (599|600|601) s off", said2)
        and "incorrect" not in (said + said2).lower(),
        "a clock 10 minutes off: status reports it, the sign-in says so", out + said + said2)
    # 22: a typo'd key: the nearest key suggested, one warning line; non-root: "run as root"
    with open(bad, "w") as f:
        f.write(text + "allow_groups = admins\ntimout = 5\n")
    os.chmod(bad, 0o644)
    rc, out = status(bad)
    rc2, out2 = status(bad, "nobody")
    tap(rc == 0 and "did you mean timeout?" in out and out.count("warning:") == 1
        and "run as root" in out2, "status: typo'd key suggests the nearest, warning printed once; "
        "non-root is told to run as root", out + out2)
    # 23: --help names status's exit codes
    r = subprocess.run([CLI, "--help"], capture_output=True, text=True, timeout=60)
    tap(r.returncode == 0 and "status exits 0" in r.stdout and "2 when" in r.stdout,
        "--help documents status's exit codes", r.stdout)
    # 24: issue 18 item 6: user add takes several names and a file; --group explains
    names = os.path.join(tmp, "members")
    with open(names, "w") as f:
        f.write("# staff\nmulti3\n\n  multi4  \n")
    r = subprocess.run([CLI, "--config", conf, "user", "add", "multi1", "multi2"], capture_output=True,
                       text=True, timeout=60)
    r2 = subprocess.run([CLI, "--config", conf, "user", "add", "--from-file", names], capture_output=True,
                        text=True, timeout=60)
    r3 = subprocess.run([CLI, "--config", conf, "user", "add", "--group", "staff"], capture_output=True,
                        text=True, timeout=60)
    tap(r.returncode == 0 and re.search(r"multi1: uid \d+", r.stdout) and re.search(r"multi2: uid \d+", r.stdout)
        and r2.returncode == 0 and re.search(r"multi3: uid \d+", r2.stdout) and re.search(r"multi4: uid \d+", r2.stdout)
        and r3.returncode == 2 and "ListUsersInGroup" in r3.stderr and "--from-file" in r3.stderr,
        "user add: several names, --from-file, --group explains why a client cannot list members",
        r.stdout + r.stderr + r2.stdout + r2.stderr + r3.stderr)
    # 26: issue 24: uid_source = hash; user add NAME --sub S on two machines
    # (two state directories) in different orders gives the documented UIDs
    # and byte-identical NSS files; without --sub it says why it cannot.
    files, log = [], ""
    iss = "%s/%s" % (pool.url.rstrip("/"), POOL_ID)
    want = {}
    for n, s in (("fleeta", "sub-a"), ("fleetb", "sub-b"), ("fleetc", "sub-c")):
        d = hashlib.sha256(("%s\n%s" % (iss, s)).encode()).digest()
        want[n] = 200000 + int.from_bytes(d[:8], "big") % 100000
    for k, order in enumerate((("fleeta", "fleetb", "fleetc"), ("fleetc", "fleeta", "fleetb"))):
        mdir = os.path.join(tmp, "machine%d" % k)
        os.makedirs(mdir, mode=0o755, exist_ok=True)
        mconf = write_conf(mdir, pool, "uid_source = hash\n")
        ok_uids = True
        for n in order:
            r = subprocess.run([CLI, "--config", mconf, "user", "add", n, "--sub", "sub-" + n[-1]],
                               capture_output=True, text=True, timeout=60)
            log += r.stdout + r.stderr
            ok_uids = ok_uids and r.returncode == 0 and ("%s: uid %d" % (n, want[n])) in r.stdout
        with open(os.path.join(mdir, "state", "nss", "passwd")) as f:
            pw = f.read()
        with open(os.path.join(mdir, "state", "nss", "group")) as f:
            files.append((ok_uids, pw, f.read()))
    r = subprocess.run([CLI, "--config", mconf, "user", "add", "fleetd"], capture_output=True, text=True,
                       timeout=60)
    tap(files[0][0] and files[1][0] and files[0][1] == files[1][1] and files[0][2] == files[1][2]
        and files[0][1].count("\n") == 3 and r.returncode == 1 and "--sub" in r.stderr,
        "uid_source = hash: user add --sub gives the documented UIDs, the same files on two machines",
        log + r.stderr + repr(files))
    fleet_checks(tmp, pool)
    tpm_checks(tmp, pool)


def cli(conf, *args):
    r = subprocess.run([CLI, "--config", conf] + list(args), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def fleet_checks(tmp, pool):
    """issue 24: user add --uid, status's fleet lines, user renumber."""
    mdir = os.path.join(tmp, "fleetm")
    os.makedirs(mdir, mode=0o755, exist_ok=True)
    conf = write_conf(mdir, pool, "uid_source = claim\n")
    # 27: --uid N pre-provisions with that UID (what the claim would give);
    # another entry's UID, one outside uid_min..uid_max and a non-number are refused
    r1 = cli(conf, "user", "add", "explicit1", "--uid", "250000")
    r2 = cli(conf, "user", "add", "explicit2", "--uid", "250000")
    r3 = cli(conf, "user", "add", "explicit3", "--uid", "5")
    r4 = cli(conf, "user", "add", "explicit4", "--uid", "25x")
    with open(os.path.join(mdir, "state", "nss", "passwd")) as f:
        pw = f.read()
    tap(r1[0] == 0 and "explicit1: uid 250000\n" in r1[1] and r2[0] == 1 and "already explicit1's" in r2[1]
        and r3[0] == 1 and "outside uid_min..uid_max" in r3[1] and r4[0] == 2 and "not a UID" in r4[1]
        and pw == "explicit1:x:250000:250000:userpool user:/home/explicit1:/bin/bash\n",
        "user add NAME --uid N: that UID; another entry's, out of range, not a number refused",
        repr((r1, r2, r3, r4, pw)))
    # 28: a machine provisioned sequentially switches to claim, then to hash:
    # the entries keep their UIDs; status names the source, each entry that
    # differs from the new rule and a refused collision; user renumber moves
    # one (its private group with it, its pool-group membership kept), says
    # the files are the administrator's job and prints the chown command.
    rdir = os.path.join(tmp, "fleetr")
    os.makedirs(rdir, mode=0o755, exist_ok=True)
    common = "mfa = optional\nenroll_on_login = no\npool_groups = labstaff\n"
    seq = write_conf(rdir, pool, common)
    log = ""
    for u, n in (("renu1", "251001"), ("renu2", "251002")):
        pool.admin("create_user", username=u, password=PASSWORD)
        pool.admin("set_attributes", username=u, attributes={"custom:uid_number": n})
        pool.admin("set_groups", username=u, groups=["labstaff"])
        r = pam_signin(tmp, seq, u, [PASSWORD])
        log += r.stdout + r.stderr
    nss = os.path.join(rdir, "state", "nss")
    with open(os.path.join(nss, "passwd")) as f:
        before = f.read()
    # sequential: renu1 200000, the pool group 200001, renu2 200002
    m = re.search(r"^renu2:x:(\d+):", before, re.M)
    u2 = int(m.group(1)) if m else -1
    claim = write_conf(rdir, pool, common + "uid_source = claim\n")
    rc1, st1 = cli(claim, "status")
    rn1 = cli(claim, "user", "renumber", "renu1")
    rc2, st2 = cli(claim, "status")
    with open(os.path.join(nss, "passwd")) as f:
        pw = f.read()
    with open(os.path.join(nss, "group")) as f:
        gr = f.read()
    tap(before.startswith("renu1:x:200000:200000:") and u2 == 200002
        and "UIDs: uid_source = claim (uid_claim custom:uid_number), gid_source = sequential" in st1
        and "differs: renu1 keeps uid 200000; custom:uid_number gives 251001 (move it: userpool user "
            "renumber renu1)" in st1 and "differs: renu2 keeps uid 200002; custom:uid_number gives 251002" in st1
        and rn1[0] == 0 and "uid 200000 -> 251001, gid 200000 -> 251001" in rn1[1]
        and "administrator's job" in rn1[1] and "chown -hR --from=200000 251001 /home/renu1" in rn1[1]
        and "renu1:x:251001:251001:userpool user:/home/renu1:" in pw and "renu2:x:200002:200002:" in pw
        and "renu1:x:251001:\n" in gr and re.search(r"^labstaff:x:\d+:renu1,renu2$", gr, re.M)
        and "differs: renu1" not in st2 and "differs: renu2" in st2,
        "switching uid_source keeps the entries; status lists those that differ; user renumber moves one",
        log + st1 + rn1[1] + st2 + pw + gr)
    # 29: under hash: renumber to the hash of the bound account; another
    # entry's UID is refused; a refused hash collision is in status
    hashc = write_conf(rdir, pool, common + "uid_source = hash\n")
    sub = json.loads(subprocess.run([CLI, "--config", seq, "--json", "cache", "show", "renu2"],
                                    capture_output=True, text=True, timeout=60).stdout)["sub"]
    iss = "%s/%s" % (pool.url.rstrip("/"), POOL_ID)
    want = 200000 + int.from_bytes(hashlib.sha256(("%s\n%s" % (iss, sub)).encode()).digest()[:8], "big") % 100000
    rn2 = cli(hashc, "user", "renumber", "renu2", "--uid", "251001")
    rn3 = cli(hashc, "user", "renumber", "renu2")
    rn4 = cli(hashc, "user", "renumber", "renu2")
    r5 = cli(hashc, "user", "add", "clash", "--sub", sub)
    rc3, st3 = cli(hashc, "status")
    js = json.loads(subprocess.run([CLI, "--config", hashc, "--json", "status"], capture_output=True, text=True,
                                   timeout=60).stdout or "{}")
    ents = {e["name"]: e for e in js.get("uid_entries", [])}
    tap(rn2[0] == 1 and "already renu1's" in rn2[1]
        and rn3[0] == 0 and ("uid 200002 -> %d" % want) in rn3[1]
        and rn4[0] == 0 and "nothing to move" in rn4[1] and r5[0] == 1
        and "refused: clash: hash collision: uid %d of clash is already renu2's" % want in st3
        and "differs: renu1 keeps uid 251001; hash gives" in st3 and "differs: renu2" not in st3
        and js.get("uid_source") == "hash" and js.get("gid_source") == "sequential"
        and ents.get("clash", {}).get("kind") == "refused" and ents.get("renu1", {}).get("uid") == 251001,
        "uid_source = hash: renumber to the bound account's hash; collisions refused and in status",
        rn2[1] + rn3[1] + rn4[1] + r5[1] + st3)


def tpm_checks(tmp, pool):
    """issue 22: status counts the offline records by how they are bound to
    the TPM; cache show names each record's scheme (no TPM here: the TPM
    side runs against swtpm in tests/pam/test_tpm.sh)."""
    tdir = os.path.join(tmp, "tpmm")
    os.makedirs(tdir, mode=0o755, exist_ok=True)
    common = "mfa = optional\nenroll_on_login = no\ntpm_tcti = device:/dev/tpm-none\n"
    conf = write_conf(tdir, pool, common)
    for u in ("tpmrec1", "tpmrec2"):
        pool.admin("create_user", username=u, password=PASSWORD)
    signins = [pam_signin(tdir, conf, u, [PASSWORD]) for u in ("tpmrec1", "tpmrec2")]
    # tpmrec2's record as if made with a TPM whose key this machine lacks
    iss = "%s/%s" % (pool.url.rstrip("/"), POOL_ID)
    path = os.path.join(tdir, "state", "users",
                        hashlib.sha256(("%s\ntpmrec2" % iss).encode()).hexdigest() + ".json")
    with open(path) as f:
        rec = json.load(f)
    parts = rec["verifier"].split("$")
    rec["verifier"] = "$".join(["tpm1", "0011223344556677", "16384", "8", "1"] + parts[-2:])
    with open(path + ".new", "w") as f:
        json.dump(rec, f)
    os.chmod(path + ".new", 0o600)
    os.rename(path + ".new", path)
    # 33: text: not used, not reachable; 0 bound, 1 without, 1 bound to a
    # key that is gone (exit 1); cache show: scrypt2 / tpm1 with its key id
    rc, st = cli(conf, "status")
    sh1 = cli(conf, "cache", "show", "tpmrec1")
    sh2 = cli(conf, "cache", "show", "tpmrec2")
    tap(all(r.returncode == 0 for r in signins) and parts[0] == "scrypt2" and rc == 1
        and "TPM: not used (tpm = auto, device:/dev/tpm-none): not reachable\n" in st
        and "offline records: 0 bound to the TPM, 1 without it, 1 bound to a TPM key that is gone "
            "(need an online sign-in)" in st
        and re.search(r"verifier +scrypt2 \(not bound to a TPM\)", sh1[1])
        and re.search(r"verifier +tpm1 \(bound to the TPM, machine key 0011223344556677\)", sh2[1]),
        "status: TPM not reachable, records by scheme (one bound to a gone key: exit 1); "
        "cache show names the scheme", "".join(r.stdout + r.stderr for r in signins) + st + sh1[1] + sh2[1])
    # 34: --json; tpm = yes without a TPM: status says no record is made, exit 1
    js = json.loads(subprocess.run([CLI, "--config", conf, "--json", "status"], capture_output=True,
                                   text=True, timeout=60).stdout or "{}").get("tpm", {})
    cj = json.loads(subprocess.run([CLI, "--config", conf, "--json", "cache", "show", "tpmrec2"],
                                   capture_output=True, text=True, timeout=60).stdout or "{}")
    yes = write_conf(tdir, pool, common + "tpm = yes\n")
    rc2, st2 = cli(yes, "status")
    tap(js.get("mode") == "auto" and js.get("reachable") is False and js.get("used") is False
        and js.get("records_bound") == 0 and js.get("records_without_tpm") == 1
        and js.get("records_other_key") == 1 and cj.get("verifier_scheme") == "tpm1"
        and cj.get("tpm_key_id") == "0011223344556677"
        and rc2 == 1 and "TPM: not used (tpm = yes, device:/dev/tpm-none)" in st2
        and "tpm = yes: no offline record is made until the TPM answers" in st2,
        "status --json: the tpm object; cache show --json: verifier_scheme; tpm = yes without a TPM",
        repr(js) + repr(cj) + st2)


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (root-owned configuration and state)")
        sys.exit(0)
    sys.exit(main())
