#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Local test user pool for userpool's tests and demo (DESIGN.md section 9).

Serves, on 127.0.0.1 only:
  * the Cognito JSON API (POST /, X-Amz-Target: AWSCognitoIdentityProviderService.*)
    with a real SRP-6a server side, TOTP MFA, RS256 tokens, JWKS and discovery
    under /<poolId>/.well-known/;
  * a generic OpenID Provider under /oidc (discovery, JWKS, ROPC, refresh,
    RFC 8628 device grant, userinfo, RFC 7009 revocation);
  * an admin interface for tests: POST /admin/<op> with a JSON body;
  * fault injection matched against "<METHOD> <path> <X-Amz-Target>".

It is a test tool: never installed, never exposed beyond the loopback.
Run with --help for the command line.  See README.md next to this file.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MAX_BODY = 1 << 20          # request body cap
SOCKET_TIMEOUT = 30         # idle keep-alive / read timeout per connection
HANG_CAP = 120              # longest a "hang" fault may hold a connection
DRIP_CAP = 60               # longest a "drip" fault may take
MAX_SESSIONS = 10000        # bound on in-memory auth sessions
MAX_DEVICE_CODES = 1000
SRP_TIMESTAMP_SKEW = 300    # seconds a PASSWORD_CLAIM TIMESTAMP may be off
TOTP_STEP = 30
MAX_CODE_ATTEMPTS = 3       # wrong MFA codes before a session is dropped

# ---------------------------------------------------------------------------
# small helpers


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    s = s + "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s.encode("ascii"))


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def int_b64url(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Clock:
    """Server clock; tests may shift it with the set_clock_offset admin op."""
    offset = 0.0

    @classmethod
    def now(cls):
        return time.time() + cls.offset


def now_i():
    return int(Clock.now())


# ---------------------------------------------------------------------------
# TOTP (RFC 6238: SHA-1, 30 s, 6 digits)


def totp_new_secret():
    # 160 bits -> 32 base32 characters, like Cognito's SecretCode
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def totp_at(secret, step):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    val = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return "%06d" % (val % 1000000)


def totp_now(secret, t=None):
    return totp_at(secret, int((Clock.now() if t is None else t) // TOTP_STEP))


# ---------------------------------------------------------------------------
# SRP-6a exactly as amazon-cognito-identity-js (AuthenticationHelper.js)

SRP_N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B"
    "F12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
    "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF")
SRP_N = int(SRP_N_HEX, 16)
SRP_G = 2


def pad_hex(n):
    """Minimal two's-complement hex of a non-negative integer (SDK padHex)."""
    h = format(n, "x")
    if len(h) % 2:
        h = "0" + h
    if h[0] in "89abcdef":
        h = "00" + h
    return h


def hex_hash(hexstr):
    return hashlib.sha256(bytes.fromhex(hexstr)).hexdigest()


SRP_K = int(hex_hash(pad_hex(SRP_N) + pad_hex(SRP_G)), 16)


def srp_x(pool_name, user_id, password, salt):
    inner = hashlib.sha256(
        (pool_name + user_id + ":" + password).encode("utf-8")).hexdigest()
    return int(hex_hash(pad_hex(salt) + inner), 16)


def srp_make_verifier(pool_name, user_id, password):
    salt = int.from_bytes(secrets.token_bytes(16), "big")
    v = pow(SRP_G, srp_x(pool_name, user_id, password, salt), SRP_N)
    return salt, v


def srp_hkdf(ikm, salt):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]


def srp_server_start(v):
    """Returns (b, B) with B = k*v + g^b mod N, B mod N != 0."""
    for _ in range(8):
        b = int.from_bytes(secrets.token_bytes(128), "big")
        B = (SRP_K * v + pow(SRP_G, b, SRP_N)) % SRP_N
        if B % SRP_N:
            return b, B
    raise RuntimeError("could not pick b")


def srp_server_key(A, B, b, v):
    """The 16-byte HKDF key the client derives, or None when u is zero."""
    u = int(hex_hash(pad_hex(A) + pad_hex(B)), 16)
    if u == 0:
        return None
    S = pow(A * pow(v, u, SRP_N), b, SRP_N)
    return srp_hkdf(bytes.fromhex(pad_hex(S)), bytes.fromhex(pad_hex(u)))


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]
TIMESTAMP_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" ([1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]) UTC ([0-9]{4})$")


def srp_timestamp(t=None):
    d = datetime.datetime.fromtimestamp(Clock.now() if t is None else t,
                                        datetime.timezone.utc)
    return "%s %s %d %02d:%02d:%02d UTC %d" % (
        WEEKDAYS[d.weekday()], MONTHS[d.month - 1], d.day, d.hour, d.minute,
        d.second, d.year)


def parse_srp_timestamp(s):
    m = TIMESTAMP_RE.match(s or "")
    if not m:
        return None
    try:
        d = datetime.datetime(int(m.group(7)), MONTHS.index(m.group(2)) + 1,
                              int(m.group(3)), int(m.group(4)), int(m.group(5)),
                              int(m.group(6)), tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    if WEEKDAYS[d.weekday()] != m.group(1):
        return None
    return d.timestamp()


# ---------------------------------------------------------------------------
# errors


class CognitoError(Exception):
    def __init__(self, type_, message, status=400):
        super().__init__(message)
        self.type = type_
        self.message = message
        self.status = status


def not_authorized(msg="Incorrect username or password."):
    return CognitoError("NotAuthorizedException", msg)


def invalid_param(msg):
    return CognitoError("InvalidParameterException", msg)


class OAuthError(Exception):
    def __init__(self, error, description, status=400, headers=None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}


# ---------------------------------------------------------------------------
# keys and JWTs


class SigningKey:
    def __init__(self, pem=None):
        if pem is None:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.key = serialization.load_pem_private_key(pem.encode(), password=None)
        pub = self.key.public_key()
        der = pub.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        # Cognito's kids are standard base64 of 32 bytes ('+', '/', '=')
        self.kid = base64.b64encode(hashlib.sha256(der).digest()).decode()
        self.public_pem = pub.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo)

    def pem(self):
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    def jwk(self):
        nums = self.key.public_key().public_numbers()
        return {"alg": "RS256", "e": int_b64url(nums.e), "kid": self.kid,
                "kty": "RSA", "n": int_b64url(nums.n), "use": "sig"}

    def sign(self, data):
        return self.key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, sig, data):
        try:
            self.key.public_key().verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            return True
        except Exception:
            return False


def jwt_encode(header, claims, key):
    signing_input = (b64url_json(header) + "." + b64url_json(claims)).encode()
    return signing_input.decode() + "." + b64url(key.sign(signing_input))


def jwt_split(token):
    """Returns (header, claims, signing_input, signature) or raises ValueError."""
    if not isinstance(token, str) or len(token) > 16384:
        raise ValueError("bad token")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("bad token")
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("bad token")
    return header, claims, (parts[0] + "." + parts[1]).encode(), b64url_decode(parts[2])


