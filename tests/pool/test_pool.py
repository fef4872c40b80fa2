#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the test user pool (pool.py), TAP output.

Starts its own pool over HTTPS (--port 0, temp state and CA dirs), drives
every API call, challenge, error, fault kind and admin op, and kills the pool
at the end.  The SRP client side here is written from the protocol notes
(NOTES.md); tests/sdk/conformance.js checks the same against AWS's own SDK.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
POOL = os.path.join(HERE, "pool.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
POOL_ID = "us-east-1_TestPool1"
POOL_NAME = "TestPool1"
CLIENT = "userpooltestclient00000001"
TARGET = "AWSCognitoIdentityProviderService."
PW = "Passw0rd-initial"

# ------------------------------------------------------------------ TAP

_n = 0
_failed = 0


def ok(cond, name, diag=None):
    global _n, _failed
    _n += 1
    if not cond:
        _failed += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", _n, name))
    if not cond and diag is not None:
        for line in str(diag).splitlines() or [""]:
            print("#   " + line)
    sys.stdout.flush()
    return bool(cond)


def note(msg):
    print("# " + msg)
    sys.stdout.flush()


# ------------------------------------------------------------------ crypto (client side)

N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
    "955817183995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7ABF5AE8CDB0933D71E8C94E04A25619DCEE3D226"
    "1AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2"
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF", 16)
G = 2


def pad_hex(n):
    h = "%x" % n
    if len(h) % 2:
        h = "0" + h
    if h[0] in "89abcdef":
        h = "00" + h
    return h


def hh(hexstr):
    return hashlib.sha256(bytes.fromhex(hexstr)).hexdigest()


K = int(hh(pad_hex(N) + pad_hex(G)), 16)
WEEK = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MON = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def srp_timestamp(t=None):
    tm = time.gmtime(time.time() if t is None else t)
    return "%s %s %d %02d:%02d:%02d UTC %d" % (WEEK[tm.tm_wday], MON[tm.tm_mon - 1],
                                                tm.tm_mday, tm.tm_hour, tm.tm_min,
                                                tm.tm_sec, tm.tm_year)


class SrpClient:
    def __init__(self):
        self.a = int.from_bytes(secrets.token_bytes(128), "big")
        self.A = pow(G, self.a, N)

    def respond(self, params, password, timestamp=None, pool_name=POOL_NAME):
        uid = params["USER_ID_FOR_SRP"]
        B = int(params["SRP_B"], 16)
        salt = int(params["SALT"], 16)
        u = int(hh(pad_hex(self.A) + pad_hex(B)), 16)
        inner = hashlib.sha256((pool_name + uid + ":" + password).encode()).hexdigest()
        x = int(hh(pad_hex(salt) + inner), 16)
        S = pow((B - K * pow(G, x, N)) % N, self.a + u * x, N)
        prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(S)),
                       hashlib.sha256).digest()
        key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
        ts = timestamp or srp_timestamp()
        msg = (pool_name.encode() + uid.encode() + base64.b64decode(params["SECRET_BLOCK"])
               + ts.encode())
        sig = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
        return {"USERNAME": uid, "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
                "TIMESTAMP": ts, "PASSWORD_CLAIM_SIGNATURE": sig}


def totp(secret, t=None, offset=0):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    step = int((time.time() if t is None else t) // 30) + offset
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000)


def wait_step_margin(margin=3):
    """Avoid computing a code within `margin` seconds of a step boundary."""
    r = time.time() % 30
    if r > 30 - margin:
        time.sleep(30 - r + 0.2)


def secret_hash(secret, username, client_id):
    return base64.b64encode(hmac.new(secret.encode(), (username + client_id).encode(),
                                     hashlib.sha256).digest()).decode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(tok):
    h, p, s = tok.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p)), s


def rs256_verify(tok, jwks):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    h, p, s = tok.split(".")
    header = json.loads(b64d(h))
    for k in jwks["keys"]:
        if k["kid"] == header.get("kid") and header.get("alg") == "RS256":
            pub = rsa.RSAPublicNumbers(int.from_bytes(b64d(k["e"]), "big"),
                                       int.from_bytes(b64d(k["n"]), "big")).public_key()
            try:
                pub.verify(b64d(s), (h + "." + p).encode(), padding.PKCS1v15(),
                           hashes.SHA256())
                return True
            except Exception:
                return False
    return False


# ------------------------------------------------------------------ HTTP client

class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Resp(%d, %r)" % (self.status, self.body[:300])


class Pool:
    def __init__(self, url, cafile):
        self.url = url
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.conn = None

    def connect(self, timeout=20):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=timeout)

    def request(self, method, path, body=b"", headers=None, keep=False, timeout=20):
        conn = self.conn if keep and self.conn else self.connect(timeout)
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return Resp(r.status, hdrs, data, time.monotonic() - t0)
        finally:
            if keep:
                self.conn = conn
            else:
                conn.close()

    def cognito(self, action, body, **kw):
        return self.request("POST", "/", json.dumps(body).encode(),
                            {"Content-Type": "application/x-amz-json-1.1",
                             "X-Amz-Target": TARGET + action}, **kw)

    def admin(self, op, body=None):
        r = self.request("POST", "/admin/" + op, json.dumps(body or {}).encode(),
                         {"Content-Type": "application/json"})
        if r.status != 200:
            raise RuntimeError("admin %s: %r" % (op, r))
        return r.json

    def form(self, path, fields, auth=None, **kw):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % auth).encode()).decode()
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(), headers,
                            **kw)

    def get(self, path, headers=None):
        return self.request("GET", path, b"", headers)

    # Cognito flows ------------------------------------------------------
    def srp_start(self, username, client=CLIENT, shash=None):
        c = SrpClient()
        params = {"USERNAME": username, "SRP_A": "%x" % c.A}
        if shash:
            params["SECRET_HASH"] = shash
        r = self.cognito("InitiateAuth", {"AuthFlow": "USER_SRP_AUTH", "ClientId": client,
                                          "AuthParameters": params})
        return c, r

    def srp_login(self, username, password, client=CLIENT, shash=None, timestamp=None):
        c, r = self.srp_start(username, client, shash)
        if r.status != 200:
            return r
        resp = c.respond(r.json["ChallengeParameters"], password, timestamp)
        if shash:
            resp["SECRET_HASH"] = shash
        body = {"ChallengeName": "PASSWORD_VERIFIER", "ClientId": client,
                "ChallengeResponses": resp}
        if "Session" in r.json:
            body["Session"] = r.json["Session"]
        return self.cognito("RespondToAuthChallenge", body)

    def pw_login(self, username, password, client=CLIENT, shash=None):
        params = {"USERNAME": username, "PASSWORD": password}
        if shash:
            params["SECRET_HASH"] = shash
        return self.cognito("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH",
                                             "ClientId": client, "AuthParameters": params})

    def answer(self, r, name, responses, client=CLIENT):
        return self.cognito("RespondToAuthChallenge", {
            "ChallengeName": name, "ClientId": client, "Session": r.json["Session"],
            "ChallengeResponses": responses})


def is_err(r, type_, message=None):
    if r is None or r.status != 400 or not r.json:
        return False
    if r.json.get("__type") != type_:
        return False
    if r.headers.get("x-amzn-errortype") != type_ + ":":
        return False
    return message is None or r.json.get("message") == message


PROCS = []


