# shellcheck shell=bash disable=SC2034
# Shell functions shared by bench/compare.sh and bench/profile.sh (sourced, not run): start
# this project's server or the original Go server on a free loopback port with the same
# Basic auth, wait until it answers, stop it, and remove everything on exit.
#
# After `servers_init`, `start_server ours|original [flags…]` sets SERVER_PID and SERVER_PORT;
# a server started with --tls-cert is waited for over HTTPS.
# Every process started here is stopped by the EXIT trap, on success, failure or Ctrl-C.

BASIC_VALUE=cGVlcjpwZWVy  # base64 of peer:peer, accepted by both servers
STARTED_PIDS=()

servers_cleanup() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  STARTED_PIDS=()
  [ -n "${WORK_DIR:-}" ] && rm -rf "$WORK_DIR"
}

forget_pid() {
  local keep=() pid
  for pid in "${STARTED_PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
  STARTED_PIDS=("${keep[@]}")
}

# servers_init OURS_BINARY ORIGINAL_BINARY: checks the binaries, raises the descriptor limit,
# writes the auth files and installs the cleanup traps.
servers_init() {
  OURS_BINARY=$1
  ORIGINAL_BINARY=$2
  [ -x "$OURS_BINARY" ] || { echo "no server binary at $OURS_BINARY (build it: cmake --build build/test --target kwmserverd)" >&2; exit 2; }
  [ -x "$ORIGINAL_BINARY" ] || { echo "no original server at $ORIGINAL_BINARY" >&2; exit 2; }
  WORK_DIR=$(mktemp -d -t kwm-bench.XXXXXX)
  trap servers_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  head -c 32 /dev/urandom >"$WORK_DIR/admin.key"
  printf '%s\n' "$BASIC_VALUE" >"$WORK_DIR/basic.txt"
  # Both servers and the client each hold one descriptor per connection (P4: 10,000).
  local hard
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
  FD_LIMIT=$(ulimit -n)
  # Flags that exist in a build of ours and switch off limits the original lacks (a benchmark
  # client sends far above the frame rate a browser needs); for each binary, so that two
  # builds of ours can be compared too.
  limit_flags_of "$OURS_BINARY"
  OURS_EXTRA_FLAGS=("${LIMIT_FLAGS[@]}")
  limit_flags_of "$ORIGINAL_BINARY"
  ORIGINAL_EXTRA_FLAGS=("${LIMIT_FLAGS[@]}")
}

limit_flags_of() {
  local help flag
  help=$("$1" serve --help 2>&1 || true)
  LIMIT_FLAGS=()
  for flag in --rtm-rate-limit --rtm-rate-limit-bytes --rtm-max-connections-per-user; do
    grep -q -- "$flag " <<<"$help" && LIMIT_FLAGS+=("$flag" 0)
  done
  return 0
}

# make_certificate: a self-signed ECDSA P-256 certificate for 127.0.0.1 in WORK_DIR (the
# openssl command line), for servers started with TLS_FLAGS.
make_certificate() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK_DIR/tls.key" -out "$WORK_DIR/tls.crt" 2>/dev/null
  TLS_FLAGS=(--tls-cert "$WORK_DIR/tls.crt" --tls-key "$WORK_DIR/tls.key")
}

# A port below the kernel's ephemeral range (so no client socket takes it meanwhile) that
# nothing listens on.
pick_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 12000))
    if [ -z "$(ss -Htln "sport = :$port" 2>/dev/null)" ]; then echo "$port"; return 0; fi
  done
  echo "no free port found" >&2
  return 1
}

# start_server ours|original [extra flags…]
start_server() {
  local which=$1
  shift
  SERVER_PORT=$(pick_port)
  local log="$WORK_DIR/$which-$SERVER_PORT.log"
  local common=(--listen "127.0.0.1:$SERVER_PORT" --admin-tokens-key "$WORK_DIR/admin.key"
    --enable-auth-basic --auth-basic-values "$WORK_DIR/basic.txt" --log-level warn)
  # SERVER_WRAPPER (an array, e.g. heaptrack -o FILE) runs the server as its child.
  local binary=$ORIGINAL_BINARY flags=("${common[@]}" "${ORIGINAL_EXTRA_FLAGS[@]}" "$@")
  [ "$which" = ours ] && binary=$OURS_BINARY && flags=("${common[@]}" "${OURS_EXTRA_FLAGS[@]}" "$@")
  local scheme=http
  [[ " ${flags[*]} " == *" --tls-cert "* ]] && scheme=https
  (cd "$WORK_DIR" && KOPANO_SURVEYCLIENT_AUTOSURVEY=no exec ${SERVER_WRAPPER[@]+"${SERVER_WRAPPER[@]}"} \
    "$binary" serve "${flags[@]}") >"$log" 2>&1 &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  WRAPPER_PID=""
  if [ -n "${SERVER_WRAPPER+set}" ]; then
    WRAPPER_PID=$SERVER_PID
    SERVER_PID=""
    for _ in $(seq 100); do
      SERVER_PID=$(pgrep -P "$WRAPPER_PID" -x "$(basename "$binary" | cut -c1-15)" || true)
      [ -n "$SERVER_PID" ] && break
      sleep 0.1
    done
    [ -n "$SERVER_PID" ] || { echo "the server did not start under ${SERVER_WRAPPER[0]}" >&2; cat "$log" >&2; return 1; }
    STARTED_PIDS+=("$SERVER_PID")
  fi
  local status
  for _ in $(seq 100); do
    status=$(curl -sk -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Basic $BASIC_VALUE" \
      -d user=ready "$scheme://127.0.0.1:$SERVER_PORT/api/kwm/v2/rtm/connect" 2>/dev/null || true)
    [ "$status" = 200 ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$which server did not come up on port $SERVER_PORT; its log:" >&2
  cat "$log" >&2
  return 1
}

stop_server() {
  local pid
  for pid in $SERVER_PID ${WRAPPER_PID:-}; do  # the server first: a wrapper finishes after it
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
  done
}
