#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""make bench (issue 12): userpool's figures, measured in one run.

Starts the test user pool (tests/pool/pool.py) over HTTPS on 127.0.0.1 and
measures, each several times with the median reported:

  1. RS256 ID-token verification against the bare EVP_DigestVerify;
  2. online sign-in (password + TOTP) through pamtester + pam_wrapper +
     pam_userpool.so, auth_flow = password and srp, against the same HTTP
     exchanges made by a bare libcurl program (bench_floor);
  3. the same sign-in with AWS's JavaScript SDK run by pam_exec;
  2c. (issue 21) figure 2's CPU and wall, ours against the floor, with a
     production-like ca_file: the system CA bundle followed by the test CA;
  4. cold JWKS (first sign-in) against warm;
  5. offline sign-in and the share of its KDF (scrypt);
  5t. (issue 22) offline sign-in through the TPM (swtpm on 127.0.0.1) against
     the scrypt-only record, and the cost of one guess with and without the
     TPM (scrypt2 against tpm1);
  6. 64 concurrent sign-ins: throughput, p99, errors, JWKS fetches;
  7. peak RSS of a pamtester sign-in; bytes leaked per 1000 sign-ins
     (valgrind, one process running many sign-ins).

It only reports: nothing here passes or fails on a time. It exits non-zero
only when a measurement could not be made (a sign-in failed, a tool is
missing), since a figure from failed sign-ins would be meaningless. The table
goes to stdout and to --out. Needs root (the PAM module wants a root-owned
configuration), pamtester, libpam_wrapper, node with tests/sdk/node_modules,
valgrind. Every server it starts listens on 127.0.0.1 and is stopped at exit.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request

POOL_ID = "us-east-1_TestPool1"
CLIENT_ID = "userpooltestclient00000001"
PYTHON = "/usr/bin/python3"
NODE = "/usr/bin/node"


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# small helpers

