#!/usr/bin/env bash
# Profiles one server under one kwmbench scenario and prints the top of the profile.
#
#   bench/profile.sh [--server ours|original] [--seconds 5] [--top 40] [--call-graph dwarf|fp]
#                    [--heaptrack] [--out DIR] [--ours BIN] [--original BIN] [--bench BIN]
#                    -- <kwmbench scenario options, e.g. --scenario group --members 50 --senders 5 --window 10>
#
# CPU (default): starts the server under `perf record` with sampling switched off, runs the
# scenario, switches sampling on when kwmbench says the measured interval began and off after
# --seconds; then prints `perf report --no-children` (self time per symbol). (Attaching with
# `perf record -g -p PID` records no samples on this VM's kernel; launching does.) Call graphs:
# dwarf (default; needs debug info, RelWithDebInfo has it) or fp (needs frame pointers). The
# original is a stripped Go binary: its kernel frames resolve, its own show as addresses.
# Memory (--heaptrack, ours only): runs the server under heaptrack for the whole scenario and
# prints heaptrack_print's summary and peak consumers (use --scenario idle for memory per
# connection). The data files stay in --out (default build/profile/<server>-<time>).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=bench/servers.sh
source "$here/servers.sh"

server=ours
seconds=5
top=40
call_graph=dwarf
heaptrack=false
out=""
ours=$repo/build/test/kwmserverd
original=$repo/../shared/peer/kwmserverd-2.0
bench=$repo/build/test/kwmbench
while [ $# -gt 0 ]; do
  case $1 in
    --server) server=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    --call-graph) call_graph=$2; shift 2 ;;
    --heaptrack) heaptrack=true; shift ;;
    --out) out=$2; shift 2 ;;
    --ours) ours=$2; shift 2 ;;
    --original) original=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help; kwmbench options go after --)" >&2; exit 2 ;;
  esac
done
[ $# -gt 0 ] || { echo "give the kwmbench scenario after --, e.g. -- --scenario ping --connections 100" >&2; exit 2; }
case $server in ours | original) ;; *) echo "--server is ours or original" >&2; exit 2 ;; esac
[ "$heaptrack" = false ] || [ "$server" = ours ] || { echo "--heaptrack profiles ours only (Go has its own heap)" >&2; exit 2; }
[ -x "$bench" ] || { echo "no kwmbench at $bench" >&2; exit 2; }
command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 2; }

servers_init "$ours" "$original"
[ -n "$out" ] || out=$repo/build/profile/$server-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)

echo "kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)," \
  "kernel.kptr_restrict=$(cat /proc/sys/kernel/kptr_restrict), running as uid $(id -u)" >&2
if [ "$heaptrack" = true ]; then
  command -v heaptrack >/dev/null || { echo "heaptrack is missing (apt-get install heaptrack)" >&2; exit 2; }
  SERVER_WRAPPER=(heaptrack -o "$out/heaptrack.$server")
else
  mkfifo "$WORK_DIR/perf.ctl" "$WORK_DIR/perf.ack"
  exec {ctl}<>"$WORK_DIR/perf.ctl" {ack}<>"$WORK_DIR/perf.ack"
  graph=(--call-graph "$call_graph")
  [ "$call_graph" = dwarf ] && graph=(--call-graph "dwarf,8192")
  SERVER_WRAPPER=(perf record -D -1 --control "fifo:$WORK_DIR/perf.ctl,$WORK_DIR/perf.ack" "${graph[@]}" -F 999
    -o "$out/perf.data" --)
fi
start_server "$server"
echo "$server server: pid $SERVER_PID, port $SERVER_PORT" >&2

"$bench" --port "$SERVER_PORT" --auth "basic:$BASIC_VALUE" --server-pid "$SERVER_PID" --duration "$seconds" "$@" \
  >"$out/kwmbench.out" 2>"$out/kwmbench.err" &
bench_pid=$!
STARTED_PIDS+=("$bench_pid")

perf_control() {  # perf_control enable|disable
  echo "$1" >&"$ctl"
  read -r -t 10 _ <&"$ack" || echo "perf did not acknowledge '$1'" >&2
}
if [ "$heaptrack" = false ]; then
  # Setup (connects, joins) is not profiled: wait for the measured interval.
  until grep -q 'kwmbench: measuring' "$out/kwmbench.err" 2>/dev/null; do
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.05
  done
  perf_control enable
  sleep "$seconds"
  perf_control disable
fi
wait "$bench_pid" || echo "kwmbench exited with $?: $(cat "$out/kwmbench.err")" >&2
forget_pid "$bench_pid"
cat "$out/kwmbench.out"
stop_server

echo
if [ "$heaptrack" = true ]; then
  file=$(find "$out" -name "heaptrack.$server.*" | head -1)
  [ -n "$file" ] || { echo "heaptrack wrote no data" >&2; exit 1; }
  heaptrack_print -f "$file" --print-peaks --print-allocators=0 --print-temporary=0 --peak-limit 15 \
    >"$out/heaptrack.txt" 2>/dev/null || true
  sed -n '/^PEAK MEMORY CONSUMERS/,$p' "$out/heaptrack.txt" | head -n $((top * 3))
  echo "…"
  grep -E '^(total runtime|calls to allocation|temporary memory|peak heap memory|peak RSS|total memory leaked)' \
    "$out/heaptrack.txt" || true
  echo
  echo "data: $file (heaptrack_print -f FILE, or heaptrack_gui)"
else
  perf report -i "$out/perf.data" --no-children --stdio -g none --percent-limit 0.3 2>/dev/null \
    | grep -v -e "^#" -e "^$" | cut -c1-200 | head -n "$top" | tee "$out/perf-top.txt"
  echo
  echo "data: $out/perf.data (perf report -i FILE --no-children; with callers: drop -g none)"
fi
