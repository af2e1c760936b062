#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check_config.sh — `haulgated --check-config`: the example is valid (exit 0);
# a broken file exits 1 with FILE:LINE and the key; usage errors exit 2. TAP.
set -u
bin=${HG_BUILD:?}/bin/haulgated
tmp=$(mktemp -d /tmp/haulgate-cc-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "1..4"
out=$("$bin" --check-config config/haulgate.example.yaml 2>&1); rc=$?
[ $rc -eq 0 ] && [[ "$out" == *"configuration is valid"* ]] && echo "ok 1 - example config is valid" || echo "not ok 1 - example config: rc=$rc $out"
printf 'api:\n  listen: 127.0.0.1:8443\n  tls:\n    cert: a\n    key: b\n    ca: c\n  treads: 4\n' > "$tmp/bad.yaml"
out=$("$bin" --check-config "$tmp/bad.yaml" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"bad.yaml:7"* ]] && [[ "$out" == *"api.treads"* ]] && [[ "$out" == *"threads"* ]] \
    && echo "ok 2 - unknown key: exit 1, file:line, key and suggestion" || echo "not ok 2 - rc=$rc $out"
out=$("$bin" --check-config "$tmp/missing.yaml" 2>&1); rc=$?
[ $rc -eq 1 ] && [[ "$out" == *"missing.yaml"* ]] && echo "ok 3 - missing file: exit 1 naming it" || echo "not ok 3 - rc=$rc $out"
"$bin" --no-such-flag >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && echo "ok 4 - usage error exits 2" || echo "not ok 4 - rc=$rc"