CG_ROOT = "/sys/fs/cgroup/memory"
# The shipped default ca_file (lib/http_conn.h UP_SYSTEM_CA_FILE).
SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def p99(xs):
    """Nearest-rank 99th percentile."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


def totp(secret_b32, t=None):
    """RFC 6238, HMAC-SHA1, 30 s, 6 digits: what an authenticator app shows."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if t is None else t) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def free_port():
    """A loopback port nothing listens on (bound, read back, closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fmt_ms(x):
    return "%.1f ms" % x if x < 100 else "%.0f ms" % x


def fmt_ratio(a, b):
    return "%.2fx" % (a / b) if b else "n/a"


# ---------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.a = args
        self.src = os.path.abspath(args.srcdir)
        self.build = os.path.abspath(args.builddir)
        self.bindir = os.path.abspath(args.bindir or os.path.join(self.build, "tests", "bench"))
        self.module = os.path.abspath(args.module or os.path.join(self.build, "pam", ".libs",
                                                                  "pam_userpool.so"))
        # The offline verifier's helper process of this build (issue 21):
        # offline = yes services use it (the installed default path is not
        # this build's).
        self.verifier = os.path.join(self.build, "tools", "userpool-verifier")
        self.svc_state = {}  # offline = yes service -> its state_dir
        self.ready_ms = []   # sign-in returned -> its offline record written
        self.quick = args.quick
        self.T = tempfile.mkdtemp(prefix="userpool-bench.")
        os.chmod(self.T, 0o711)
        self.pool = None
        self.url = None
        self.ca = os.path.join(self.T, "ca", "ca.pem")
        self.user_seq = 0
        self.rows = []      # table lines
        self.notes = []
        self.pwrap = self.find_pam_wrapper()
        self.pamtester = shutil.which("pamtester")
        self.pam_exec = self.find_pam_module("pam_exec.so")
        self.pam_permit = self.find_pam_module("pam_permit.so")
        self.svcdir = os.path.join(self.T, "svc")
        os.makedirs(self.svcdir)
        self.codes = os.path.join(self.T, "codes")
        os.makedirs(self.codes, mode=0o700)
        self.closed_port = None

    # --- environment -------------------------------------------------------

    @staticmethod
    def find_pam_wrapper():
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
            p = os.path.join(d, "libpam_wrapper.so")
            if os.path.exists(p):
                return p
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
        m = re.search(r"=> (\S*libpam_wrapper\.so)\s*$", out, re.M)
        return m.group(1) if m else None

    @staticmethod
    def find_pam_module(name):
        for d in ("/usr/lib/x86_64-linux-gnu/security", "/lib/x86_64-linux-gnu/security",
                  "/usr/lib64/security", "/usr/lib/security", "/lib/security"):
            p = os.path.join(d, name)
            if os.path.exists(p):
                return p
        return None

    def check_env(self):
        missing = []
        if os.geteuid() != 0:
            raise BenchError("run as root: pam_userpool.so wants a root-owned configuration")
        for what, p in (("pamtester", self.pamtester), ("libpam_wrapper.so", self.pwrap),
                        ("pam_exec.so", self.pam_exec), ("pam_permit.so", self.pam_permit),
                        ("pam_userpool.so (build first)", self.module
                         if os.path.exists(self.module) else None)):
            if not p:
                missing.append(what)
        for prog in ("bench_lib", "bench_floor", "bench_pamloop"):
            if not os.access(os.path.join(self.bindir, prog), os.X_OK):
                missing.append(os.path.join(self.bindir, prog))
        if missing:
            raise BenchError("missing: " + ", ".join(missing))
        self.have_node = os.access(NODE, os.X_OK) and os.path.isdir(
            os.path.join(self.src, "tests", "sdk", "node_modules", "amazon-cognito-identity-js"))
        self.have_valgrind = shutil.which("valgrind") is not None

    # --- the pool ------------------------------------------------------------

    def pool_start(self):
        ready = os.path.join(self.T, "pool.ready")
        self.pool_err = open(os.path.join(self.T, "pool.err"), "wb")
        self.pool = subprocess.Popen(
            [PYTHON, os.path.join(self.src, "tests", "pool", "pool.py"), "--port", "0",
             "--state", os.path.join(self.T, "pool"), "--tls", os.path.join(self.T, "ca"),
             "--key-cache", os.path.join(self.T, "keys"), "--pool-id", POOL_ID,
             "--client-id", CLIENT_ID, "--ready-file", ready],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.pool_err)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                with open(ready) as f:
                    self.url = f.readline().strip()
                break
            if self.pool.poll() is not None:
                break
            time.sleep(0.05)
        if not self.url:
            raise BenchError("the test pool did not start (see its stderr)")
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self.issuer = self.url.rstrip("/") + "/" + POOL_ID
        self.jwks_path = "/%s/.well-known/jwks.json" % POOL_ID

    def pool_cpu(self):
        """CPU seconds the pool process has used (utime + stime)."""
        with open("/proc/%d/stat" % self.pool.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def pool_stop(self):
        if self.pool and self.pool.poll() is None:
            self.pool.send_signal(signal.SIGTERM)
            try:
                self.pool.wait(10)
            except subprocess.TimeoutExpired:
                self.pool.kill()
                self.pool.wait()

    def admin(self, op, body=None):
        req = urllib.request.Request(self.url + "admin/" + op,
                                     data=json.dumps(body or {}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ssl, timeout=30) as r:
            return json.loads(r.read())

    def stats(self):
        """(non-admin requests, JWKS GETs, connections) since reset_stats."""
        s = self.admin("stats")
        reqs = sum(s.get("requests", {}).values())
        jwks = s.get("paths", {}).get(self.jwks_path, 0)
        return reqs, jwks, s.get("connections", 0)

    def users(self, n, tag):
        """n new users, each with its own TOTP secret (a code is single-use
        per user and 30 s step, so every sign-in gets a user of its own)."""
        out = []
        for _ in range(n):
            self.user_seq += 1
            name = "%s%04d" % (tag, self.user_seq)
            pw = "Bench-%s-9" % os.urandom(6).hex()
            secret = base64.b32encode(os.urandom(20)).decode()
            self.admin("create_user", {"username": name, "password": pw,
                                       "totp_secret": secret})
            out.append((name, pw, secret))
        return out

    # --- configuration and PAM services ---------------------------------------

    def conf(self, name, state, flow="password", offline=False, endpoint=None, extra=(),
             helper=None, ca=None):
        os.makedirs(state, mode=0o700, exist_ok=True)
        path = os.path.join(self.T, name + ".conf")
        lines = ["# make bench: %s" % name,
                 "region = us-east-1",
                 "user_pool_id = " + POOL_ID,
                 "client_id = " + CLIENT_ID,
                 "endpoint = " + (endpoint or self.url),
                 "issuer = " + self.issuer,
                 "ca_file = " + (ca or self.ca),
                 "state_dir = " + state,
                 "auth_flow = " + flow,
                 "offline = " + ("yes" if offline else "no"),
                 # fig. 5 measures the password-only offline path (the
                 # users have TOTP; no secret is held locally)
                 "offline_mfa = skip",
                 "timeout = 30s"] + list(extra)
        if offline:
            lines.append("verifier_helper = " + (helper or self.verifier))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o600)
        return path

    def service(self, name, line, confdir=None):
        d = confdir or self.svcdir
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "w") as f:
            f.write(line + "\n")
        return name

    def ours_service(self, name, state=None, **kw):
        state = state or os.path.join(self.T, "state-" + name)
        conf = self.conf(name, state, **kw)
        if kw.get("offline"):
            self.svc_state[name] = state
        return self.service(name, "auth required %s config=%s" % (self.module, conf))

    def record(self, state, user):
        name = hashlib.sha256(("%s\n%s" % (self.issuer, user)).encode()).hexdigest()
        return os.path.join(state, "users", name + ".json")

    def settle(self, state, user, limit=300.0):
        """Wait (bounded) until the record of `user` holds its offline
        verifier: the helper derives it after the module returned. Returns
        the seconds waited."""
        path = self.record(state, user)
        t0 = time.perf_counter()
        while True:
            try:
                with open(path) as f:
                    v = json.load(f).get("verifier") or ""
            except (OSError, ValueError):
                v = "pending$"  # not written yet (or being replaced)
            if not v.startswith("pending$"):
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > limit:
                raise BenchError("the offline verifier of %s was not written within %.0f s"
                                 % (user, limit))
            time.sleep(0.002)

    def pam_env(self):
        env = dict(os.environ)
        env.update({"LD_PRELOAD": self.pwrap, "PAM_WRAPPER": "1",
                    "PAM_WRAPPER_SERVICE_DIR": self.svcdir, "LC_ALL": "C"})
        return env

    def pam(self, service, user, answers, rss=False, prefix=None):
        """One pamtester sign-in. Returns (ok, wall ms, peak RSS kB or None,
        output, CPU ms of the child: user + system, from getrusage of the
        reaped children, so only meaningful when one sign-in runs at a time). With rss, pamtester runs under `bench_lib rss` (a small
        process: a child forked from this Python would carry Python's RSS
        high-water mark across execve) and the figure is pamtester's
        ru_maxrss from wait4(), what /usr/bin/time -v prints as "Maximum
        resident set size". `prefix` runs it under another wrapper."""
        rss_file = os.path.join(self.T, "rss.out")
        cmd = [self.pamtester, "-v", service, user, "authenticate"]
        if rss:
            cmd = [os.path.join(self.bindir, "bench_lib"), "rss", rss_file] + cmd
        if prefix:
            cmd = prefix + cmd
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, input=("".join(a + "\n" for a in answers)).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=self.pam_env(), timeout=120)
        ms = (time.perf_counter() - t0) * 1000.0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) * 1000.0
        out = p.stdout.decode(errors="replace")
        ok = p.returncode == 0 and "successfully authenticated" in out
        # Outside the timed part: the next sign-in starts on an idle machine
        # once the helper of this one has written its record.
        if ok and service in self.svc_state:
            self.ready_ms.append(self.settle(self.svc_state[service], user) * 1000.0 + 0.0)
        kb = None
        if rss:
            with open(rss_file) as f:
                kb = int(f.read().split()[0])
        return ok, ms, kb, out, cpu

    def pam_ok(self, service, user, answers, what, **kw):
        """(wall ms, peak RSS kB or None, CPU ms) of a sign-in that must succeed."""
        ok, ms, rss, out, cpu = self.pam(service, user, answers, **kw)
        if not ok:
            raise BenchError("%s: sign-in of %s failed:\n%s" % (what, user, out[-2000:]))
        return ms, rss, cpu

    def ours(self, service, u, **kw):
        """Our sign-in: password, then the code computed now (as typed)."""
        return self.pam_ok(service, u[0], [u[1], totp(u[2])], service, **kw)

    def node(self, service, u):
        with open(os.path.join(self.codes, u[0]), "w") as f:
            f.write(totp(u[2]) + "\n")
        return self.pam_ok(service, u[0], [u[1]], service)

    def floor(self, flow, us, ca=None):
        """bench_floor's sign-ins of `us`; `ca`: its CA_FILE (default the
        one-certificate test CA). The whole-process CPU of a one-user run is
        kept per flow (and per CA file: "+bundle" for another)."""
        path = os.path.join(self.T, "floor-users")
        with open(path, "w") as f:
            for u in us:
                f.write("%s %s %s\n" % u)
        r = subprocess.run([os.path.join(self.bindir, "bench_floor"), self.url, ca or self.ca,
                            CLIENT_ID, POOL_ID, flow, path], capture_output=True, text=True,
                           timeout=120)
        os.unlink(path)
        if r.returncode != 0:
            raise BenchError("bench_floor %s failed: %s" % (flow, r.stderr[-2000:]))
        lines = [l.split() for l in r.stdout.splitlines()]
        ms = [float(f[1]) for f in lines if f[0] == "floor_ms"]
        cpu = [float(f[2]) for f in lines if f[0] == "floor_ms"]
        reqs = [int(f[1]) for f in lines if f[0] == "requests"]
        if len(us) == 1:
            self.floor_proc.setdefault(flow if not ca else flow + "+bundle", []).extend(
                float(f[1]) for f in lines if f[0] == "process_cpu_ms")
        return ms, cpu, (reqs[0] // max(1, len(ms)) if reqs else 0)

    # --- output ----------------------------------------------------------------

    def section(self, title):
        self.rows.append("")
        self.rows.extend(textwrap.wrap(title, 100, subsequent_indent="   "))
        print("bench: %s" % title.split(" (")[0], file=sys.stderr, flush=True)

    def row(self, label, value, extra=""):
        self.rows.append(("    %-56s %16s  %s" % (label, value, extra)).rstrip())

    def n(self, normal, quick):
        return quick if self.quick else normal

    # --- figures -----------------------------------------------------------------

    def fig1_verify(self):
        self.section("1. Token verification: one RS256 ID token (CPU time per token, "
                     "median of rounds; wall in brackets)")
        u = self.users(1, "v")[0]
        tok = self.admin("issue_tokens", {"username": u[0], "client_id": CLIENT_ID})
        tfile = os.path.join(self.T, "token")
        jfile = os.path.join(self.T, "jwks.json")
        with open(tfile, "w") as f:
            f.write(tok["IdToken"])
        with urllib.request.urlopen(self.url.rstrip("/") + self.jwks_path, context=self.ssl,
                                    timeout=30) as r, open(jfile, "wb") as f:
            f.write(r.read())
        rounds = self.n(7, 3)
        conf = self.conf("verify", os.path.join(self.T, "state-verify"))
        r = subprocess.run([os.path.join(self.bindir, "bench_lib"), "verify", conf, tfile,
                            jfile, u[0], str(rounds)], capture_output=True, text=True,
                           timeout=180)
        if r.returncode != 0:
            raise BenchError("bench_lib verify failed: " + r.stderr[-2000:])
        wall, cpu = {}, {}
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) == 4 and f[0] == "verify":
                wall.setdefault(f[1], []).append(float(f[2]))
                cpu.setdefault(f[1], []).append(float(f[3]))
        m = {k: median(v) for k, v in cpu.items()}
        mw = {k: median(v) for k, v in wall.items()}

        def us(k):
            return "%.1f us" % (m[k] / 1000.0), "[%.1f us wall]" % (mw[k] / 1000.0)

        self.row("up_token_verify: parse, JWKS from cache, sig, claims", *us("full"))
        self.notes.append("1: up_token_verify keeps the parsed key set of an unchanged cache "
                          "file (same inode, size, mtime, ctime; one stat per verify) in its "
                          "context, and each key a verifier context set up once (copied per "
                          "verify); a changed file costs the key set parse again. The cache "
                          "file is 2 s old before the measure (memoized from then on)")
        self.row("key set parse (JSON + RSA keys): a changed cache file", *us("jwks"),)
        self.row("up_jws_parse + signature (key in memory)", *us("jws"))
        self.row("bare EVP_DigestVerify, same key (floor)", *us("bare"))
        self.row("ratio up_token_verify / bare", fmt_ratio(m["full"], m["bare"]))
        self.fig["verify"] = m["full"] / m["bare"]
        self.row("ratio (parse + signature) / bare", fmt_ratio(m["jws"], m["bare"]))

    def fig23_online(self):
        n = self.n(25, 6)
        self.section("2./3. Online sign-in, password + TOTP, through pamtester + pam_wrapper "
                     "(JWKS cached; offline = no; %d sign-ins each, interleaved)" % n)
        permit = self.service("bench-permit", "auth required %s" % self.pam_permit)
        base = [self.pam_ok(permit, "nobody", [], "pam_permit")[0]
                for _ in range(self.n(5, 2))]
        for flow in ("password", "srp"):
            svc = self.ours_service("online-" + flow, flow=flow)
            nsvc = None
            if self.have_node:
                settings = os.path.join(self.T, "node-%s.json" % flow)
                with open(settings, "w") as f:
                    json.dump({"url": self.url, "pool_id": POOL_ID, "client_id": CLIENT_ID,
                               "flow": flow, "codes_dir": self.codes}, f)
                nsvc = self.service(
                    "node-" + flow,
                    "auth required %s expose_authtok /usr/bin/env NODE_EXTRA_CA_CERTS=%s "
                    "%s %s %s" % (self.pam_exec, self.ca, NODE,
                                  os.path.join(self.src, "tests", "bench", "node_signin.js"),
                                  settings))
            # Warm-up (not timed): fills the JWKS cache, loads the files.
            warm = self.users(3, "w")
            self.ours(svc, warm[0])
            self.floor(flow, [warm[1]])
            if nsvc:
                self.node(nsvc, warm[2])
            # What one sign-in sends (warm cache): ours against the floor.
            u = self.users(1, "q")
            self.admin("reset_stats")
            self.ours(svc, u[0])
            ours_reqs, ours_jwks, ours_conns = self.stats()
            ours_ms, ours_cpu, floor_ms, floor_cpu, node_ms = [], [], [], [], []
            floor_reqs = 0
            for _ in range(n):
                us = self.users(3, flow[0])
                ms, _, cpu = self.ours(svc, us[0])
                ours_ms.append(ms)
                ours_cpu.append(cpu)
                fm, fc, floor_reqs = self.floor(flow, [us[1]])
                floor_ms.extend(fm)
                floor_cpu.extend(fc)
                if nsvc:
                    node_ms.append(self.node(nsvc, us[2])[0])
            self.svcs[flow] = svc
            om, fmed = median(ours_ms), median(floor_ms)
            self.row("%s: ours median / p99" % flow,
                     "%s / %s" % (fmt_ms(om), fmt_ms(p99(ours_ms))),
                     "(%d requests on %d connection(s) per sign-in)" % (ours_reqs, ours_conns))
            self.row("%s: bare libcurl floor median / p99" % flow,
                     "%s / %s" % (fmt_ms(fmed), fmt_ms(p99(floor_ms))),
                     "(%d requests, one new connection)" % floor_reqs)
            self.row("%s: ratio ours / floor (medians)" % flow, fmt_ratio(om, fmed))
            self.fig["cpu_" + flow] = median(ours_cpu) / max(median(floor_cpu), 1e-9)
            self.row("%s: CPU per sign-in, ours / floor (medians)" % flow,
                     "%s / %s" % (fmt_ms(median(ours_cpu)), fmt_ms(median(floor_cpu))),
                     "(ours: the whole pamtester process)")
            fp = median(self.floor_proc.get(flow, []))
            self.row("%s: CPU, ours / floor's whole process (medians)" % flow,
                     "%s / %s" % (fmt_ms(median(ours_cpu)), fmt_ms(fp)),
                     "(floor: exec, libcurl's libraries, curl_global_init, one sign-in; "
                     "no PAM) ratio %s" % fmt_ratio(median(ours_cpu), fp))
            if nsvc:
                nm = median(node_ms)
                self.row("%s: AWS JS SDK via pam_exec median / p99" % flow,
                         "%s / %s" % (fmt_ms(nm), fmt_ms(p99(node_ms))),
                         "(node start included; the SDK does not verify the ID token)")
                self.row("%s: ratio ours / theirs (medians)" % flow, fmt_ratio(om, nm))
            else:
                self.row("%s: AWS JS SDK via pam_exec" % flow, "not measured",
                         "(node or tests/sdk/node_modules missing)")
        self.row("pamtester + pam_wrapper + pam_permit alone (median)", fmt_ms(median(base)),
                 "(process and PAM start, in every figure above)")
        # The shipped defaults (srp, offline = yes) add the scrypt verifier
        # written on every online sign-in.
        nd = self.n(5, 2)
        svc = self.ours_service("online-default", flow="srp", offline=True)
        self.ours(svc, self.users(1, "w")[0])
        d_ms = [self.ours(svc, u)[0] for u in self.users(nd, "d")]
        self.svcs["default"] = svc
        self.svcs["permit"] = permit
        self.row("srp, offline = yes (defaults: + scrypt verifier) median",
                 fmt_ms(median(d_ms)), "(%d sign-ins)" % nd)

    def ca_bundle(self):
        """A production-like ca_file in the temp dir: the system bundle (the
        shipped default, ~150 roots) followed by the test CA, root-owned
        0644. None when the system bundle is missing."""
        if not os.path.isfile(SYSTEM_CA_FILE):
            return None
        path = os.path.join(self.T, "ca-bundle.pem")
        with open(SYSTEM_CA_FILE, "rb") as f:
            pem = f.read()
        with open(self.ca, "rb") as f:
            pem += (b"" if pem.endswith(b"\n") else b"\n") + f.read()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.chown(path, 0, 0)
        os.chmod(path, 0o644)
        return path

    def fig23_bundle(self):
        """Issue 21 targets 4 and 6 with the default ca_file: figure 2/3's
        CPU and wall comparison (same flows, ours then the floor in each
        round, offline = no) with the system bundle + the test CA as the
        ca_file of both our PAM service and bench_floor."""
        n = self.n(25, 6)
        self.section("2c. Online sign-in as in 2./3. with a production-like ca_file: the "
                     "system CA bundle (%s, the default ca_file) followed by the test CA, for "
                     "ours and the floor alike (JWKS cached; offline = no; %d sign-ins each, "
                     "interleaved)" % (SYSTEM_CA_FILE, n))
        bundle = self.ca_bundle()
        if not bundle:
            for flow in ("password", "srp"):
                self.row("%s, ca_file = system bundle + test CA" % flow,
                         "not measured (no system bundle)")
            self.notes.append("2c: %s missing: no figure with the system CA bundle"
                              % SYSTEM_CA_FILE)
            return
        with open(bundle, "rb") as f:
            ncerts = f.read().count(b"-----BEGIN CERTIFICATE-----")
        self.notes.append("2c: the floor sets CURLOPT_CAINFO on a new easy handle per sign-in "
                          "(as each pamtester process starts afresh), so OpenSSL loads and "
                          "decodes all %d certificates of the bundle inside each timed sign-in; "
                          "ours reads the bundle's subjects and decodes the certificates a "
                          "chain needs (lib/http_ca.c)" % ncerts)
        for flow in ("password", "srp"):
            svc = self.ours_service("bundle-" + flow, flow=flow, ca=bundle)
            # Warm-up (not timed): fills the JWKS cache, loads the files.
            warm = self.users(2, "w")
            self.ours(svc, warm[0])
            self.floor(flow, [warm[1]], ca=bundle)
            ours_ms, ours_cpu, floor_ms, floor_cpu = [], [], [], []
            for _ in range(n):
                us = self.users(2, flow[0])
                ms, _, cpu = self.ours(svc, us[0])
                ours_ms.append(ms)
                ours_cpu.append(cpu)
                fm, fc, _ = self.floor(flow, [us[1]], ca=bundle)
                floor_ms.extend(fm)
                floor_cpu.extend(fc)
            oc, fcm = median(ours_cpu), median(floor_cpu)
            om, fmed = median(ours_ms), median(floor_ms)
            label = "%s, ca_file = system bundle + test CA" % flow
            self.fig["cpu_bundle_" + flow] = oc / max(fcm, 1e-9)
            self.fig["wall_bundle_" + flow] = om / max(fmed, 1e-9)
            self.row("%s: CPU ours / floor (medians)" % label,
                     "%s / %s" % (fmt_ms(oc), fmt_ms(fcm)),
                     "ratio %s (ours: the whole pamtester process; %d certificates)"
                     % (fmt_ratio(oc, fcm), ncerts))
            fp = median(self.floor_proc.get(flow + "+bundle", []))
            self.row("%s: CPU ours / floor's whole process" % label,
                     "%s / %s" % (fmt_ms(oc), fmt_ms(fp)), "ratio %s" % fmt_ratio(oc, fp))
            self.row("%s: wall ours / floor (medians)" % label,
                     "%s / %s" % (fmt_ms(om), fmt_ms(fmed)), "ratio %s" % fmt_ratio(om, fmed))

    def fig_defaults(self):
        """Issue 21 targets 1 and 6: the defaults (offline = yes: a fresh
        scrypt verifier per online sign-in) against offline = no and the
        bare-libcurl floor, on loopback and with a simulated round trip."""
        n = self.n(9, 3)
        self.section("2b. The defaults' price: offline = yes against offline = no and the "
                     "floor, password + TOTP through pamtester (JWKS cached; %d sign-ins each, "
                     "interleaved), on loopback and with 40 ms added to every pool request "
                     "(tests/pool set_delay)" % n)
        for delay in (0, 40):
            self.admin("set_delay", {"ms": delay})
            try:
                for flow in ("password", "srp"):
                    no = self.ours_service("d%d-%s-no" % (delay, flow), flow=flow)
                    yes = self.ours_service("d%d-%s-yes" % (delay, flow), flow=flow,
                                            offline=True)
                    w = self.users(3, "w")
                    self.ours(no, w[0])
                    self.ours(yes, w[1])
                    self.floor(flow, [w[2]])
                    m_no, m_yes, m_floor = [], [], []
                    self.ready_ms = []
                    for _ in range(n):
                        us = self.users(3, "e")
                        m_no.append(self.ours(no, us[0])[0])
                        m_yes.append(self.ours(yes, us[1])[0])
                        m_floor.extend(self.floor(flow, [us[2]])[0])
                    a, b, c = median(m_yes), median(m_no), median(m_floor)
                    where = "loopback" if not delay else "%d ms RTT" % delay
                    self.row("%s, %s: offline = yes / offline = no" % (flow, where),
                             "%s / %s" % (fmt_ms(a), fmt_ms(b)), "ratio %s" % fmt_ratio(a, b))
                    self.row("%s, %s: offline = no / floor" % (flow, where),
                             "%s / %s" % (fmt_ms(b), fmt_ms(c)), "ratio %s" % fmt_ratio(b, c))
                    self.row("%s, %s: defaults (offline = yes) / floor" % (flow, where),
                             fmt_ratio(a, c))
                    self.row("%s, %s: offline record written, after the sign-in returned"
                             % (flow, where), "%s median" % fmt_ms(median(self.ready_ms)),
                             "(the verifier helper's derivation; max %s)"
                             % fmt_ms(max(self.ready_ms)))
                    self.fig["def_%s_%d" % (flow, delay)] = a / b
                    self.fig["floor_%s_%d" % (flow, delay)] = a / c
            finally:
                self.admin("set_delay", {"ms": 0})

    def fig_targets(self):
        self.section("Targets of issue 21 (the defaults: offline = yes; met = this run's figure "
                     "is within the target)")
        f = self.fig

        def t(label, key, fmt, target, ok):
            if key not in f:
                self.row(label, "not measured", "target %s" % target)
                return
            v = f[key]
            self.row(label, fmt % v, "target %s  %s" % (target, "met" if ok(v) else "NOT met"))

        for d in (0, 40):
            where = "loopback" if not d else "%d ms RTT" % d
            for flow in ("srp", "password"):
                t("1. %s %s: offline = yes / offline = no" % (flow, where),
                  "def_%s_%d" % (flow, d), "%.2fx", "<= 1.15x", lambda v: v <= 1.15)
        t("2. peak RSS, srp sign-in with the defaults", "rss_default", "%.1f MB", "<= 24 MiB",
          lambda v: v <= 24 * 1.048576)
        t("2. peak RSS, the verifier helper it starts", "rss_helper", "%.1f MB", "<= 24 MiB",
          lambda v: v <= 24 * 1.048576)
        t("2. the same, tpm1 record (swtpm)", "rss_helper_tpm1", "%.1f MB", "<= 24 MiB",
          lambda v: v <= 24 * 1.048576)
        t("3. 64 concurrent, offline = yes: errors", "conc_err_yes", "%d", "0",
          lambda v: v == 0)
        t("3. 64 concurrent, offline = yes: memory (cgroup peak)", "conc_mem", "%.0f MB",
          "<= 2 GiB (and in a 1 GiB limit: no OOM kill)",
          lambda v: v <= 2048 and f.get("conc_oom", 1) == 0)
        if "conc_tput_yes" in f and "conc_tput_no" in f:
            f["conc_tput"] = f["conc_tput_yes"] / f["conc_tput_no"]
        t("3. 64 concurrent: throughput offline = yes / offline = no (sign-ins)", "conc_tput",
          "%.2f", ">= 0.80", lambda v: v >= 0.80)
        if "conc_tput_all" in f and "conc_tput_no" in f:
            f["conc_tput_all_r"] = f["conc_tput_all"] / f["conc_tput_no"]
        t("3. the same, until the 64 offline records are written", "conc_tput_all_r", "%.2f",
          ">= 0.80", lambda v: v >= 0.80)
        for flow in ("password", "srp"):
            t("4. CPU per online sign-in / floor, %s (offline = no)" % flow, "cpu_" + flow,
              "%.2fx", "<= 2x", lambda v: v <= 2.0)
        for flow in ("password", "srp"):
            label = ("4. CPU per online sign-in / floor, %s (offline = no), with the system CA "
                     "bundle (the default ca_file)" % flow)
            if not os.path.isfile(SYSTEM_CA_FILE):
                self.row(label, "not measured (no system bundle)", "target <= 2x")
            else:
                t(label, "cpu_bundle_" + flow, "%.2fx", "<= 2x", lambda v: v <= 2.0)
        t("5. token verification / bare EVP_DigestVerify", "verify", "%.2fx", "<= 1.5x",
          lambda v: v <= 1.5)
        for d in (0, 40):
            where = "loopback" if not d else "%d ms RTT" % d
            for flow in ("password", "srp"):
                t("6. %s %s: defaults / floor (wall)" % (flow, where), "floor_%s_%d" % (flow, d),
                  "%.2fx", "<= 1.10x", lambda v: v <= 1.10)
        t("7. offline sign-in outside the KDF (wall)", "offline_outside", "%.1f ms", "<= 2 ms",
          lambda v: v <= 2.0)

    def fig4_cold(self):
        n = self.n(10, 3)
        self.section("4. Cold JWKS (first sign-in: the key set is fetched) vs warm "
                     "(password flow, offline = no, %d each, interleaved)" % n)
        svc = self.ours_service("cold")
        state = os.path.join(self.T, "state-cold")
        self.ours(svc, self.users(1, "w")[0])
        cold, warm = [], []
        self.admin("reset_stats")
        for i in range(n):
            us = self.users(2, "c")
            # alternate the order, so that drift in machine load does not
            # land on one side
            for j in ((0, 1) if i % 2 == 0 else (1, 0)):
                if j == 0:
                    shutil.rmtree(os.path.join(state, "jwks"), ignore_errors=True)
                    cold.append(self.ours(svc, us[0])[0])
                else:
                    warm.append(self.ours(svc, us[1])[0])
        _, jwks, _ = self.stats()
        self.row("cold median", fmt_ms(median(cold)),
                 "(%d JWKS GETs for %d cold sign-ins)" % (jwks, n))
        self.row("warm median", fmt_ms(median(warm)))
        self.row("cold - warm (median of differences)",
                 fmt_ms(median([c - w for c, w in zip(cold, warm)])),
                 "ratio cold/warm %s" % fmt_ratio(median(cold), median(warm)))
        conf = self.conf("jwks", os.path.join(self.T, "state-jwks"))
        r = subprocess.run([os.path.join(self.bindir, "bench_lib"), "jwks", conf,
                            str(self.n(15, 3))], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError("bench_lib jwks failed: " + r.stderr[-2000:])
        jw = [float(l.split()[1]) for l in r.stdout.splitlines() if l.startswith("jwks_ms")]
        self.row("in-process: JWKS GET + parse + cache write (fsync)", fmt_ms(median(jw)),
                 "(up_jwks_refresh on an open connection; what a cold sign-in adds)")

    def fig5_offline(self):
        n = self.n(6, 2)
        self.section("5. Offline sign-in (pool unreachable: connection refused; password "
                     "only; %d sign-ins)" % n)
        state = os.path.join(self.T, "state-offline")
        on = self.ours_service("offline-prime", state=state, offline=True)
        if self.closed_port is None:
            self.closed_port = free_port()
        conf = self.conf("offline", state, offline=True,
                         endpoint="https://127.0.0.1:%d/" % self.closed_port)
        off = self.service("offline", "auth required %s config=%s" % (self.module, conf))
        # prime: one online sign-in per user writes the cache entry
        us = self.users(n + 1, "o")
        for u in us:
            self.ours(on, u)
        self.pam_ok(off, us[0][0], [us[0][1]], "offline warm-up")
        ms, cpu = [], []
        for u in us[1:]:
            t, _, c = self.pam_ok(off, u[0], [u[1]], "offline")
            ms.append(t)
            cpu.append(c)
        r = subprocess.run([os.path.join(self.bindir, "bench_lib"), "kdf", conf,
                            str(self.n(5, 2))], capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise BenchError("bench_lib kdf failed: " + r.stderr[-2000:])
        kw = [float(l.split()[1]) for l in r.stdout.splitlines() if l.startswith("kdf_ms")]
        kc = [float(l.split()[2]) for l in r.stdout.splitlines() if l.startswith("kdf_ms")]
        tot, tot_cpu = median(ms), median(cpu)
        permit = self.service("bench-permit", "auth required %s" % self.pam_permit)
        base = median([self.pam_ok(permit, "nobody", [], "pam_permit")[0]
                       for _ in range(self.n(5, 2))])
        path = os.path.join(self.T, "offline-users")
        with open(path, "w") as f:
            for u in us[1:]:
                f.write("%s %s\n" % (u[0], u[1]))
        r = subprocess.run([os.path.join(self.bindir, "bench_lib"), "offline", conf, path],
                           capture_output=True, text=True, timeout=180)
        os.unlink(path)
        if r.returncode != 0:
            raise BenchError("bench_lib offline failed: " + r.stderr[-2000:])
        lib = [[float(x) for x in l.split()[1:4]] for l in r.stdout.splitlines()
               if l.startswith("offline_ms")]
        outside = median([w - k for w, k, _ in lib])
        self.fig["offline_outside"] = outside
        self.row("offline sign-in, median", fmt_ms(tot), "[%s CPU, whole pamtester process]"
                 % fmt_ms(tot_cpu))
        self.row("scrypt check alone (N=2^13, r=8, p=10), median", fmt_ms(median(kw)),
                 "[%s CPU]" % fmt_ms(median(kc)))
        self.row("offline sign-in outside the KDF (wall)", fmt_ms(outside),
                 "(in-process up_signin, configuration load included, minus its time "
                 "inside scrypt; median of %d)" % len(lib))
        self.row("  same, whole pamtester process (rough)", fmt_ms(tot - median(kw) - base),
                 "(offline median - scrypt check - pamtester + pam_permit alone %s: "
                 "module load included, noisy)" % fmt_ms(base))
        self.row("KDF share of the offline sign-in (CPU)", "%.0f %%"
                 % (100.0 * median(kc) / tot_cpu), "(wall: %.0f %%)" % (100.0 * median(kw) / tot))

    # --- issue 22: the TPM -----------------------------------------------------

    def swtpm_start(self):
        """A swtpm on 127.0.0.1 (state in the temp dir); its TCTI string."""
        port = None
        for _ in range(200):
            p = free_port()
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p + 1))
                port = p
                break
            except OSError:
                pass
            finally:
                s.close()
        if port is None:
            raise BenchError("no two free ports for swtpm")
        state = os.path.join(self.T, "swtpm")
        os.makedirs(state, exist_ok=True)
        self.swtpm = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + state,
             "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % port,
             "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % (port + 1),
             "--flags", "not-need-init,startup-clear"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return "swtpm:host=127.0.0.1,port=%d" % port
            except OSError:
                time.sleep(0.05)
        raise BenchError("swtpm did not start")

    def swtpm_stop(self):
        if getattr(self, "swtpm", None) and self.swtpm.poll() is None:
            self.swtpm.terminate()
            try:
                self.swtpm.wait(10)
            except subprocess.TimeoutExpired:
                self.swtpm.kill()
                self.swtpm.wait()

    def guesses(self, conf, rounds):
        """[(wall, kdf, cpu)] of wrong guesses against conf's verifier, and its scheme."""
        r = subprocess.run([os.path.join(self.bindir, "bench_lib"), "guess", conf, str(rounds)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise BenchError("bench_lib guess failed: " + r.stderr[-2000:])
        rows = [l.split() for l in r.stdout.splitlines() if l.startswith("guess_ms")]
        return [tuple(float(x) for x in l[2:5]) for l in rows], rows[0][1] if rows else "?"

    def fig5t_tpm(self):
        n = self.n(6, 2)
        self.section("5t. The TPM (issue 22): offline sign-in with the record bound to the TPM "
                     "(tpm1: scrypt N=2^14, r=8, p=1, then an HMAC inside the TPM) against the "
                     "scrypt-only record (scrypt2: N=2^13, r=8, p=10); swtpm on 127.0.0.1 "
                     "(socket TCTI), %d interleaved sign-ins each" % n)
        if not shutil.which("swtpm"):
            self.row("skipped", "n/a", "(swtpm not installed: tests/install-deps installs it)")
            self.notes.append("5t: swtpm not installed, no TPM figures")
            return
        tcti = self.swtpm_start()
        if self.closed_port is None:
            self.closed_port = free_port()
        dead = "https://127.0.0.1:%d/" % self.closed_port
        kinds = (("tpm1", ["tpm = yes", "tpm_tcti = " + tcti]), ("scrypt2", ["tpm = no"]))
        svc, users, ms, cpu, guess_conf = {}, {}, {}, {}, {}
        for k, extra in kinds:
            state = os.path.join(self.T, "state-tpm-" + k)
            on = self.ours_service("tpm-prime-" + k, state=state, offline=True, extra=extra)
            conf = self.conf("tpm-off-" + k, state, offline=True, endpoint=dead, extra=extra)
            guess_conf[k] = conf
            svc[k] = self.service("tpm-off-" + k, "auth required %s config=%s" % (self.module, conf))
            users[k] = self.users(n + 1, "t" + k[0])
            for u in users[k]:
                self.ours(on, u)
            self.pam_ok(svc[k], users[k][0][0], [users[k][0][1]], "offline warm-up " + k)
            ms[k], cpu[k] = [], []
        for i in range(1, n + 1):
            for k, _ in kinds:
                t, _, c = self.pam_ok(svc[k], users[k][i][0], [users[k][i][1]], "offline " + k)
                ms[k].append(t)
                cpu[k].append(c)
        for k, _ in kinds:
            self.row("offline sign-in, %s record, median" % k, fmt_ms(median(ms[k])),
                     "[%s CPU, whole pamtester process]" % fmt_ms(median(cpu[k])))
        self.row("  tpm1 / scrypt2 (wall)", fmt_ratio(median(ms["tpm1"]), median(ms["scrypt2"])),
                 "(CPU: %s)" % fmt_ratio(median(cpu["tpm1"]), median(cpu["scrypt2"])))
        rounds = self.n(8, 3)
        g = {}
        for k, _ in kinds:
            g[k], scheme = self.guesses(guess_conf[k], rounds)
            if scheme != k:
                raise BenchError("5t: %s configuration made a %s verifier" % (k, scheme))
        for k, _ in kinds:
            w = median([x[0] for x in g[k]])
            self.row("one guess against a %s verifier, median" % k, fmt_ms(w),
                     "[%s CPU; %.1f guesses/s on one core here]"
                     % (fmt_ms(median([x[2] for x in g[k]])), 1000.0 / w if w else 0))
        hm = median([x[0] - x[1] for x in g["tpm1"]])
        self.row("  tpm1: scrypt stage / TPM HMAC (wall)",
                 "%s / %s" % (fmt_ms(median([x[1] for x in g["tpm1"]])), fmt_ms(hm)),
                 "(the TPM part: TCTI round trips + swtpm's HMAC; a hardware TPM is slower)")
        self.row("  tpm1: guesses/s the TPM lets through, any core count", "%.0f/s"
                 % (1000.0 / hm if hm > 0 else 0), "(one TPM serialises its HMACs)")
        self.notes.append("5t: a copied state_dir's tpm1 records cannot be checked without this "
                          "TPM at all; here a guess is bounded by the TPM's HMAC rate (swtpm; a "
                          "hardware TPM is slower) and by the per-uid offline counter. A scrypt2 "
                          "record costs a guesser the scrypt2 row per try, on any hardware and in "
                          "parallel (%d rounds each)" % rounds)
        self.swtpm_stop()

    def conc_rounds(self, n, rounds, offline, cg=None, out=None, first=0):
        """`rounds` rounds of n concurrent sign-ins (bench_pamloop processes),
        numbered from `first`, their figures added to `out`; with cg (a
        cgroup v1 memory directory) every process runs in it."""
        if out is None:
            out = {"tput": [], "p99": [], "errors": 0, "fetches": [], "spans": [],
                   "pool_cpu": [], "kids_cpu": [], "peak": [], "tput_all": [],
                   "spans_all": []}
        confdir = os.path.join(self.T, "svc-conc")
        loop = os.path.join(self.bindir, "bench_pamloop")
        tag = "y" if offline else "n"
        for r in range(first, first + rounds):
            state = os.path.join(self.T, "state-conc%s%d" % (tag, r))
            conf = self.conf("conc%s%d" % (tag, r), state, offline=offline)
            self.service("conc", "auth required %s config=%s" % (self.module, conf), confdir)
            files = []
            us = self.users(n, "p")
            for i, u in enumerate(us):
                files.append(os.path.join(self.T, "conc-%d" % i))
                with open(files[-1], "w") as f:
                    f.write("%s %s %s\n" % u)
            results = [None] * n
            barrier = threading.Barrier(n)
            if cg:
                # the cgroup's high-water mark, per round
                with open(os.path.join(cg, "memory.max_usage_in_bytes"), "w") as f:
                    f.write("0\n")

            def one(i):
                cmd = [loop, confdir, "conc", files[i]]
                if cg:
                    cmd = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg] + cmd
                barrier.wait()
                t0 = time.perf_counter()
                try:
                    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                    ok = p.returncode == 0 and "signins 1" in p.stdout
                    out_ = p.stderr
                except subprocess.TimeoutExpired:
                    ok, out_ = False, "timeout"
                t1 = time.perf_counter()
                results[i] = (ok, t0, t1, (t1 - t0) * 1000.0, out_)

            self.admin("reset_stats")
            pool0 = self.pool_cpu()
            kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(400)
            # offline = yes: the round's work ends when the helpers have
            # written the 64 records (their CPU is not in kids_cpu: they
            # are init's children).
            if offline:
                for u in us:
                    self.settle(state, u[0])
                t_all = time.perf_counter()
            kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            out["pool_cpu"].append(self.pool_cpu() - pool0)
            out["kids_cpu"].append((kids1.ru_utime - kids0.ru_utime)
                                   + (kids1.ru_stime - kids0.ru_stime))
            done = [x for x in results if x]
            bad = [x for x in done if not x[0]]
            out["errors"] += len(bad) + (n - len(done))
            if bad:
                self.notes.append("6: a failed concurrent sign-in said: "
                                  + bad[0][4].strip().replace("\n", " | ")[-300:])
            span = max(x[2] for x in done) - min(x[1] for x in done)
            out["spans"].append(span)
            out["tput"].append(n / span)
            if offline:
                out["spans_all"].append(t_all - min(x[1] for x in done))
                out["tput_all"].append(n / out["spans_all"][-1])
            out["p99"].append(p99([x[3] for x in done]))
            out["fetches"].append(self.stats()[1])
            if cg:
                with open(os.path.join(cg, "memory.max_usage_in_bytes")) as f:
                    out["peak"].append(int(f.read().split()[0]) / 1048576.0)
            # The pool rewrites its whole state on every change: the round's
            # users go, so that every round meets a pool of the same size.
            for u in us:
                self.admin("delete_user", {"username": u[0]})
        return out

    def fig6_concurrent(self):
        n = 64
        rounds = self.n(3, 1)
        self.section("6. %d concurrent sign-ins: %d processes, each pam_start_confdir + "
                     "pam_authenticate (bench_pamloop; pam_wrapper allows at most 62 at once);"
                     " password flow, cold JWKS cache each round; %d rounds each, alternating, "
                     "offline = no and the defaults' offline = yes (scrypt verifier), both inside "
                     "one 1 GiB cgroup v1 memory limit when one can be made" % (n, n, rounds))
        # The rounds alternate, offline = no then offline = yes: the test
        # pool's work per request grows with the users and refresh tokens it
        # holds (it rewrites its whole state file), so running all of one
        # setting first would charge the later one for the pool's growth.
        cg, oom = None, 0
        if os.path.exists(CG_ROOT + "/memory.limit_in_bytes"):
            cg = os.path.join(CG_ROOT, "userpool-bench-%d" % os.getpid())
            try:
                os.mkdir(cg)
                for k in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
                    if os.path.exists(os.path.join(cg, k)):
                        with open(os.path.join(cg, k), "w") as f:
                            f.write("%d\n" % (1 << 30))
            except OSError as e:
                self.notes.append("6: no cgroup (%s): the runs are not limited" % e)
                cg = None
        outs = {False: None, True: None}
        try:
            for r in range(rounds):
                for offline in (False, True):
                    # both settings in the same cgroup: its accounting and
                    # the shell that joins it cost the same on each side
                    outs[offline] = self.conc_rounds(n, 1, offline, cg, out=outs[offline],
                                                     first=r)
        finally:
            if cg:
                try:
                    with open(os.path.join(cg, "memory.oom_control")) as f:
                        for line in f:
                            if line.startswith("oom_kill "):
                                oom = int(line.split()[1])
                except OSError:
                    pass
                for _ in range(50):
                    try:
                        os.rmdir(cg)
                        break
                    except OSError:
                        time.sleep(0.1)
        for offline in (False, True):
            o = outs[offline]
            lab = "offline = yes" if offline else "offline = no"
            self.row("%s: throughput, median of rounds" % lab, "%.1f /s" % median(o["tput"]),
                     "(rounds: %s)" % ", ".join("%.1f" % t for t in o["tput"]))
            if offline:
                self.row("%s: throughput with the offline records written, median of rounds"
                         % lab, "%.1f /s" % median(o["tput_all"]),
                         "(until the last helper wrote its record: %.1f s)"
                         % median(o["spans_all"]))
                self.fig["conc_tput_all"] = median(o["tput_all"])
            self.row("%s: p99 latency, median of rounds" % lab, fmt_ms(median(o["p99"])))
            self.row("%s: errors (must be 0)" % lab, str(o["errors"]),
                     "(of %d sign-ins)" % (n * rounds))
            self.row("%s: JWKS fetches per round (must be <= 1)" % lab, str(max(o["fetches"])),
                     "(per round: %s)" % ", ".join(map(str, o["fetches"])))
            self.row("%s: CPU per round: the pool / the 64 sign-ins (medians)" % lab,
                     "%.1f s / %.1f s" % (median(o["pool_cpu"]), median(o["kids_cpu"])),
                     "(round wall time %.1f s, 2 cores shared)" % median(o["spans"]))
            if cg:
                self.row("%s: memory of the 64 sign-ins, cgroup peak" % lab,
                         "%.0f MB" % max(o["peak"]),
                         "(limit 1024 MB; OOM kills, both settings: %d)" % oom)
                if offline:
                    self.fig["conc_mem"] = max(o["peak"])
                    self.fig["conc_oom"] = oom
            self.fig["conc_err_" + ("yes" if offline else "no")] = o["errors"]
            self.fig["conc_tput_" + ("yes" if offline else "no")] = median(o["tput"])

    def helper_rss(self, k, extra=(), label="scrypt2"):
        """Peak RSS of the verifier helper a defaults sign-in starts: the
        helper run under `bench_lib rss` (its ru_maxrss from wait4)."""
        out = os.path.join(self.T, "helper-rss.out")
        wrap = os.path.join(self.T, "helper-rss.sh")
        with open(wrap, "w") as f:
            f.write("#!/bin/sh\nexec %s rss %s %s\n"
                    % (os.path.join(self.bindir, "bench_lib"), out, self.verifier))
        os.chmod(wrap, 0o755)
        svc = self.ours_service("rss-helper-" + label, flow="srp", offline=True, helper=wrap,
                                extra=extra)
        kb = []
        for u in self.users(k, "h"):
            if os.path.exists(out):
                os.unlink(out)
            self.ours(svc, u)
            for _ in range(3000):  # at most 30 s after the record was written
                if os.path.exists(out) and os.path.getsize(out):
                    break
                time.sleep(0.01)
            with open(out) as f:
                kb.append(int(f.read().split()[0]))
        self.fig["rss_helper" + ("" if label == "scrypt2" else "_" + label)] = median(kb) / 1024.0
        self.row("peak RSS, the verifier helper (srp defaults, %s record)" % label,
                 "%.1f MB" % (median(kb) / 1024.0),
                 "(min %.1f, max %.1f; after the sign-in returned)"
                 % (min(kb) / 1024.0, max(kb) / 1024.0))

    def fig7_memory(self):
        k = self.n(5, 2)
        self.section("7. Memory (peak RSS: median of %d pamtester sign-ins, ru_maxrss "
                     "from wait4)" % k)
        for label, key in (("password, offline = no", "password"),
                           ("srp, offline = no", "srp"),
                           ("srp, offline = yes (defaults; scrypt)", "default")):
            kb = [self.ours(self.svcs[key], u, rss=True)[1] for u in self.users(k, "r")]
            self.fig["rss_" + key] = median(kb) / 1024.0
            self.row("peak RSS, sign-in, " + label, "%.1f MB" % (median(kb) / 1024.0),
                     "(min %.1f, max %.1f)" % (min(kb) / 1024.0, max(kb) / 1024.0))
        self.helper_rss(k)
        # With a TPM (tpm = auto on a machine that has one) the helper makes
        # a tpm1 record: scrypt N=2^14 (16 MiB), then the TPM's HMAC.
        if shutil.which("swtpm"):
            try:
                tcti = self.swtpm_start()
                self.helper_rss(k, extra=["tpm = yes", "tpm_tcti = " + tcti], label="tpm1")
            finally:
                self.swtpm_stop()
        kb = [self.pam_ok(self.svcs["permit"], "nobody", [], "pam_permit", rss=True)[1]
              for _ in range(k)]
        self.row("peak RSS, pamtester + pam_wrapper + pam_permit alone",
                 "%.1f MB" % (median(kb) / 1024.0))
        if os.access("/usr/bin/time", os.X_OK):
            out = os.path.join(self.T, "time.out")
            self.ours(self.svcs["password"], self.users(1, "r")[0],
                      prefix=["/usr/bin/time", "-f", "%M", "-o", out])
            with open(out) as f:
                self.row("  cross-check: /usr/bin/time -v, password, offline = no",
                         "%.1f MB" % (int(f.read().split()[-1]) / 1024.0), "(one run)")
        if not self.have_valgrind:
            self.row("bytes leaked per 1000 sign-ins", "not measured", "(valgrind missing)")
            return
        confdir = os.path.join(self.T, "svc-vg")
        conf = self.conf("vg", os.path.join(self.T, "state-vg"))
        self.service("vg", "auth required %s config=%s" % (self.module, conf), confdir)
        # warm the JWKS cache outside valgrind
        self.service("vg", "auth required %s config=%s" % (self.module, conf))
        self.ours("vg", self.users(1, "w")[0])

        def vg_run(k):
            path = os.path.join(self.T, "vg-users")
            with open(path, "w") as f:
                for u in self.users(k, "m"):
                    f.write("%s %s %s\n" % u)
            log = os.path.join(self.T, "vg-%d.log" % k)
            t0 = time.monotonic()
            r = subprocess.run(["valgrind", "--leak-check=full", "--show-leak-kinds=all",
                                "--num-callers=30", "--log-file=" + log,
                                os.path.join(self.bindir, "bench_pamloop"), confdir, "vg",
                                path], capture_output=True, text=True, timeout=600)
            secs = time.monotonic() - t0
            if r.returncode != 0 or ("signins %d" % k) not in r.stdout:
                raise BenchError("bench_pamloop under valgrind failed: %s %s"
                                 % (r.stdout[-500:], r.stderr[-1000:]))
            with open(log) as f:
                text = f.read()

            def lost(kind):
                m = re.search(kind + r" lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
                return int(m.group(1).replace(",", "")) if m else 0

            m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
            return {"definite": lost("definitely"), "indirect": lost("indirectly"),
                    "possible": lost("possibly"), "errors": int(m.group(1)) if m else -1,
                    "secs": secs}

        k1 = self.n(2, 1)
        r1 = vg_run(k1)
        per = r1["secs"] / k1
        budget = self.a.valgrind_seconds
        k2 = max(k1 + 2, min(self.n(40, 4), int(budget / max(per, 0.1))))
        r2 = vg_run(k2)
        d1, d2 = r1["definite"] + r1["indirect"], r2["definite"] + r2["indirect"]
        slope = (d2 - d1) / float(k2 - k1)
        self.row("valgrind: definitely+indirectly lost, %d sign-ins" % k1, "%d B" % d1,
                 "(memcheck errors: %d)" % r1["errors"])
        self.row("valgrind: definitely+indirectly lost, %d sign-ins" % k2, "%d B" % d2,
                 "(memcheck errors: %d; %.1f s/sign-in under valgrind)"
                 % (r2["errors"], r2["secs"] / k2))
        if d1 == 0 and d2 == 0:
            self.row("bytes leaked per 1000 sign-ins", "0 B",
                     "(nothing lost at either count: nothing to scale)")
        else:
            self.row("bytes leaked per 1000 sign-ins", "%.0f B" % (slope * 1000),
                     "(scaled from the difference %d -> %d sign-ins)" % (k1, k2))
        self.row("possibly lost (%d / %d sign-ins)" % (k1, k2),
                 "%d / %d B" % (r1["possible"], r2["possible"]))

    # --- run ---------------------------------------------------------------------

    def run(self):
        self.svcs = {}
        self.fig = {}
        self.floor_proc = {}
        t0 = time.monotonic()
        load0 = loadavg()
        self.check_env()
        self.pool_start()
        steps = [self.fig1_verify, self.fig23_online, self.fig23_bundle, self.fig_defaults,
                 self.fig4_cold, self.fig5_offline, self.fig5t_tpm, self.fig6_concurrent,
                 self.fig7_memory, self.fig_targets]
        if self.a.only:
            keep = set(self.a.only.split(","))
            # 2c is figure 2/3 with another ca_file: it comes with fig23_online.
            if "fig23_online" in keep:
                keep.add("fig23_bundle")
            steps = [x for x in steps if x.__name__ in keep or x.__name__ == "fig_targets"]
        for step in steps:
            step()
        secs = time.monotonic() - t0
        head = ["userpool make bench -- %s" % datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%d %H:%M UTC"),
                "machine: %s, %d CPUs, load average %s at start, %s at end"
                % (cpu_model(), os.cpu_count() or 0, load0, loadavg()),
                "pool: tests/pool/pool.py (one Python process) over HTTPS on 127.0.0.1.",
                "Each figure is the median of several measurements; p99 is by nearest rank "
                "(the maximum",
                "of fewer than 100 samples). Times are wall clock unless marked CPU. "
                "Nothing here is asserted."]
        rev = subprocess.run(["git", "-C", self.src, "describe", "--always", "--dirty"],
                             capture_output=True, text=True)
        if rev.returncode == 0:
            head.append("tree: " + rev.stdout.strip())
        tail = [""] + ["note: " + n for n in self.notes] + ["bench took %.0f s" % secs]
        return "\n".join(head + self.rows + tail) + "\n"

    def cleanup(self):
        self.pool_stop()
        self.swtpm_stop()
        if not self.a.keep:
            shutil.rmtree(self.T, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--srcdir", default=os.path.join(here, "..", ".."))
    ap.add_argument("--builddir", default=os.path.join(here, "..", ".."))
    ap.add_argument("--bindir", help="where bench_lib, bench_floor, bench_pamloop are "
                    "(default BUILDDIR/tests/bench)")
    ap.add_argument("--module", help="pam_userpool.so (default BUILDDIR/pam/.libs/)")
    ap.add_argument("--out", help="also write the table here")
    ap.add_argument("--quick", action="store_true", help="few samples (a smoke run)")
    ap.add_argument("--valgrind-seconds", type=float, default=60.0,
                    help="time budget of the larger valgrind run (default 60)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--only", help="comma-separated figure methods to run (e.g. "
                    "fig_defaults,fig7_memory; fig7_memory needs fig23_online; "
                    "fig23_online brings fig23_bundle)")
    args = ap.parse_args()
    b = Bench(args)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(1))
    try:
        table = b.run()
    except BenchError as e:
        print("make bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        b.cleanup()
    sys.stdout.write(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
