#!/usr/bin/env bash
# Side-by-side benchmark of this project's server and the original Go server with the same
# client (kwmbench), the same auth path (Basic) and the same machine: for N rounds, every
# scenario runs against a fresh instance of each server, back to back, the order flipping
# each round. Prints one table of medians (min–max over the rounds) and ours/original ratios.
#
#   bench/compare.sh [--rounds 3] [--duration 5] [--only "p1 p2 …"] [--ours build/test/kwmserverd]
#                    [--original ../shared/peer/kwmserverd-2.0] [--bench build/test/kwmbench]
#                    [--idle-connections 10000] [--raw FILE]
#                    [--tls ours|original|both] [--tls-resume] [--names "ours original"]
#
# --original may be another build of ours (it gets the same limit-lifting flags). --tls serves
# HTTPS/WSS on that side with a self-signed ECDSA P-256 certificate and runs kwmbench with
# --tls there (--tls-resume: each WebSocket resumes its connect call's TLS session); --names
# only relabels the table, e.g. bench/compare.sh --original build/test/kwmserverd --tls ours
# --names "TLS plain" compares one build with and without TLS.
#
# Scenarios (issue 14): p1 (ping, 100 connections × 10 in flight), p1lat (ping, 1 × 1),
# p2 (1:1 relay, 50 call pairs × 10), p3 (connect + upgrade + hello, 4 parallel clients),
# p4 (10,000 idle connections, RSS per connection), p5 (group of 50, 5 senders × 10), and the
# fan-out scale fan10, fan200, fan1000 (the same as p5 with 10, 200, 1000 members; p5 is 50).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=bench/servers.sh
source "$here/servers.sh"

rounds=3
duration=5
only="p1 p1lat p2 p3 p4 p5 fan10 fan200 fan1000"
ours=$repo/build/test/kwmserverd
original=$repo/../shared/peer/kwmserverd-2.0
bench=$repo/build/test/kwmbench
idle_connections=10000
raw=""
tls_side=""
tls_bench_flag=--tls
names="ours original"
command_line="bench/compare.sh $*"

while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --ours) ours=$2; shift 2 ;;
    --original) original=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --idle-connections) idle_connections=$2; shift 2 ;;
    --raw) raw=$2; shift 2 ;;
    --tls) tls_side=$2; shift 2 ;;
    --tls-resume) tls_bench_flag=--tls-resume; shift ;;
    --names) names=$2; shift 2 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ -x "$bench" ] || { echo "no kwmbench at $bench (cmake --build build/test --target kwmbench)" >&2; exit 2; }
case "$tls_side" in "" | ours | original | both) ;; *) echo "--tls takes ours, original or both" >&2; exit 2 ;; esac
read -r ours_name original_name <<<"$names"
servers_init "$ours" "$original"
[ -z "$tls_side" ] || make_certificate
[ -n "$raw" ] || raw=$WORK_DIR/results.txt
: >"$raw"

if [ "$FD_LIMIT" -lt $((idle_connections + 200)) ]; then
  idle_connections=$((FD_LIMIT - 200))
  echo "descriptor limit $FD_LIMIT: P4 uses $idle_connections connections" >&2
fi

label_of() {
  case $1 in
    p1) echo "P1 ping 100×10" ;;
    p1lat) echo "P1 ping 1×1" ;;
    p2) echo "P2 relay 50 pairs×10" ;;
    p3) echo "P3 connect, 4 clients" ;;
    p4) echo "P4 idle $idle_connections" ;;
    p5) echo "P5 group 50, 5×10" ;;
    fan*) echo "fan-out ${1#fan} members" ;;
  esac
}

args_of() {
  case $1 in
    p1) echo "--scenario ping --connections 100 --window 10" ;;
    p1lat) echo "--scenario ping --connections 1 --window 1" ;;
    p2) echo "--scenario relay --connections 100 --window 10" ;;
    p3) echo "--scenario connect --window 4" ;;
    p4) echo "--scenario idle --connections $idle_connections --sources 127.0.0.2,127.0.0.3,127.0.0.4" ;;
    p5) echo "--scenario group --members 50 --senders 5 --window 10" ;;
    fan*) echo "--scenario group --members ${1#fan} --senders 5 --window 10" ;;
    *) echo "unknown scenario $1" >&2; return 1 ;;
  esac
}

build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$ours")/CMakeCache.txt" 2>/dev/null || true)
sanitize=$(sed -n 's/^KWM_SANITIZE:STRING=//p' "$(dirname "$ours")/CMakeCache.txt" 2>/dev/null || true)
case "${build_type:-unknown}" in
  Release | RelWithDebInfo) ;;
  *) echo "warning: $ours is a ${build_type:-unknown} build; compare Release or RelWithDebInfo builds" >&2 ;;
esac
[ -z "$sanitize" ] || echo "warning: $ours is built with sanitizers ($sanitize)" >&2

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)

uses_tls() { [ "$tls_side" = both ] || [ "$tls_side" = "$1" ]; }

