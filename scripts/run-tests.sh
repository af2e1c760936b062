#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run-tests.sh BUILD_DIR [LABEL] — run every test binary of one build variant.
# Each cmocka binary reports in TAP; shell checks in tests/shell/*.sh print TAP
# too. A binary that dies without reporting counts as one failure. Writes the
# totals to BUILD_DIR/test-counts ("passed failed") and a log per binary.
set -u
build=${1:?usage: run-tests.sh BUILD_DIR [LABEL]}
label=${2:-$(basename "$build")}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
logdir="$build/test-logs"
mkdir -p "$logdir"
export HG_BUILD="$root/$build" HG_ROOT="$root" HG_VECTORS="${HG_VECTORS:-$root/../shared/vectors}"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
passed=0 failed=0
failures=()

run_one() { # name, command...
    local name=$1; shift
    local log="$logdir/${name//\//_}.log"
    local t0=$SECONDS
    timeout "${HG_TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
    local rc=$?
    local ok nok
    ok=$(grep -cE '^ok [0-9]+' "$log")
    nok=$(grep -cE '^not ok [0-9]+' "$log")
    if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
        nok=1   # crashed, timed out or failed outside a test case
    fi
    passed=$((passed + ok)); failed=$((failed + nok))
    if [ "$nok" -gt 0 ]; then
        failures+=("$name")
        printf '  FAIL %-48s %3d ok %3d failed (%ds, rc=%d) log: %s\n' "$name" "$ok" "$nok" $((SECONDS - t0)) "$rc" "$log"
        grep -E '^not ok|ERROR|error:|runtime error|AddressSanitizer|LeakSanitizer' "$log" | head -20 | sed 's/^/        /'
    else
        printf '  ok   %-48s %3d ok (%ds)\n' "$name" "$ok" $((SECONDS - t0))
    fi
}

echo "== $label: unit and vector tests"
for t in "$build"/tests/unit/*/test_* "$build"/tests/vectors/test_*; do
    [ -x "$t" ] && [[ "$t" != *.d && "$t" != *.o ]] || continue
    run_one "${t#$build/tests/}" "$t"
done
echo "== $label: fuzz corpus replay"
for t in "$build"/tests/fuzz/replay_*; do
    [ -x "$t" ] && [[ "$t" != *.d ]] || continue
    n=${t##*/replay_}
    run_one "fuzz/$n" "$t" "tests/fuzz/corpus/$n"
done
echo "== $label: integration tests"
for t in "$build"/tests/integration/test_*; do
    [ -x "$t" ] && [[ "$t" != *.d && "$t" != *.o ]] || continue
    run_one "${t#$build/tests/}" "$t"
done
if [ "${HG_SHELL_TESTS:-1}" = 1 ]; then
    echo "== $label: tool checks"
    for t in tests/shell/*.sh; do
        [ -f "$t" ] || continue
        run_one "shell/$(basename "$t" .sh)" bash "$t"
    done
fi
echo "$passed $failed" > "$build/test-counts"
echo "== $label: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
