#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run.sh BUILD_DIR — haulgate's benchmark (`make bench`). Makes a throwaway
# PKI with `haulctl pki init`, starts Debian's nginx (the baseline) and
# haulgated on free loopback ports, both with TLS 1.3 and required client
# certificates, then runs three sections, each beside its baseline:
#   whoami  — `GET /v1/whoami` against nginx and haulgated, alternating
#             rounds: req/s, p50, p99, the haulgated/nginx ratio, RSS;
#   tenders — `POST /v1/tenders` (a fresh Idempotency-Key per request)
#             beside bench/sqlite_naive (one durable SQLite row per
#             transaction on the same filesystem), and `GET /v1/tenders/{id}`
#             over tenders created by the POST runs beside nginx serving a
#             tender document as a static file; alternating rounds, ratios;
#   audit   — bench/audit_bench beside `openssl speed sha256`;
#   policy  — bench/policy_eval: ABAC decisions/s of a 200-rule policy on one
#             thread beside a naive linear interpreter of the same rules;
#   auth    — GET /v1/whoami with a cached certificate-bound token beside a
#             daemon with auth.insecure_mtls_only; POST /oauth2/token beside
#             `openssl speed ecdsap256`.
# Numbers never fail it: it exits non-zero only when the benchmark cannot be
# set up. Everything it starts is stopped and its temporary directory removed
# on exit. It only talks to 127.0.0.1.
#
# Knobs (environment): HG_BENCH_ROUNDS (3), HG_BENCH_DURATION (10 s),
# HG_BENCH_WARMUP (2 s), HG_BENCH_CONNECTIONS (32), HG_BENCH_THREADS (2),
# HG_BENCH_ONLY (all, or a comma-separated list of whoami, tenders, audit, policy, auth),
# HG_BENCH_TENDER_IDS (1000: tenders the GET runs cycle through),
# HG_BENCH_AUDIT_RECORDS (1000000; 0 skips the audit section).
set -u

BUILD_ARG=${1:-build/release}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

BUILD=$(cd "$BUILD_ARG" 2>/dev/null && pwd) ||
    die "build directory '$BUILD_ARG' does not exist; run 'make bench' (it builds first)"

int_env() { # NAME DEFAULT MIN MAX
    local v=${!1:-$2}
    if ! [[ $v =~ ^[0-9]{1,6}$ ]] || [ "$v" -lt "$3" ] || [ "$v" -gt "$4" ]; then
        die "$1='$v' must be a whole number in $3..$4"
    fi
    echo "$v"
}
ROUNDS=$(int_env HG_BENCH_ROUNDS 3 1 20) || exit 1
DURATION=$(int_env HG_BENCH_DURATION 10 1 600) || exit 1
WARMUP=$(int_env HG_BENCH_WARMUP 2 0 60) || exit 1
CONNS=$(int_env HG_BENCH_CONNECTIONS 32 1 4096) || exit 1
THREADS=$(int_env HG_BENCH_THREADS 2 1 64) || exit 1
TENDER_IDS=$(int_env HG_BENCH_TENDER_IDS 1000 1 1000000) || exit 1

ONLY=${HG_BENCH_ONLY:-all}
IFS=, read -r -a only_list <<<"$ONLY"
[ "${#only_list[@]}" -gt 0 ] || die "HG_BENCH_ONLY is empty; use all, or a comma-separated list of whoami, tenders, audit, policy, auth"
for sec in "${only_list[@]}"; do
    case $sec in
    all | whoami | tenders | audit | policy | auth) ;;
    *) die "HG_BENCH_ONLY='$ONLY': '$sec' is not a section; use all, or a comma-separated list of whoami, tenders, audit, policy, auth" ;;
    esac
done
want() { [[ ",$ONLY," == *",all,"* || ",$ONLY," == *",$1,"* ]]; }
NEED_SERVERS=0
if want whoami || want tenders; then NEED_SERVERS=1; fi

LOADGEN=$BUILD/bench/loadgen
HAULCTL=$BUILD/bin/haulctl
HAULGATED=$BUILD/bin/haulgated
SQLITE_NAIVE=$BUILD/bench/sqlite_naive
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PATH_WHOAMI=/v1/whoami
PATH_TENDERS=/v1/tenders

if [ "$NEED_SERVERS" = 1 ]; then
    [ -x "$LOADGEN" ] || die "$LOADGEN is missing; run 'make bench' (it builds bench/loadgen.c)"
    [ -x "$NGINX" ] || die "nginx is not installed; run 'make deps' (Debian package nginx-light)"
    [ -x "$HAULCTL" ] || die "$HAULCTL is missing; run 'make' first (the PKI comes from 'haulctl pki init')"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/haulgate-bench.XXXXXX") || die "cannot create a temporary directory"
NGINX_PID=
HG_PID=

# Stop a process we started: TERM, up to 5 s, then KILL; always reap it.
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    stop_pid "$HG_PID"
    stop_pid "$NGINX_PID"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

# A free loopback port: let the kernel pick one by binding port 0. Without
# python3, fall back to a random high port nothing is listening on. Either
# way the caller retries if the port is taken by the time it binds.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' &&
            return 0
    fi
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Wait until PORT accepts TCP connections, for at most SECS, while PID lives.
wait_port() { # PORT PID SECS
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt "$deadline" ]; do
        kill -0 "$2" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }
