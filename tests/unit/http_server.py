# SPDX-License-Identifier: Apache-2.0
"""Scripted HTTP(S) server for tests/unit/test_http.c.

Listens on 127.0.0.1 only, on ports chosen by the kernel, and prints one line
    ports http=N https=N badhost=N proxy=N tlsproxy=N
once it is ready. With --certdir it first writes a test CA (ca.pem), an
unrelated CA (other-ca.pem), the server certificate (127.0.0.1 and
localhost) and one for the wrong host name (wrong.example), all signed at
start-up with python3-cryptography.

HTTP/1.1 with keep-alive: every response carries a Content-Length unless the
behaviour is to break the framing. Behaviours by path:
  /ok        200 "hello"
  /err       400 with x-amzn-ErrorType and a JSON body
  /status/N  status N with a short body (5xx, 429, 404 ...)
  /big?n=N   200 with N bytes (default 300 KiB, over the 256 KiB cap)
  /hang      reads the request, never answers
  /drip      headers at once, then one body byte every 0.3 s
  /redirect  302 to /target (which counts its hits)
  /target    200, counted
  /drop      closes the connection without an answer
  /second-drop  answers the first request of a connection, reads a later one
             and closes without an answer (counted as /target)
  /truncate  Content-Length 1000, 10 bytes, close
  /echo      JSON: method, headers, length of the body (never the body)
  /count     JSON: connections accepted so far, hits on /target, proxy tunnels
  /chunked   200, Transfer-Encoding: chunked (extensions, a trailer)
  /close     200 without Content-Length, Connection: close (read to the end)
  /both      Content-Length and Transfer-Encoding together (malformed)
  /slam      closes at once, the request body unread (the client's send fails)

proxy= is a CONNECT proxy (tlsproxy= the same behind TLS with the server
certificate): it opens a tunnel only to 127.0.0.1 on this server's own
ports and answers 403 to anything else; each tunnel is counted.

It exits after --lifetime seconds, or as soon as its standard input closes
(the test process is gone).
"""

import argparse
import datetime
import http.server
import json
import os
import select
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
STATS = {"connections": 0, "target": 0, "tunnels": 0}
OWN_PORTS = set()


