#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# openapi_lint.sh — api/openapi.yaml must pass `redocly lint` with the
# project's rules (redocly.yaml: recommended-strict, so a warning fails
# too), and the linter must really be checking: a copy with a dangling
# reference has to fail. The tools come from node_modules (scripts/deps.sh
# runs npm ci). Prints TAP; builds nothing.
set -u
root=${HG_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
tmp=$(mktemp -d) || { echo "1..1"; echo "not ok 1 - mktemp failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
# offline and quiet: no usage telemetry, no update check
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
echo "1..2"
fail=0

if [ ! -x node_modules/.bin/redocly ]; then
    echo "not ok 1 - node_modules/.bin/redocly is missing: run 'make deps' (npm ci from package-lock.json)"
    echo "not ok 2 - skipped: no redocly"
    exit 1
fi

if npx --no-install redocly lint --config redocly.yaml api/openapi.yaml >"$tmp/lint.log" 2>&1 &&
    grep -q "Your API description is valid" "$tmp/lint.log"; then
    echo "ok 1 - redocly lint: api/openapi.yaml is valid with no warnings"
else
    echo "not ok 1 - redocly lint reports problems in api/openapi.yaml"
    grep -v '║\|╔\|╚' "$tmp/lint.log" | sed 's/^/# /'
    fail=1
fi

# The same file with one reference pointing nowhere must be refused.
sed "s|schema: {\$ref: '#/components/schemas/Whoami'}|schema: {\$ref: '#/components/schemas/NoSuchSchema'}|" \
    api/openapi.yaml >"$tmp/broken.yaml"
if cmp -s api/openapi.yaml "$tmp/broken.yaml"; then
    echo "not ok 2 - could not make the broken copy (the Whoami schema reference moved?)"
    fail=1
elif npx --no-install redocly lint --config redocly.yaml "$tmp/broken.yaml" >"$tmp/broken.log" 2>&1; then
    echo "not ok 2 - redocly lint accepted a spec with a dangling \$ref"
    fail=1
elif grep -q "no-unresolved-refs" "$tmp/broken.log"; then
    echo "ok 2 - redocly lint refuses a dangling \$ref (the rules are live)"
else
    echo "not ok 2 - redocly lint failed on the broken copy, but not for the dangling \$ref"
    grep -v '║\|╔\|╚' "$tmp/broken.log" | sed 's/^/# /'
    fail=1
fi
exit $fail