def start_pool(state, cadir, extra=()):
    t0 = time.monotonic()
    p = subprocess.Popen([PYTHON, POOL, "--port", "0", "--state", state, "--tls", cadir]
                         + list(extra), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    PROCS.append(p)
    result = {}

    def reader():
        result["line"] = p.stdout.readline()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    th.join(10)
    line = result.get("line") or ""
    return p, line, time.monotonic() - t0


def stop_pool(p):
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


# ------------------------------------------------------------------ tests

def run(tmp):
    state, cadir = os.path.join(tmp, "state"), os.path.join(tmp, "ca")
    proc, line, took = start_pool(state, cadir)
    procs = [proc]
    try:
        ok(line.startswith("READY https://127.0.0.1:"), "pool prints READY <url> within 10 s",
           line)
        note("pool start-up (first start: keys and CA generated) took %.2f s" % took)
        if not line.startswith("READY "):
            return
        url = line.split()[1]
        pool = Pool(url, os.path.join(cadir, "ca.pem"))
        tests(pool, url, state, cadir, procs)
        # restart on the same state: keys and users persist
        kids = [k["kid"] for k in pool.get("/%s/.well-known/jwks.json" % POOL_ID).json["keys"]]
        stop_pool(proc)
        proc, line, took = start_pool(state, cadir)
        procs.append(proc)
        ok(line.startswith("READY "), "pool restarts on its state dir", line)
        note("pool restart took %.2f s" % took)
        if line.startswith("READY "):
            p2 = Pool(line.split()[1], os.path.join(cadir, "ca.pem"))
            kids2 = [k["kid"] for k in
                     p2.get("/%s/.well-known/jwks.json" % POOL_ID).json["keys"]]
            ok(kids2 == kids, "keys persist across a restart")
            r = p2.pw_login("persist", PW)
            ok(r.status == 200 and "AuthenticationResult" in r.json,
               "users persist across a restart", r)
        # plain HTTP and --key-cache: two new pools share the cached keys
        kc = os.path.join(tmp, "keycache")
        urls = []
        for i in (1, 2):
            p = subprocess.Popen([PYTHON, POOL, "--state", os.path.join(tmp, "plain%d" % i),
                                  "--key-cache", kc, "--ready-file",
                                  os.path.join(tmp, "url%d" % i)],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            PROCS.append(p)
            urls.append(p.stdout.readline().split()[-1:])
        ok(all(u and u[0].startswith("http://127.0.0.1:") for u in urls),
           "without --tls the pool serves plain HTTP", urls)
        with open(os.path.join(tmp, "url1")) as f:
            ok(f.read().strip() == urls[0][0], "--ready-file holds the URL")
        jw = []
        for u in urls:
            pu = urllib.parse.urlsplit(u[0])
            c = http.client.HTTPConnection(pu.hostname, pu.port, timeout=10)
            c.request("GET", "/%s/.well-known/jwks.json" % POOL_ID)
            jw.append(json.loads(c.getresponse().read()))
            c.close()
        ok(jw[0] == jw[1] and len(jw[0]["keys"]) == 2, "--key-cache: both pools use the cached keys")
    finally:
        for p in procs:
            stop_pool(p)


def tests(pool, url, state, cadir, procs):
    issuer = url.rstrip("/") + "/" + POOL_ID
    P = pool

    # ---- listening socket, TLS ------------------------------------------
    port = P.port
    listening = []
    try:
        with open("/proc/net/tcp") as f:
            for ln in f.readlines()[1:]:
                parts = ln.split()
                if parts[3] == "0A" and int(parts[1].split(":")[1], 16) == port:
                    listening.append(parts[1].split(":")[0])
    except OSError:
        pass
    ok(listening == ["0100007F"], "binds 127.0.0.1 only", listening)
    ok(os.path.exists(os.path.join(cadir, "ca.pem")), "--tls writes ca.pem into CADIR")
    try:
        bad = ssl.create_default_context()   # system store: must not trust our CA
        c = http.client.HTTPSConnection(P.host, P.port, context=bad, timeout=5)
        c.request("GET", "/")
        c.getresponse()
        ok(False, "a client without the pool CA fails verification")
    except ssl.SSLCertVerificationError:
        ok(True, "a client without the pool CA fails verification")
    try:
        c = http.client.HTTPSConnection("localhost", P.port, context=P.ctx, timeout=5)
        c.request("GET", "/%s/.well-known/jwks.json" % POOL_ID)
        ok(c.getresponse().status == 200, "certificate is valid for localhost too")
        c.close()
    except Exception as e:
        ok(False, "certificate is valid for localhost too", e)
    # --wrong-host-cert: same CA, another name
    wp, wline, _ = start_pool(os.path.join(os.path.dirname(state), "state-wrong"), cadir,
                              ["--wrong-host-cert"])
    procs.append(wp)
    try:
        wurl = urllib.parse.urlsplit(wline.split()[1])
        c = http.client.HTTPSConnection("127.0.0.1", wurl.port, context=P.ctx, timeout=5)
        c.request("GET", "/")
        c.getresponse()
        ok(False, "--wrong-host-cert fails hostname verification")
    except ssl.SSLCertVerificationError as e:
        ok("match" in str(e) or "mismatch" in str(e).lower(),
           "--wrong-host-cert fails hostname verification", e)
    except Exception as e:
        ok(False, "--wrong-host-cert fails hostname verification", repr(e))
    try:
        ctx = ssl.create_default_context(cafile=os.path.join(cadir, "ca.pem"))
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", wurl.port, context=ctx, timeout=5)
        c.request("GET", "/%s/.well-known/jwks.json" % POOL_ID)
        ok(c.getresponse().status == 200, "--wrong-host-cert is signed by the same CA")
    except Exception as e:
        ok(False, "--wrong-host-cert is signed by the same CA", e)
    stop_pool(wp)

    # ---- discovery and JWKS ---------------------------------------------
    r = P.get("/%s/.well-known/openid-configuration" % POOL_ID)
    ok(r.status == 200 and r.json["issuer"] == issuer and
       r.json["jwks_uri"] == issuer + "/.well-known/jwks.json",
       "Cognito discovery document: issuer and jwks_uri", r)
    r = P.get("/%s/.well-known/jwks.json" % POOL_ID)
    jwks = r.json
    ok(r.status == 200 and len(jwks["keys"]) == 2 and
       all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["use"] == "sig" and k["e"] == "AQAB"
           and len(b64d(k["n"])) == 256 for k in jwks["keys"]),
       "JWKS has two RSA-2048 RS256 keys", r)
    ok(P.get("/nope").status == 404, "unknown path: 404")

    # ---- users ------------------------------------------------------------
    P.admin("set_pool_mfa", {"mfa": "OFF"})
    P.admin("create_user", {"username": "persist", "password": PW})
    P.admin("create_user", {"username": "u1", "password": PW, "groups": ["g1", "g2"],
                            "email": "u1@example.org"})
    P.admin("create_user", {"username": "nogroups", "password": PW})

    # ---- SRP ----------------------------------------------------------------
    c, r = P.srp_start("u1")
    cp = (r.json or {}).get("ChallengeParameters", {})
    ok(r.status == 200 and r.json.get("ChallengeName") == "PASSWORD_VERIFIER" and
       set(cp) == {"SALT", "SECRET_BLOCK", "SRP_B", "USERNAME", "USER_ID_FOR_SRP"} and
       "Session" not in r.json, "USER_SRP_AUTH gives PASSWORD_VERIFIER with Cognito's fields", r)
    r = P.srp_login("u1", PW)
    ar = (r.json or {}).get("AuthenticationResult", {})
    ok(r.status == 200 and set(ar) == {"AccessToken", "ExpiresIn", "TokenType", "RefreshToken",
                                       "IdToken"} and ar["TokenType"] == "Bearer" and
       r.json.get("ChallengeParameters") == {}, "SRP sign-in (MFA off) gives tokens", r)
    tokens_u1 = ar
    r = P.srp_login("u1", "Wrong-passw0rd")
    ok(is_err(r, "NotAuthorizedException", "Incorrect username or password."),
       "SRP wrong password: NotAuthorizedException with x-amzn-ErrorType", r)
    r = P.srp_login("u1", PW, timestamp=srp_timestamp(time.time() - 3600))
    ok(is_err(r, "NotAuthorizedException"), "SRP TIMESTAMP an hour old is refused", r)
    r = P.srp_login("u1", PW, timestamp="Mon Nov 03 09:05:07 UTC 2026")
    ok(is_err(r, "InvalidParameterException"), "SRP TIMESTAMP with a zero-padded day is refused",
       r)
    for A, label in ((0, "0"), (N, "N"), (2 * N, "2N")):
        r = P.cognito("InitiateAuth", {"AuthFlow": "USER_SRP_AUTH", "ClientId": CLIENT,
                                       "AuthParameters": {"USERNAME": "u1",
                                                          "SRP_A": "%x" % A}})
        ok(is_err(r, "NotAuthorizedException"), "SRP_A = %s is refused" % label, r)
    c, r = P.srp_start("u1")
    resp = c.respond(r.json["ChallengeParameters"], PW)
    body = {"ChallengeName": "PASSWORD_VERIFIER", "ClientId": CLIENT, "ChallengeResponses": resp}
    r1 = P.cognito("RespondToAuthChallenge", body)
    r2 = P.cognito("RespondToAuthChallenge", body)
    ok(r1.status == 200 and is_err(r2, "NotAuthorizedException"),
       "a PASSWORD_VERIFIER answer cannot be replayed", r2)
    r = P.srp_login("ghost", PW)
    ok(is_err(r, "UserNotFoundException"), "unknown user: UserNotFoundException", r)

    # ---- USER_PASSWORD_AUTH and user states -------------------------------------
    r = P.pw_login("u1", PW)
    ok(r.status == 200 and "AuthenticationResult" in r.json, "USER_PASSWORD_AUTH", r)
    ok(is_err(P.pw_login("u1", "Wrong-passw0rd"), "NotAuthorizedException",
              "Incorrect username or password."), "USER_PASSWORD_AUTH wrong password")
    ok(is_err(P.pw_login("ghost", PW), "UserNotFoundException"),
       "USER_PASSWORD_AUTH unknown user: UserNotFoundException")
    P.admin("create_user", {"username": "off", "password": PW, "enabled": False})
    ok(is_err(P.pw_login("off", PW), "NotAuthorizedException", "User is disabled."),
       "disabled user: NotAuthorizedException 'User is disabled.'")
    ok(is_err(P.srp_login("off", PW), "NotAuthorizedException", "User is disabled."),
       "disabled user (SRP): 'User is disabled.'")
    P.admin("enable_user", {"username": "off"})
    ok(P.pw_login("off", PW).status == 200, "enable_user lets the user sign in again")
    P.admin("disable_user", {"username": "off"})
    ok(is_err(P.pw_login("off", PW), "NotAuthorizedException", "User is disabled."),
       "disable_user refuses the user again")
    P.admin("create_user", {"username": "reset", "password": PW, "status": "RESET_REQUIRED"})
    ok(is_err(P.pw_login("reset", PW), "PasswordResetRequiredException"),
       "RESET_REQUIRED: PasswordResetRequiredException")
    P.admin("create_user", {"username": "unconf", "password": PW, "status": "UNCONFIRMED"})
    ok(is_err(P.pw_login("unconf", PW), "UserNotConfirmedException"),
       "UNCONFIRMED: UserNotConfirmedException")
    ok(is_err(P.pw_login("unconf", "Wrong-passw0rd"), "NotAuthorizedException"),
       "UNCONFIRMED with a wrong password: NotAuthorizedException")
    P.admin("delete_user", {"username": "unconf"})
    ok(is_err(P.pw_login("unconf", PW), "UserNotFoundException"), "delete_user removes the user")
    P.admin("set_password", {"username": "u1", "password": "Passw0rd-second"})
    ok(P.pw_login("u1", "Passw0rd-second").status == 200 and
       P.srp_login("u1", "Passw0rd-second").status == 200 and
       is_err(P.pw_login("u1", PW), "NotAuthorizedException"),
       "admin set_password changes both the SRP verifier and password check")
    P.admin("set_password", {"username": "u1", "password": PW})

    # ---- API errors ---------------------------------------------------------------
    r = P.cognito("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "nope",
                                   "AuthParameters": {"USERNAME": "u1", "PASSWORD": PW}})
    ok(is_err(r, "ResourceNotFoundException"), "unknown ClientId: ResourceNotFoundException", r)
    r = P.cognito("InitiateAuth", {"AuthFlow": "CUSTOM_AUTH", "ClientId": CLIENT,
                                   "AuthParameters": {"USERNAME": "u1"}})
    ok(is_err(r, "InvalidParameterException", "Custom auth lambda trigger is not configured "
              "for the user pool."), "CUSTOM_AUTH without the trigger: InvalidParameterException",
       r)
    r = P.cognito("InitiateAuth", {"AuthFlow": "ADMIN_NO_SRP_AUTH", "ClientId": CLIENT,
                                   "AuthParameters": {"USERNAME": "u1"}})
    ok(is_err(r, "InvalidParameterException"), "unsupported AuthFlow: InvalidParameterException",
       r)
    r = P.cognito("NoSuchAction", {})
    ok(is_err(r, "UnknownOperationException"), "unknown target: UnknownOperationException", r)
    r = P.request("POST", "/", b"{not json", {"X-Amz-Target": TARGET + "InitiateAuth",
                                              "Content-Type": "application/x-amz-json-1.1"})
    ok(is_err(r, "SerializationException"), "malformed JSON: SerializationException", r)
    ok(r.headers.get("content-type") == "application/x-amz-json-1.1",
       "Content-Type application/x-amz-json-1.1")
    try:
        s = socket.create_connection((P.host, P.port), timeout=5)
        ss = P.ctx.wrap_socket(s, server_hostname="127.0.0.1")
        ss.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n")
        data = ss.recv(4096)
        ss.close()
        ok(data.startswith(b"HTTP/1.1 413"), "request bodies over 1 MiB: 413", data[:40])
    except Exception as e:
        ok(False, "request bodies over 1 MiB: 413", e)

    # ---- tokens -------------------------------------------------------------------
    idh, idc, _ = jwt_parts(tokens_u1["IdToken"])
    ach, acc, _ = jwt_parts(tokens_u1["AccessToken"])
    ok(idh == {"kid": jwks["keys"][0]["kid"], "alg": "RS256"} and ach == idh,
       "token header {kid, alg} signed with the first JWKS key", idh)
    ok(rs256_verify(tokens_u1["IdToken"], jwks) and rs256_verify(tokens_u1["AccessToken"], jwks),
       "ID and access tokens verify against the JWKS")
    need_id = {"sub", "iss", "aud", "token_use", "cognito:username", "cognito:groups",
               "auth_time", "iat", "exp", "email", "event_id", "origin_jti", "jti"}
    ok(need_id <= set(idc) and idc["iss"] == issuer and idc["aud"] == CLIENT and
       idc["token_use"] == "id" and idc["cognito:username"] == "u1" and
       idc["cognito:groups"] == ["g1", "g2"] and idc["exp"] == idc["iat"] + 3600 and
       idc["email"] == "u1@example.org", "ID token claims as Cognito issues them", idc)
    need_acc = {"sub", "iss", "client_id", "token_use", "scope", "auth_time", "iat", "exp",
                "username", "jti", "origin_jti", "cognito:groups"}
    ok(need_acc <= set(acc) and "aud" not in acc and acc["client_id"] == CLIENT and
       acc["token_use"] == "access" and acc["scope"] == "aws.cognito.signin.user.admin" and
       acc["username"] == "u1", "access token claims as Cognito issues them", acc)
    r = P.pw_login("nogroups", PW)
    _, c2, _ = jwt_parts(r.json["AuthenticationResult"]["IdToken"])
    ok("cognito:groups" not in c2, "no cognito:groups claim for a user without groups")

    # ---- GetUser, ChangePassword, refresh, revoke, global sign-out ------------------
    at = tokens_u1["AccessToken"]
    r = P.cognito("GetUser", {"AccessToken": at})
    attrs = {a["Name"]: a["Value"] for a in (r.json or {}).get("UserAttributes", [])}
    ok(r.status == 200 and r.json["Username"] == "u1" and attrs.get("sub") == idc["sub"] and
       attrs.get("email") == "u1@example.org" and "PreferredMfaSetting" not in r.json,
       "GetUser", r)
    ok(is_err(P.cognito("GetUser", {"AccessToken": tokens_u1["IdToken"]}),
              "NotAuthorizedException"), "GetUser with an ID token is refused")
    ok(is_err(P.cognito("GetUser", {"AccessToken": "abc.def.ghi"}), "NotAuthorizedException",
              "Invalid Access Token"), "GetUser with garbage: Invalid Access Token")
    forged = P.admin("forge", {"kind": "unknown_key", "token_use": "access",
                               "username": "u1"})["token"]
    ok(is_err(P.cognito("GetUser", {"AccessToken": forged}), "NotAuthorizedException"),
       "GetUser with a token signed by a foreign key is refused")
    r = P.cognito("InitiateAuth", {
        "AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
        "AuthParameters": {"REFRESH_TOKEN": tokens_u1["RefreshToken"]}})
    ar = (r.json or {}).get("AuthenticationResult", {})
    _, rc, _ = jwt_parts(ar["IdToken"]) if ar else ({}, {}, "")
    ok(r.status == 200 and "RefreshToken" not in ar and rc.get("auth_time") == idc["auth_time"]
       and rc.get("origin_jti") == idc["origin_jti"],
       "REFRESH_TOKEN_AUTH: new ID/access tokens, no new refresh token, same auth_time", r)
    ok(is_err(P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                                         "AuthParameters": {"REFRESH_TOKEN": "bogus"}}),
              "NotAuthorizedException", "Invalid Refresh Token"), "bogus refresh token refused")
    r = P.cognito("ChangePassword", {"AccessToken": at, "PreviousPassword": "Wrong-passw0rd",
                                     "ProposedPassword": "Passw0rd-new1"})
    ok(is_err(r, "NotAuthorizedException"), "ChangePassword with a wrong old password", r)
    r = P.cognito("ChangePassword", {"AccessToken": at, "PreviousPassword": PW,
                                     "ProposedPassword": "short1"})
    ok(is_err(r, "InvalidPasswordException",
              "Password does not conform to policy: Password not long enough"),
       "ChangePassword to a short password: InvalidPasswordException", r)
    ok(is_err(P.cognito("ChangePassword", {"AccessToken": at, "PreviousPassword": PW,
                                           "ProposedPassword": "longbutnodigits"}),
              "InvalidPasswordException"), "password without a digit violates the policy")
    r = P.cognito("ChangePassword", {"AccessToken": at, "PreviousPassword": PW,
                                     "ProposedPassword": "Passw0rd-new1"})
    ok(r.status == 200 and r.json == {} and P.srp_login("u1", "Passw0rd-new1").status == 200,
       "ChangePassword, then SRP with the new password", r)
    r = P.cognito("RevokeToken", {"Token": tokens_u1["RefreshToken"], "ClientId": CLIENT})
    ok(r.status == 200, "RevokeToken", r)
    ok(is_err(P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                                         "AuthParameters": {"REFRESH_TOKEN":
                                                            tokens_u1["RefreshToken"]}}),
              "NotAuthorizedException", "Refresh Token has been revoked"),
       "revoked refresh token: 'Refresh Token has been revoked'")
    ok(is_err(P.cognito("GetUser", {"AccessToken": at}), "NotAuthorizedException",
              "Access Token has been revoked"), "RevokeToken also revokes its access tokens")
    t1 = P.pw_login("u1", "Passw0rd-new1").json["AuthenticationResult"]
    t2 = P.srp_login("u1", "Passw0rd-new1").json["AuthenticationResult"]
    r = P.cognito("GlobalSignOut", {"AccessToken": t1["AccessToken"]})
    ok(r.status == 200 and r.json == {}, "GlobalSignOut", r)
    ok(is_err(P.cognito("GetUser", {"AccessToken": t2["AccessToken"]}), "NotAuthorizedException",
              "Access Token has been revoked") and
       is_err(P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                                         "AuthParameters": {"REFRESH_TOKEN":
                                                            t2["RefreshToken"]}}),
              "NotAuthorizedException"), "GlobalSignOut revokes every session of the user")
    t3 = P.pw_login("u1", "Passw0rd-new1").json["AuthenticationResult"]
    ok(P.cognito("GetUser", {"AccessToken": t3["AccessToken"]}).status == 200,
       "sign-in after GlobalSignOut works")
    # AdminDeleteUser: the user's refresh tokens go with the user, from
    # the state file too (the pool rewrites that file on every change)
    P.admin("create_user", {"username": "gone", "password": PW})
    rt = P.pw_login("gone", PW).json["AuthenticationResult"]["RefreshToken"]
    rt_key = hashlib.sha256(rt.encode()).hexdigest()
    with open(os.path.join(state, "pool.json")) as f:
        before = rt_key in json.load(f)["refresh"]
    P.admin("delete_user", {"username": "gone"})
    with open(os.path.join(state, "pool.json")) as f:
        st = json.load(f)
    ok(before and rt_key not in st["refresh"] and "gone" not in st["users"] and
       all(r.get("username") != "gone" for r in st["refresh"].values()) and
       is_err(P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                                         "AuthParameters": {"REFRESH_TOKEN": rt}}),
              "NotAuthorizedException"),
       "delete_user drops the user's refresh tokens (state file and REFRESH_TOKEN_AUTH)")
    P.admin("set_clock_offset", {"seconds": 3700})
    ok(is_err(P.cognito("GetUser", {"AccessToken": t3["AccessToken"]}), "NotAuthorizedException",
              "Access Token has expired"), "expired access token: 'Access Token has expired'")
    P.admin("set_clock_offset", {"seconds": 0})
    P.admin("disable_user", {"username": "u1"})
    ok(is_err(P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                                         "AuthParameters": {"REFRESH_TOKEN":
                                                            t3["RefreshToken"]}}),
              "NotAuthorizedException", "User is disabled."), "refresh of a disabled user")
    P.admin("enable_user", {"username": "u1"})

    # ---- SECRET_HASH ------------------------------------------------------------------
    SC, SS = "secretclient0000000000001", "s3cr3t-value-for-tests"
    P.admin("set_client", {"client_id": SC, "secret": SS})
    sh = secret_hash(SS, "u1", SC)
    ok(is_err(P.pw_login("u1", "Passw0rd-new1", client=SC), "NotAuthorizedException",
              "Client %s is configured for secret but secret was not received" % SC),
       "client with a secret: missing SECRET_HASH refused")
    ok(is_err(P.pw_login("u1", "Passw0rd-new1", client=SC, shash=secret_hash("x", "u1", SC)),
              "NotAuthorizedException", "Unable to verify secret hash for client %s" % SC),
       "client with a secret: wrong SECRET_HASH refused")
    r = P.pw_login("u1", "Passw0rd-new1", client=SC, shash=sh)
    ok(r.status == 200, "USER_PASSWORD_AUTH with SECRET_HASH", r)
    r = P.srp_login("u1", "Passw0rd-new1", client=SC, shash=sh)
    ok(r.status == 200 and "AuthenticationResult" in r.json, "SRP with SECRET_HASH", r)
    c, r0 = P.srp_start("u1", SC, sh)
    resp = c.respond(r0.json["ChallengeParameters"], "Passw0rd-new1")
    r = P.cognito("RespondToAuthChallenge", {"ChallengeName": "PASSWORD_VERIFIER",
                                             "ClientId": SC, "ChallengeResponses": resp})
    ok(is_err(r, "NotAuthorizedException"), "PASSWORD_VERIFIER without SECRET_HASH refused", r)
    rt = P.pw_login("u1", "Passw0rd-new1", client=SC, shash=sh).json["AuthenticationResult"][
        "RefreshToken"]
    r = P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": SC,
                                   "AuthParameters": {"REFRESH_TOKEN": rt}})
    ok(is_err(r, "NotAuthorizedException"), "REFRESH_TOKEN_AUTH without SECRET_HASH refused", r)
    r = P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": SC,
                                   "AuthParameters": {"REFRESH_TOKEN": rt, "SECRET_HASH": sh}})
    ok(r.status == 200, "REFRESH_TOKEN_AUTH with SECRET_HASH", r)
    r = P.cognito("InitiateAuth", {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": CLIENT,
                                   "AuthParameters": {"REFRESH_TOKEN": rt}})
    ok(is_err(r, "NotAuthorizedException"), "a refresh token is bound to its client", r)
    ok(is_err(P.cognito("RevokeToken", {"Token": rt, "ClientId": SC}), "NotAuthorizedException"),
       "RevokeToken for a secret client needs ClientSecret")
    ok(P.cognito("RevokeToken", {"Token": rt, "ClientId": SC, "ClientSecret": SS}).status == 200,
       "RevokeToken with ClientSecret")

    # ---- MFA: SOFTWARE_TOKEN_MFA, replay, window ------------------------------------------
    P.admin("set_pool_mfa", {"mfa": "ON"})
    secrets_by_user = {}
    for name in ("m1", "m2", "m3", "m4", "m5"):
        P.admin("create_user", {"username": name, "password": PW})
        secrets_by_user[name] = P.admin("enable_totp", {"username": name})["secret"]
    ok(all(len(s) == 32 for s in secrets_by_user.values()), "enable_totp: 32-char base32 secret")
    ok(P.admin("get_totp_secret", {"username": "m1"})["secret"] == secrets_by_user["m1"],
       "get_totp_secret returns the current secret")
    r = P.srp_login("m1", PW)
    ok(r.status == 200 and r.json.get("ChallengeName") == "SOFTWARE_TOKEN_MFA" and
       r.json.get("Session") and "AuthenticationResult" not in r.json,
       "SRP with TOTP enrolled: SOFTWARE_TOKEN_MFA challenge with a Session", r)
    wait_step_margin()
    code = totp(secrets_by_user["m1"])
    r2 = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m1", "SOFTWARE_TOKEN_MFA_CODE": code})
    ok(r2.status == 200 and "AuthenticationResult" in r2.json, "correct TOTP code: tokens", r2)
    r3 = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m1", "SOFTWARE_TOKEN_MFA_CODE": code})
    ok(is_err(r3, "NotAuthorizedException",
              "Invalid session for the user, session can only be used once."),
       "a session is single use", r3)
    r = P.pw_login("m1", PW)
    r4 = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m1", "SOFTWARE_TOKEN_MFA_CODE": code})
    ok(is_err(r4, "ExpiredCodeException"), "the same code twice: ExpiredCodeException", r4)
    wrong = "000000" if code != "000000" else "111111"
    r5 = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m1", "SOFTWARE_TOKEN_MFA_CODE": wrong})
    ok(is_err(r5, "CodeMismatchException", "Invalid code received for user"),
       "wrong code: CodeMismatchException", r5)
    r6 = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m1", "SOFTWARE_TOKEN_MFA_CODE": "12345"})
    ok(is_err(r6, "CodeMismatchException"), "5-digit code: CodeMismatchException", r6)
    r7 = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m1", "SOFTWARE_TOKEN_MFA_CODE":
                                            totp(secrets_by_user["m1"], offset=1)})
    ok(is_err(r7, "NotAuthorizedException"),
       "after %d wrong codes the session is gone" % 3, r7)
    wait_step_margin()
    for name, off, good in (("m2", -1, True), ("m3", 1, True), ("m4", 2, False),
                            ("m5", -2, False)):
        r = P.pw_login(name, PW)
        ra = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": name, "SOFTWARE_TOKEN_MFA_CODE":
                                                totp(secrets_by_user[name], offset=off)})
        if good:
            ok(ra.status == 200, "code of step %+d accepted" % off, ra)
        else:
            ok(is_err(ra, "CodeMismatchException"), "code of step %+d refused" % off, ra)
    r = P.pw_login("m3", PW)
    ra = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m3", "SOFTWARE_TOKEN_MFA_CODE":
                                            totp(secrets_by_user["m3"])})
    ok(is_err(ra, "ExpiredCodeException"), "a code older than the last used one is refused", ra)
    r = P.pw_login("m2", PW)
    ra = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "other", "SOFTWARE_TOKEN_MFA_CODE":
                                            totp(secrets_by_user["m2"])})
    ok(is_err(ra, "NotAuthorizedException"), "USERNAME must match the session", ra)
    ra = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m2", "SOFTWARE_TOKEN_MFA_CODE":
                                            totp(secrets_by_user["m2"])})
    ok(ra.status == 200, "same session then succeeds with the right user and code", ra)
    r = P.cognito("GetUser", {"AccessToken": ra.json["AuthenticationResult"]["AccessToken"]})
    ok(r.json.get("PreferredMfaSetting") == "SOFTWARE_TOKEN_MFA" and
       r.json.get("UserMFASettingList") == ["SOFTWARE_TOKEN_MFA"], "GetUser shows TOTP MFA", r)

    # session expiry
    P.admin("set_session_ttl", {"seconds": 1})
    r = P.pw_login("m4", PW)
    time.sleep(1.5)
    ra = P.answer(r, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m4", "SOFTWARE_TOKEN_MFA_CODE":
                                            totp(secrets_by_user["m4"])})
    ok(is_err(ra, "NotAuthorizedException", "Invalid session for the user, session is expired."),
       "session expiry: 'Invalid session for the user, session is expired.'", ra)
    P.admin("set_session_ttl", {"seconds": 180})
    ok(is_err(P.cognito("RespondToAuthChallenge", {
        "ChallengeName": "SOFTWARE_TOKEN_MFA", "ClientId": CLIENT, "Session": "made-up",
        "ChallengeResponses": {"USERNAME": "m4", "SOFTWARE_TOKEN_MFA_CODE": "123456"}}),
        "NotAuthorizedException"), "unknown session refused")

    # SELECT_MFA_TYPE
    P.admin("set_select_mfa", {"username": "m5", "enabled": True})
    r = P.srp_login("m5", PW)
    ok(r.json.get("ChallengeName") == "SELECT_MFA_TYPE" and
       r.json["ChallengeParameters"].get("MFAS_CAN_CHOOSE") == '["SMS_MFA","SOFTWARE_TOKEN_MFA"]',
       "SELECT_MFA_TYPE challenge", r)
    rb = P.answer(r, "SELECT_MFA_TYPE", {"USERNAME": "m5", "ANSWER": "SMS_MFA"})
    ok(is_err(rb, "MFAMethodNotFoundException"),
       "SELECT_MFA_TYPE answer SMS_MFA for a user without a phone: MFAMethodNotFoundException", rb)
    rb = P.answer(r, "SELECT_MFA_TYPE", {"USERNAME": "m5", "ANSWER": "EMAIL_OTP"})
    ok(is_err(rb, "InvalidParameterException"), "SELECT_MFA_TYPE answer not offered refused", rb)
    r2 = P.answer(r, "SELECT_MFA_TYPE", {"USERNAME": "m5", "ANSWER": "SOFTWARE_TOKEN_MFA"})
    ok(r2.json.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", "then SOFTWARE_TOKEN_MFA", r2)
    wait_step_margin()
    r3 = P.answer(r2, "SOFTWARE_TOKEN_MFA", {"USERNAME": "m5", "SOFTWARE_TOKEN_MFA_CODE":
                                             totp(secrets_by_user["m5"])})
    ok(r3.status == 200 and "AuthenticationResult" in r3.json, "and tokens", r3)

    # CUSTOM_AUTH: SRP first, then CUSTOM_CHALLENGE rounds (issue 20)
    P.admin("create_user", {"username": "cu1", "password": PW})
    P.admin("set_custom_auth", {"custom_auth": {"rounds": [
        {"public": {"question": "Q1?"}, "answer": "a1"}], "max_wrong": 2}})
    c = SrpClient()
    r = P.cognito("InitiateAuth", {"AuthFlow": "CUSTOM_AUTH", "ClientId": CLIENT,
                                   "AuthParameters": {"USERNAME": "cu1", "SRP_A": "%x" % c.A,
                                                      "CHALLENGE_NAME": "SRP_A"}})
    ok(r.json.get("ChallengeName") == "PASSWORD_VERIFIER",
       "CUSTOM_AUTH with CHALLENGE_NAME=SRP_A: PASSWORD_VERIFIER", r)
    r = P.cognito("RespondToAuthChallenge", {
        "ChallengeName": "PASSWORD_VERIFIER", "ClientId": CLIENT,
        "ChallengeResponses": c.respond(r.json["ChallengeParameters"], PW)})
    cp = r.json.get("ChallengeParameters") or {}
    ok(r.json.get("ChallengeName") == "CUSTOM_CHALLENGE" and cp.get("question") == "Q1?" and
       cp.get("USERNAME") == "cu1" and r.json.get("Session"),
       "then CUSTOM_CHALLENGE with the round's public parameters, USERNAME and a Session", r)
    rw = P.answer(r, "CUSTOM_CHALLENGE", {"USERNAME": "cu1", "ANSWER": "nope"})
    ok(rw.json.get("ChallengeName") == "CUSTOM_CHALLENGE" and rw.json["Session"] != r.json["Session"],
       "a wrong ANSWER: the round again with a new Session", rw)
    ok(is_err(P.answer(r, "CUSTOM_CHALLENGE", {"USERNAME": "cu1", "ANSWER": "a1"}),
              "NotAuthorizedException"), "a CUSTOM_CHALLENGE Session is single use")
    rr = P.answer(rw, "CUSTOM_CHALLENGE", {"USERNAME": "cu1", "ANSWER": "a1"})
    ok(rr.status == 200 and "AuthenticationResult" in rr.json, "the right ANSWER: tokens", rr)
    r = P.cognito("InitiateAuth", {"AuthFlow": "CUSTOM_AUTH", "ClientId": CLIENT,
                                   "AuthParameters": {"USERNAME": "cu1", "SRP_A": "%x" % c.A}})
    ok(is_err(r, "NotAuthorizedException"), "CUSTOM_AUTH without CHALLENGE_NAME=SRP_A: refused", r)
    P.admin("set_custom_auth", {"custom_auth": None})

    # USER_AUTH: needs ALLOW_USER_AUTH; PREFERRED_CHALLENGE / SELECT_CHALLENGE
    r = P.cognito("InitiateAuth", {"AuthFlow": "USER_AUTH", "ClientId": CLIENT,
                                   "AuthParameters": {"USERNAME": "cu1"}})
    ok(is_err(r, "InvalidParameterException", "Auth flow not enabled for this client"),
       "USER_AUTH on a client without ALLOW_USER_AUTH: refused", r)
    P.admin("set_client", {"client_id": "uaclient", "auth_flows": [
        "ALLOW_USER_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH"]})
    c = SrpClient()
    r = P.cognito("InitiateAuth", {"AuthFlow": "USER_AUTH", "ClientId": "uaclient",
                                   "AuthParameters": {"USERNAME": "cu1"}})
    ok(r.json.get("ChallengeName") == "SELECT_CHALLENGE" and
       r.json.get("AvailableChallenges") == ["PASSWORD_SRP", "PASSWORD"] and r.json.get("Session"),
       "USER_AUTH without PREFERRED_CHALLENGE: SELECT_CHALLENGE, AvailableChallenges at the top",
       r)
    r2 = P.answer(r, "SELECT_CHALLENGE", {"USERNAME": "cu1", "ANSWER": "PASSWORD_SRP",
                                          "SRP_A": "%x" % c.A}, client="uaclient")
    ok(r2.json.get("ChallengeName") == "PASSWORD_VERIFIER", "ANSWER=PASSWORD_SRP + SRP_A: "
       "PASSWORD_VERIFIER", r2)
    r3 = P.cognito("RespondToAuthChallenge", {
        "ChallengeName": "PASSWORD_VERIFIER", "ClientId": "uaclient",
        "ChallengeResponses": c.respond(r2.json["ChallengeParameters"], PW)})
    ok(r3.status == 200 and r3.json.get("ChallengeName") == "MFA_SETUP",
       "then the MFA steps (MFA_SETUP for a user without a factor)", r3)
    r = P.cognito("InitiateAuth", {"AuthFlow": "USER_AUTH", "ClientId": "uaclient",
                                   "AuthParameters": {"USERNAME": "cu1", "PREFERRED_CHALLENGE":
                                                      "PASSWORD", "PASSWORD": "wrong-" + PW}})
    ok(is_err(r, "NotAuthorizedException"), "PREFERRED_CHALLENGE=PASSWORD, wrong password", r)
    r = P.cognito("InitiateAuth", {"AuthFlow": "USER_AUTH", "ClientId": "uaclient",
                                   "UserContextData": {"IpAddress": "192.0.2.7"},
                                   "AuthParameters": {"USERNAME": "cu1", "PREFERRED_CHALLENGE":
                                                      "PASSWORD_SRP", "SRP_A": "%x" % c.A}})
    ok(r.json.get("ChallengeName") == "PASSWORD_VERIFIER",
       "PREFERRED_CHALLENGE=PASSWORD_SRP: PASSWORD_VERIFIER at once", r)
    ok(P.admin("contexts")["contexts"].get("cu1") == {"IpAddress": "192.0.2.7"},
       "UserContextData is kept per user")
    r = P.cognito("InitiateAuth", {"AuthFlow": "USER_AUTH", "ClientId": "uaclient",
                                   "UserContextData": {"IpAddress": 7},
                                   "AuthParameters": {"USERNAME": "cu1"}})
    ok(is_err(r, "SerializationException"), "a malformed UserContextData: SerializationException",
       r)
    P.admin("set_client", {"client_id": "uaclient", "delete": True})

    # NEW_PASSWORD_REQUIRED
    P.admin("create_user", {"username": "np", "password": "Temp0rary-pw",
                            "status": "FORCE_CHANGE_PASSWORD", "email": "np@example.org"})
    r = P.srp_login("np", "Temp0rary-pw")
    cp = (r.json or {}).get("ChallengeParameters", {})
    ok(r.json.get("ChallengeName") == "NEW_PASSWORD_REQUIRED" and
       json.loads(cp.get("userAttributes", "null")) == {"email_verified": "true",
                                                       "email": "np@example.org"} and
       json.loads(cp.get("requiredAttributes", "null")) == [],
       "FORCE_CHANGE_PASSWORD: NEW_PASSWORD_REQUIRED with JSON-string attributes", r)
    rb = P.answer(r, "NEW_PASSWORD_REQUIRED", {"USERNAME": "np", "NEW_PASSWORD": "short"})
    ok(is_err(rb, "InvalidPasswordException"), "weak NEW_PASSWORD: InvalidPasswordException", rb)
    r2 = P.answer(r, "NEW_PASSWORD_REQUIRED", {"USERNAME": "np", "NEW_PASSWORD": "Passw0rd-np"})
    ok(r2.json.get("ChallengeName") == "MFA_SETUP" and
       r2.json["ChallengeParameters"] == {"MFAS_CAN_SETUP": '["SOFTWARE_TOKEN_MFA"]'},
       "after the new password: MFA_SETUP (pool MFA on, no TOTP)", r2)

    # MFA_SETUP
    rs = P.answer(r2, "MFA_SETUP", {"USERNAME": "np"})
    ok(is_err(rs, "InvalidParameterException"), "MFA_SETUP before verification is refused", rs)
    r3 = P.cognito("AssociateSoftwareToken", {"Session": r2.json["Session"]})
    sec = (r3.json or {}).get("SecretCode", "")
    ok(r3.status == 200 and len(sec) == 32 and r3.json.get("Session") and
       r3.json["Session"] != r2.json["Session"], "AssociateSoftwareToken with Session", r3)
    ok(is_err(P.cognito("AssociateSoftwareToken", {"Session": r2.json["Session"]}),
              "NotAuthorizedException"), "the MFA_SETUP session is consumed by Associate")
    wait_step_margin()
    rv = P.cognito("VerifySoftwareToken", {"Session": r3.json["Session"], "UserCode":
                                           totp(sec, offset=3), "FriendlyDeviceName": "phone"})
    ok(is_err(rv, "EnableSoftwareTokenMFAException"),
       "VerifySoftwareToken wrong code: EnableSoftwareTokenMFAException", rv)
    rv = P.cognito("VerifySoftwareToken", {"Session": r3.json["Session"], "UserCode": totp(sec),
                                           "FriendlyDeviceName": "phone"})
    ok(rv.status == 200 and rv.json.get("Status") == "SUCCESS" and rv.json.get("Session"),
       "VerifySoftwareToken with Session: SUCCESS and a new Session", rv)
    r4 = P.cognito("RespondToAuthChallenge", {"ChallengeName": "MFA_SETUP", "ClientId": CLIENT,
                                              "Session": rv.json["Session"],
                                              "ChallengeResponses": {"USERNAME": "np"}})
    ok(r4.status == 200 and "AuthenticationResult" in r4.json,
       "RespondToAuthChallenge MFA_SETUP: tokens", r4)
    ok(P.admin("get_totp_secret", {"username": "np"})["secret"] == sec,
       "the enrolled secret is the user's TOTP secret now")
    r = P.pw_login("np", "Passw0rd-np")
    ok(r.json.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", "next sign-in asks for the code", r)

    # AssociateSoftwareToken / VerifySoftwareToken / SetUserMFAPreference with an access token
    P.admin("set_pool_mfa", {"mfa": "OPTIONAL"})
    P.admin("create_user", {"username": "opt", "password": PW})
    r = P.pw_login("opt", PW)
    ok("AuthenticationResult" in r.json, "pool MFA OPTIONAL: a user without TOTP gets tokens", r)
    at = r.json["AuthenticationResult"]["AccessToken"]
    ok(is_err(P.cognito("SetUserMFAPreference", {"AccessToken": at, "SoftwareTokenMfaSettings":
                                                 {"Enabled": True, "PreferredMfa": True}}),
              "InvalidParameterException"), "SetUserMFAPreference before a verified token")
    r = P.cognito("AssociateSoftwareToken", {"AccessToken": at})
    sec = r.json.get("SecretCode", "")
    ok(r.status == 200 and len(sec) == 32 and "Session" not in r.json,
       "AssociateSoftwareToken with AccessToken", r)
    ok(P.admin("get_totp_secret", {"username": "opt"})["pending"] == sec,
       "get_totp_secret shows the pending secret")
    rv = P.cognito("VerifySoftwareToken", {"AccessToken": at, "UserCode": "000000"
                                           if totp(sec) != "000000" else "111111"})
    ok(is_err(rv, "EnableSoftwareTokenMFAException"), "VerifySoftwareToken (token) wrong code", rv)
    wait_step_margin()
    rv = P.cognito("VerifySoftwareToken", {"AccessToken": at, "UserCode": totp(sec)})
    ok(rv.status == 200 and rv.json == {"Status": "SUCCESS"},
       "VerifySoftwareToken with AccessToken", rv)
    r = P.pw_login("opt", PW)
    ok("AuthenticationResult" in r.json, "OPTIONAL: verified but not enabled: no challenge", r)
    r = P.cognito("SetUserMFAPreference", {"AccessToken": at, "SoftwareTokenMfaSettings":
                                           {"Enabled": True, "PreferredMfa": True}})
    ok(r.status == 200 and r.json == {}, "SetUserMFAPreference", r)
    r = P.pw_login("opt", PW)
    ok(r.json.get("ChallengeName") == "SOFTWARE_TOKEN_MFA", "OPTIONAL + enabled: challenge", r)
    P.admin("disable_totp", {"username": "opt"})
    r = P.pw_login("opt", PW)
    ok("AuthenticationResult" in r.json, "disable_totp: no challenge any more", r)
    P.admin("set_pool_mfa", {"mfa": "ON"})
    r = P.pw_login("opt", PW)
    ok(r.json.get("ChallengeName") == "MFA_SETUP", "MFA ON, no TOTP: MFA_SETUP", r)
    P.admin("require_new_password", {"username": "opt"})
    r = P.pw_login("opt", PW)
    ok(r.json.get("ChallengeName") == "NEW_PASSWORD_REQUIRED", "require_new_password", r)
    P.admin("set_pool_mfa", {"mfa": "OFF"})

    # ---- key rotation -------------------------------------------------------------------
    old_kids = [k["kid"] for k in P.get("/%s/.well-known/jwks.json" % POOL_ID).json["keys"]]
    rot = P.admin("rotate_keys")
    new_jwks = P.get("/%s/.well-known/jwks.json" % POOL_ID).json
    kids = [k["kid"] for k in new_jwks["keys"]]
    ok(kids[0] == rot["kid"] and kids[1:] == old_kids and rot["kid"] not in old_kids,
       "rotate_keys: a new signing key, old keys kept in the JWKS", kids)
    r = P.pw_login("u1", "Passw0rd-new1")
    h, _, _ = jwt_parts(r.json["AuthenticationResult"]["IdToken"])
    ok(h["kid"] == rot["kid"] and rs256_verify(r.json["AuthenticationResult"]["IdToken"],
                                               new_jwks), "new tokens are signed by the new key")
    P.admin("drop_old_keys")
    ok([k["kid"] for k in P.get("/%s/.well-known/jwks.json" % POOL_ID).json["keys"]] ==
       [rot["kid"]], "drop_old_keys leaves only the signer")
    P.admin("rotate_keys")

    # ---- forged tokens ------------------------------------------------------------------
    cur = P.get("/%s/.well-known/jwks.json" % POOL_ID).json
    checks = {
        "valid": lambda h, c, t: rs256_verify(t, cur),
        "none": lambda h, c, t: h["alg"] == "none" and t.endswith("."),
        "hs256": lambda h, c, t: h["alg"] == "HS256",
        "wrong_kid": lambda h, c, t: h["kid"] not in [k["kid"] for k in cur["keys"]],
        "unknown_key": lambda h, c, t: not rs256_verify(t, cur),
        "bad_sig": lambda h, c, t: h["kid"] == cur["keys"][0]["kid"] and not rs256_verify(t, cur),
        "wrong_iss": lambda h, c, t: c["iss"] != issuer and rs256_verify(t, cur),
        "wrong_aud": lambda h, c, t: c["aud"] != CLIENT and rs256_verify(t, cur),
        "wrong_token_use": lambda h, c, t: c["token_use"] == "access" and rs256_verify(t, cur),
        "expired": lambda h, c, t: c["exp"] < time.time() and rs256_verify(t, cur),
        "no_exp": lambda h, c, t: "exp" not in c and rs256_verify(t, cur),
        "future_iat": lambda h, c, t: c["iat"] > time.time() + 600,
        "not_yet_valid": lambda h, c, t: c["nbf"] > time.time() + 600,
        "crit": lambda h, c, t: h.get("crit") == ["exp"] and rs256_verify(t, cur),
        "jku": lambda h, c, t: "jku" in h,
        "x5u": lambda h, c, t: "x5u" in h,
        "embedded_jwk": lambda h, c, t: h.get("jwk", {}).get("kid") == h["kid"],
        "wrong_username": lambda h, c, t: c["cognito:username"] == "u1-other",
        "ps256_header": lambda h, c, t: h["alg"] == "PS256",
    }
    for kind, check in checks.items():
        tok = P.admin("forge", {"kind": kind, "username": "u1"})["token"]
        h, c, _ = jwt_parts(tok)
        ok(check(h, c, tok), "forge %s" % kind, (h, c))
    tok = P.admin("forge", {"kind": "valid", "username": "u1", "claims": {"aud": "x", "exp": None},
                            "header": {"typ": "JWT"}})["token"]
    h, c, _ = jwt_parts(tok)
    ok(c["aud"] == "x" and "exp" not in c and h.get("typ") == "JWT" and
       rs256_verify(tok, cur), "forge with claim and header overrides")
    tok = P.admin("forge", {"kind": "wrong_aud", "token_use": "access", "username": "u1"})["token"]
    ok(jwt_parts(tok)[1]["client_id"] != CLIENT, "forge wrong_aud on an access token")
    tok = P.admin("forge", {"kind": "expired", "provider": "oidc", "username": "u1"})["token"]
    ok(jwt_parts(tok)[1]["iss"] == url.rstrip("/") + "/oidc" and
       jwt_parts(tok)[1]["exp"] < time.time(), "forge for the OIDC issuer")

    # ---- faults ---------------------------------------------------------------------------
    def fault(**kw):
        return P.admin("fault", kw)["id"]

    # set_delay (issue 21): a simulated round trip on every request but the
    # admin calls; refused out of range
    for bad in (-1, 10001, "40", True, None):
        r = P.request("POST", "/admin/set_delay", json.dumps({"ms": bad}).encode(),
                      {"Content-Type": "application/json"})
        ok(r.status != 200, "set_delay %r refused" % (bad,), r)
    P.admin("set_delay", {"ms": 300})
    r = P.pw_login("u1", "Passw0rd-new1")
    t0 = time.monotonic()
    P.admin("stats")
    admin_s = time.monotonic() - t0
    ok(r.status == 200 and r.elapsed >= 0.3, "set_delay holds every request (%.2f s)"
       % r.elapsed, r)
    P.admin("set_delay", {"ms": 0})
    r2 = P.pw_login("u1", "Passw0rd-new1")
    ok(r2.status == 200 and admin_s < r.elapsed and r2.elapsed < r.elapsed,
       "set_delay 0 ends it; admin calls are not held (%.2f / %.2f s)" % (admin_s, r2.elapsed))

    P.admin("clear_faults")
    fault(match="InitiateAuth", action="delay", seconds=1.0, count=1)
    r = P.pw_login("u1", "Passw0rd-new1")
    ok(r.status == 200 and r.elapsed >= 1.0, "fault delay (%.2f s)" % r.elapsed, r)
    r = P.pw_login("u1", "Passw0rd-new1")
    ok(r.elapsed < 1.0, "fault count=1 applies once")
    fault(match="GetUser", action="hang", seconds=1.5, count=1)
    t0 = time.monotonic()
    try:
        r = P.cognito("GetUser", {"AccessToken": "x"}, timeout=10)
        ok(False, "fault hang: no response, connection closed after the hang", r)
    except (http.client.RemoteDisconnected, ConnectionError, ssl.SSLError) as e:
        ok(time.monotonic() - t0 >= 1.4, "fault hang: no response, connection closed after the "
           "hang (%.2f s)" % (time.monotonic() - t0), e)
    fault(match="GetUser", action="hang", seconds=30, count=1)
    try:
        P.cognito("GetUser", {"AccessToken": "x"}, timeout=1)
        ok(False, "fault hang: a client timeout fires")
    except (socket.timeout, TimeoutError):
        ok(True, "fault hang: a client timeout fires")
    except Exception as e:
        ok(False, "fault hang: a client timeout fires", repr(e))
    fault(match="jwks.json", action="drip", interval_ms=3, count=1)
    r = P.get("/%s/.well-known/jwks.json" % POOL_ID)
    ok(r.status == 200 and r.json and len(r.json["keys"]) >= 2 and r.elapsed > 1.0,
       "fault drip: full response, slowly (%.2f s)" % r.elapsed, r)
    for code, typ in ((500, "InternalErrorException"), (503, "InternalErrorException"),
                      (429, "TooManyRequestsException")):
        fault(match="InitiateAuth", action="status", code=code, count=1)
        r = P.pw_login("u1", "Passw0rd-new1")
        ok(r.status == code and r.json.get("__type") == typ and
           r.headers.get("x-amzn-errortype") == typ + ":", "fault status %d" % code, r)
    fault(match="InitiateAuth", action="status", code=400, type="LimitExceededException",
          message="Attempt limit exceeded, please try after some time.", count=1)
    r = P.pw_login("u1", "Passw0rd-new1")
    ok(is_err(r, "LimitExceededException"), "fault status with a chosen __type", r)
    fault(match="InitiateAuth", action="drop", count=1)
    try:
        r = P.pw_login("u1", "Passw0rd-new1")
        ok(False, "fault drop: connection closed without a response", r)
    except (http.client.RemoteDisconnected, ConnectionError, ssl.SSLError) as e:
        ok(True, "fault drop: connection closed without a response")
    fault(match="InitiateAuth", action="truncate", count=1)
    try:
        r = P.pw_login("u1", "Passw0rd-new1")
        ok(False, "fault truncate: short body", r)
    except http.client.IncompleteRead as e:
        ok(len(e.partial) > 0, "fault truncate: short body (%d bytes)" % len(e.partial))
    fault(match="InitiateAuth", action="nonjson", count=1)
    r = P.pw_login("u1", "Passw0rd-new1")
    ok(r.status == 200 and r.json is None and r.headers["content-type"] == "text/html",
       "fault nonjson: 200 with an HTML body", r)
    fault(match="openid-configuration", action="redirect", location="https://example.invalid/x",
          count=1)
    r = P.get("/%s/.well-known/openid-configuration" % POOL_ID)
    ok(r.status == 302 and r.headers.get("location") == "https://example.invalid/x",
       "fault redirect: 302 with Location", r)
    fault(match="InitiateAuth", action="forge", kind="none", count=1)
    r = P.pw_login("u1", "Passw0rd-new1")
    h, _, _ = jwt_parts(r.json["AuthenticationResult"]["IdToken"])
    ok(h["alg"] == "none" and rs256_verify(r.json["AuthenticationResult"]["AccessToken"], cur),
       "fault forge: the IdToken of the result is replaced", h)
    fault(match="RespondToAuthChallenge", action="forge", kind="wrong_iss", count=1)
    r = P.srp_login("u1", "Passw0rd-new1")
    ok(jwt_parts(r.json["AuthenticationResult"]["IdToken"])[1]["iss"] != issuer,
       "fault forge on RespondToAuthChallenge")
    fault(match=r"^POST / .*\.InitiateAuth$", regex=True, action="status", code=503, count=2)
    codes = [P.pw_login("u1", "Passw0rd-new1").status for _ in range(3)]
    ok(codes == [503, 503, 200], "regex fault with count=2", codes)
    fid = fault(match="GetUser", action="status", code=500)
    fault(match="ChangePassword", action="status", code=500)
    P.admin("clear_faults", {"id": fid})
    ok(len(P.admin("faults")["faults"]) == 1, "clear_faults with an id removes one fault")
    P.admin("clear_faults")
    ok(P.admin("faults")["faults"] == [] and P.pw_login("u1", "Passw0rd-new1").status == 200,
       "clear_faults")
    fault(match="/admin/", action="drop")
    ok(P.admin("faults") is not None, "faults never apply to the admin interface")
    P.admin("clear_faults")
    fault(match="/oidc/token", action="status", code=503, count=1)
    r = P.form("/oidc/token", {"grant_type": "password"})
    ok(r.status == 503 and r.json.get("error") == "temporarily_unavailable",
       "fault status on OIDC endpoints uses an OAuth error body", r)

    # ---- stats -------------------------------------------------------------------------------
    P.admin("reset_stats")
    P.pw_login("u1", "Passw0rd-new1")
    P.get("/%s/.well-known/jwks.json" % POOL_ID)
    P.conn = None
    P.request("GET", "/%s/.well-known/jwks.json" % POOL_ID, keep=True)
    P.request("GET", "/%s/.well-known/jwks.json" % POOL_ID, keep=True)
    P.request("POST", "/", json.dumps({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": CLIENT,
                                       "AuthParameters": {"USERNAME": "u1",
                                                          "PASSWORD": "Passw0rd-new1"}}).encode(),
              {"X-Amz-Target": TARGET + "InitiateAuth",
               "Content-Type": "application/x-amz-json-1.1"}, keep=True)
    P.conn.close()
    P.conn = None
    st = P.admin("stats")
    ok(st["targets"].get("InitiateAuth") == 2 and
       st["paths"].get("/%s/.well-known/jwks.json" % POOL_ID) == 3 and
       st["requests"].get("POST / " + TARGET + "InitiateAuth") == 2,
       "stats count requests per target and path", st)
    ok(st["connections"] == 3, "stats count TCP connections (keep-alive reuses one)", st)

    # ---- OIDC ---------------------------------------------------------------------------------
    oiss = url.rstrip("/") + "/oidc"
    r = P.get("/oidc/.well-known/openid-configuration")
    d = r.json or {}
    ok(r.status == 200 and d.get("issuer") == oiss and
       all(d.get(k, "").startswith(oiss + "/") for k in
           ("token_endpoint", "device_authorization_endpoint", "jwks_uri", "userinfo_endpoint",
            "revocation_endpoint")) and
       d.get("token_endpoint_auth_methods_supported") == ["client_secret_basic",
                                                           "client_secret_post"] and
       "urn:ietf:params:oauth:grant-type:device_code" in d.get("grant_types_supported", []),
       "OIDC discovery", r)
    tok_path = urllib.parse.urlsplit(d["token_endpoint"]).path
    dev_path = urllib.parse.urlsplit(d["device_authorization_endpoint"]).path
    ui_path = urllib.parse.urlsplit(d["userinfo_endpoint"]).path
    rev_path = urllib.parse.urlsplit(d["revocation_endpoint"]).path
    ojwks = P.get(urllib.parse.urlsplit(d["jwks_uri"]).path).json
    ok(ojwks and len(ojwks["keys"]) >= 2, "OIDC JWKS")
    P.admin("create_user", {"username": "o1", "password": PW, "groups": ["ops"]})
    P.admin("create_user", {"username": "o2", "password": PW})
    osec = P.admin("enable_totp", {"username": "o2"})["secret"]
    base = {"grant_type": "password", "client_id": CLIENT, "scope": "openid profile"}
    r = P.form(tok_path, dict(base, username="o1", password=PW))
    tj = r.json or {}
    ok(r.status == 200 and {"access_token", "id_token", "refresh_token", "token_type",
                            "expires_in"} <= set(tj) and tj["token_type"] == "Bearer",
       "ROPC without TOTP", r)
    h, c, _ = jwt_parts(tj["id_token"])
    ok(c["iss"] == oiss and c["aud"] == CLIENT and c["preferred_username"] == "o1" and
       c["groups"] == ["ops"] and c["amr"] == ["pwd"] and {"sub", "exp", "iat", "auth_time"} <=
       set(c) and rs256_verify(tj["id_token"], ojwks), "OIDC ID token claims", c)
    ok(r.headers.get("cache-control") == "no-store", "token response: Cache-Control no-store")
    r = P.form(tok_path, dict(base, username="o1", password="Wrong-passw0rd"))
    ok(r.status == 400 and r.json.get("error") == "invalid_grant", "ROPC wrong password", r)
    r = P.form(tok_path, dict(base, username="ghost", password=PW))
    ok(r.status == 400 and r.json.get("error") == "invalid_grant", "ROPC unknown user", r)
    r = P.form(tok_path, dict(base, username="o1", password=PW, scope="profile"))
    ok(r.status == 400 and r.json.get("error") == "invalid_scope", "ROPC without openid", r)
    r = P.form(tok_path, dict(base, grant_type="authorization_code"))
    ok(r.status == 400 and r.json.get("error") == "unsupported_grant_type",
       "unsupported grant type", r)
    r = P.form(tok_path, dict(base, client_id="nope", username="o1", password=PW))
    ok(r.status == 401 and r.json.get("error") == "invalid_client", "unknown client: 401", r)
    r = P.request("POST", tok_path, b"grant_type=password", {"Content-Type": "application/json"})
    ok(r.status == 400 and r.json.get("error") == "invalid_request", "wrong content type", r)
    # TOTP in 'param' mode
    r = P.form(tok_path, dict(base, username="o2", password=PW))
    ok(r.status == 400 and r.json.get("error") == "invalid_grant",
       "ROPC for a TOTP user without a code", r)
    wait_step_margin()
    r = P.form(tok_path, dict(base, username="o2", password=PW, totp=totp(osec)))
    ok(r.status == 200 and jwt_parts(r.json["id_token"])[1]["amr"] == ["pwd", "otp"],
       "ROPC with totp parameter: amr pwd+otp", r)
    r = P.form(tok_path, dict(base, username="o2", password=PW, totp=totp(osec)))
    ok(r.status == 400 and r.json.get("error") == "invalid_grant", "ROPC code replay refused", r)
    P.admin("set_oidc", {"otp_param": "otp"})
    r = P.form(tok_path, dict(base, username="o2", password=PW, otp=totp(osec, offset=1)))
    ok(r.status == 200, "ROPC with a configured otp_param name", r)
    # 'append' mode
    P.admin("set_oidc", {"otp_mode": "append", "otp_param": "totp"})
    wait_step_margin()
    P.admin("enable_totp", {"username": "o2", "secret": osec})   # resets the used step
    r = P.form(tok_path, dict(base, username="o2", password=PW + totp(osec)))
    ok(r.status == 200 and jwt_parts(r.json["id_token"])[1]["amr"] == ["pwd", "otp"],
       "ROPC with the code appended to the password", r)
    r = P.form(tok_path, dict(base, username="o2", password=PW))
    ok(r.status == 400, "append mode without a code refused", r)
    r = P.form(tok_path, dict(base, username="o1", password=PW))
    ok(r.status == 200, "append mode, user without TOTP: plain password", r)
    P.admin("set_oidc", {"otp_mode": "none"})
    r = P.form(tok_path, dict(base, username="o2", password=PW))
    ok(r.status == 200 and jwt_parts(r.json["id_token"])[1]["amr"] == ["pwd"],
       "otp_mode none: password only", r)
    P.admin("set_oidc", {"otp_mode": "param"})
    # client authentication
    P.admin("set_oidc", {"client_secret": "oidc-s3cret"})
    r = P.form(tok_path, dict(base, username="o1", password=PW))
    ok(r.status == 401 and r.json.get("error") == "invalid_client",
       "confidential client without a secret: 401 invalid_client", r)
    b2 = dict(base)
    b2.pop("client_id")
    r = P.form(tok_path, dict(b2, username="o1", password=PW), auth=(CLIENT, "oidc-s3cret"))
    ok(r.status == 200, "client_secret_basic", r)
    r = P.form(tok_path, dict(b2, username="o1", password=PW), auth=(CLIENT, "wrong"))
    ok(r.status == 401 and "www-authenticate" in r.headers, "wrong basic secret: 401", r)
    r = P.form(tok_path, dict(base, username="o1", password=PW, client_secret="oidc-s3cret"))
    ok(r.status == 200, "client_secret_post", r)
    P.admin("set_oidc", {"client_secret": None})
    # aud array
    P.admin("set_oidc", {"aud_array": True})
    r = P.form(tok_path, dict(base, username="o1", password=PW))
    c = jwt_parts(r.json["id_token"])[1]
    ok(isinstance(c["aud"], list) and CLIENT in c["aud"] and c.get("azp") == CLIENT,
       "aud as an array, with azp", c)
    P.admin("set_oidc", {"aud_array": False})
    # refresh, userinfo, revocation
    r = P.form(tok_path, dict(base, username="o1", password=PW))
    t = r.json
    r = P.form(tok_path, {"grant_type": "refresh_token", "client_id": CLIENT,
                          "refresh_token": t["refresh_token"]})
    ok(r.status == 200 and r.json["id_token"] != t["id_token"], "OIDC refresh grant", r)
    r = P.get(ui_path, {"Authorization": "Bearer " + t["access_token"]})
    ok(r.status == 200 and r.json.get("preferred_username") == "o1" and
       r.json.get("sub") == jwt_parts(t["id_token"])[1]["sub"], "userinfo", r)
    r = P.get(ui_path, {"Authorization": "Bearer " + t["id_token"]})
    ok(r.status == 401, "userinfo refuses an ID token", r)
    r = P.form(rev_path, {"client_id": CLIENT, "token": t["refresh_token"]})
    ok(r.status == 200, "revocation endpoint", r)
    r = P.form(tok_path, {"grant_type": "refresh_token", "client_id": CLIENT,
                          "refresh_token": t["refresh_token"]})
    ok(r.status == 400 and r.json.get("error") == "invalid_grant", "revoked refresh refused", r)
    ok(P.get(ui_path, {"Authorization": "Bearer " + t["access_token"]}).status == 401,
       "revocation also ends the access token")
    ok(P.form(rev_path, {"client_id": CLIENT, "token": "unknown"}).status == 200,
       "revoking an unknown token is not an error (RFC 7009)")
    # device grant
    P.admin("set_oidc", {"device_interval": 1, "device_expires_in": 600})
    r = P.form(dev_path, {"client_id": CLIENT, "scope": "openid"})
    dv = r.json or {}
    ok(r.status == 200 and {"device_code", "user_code", "verification_uri",
                            "verification_uri_complete", "expires_in", "interval"} <= set(dv) and
       dv["verification_uri_complete"].endswith(dv["user_code"]), "device authorization", r)
    poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": CLIENT,
            "device_code": dv["device_code"]}
    r = P.form(tok_path, poll)
    ok(r.status == 400 and r.json.get("error") == "authorization_pending", "pending", r)
    r = P.form(tok_path, poll)
    ok(r.status == 400 and r.json.get("error") == "slow_down", "polling too fast: slow_down", r)
    ok(dv["user_code"] in P.admin("device_codes")["pending"], "admin lists pending user codes")
    P.admin("device_approve", {"user_code": dv["user_code"], "username": "o2"})
    time.sleep(6.2)   # the interval grew by 5 s after slow_down
    r = P.form(tok_path, poll)
    ok(r.status == 200 and jwt_parts(r.json["id_token"])[1]["preferred_username"] == "o2",
       "approved device code gives tokens", r)
    r = P.form(tok_path, poll)
    ok(r.status == 400 and r.json.get("error") == "invalid_grant", "a device code is single use",
       r)
    r = P.form(dev_path, {"client_id": CLIENT, "scope": "openid"})
    poll["device_code"] = r.json["device_code"]
    P.admin("device_deny", {"user_code": r.json["user_code"]})
    r = P.form(tok_path, poll)
    ok(r.status == 400 and r.json.get("error") == "access_denied", "denied: access_denied", r)
    P.admin("set_oidc", {"device_expires_in": 1})
    r = P.form(dev_path, {"client_id": CLIENT, "scope": "openid"})
    poll["device_code"] = r.json["device_code"]
    time.sleep(1.3)
    r = P.form(tok_path, poll)
    ok(r.status == 400 and r.json.get("error") == "expired_token", "expired: expired_token", r)
    P.admin("set_oidc", {"device_interval": 5, "device_expires_in": 600})
    try:
        P.admin("device_approve", {"user_code": "NOPE-NOPE", "username": "o1"})
        ok(False, "approving an unknown user code is an admin error")
    except RuntimeError:
        ok(True, "approving an unknown user code is an admin error")

    # ---- admin errors -------------------------------------------------------------------------
    r = P.request("POST", "/admin/no_such_op", b"{}")
    ok(r.status == 400 and "error" in r.json, "unknown admin op: 400", r)
    r = P.request("POST", "/admin/fault", b'{"action":"explode"}')
    ok(r.status == 400, "bad fault action: 400", r)


def main():
    def on_alarm(signum, frame):
        print("not ok %d - test run exceeded its time limit" % (_n + 1))
        print("1..%d" % (_n + 1))
        sys.stdout.flush()
        for p in PROCS:
            if p.poll() is None:
                p.kill()
        os._exit(1)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(300)
    tmp = tempfile.mkdtemp(prefix="up-pool-test.")
    try:
        run(tmp)
    except Exception:
        import traceback
        ok(False, "test run raised", traceback.format_exc())
    finally:
        for p in PROCS:
            stop_pool(p)
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % _n)
    return 1 if _failed or _n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