# CPU time (user + system, clock ticks) of PID and its direct children: the
# nginx master and its workers, or haulgated with all its threads.
cpu_ticks() {
    local total=0 p t
    for p in "$1" $(pgrep -P "$1" 2>/dev/null); do
        # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
        # the command name (which may itself contain spaces).
        t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
TICK_HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

# ---------------------------------------------------------------------------
# PKI

PKI=$TMP/pki
CRL=
SERVERNAME=127.0.0.1
make_pki() {
    if ! "$HAULCTL" pki init "$PKI" >"$TMP/pki.log" 2>&1; then
        sed 's/^/  /' "$TMP/pki.log" >&2
        die "'haulctl pki init $PKI' failed (output above)"
    fi
    for f in ca.crt server.crt server.key tms.crt tms.key; do
        [ -s "$PKI/$f" ] || die "'haulctl pki init' did not produce $PKI/$f"
    done
    [ -s "$PKI/crl.pem" ] && CRL=$PKI/crl.pem
    # Verify the server the way a client would: by IP if its certificate
    # names 127.0.0.1, else by the DNS name localhost.
    if command -v openssl >/dev/null 2>&1 &&
        ! openssl x509 -in "$PKI/server.crt" -noout -ext subjectAltName 2>/dev/null |
            grep -q 'IP Address:127\.0\.0\.1'; then
        SERVERNAME=localhost
    fi
    return 0
}

# load LABEL PORT DURATION WARMUP CONNECTIONS THREADS [PATH [LOADGEN-ARGS...]]
#   -> JSON line on stdout (PATH defaults to GET /v1/whoami's)
load() {
    local label=$1 port=$2 dur=$3 warm=$4 conns=$5 thr=$6 path=${7:-$PATH_WHOAMI}
    shift 7 2>/dev/null || shift $#
    timeout $((dur + warm + 30)) "$LOADGEN" \
        --url "https://127.0.0.1:$port$path" --servername "$SERVERNAME" \
        --cert "$PKI/tms.crt" --key "$PKI/tms.key" --ca "$PKI/ca.crt" \
        --duration "$dur" --warmup "$warm" --connections "$conns" --threads "$thr" \
        --label "$label" --format json "$@" 2>"$TMP/loadgen-$label.err"
}

# ---------------------------------------------------------------------------
# nginx

start_nginx() {
    local dir=$TMP/nginx port user_line="" temp_lines crl_line="" attempt
    mkdir -p "$dir/static" || return 1
    # GET /v1/tenders/{id} answers this file for every id. The tenders
    # section replaces it with a document haulgated served, so both send
    # the same bytes; until then it holds the POST body (about the size).
    cp "$TENDER_BODY" "$dir/static/tender.json" || return 1
    [ "$(id -u)" = 0 ] && user_line="user root;" # workers stay the current user
    temp_lines="    client_body_temp_path $dir/client_body_temp;"
    local v
    v=$("$NGINX" -V 2>&1)
    for m in proxy fastcgi uwsgi scgi; do
        case $v in *"--without-http_${m}_module"*) ;; *)
            temp_lines+=$'\n'"    ${m}_temp_path $dir/${m}_temp;" ;;
        esac
    done
    [ -n "$CRL" ] && crl_line="        ssl_crl $CRL;"
    for attempt in 1 2 3; do
        port=$(free_port) || return 1
        awk -v user="$user_line" -v prefix="$dir" -v port="$port" \
            -v cert="$PKI/server.crt" -v key="$PKI/server.key" -v ca="$PKI/ca.crt" \
            -v temps="$temp_lines" -v crl="$crl_line" '
            { gsub(/@PREFIX@/, prefix); gsub(/@PORT@/, port); gsub(/@CERT@/, cert);
              gsub(/@KEY@/, key); gsub(/@CA@/, ca) }
            /^@USER_LINE@$/ { print user; next }
            /^@TEMP_PATHS@$/ { print temps; next }
            /^@CRL_LINE@$/ { print crl; next }
            { print }' "$ROOT/bench/nginx/nginx.conf.in" >"$dir/nginx.conf" || return 1
        "$NGINX" -p "$dir/" -e "$dir/nginx-error.log" -c "$dir/nginx.conf" \
            >"$dir/stdout.log" 2>&1 &
        NGINX_PID=$!
        if wait_port "$port" "$NGINX_PID" 10; then
            NGINX_PORT=$port
            return 0
        fi
        stop_pid "$NGINX_PID"
        NGINX_PID=
        grep -q 'Address already in use' "$dir/nginx-error.log" "$dir/stdout.log" 2>/dev/null ||
            break
        note "port $port was taken; retrying (attempt $attempt)"
    done
    tail -n 5 "$dir/nginx-error.log" "$dir/stdout.log" 2>/dev/null | sed 's/^/  /' >&2
    return 1
}

# ---------------------------------------------------------------------------
# haulgated

