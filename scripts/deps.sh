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
  # contract tests: npm tools (package.json) and a TLS client relay for them
  nodejs npm socat
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
[ ${#missing[@]} -eq 0 ] && exit 0

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