def make_certs(d):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    now = datetime.datetime.utcnow()

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca(cn):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(name(cn)).issuer_name(name(cn))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), critical=True)
                .sign(key, hashes.SHA256()))
        return key, cert

    def leaf(ca_key, ca_cert, cn, sans):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(name(cn)).issuer_name(ca_cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        return key, cert

    def write(path, key, cert):
        with open(path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
            if key is not None:
                f.write(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))

    ca_key, ca_cert = ca("userpool test CA")
    other_key, other_cert = ca("userpool unrelated CA")
    good = leaf(ca_key, ca_cert, "127.0.0.1",
                [x509.DNSName("localhost"),
                 x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    bad = leaf(ca_key, ca_cert, "wrong.example", [x509.DNSName("wrong.example")])
    write(os.path.join(d, "ca.pem"), None, ca_cert)
    write(os.path.join(d, "other-ca.pem"), None, other_cert)
    write(os.path.join(d, "server.pem"), *good)
    write(os.path.join(d, "badhost.pem"), *bad)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uptest"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/slam":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = self.read_body()
        p = url.path
        if p == "/ok":
            self.reply(200, "hello", [("Content-Type", "text/plain")])
        elif p == "/err":
            self.reply(400, '{"__type":"NotAuthorizedException","message":"Incorrect"}',
                       [("x-amzn-ErrorType", "NotAuthorizedException:"),
                        ("Content-Type", "application/x-amz-json-1.1")])
        elif p.startswith("/status/"):
            self.reply(int(p[len("/status/"):]), "status body")
        elif p == "/big":
            n = int(q.get("n", [str(300 * 1024)])[0])
            self.reply(200, b"B" * n)
        elif p == "/hang":
            time.sleep(60)
            self.close_connection = True
        elif p == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            try:
                for _ in range(100):
                    self.wfile.write(b"d")
                    self.wfile.flush()
                    time.sleep(0.3)
            except OSError:
                pass
            self.close_connection = True
        elif p == "/redirect":
            self.reply(302, "moved", [("Location", "/target")])
        elif p == "/target":
            with LOCK:
                STATS["target"] += 1
            self.reply(200, "target")
        elif p == "/second-drop":
            # counted as /target; the first request of a connection is
            # answered (kept alive), a later one read and then dropped
            with LOCK:
                STATS["target"] += 1
            self.nreq = getattr(self, "nreq", 0) + 1
            if self.nreq == 1:
                self.reply(200, "first")
            else:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        elif p == "/drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif p == "/truncate":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif p == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Check")
            self.end_headers()
            self.wfile.write(b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n"
                             b"0\r\nX-Check: yes\r\n\r\n")
        elif p == "/extra":
            # A response that fills exactly one TLS record (16384
            # bytes), then a second, unasked response in the next record,
            # both in one write.
            stale = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nSTALE"
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %05d\r\n\r\n" % 0
            n = 16384 - len(head)
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %05d\r\n\r\n" % n
            self.wfile.write(head + b"x" * n + stale)
            self.wfile.flush()
        elif p == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.wfile.flush()
            self.close_connection = True
        elif p == "/both":
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\n\r\n")
        elif p == "/echo":
            out = {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body_len": len(body),
            }
            self.reply(200, json.dumps(out), [("Content-Type", "application/json")])
        elif p == "/count":
            with LOCK:
                out = dict(STATS)
            self.reply(200, json.dumps(out), [("Content-Type", "application/json")])
        else:
            self.reply(404, "not found")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls_ctx):
        self.tls_ctx = tls_ctx
        super().__init__(("127.0.0.1", 0), Handler)

    def finish_request(self, request, client_address):
        with LOCK:
            STATS["connections"] += 1
        if self.tls_ctx is not None:
            # Handshake in the connection's own thread: a client that gives
            # up half-way must not stall the accept loop.
            try:
                request.settimeout(10)
                request = self.tls_ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        try:
            Handler(request, client_address, self)
        except OSError:
            pass

    def handle_error(self, request, client_address):
        pass


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls_ctx):
        self.tls_ctx = tls_ctx
        super().__init__(("127.0.0.1", 0), None)

    def handle_error(self, request, client_address):
        pass

    def finish_request(self, request, client_address):
        if self.tls_ctx is not None:
            try:
                request.settimeout(10)
                request = self.tls_ctx.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        try:
            self.tunnel(request)
        except OSError:
            pass
        finally:
            request.close()

    def tunnel(self, c):
        c.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            d = c.recv(4096)
            if not d:
                return
            head += d
        line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        host, _, port = line[1].rpartition(":") if len(line) == 3 else ("", "", "")
        if (line[0] != "CONNECT" or host != "127.0.0.1" or not port.isdigit()
                or int(port) not in OWN_PORTS):
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\ndenied")
            return
        up = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
        with LOCK:
            STATS["tunnels"] += 1
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        # Relay both ways for at most 60 s (the TLS socket: pending bytes first).
        deadline = time.monotonic() + 60
        c.setblocking(False)
        up.setblocking(False)
        try:
            while time.monotonic() < deadline:
                ready = [c] if getattr(c, "pending", lambda: 0)() else []
                if not ready:
                    ready, _, _ = select.select([c, up], [], [], 1)
                for s in ready:
                    try:
                        d = s.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        continue
                    if not d:
                        return
                    (up if s is c else c).setblocking(True)
                    (up if s is c else c).sendall(d)
                    (up if s is c else c).setblocking(False)
        finally:
            up.close()


def serve_proxy(tls_ctx):
    srv = Proxy(tls_ctx)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def serve(tls_ctx):
    srv = Server(tls_ctx)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def tls_context(certfile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile)
    return ctx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--certdir")
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()

    http_port = serve(None)
    https_port = badhost_port = 0
    if a.certdir:
        make_certs(a.certdir)
        https_port = serve(tls_context(os.path.join(a.certdir, "server.pem")))
        badhost_port = serve(tls_context(os.path.join(a.certdir, "badhost.pem")))
    OWN_PORTS.update((http_port, https_port, badhost_port))
    proxy_port = serve_proxy(None)
    tlsproxy_port = serve_proxy(tls_context(os.path.join(a.certdir, "server.pem"))) \
        if a.certdir else 0
    print("ports http=%d https=%d badhost=%d proxy=%d tlsproxy=%d"
          % (http_port, https_port, badhost_port, proxy_port, tlsproxy_port), flush=True)

    deadline = time.monotonic() + a.lifetime

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    while time.monotonic() < deadline:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    main()