HG_PORT=
HG_RSS_START=
start_haulgated() {
    if [ ! -x "$HAULGATED" ]; then
        note "SKIP haulgated: $HAULGATED is not built (make -j2 $BUILD_ARG/bin/haulgated)"
        return 1
    fi
    local data=$TMP/hg-data cfg=$TMP/haulgated.yaml
    {
        echo "data_dir: \"$data\""
        echo "api:"
        echo "  listen: 127.0.0.1:0"
        echo "  tls:"
        echo "    cert: \"$PKI/server.crt\""
        echo "    key: \"$PKI/server.key\""
        echo "    ca: \"$PKI/ca.crt\""
        [ -n "$CRL" ] && echo "    crl: \"$CRL\""
        echo "admin:"
        echo "  listen: 127.0.0.1:0"
        echo "log:"
        echo "  level: warn"
        # The issue-3 settings, spelled out: every commit group is fsync'd
        # before any request in it is answered, and no rate limit.
        echo "store:"
        echo "  durability: full"
        echo "ratelimit:"
        echo "  rate: 0"
        # The whoami and tenders figures measure the HTTP and store paths
        # against nginx and SQLite, as issues 2 and 3 defined them: no
        # token (what a token costs is the auth section's own figure), the
        # shipped policy still deciding every request.
        echo "auth:"
        echo "  insecure_mtls_only: true"
        echo "policy:"
        echo "  file: \"$ROOT/config/policy.example.yaml\""
        echo "clients:"
        echo "  - name: tms"
        echo "    match:"
        echo "      uri: spiffe://haulgate.dev/tms"
        echo "    roles: [tms]"
        echo "    tenant: acme"
    } >"$cfg"
    "$HAULGATED" --config "$cfg" >"$TMP/haulgated.log" 2>&1 &
    HG_PID=$!
    local deadline=$((SECONDS + 15)) api="" why="did not report its ports in $data/listen.json within 15 s"
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$HG_PID" 2>/dev/null; then
            wait "$HG_PID" 2>/dev/null
            why="exited (status $?) before reporting its ports; its log:"
            HG_PID=
            break
        fi
        if [ -s "$data/listen.json" ]; then
            api=$(sed -n 's/.*"api"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$data/listen.json")
            [ -n "$api" ] && break
        fi
        sleep 0.1
    done
    if [ -z "$api" ]; then
        note "SKIP haulgated: it $why"
        tail -n 5 "$TMP/haulgated.log" 2>/dev/null | sed 's/^/  /' >&2
        stop_pid "$HG_PID"
        HG_PID=
        return 1
    fi
    HG_PORT=${api##*:}
    local pid
    pid=$(sed -n 's/.*"pid"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$data/listen.json")
    if [ -n "$pid" ] && [ "$pid" != "$HG_PID" ]; then
        note "listen.json names pid $pid but the daemon started as $HG_PID; measuring $HG_PID"
    fi
    # listen.json is written once the listeners are bound; the loadgen probe
    # that follows checks that the port really serves (a bare TCP probe here
    # would only add a failed-handshake line to the daemon's log).
    return 0
}

# ---------------------------------------------------------------------------
# The tender document POST /v1/tenders sends (about 1 KiB), with its pickup
# and delivery windows computed now so they are in the future.

TENDER_BODY=$TMP/tender.json
make_tender_body() {
    local now t
    now=$(date -u +%s) || return 1
    t() { date -u -d "@$((now + $1))" +%Y-%m-%dT%H:%M:%S.000Z; }
    cat >"$TENDER_BODY" <<JSON || return 1
{"tmsLoadId":"LOAD-BENCH-$now","origin":{"name":"Dallas Distribution Center, Dock 14","lat":32.7767,"lon":-96.797},"destination":{"name":"Houston Cross-Dock North, Door 3","lat":29.7604,"lon":-95.3698},"pickupWindow":{"start":"$(t 86400)","end":"$(t 93600)"},"deliveryWindow":{"start":"$(t 108000)","end":"$(t 122400)"},"weightLbs":38250.5,"equipment":"dry_van","hazmat":false,"lane":"DAL-HOU","region":"TX","requirements":{"autonomyAllowed":true,"humanFallbackAllowed":true},"offeredRate":{"currency":"USD","amount":1875.25},"extensions":{"shipperRef":"PO-4471-2291-AX","commodity":"palletized consumer goods","pallets":26,"notes":"Appointment required at destination; call 30 minutes before arrival. Liftgate not required. Seal number recorded on the bill of lading.","contacts":[{"role":"shipper","phone":"+1-214-555-0142"},{"role":"consignee","phone":"+1-713-555-0199"}]}}
JSON
}
POST_ARGS=(--method POST --body-file "$TENDER_BODY" --unique-header Idempotency-Key)

field() { # JSON-LINE KEY -> number
    sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" <<<"$1"
}

median() { # numbers... -> median (mean of the middle two for an even count)
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print ""; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Keep the raw JSON lines in BUILD/bench/NAME.jsonl if it is writable, else
# in the temporary directory (and say so at the end).
results_file() { # NAME -> path on stdout
    if { : >"$BUILD/bench/$1.jsonl"; } 2>/dev/null; then
        echo "$BUILD/bench/$1.jsonl"
    else
        : >"$TMP/$1.jsonl"
        echo "$TMP/$1.jsonl"
    fi
}
results_note() { # PATH
    case $1 in
    "$TMP"/*) echo "raw results not kept: $BUILD/bench is not writable" ;;
    *) echo "raw results (one JSON line per run): $1" ;;
    esac
}

# Server CPU per request over warm-up + measurement: far less sensitive to
# other work on the machine than req/s.
cpu_per_req() { # TICKS JSON-LINE
    awk -v t="$1" -v hz="$TICK_HZ" -v a="$(field "$2" requests)" \
        -v b="$(field "$2" warmup_requests)" 'BEGIN { if (a + b > 0) printf "%.1f", t * 1e6 / hz / (a + b) }'
}

# ---------------------------------------------------------------------------
# Run

if want whoami; then
    echo "haulgate benchmark: GET $PATH_WHOAMI over TLS 1.3 + client certificate"
elif want tenders; then
    echo "haulgate benchmark: POST and GET $PATH_TENDERS over TLS 1.3 + client certificate"
elif want audit; then
    echo "haulgate benchmark: the audit log"
elif want policy; then
    echo "haulgate benchmark: the ABAC policy"
else
    echo "haulgate benchmark: access tokens"
fi
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
if [ "$NEED_SERVERS" = 1 ]; then
    echo "versions: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $(openssl version 2>/dev/null | cut -d' ' -f1-2)"
fi
echo "machine load average at start (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg) — other work on the machine moves absolute numbers; compare ratios"
if [ "$NEED_SERVERS" = 1 ]; then
    echo "load: $CONNS connections, $THREADS loadgen threads, ${WARMUP} s warm-up + ${DURATION} s per round, $ROUNDS rounds alternating"
fi
[ "$ONLY" = all ] || echo "sections: $ONLY (HG_BENCH_ONLY)"
echo

HG_OK=0
if [ "$NEED_SERVERS" = 1 ]; then
    make_pki
    make_tender_body || die "cannot write the tender document $TENDER_BODY"
    start_nginx || die "nginx did not start (log above)"
    if ! load probe "$NGINX_PORT" 1 0 1 1 >/dev/null; then
        sed 's/^/  /' "$TMP/loadgen-probe.err" >&2
        die "nginx does not answer GET $PATH_WHOAMI with 2xx over mTLS (loadgen output above)"
    fi
    if start_haulgated; then
        sleep 1 # let start-up allocations settle before reading idle RSS
        HG_RSS_START=$(rss_kib "$HG_PID")
        if load probe "$HG_PORT" 1 0 1 1 >/dev/null; then
            HG_OK=1
        else
            note "SKIP haulgated: it does not answer GET $PATH_WHOAMI with 2xx over mTLS:"
            sed 's/^/  /' "$TMP/loadgen-probe.err" >&2
        fi
    fi
fi

# ---- issue 2: GET /v1/whoami, nginx beside haulgated ----
section_whoami() {
    local RESULTS
    RESULTS=$(results_file whoami)
    declare -A RPS P50 P99 CPU
    local RATIOS="" r s port spid line rc t0 t1 rps cpu ratio round_nginx
    printf '%-6s %-10s %12s %9s %9s %8s %10s %7s\n' round server req/s "p50 ms" "p99 ms" errors "cpu us/req" ratio
    for r in $(seq "$ROUNDS"); do
        round_nginx=""
        for s in nginx haulgated; do
            if [ "$s" = nginx ]; then
                port=$NGINX_PORT
                spid=$NGINX_PID
            else
                [ "$HG_OK" = 1 ] || continue
                port=$HG_PORT
                spid=$HG_PID
            fi
            t0=$(cpu_ticks "$spid")
            line=$(load "$s" "$port" "$DURATION" "$WARMUP" "$CONNS" "$THREADS")
            rc=$?
            t1=$(cpu_ticks "$spid")
            if [ -z "$line" ]; then
                note "round $r $s: loadgen produced no result (exit $rc):"
                sed 's/^/  /' "$TMP/loadgen-$s.err" >&2
                continue
            fi
            echo "$line" >>"$RESULTS"
            [ "$rc" = 0 ] || sed 's/^/  /' "$TMP/loadgen-$s.err" >&2
            rps=$(field "$line" rps)
            cpu=$(cpu_per_req "$((t1 - t0))" "$line")
            [ -n "$cpu" ] && CPU[$s]+="$cpu "
            RPS[$s]+="$rps "
            P50[$s]+="$(field "$line" p50_us) "
            P99[$s]+="$(field "$line" p99_us) "
            # Each haulgated run is paired with the nginx run just before
            # it: the pair saw nearly the same machine, so their ratio is
            # steadier than either number.
            ratio=""
            if [ "$s" = nginx ]; then
                round_nginx=$rps
            elif [ -n "$round_nginx" ]; then
                ratio=$(awk -v h="$rps" -v n="$round_nginx" 'BEGIN { if (n > 0) printf "%.2f", h / n }')
                [ -n "$ratio" ] && RATIOS+="$ratio "
            fi
            awk -v r="$r" -v s="$s" -v rps="$rps" -v p50="$(field "$line" p50_us)" \
                -v p99="$(field "$line" p99_us)" -v e="$(field "$line" errors)" -v q="$ratio" -v c="$cpu" \
                'BEGIN { printf "%-6s %-10s %12.1f %9.3f %9.3f %8d %10s %7s\n", r, s, rps, p50 / 1000, p99 / 1000, e, c, q }'
        done
    done

    echo
    echo "median of rounds:"
    printf '%-10s %12s %9s %9s %10s\n' server req/s "p50 ms" "p99 ms" "cpu us/req"
    declare -A MRPS MP50 MP99 MCPU
    for s in nginx haulgated; do
        [ -n "${RPS[$s]:-}" ] || continue
        # shellcheck disable=SC2086  # the lists are space-separated numbers
        MRPS[$s]=$(median ${RPS[$s]})
        # shellcheck disable=SC2086
        MP50[$s]=$(median ${P50[$s]})
        # shellcheck disable=SC2086
        MP99[$s]=$(median ${P99[$s]})
        # shellcheck disable=SC2086
        MCPU[$s]=$(median ${CPU[$s]:-})
        awk -v s="$s" -v a="${MRPS[$s]}" -v b="${MP50[$s]}" -v c="${MP99[$s]}" -v d="${MCPU[$s]}" \
            'BEGIN { printf "%-10s %12.1f %9.3f %9.3f %10s\n", s, a, b / 1000, c / 1000, d }'
    done
    echo

    if [ -n "$RATIOS" ]; then
        local q
        # shellcheck disable=SC2086  # a space-separated list of numbers
        q=$(median $RATIOS)
        awk -v q="$q" -v hp="${MP99[haulgated]:-0}" -v np="${MP99[nginx]:-0}" \
            -v hc="${MCPU[haulgated]:-0}" -v nc="${MCPU[nginx]:-0}" 'BEGIN {
            printf "ratio haulgated/nginx req/s (median of per-round ratios): %.2f (target >= 0.50: %s)\n",
                q, (q >= 0.5 ? "met" : "NOT met")
            if (np > 0 && hp > 0) printf "ratio haulgated/nginx p99 (medians): %.2f (lower is better)\n", hp / np
            if (nc > 0 && hc > 0) printf "ratio haulgated/nginx server CPU per request (medians): %.2f (lower is better)\n", hc / nc }'
    else
        echo "ratio haulgated/nginx req/s: not measured (haulgated skipped, see above)"
    fi

    if [ -n "$HG_PID" ] && kill -0 "$HG_PID" 2>/dev/null; then
        sleep 2 # let the load's connections close before reading idle RSS
        local rss_end
        rss_end=$(rss_kib "$HG_PID")
        awk -v a="${HG_RSS_START:-0}" -v b="${rss_end:-0}" 'BEGIN {
            m = (a > b ? a : b) / 1024
            printf "haulgated RSS (VmRSS): %.1f MiB idle after start, %.1f MiB idle after load (target <= 20 MiB: %s)\n",
                a / 1024, b / 1024, (m <= 20 ? "met" : "NOT met") }'
    elif [ -n "$HG_RSS_START" ]; then
        echo "haulgated RSS (VmRSS): $(mib "$HG_RSS_START") MiB idle after start; it exited before the end (see its log)"
    else
        echo "haulgated RSS: not measured (haulgated skipped)"
    fi
    if [ -n "$NGINX_PID" ]; then
        local total k c
        total=$(rss_kib "$NGINX_PID")
        for c in $(pgrep -P "$NGINX_PID" 2>/dev/null); do
            k=$(rss_kib "$c")
            total=$((${total:-0} + ${k:-0}))
        done
        echo "nginx RSS (master + workers, for reference): $(mib "$total") MiB"
    fi
    if [ -s "$TMP/haulgated.log" ]; then
        echo
        echo "haulgated wrote to its log (last lines):"
        tail -n 5 "$TMP/haulgated.log" | sed 's/^/  /'
    fi
    echo
    results_note "$RESULTS"
}

# ---- issue 3: POST /v1/tenders beside sqlite_naive, GET /v1/tenders/{id}
# beside nginx's static file ----
section_tenders() {
    echo
    echo "== tenders: POST $PATH_TENDERS (fresh Idempotency-Key each, store durability full) beside"
    echo "   sqlite_naive (one ~1 KiB row per transaction, WAL + synchronous=FULL, same filesystem);"
    echo "   GET $PATH_TENDERS/{id} round-robin over $TENDER_IDS tenders beside nginx serving the same document as a static file"
    if [ "$HG_OK" != 1 ]; then
        echo "tenders: not measured (haulgated skipped, see above)"
        return 0
    fi
    local naive_ok=1
    if [ ! -x "$SQLITE_NAIVE" ]; then
        note "SKIP sqlite_naive: $SQLITE_NAIVE is not built (make -j2 $BUILD_ARG/bench/sqlite_naive)"
        naive_ok=0
    fi
    local probe=$TMP/tenders-probe.txt ids=$TMP/tender-ids.txt log_lines
    log_lines=$(wc -l <"$TMP/haulgated.log" 2>/dev/null || echo 0)
    if ! load tprobe "$HG_PORT" 1 0 1 1 "$PATH_TENDERS" "${POST_ARGS[@]}" \
        --save-location "$probe" >/dev/null || [ ! -s "$probe" ]; then
        note "SKIP tenders: haulgated does not answer POST $PATH_TENDERS with 2xx and a Location over mTLS:"
        sed 's/^/  /' "$TMP/loadgen-tprobe.err" >&2
        return 0
    fi
    head -n "$TENDER_IDS" "$probe" >"$ids"
    # nginx's static document: the bytes haulgated serves for a tender.
    local first
    first=$(head -n 1 "$ids")
    if command -v curl >/dev/null 2>&1 &&
        curl -sf --resolve "$SERVERNAME:$HG_PORT:127.0.0.1" --cacert "$PKI/ca.crt" \
            --cert "$PKI/tms.crt" --key "$PKI/tms.key" -o "$TMP/nginx/static/tender.json.new" \
            "https://$SERVERNAME:$HG_PORT$first" 2>"$TMP/curl.err"; then
        mv "$TMP/nginx/static/tender.json.new" "$TMP/nginx/static/tender.json"
    else
        note "could not fetch $first from haulgated with curl; nginx serves the POST body instead (similar size)"
    fi
    echo "   tender document: $(wc -c <"$TENDER_BODY") bytes posted, $(wc -c <"$TMP/nginx/static/tender.json") bytes served by GET"
    echo "   rate/s is rows/s for sqlite_naive and 2xx responses/s for the HTTP runs; ratios pair runs of the same round"

    local RESULTS
    RESULTS=$(results_file tenders)
    declare -A RATE P50 P99 CPU
    local POST_RATIOS="" GET_RATIOS="" r s port spid line rc t0 t1 rate cpu ratio base_naive base_nginx
    local have_ids=0 e
    printf '%-6s %-13s %12s %9s %9s %8s %10s %7s\n' round run rate/s "p50 ms" "p99 ms" errors "cpu us/req" ratio
    for r in $(seq "$ROUNDS"); do
        base_naive=""
        base_nginx=""
        for s in sqlite_naive hg_post nginx_get hg_get; do
            cpu=""
            ratio=""
            case $s in
            sqlite_naive)
                [ "$naive_ok" = 1 ] || continue
                line=$(timeout $((DURATION + WARMUP + 30)) "$SQLITE_NAIVE" --dir "$TMP" \
                    --duration "$DURATION" --warmup "$WARMUP" --label "$s" --format json \
                    2>"$TMP/loadgen-$s.err")
                rc=$?
                ;;
            hg_post)
                t0=$(cpu_ticks "$HG_PID")
                line=$(load "$s" "$HG_PORT" "$DURATION" "$WARMUP" "$CONNS" "$THREADS" "$PATH_TENDERS" \
                    "${POST_ARGS[@]}" --save-location "$TMP/tenders-r$r.txt")
                rc=$?
                t1=$(cpu_ticks "$HG_PID")
                ;;
            nginx_get | hg_get)
                if [ "$s" = nginx_get ]; then port=$NGINX_PORT spid=$NGINX_PID; else port=$HG_PORT spid=$HG_PID; fi
                t0=$(cpu_ticks "$spid")
                line=$(load "$s" "$port" "$DURATION" "$WARMUP" "$CONNS" "$THREADS" "$PATH_TENDERS" \
                    --paths-file "$ids")
                rc=$?
                t1=$(cpu_ticks "$spid")
                ;;
            esac
            if [ -z "$line" ]; then
                note "round $r $s: no result (exit $rc):"
                sed 's/^/  /' "$TMP/loadgen-$s.err" >&2
                continue
            fi
            echo "$line" >>"$RESULTS"
            [ "$rc" = 0 ] || sed 's/^/  /' "$TMP/loadgen-$s.err" >&2
            if [ "$s" = sqlite_naive ]; then
                rate=$(field "$line" rps)
                base_naive=$rate
            else
                # Only successful responses count: a 503 from a full write
                # queue is fast and would flatter req/s.
                rate=$(awk -v ok="$(field "$line" ok)" -v d="$(field "$line" duration_s)" \
                    'BEGIN { if (d > 0) printf "%.1f", ok / d; else print 0 }')
                cpu=$(cpu_per_req "$((t1 - t0))" "$line")
            fi
            case $s in
            hg_post)
                if [ -n "$base_naive" ]; then
                    ratio=$(awk -v h="$rate" -v n="$base_naive" 'BEGIN { if (n > 0) printf "%.2f", h / n }')
                    [ -n "$ratio" ] && POST_RATIOS+="$ratio "
                fi
                # The GET runs cycle through tenders this run created.
                if [ "$have_ids" = 0 ] &&
                    [ "$(wc -l <"$TMP/tenders-r$r.txt" 2>/dev/null || echo 0)" -ge "$TENDER_IDS" ]; then
                    head -n "$TENDER_IDS" "$TMP/tenders-r$r.txt" >"$ids"
                    have_ids=1
                fi
                ;;
            nginx_get) base_nginx=$rate ;;
            hg_get)
                if [ -n "$base_nginx" ]; then
                    ratio=$(awk -v h="$rate" -v n="$base_nginx" 'BEGIN { if (n > 0) printf "%.2f", h / n }')
                    [ -n "$ratio" ] && GET_RATIOS+="$ratio "
                fi
                ;;
            esac
            RATE[$s]+="$rate "
            P50[$s]+="$(field "$line" p50_us) "
            P99[$s]+="$(field "$line" p99_us) "
            [ -n "$cpu" ] && CPU[$s]+="$cpu "
            e=$(field "$line" errors)
            awk -v r="$r" -v s="$s" -v x="$rate" -v p50="$(field "$line" p50_us)" \
                -v p99="$(field "$line" p99_us)" -v e="${e:-0}" -v q="$ratio" -v c="${cpu:--}" \
                'BEGIN { printf "%-6s %-13s %12.1f %9.3f %9.3f %8d %10s %7s\n", r, s, x, p50 / 1000, p99 / 1000, e, c, q }'
        done
    done

    echo
    echo "median of rounds:"
    printf '%-13s %12s %9s %9s %10s\n' run rate/s "p50 ms" "p99 ms" "cpu us/req"
    declare -A MP99 MCPU
    local m
    for s in sqlite_naive hg_post nginx_get hg_get; do
        [ -n "${RATE[$s]:-}" ] || continue
        # shellcheck disable=SC2086  # the lists are space-separated numbers
        m=$(median ${RATE[$s]})
        # shellcheck disable=SC2086
        MP99[$s]=$(median ${P99[$s]})
        # shellcheck disable=SC2086
        MCPU[$s]=$(median ${CPU[$s]:-})
        # shellcheck disable=SC2086
        awk -v s="$s" -v a="$m" -v b="$(median ${P50[$s]})" -v c="${MP99[$s]}" -v d="${MCPU[$s]:--}" \
            'BEGIN { printf "%-13s %12.1f %9.3f %9.3f %10s\n", s, a, b / 1000, c / 1000, d }'
    done
    echo

    local q
    if [ -n "$POST_RATIOS" ]; then
        # shellcheck disable=SC2086  # a space-separated list of numbers
        q=$(median $POST_RATIOS)
        awk -v q="$q" 'BEGIN { printf "ratio haulgated POST %s / sqlite_naive rows/s (median of per-round ratios): %.2f (target >= 1.00: %s)\n",
            "'"$PATH_TENDERS"'", q, (q >= 1.0 ? "met" : "NOT met") }'
    else
        echo "ratio haulgated POST $PATH_TENDERS / sqlite_naive: not measured (see above)"
    fi
    if [ -n "${MP99[hg_post]:-}" ]; then
        awk -v p="${MP99[hg_post]}" 'BEGIN { printf "haulgated POST %s p99 (median of rounds): %.3f ms (target <= 20 ms: %s)\n",
            "'"$PATH_TENDERS"'", p / 1000, (p <= 20000 ? "met" : "NOT met") }'
    fi
    if [ -n "$GET_RATIOS" ]; then
        # shellcheck disable=SC2086  # a space-separated list of numbers
        q=$(median $GET_RATIOS)
        awk -v q="$q" 'BEGIN { printf "ratio haulgated GET %s/{id} / nginx static req/s (median of per-round ratios): %.2f (target >= 0.50: %s)\n",
            "'"$PATH_TENDERS"'", q, (q >= 0.5 ? "met" : "NOT met") }'
    else
        echo "ratio haulgated GET $PATH_TENDERS/{id} / nginx: not measured (see above)"
    fi
    if [ -n "${MCPU[hg_get]:-}" ] && [ -n "${MCPU[nginx_get]:-}" ]; then
        awk -v h="${MCPU[hg_get]}" -v n="${MCPU[nginx_get]}" 'BEGIN { if (n > 0)
            printf "ratio haulgated/nginx GET server CPU per request (medians): %.2f (lower is better)\n", h / n }'
    fi
    if [ -d "$TMP/hg-data" ]; then
        echo "haulgated data dir after the tender rounds (store, WAL, audit log): $(du -sk "$TMP/hg-data" | awk '{ printf "%.1f", $1 / 1024 }') MiB"
    fi
    local now_lines
    now_lines=$(wc -l <"$TMP/haulgated.log" 2>/dev/null || echo 0)
    if [ "$now_lines" -gt "$log_lines" ]; then
        echo
        echo "haulgated wrote to its log during the tender rounds (last lines):"
        tail -n +"$((log_lines + 1))" "$TMP/haulgated.log" | tail -n 5 | sed 's/^/  /'
    fi
    echo
    results_note "$RESULTS"
}

# ---- issue 5: the audit log, beside `openssl speed` (the hashing ceiling) ----
# Records for the verify part: HG_BENCH_AUDIT_RECORDS (default 1,000,000; 0 skips).
section_audit() {
    local audit_records=${HG_BENCH_AUDIT_RECORDS:-1000000}
    if [ "$audit_records" != 0 ] && [ -x "$BUILD/bench/audit_bench" ]; then
        echo
        echo "== audit log: durable appends and verify, beside openssl speed sha256"
        "$BUILD/bench/audit_bench" "$audit_records" 2>&1 | tee "$TMP/audit_bench.txt" | sed 's/^/  /'
        echo "  -- openssl speed -seconds 3 sha256"
        openssl speed -seconds 3 sha256 2>/dev/null | tail -1 | sed 's/^/  /' | tee "$TMP/speed.txt"
        # last column of openssl's table is 16384-byte blocks, in kB/s ("2104567.89k")
        local ossl ver best
        ossl=$(awk '{v=$NF; sub(/k$/, "", v); printf "%.0f", v / 1000}' "$TMP/speed.txt")
        ver=$(sed -n 's/.*verify (haulctl audit verify path): [0-9.]* s = \([0-9]*\) MB\/s.*/\1/p' "$TMP/audit_bench.txt")
        best=$(awk '/durable appends\/s/ { v = $(NF - 2); if (v > m) m = v } END { printf "%.0f", m }' "$TMP/audit_bench.txt")
        if [ -n "$ossl" ] && [ -n "$ver" ] && [ "$ossl" -gt 0 ]; then
            awk -v v="$ver" -v o="$ossl" 'BEGIN { printf "ratio audit verify / openssl sha256 (16 KiB): %d / %d MB/s = %.2f (target >= 0.50: %s)\n", v, o, v / o, (v / o >= 0.5 ? "met" : "NOT met") }'
        fi
        [ -n "$best" ] && awk -v b="$best" 'BEGIN { printf "best durable appends/s: %d (target >= 50,000: %s)\n", b, (b >= 50000 ? "met" : "NOT met") }'
    elif [ "$audit_records" != 0 ]; then
        note "SKIP audit: $BUILD/bench/audit_bench is not built (make -j2 $BUILD_ARG/bench/audit_bench)"
    fi
}

# ---- issue 4: ABAC decisions/s, beside a naive interpreter of the same rules ----
section_policy() {
    if [ ! -x "$BUILD/bench/policy_eval" ]; then
        note "SKIP policy: $BUILD/bench/policy_eval is not built (make -j2 $BUILD_ARG/bench/policy_eval)"
        return 0
    fi
    echo
    echo "== policy: decisions/s of a generated 200-rule policy on one thread, beside a naive"
    echo "   linear interpreter of the same rules (strcmp per field, every rule in file order)"
    "$BUILD/bench/policy_eval" --duration 2 2>&1 | sed 's/^/  /'
}

if want whoami; then section_whoami; fi
if want tenders; then section_tenders; fi
if want audit; then section_audit; fi
if want policy; then section_policy; fi
# ---- issue 4: authenticated GET /v1/whoami (a certificate-bound Bearer
# token, verified once and then cached) beside the same request on a second
# haulgated with auth.insecure_mtls_only and no token; POST /oauth2/token
# beside `openssl speed ecdsap256` (one ES256 signature per token) ----
AUTH_PIDS=()
auth_stop_all() {
    local p
    for p in "${AUTH_PIDS[@]}"; do stop_pid "$p"; done
    AUTH_PIDS=()
}
# start_auth_daemon NAME [YAML-LINE...] -> sets AUTH_PORT and AUTH_PID
start_auth_daemon() {
    local name=$1 data=$TMP/auth-$1 cfg=$TMP/auth-$1.yaml log=$TMP/auth-$1.log
    shift
    {
        echo "data_dir: \"$data\""
        echo "api:"
        echo "  listen: 127.0.0.1:0"
        echo "  tls:"
        echo "    cert: \"$PKI/server.crt\""
        echo "    key: \"$PKI/server.key\""
        echo "    ca: \"$PKI/ca.crt\""
        [ -n "$CRL" ] && echo "    crl: \"$CRL\""
        echo "admin:"
        echo "  listen: 127.0.0.1:0"
        echo "log:"
        echo "  level: warn"
        echo "ratelimit:"
        echo "  rate: 0"
        echo "policy:"
        echo "  file: \"$ROOT/config/policy.example.yaml\""
        echo "clients:"
        echo "  - name: tms"
        echo "    match:"
        echo "      uri: spiffe://haulgate.dev/tms"
        echo "    roles: [tms]"
        echo "    tenant: acme"
        echo "auth:"
        local l
        for l in "$@"; do echo "  $l"; done
    } >"$cfg"
    "$HAULGATED" --config "$cfg" >"$log" 2>&1 &
    AUTH_PID=$!
    AUTH_PIDS+=("$AUTH_PID")
    local deadline=$((SECONDS + 15)) api=""
    while [ $SECONDS -lt $deadline ] && kill -0 "$AUTH_PID" 2>/dev/null; do
        if [ -s "$data/listen.json" ]; then
            api=$(sed -n 's/.*"api"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$data/listen.json")
            [ -n "$api" ] && break
        fi
        sleep 0.1
    done
    if [ -z "$api" ]; then
        note "SKIP auth: haulgated ($name) did not start; its log:"
        tail -n 5 "$log" | sed 's/^/  /' >&2
        return 1
    fi
    AUTH_PORT=${api##*:}
}
# auth_token PORT -> a certificate-bound access token of tms on stdout
auth_token() {
    curl -sS --resolve "$SERVERNAME:$1:127.0.0.1" --cacert "$PKI/ca.crt" --cert "$PKI/tms.crt" \
        --key "$PKI/tms.key" -d grant_type=client_credentials "https://$SERVERNAME:$1/oauth2/token" \
        2>"$TMP/auth-curl.err" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
section_auth() {
    echo
    echo "== auth: GET $PATH_WHOAMI with a certificate-bound Bearer token (verified-token cache on)"
    echo "   beside the same request without a token on a second haulgated (auth.insecure_mtls_only);"
    echo "   POST /oauth2/token (client credentials, ES256, audited) beside openssl speed ecdsap256"
    [ -x "$HAULGATED" ] && [ -x "$LOADGEN" ] && [ -x "$HAULCTL" ] ||
        { note "SKIP auth: build haulgated, haulctl and bench/loadgen first ('make bench')"; return 0; }
    command -v curl >/dev/null 2>&1 || { note "SKIP auth: curl is not installed"; return 0; }
    [ -s "$PKI/ca.crt" ] || make_pki
    trap 'auth_stop_all; cleanup' EXIT
    local tport tpid mport mpid
    start_auth_daemon token "token_lifetime: 1h" || { auth_stop_all; return 0; }
    tport=$AUTH_PORT tpid=$AUTH_PID
    start_auth_daemon mtls "insecure_mtls_only: true" || { auth_stop_all; return 0; }
    mport=$AUTH_PORT mpid=$AUTH_PID
    local tok
    tok=$(auth_token "$tport")
    if [ -z "$tok" ]; then
        note "SKIP auth: no token from POST /oauth2/token:"
        sed 's/^/  /' "$TMP/auth-curl.err" >&2
        auth_stop_all
        return 0
    fi
    if ! load aprobe "$tport" 1 0 1 1 "$PATH_WHOAMI" --header "Authorization: Bearer $tok" >/dev/null ||
        ! load mprobe "$mport" 1 0 1 1 >/dev/null; then
        note "SKIP auth: a daemon does not answer GET $PATH_WHOAMI with 2xx:"
        sed 's/^/  /' "$TMP/loadgen-aprobe.err" "$TMP/loadgen-mprobe.err" >&2
        auth_stop_all
        return 0
    fi
    local RESULTS form=$TMP/token-form.txt
    RESULTS=$(results_file auth)
    printf 'grant_type=client_credentials' >"$form"
    declare -A RATE P50 P99 CPU
    local RATIOS="" r s port spid line rc t0 t1 rate cpu ratio base e m
    printf '%-6s %-15s %12s %9s %9s %8s %10s %7s\n' round run rate/s "p50 ms" "p99 ms" errors "cpu us/req" ratio
    for r in $(seq "$ROUNDS"); do
        base=""
        for s in whoami_mtls whoami_token token_issue; do
            ratio=""
            case $s in
            whoami_mtls) port=$mport spid=$mpid ;;
            *) port=$tport spid=$tpid ;;
            esac
            t0=$(cpu_ticks "$spid")
            case $s in
            whoami_mtls) line=$(load "$s" "$port" "$DURATION" "$WARMUP" "$CONNS" "$THREADS") ;;
            whoami_token)
                tok=$(auth_token "$tport") # fresh each round: never near its expiry
                line=$(load "$s" "$port" "$DURATION" "$WARMUP" "$CONNS" "$THREADS" "$PATH_WHOAMI" \
                    --header "Authorization: Bearer $tok")
                ;;
            token_issue)
                line=$(load "$s" "$port" "$DURATION" "$WARMUP" "$CONNS" "$THREADS" /oauth2/token \
                    --method POST --body-file "$form" \
                    --header "Content-Type: application/x-www-form-urlencoded")
                ;;
            esac
            rc=$?
            t1=$(cpu_ticks "$spid")
            if [ -z "$line" ]; then
                note "round $r $s: no result (exit $rc):"
                sed 's/^/  /' "$TMP/loadgen-$s.err" >&2
                continue
            fi
            echo "$line" >>"$RESULTS"
            [ "$rc" = 0 ] || sed 's/^/  /' "$TMP/loadgen-$s.err" >&2
            # 2xx responses only: a fast 401 must not flatter the rate
            rate=$(awk -v ok="$(field "$line" ok)" -v d="$(field "$line" duration_s)" \
                'BEGIN { if (d > 0) printf "%.1f", ok / d; else print 0 }')
            cpu=$(cpu_per_req "$((t1 - t0))" "$line")
            case $s in
            whoami_mtls) base=$rate ;;
            whoami_token)
                if [ -n "$base" ]; then
                    ratio=$(awk -v h="$rate" -v n="$base" 'BEGIN { if (n > 0) printf "%.2f", h / n }')
                    [ -n "$ratio" ] && RATIOS+="$ratio "
                fi
                ;;
            esac
            RATE[$s]+="$rate "
            P50[$s]+="$(field "$line" p50_us) "
            P99[$s]+="$(field "$line" p99_us) "
            [ -n "$cpu" ] && CPU[$s]+="$cpu "
            e=$(field "$line" errors)
            awk -v r="$r" -v s="$s" -v x="$rate" -v p50="$(field "$line" p50_us)" \
                -v p99="$(field "$line" p99_us)" -v e="${e:-0}" -v q="$ratio" -v c="${cpu:--}" \
                'BEGIN { printf "%-6s %-15s %12.1f %9.3f %9.3f %8d %10s %7s\n", r, s, x, p50 / 1000, p99 / 1000, e, c, q }'
        done
    done
    echo
    echo "median of rounds:"
    printf '%-15s %12s %9s %9s %10s\n' run rate/s "p50 ms" "p99 ms" "cpu us/req"
    declare -A MRATE
    for s in whoami_mtls whoami_token token_issue; do
        [ -n "${RATE[$s]:-}" ] || continue
        # shellcheck disable=SC2086  # the lists are space-separated numbers
        MRATE[$s]=$(median ${RATE[$s]})
        # shellcheck disable=SC2086
        awk -v s="$s" -v a="${MRATE[$s]}" -v b="$(median ${P50[$s]})" -v c="$(median ${P99[$s]})" \
            -v d="$(median ${CPU[$s]:-})" 'BEGIN { printf "%-15s %12.1f %9.3f %9.3f %10s\n", s, a, b / 1000, c / 1000, d }'
    done
    echo
    if [ -n "$RATIOS" ]; then
        # shellcheck disable=SC2086  # a space-separated list of numbers
        m=$(median $RATIOS)
        awk -v q="$m" 'BEGIN { printf "ratio whoami with token / without (insecure_mtls_only), req/s (median of per-round ratios): %.2f (target >= 0.80: %s)\n",
            q, (q >= 0.8 ? "met" : "NOT met") }'
    else
        echo "ratio whoami with token / without: not measured (see above)"
    fi
    if [ -n "${CPU[whoami_token]:-}" ] && [ -n "${CPU[whoami_mtls]:-}" ]; then
        # The loadgen shares the machine's cores with the daemons, so req/s
        # also moves with the client's cost; server CPU per request does not.
        # shellcheck disable=SC2086  # space-separated lists of numbers
        awk -v t="$(median ${CPU[whoami_token]})" -v m="$(median ${CPU[whoami_mtls]})" 'BEGIN {
            if (t > 0) printf "ratio whoami server CPU per request, without / with token (medians): %.2f (%.1f vs %.1f us)\n", m / t, m, t }'
    fi
    local signs
    signs=$(openssl speed -seconds 2 ecdsap256 2>/dev/null | awk '/ecdsa \(nistp256\)/ { print $(NF - 1) }')
    echo "openssl speed -seconds 2 ecdsap256 (one core): ${signs:-?} signs/s"
    if [ -n "${MRATE[token_issue]:-}" ]; then
        awk -v t="${MRATE[token_issue]}" -v o="${signs:-0}" 'BEGIN {
            printf "token issuance (median of rounds): %.0f tokens/s (target >= 5,000: %s)", t, (t >= 5000 ? "met" : "NOT met")
            if (o > 0) printf "; %.2f x one core of openssl ECDSA P-256 signs", t / o
            printf "\n" }'
    fi
    auth_stop_all
    trap cleanup EXIT
    local dropped
    dropped=$(grep -c 'audit queue is full' "$TMP/auth-token.log" 2>/dev/null)
    if [ "${dropped:-0}" -gt 0 ]; then
        echo "audit: $dropped token requests refused with 503 because the audit queue was full"
        echo "       (no token is issued unrecorded): issuance outran the audit log (docs/performance.md, auth)"
    fi
    local f
    for f in "$TMP/auth-token.log" "$TMP/auth-mtls.log"; do
        if grep -qv 'insecure_mtls_only' "$f" 2>/dev/null; then
            echo
            echo "haulgated ($(basename "$f" .log)) wrote to its log (last lines):"
            tail -n 5 "$f" | sed 's/^/  /'
        fi
    done
    echo
    results_note "$RESULTS"
}
if want auth; then section_auth; fi

exit 0
