#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# and run each for a bounded time on its seed corpus (jws, jwks: made here;
# the others: tests/fuzz/corpus/<target>/). Not part of `make check`;
# `make fuzz FUZZ_SECONDS=60` calls it.
#
# Targets: jws, jwks (lib/jwt.c, lib/jwks.c), config (lib/config.c), store
# (the state-record reader), nss (the NSS module's file reader), cognito and
# oidc (response parsing through the public sign-in calls and a fake
# transport, tests/fuzz/fake_http.c), srp (the server's SRP values), otpauth
# (otpauth URI, base32 secret, QR text), http (lib/http_parse.c: the HTTP/1.1
# response parser, fed whole and in pieces; the Date header, the URL split).
#
# Usage: tests/fuzz/run-fuzz.sh [SECONDS] [TARGET...]  (default 60 s, all targets)
# Environment: CLANG (default clang), SRCDIR (source tree), BUILDDIR (where
# fuzz-build/ goes, default .), CONFIG_H (the configured config.h, if any).
set -eu

secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-jws jwks config store nss cognito oidc srp otpauth http}
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${BUILDDIR:-.}
out=$builddir/fuzz-build
clang=${CLANG:-clang}
python=${PYTHON3:-/usr/bin/python3}

if ! command -v "$clang" >/dev/null 2>&1; then
	echo "run-fuzz: $clang not found: fuzz targets not built" >&2
	exit 0
fi
case $secs in *[!0-9]* | '') echo "run-fuzz: SECONDS must be a number" >&2; exit 2 ;; esac

mkdir -p "$out/obj" "$out/artifacts"
if [ -n "${CONFIG_H:-}" ] && [ -f "$CONFIG_H" ]; then
	inc="-include $CONFIG_H"
else
	inc="-D_GNU_SOURCE -DPACKAGE_VERSION=\"fuzz\""
fi
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-g -O1 -std=gnu11 $san -I$srcdir/include -I$srcdir/lib"

# Every library source, as an archive: the linker takes only the objects
# the parsers reach.
rm -f "$out/libfuzzup.a" "$out"/obj/*.o
for src in "$srcdir"/lib/*.c; do
	f=$(basename "$src" .c)
	# shellcheck disable=SC2086
	"$clang" $inc $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$out/obj/$f.o"
done
ar rcs "$out/libfuzzup.a" "$out"/obj/*.o
# The same without lib/http.c, for the targets that bring the fake transport.
ar rcs "$out/libfuzzup-nohttp.a" $(ls "$out"/obj/*.o | grep -v '/http\.o$')
libs=$(pkg-config --libs jansson libssl libcrypto libqrencode 2>/dev/null ||
	echo "-ljansson -lssl -lcrypto -lqrencode")
# A build configured with tpm2-tss compiles lib/tpm.c and lib/tss.c against
# its headers; the offline verifier (lib/store.c) reaches them. tpm2-tss
# itself is dlopen'ed at first use (lib/tss.c): no libtss2 to link, only
# dlopen (libc since glibc 2.34; -ldl before, an empty stub after).
if [ -n "${CONFIG_H:-}" ] && grep -q '^#define HAVE_TSS2 1' "$CONFIG_H" 2>/dev/null; then
	libs="$libs -ldl"
fi

nssdir=$out/nss-state
for t in $targets; do
	src="$srcdir/tests/fuzz/fuzz_$t.c"
	case $t in
	cognito | oidc) extra="$srcdir/tests/fuzz/fake_http.c $out/libfuzzup-nohttp.a" ;;
	nss) extra="$srcdir/nss/nss_userpool.c -DNSS_DIR=\"$nssdir\"" ;;
	*) extra="$out/libfuzzup.a" ;;
	esac
	# shellcheck disable=SC2086
	"$clang" $inc $cflags -fsanitize=fuzzer "$src" $extra -o "$out/fuzz_$t" $libs -lpthread
done

# Seeds: well-formed and near-miss tokens and key sets (stdlib only).
"$python" - "$out/seeds" <<'PY'
import base64, json, os, random, sys
d = sys.argv[1]
for t in ("jws", "jwks"):
    os.makedirs(os.path.join(d, t), exist_ok=True)
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def put(t, name, data):
    with open(os.path.join(d, t, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
rnd = random.Random(4)
payload = json.dumps({"sub": "s", "iss": "https://issuer", "aud": "c", "exp": 1700000000,
                      "token_use": "id", "cognito:groups": ["a", "b"]}).encode()
for i, (alg, kid, n) in enumerate([("RS256", "rsa", 256), ("PS256", "rsa", 256),
                                    ("ES256", "ec", 64), ("ES384", "ec", 96),
                                    ("RS512", "x", 256), ("none", "rsa", 0),
                                    ("HS256", "rsa", 32)]):
    hdr = json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode()
    sig = bytes(rnd.randrange(256) for _ in range(n))
    put("jws", "tok%d" % i, "%s.%s.%s" % (b64(hdr), b64(payload), b64(sig)))
put("jws", "crit", "%s.%s.AAAA" % (b64(b'{"alg":"RS256","kid":"a","crit":["x"]}'), b64(payload)))
put("jws", "dup", "%s.%s.AAAA" % (b64(b'{"alg":"RS256","alg":"none","kid":"a"}'), b64(payload)))
ec = {"kty": "EC", "kid": "ec", "crv": "P-256", "use": "sig", "alg": "ES256",
      "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
      "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
nint = rnd.getrandbits(2048) | (1 << 2047) | 1
rsa = {"kty": "RSA", "kid": "rsa", "alg": "RS256", "use": "sig",
       "n": b64(nint.to_bytes(256, "big")), "e": "AQAB"}
put("jwks", "both", json.dumps({"keys": [rsa, ec]}))
put("jwks", "dupkid", json.dumps({"keys": [rsa, dict(rsa), ec]}))
put("jwks", "p384", json.dumps({"keys": [dict(ec, crv="P-384")]}))
put("jwks", "notarray", '{"keys":{}}')
PY

status=0
for t in $targets; do
	mkdir -p "$out/corpus_$t"
	case $t in
	jws | jwks) seeds=$out/seeds/$t ;;
	*) seeds=$srcdir/tests/fuzz/corpus/$t ;;
	esac
	echo "run-fuzz: fuzz_$t for ${secs}s"
	if ! "$out/fuzz_$t" -max_total_time="$secs" -max_len=70000 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/${t}-" \
		"$out/corpus_$t" "$seeds" >"$out/fuzz_$t.log" 2>&1; then
		echo "run-fuzz: fuzz_$t FAILED (see $out/fuzz_$t.log and $out/artifacts/)" >&2
		tail -n 40 "$out/fuzz_$t.log" >&2
		status=1
	else
		grep -E '^stat::number_of_executed_runs|^Done' "$out/fuzz_$t.log" || true
	fi
done
exit $status
