#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# promtool.sh — the metrics exposition must pass `promtool check metrics`.
# tests/unit/obs/test_metrics, run with HG_METRICS_DUMP=<file>, renders a
# registry with every kind of family and awkward label values (quotes,
# backslashes, newlines, invalid UTF-8, the overflow value) into <file>;
# this script checks that file with promtool and prints TAP. It builds
# nothing: run it through scripts/run-tests.sh, which exports HG_BUILD.
set -u
build=${HG_BUILD:?HG_BUILD is not set: run this through scripts/run-tests.sh}
bin="$build/tests/unit/obs/test_metrics"
tmp=$(mktemp -d) || { echo "1..1"; echo "not ok 1 - mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
out="$tmp/metrics.txt"
echo "1..3"
fail=0

if HG_METRICS_DUMP="$out" "$bin" >"$tmp/dump.log" 2>&1 && [ -s "$out" ]; then
    echo "ok 1 - test_metrics wrote an exposition ($(wc -l <"$out") lines)"
else
    echo "not ok 1 - $bin with HG_METRICS_DUMP did not write $out (is it built?)"
    sed 's/^/# /' "$tmp/dump.log"
    fail=1
fi

if ! command -v promtool >/dev/null 2>&1; then
    echo "not ok 2 - promtool not found: install Debian's 'prometheus' package (scripts/deps.sh does)"
    fail=1
elif [ -s "$out" ] && promtool check metrics <"$out" >"$tmp/promtool.log" 2>&1; then
    echo "ok 2 - promtool check metrics accepts the exposition"
else
    echo "not ok 2 - promtool check metrics rejected the exposition"
    sed 's/^/# /' "$tmp/promtool.log" 2>/dev/null
    fail=1
fi

# Every family the HTTP layer will register is in the dump with its type.
missing=""
for want in "haulgate_http_requests_total counter" "haulgate_http_request_duration_seconds histogram" \
            "haulgate_tls_handshake_failures_total counter" "haulgate_cert_expiry_timestamp_seconds gauge" \
            "haulgate_build_info gauge" "haulgate_http_connections gauge"; do
    grep -qx "# TYPE $want" "$out" 2>/dev/null || missing="$missing [$want]"
done
if [ -z "$missing" ] && grep -q '_bucket{route=.*,le="+Inf"}' "$out"; then
    echo "ok 3 - exposition has every documented family and a +Inf bucket"
else
    echo "not ok 3 - exposition lacks:$missing (or the le=\"+Inf\" bucket)"
    fail=1
fi
exit $fail
