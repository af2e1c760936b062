#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deps.sh — install every Debian package haulgate's build, tests and
# benchmarks need. Quiet when everything is present; runs `apt-get update`
# only when something is missing. Debian packages only (npm tools are added
# by the issues that need them, into a project-local node_modules).
set -eu

pkgs=(
  # build
  gcc make pkg-config libc6-dev git
  libssl-dev libevent-dev libjansson-dev libyaml-dev libcurl4-openssl-dev libhttp-parser-dev
  libsqlite3-dev sqlite3
  # tests
  libcmocka-dev openssl curl ca-certificates procps testssl.sh prometheus
  # contract tests: npm tools (package.json) and a TLS client relay for them;
  # npm itself is checked as a command below (NodeSource's nodejs bundles it
  # and conflicts with Debian's npm package)
  nodejs socat
  # fuzzing (make fuzz) and leak checking
  clang libclang-rt-14-dev
  # benchmarks (make bench)
  nginx-light
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# The npm tools of package-lock.json into ./node_modules. npm writes
# node_modules/.package-lock.json on every install, so one mtime comparison
# says whether the tree is current; quiet (one line) when it installs.
npm_tools() {
  local root lock stamp log
  root=$(cd "$(dirname "$0")/.." && pwd)
  lock="$root/package-lock.json" stamp="$root/node_modules/.package-lock.json"
  [ -f "$lock" ] || return 0
  [ -f "$stamp" ] && [ ! "$stamp" -ot "$lock" ] && return 0
  if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "deps.sh: npm is missing: run as root (or: sudo apt-get install -y npm)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  echo "deps.sh: installing npm tools from package-lock.json into node_modules"
  log=$(mktemp)
  if ! (cd "$root" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"
    echo "deps.sh: npm ci failed (is the npm registry reachable?)" >&2
    exit 1
  fi
  rm -f "$log"
}

[ ${#missing[@]} -eq 0 ] && { npm_tools; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "deps.sh: run as root (or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts packaged daemons on install where it can; haulgate's tests
# start their own on loopback, so stop any that came up.
for svc in nginx prometheus; do
  if pgrep -x "$svc" >/dev/null 2>&1; then
    (service "$svc" stop || pkill -x "$svc") >/dev/null 2>&1 || true
  fi
done
echo "deps.sh: done"
npm_tools
