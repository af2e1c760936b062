#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh BUILD_DIR — `make run`: a development PKI in run/pki (made once),
# then haulgated in the foreground on config/haulgate.example.yaml, and a
# ready-to-paste curl once it listens. Ctrl-C stops it cleanly.
set -eu
build=${1:-build/release}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
pki=run/pki
cfg=config/haulgate.example.yaml
if [ ! -f "$pki/ca.crt" ]; then
    echo "run: creating a development PKI in $pki (for development only)"
    "$build/bin/haulctl" pki init "$pki"
fi
mkdir -p run
data=$(sed -n 's/^data_dir:[[:space:]]*//p' "$cfg" | head -1)
listen="config/${data:-../run/data}/listen.json"
rm -f "$listen"

"$build/bin/haulgated" --config "$cfg" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit $?' INT TERM
for _ in $(seq 1 100); do
    [ -f "$listen" ] && break
    kill -0 $pid 2>/dev/null || { wait $pid; exit $?; }
    sleep 0.1
done
api=$(sed -n 's/.*"api":"\([^"]*\)".*/\1/p' "$listen")
admin=$(sed -n 's/.*"admin":"\([^"]*\)".*/\1/p' "$listen")
cat <<MSG

haulgated is running (pid $pid). Logs are JSON lines on this terminal.

  A token:    TOKEN=\$(curl -s --cacert $pki/ca.crt --cert $pki/tms.crt --key $pki/tms.key \\
                -d grant_type=client_credentials https://${api}/oauth2/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  Who am I?   curl --cacert $pki/ca.crt --cert $pki/tms.crt --key $pki/tms.key \\
                -H "Authorization: Bearer \$TOKEN" https://${api}/v1/whoami
  Policy:     config/policy.example.yaml (docs/policy.md); tokens: docs/auth.md
  Health:     curl http://${admin}/healthz
  Metrics:    curl http://${admin}/metrics
  Reload TLS, policy and keys: kill -HUP $pid        Stop: Ctrl-C

MSG
wait $pid
