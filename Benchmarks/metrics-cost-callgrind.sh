#!/usr/bin/env bash
# metrics-cost-callgrind.sh: instructions per HTTP request in the serving process, with and without the
# master's metrics listener, counted by callgrind (repeatable on a busy machine, unlike wall clock).
# The server runs under valgrind with its children; once its one process serves, that process's counters
# are zeroed, REQUESTS keep-alive requests are sent on CONNECTIONS connections, and the counters dumped.
#
#   Benchmarks/metrics-cost-callgrind.sh                    # bench-http, 20000 requests, 4 connections
#   REQUESTS=2000 Benchmarks/metrics-cost-callgrind.sh      # a smoke run
#   SERVER_CMD='prog start' METRICS_ENV=VAR CHILD_ENV=K=V   # another program serving HTTP on PORT:
#                                                           # METRICS_ENV names the variable that sets the
#                                                           # metrics address; the process counted is the
#                                                           # child started with K=V (e.g. WORKERMAN_PLAN=2)
set -euo pipefail
cd "$(dirname "$0")"
REQUESTS=${REQUESTS:-20000}
CONNECTIONS=${CONNECTIONS:-4}
PORT=${PORT:-18081}
MPORT=${MPORT:-19101}
BIN=${BIN:-.build/release/bench-http}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if [ -z "${SERVER_CMD:-}" ]; then
    # valgrind 3.19 gives up on the DWARF 5 debug info Swift writes: measure a copy without it.
    cp "$BIN" "$OUT/bench-http" && strip --strip-debug "$OUT/bench-http" && BIN="$OUT/bench-http"
fi

measure() {  # $1: on|off
    local metrics=$1 server
    if [ -n "${SERVER_CMD:-}" ]; then
        local extra=""
        [ "$metrics" = on ] && extra="$METRICS_ENV=127.0.0.1:$MPORT"
        env $extra valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$OUT/cg.%p" $SERVER_CMD >"$OUT/server.log" 2>&1 &
    else
        local flags=()
        [ "$metrics" = on ] && flags=(--metrics "127.0.0.1:$MPORT")
        valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$OUT/cg.%p" \
            "$BIN" --port "$PORT" --count 1 "${flags[@]}" >"$OUT/server.log" 2>&1 &
    fi
    server=$!
    local child=""
    for _ in $(seq 600); do  # valgrind starts slowly: at most 60 s
        child=""
        for pid in $(pgrep -P "$server" || true); do
            # The process to count: the first child, or the one whose start environment has CHILD_ENV.
            if [ -z "${CHILD_ENV:-}" ] || tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "$CHILD_ENV"; then
                child=$pid
                break
            fi
        done
        if [ -n "$child" ] && python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null; then break; fi
        sleep 0.1
    done
    [ -n "$child" ] || { echo "no serving process" >&2; cat "$OUT/server.log" >&2; kill -INT "$server"; exit 1; }
    python3 - "$PORT" 200 1 <<<"$CLIENT" >/dev/null  # warm up: first-use paths out of the count
    callgrind_control -z "$child" >/dev/null 2>&1
    python3 - "$PORT" "$REQUESTS" "$CONNECTIONS" <<<"$CLIENT"
    callgrind_control -d "$child" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] && cp "$OUT"/cg."$child"* "$KEEP"/ 2>/dev/null
    local dump
    dump=$(ls -t "$OUT"/cg."$child".* 2>/dev/null | grep -v '\.'"$child"'$' | head -1 || true)
    [ -n "$dump" ] || dump=$(ls -t "$OUT"/cg."$child"* | head -1)
    local total
    total=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
    echo "metrics=$metrics instructions=$total requests=$REQUESTS per_request=$(( total / REQUESTS ))"
    kill -INT "$server"
    wait "$server" 2>/dev/null || true
    rm -f "$OUT"/cg.*
}

# A blocking keep-alive client: argv port, requests, connections; requests spread over the connections
# one after another on each, each answer read whole (Content-Length).
CLIENT=$(cat <<'PY'
import socket, sys
port, total, conns = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
request = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
for i in range(total):
    s = socks[i % conns]
    s.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(body) < length:
        body += s.recv(65536)
PY
)

measure off
measure on