run_one() {  # run_one ROUND IMPL SCENARIO
  local round=$1 impl=$2 scenario=$3 args out rc=0 server_flags=() bench_flags=()
  args=$(args_of "$scenario")
  if uses_tls "$impl"; then server_flags=("${TLS_FLAGS[@]}"); bench_flags=("$tls_bench_flag"); fi
  start_server "$impl" "${server_flags[@]}"
  out=$WORK_DIR/run.out
  # shellcheck disable=SC2086
  timeout -k 5 $((${duration%.*} * 4 + 300)) "$bench" --port "$SERVER_PORT" --auth "basic:$BASIC_VALUE" \
    --server-pid "$SERVER_PID" --duration "$duration" "${bench_flags[@]}" $args >"$out" 2>"$WORK_DIR/run.err" &
  local bench_pid=$!
  STARTED_PIDS+=("$bench_pid")
  wait "$bench_pid" || rc=$?
  forget_pid "$bench_pid"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  stop_server
  local result
  result=$(grep '^result ' "$out" || true)
  if [ -z "$result" ] || [ "$rc" -ne 0 ]; then
    echo "round $round $impl $scenario: kwmbench failed (exit $rc):" >&2
    cat "$WORK_DIR/run.err" "$out" >&2
    result="result failed=1"
  fi
  echo "$round $impl $scenario load=$load ${result#result }" >>"$raw"
  echo "round $round/$rounds $(printf '%-8s' "$impl") $(label_of "$scenario"): ${result#result }" >&2
}

for round in $(seq "$rounds"); do
  for scenario in $only; do
    args_of "$scenario" >/dev/null
    if [ $((round % 2)) -eq 1 ]; then order="ours original"; else order="original ours"; fi
    for impl in $order; do run_one "$round" "$impl" "$scenario"; done
  done
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(($(date +%s) - started))

# One table row per scenario and figure: median (min–max) per server, then ours/original.
rows() {
  local s
  for s in $only; do
    case $s in
      p1 | p2 | p5 | fan*)
        echo "$s per_second $(case $s in p1) echo 'round trips/s' ;; p2) echo 'relayed msgs/s' ;; *) echo 'deliveries/s' ;; esac)"
        echo "$s server_us_per_msg server CPU µs per message"
        echo "$s client_us_per_msg client CPU µs per message"
        echo "$s server_cpu_pct server CPU % (200 = both cores)"
        echo "$s client_cpu_pct client CPU %"
        echo "$s p50_us latency p50 µs"
        echo "$s p99_us latency p99 µs" ;;
      p1lat)
        echo "$s per_second round trips/s"
        echo "$s p50_us latency p50 µs"
        echo "$s p99_us latency p99 µs"
        echo "$s server_us_per_msg server CPU µs per message" ;;
      p3)
        echo "$s per_second connects/s"
        echo "$s server_us_per_msg server CPU µs per connect"
        echo "$s p50_us connect latency p50 µs" ;;
      p4)
        echo "$s kib_per_connection server RSS KiB per connection" ;;
    esac
  done
}

labels=$(for s in $only; do echo "$s|$(label_of "$s")"; done)

echo
echo "kwmbench side by side: $ours_name = $ours (${build_type:-unknown}$(uses_tls ours && echo ", TLS")), $original_name = $original$(uses_tls original && echo " (TLS)")"
echo "command: $command_line"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, auth Basic on both, $rounds rounds alternating," \
  "${duration} s per scenario, $elapsed s in all; load average before: $load_before, after: $load_after"
echo
rows | awk -v raw="$raw" -v labels="$labels" -v a="$ours_name" -v b="$original_name" '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
    lo = v[1]; hi = v[n]
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function fmt(x) {
    if (x == "" || x < 0) return "–"
    if (x >= 1000) return sprintf("%.0f", x)
    if (x >= 10) return sprintf("%.1f", x)
    return sprintf("%.2f", x)
  }
  function cell(list,   m) {
    if (list == "") return "–"
    m = median(list)
    if (lo == hi) return fmt(m)
    return fmt(m) " (" fmt(lo) "–" fmt(hi) ")"
  }
  BEGIN {
    n = split(labels, l, "\n")
    for (i = 1; i <= n; i++) { split(l[i], kv, "|"); label[kv[1]] = kv[2] }
    while ((getline line < raw) > 0) {
      k = split(line, f, " ")
      for (i = 4; i <= k; i++) {
        split(f[i], kv, "=")
        key = f[3] SUBSEP f[2] SUBSEP kv[1]
        values[key] = values[key] (values[key] == "" ? "" : " ") kv[2]
      }
    }
    print "| scenario | figure | " a " | " b " | " a " / " b " |"
    print "|---|---|---|---|---|"
  }
  {
    s = $1; key = $2; title = $3; for (i = 4; i <= NF; i++) title = title " " $i
    o = values[s SUBSEP "ours" SUBSEP key]; g = values[s SUBSEP "original" SUBSEP key]
    ratio = "–"
    if (o != "" && g != "" && key !~ /_pct$/) {
      mo = median(o); mg = median(g)
      if (mg > 0 && mo >= 0) ratio = sprintf("%.2f", mo / mg)
    }
    printf "| %s | %s | %s | %s | %s |\n", label[s], title, cell(o), cell(g), ratio
  }'
if grep -q -e 'failed=1' -e 'closed=[1-9]' "$raw"; then
  echo
  echo "warning: some runs failed or had connections closed by the server:"
  grep -e 'failed=1' -e 'closed=[1-9]' "$raw"
fi
echo
echo "raw results: $raw (medians over $rounds rounds; CPU from /proc/<pid>/stat, client CPU from getrusage)"
[ "$raw" != "$WORK_DIR/results.txt" ] || cat "$raw"
