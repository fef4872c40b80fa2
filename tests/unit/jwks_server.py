# SPDX-License-Identifier: Apache-2.0
"""Tiny JWKS server for the unit tests of lib/jwks.c and lib/jwt.c.

Usage: jwks_server.py BODY_FILE COUNT_FILE [LIFETIME_SECONDS]

Listens on 127.0.0.1, port chosen by the kernel, and prints the port on the
first line of stdout. Every GET other than /count answers with the bytes of
BODY_FILE as they are at that moment (the test rewrites the file), with the
status from BODY_FILE.status when that file exists (default 200), and counts
the request: the count is written to COUNT_FILE (atomically, before the
answer goes out) and served at /count. The server exits by itself after
LIFETIME_SECONDS (default 120); the test kills it earlier.
"""
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY, COUNT_FILE = sys.argv[1], sys.argv[2]
LIFETIME = float(sys.argv[3]) if len(sys.argv) > 3 else 120.0
lock = threading.Lock()
count = 0


def write_count(n):
    tmp = COUNT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % n)
    os.replace(tmp, COUNT_FILE)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global count
        if self.path == "/count":
            with lock:
                n = count
            self.send(200, b"%d\n" % n, "text/plain")
            return
        with lock:
            count += 1
            write_count(count)
        status = 200
        try:
            with open(BODY + ".status") as f:
                status = int(f.read().strip())
        except FileNotFoundError:
            pass
        try:
            with open(BODY, "rb") as f:
                body = f.read()
        except FileNotFoundError:
            body = b""
        self.send(status, body)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up on an oversize body is expected here.
        pass


def main():
    write_count(0)
    srv = Server(("127.0.0.1", 0), Handler)
    timer = threading.Timer(LIFETIME, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    sys.stdout.write("%d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
