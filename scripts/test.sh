#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test.sh — the whole suite: release build (unit, vectors, fuzz replay,
# integration, tool checks), then the same C tests built with ASan+UBSan.
# Ends with exactly one line "N passed, N failed"; non-zero exit on failure.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
total_p=0 total_f=0
rc=0

variant() { # label, make-args...
    local label=$1; shift
    local build
    build=$(make --no-print-directory -s "$@" print-build)
    if ! make --no-print-directory -s -j"$jobs" "$@" tests >"/tmp/haulgate-build-$label.log" 2>&1; then
        cat "/tmp/haulgate-build-$label.log" | tail -40
        echo "== $label: build failed"
        total_f=$((total_f + 1)); rc=1
        return
    fi
    bash scripts/run-tests.sh "$build" "$label" || rc=1
    read -r p f < "$build/test-counts"
    total_p=$((total_p + p)); total_f=$((total_f + f))
}

variant release
HG_SHELL_TESTS=0 variant asan SANITIZE=1
echo "$total_p passed, $total_f failed"
[ "$rc" -eq 0 ] && [ "$total_f" -eq 0 ]