# ---------------------------------------------------------------------------
# TLS material


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_private(path, data):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def ensure_tls(cadir, wrong_host=False, names=()):
    """Creates (if missing) ca.pem/ca.key and server certs in cadir.

    Returns (certfile, keyfile) of the certificate to serve."""
    import ipaddress
    os.makedirs(cadir, exist_ok=True)
    ca_pem = os.path.join(cadir, "ca.pem")
    ca_key_path = os.path.join(cadir, "ca.key")
    now = datetime.datetime.now(datetime.timezone.utc)
    enc = serialization.Encoding.PEM
    if os.path.exists(ca_pem) and os.path.exists(ca_key_path):
        with open(ca_key_path, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), password=None)
        with open(ca_pem, "rb") as f:
            ca_cert = x509.load_pem_x509_certificate(f.read())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (x509.CertificateBuilder()
                   .subject_name(_name("userpool test pool CA"))
                   .issuer_name(_name("userpool test pool CA"))
                   .public_key(ca_key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False,
                                                True, True, False, False), True)
                   .add_extension(ski, False)
                   .sign(ca_key, hashes.SHA256()))
        _write_private(ca_key_path, ca_key.private_bytes(
            enc, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        with open(ca_pem + ".tmp", "wb") as f:
            f.write(ca_cert.public_bytes(enc))
        os.replace(ca_pem + ".tmp", ca_pem)
        # a CA changes: old server certs are no longer signed by it
        for stale in ("server.pem", "wrong-host.pem"):
            try:
                os.unlink(os.path.join(cadir, stale))
            except FileNotFoundError:
                pass

    def leaf(base, sans, cn):
        cert_path = os.path.join(cadir, base + ".pem")
        key_path = os.path.join(cadir, base + ".key")
        if os.path.exists(cert_path) and os.path.exists(key_path):
            return cert_path, key_path
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(_name(cn))
                .issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=825))
                .add_extension(x509.SubjectAlternativeName(sans), False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
                .add_extension(x509.KeyUsage(True, False, False, False, False,
                                             False, False, False, False), True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    ca_key.public_key()), False)
                .sign(ca_key, hashes.SHA256()))
        _write_private(key_path, key.private_bytes(
            enc, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        with open(cert_path + ".tmp", "wb") as f:
            f.write(cert.public_bytes(enc))
        os.replace(cert_path + ".tmp", cert_path)
        return cert_path, key_path

    good_sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    base = "server"
    if names:
        # more host names (--tls-names): a certificate of its own
        good_sans += [x509.DNSName(n) for n in names]
        base = "server-" + hashlib.sha256(",".join(names).encode()).hexdigest()[:12]
    good = leaf(base, good_sans, "localhost")
    bad = leaf("wrong-host", [x509.DNSName("wrong-host.invalid")], "wrong-host.invalid")
    return bad if wrong_host else good


# ---------------------------------------------------------------------------
# the pool's state


PASSWORD_MIN = 8
USER_STATUSES = ("CONFIRMED", "FORCE_CHANGE_PASSWORD", "RESET_REQUIRED", "UNCONFIRMED")


def password_policy_error(pw):
    if not isinstance(pw, str) or len(pw) < PASSWORD_MIN:
        return "Password does not conform to policy: Password not long enough"
    if not re.search(r"[0-9]", pw):
        return "Password does not conform to policy: Password must have numeric characters"
    if not re.search(r"[A-Za-z]", pw):
        return ("Password does not conform to policy: "
                "Password must have lowercase characters")
    return None


class Pool:
    def __init__(self, args):
        self.lock = threading.RLock()
        self.pool_id = args.pool_id
        self.region = args.region
        self.pool_name = self.pool_id.split("_", 1)[1]
        self.state_dir = args.state
        self.state_file = os.path.join(self.state_dir, "pool.json")
        self.base_url = None           # set once the port is known
        self.users = {}
        self.keys = []                 # keys[0] signs
        self.clients = {}
        self.refresh = {}              # sha256(token) -> record
        self.revoked_origins = set()
        self.mfa = "ON"
        self.session_ttl = 180
        self.token_ttl = 3600
        self.oidc = {"client_id": args.client_id, "client_secret": args.client_secret,
                     "otp_mode": "param", "otp_param": "totp", "aud_array": False,
                     "extra_aud": "userpool-extra-audience",
                     "device_interval": 5, "device_expires_in": 600}
        # in memory only
        self.sessions = {}
        self.outbox = {}               # username -> the last SMS/email code sent
        self.mfas_can_setup = ["SOFTWARE_TOKEN_MFA"]
        # CUSTOM_AUTH: the pool's Define/Create/VerifyAuthChallenge triggers,
        # as configuration (set_custom_auth); None: no trigger configured
        self.custom_auth = None
        # USER_AUTH: SignInPolicy.AllowedFirstAuthFactors
        self.first_factors = ["PASSWORD"]
        self.ignore_preferred = False  # test switch: always SELECT_CHALLENGE
        self.contexts = {}             # username -> the last UserContextData
        self.custom_answers = []       # every CUSTOM_CHALLENGE ANSWER received
        self.device_keys = 0           # requests that carried DEVICE_KEY
        self.jwks_hosts = []           # Host header of each key-set GET
        self.issuer_base = getattr(args, "issuer_base", None)
        self.srp_blocks = {}
        self.device_codes = {}
        self.faults = []
        self.fault_seq = 0
        # simulated round trip (make bench, issue 21): every request that
        # is not an admin call waits this long before it is answered
        self.delay_ms = float(getattr(args, "delay_ms", 0) or 0)
        self.stats = {"requests": {}, "targets": {}, "paths": {}, "connections": 0}
        self._load()
        if args.client_id not in self.clients:
            self.clients[args.client_id] = {"secret": args.client_secret}
        elif args.client_secret is not None:
            self.clients[args.client_id]["secret"] = args.client_secret
        self.default_client = args.client_id
        cache = os.path.join(args.key_cache, "keys.json") if args.key_cache else None
        if cache and not self.keys:
            try:
                with open(cache) as f:
                    self.keys = [SigningKey(pem) for pem in json.load(f)][:2]
            except (OSError, ValueError):
                self.keys = []
        missing = 2 - len(self.keys)
        if missing > 0:
            # RSA key generation dominates a first start; the work runs in C
            # without the GIL, so generate the keys side by side
            made = [None] * missing
            workers = [threading.Thread(target=lambda i=i: made.__setitem__(i, SigningKey()))
                       for i in range(missing)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            self.keys.extend(made)
            if cache:
                os.makedirs(args.key_cache, exist_ok=True)
                _write_private(cache, json.dumps([k.pem() for k in self.keys]).encode())
        self.save()

    # persistence ---------------------------------------------------------
    def _load(self):
        try:
            with open(self.state_file) as f:
                st = json.load(f)
        except FileNotFoundError:
            return
        if st.get("pool_id") != self.pool_id:
            # a state dir belongs to one pool; keep keys, drop the rest
            st = {"keys": st.get("keys", [])}
        self.users = st.get("users", {})
        self.keys = [SigningKey(pem) for pem in st.get("keys", [])]
        self.clients = st.get("clients", {})
        self.refresh = st.get("refresh", {})
        self.revoked_origins = set(st.get("revoked_origins", []))
        self.mfa = st.get("mfa", "ON")
        self.oidc.update(st.get("oidc", {}))
        self.session_ttl = st.get("session_ttl", 180)
        self.token_ttl = st.get("token_ttl", 3600)

    def save(self):
        with self.lock:
            st = {"version": 1, "pool_id": self.pool_id, "users": self.users,
                  "keys": [k.pem() for k in self.keys], "clients": self.clients,
                  "refresh": self.refresh, "revoked_origins": sorted(self.revoked_origins),
                  "mfa": self.mfa, "oidc": self.oidc, "session_ttl": self.session_ttl,
                  "token_ttl": self.token_ttl}
            os.makedirs(self.state_dir, exist_ok=True)
            # compact: the whole state is written on every change, under the
            # lock, so its cost is paid by every concurrent request
            _write_private(self.state_file, json.dumps(st, separators=(",", ":")).encode())

    # identities ----------------------------------------------------------
    @property
    def issuer(self):
        # issuer_base (set_issuer_base): the host AWS names in iss, e.g.
        # https://issuer-cognito-idp.<region>.amazonaws.com (tests that map
        # AWS's host names to this pool in a private network namespace)
        base = getattr(self, "issuer_base", None) or self.base_url
        return base.rstrip("/") + "/" + self.pool_id

    @property
    def oidc_issuer(self):
        return self.base_url.rstrip("/") + "/oidc"

    def jwks(self):
        extra = getattr(self, "jwk_extra", None) or {}
        return {"keys": [dict(k.jwk(), **extra) for k in self.keys]}

    def key_by_kid(self, kid):
        for k in self.keys:
            if k.kid == kid:
                return k
        return None

    # users ---------------------------------------------------------------
    def set_password(self, user, password):
        salt, v = srp_make_verifier(self.pool_name, user["username"], password)
        user["srp_salt"] = format(salt, "x")
        user["srp_verifier"] = format(v, "x")

    def check_password(self, user, password):
        if not isinstance(password, str) or not user.get("srp_verifier"):
            return False
        salt = int(user["srp_salt"], 16)
        v = pow(SRP_G, srp_x(self.pool_name, user["username"], password, salt), SRP_N)
        return hmac.compare_digest(format(v, "x"), user["srp_verifier"])

    def create_user(self, username, password, groups=None, email=None,
                    status="CONFIRMED", enabled=True):
        if status not in USER_STATUSES:
            raise ValueError("bad status")
        user = {"username": username, "sub": str(uuid.uuid4()), "groups": list(groups or []),
                "email": email, "status": status, "enabled": bool(enabled),
                "totp_secret": None, "totp_enabled": False, "totp_pending": None,
                "totp_last_step": -1, "device_name": None, "select_mfa": False,
                "created": now_i()}
        self.set_password(user, password)
        self.users[username] = user
        return user

    def user_attributes(self, user):
        attrs = [{"Name": "sub", "Value": user["sub"]}]
        if user.get("email"):
            attrs.append({"Name": "email_verified", "Value": "true"})
            attrs.append({"Name": "email", "Value": user["email"]})
        for name, value in sorted((user.get("attributes") or {}).items()):
            attrs.append({"Name": name, "Value": str(value)})
        return attrs

    def user_mfa_factors(self, user):
        """The challenge names of the second factors this user has, in
        Cognito's order (MFAS_CAN_CHOOSE)."""
        if self.mfa == "OFF":
            return []
        out = []
        if user.get("totp_secret") and (self.mfa == "ON" or user.get("totp_enabled")):
            out.append("SOFTWARE_TOKEN_MFA")
        if user.get("sms_mfa") and user.get("phone"):
            out.append("SMS_MFA")
        if user.get("email_mfa") and user.get("email"):
            out.append("EMAIL_OTP")
        return out

    def user_has_mfa(self, user):
        """Whether sign-in asks this user for a second factor."""
        return bool(self.user_mfa_factors(user))

    def check_totp(self, user, code):
        """'ok', 'mismatch' or 'reused'; consumes the time step on success."""
        secret = user.get("totp_secret")
        return self._check_code(user, secret, code)

    def _check_code(self, user, secret, code, fresh=False):
        """fresh: a secret being enrolled, whose steps were never used."""
        if not secret or not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}", code):
            return "mismatch"
        step = int(Clock.now() // TOTP_STEP)
        for s in (step - 1, step, step + 1):
            if hmac.compare_digest(totp_at(secret, s), code):
                if not fresh and s <= user.get("totp_last_step", -1):
                    return "reused"
                user["totp_last_step"] = s
                return "ok"
        return "mismatch"

    # sessions ------------------------------------------------------------
    def new_session(self, username, client_id, challenge, **data):
        now = Clock.now()
        if len(self.sessions) >= MAX_SESSIONS:
            for sid in [s for s, r in self.sessions.items()
                        if r["used"] or now - r["created"] > self.session_ttl][:MAX_SESSIONS]:
                del self.sessions[sid]
            while len(self.sessions) >= MAX_SESSIONS:
                del self.sessions[next(iter(self.sessions))]
        # Cognito sessions are long opaque strings
        sid = b64url(secrets.token_bytes(48)) + "." + b64url(secrets.token_bytes(96))
        self.sessions[sid] = {"username": username, "client_id": client_id,
                              "challenge": challenge, "created": now, "used": False,
                              "attempts": 0, "data": data}
        return sid

    def take_session(self, sid, challenge=None, consume=True):
        """Looks up a session; raises the errors Cognito gives for bad ones."""
        rec = self.sessions.get(sid) if isinstance(sid, str) else None
        if rec is None:
            raise not_authorized("Invalid session for the user.")
        if rec["used"]:
            raise not_authorized("Invalid session for the user, session can only be used once.")
        if Clock.now() - rec["created"] > self.session_ttl:
            raise not_authorized("Invalid session for the user, session is expired.")
        if challenge is not None and rec["challenge"] != challenge:
            raise invalid_param("Incorrect challenge name for the session.")
        if consume:
            rec["used"] = True
        return rec

    # tokens --------------------------------------------------------------
    def issue_cognito(self, user, client_id, auth_time, origin_jti=None,
                      with_refresh=True):
        now = now_i()
        origin_jti = origin_jti or str(uuid.uuid4())
        key = self.keys[0]
        header = {"kid": key.kid, "alg": "RS256"}
        event_id = str(uuid.uuid4())
        idc = {"sub": user["sub"]}
        if user.get("groups"):
            idc["cognito:groups"] = list(user["groups"])
        if user.get("email"):
            idc["email_verified"] = True
        idc.update({"iss": self.issuer, "cognito:username": user["username"],
                    "origin_jti": origin_jti, "aud": client_id, "event_id": event_id,
                    "token_use": "id", "auth_time": auth_time, "exp": now + self.token_ttl,
                    "iat": now, "jti": str(uuid.uuid4())})
        if user.get("email"):
            idc["email"] = user["email"]
        # Custom attributes (AdminUpdateUserAttributes "custom:NAME"): in
        # the ID token under their full name, always as strings (Cognito
        # sends a Number attribute as its decimal text).
        for name, value in sorted((user.get("attributes") or {}).items()):
            idc[name] = str(value)
        acc = {"sub": user["sub"]}
        if user.get("groups"):
            acc["cognito:groups"] = list(user["groups"])
        acc.update({"iss": self.issuer, "client_id": client_id, "origin_jti": origin_jti,
                    "event_id": event_id, "token_use": "access",
                    "scope": "aws.cognito.signin.user.admin", "auth_time": auth_time,
                    "exp": now + self.token_ttl, "iat": now, "jti": str(uuid.uuid4()),
                    "username": user["username"]})
        result = {"AccessToken": jwt_encode(header, acc, key),
                  "ExpiresIn": self.token_ttl, "TokenType": "Bearer",
                  "IdToken": jwt_encode(header, idc, key)}
        if with_refresh:
            rt = self.new_refresh(user, client_id, "cognito", origin_jti, auth_time)
            result = {"AccessToken": result["AccessToken"], "ExpiresIn": self.token_ttl,
                      "TokenType": "Bearer", "RefreshToken": rt,
                      "IdToken": result["IdToken"]}
        return result

    def new_refresh(self, user, client_id, provider, origin_jti, auth_time, amr=None,
                    scope=None):
        # shaped like Cognito's (a JWE compact serialisation); opaque to clients
        rt = ("eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ."
              + ".".join(b64url(secrets.token_bytes(n)) for n in (256, 12, 384, 16)))
        self.refresh[hashlib.sha256(rt.encode()).hexdigest()] = {
            "username": user["username"], "sub": user["sub"], "client_id": client_id,
            "provider": provider, "origin_jti": origin_jti, "auth_time": auth_time,
            "amr": amr, "scope": scope, "revoked": False, "created": now_i()}
        self.save()
        return rt

    def refresh_record(self, token):
        if not isinstance(token, str) or len(token) > 16384:
            return None
        return self.refresh.get(hashlib.sha256(token.encode()).hexdigest())

    def revoke_origin(self, origin_jti):
        self.revoked_origins.add(origin_jti)
        for rec in self.refresh.values():
            if rec["origin_jti"] == origin_jti:
                rec["revoked"] = True

    def verify_own_jwt(self, token, issuer):
        """Verifies a token this pool issued. Returns claims or raises ValueError."""
        header, claims, signing_input, sig = jwt_split(token)
        if header.get("alg") != "RS256":
            raise ValueError("alg")
        key = self.key_by_kid(header.get("kid"))
        if key is None or not key.verify(sig, signing_input):
            raise ValueError("signature")
        if claims.get("iss") != issuer:
            raise ValueError("iss")
        return claims

    def access_user(self, token):
        """The user behind a Cognito access token, with Cognito's errors."""
        try:
            claims = self.verify_own_jwt(token, self.issuer)
        except ValueError:
            raise not_authorized("Invalid Access Token")
        if claims.get("token_use") != "access":
            raise not_authorized("Invalid Access Token")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now_i():
            raise not_authorized("Access Token has expired")
        if claims.get("origin_jti") in self.revoked_origins:
            raise not_authorized("Access Token has been revoked")
        user = self.users.get(claims.get("username"))
        if user is None or user["sub"] != claims.get("sub"):
            raise CognitoError("UserNotFoundException", "User does not exist.")
        if not user["enabled"]:
            raise not_authorized("User is disabled.")
        return user, claims


# ---------------------------------------------------------------------------
# forged tokens for verification tests

FORGE_KINDS = ("valid", "none", "hs256", "wrong_kid", "unknown_key", "bad_sig",
               "wrong_iss", "wrong_aud", "wrong_token_use", "expired", "no_exp",
               "future_iat", "not_yet_valid", "crit", "jku", "x5u", "embedded_jwk",
               "wrong_username", "ps256_header")


def forge_token(pool, kind, claims, header=None, extra_claims=None, extra_header=None):
    """Builds a token of the given kind from the honest claims."""
    if kind not in FORGE_KINDS:
        raise ValueError("unknown forge kind %r (one of %s)" % (kind, ", ".join(FORGE_KINDS)))
    key = pool.keys[0]
    h = dict(header or {"kid": key.kid, "alg": "RS256"})
    c = dict(claims)
    now = now_i()
    signer = key
    if kind == "wrong_kid":
        h["kid"] = "bm90LWEta2lkLWluLXRoZS1qd2tzLWF0LWFsbA=="
    elif kind == "unknown_key":
        signer = SigningKey()
        h["kid"] = signer.kid
    elif kind == "wrong_iss":
        c["iss"] = c.get("iss", "") + "-evil"
    elif kind == "wrong_aud":
        if "aud" in c:
            c["aud"] = "some-other-client"
        if "client_id" in c:
            c["client_id"] = "some-other-client"
        if "aud" not in c and "client_id" not in c:
            c["aud"] = "some-other-client"
        c.pop("azp", None)
    elif kind == "wrong_token_use":
        c["token_use"] = "access" if c.get("token_use") == "id" else "id"
    elif kind == "expired":
        c["iat"] = now - 7200
        c["auth_time"] = now - 7200
        c["exp"] = now - 3600
    elif kind == "no_exp":
        c.pop("exp", None)
    elif kind == "future_iat":
        c["iat"] = now + 3600
        c["exp"] = now + 7200
    elif kind == "not_yet_valid":
        c["nbf"] = now + 3600
    elif kind == "crit":
        h["crit"] = ["exp"]
    elif kind == "wrong_username":
        for name in ("cognito:username", "username", "preferred_username"):
            if name in c:
                c[name] = c[name] + "-other"
    elif kind in ("jku", "x5u", "embedded_jwk"):
        signer = SigningKey()
        h["kid"] = signer.kid
        if kind == "jku":
            h["jku"] = pool.base_url + "evil/jwks.json"
        elif kind == "x5u":
            h["x5u"] = pool.base_url + "evil/cert.pem"
        else:
            h["jwk"] = signer.jwk()
    elif kind == "ps256_header":
        h["alg"] = "PS256"
    if extra_claims:
        for k, v in extra_claims.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
    if extra_header:
        for k, v in extra_header.items():
            if v is None:
                h.pop(k, None)
            else:
                h[k] = v
    if kind == "none":
        h = {"alg": "none", **{k: v for k, v in h.items() if k != "alg"}}
        return b64url_json(h) + "." + b64url_json(c) + "."
    if kind == "hs256":
        h["alg"] = "HS256"
        si = (b64url_json(h) + "." + b64url_json(c)).encode()
        return si.decode() + "." + b64url(hmac.new(key.public_pem, si, hashlib.sha256).digest())
    token = jwt_encode(h, c, signer)
    if kind == "bad_sig":
        head, body, sig = token.split(".")
        raw = bytearray(b64url_decode(sig))
        raw[len(raw) // 2] ^= 0x01
        token = head + "." + body + "." + b64url(bytes(raw))
    return token


# ---------------------------------------------------------------------------
# the Cognito API


class CognitoAPI:
    def __init__(self, pool):
        self.pool = pool

    def call(self, action, req):
        fn = getattr(self, "op_" + action, None)
        if fn is None:
            raise CognitoError("UnknownOperationException", None)
        if not isinstance(req, dict):
            raise CognitoError("SerializationException",
                               "Start of structure or map found where not expected.")
        with self.pool.lock:
            return fn(req)

    # helpers -------------------------------------------------------------
    def client(self, req):
        cid = req.get("ClientId")
        if not isinstance(cid, str) or not cid:
            raise invalid_param("1 validation error detected: Value null at 'clientId' "
                                "failed to satisfy constraint: Member must not be null")
        c = self.pool.clients.get(cid)
        if c is None:
            raise CognitoError("ResourceNotFoundException",
                               "User pool client %s does not exist." % cid)
        return cid, c

    def check_secret_hash(self, cid, client, usernames, given):
        secret = client.get("secret")
        if not secret:
            return
        if not isinstance(given, str) or not given:
            raise not_authorized("Client %s is configured for secret but secret was not "
                                 "received" % cid)
        for name in usernames:
            if not name:
                continue
            want = base64.b64encode(hmac.new(secret.encode(), (name + cid).encode(),
                                             hashlib.sha256).digest()).decode()
            if hmac.compare_digest(want, given):
                return
        raise not_authorized("Unable to verify secret hash for client %s" % cid)

    def user_for_auth(self, username, client=None):
        user = self.pool.users.get(username) if isinstance(username, str) else None
        if user is None:
            if client and client.get("prevent_user_existence_errors"):
                raise not_authorized("Incorrect username or password.")
            raise CognitoError("UserNotFoundException", "User does not exist.")
        if not user["enabled"]:
            raise not_authorized("User is disabled.")
        if user["status"] == "RESET_REQUIRED":
            raise CognitoError("PasswordResetRequiredException",
                               "Password reset required for the user")
        return user

    def after_password(self, user, cid):
        """Next step once the password is proven: a challenge or the tokens."""
        if user["status"] == "UNCONFIRMED":
            raise CognitoError("UserNotConfirmedException", "User is not confirmed.")
        auth_time = now_i()
        if user["status"] == "FORCE_CHANGE_PASSWORD":
            sid = self.pool.new_session(user["username"], cid, "NEW_PASSWORD_REQUIRED",
                                        auth_time=auth_time)
            attrs = {}
            if user.get("email"):
                attrs = {"email_verified": "true", "email": user["email"]}
            return {"ChallengeName": "NEW_PASSWORD_REQUIRED",
                    "ChallengeParameters": {"USER_ID_FOR_SRP": user["username"],
                                            "requiredAttributes": "[]",
                                            "userAttributes": json.dumps(attrs)},
                    "Session": sid}
        return self.mfa_step(user, cid, auth_time)

    def mfa_step(self, user, cid, auth_time):
        factors = self.pool.user_mfa_factors(user)
        if factors:
            pref = user.get("preferred_mfa")
            if user.get("select_mfa") and factors == ["SOFTWARE_TOKEN_MFA"]:
                # the old test switch: as if the user also had SMS
                choose = ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
            elif len(factors) > 1 and pref not in factors:
                choose = factors
            else:
                choose = None
            if choose:
                sid = self.pool.new_session(user["username"], cid, "SELECT_MFA_TYPE",
                                            auth_time=auth_time, choose=choose)
                return {"ChallengeName": "SELECT_MFA_TYPE",
                        "ChallengeParameters": {
                            "MFAS_CAN_CHOOSE": json.dumps(choose, separators=(",", ":"))},
                        "Session": sid}
            return self.factor_challenge(user, cid, auth_time,
                                         pref if pref in factors else factors[0])
        if self.pool.mfa == "ON":
            sid = self.pool.new_session(user["username"], cid, "MFA_SETUP",
                                        auth_time=auth_time)
            return {"ChallengeName": "MFA_SETUP",
                    "ChallengeParameters": {
                        "MFAS_CAN_SETUP": json.dumps(self.pool.mfas_can_setup,
                                                     separators=(",", ":"))},
                    "Session": sid}
        return self.success(user, cid, auth_time)

    def factor_challenge(self, user, cid, auth_time, name):
        if name == "SOFTWARE_TOKEN_MFA":
            return self.totp_challenge(user, cid, auth_time)
        return self.code_challenge(user, cid, auth_time, name)

    def code_challenge(self, user, cid, auth_time, name):
        """SMS_MFA / EMAIL_OTP: Cognito sends a one-time code and names the
        masked destination (CODE_DELIVERY_*)."""
        if name == "SMS_MFA":
            dest = user["phone"]
            masked = "+" + "*" * (len(dest) - 5) + dest[-4:]
            medium = "SMS"
        else:
            local, _, domain = user["email"].partition("@")
            masked = local[:1] + "***@" + domain[:1] + "***"
            medium = "EMAIL"
        if user.get("delivery_destination") is not None:
            masked = user["delivery_destination"]     # a hostile pool's text
        code = "%06d" % secrets.randbelow(1000000)
        sid = self.pool.new_session(user["username"], cid, name, auth_time=auth_time,
                                    code=code)
        self.pool.outbox[user["username"]] = {"medium": medium, "code": code,
                                              "challenge": name}
        return {"ChallengeName": name,
                "ChallengeParameters": {"CODE_DELIVERY_DELIVERY_MEDIUM": medium,
                                        "CODE_DELIVERY_DESTINATION": masked},
                "Session": sid}

    def totp_challenge(self, user, cid, auth_time):
        sid = self.pool.new_session(user["username"], cid, "SOFTWARE_TOKEN_MFA",
                                    auth_time=auth_time)
        return {"ChallengeName": "SOFTWARE_TOKEN_MFA",
                "ChallengeParameters": {
                    "FRIENDLY_DEVICE_NAME": user.get("device_name") or "TOTP device"},
                "Session": sid}

    def success(self, user, cid, auth_time):
        return {"AuthenticationResult": self.pool.issue_cognito(user, cid, auth_time),
                "ChallengeParameters": {}}

    # operations ----------------------------------------------------------
    DEFAULT_FLOWS = ("ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH",
                     "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_CUSTOM_AUTH")

    def flow_allowed(self, client, allow):
        """ExplicitAuthFlows of the app client (unset: the old test default,
        which like AWS's own default includes ALLOW_CUSTOM_AUTH)."""
        return allow in (client.get("auth_flows") or self.DEFAULT_FLOWS)

    def need_flow(self, client, allow):
        if not self.flow_allowed(client, allow):
            raise invalid_param("Auth flow not enabled for this client")

    def note_context(self, req, username):
        """UserContextData (UserContextDataType: IpAddress, EncodedData, both
        optional strings), kept per user for the admin op `contexts`."""
        for part in ("AuthParameters", "ChallengeResponses"):
            if isinstance(req.get(part), dict) and "DEVICE_KEY" in req[part]:
                self.pool.device_keys += 1
        ucd = req.get("UserContextData")
        if ucd is None:
            return
        if not isinstance(ucd, dict) or any(
                k not in ("IpAddress", "EncodedData") or not isinstance(v, str)
                for k, v in ucd.items()):
            raise CognitoError("SerializationException",
                               "UserContextData must be {IpAddress, EncodedData} strings")
        if isinstance(username, str):
            self.pool.contexts[username] = dict(ucd)

    def op_InitiateAuth(self, req):
        cid, client = self.client(req)
        flow = req.get("AuthFlow")
        params = req.get("AuthParameters")
        if not isinstance(params, dict):
            params = {}
        self.note_context(req, params.get("USERNAME"))
        if client.get("auth_flows") and flow in ("USER_SRP_AUTH", "USER_PASSWORD_AUTH"):
            self.need_flow(client, "ALLOW_" + flow)
        if flow == "USER_SRP_AUTH":
            return self.srp_start(cid, client, params)
        if flow == "USER_PASSWORD_AUTH":
            username = params.get("USERNAME")
            if not isinstance(username, str) or "PASSWORD" not in params:
                raise invalid_param("Missing required parameter USERNAME" if not isinstance(
                    username, str) else "Missing required parameter PASSWORD")
            self.check_secret_hash(cid, client, [username], params.get("SECRET_HASH"))
            user = self.user_for_auth(username, client)
            if not self.pool.check_password(user, params.get("PASSWORD")):
                raise not_authorized()
            return self.after_password(user, cid)
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return self.refresh(cid, client, params)
        if flow == "CUSTOM_AUTH":
            return self.custom_start(cid, client, params)
        if flow == "USER_AUTH":
            return self.user_auth_start(cid, client, params)
        if flow in ("ADMIN_NO_SRP_AUTH", "ADMIN_USER_PASSWORD_AUTH"):
            raise invalid_param("Initiate Auth method not supported.")
        raise invalid_param("1 validation error detected: Value '%s' at 'authFlow' failed "
                            "to satisfy constraint: Member must satisfy enum value set"
                            % (flow,))

    # CUSTOM_AUTH ---------------------------------------------------------
    # The triggers, modelled as configuration: DefineAuthChallenge asks for
    # SRP first (SRP_A, PASSWORD_VERIFIER), then each round in turn; a
    # wrong answer repeats the round (new Session) up to max_wrong times,
    # then fails the sign-in; after the last round it issues tokens.
    def custom_start(self, cid, client, params):
        self.need_flow(client, "ALLOW_CUSTOM_AUTH")
        ca = self.pool.custom_auth
        if not ca:
            raise invalid_param("Custom auth lambda trigger is not configured for the "
                                "user pool.")
        if ca.get("skip_password"):
            # a DefineAuthChallenge that never asks for the password
            username = params.get("USERNAME")
            self.check_secret_hash(cid, client, [username], params.get("SECRET_HASH"))
            user = self.user_for_auth(username, client)
            return self.custom_challenge(user, cid, 0, 0, now_i())
        if params.get("CHALLENGE_NAME") != "SRP_A":
            raise not_authorized("Incorrect username or password.")
        return self.srp_start(cid, client, params, flow="custom")

    def custom_challenge(self, user, cid, rnd, wrong, auth_time):
        rounds = self.pool.custom_auth["rounds"]
        sid = self.pool.new_session(user["username"], cid, "CUSTOM_CHALLENGE",
                                    auth_time=auth_time, round=rnd, wrong=wrong)
        public = dict(rounds[rnd].get("public") or {})
        public["USERNAME"] = user["username"]
        return {"ChallengeName": "CUSTOM_CHALLENGE", "ChallengeParameters": public,
                "Session": sid}

    def custom_answer(self, user, cid, rec, resp, auth_time):
        answer = resp.get("ANSWER")
        if not isinstance(answer, str):
            raise invalid_param("Missing required parameter ANSWER")
        rec["used"] = True
        ca = self.pool.custom_auth
        rnd, wrong = rec["data"]["round"], rec["data"]["wrong"]
        self.pool.custom_answers.append(answer)
        if not hmac.compare_digest(answer.encode(), ca["rounds"][rnd]["answer"].encode()):
            if wrong + 1 >= ca.get("max_wrong", 3):
                raise not_authorized("Incorrect username or password.")
            return self.custom_challenge(user, cid, rnd, wrong + 1, auth_time)
        if rnd + 1 < len(ca["rounds"]):
            return self.custom_challenge(user, cid, rnd + 1, 0, auth_time)
        if ca.get("then_mfa"):
            return self.mfa_step(user, cid, auth_time)
        return self.success(user, cid, auth_time)

    # USER_AUTH (choice-based) ---------------------------------------------
    def available_first(self, user, client):
        """AvailableChallenges: the pool's allowed first factors this user and
        app client can use (the test pool's model: PASSWORD_SRP needs
        ALLOW_USER_SRP_AUTH on the client, PASSWORD ALLOW_USER_PASSWORD_AUTH)."""
        out = []
        for f in self.pool.first_factors:
            if f == "PASSWORD":
                if self.flow_allowed(client, "ALLOW_USER_SRP_AUTH"):
                    out.append("PASSWORD_SRP")
                if self.flow_allowed(client, "ALLOW_USER_PASSWORD_AUTH"):
                    out.append("PASSWORD")
            elif f == "EMAIL_OTP" and user.get("email"):
                out.append("EMAIL_OTP")
            elif f == "SMS_OTP" and user.get("phone"):
                out.append("SMS_OTP")
            elif f == "WEB_AUTHN":
                out.append("WEB_AUTHN")
        return out

    def user_auth_start(self, cid, client, params):
        self.need_flow(client, "ALLOW_USER_AUTH")
        username = params.get("USERNAME")
        if not isinstance(username, str) or not username:
            raise invalid_param("Missing required parameter USERNAME")
        self.check_secret_hash(cid, client, [username], params.get("SECRET_HASH"))
        user = self.user_for_auth(username, client)
        avail = self.available_first(user, client)
        pref = params.get("PREFERRED_CHALLENGE")
        if pref in avail and not self.pool.ignore_preferred:
            if pref == "PASSWORD_SRP":
                return self.srp_start(cid, client, params, flow="user_auth")
            if pref == "PASSWORD":
                if not self.pool.check_password(user, params.get("PASSWORD")):
                    raise not_authorized()
                return self.after_password(user, cid)
        sid = self.pool.new_session(user["username"], cid, "SELECT_CHALLENGE", avail=avail)
        return {"ChallengeName": "SELECT_CHALLENGE", "AvailableChallenges": avail,
                "ChallengeParameters": {}, "Session": sid}

    def select_challenge(self, user, cid, client, rec, resp):
        answer = resp.get("ANSWER")
        if answer not in rec["data"].get("avail", ()):
            raise invalid_param("Invalid ANSWER %s for SELECT_CHALLENGE" % (answer,))
        rec["used"] = True
        if answer == "PASSWORD_SRP":
            return self.srp_start(cid, client, dict(resp, USERNAME=user["username"]),
                                  flow="user_auth")
        if answer == "PASSWORD":
            if not self.pool.check_password(user, resp.get("PASSWORD")):
                raise not_authorized()
            return self.after_password(user, cid)
        raise invalid_param("the test pool answers no %s first factor" % answer)

    def srp_start(self, cid, client, params, flow=None):
        username = params.get("USERNAME")
        a_hex = params.get("SRP_A")
        if not isinstance(username, str) or not username:
            raise invalid_param("Missing required parameter USERNAME")
        if not isinstance(a_hex, str) or not re.fullmatch(r"[0-9a-fA-F]{1,2048}", a_hex):
            raise invalid_param("Missing required parameter SRP_A")
        self.check_secret_hash(cid, client, [username], params.get("SECRET_HASH"))
        user = self.user_for_auth(username, client)
        A = int(a_hex, 16)
        if A % SRP_N == 0:
            raise not_authorized("Incorrect username or password.")
        v = int(user["srp_verifier"], 16)
        b, B = srp_server_start(v)
        block = base64.b64encode(secrets.token_bytes(64) + uuid.uuid4().bytes).decode()
        sid = self.pool.new_session(user["username"], cid, "PASSWORD_VERIFIER",
                                    A=A, B=B, b=b, block=block, flow=flow)
        self.pool.srp_blocks[block] = sid
        if len(self.pool.srp_blocks) > MAX_SESSIONS:
            for k in list(self.pool.srp_blocks)[:len(self.pool.srp_blocks) - MAX_SESSIONS]:
                del self.pool.srp_blocks[k]
        # Cognito returns no Session here: SECRET_BLOCK carries the state
        return {"ChallengeName": "PASSWORD_VERIFIER",
                "ChallengeParameters": {"SALT": user["srp_salt"],
                                        "SECRET_BLOCK": block,
                                        "SRP_B": format(B, "x"),
                                        "USERNAME": user["username"],
                                        "USER_ID_FOR_SRP": user["username"]}}

    def refresh(self, cid, client, params):
        token = params.get("REFRESH_TOKEN")
        if not isinstance(token, str) or not token:
            raise invalid_param("Missing required parameter REFRESH_TOKEN")
        rec = self.pool.refresh_record(token)
        if rec is None or rec["provider"] != "cognito" or rec["client_id"] != cid:
            raise not_authorized("Invalid Refresh Token")
        if rec["revoked"] or rec["origin_jti"] in self.pool.revoked_origins:
            raise not_authorized("Refresh Token has been revoked")
        user = self.pool.users.get(rec["username"])
        if user is None or user["sub"] != rec["sub"]:
            raise not_authorized("Invalid Refresh Token")
        self.check_secret_hash(cid, client, [user["username"], user["sub"]],
                               params.get("SECRET_HASH"))
        if not user["enabled"]:
            raise not_authorized("User is disabled.")
        res = self.pool.issue_cognito(user, cid, rec["auth_time"], rec["origin_jti"],
                                      with_refresh=False)
        return {"AuthenticationResult": res, "ChallengeParameters": {}}

    def op_RespondToAuthChallenge(self, req):
        cid, client = self.client(req)
        name = req.get("ChallengeName")
        resp = req.get("ChallengeResponses")
        if not isinstance(resp, dict):
            resp = {}
        username = resp.get("USERNAME")
        if name == "PASSWORD_VERIFIER":
            block = resp.get("PASSWORD_CLAIM_SECRET_BLOCK")
            sid = req.get("Session") or (self.pool.srp_blocks.get(block)
                                         if isinstance(block, str) else None)
        else:
            sid = req.get("Session")
        if not isinstance(sid, str) or not sid:
            raise invalid_param("Missing required parameter Session" if name !=
                                "PASSWORD_VERIFIER" else
                                "Missing required parameter PASSWORD_CLAIM_SECRET_BLOCK")
        self.note_context(req, username)
        known = ("PASSWORD_VERIFIER", "SOFTWARE_TOKEN_MFA", "SELECT_MFA_TYPE",
                 "NEW_PASSWORD_REQUIRED", "MFA_SETUP", "SMS_MFA", "EMAIL_OTP",
                 "CUSTOM_CHALLENGE", "SELECT_CHALLENGE")
        if name not in known:
            raise invalid_param("Invalid challenge name %s" % (name,))
        rec = self.pool.take_session(sid, name, consume=False)
        if rec["client_id"] != cid:
            raise not_authorized("Invalid session for the user.")
        if not isinstance(username, str) or username != rec["username"]:
            if name == "PASSWORD_VERIFIER" or username is not None:
                raise not_authorized("Incorrect username or password.")
            raise invalid_param("Missing required parameter USERNAME")
        self.check_secret_hash(cid, client, [username], resp.get("SECRET_HASH"))
        user = self.pool.users.get(rec["username"])
        if user is None:
            raise CognitoError("UserNotFoundException", "User does not exist.")
        if not user["enabled"]:
            raise not_authorized("User is disabled.")
        auth_time = rec["data"].get("auth_time") or now_i()
        if name == "PASSWORD_VERIFIER":
            rec["used"] = True
            data = rec["data"]
            if resp.get("PASSWORD_CLAIM_SECRET_BLOCK") != data["block"]:
                raise not_authorized("Incorrect username or password.")
            ts = parse_srp_timestamp(resp.get("TIMESTAMP"))
            if ts is None:
                raise invalid_param("TIMESTAMP format should be EEE MMM d HH:mm:ss z yyyy "
                                    "in english.")
            if abs(ts - Clock.now()) > SRP_TIMESTAMP_SKEW:
                raise not_authorized("Incorrect username or password.")
            key = srp_server_key(data["A"], data["B"], data["b"],
                                 int(user["srp_verifier"], 16))
            msg = (self.pool.pool_name.encode() + user["username"].encode()
                   + base64.b64decode(data["block"]) + resp["TIMESTAMP"].encode())
            sig = resp.get("PASSWORD_CLAIM_SIGNATURE")
            want = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode() \
                if key else None
            if not want or not isinstance(sig, str) or not hmac.compare_digest(want, sig):
                raise not_authorized("Incorrect username or password.")
            if data.get("flow") == "custom" and self.pool.custom_auth:
                return self.custom_challenge(user, cid, 0, 0, now_i())
            return self.after_password(user, cid)
        if name == "CUSTOM_CHALLENGE":
            return self.custom_answer(user, cid, rec, resp, auth_time)
        if name == "SELECT_CHALLENGE":
            return self.select_challenge(user, cid, client, rec, resp)
        if name == "NEW_PASSWORD_REQUIRED":
            newpw = resp.get("NEW_PASSWORD")
            if not isinstance(newpw, str):
                raise invalid_param("Missing required parameter NEW_PASSWORD")
            err = password_policy_error(newpw)
            if err:
                raise CognitoError("InvalidPasswordException", err)
            rec["used"] = True
            self.pool.set_password(user, newpw)
            user["status"] = "CONFIRMED"
            self.pool.save()
            return self.mfa_step(user, cid, auth_time)
        if name == "SELECT_MFA_TYPE":
            answer = resp.get("ANSWER")
            if answer not in rec["data"].get("choose", ()):
                raise invalid_param("Invalid MFA type %s" % (answer,))
            if answer == "SMS_MFA" and not user.get("phone"):
                raise CognitoError("MFAMethodNotFoundException",
                                   "No MFA mechanism registerd in the account.")
            rec["used"] = True
            return self.factor_challenge(user, cid, auth_time, answer)
        if name in ("SMS_MFA", "EMAIL_OTP"):
            key = name + "_CODE" if name == "SMS_MFA" else "EMAIL_OTP_CODE"
            code = resp.get(key)
            if not isinstance(code, str):
                raise invalid_param("Missing required parameter %s" % key)
            if not hmac.compare_digest(code.encode(), rec["data"]["code"].encode()):
                rec["attempts"] += 1
                if rec["attempts"] >= MAX_CODE_ATTEMPTS:
                    rec["used"] = True
                raise CognitoError("CodeMismatchException", "Invalid code or auth state "
                                   "for the user.")
            rec["used"] = True
            return self.success(user, cid, auth_time)
        if name == "SOFTWARE_TOKEN_MFA":
            code = resp.get("SOFTWARE_TOKEN_MFA_CODE")
            if not isinstance(code, str):
                raise invalid_param("Missing required parameter SOFTWARE_TOKEN_MFA_CODE")
            result = self.pool.check_totp(user, code)
            if result != "ok":
                rec["attempts"] += 1
                if rec["attempts"] >= MAX_CODE_ATTEMPTS:
                    rec["used"] = True
                self.pool.save()
                if result == "reused":
                    raise CognitoError("ExpiredCodeException",
                                       "Your software token has already been used once.")
                raise CognitoError("CodeMismatchException", "Invalid code received for user")
            rec["used"] = True
            self.pool.save()
            return self.success(user, cid, auth_time)
        # MFA_SETUP: the session must come from a successful VerifySoftwareToken
        if not rec["data"].get("verified"):
            raise invalid_param("Software token MFA has not been verified for this session.")
        rec["used"] = True
        return self.success(user, cid, auth_time)

    def op_AssociateSoftwareToken(self, req):
        secret = totp_new_secret()
        if req.get("AccessToken") is not None:
            user, _ = self.pool.access_user(req.get("AccessToken"))
            user["totp_pending"] = secret
            self.pool.save()
            return {"SecretCode": secret}
        sid = req.get("Session")
        if not isinstance(sid, str) or not sid:
            raise invalid_param("Either AccessToken or Session must be provided")
        rec = self.pool.take_session(sid, "MFA_SETUP")
        new_sid = self.pool.new_session(rec["username"], rec["client_id"], "MFA_SETUP",
                                        auth_time=rec["data"].get("auth_time"),
                                        pending=secret, verified=False, associated=True)
        return {"SecretCode": secret, "Session": new_sid}

    def op_VerifySoftwareToken(self, req):
        code = req.get("UserCode")
        if not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}", code):
            raise invalid_param("1 validation error detected: Value at 'userCode' failed to "
                                "satisfy constraint: Member must satisfy regular expression "
                                "pattern: [0-9]+")
        name = req.get("FriendlyDeviceName")
        if req.get("AccessToken") is not None:
            user, _ = self.pool.access_user(req.get("AccessToken"))
            secret = user.get("totp_pending")
            if not secret:
                raise invalid_param("User has not associated a software token.")
            if self.pool._check_code(user, secret, code, fresh=True) != "ok":
                self.pool.save()
                raise CognitoError("EnableSoftwareTokenMFAException",
                                   "Code mismatch and fail enable Software Token MFA")
            user["totp_secret"] = secret
            user["totp_pending"] = None
            user["device_name"] = name if isinstance(name, str) else None
            self.pool.save()
            return {"Status": "SUCCESS"}
        sid = req.get("Session")
        if not isinstance(sid, str) or not sid:
            raise invalid_param("Either AccessToken or Session must be provided")
        rec = self.pool.take_session(sid, "MFA_SETUP", consume=False)
        secret = rec["data"].get("pending")
        user = self.pool.users.get(rec["username"])
        if not secret or user is None:
            raise invalid_param("User has not associated a software token.")
        if self.pool._check_code(user, secret, code, fresh=True) != "ok":
            rec["attempts"] += 1
            if rec["attempts"] >= MAX_CODE_ATTEMPTS:
                rec["used"] = True
            self.pool.save()
            raise CognitoError("EnableSoftwareTokenMFAException",
                               "Code mismatch and fail enable Software Token MFA")
        rec["used"] = True
        user["totp_secret"] = secret
        user["totp_enabled"] = True
        user["device_name"] = name if isinstance(name, str) else None
        self.pool.save()
        new_sid = self.pool.new_session(rec["username"], rec["client_id"], "MFA_SETUP",
                                        auth_time=rec["data"].get("auth_time"),
                                        verified=True)
        return {"Status": "SUCCESS", "Session": new_sid}

    def op_SetUserMFAPreference(self, req):
        user, _ = self.pool.access_user(req.get("AccessToken"))
        sw = req.get("SoftwareTokenMfaSettings")
        if isinstance(sw, dict):
            if sw.get("Enabled"):
                if not user.get("totp_secret"):
                    raise invalid_param("User has not verified software token mfa")
                user["totp_enabled"] = True
            elif sw.get("Enabled") is False:
                user["totp_enabled"] = False
        sms = req.get("SMSMfaSettings")
        if isinstance(sms, dict) and sms.get("Enabled"):
            raise invalid_param("User does not have delivery config set to turn on SMS_MFA")
        self.pool.save()
        return {}

    def op_GetUser(self, req):
        user, _ = self.pool.access_user(req.get("AccessToken"))
        out = {"UserAttributes": self.pool.user_attributes(user),
               "Username": user["username"]}
        if user.get("totp_secret") and user.get("totp_enabled"):
            out["PreferredMfaSetting"] = "SOFTWARE_TOKEN_MFA"
            out["UserMFASettingList"] = ["SOFTWARE_TOKEN_MFA"]
        return out

    def op_ChangePassword(self, req):
        user, _ = self.pool.access_user(req.get("AccessToken"))
        prev, new = req.get("PreviousPassword"), req.get("ProposedPassword")
        if not isinstance(new, str):
            raise invalid_param("Missing required parameter ProposedPassword")
        if not self.pool.check_password(user, prev):
            raise not_authorized("Incorrect username or password.")
        err = password_policy_error(new)
        if err:
            raise CognitoError("InvalidPasswordException", err)
        self.pool.set_password(user, new)
        self.pool.save()
        return {}

    def op_RevokeToken(self, req):
        token = req.get("Token")
        cid = req.get("ClientId")
        if not isinstance(token, str) or not isinstance(cid, str):
            raise invalid_param("Missing required parameter Token")
        client = self.pool.clients.get(cid)
        if client is None:
            raise CognitoError("ResourceNotFoundException",
                               "User pool client %s does not exist." % cid)
        if client.get("secret") and not hmac.compare_digest(
                str(req.get("ClientSecret") or ""), client["secret"]):
            raise not_authorized("Client secret does not match.")
        rec = self.pool.refresh_record(token)
        if rec is None or rec["provider"] != "cognito":
            raise CognitoError("UnsupportedTokenTypeException",
                               "The token type is not supported.")
        if rec["client_id"] != cid:
            raise CognitoError("UnauthorizedException", "Token does not belong to client.")
        self.pool.revoke_origin(rec["origin_jti"])
        self.pool.save()
        return {}

    def op_GlobalSignOut(self, req):
        user, _ = self.pool.access_user(req.get("AccessToken"))
        for rec in list(self.pool.refresh.values()):
            if rec["username"] == user["username"] and rec["sub"] == user["sub"]:
                self.pool.revoke_origin(rec["origin_jti"])
        self.pool.save()
        return {}


# ---------------------------------------------------------------------------
# generic OIDC provider


class OIDCProvider:
    def __init__(self, pool):
        self.pool = pool

    def discovery(self):
        iss = self.pool.oidc_issuer
        return {"issuer": iss,
                "authorization_endpoint": iss + "/auth",
                "token_endpoint": iss + "/token",
                "device_authorization_endpoint": iss + "/device_authorization",
                "userinfo_endpoint": iss + "/userinfo",
                "revocation_endpoint": iss + "/revoke",
                "jwks_uri": iss + "/jwks",
                "grant_types_supported": ["password", "refresh_token",
                                          "urn:ietf:params:oauth:grant-type:device_code"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                          "client_secret_post"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time",
                                     "preferred_username", "groups", "email", "amr"]}

    def client_auth(self, form, headers):
        cfg = self.pool.oidc
        auth = headers.get("Authorization") or ""
        cid = secret = None
        method = None
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip(), validate=True).decode()
                u, _, p = raw.partition(":")
                cid, secret = urllib.parse.unquote_plus(u), urllib.parse.unquote_plus(p)
                method = "basic"
            except Exception:
                raise OAuthError("invalid_client", "Malformed Basic credentials", 401,
                                 {"WWW-Authenticate": 'Basic realm="oidc"'})
            if "client_secret" in form:
                raise OAuthError("invalid_request", "More than one client authentication "
                                 "method")
            if form.get("client_id") not in (None, cid):
                raise OAuthError("invalid_request", "client_id does not match")
        else:
            cid = form.get("client_id")
            secret = form.get("client_secret")
            method = "post" if secret is not None else "none"
        if not cid:
            raise OAuthError("invalid_client", "Missing client_id", 401)
        if cid != cfg["client_id"]:
            raise OAuthError("invalid_client", "Invalid client credentials", 401,
                             {"WWW-Authenticate": 'Basic realm="oidc"'} if method == "basic"
                             else None)
        if cfg.get("client_secret"):
            if secret is None or not hmac.compare_digest(str(secret), cfg["client_secret"]):
                raise OAuthError("invalid_client", "Invalid client credentials", 401,
                                 {"WWW-Authenticate": 'Basic realm="oidc"'})
        return cid

    def tokens(self, user, cid, scope, amr, auth_time=None, refresh_rt=None):
        p = self.pool
        now = now_i()
        auth_time = auth_time or now
        key = p.keys[0]
        header = {"alg": "RS256", "typ": "JWT", "kid": key.kid}
        if p.oidc.get("aud_array"):
            aud = [cid, p.oidc.get("extra_aud") or "userpool-extra-audience"]
        else:
            aud = cid
        sid = str(uuid.uuid4())
        idc = {"iss": p.oidc_issuer, "sub": user["sub"], "aud": aud, "exp": now + p.token_ttl,
               "iat": now, "auth_time": auth_time, "jti": str(uuid.uuid4()),
               "preferred_username": user["username"], "groups": list(user.get("groups") or []),
               "amr": list(amr), "sid": sid}
        if isinstance(aud, list):
            idc["azp"] = cid
        if user.get("email"):
            idc["email"] = user["email"]
            idc["email_verified"] = True
        origin = str(uuid.uuid4())
        acc = {"iss": p.oidc_issuer, "sub": user["sub"], "aud": "account",
               "exp": now + p.token_ttl, "iat": now, "jti": str(uuid.uuid4()),
               "azp": cid, "client_id": cid, "scope": scope, "typ": "Bearer",
               "preferred_username": user["username"], "origin_jti": origin, "sid": sid}
        out = {"access_token": jwt_encode(header, acc, key), "token_type": "Bearer",
               "expires_in": p.token_ttl, "id_token": jwt_encode(header, idc, key),
               "scope": scope}
        if refresh_rt:
            out["refresh_token"] = refresh_rt
        else:
            out["refresh_token"] = p.new_refresh(user, cid, "oidc", origin, auth_time,
                                                 list(amr), scope)
        return out

    def check_user(self, username, password, code):
        """Returns (user, amr) or raises invalid_grant."""
        p = self.pool
        user = p.users.get(username) if isinstance(username, str) else None
        bad = OAuthError("invalid_grant", "Invalid user credentials")
        if user is None:
            raise bad
        if not user["enabled"]:
            raise OAuthError("invalid_grant", "Account disabled")
        if user["status"] != "CONFIRMED":
            raise OAuthError("invalid_grant", "Account is not fully set up")
        mode = p.oidc.get("otp_mode", "param")
        needs_otp = bool(user.get("totp_secret")) and mode != "none"
        if needs_otp and mode == "append":
            if not isinstance(password, str) or len(password) < 7:
                raise bad
            password, code = password[:-6], password[-6:]
        if not p.check_password(user, password):
            raise bad
        if not needs_otp:
            return user, ["pwd"]
        if not code:
            raise OAuthError("invalid_grant", "Invalid user credentials: TOTP code required")
        result = p.check_totp(user, code)
        p.save()
        if result == "reused":
            raise OAuthError("invalid_grant", "Invalid user credentials: code already used")
        if result != "ok":
            raise bad
        return user, ["pwd", "otp"]

    def token(self, form, headers):
        p = self.pool
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "Missing grant_type")
        cid = self.client_auth(form, headers)
        if grant == "password":
            scope = form.get("scope") or ""
            if "openid" not in scope.split():
                raise OAuthError("invalid_scope", "scope must contain openid")
            if form.get("username") is None or form.get("password") is None:
                raise OAuthError("invalid_request", "Missing username or password")
            code = form.get(p.oidc.get("otp_param") or "totp")
            user, amr = self.check_user(form.get("username"), form.get("password"), code)
            return self.tokens(user, cid, scope, amr)
        if grant == "refresh_token":
            rt = form.get("refresh_token")
            rec = p.refresh_record(rt)
            if rec is None or rec["provider"] != "oidc" or rec["client_id"] != cid:
                raise OAuthError("invalid_grant", "Invalid refresh token")
            if rec["revoked"] or rec["origin_jti"] in p.revoked_origins:
                raise OAuthError("invalid_grant", "Token is not active")
            user = p.users.get(rec["username"])
            if user is None or user["sub"] != rec["sub"]:
                raise OAuthError("invalid_grant", "Invalid refresh token")
            if not user["enabled"]:
                raise OAuthError("invalid_grant", "Account disabled")
            return self.tokens(user, cid, rec.get("scope") or "openid", rec.get("amr") or
                               ["pwd"], rec["auth_time"], refresh_rt=rt)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            return self.device_poll(form, cid)
        raise OAuthError("unsupported_grant_type", "Unsupported grant_type %s" % grant)

    def device_authorize(self, form, headers):
        p = self.pool
        cid = self.client_auth(form, headers)
        scope = form.get("scope") or "openid"
        now = Clock.now()
        for dc in [d for d, r in p.device_codes.items() if now > r["expires"] + 600]:
            del p.device_codes[dc]
        if len(p.device_codes) >= MAX_DEVICE_CODES:
            raise OAuthError("slow_down", "Too many pending device codes")
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(8))
        user_code = user_code[:4] + "-" + user_code[4:]
        device_code = b64url(secrets.token_bytes(32))
        interval = int(p.oidc.get("device_interval", 5))
        expires_in = int(p.oidc.get("device_expires_in", 600))
        p.device_codes[device_code] = {"user_code": user_code, "client_id": cid,
                                       "scope": scope, "expires": now + expires_in,
                                       "interval": interval, "last_poll": None,
                                       "state": "pending", "username": None, "amr": None}
        uri = p.oidc_issuer + "/device"
        return {"device_code": device_code, "user_code": user_code,
                "verification_uri": uri,
                "verification_uri_complete": uri + "?user_code=" + user_code,
                "expires_in": expires_in, "interval": interval}

    def device_poll(self, form, cid):
        p = self.pool
        rec = p.device_codes.get(form.get("device_code") or "")
        if rec is None or rec["client_id"] != cid:
            raise OAuthError("invalid_grant", "Invalid device code")
        now = Clock.now()
        if rec["state"] == "done":
            raise OAuthError("invalid_grant", "Device code already used")
        if now > rec["expires"]:
            raise OAuthError("expired_token", "Device code expired")
        if rec["state"] == "denied":
            raise OAuthError("access_denied", "The end-user denied the authorization request")
        last = rec["last_poll"]
        rec["last_poll"] = now
        if last is not None and now - last < rec["interval"]:
            rec["interval"] += 5   # RFC 8628 section 3.5
            raise OAuthError("slow_down", "Polling too fast; interval is now %d s"
                             % rec["interval"])
        if rec["state"] == "pending":
            raise OAuthError("authorization_pending", "The user has not yet approved")
        user = p.users.get(rec["username"])
        if user is None or not user["enabled"]:
            raise OAuthError("access_denied", "User not allowed")
        rec["state"] = "done"
        amr = rec["amr"] or (["pwd", "otp"] if user.get("totp_secret") else ["pwd"])
        return self.tokens(user, cid, rec["scope"], amr)

    def device_decide(self, user_code, username=None, approve=True, amr=None):
        for rec in self.pool.device_codes.values():
            if rec["user_code"] == user_code and rec["state"] == "pending":
                if approve:
                    if username not in self.pool.users:
                        raise ValueError("no such user")
                    rec["state"] = "approved"
                    rec["username"] = username
                    rec["amr"] = amr
                else:
                    rec["state"] = "denied"
                return True
        raise ValueError("no pending device code %r" % (user_code,))

    def bearer_user(self, headers):
        auth = headers.get("Authorization") or ""
        err = OAuthError("invalid_token", "Invalid access token", 401,
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if not auth.lower().startswith("bearer "):
            raise OAuthError("invalid_request", "Missing bearer token", 401,
                             {"WWW-Authenticate": 'Bearer realm="oidc"'})
        try:
            claims = self.pool.verify_own_jwt(auth[7:].strip(), self.pool.oidc_issuer)
        except ValueError:
            raise err
        if claims.get("typ") != "Bearer" or not isinstance(claims.get("exp"), int) \
                or claims["exp"] <= now_i() or claims.get("origin_jti") in \
                self.pool.revoked_origins:
            raise err
        user = self.pool.users.get(claims.get("preferred_username"))
        if user is None or user["sub"] != claims.get("sub") or not user["enabled"]:
            raise err
        return user

    def userinfo(self, headers):
        user = self.bearer_user(headers)
        out = {"sub": user["sub"], "preferred_username": user["username"],
               "groups": list(user.get("groups") or [])}
        if user.get("email"):
            out["email"] = user["email"]
            out["email_verified"] = True
        return out

    def revoke(self, form, headers):
        self.client_auth(form, headers)
        token = form.get("token") or ""
        rec = self.pool.refresh_record(token)
        if rec is not None and rec["provider"] == "oidc":
            self.pool.revoke_origin(rec["origin_jti"])
            self.pool.save()
            return
        try:
            claims = self.pool.verify_own_jwt(token, self.pool.oidc_issuer)
            if claims.get("origin_jti"):
                self.pool.revoke_origin(claims["origin_jti"])
                self.pool.save()
        except ValueError:
            pass   # RFC 7009: unknown tokens are not an error


# ---------------------------------------------------------------------------
# admin interface


class Admin:
    def __init__(self, pool, oidc):
        self.pool = pool
        self.oidc = oidc

    def call(self, op, req):
        fn = getattr(self, "op_" + op, None)
        if fn is None:
            raise ValueError("unknown admin op %r" % op)
        if not isinstance(req, dict):
            raise ValueError("body must be a JSON object")
        with self.pool.lock:
            return fn(req)

    def user(self, req):
        u = self.pool.users.get(req.get("username"))
        if u is None:
            raise ValueError("no such user %r" % (req.get("username"),))
        return u

    def op_create_user(self, req):
        username, password = req.get("username"), req.get("password")
        if not isinstance(username, str) or not username or not isinstance(password, str):
            raise ValueError("username and password are required")
        u = self.pool.create_user(username, password, req.get("groups"), req.get("email"),
                                  req.get("status", "CONFIRMED"), req.get("enabled", True))
        if req.get("totp_secret"):
            u["totp_secret"] = req["totp_secret"]
            u["totp_enabled"] = True
        if req.get("select_mfa"):
            u["select_mfa"] = True
        self.pool.save()
        return {"username": username, "sub": u["sub"], "totp_secret": u["totp_secret"]}

    def op_set_password(self, req):
        u = self.user(req)
        if not isinstance(req.get("password"), str):
            raise ValueError("password required")
        self.pool.set_password(u, req["password"])
        u["status"] = "CONFIRMED" if req.get("permanent", True) else "FORCE_CHANGE_PASSWORD"
        self.pool.save()
        return {}

    def op_require_new_password(self, req):
        self.user(req)["status"] = "FORCE_CHANGE_PASSWORD"
        self.pool.save()
        return {}

    def op_set_status(self, req):
        if req.get("status") not in USER_STATUSES:
            raise ValueError("status must be one of %s" % (USER_STATUSES,))
        self.user(req)["status"] = req["status"]
        self.pool.save()
        return {}

    def op_set_groups(self, req):
        self.user(req)["groups"] = list(req.get("groups") or [])
        self.pool.save()
        return {}

    def op_set_attributes(self, req):
        """Custom attributes, as AdminUpdateUserAttributes sets them:
        {"username": U, "attributes": {"custom:uid_number": "200123"}};
        a null value deletes one (AdminDeleteUserAttributes)."""
        attrs = req.get("attributes")
        if not isinstance(attrs, dict):
            raise ValueError("attributes must be an object")
        u = self.user(req)
        cur = dict(u.get("attributes") or {})
        for name, value in attrs.items():
            if not isinstance(name, str) or not name.startswith("custom:"):
                raise ValueError("only custom:NAME attributes")
            if value is None:
                cur.pop(name, None)
            else:
                cur[name] = str(value)
        u["attributes"] = cur
        self.pool.save()
        return {}

    def op_set_email(self, req):
        self.user(req)["email"] = req.get("email")
        self.pool.save()
        return {}

    def op_enable_totp(self, req):
        u = self.user(req)
        u["totp_secret"] = req.get("secret") or totp_new_secret()
        u["totp_enabled"] = True
        u["totp_last_step"] = -1
        self.pool.save()
        return {"secret": u["totp_secret"]}

    def op_set_totp_secret(self, req):
        if not isinstance(req.get("secret"), str):
            raise ValueError("secret required")
        return self.op_enable_totp(req)

    def op_disable_totp(self, req):
        u = self.user(req)
        u["totp_secret"] = None
        u["totp_enabled"] = False
        u["totp_pending"] = None
        self.pool.save()
        return {}

    def op_get_totp_secret(self, req):
        u = self.user(req)
        s = u.get("totp_secret")
        # MFA_SETUP at sign-in: the secret AssociateSoftwareToken gave the
        # newest live session of this user (tests that cannot read a screen)
        session_pending = None
        for rec in self.pool.sessions.values():
            if rec.get("username") == req.get("username") and rec["data"].get("pending"):
                session_pending = rec["data"]["pending"]
        return {"secret": s, "enabled": bool(u.get("totp_enabled")),
                "pending": u.get("totp_pending"), "session_pending": session_pending,
                "code": totp_now(s) if s else None,
                "last_step": u.get("totp_last_step", -1),
                "step": int(Clock.now() // TOTP_STEP)}

    def op_set_mfa(self, req):
        """SMS / email MFA of a user (phone, email, sms, email_mfa, preferred)."""
        u = self.user(req)
        for k in ("phone", "email"):
            if k in req:
                if req[k] is not None and not isinstance(req[k], str):
                    raise ValueError("%s must be a string" % k)
                u[k] = req[k]
        if "sms" in req:
            u["sms_mfa"] = bool(req["sms"])
        if "email_mfa" in req:
            u["email_mfa"] = bool(req["email_mfa"])
        if "preferred" in req:
            if req["preferred"] not in (None, "SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP"):
                raise ValueError("preferred must be SOFTWARE_TOKEN_MFA, SMS_MFA or EMAIL_OTP")
            u["preferred_mfa"] = req["preferred"]
        if "delivery_destination" in req:
            u["delivery_destination"] = req["delivery_destination"]
        self.pool.save()
        return {}

    def op_outbox(self, req):
        """The last SMS/email code the pool sent to a user (their phone)."""
        m = self.pool.outbox.get(req.get("username"))
        if m is None:
            raise ValueError("nothing sent to %r" % (req.get("username"),))
        return m

    def op_set_mfas_can_setup(self, req):
        lst = req.get("list")
        if not isinstance(lst, list) or not all(
                x in ("SOFTWARE_TOKEN_MFA", "SMS_MFA", "EMAIL_OTP") for x in lst):
            raise ValueError("list of SOFTWARE_TOKEN_MFA, SMS_MFA, EMAIL_OTP")
        self.pool.mfas_can_setup = lst
        return {}

    def op_set_custom_auth(self, req):
        """CUSTOM_AUTH triggers: {"rounds": [{"public": {...}, "answer": "..."}],
        "max_wrong": 3, "then_mfa": false, "skip_password": false}; null: none."""
        ca = req.get("custom_auth")
        if ca is not None:
            rounds = ca.get("rounds")
            if not isinstance(rounds, list) or not rounds or not all(
                    isinstance(r, dict) and isinstance(r.get("answer"), str) and
                    isinstance(r.get("public", {}), dict) for r in rounds):
                raise ValueError("rounds: a list of {public, answer}")
        self.pool.custom_auth = ca
        self.pool.custom_answers = []
        return {}

    def op_set_first_factors(self, req):
        lst = req.get("list")
        if not isinstance(lst, list) or not all(
                x in ("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN") for x in lst):
            raise ValueError("list of PASSWORD, EMAIL_OTP, SMS_OTP, WEB_AUTHN")
        self.pool.first_factors = lst
        if "ignore_preferred" in req:
            self.pool.ignore_preferred = bool(req["ignore_preferred"])
        return {}

    def op_contexts(self, req):
        return {"contexts": self.pool.contexts, "device_keys": self.pool.device_keys}

    def op_set_issuer_base(self, req):
        """The scheme and host tokens name in iss (null: this pool's URL)."""
        b = req.get("base")
        if b is not None and (not isinstance(b, str) or not b.startswith("https://")):
            raise ValueError("base: an https:// URL or null")
        self.pool.issuer_base = b
        return {"issuer": self.pool.issuer}

    def op_jwks_hosts(self, req):
        """Host headers of the key-set GETs so far; `reset` clears them."""
        hosts = list(self.pool.jwks_hosts)
        if req.get("reset"):
            self.pool.jwks_hosts = []
        return {"hosts": hosts}

    def op_custom_answers(self, req):
        return {"answers": self.pool.custom_answers}

    def op_set_select_mfa(self, req):
        self.user(req)["select_mfa"] = bool(req.get("enabled", True))
        self.pool.save()
        return {}

    def op_disable_user(self, req):
        self.user(req)["enabled"] = False
        self.pool.save()
        return {}

    def op_enable_user(self, req):
        self.user(req)["enabled"] = True
        self.pool.save()
        return {}

    def op_delete_user(self, req):
        self.user(req)
        with self.pool.lock:
            del self.pool.users[req["username"]]
            # as AdminDeleteUser: the user's refresh tokens go with them
            for k in [k for k, r in self.pool.refresh.items()
                      if r.get("username") == req["username"]]:
                del self.pool.refresh[k]
        self.pool.save()
        return {}

    def op_get_user(self, req):
        u = dict(self.user(req))
        for k in ("srp_salt", "srp_verifier"):
            u.pop(k, None)
        return u

    def op_list_users(self, req):
        return {"users": sorted(self.pool.users)}

    def op_issue_tokens(self, req):
        u = self.user(req)
        cid = req.get("client_id") or self.pool.default_client
        return self.pool.issue_cognito(u, cid, now_i())

    def op_set_jwk_extra(self, req):
        """Members added to every published JWK (a pool that leaks "d")."""
        m = req.get("members", {})
        if not isinstance(m, dict):
            raise ValueError("members must be an object")
        self.pool.jwk_extra = m
        return {}

    def op_rotate_keys(self, req):
        k = SigningKey()
        self.pool.keys.insert(0, k)
        self.pool.save()
        return {"kid": k.kid, "kids": [x.kid for x in self.pool.keys]}

    def op_drop_old_keys(self, req):
        self.pool.keys = self.pool.keys[:1]
        self.pool.save()
        return {"kids": [x.kid for x in self.pool.keys]}

    def op_keys(self, req):
        return {"kids": [x.kid for x in self.pool.keys], "signer": self.pool.keys[0].kid}

    def op_set_pool_mfa(self, req):
        if req.get("mfa") not in ("ON", "OPTIONAL", "OFF"):
            raise ValueError("mfa must be ON, OPTIONAL or OFF")
        self.pool.mfa = req["mfa"]
        self.pool.save()
        return {}

    def op_set_client(self, req):
        cid = req.get("client_id")
        if not isinstance(cid, str) or not cid:
            raise ValueError("client_id required")
        if req.get("delete"):
            self.pool.clients.pop(cid, None)
        else:
            self.pool.clients[cid] = {"secret": req.get("secret")}
            flows = req.get("auth_flows")
            if flows is not None:
                if not isinstance(flows, list) or not all(
                        isinstance(f, str) and f.startswith("ALLOW_") for f in flows):
                    raise ValueError("auth_flows: a list of ALLOW_* names")
                self.pool.clients[cid]["auth_flows"] = flows
            # PreventUserExistenceErrors = ENABLED (AWS's recommended
            # setting): an unknown name is answered like a wrong password,
            # NotAuthorizedException "Incorrect username or password."
            if req.get("prevent_user_existence_errors"):
                self.pool.clients[cid]["prevent_user_existence_errors"] = True
        self.pool.save()
        return {"clients": sorted(self.pool.clients)}

    def op_set_oidc(self, req):
        allowed = ("client_id", "client_secret", "otp_mode", "otp_param", "aud_array",
                   "extra_aud", "device_interval", "device_expires_in")
        for k, v in req.items():
            if k not in allowed:
                raise ValueError("unknown set_oidc field %r" % k)
            if k == "otp_mode" and v not in ("param", "append", "none"):
                raise ValueError("otp_mode must be param, append or none")
        self.pool.oidc.update(req)
        self.pool.save()
        return dict(self.pool.oidc)

    def op_set_session_ttl(self, req):
        self.pool.session_ttl = float(req.get("seconds", 180))
        self.pool.save()
        return {}

    def op_set_token_ttl(self, req):
        self.pool.token_ttl = int(req.get("seconds", 3600))
        self.pool.save()
        return {}

    def op_set_clock_offset(self, req):
        Clock.offset = float(req.get("seconds", 0))
        return {"now": Clock.now()}

    def op_device_approve(self, req):
        self.oidc.device_decide(req.get("user_code"), req.get("username"), True,
                                req.get("amr"))
        return {}

    def op_device_deny(self, req):
        self.oidc.device_decide(req.get("user_code"), approve=False)
        return {}

    def op_device_codes(self, req):
        return {"pending": [r["user_code"] for r in self.pool.device_codes.values()
                            if r["state"] == "pending"]}

    def op_fault(self, req):
        actions = ("delay", "hang", "drip", "status", "drop", "truncate", "nonjson",
                   "redirect", "forge")
        if req.get("action") not in actions:
            raise ValueError("action must be one of %s" % (actions,))
        match = req.get("match", "")
        if not isinstance(match, str):
            raise ValueError("match must be a string")
        if req.get("regex"):
            re.compile(match)
        if not isinstance(req.get("body_match", ""), str):
            raise ValueError("body_match must be a string")
        for k in ("seconds", "interval_ms", "retry_after"):
            if k in req and (not isinstance(req[k], (int, float)) or req[k] < 0):
                raise ValueError("%s must be a non-negative number" % k)
        for k in ("count", "code"):
            if k in req and req[k] is not None and (not isinstance(req[k], int) or req[k] < 1):
                raise ValueError("%s must be a positive integer" % k)
        if req["action"] == "forge" and req.get("kind") not in FORGE_KINDS:
            raise ValueError("forge kind must be one of %s" % (FORGE_KINDS,))
        self.pool.fault_seq += 1
        f = dict(req)
        f["id"] = self.pool.fault_seq
        f["hits"] = 0
        self.pool.faults.append(f)
        return {"id": f["id"]}

    def op_set_delay(self, req):
        ms = req.get("ms")
        if not isinstance(ms, (int, float)) or isinstance(ms, bool) or ms < 0 or ms > 10000:
            raise ValueError("ms must be a number from 0 to 10000")
        self.pool.delay_ms = float(ms)
        return {}

    def op_clear_faults(self, req):
        self.pool.faults = [f for f in self.pool.faults
                            if req.get("id") is not None and f["id"] != req["id"]]
        return {}

    def op_faults(self, req):
        return {"faults": self.pool.faults}

    def op_stats(self, req):
        return json.loads(json.dumps(self.pool.stats))

    def op_reset_stats(self, req):
        self.pool.stats = {"requests": {}, "targets": {}, "paths": {}, "connections": 0}
        return {}

    def op_forge(self, req):
        kind = req.get("kind", "valid")
        provider = req.get("provider", "cognito")
        token_use = req.get("token_use", "id")
        username = req.get("username")
        u = self.pool.users.get(username) if username else None
        if u is None:
            u = {"username": username or "forged-user", "sub": str(uuid.uuid4()),
                 "groups": [], "email": None}
        cid = req.get("client_id") or self.pool.default_client
        if provider == "oidc":
            toks = self.oidc.tokens(u, self.pool.oidc["client_id"], "openid", ["pwd"],
                                    refresh_rt="unused")
            honest = toks["id_token" if token_use == "id" else "access_token"]
        else:
            toks = self.pool.issue_cognito(u, cid, now_i(), with_refresh=False)
            honest = toks["IdToken" if token_use == "id" else "AccessToken"]
        header, claims, _, _ = jwt_split(honest)
        return {"token": forge_token(self.pool, kind, claims, header, req.get("claims"),
                                     req.get("header")),
                "claims": claims}

    def op_shutdown(self, req):
        threading.Thread(target=self.pool.server.shutdown, daemon=True).start()
        return {}


# ---------------------------------------------------------------------------
# HTTP


def fault_matches(f, key):
    m = f.get("match", "")
    if f.get("regex"):
        return re.search(m, key) is not None
    return m in key


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "userpool-testpool/1"
    sys_version = ""

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("pool: %s %s\n" % (self.address_string(), fmt % args))

    def setup(self):
        super().setup()
        self.connection.settimeout(SOCKET_TIMEOUT)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    # raw response writing ------------------------------------------------
    def build(self, status, body, ctype="application/json", headers=None):
        reason = http.server.BaseHTTPRequestHandler.responses.get(status, ("Status",))[0]
        lines = ["HTTP/1.1 %d %s" % (status, reason),
                 # The pool's own clock (set_clock_offset), as a real
                 # server's Date header shows its clock.
                 "Date: " + self.date_time_string(Clock.now()),
                 "Content-Type: " + ctype,
                 "Content-Length: %d" % len(body),
                 "x-amzn-RequestId: " + str(uuid.uuid4())]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), body

    def send_raw(self, head, body, mode=None, fault=None):
        if mode == "truncate":
            self.close_connection = True
            self.wfile.write(head + body[:len(body) // 2])
            self.wfile.flush()
            return
        if mode == "drip":
            data = head + body
            gap = max(0.0, float(fault.get("interval_ms", 100)) / 1000.0)
            deadline = time.monotonic() + DRIP_CAP
            for i in range(len(data)):
                if time.monotonic() > deadline:
                    self.close_connection = True
                    return
                self.wfile.write(data[i:i + 1])
                self.wfile.flush()
                time.sleep(gap)
            return
        self.wfile.write(head + body)
        self.wfile.flush()

    def json_body(self, obj):
        return json.dumps(obj, separators=(",", ":")).encode()

    # dispatch ------------------------------------------------------------
    def dispatch(self):
        pool = self.server.pool
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        target = self.headers.get("X-Amz-Target", "")
        key = "%s %s %s" % (self.command, path, target) if target else \
            "%s %s" % (self.command, path)
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self.send_raw(*self.build(411, b'{"message":"Content-Length required"}'))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            self.send_raw(*self.build(413, b'{"message":"Request body too large"}'))
            return
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True
            return
        is_admin = path.startswith("/admin/")
        fault = None
        if not is_admin:
            with pool.lock:
                st = pool.stats
                if not getattr(self, "counted", False):
                    # connections that carry test traffic, not admin calls
                    self.counted = True
                    st["connections"] += 1
                st["requests"][key] = st["requests"].get(key, 0) + 1
                st["paths"][path] = st["paths"].get(path, 0) + 1
                if target:
                    act = target.rsplit(".", 1)[-1]
                    st["targets"][act] = st["targets"].get(act, 0) + 1
                for f in pool.faults:
                    # body_match: only requests whose body holds this text
                    # (e.g. "SOFTWARE_TOKEN_MFA": the code's answer)
                    bm = f.get("body_match")
                    if fault_matches(f, key) and (not bm or bm.encode() in body):
                        f["hits"] += 1
                        fault = f
                        break
                if fault is not None and fault.get("count") is not None and \
                        fault["hits"] >= int(fault["count"]):
                    pool.faults.remove(fault)     # used up
        if not is_admin and pool.delay_ms > 0:
            time.sleep(pool.delay_ms / 1000.0)   # one simulated round trip
        action = fault["action"] if fault else None
        if action == "delay":
            time.sleep(min(float(fault.get("seconds", 1)), HANG_CAP))
        elif action == "hang":
            self.close_connection = True
            deadline = time.monotonic() + min(float(fault.get("seconds", 60)), HANG_CAP)
            while time.monotonic() < deadline:
                time.sleep(0.05)
            return
        elif action == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        elif action == "status":
            code = int(fault.get("code", 500))
            if "body" in fault:
                b = fault["body"].encode() if isinstance(fault["body"], str) else \
                    self.json_body(fault["body"])
                hdrs = {}
            elif path.startswith("/oidc/"):
                b = self.json_body({"error": fault.get("error", "temporarily_unavailable"),
                                    "error_description": "injected fault"})
                hdrs = {}
            else:
                t = fault.get("type") or ("TooManyRequestsException" if code == 429 else
                                          "InternalErrorException")
                b = self.json_body({"__type": t,
                                    "message": fault.get("message", "Injected fault")})
                hdrs = {"x-amzn-ErrorType": t + ":"}
            if code == 429 or code == 503:
                hdrs["Retry-After"] = str(fault.get("retry_after", 1))
            self.send_raw(*self.build(code, b, "application/x-amz-json-1.1"
                                      if not path.startswith("/oidc/") else
                                      "application/json", hdrs))
            return
        elif action == "nonjson":
            b = (b"<html><head><title>502 Bad Gateway</title></head><body>"
                 b"<h1>502 Bad Gateway</h1></body></html>\n")
            self.send_raw(*self.build(int(fault.get("code", 200)), b, "text/html"))
            return
        elif action == "redirect":
            loc = fault.get("location") or (pool.base_url.rstrip("/") + "/redirected" + path)
            self.send_raw(*self.build(int(fault.get("code", 302)), b"",
                                      "text/plain", {"Location": loc}))
            return
        try:
            status, ctype, out, hdrs = self.route(path, url.query, body, target, is_admin)
        except Exception:
            # a bug or an input we did not foresee: answer like AWS, never hang up
            if self.server.verbose:
                import traceback
                traceback.print_exc()
            status, ctype, hdrs = 500, "application/x-amz-json-1.1", \
                {"x-amzn-ErrorType": "InternalErrorException:"}
            out = self.json_body({"__type": "InternalErrorException",
                                  "message": "Internal server error"})
        if action == "forge" and status == 200:
            out = self.forge_response(out, fault)
        self.send_raw(*self.build(status, out, ctype, hdrs),
                      mode=action if action in ("truncate", "drip") else None, fault=fault)

    def forge_response(self, out, fault):
        pool = self.server.pool
        try:
            obj = json.loads(out)
        except ValueError:
            return out
        which = fault.get("token", "id")
        for container, field in ((obj.get("AuthenticationResult"),
                                  "IdToken" if which == "id" else "AccessToken"),
                                 (obj, "id_token" if which == "id" else "access_token")):
            if isinstance(container, dict) and isinstance(container.get(field), str):
                header, claims, _, _ = jwt_split(container[field])
                container[field] = forge_token(pool, fault["kind"], claims, header,
                                               fault.get("claims"), fault.get("header"))
        return self.json_body(obj)

    def route(self, path, query, body, target, is_admin):
        """Returns (status, content type, body bytes, extra headers)."""
        pool = self.server.pool
        if is_admin:
            op = path[len("/admin/"):]
            try:
                req = json.loads(body or b"{}")
                res = self.server.admin.call(op, req)
                return 200, "application/json", self.json_body(res), {}
            except (ValueError, KeyError, TypeError) as e:
                return 400, "application/json", self.json_body({"error": str(e)}), {}
        if path == "/" and self.command == "POST":
            return self.cognito(body, target)
        pfx = "/" + pool.pool_id
        if self.command == "GET" and path == pfx + "/.well-known/jwks.json":
            with pool.lock:
                pool.jwks_hosts.append(self.headers.get("Host", ""))
            return 200, "application/json", self.json_body(pool.jwks()), {}
        if self.command == "GET" and path == pfx + "/.well-known/openid-configuration":
            iss = pool.issuer
            doc = {"authorization_endpoint": pool.base_url + "oauth2/authorize",
                   "end_session_endpoint": pool.base_url + "logout",
                   "id_token_signing_alg_values_supported": ["RS256"],
                   "issuer": iss, "jwks_uri": iss + "/.well-known/jwks.json",
                   "response_types_supported": ["code", "token"],
                   "revocation_endpoint": pool.base_url + "oauth2/revoke",
                   "scopes_supported": ["openid", "email", "phone", "profile"],
                   "subject_types_supported": ["public"],
                   "token_endpoint": pool.base_url + "oauth2/token",
                   "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                             "client_secret_post"],
                   "userinfo_endpoint": pool.base_url + "oauth2/userInfo"}
            return 200, "application/json", self.json_body(doc), {}
        if path.startswith("/oidc/") or path == "/oidc":
            return self.oidc(path[len("/oidc"):], query, body)
        return 404, "application/json", self.json_body({"message": "Not Found"}), {}

    def cognito(self, body, target):
        prefix = "AWSCognitoIdentityProviderService."
        ctype = "application/x-amz-json-1.1"
        try:
            if not target.startswith(prefix):
                raise CognitoError("UnknownOperationException", None)
            try:
                req = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise CognitoError("SerializationException", "Malformed request body")
            res = self.server.cognito.call(target[len(prefix):], req)
            return 200, ctype, self.json_body(res), {}
        except CognitoError as e:
            obj = {"__type": e.type}
            if e.message is not None:
                obj["message"] = e.message
            return e.status, ctype, self.json_body(obj), {"x-amzn-ErrorType": e.type + ":"}

    def oidc(self, sub, query, body):
        pool = self.server.pool
        prov = self.server.oidc
        j = "application/json"
        nocache = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            if sub == "/.well-known/openid-configuration" and self.command == "GET":
                return 200, j, self.json_body(prov.discovery()), {}
            if sub == "/jwks" and self.command == "GET":
                return 200, j, self.json_body(pool.jwks()), {}
            if sub == "/userinfo" and self.command in ("GET", "POST"):
                with pool.lock:
                    return 200, j, self.json_body(prov.userinfo(self.headers)), {}
            if sub == "/device" and self.command == "GET":
                page = (b"<html><body><p>Approve the device code with the admin op "
                        b"device_approve.</p></body></html>")
                return 200, "text/html", page, {}
            if self.command != "POST" or sub not in ("/token", "/device_authorization",
                                                    "/revoke"):
                return 404, j, self.json_body({"error": "not_found"}), {}
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ct != "application/x-www-form-urlencoded":
                raise OAuthError("invalid_request",
                                 "Content-Type must be application/x-www-form-urlencoded")
            try:
                pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                                               strict_parsing=False, max_num_fields=64)
            except (UnicodeDecodeError, ValueError):
                raise OAuthError("invalid_request", "Malformed form body")
            form = {}
            for k, v in pairs:
                if k in form:
                    raise OAuthError("invalid_request", "Repeated parameter %s" % k)
                form[k] = v
            with pool.lock:
                if sub == "/token":
                    return 200, j, self.json_body(prov.token(form, self.headers)), nocache
                if sub == "/device_authorization":
                    return 200, j, self.json_body(prov.device_authorize(form, self.headers)), \
                        nocache
                prov.revoke(form, self.headers)
                return 200, j, b"", {}
        except OAuthError as e:
            hdrs = dict(nocache)
            hdrs.update(e.headers)
            return e.status, j, self.json_body({"error": e.error,
                                                "error_description": e.description}), hdrs


class PoolServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, pool, tls_ctx, verbose):
        self.pool = pool
        self.tls_ctx = tls_ctx
        self.verbose = verbose
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        # runs in the connection's own thread: a slow TLS handshake blocks
        # nobody else
        request.settimeout(SOCKET_TIMEOUT)
        # As production servers do: http.server writes the headers and the
        # body in separate sends, and with Nagle on the second one waits for
        # the client's delayed ACK (40 ms per response on Linux), a stall no
        # real pool has and that would pad every figure of make bench.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.tls_ctx is not None:
            try:
                request = self.tls_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                if self.verbose:
                    sys.stderr.write("pool: TLS handshake failed: %s\n" % e)
                return
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if self.tls_ctx is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description="userpool test user pool (Cognito + OIDC)")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    ap.add_argument("--state", required=True, help="directory for users and keys")
    ap.add_argument("--tls", metavar="CADIR",
                    help="serve HTTPS; CA (ca.pem) and server certificate live in CADIR")
    ap.add_argument("--tls-names", default="",
                    help="with --tls: more DNS names in the certificate (comma-separated)")
    ap.add_argument("--wrong-host-cert", action="store_true",
                    help="with --tls: serve a certificate for another host name")
    ap.add_argument("--pool-id", default="us-east-1_TestPool1")
    ap.add_argument("--region", default=None)
    ap.add_argument("--client-id", default="userpooltestclient00000001")
    ap.add_argument("--client-secret", default=None)
    ap.add_argument("--advertise-host", default="127.0.0.1",
                    help="host name used in URLs and issuers (127.0.0.1 or localhost)")
    ap.add_argument("--key-cache", metavar="DIR",
                    help="take the two initial signing keys of a new state from DIR "
                         "(generated there once): fast starts for test suites")
    ap.add_argument("--ready-file", help="also write the base URL to this file when ready")
    ap.add_argument("--delay-ms", type=float, default=0.0,
                    help="wait this long before answering every request that is not an "
                    "admin call (a simulated round trip; also admin set_delay)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"[\w-]+_[0-9a-zA-Z]+", args.pool_id):
        ap.error("--pool-id must look like us-east-1_AbC123")
    if args.advertise_host not in ("127.0.0.1", "localhost"):
        ap.error("--advertise-host must be 127.0.0.1 or localhost")
    args.region = args.region or args.pool_id.split("_", 1)[0]

    pool = Pool(args)
    tls_ctx = None
    if args.tls:
        names = [n for n in args.tls_names.split(",") if n]
        if not all(re.fullmatch(r"[a-z0-9.-]+", n) for n in names):
            ap.error("--tls-names: host names")
        certfile, keyfile = ensure_tls(args.tls, args.wrong_host_cert, names)
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        tls_ctx.load_cert_chain(certfile, keyfile)
    server = PoolServer(("127.0.0.1", args.port), pool, tls_ctx, args.verbose)
    pool.server = server
    server.cognito = CognitoAPI(pool)
    server.oidc = OIDCProvider(pool)
    server.admin = Admin(pool, server.oidc)
    port = server.server_address[1]
    pool.base_url = "%s://%s:%d/" % ("https" if tls_ctx else "http", args.advertise_host, port)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(pool.base_url + "\n")
        os.replace(args.ready_file + ".tmp", args.ready_file)
    sys.stdout.write("READY %s\n" % pool.base_url)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
