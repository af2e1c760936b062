#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# testssl.sh — an outside opinion of the API listener's TLS, with Debian's
# testssl.sh, restricted to the checks that matter here so it stays fast:
# only TLS 1.3 offered, no weak cipher, client certificate required.
# Prints TAP.
set -u
build=${HG_BUILD:?}
echo "1..5"
if ! command -v testssl >/dev/null 2>&1; then
    for i in 1 2 3 4 5; do echo "not ok $i - testssl is not installed (Debian package testssl.sh)"; done
    exit 1
fi
tmp=$(mktemp -d /tmp/haulgate-testssl-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$build/bin/haulctl" pki init "$tmp/pki" >/dev/null
cat > "$tmp/cfg.yaml" <<CFG
data_dir: $tmp/data
api:
  listen: 127.0.0.1:0
  tls: {cert: $tmp/pki/server.crt, key: $tmp/pki/server.key, ca: $tmp/pki/ca.crt, crl: $tmp/pki/crl.pem}
admin:
  listen: 127.0.0.1:0
log:
  level: error
CFG
"$build/bin/haulgated" --config "$tmp/cfg.yaml" 2>"$tmp/daemon.log" &
pid=$!
for _ in $(seq 1 100); do [ -f "$tmp/data/listen.json" ] && break; sleep 0.1; done
port=$(sed -n 's/.*"api":"127.0.0.1:\([0-9]*\)".*/\1/p' "$tmp/data/listen.json" 2>/dev/null)
if [ -z "$port" ]; then
    for i in 1 2 3 4 5; do echo "not ok $i - haulgated did not start"; done
    cat "$tmp/daemon.log" >&2
    exit 1
fi
# -p protocols, -E ciphers per protocol, -S server defaults (client auth);
# a JSON file is the stable interface.
timeout 120 testssl --quiet --color 0 --warnings off --openssl /usr/bin/openssl \
    --jsonfile "$tmp/out.json" -p -E -S --sneaky "127.0.0.1:$port" >"$tmp/testssl.txt" 2>&1
sev() { python3 - "$tmp/out.json" "$1" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    print("missing"); sys.exit(0)
want = sys.argv[2]
for f in data:
    if f.get("id") == want:
        print(f.get("finding", "")); break
else:
    print("missing")
PY
}
n=0
check() { # description, condition (0 = ok)
    n=$((n + 1))
    if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}
offered() { case "$(sev "$1")" in *"not offered"*) return 1;; missing) return 1;; *offered*) return 0;; *) return 1;; esac; }
ok=0; for p in SSLv2 SSLv3 TLS1 TLS1_1 TLS1_2; do offered "$p" && ok=1; done
check "no protocol below TLS 1.3 is offered" $ok
offered TLS1_3; check "TLS 1.3 is offered" $?
# every cipher testssl lists must be one of the three TLS 1.3 AEAD suites
bad=$(python3 - "$tmp/out.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
good = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256")
bad = [f["finding"] for f in data if f.get("id", "").startswith("cipher-tls") and not any(g in f.get("finding", "") for g in good)]
seen = [f for f in data if f.get("id", "").startswith("cipher-tls")]
print("none-seen" if not seen else ";".join(bad))
PY
)
[ -z "$bad" ]; check "only AEAD TLS 1.3 suites (${bad:-ok})" $?
# testssl 3.0 cannot report client authentication for TLS 1.3 directly; the
# certificate_authorities extension (#47) in what the server sent can only
# come from a CertificateRequest, so it shows that one is sent.
case "$(sev TLS_extensions)" in *"certificate authorities/#47"*) r=0;; *) r=1;; esac
check "server sends a CertificateRequest (certificate_authorities extension)" $r
# ... and "required": without a client certificate no request gets an answer.
reply=$(printf 'GET /v1/whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
        timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" -CAfile "$tmp/pki/ca.crt" 2>&1)
case "$reply" in *"HTTP/1.1"*) r=1;; *) r=0;; esac
check "without a client certificate the request is refused (s_client: $(echo "$reply" | grep -o 'alert[^:]*' | head -1))" $r
