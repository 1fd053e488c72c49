#!/bin/bash
# kwmbench against a three-node cluster (one redis-server, nodes with one io thread each)
# beside a single node, as measured in docs/cluster.md. With --ports, connection i goes to
# node i % 3, so the two ends of every relay pair sit on different nodes and a group's
# members are spread over the three.
#   bench/cluster.sh [build directory, default build/test]
set -u
B=${1:-build/test}
D=$(mktemp -d)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$D" > "$D/redis.log" 2>&1 &
RPID=$!
sleep 0.5
PIDS=() PORTS=()
for i in 0 1 2; do
  P=$(free_port)
  "$B/kwmserverd" serve --listen "127.0.0.1:$P" --cluster-redis "redis://127.0.0.1:$RP" --cluster-node-name "n$i" \
    --rtm-rate-limit 0 --rtm-rate-limit-bytes 0 --io-threads 1 > "$D/n$i.log" 2>&1 &
  PIDS+=($!) PORTS+=("$P")
done
SP=$(free_port)
"$B/kwmserverd" serve --listen "127.0.0.1:$SP" --rtm-rate-limit 0 --rtm-rate-limit-bytes 0 --io-threads 1 > "$D/single.log" 2>&1 &
SPID=$!
trap 'kill "${PIDS[@]}" "$SPID" 2>/dev/null; sleep 1; kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
sleep 1.5
CP="${PORTS[0]},${PORTS[1]},${PORTS[2]}"
run() { echo "== $1"; shift; "$B/kwmbench" "$@" | grep '^result'; }
run "relay, single node" --scenario relay --port "$SP" --connections 100 --window 10 --duration 5
run "relay, three nodes" --scenario relay --ports "$CP" --connections 100 --window 10 --duration 5
run "latency, single node" --scenario relay --port "$SP" --connections 2 --window 1 --duration 3
run "latency, three nodes" --scenario relay --ports "$CP" --connections 2 --window 1 --duration 3
run "group fan-out, single node" --scenario group --port "$SP" --members 30 --senders 3 --duration 5
run "group fan-out, three nodes" --scenario group --ports "$CP" --members 30 --senders 3 --duration 5
echo "== redis-server CPU over all runs"; ps -o time= -p "$RPID"
