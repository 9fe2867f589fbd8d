#!/bin/bash
# Instructions and heap allocations per HTTP request for bench-http's sync, async and async-hop handlers:
# counts, not times, so the figures hold on a busy machine. The worker process runs under callgrind; after
# a warm-up its counters are zeroed, REQUESTS keep-alive requests are sent (http-requests.py, CONNECTIONS
# at a time), and the counters dumped. Allocations come from bench-http's own malloc counter
# (--count-allocations), in a second, native run of the same requests.
#
#   swift build -c release --product bench-http && ./async-cost.sh            # REQUESTS=5000 by default
#   REQUESTS=500 ./async-cost.sh                                                # smoke
#
# Prints one line per mode, e.g. `async      instructions/request 21034  allocations/request 3.00`.
set -euo pipefail
cd "$(dirname "$0")"
BIN=${BIN:-.build/release/bench-http}
REQUESTS=${REQUESTS:-5000}
CONNECTIONS=${CONNECTIONS:-10}
PORT=${PORT:-18090}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# valgrind 3.19 cannot read the DWARF 5 the toolchain writes: measure a copy without debug information
# (the symbol table stays, so callgrind still names functions).
strip -g -o "$WORK/bench-http" "$BIN"

wait_port() {
    for _ in $(seq 1 600); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1)).close()" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "server on port $1 did not come up" >&2
    return 1
}

stop() {  # master pid: SIGINT stops master and worker; wait for it, bounded
    kill -INT "$1" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
}

worker_of() {  # the one child process of the master (count 1)
    for _ in $(seq 1 100); do
        local child
        child=$(pgrep -P "$1" | head -1 || true)
        [ -n "$child" ] && { echo "$child"; return 0; }
        sleep 0.1
    done
    return 1
}

for mode in sync async async-hop; do
    flag=""
    [ "$mode" != sync ] && flag="--$mode"
    # Instructions: the worker under callgrind (the master too, as valgrind follows the exec).
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$WORK/cg.$mode.%p" \
        "$WORK/bench-http" --port "$PORT" --count 1 $flag >"$WORK/out.$mode" 2>&1 &
    master=$!
    wait_port "$PORT"
    worker=$(worker_of "$master")
    python3 http-requests.py "$PORT" 500 "$CONNECTIONS" >/dev/null
    callgrind_control -z "$worker" >/dev/null 2>&1
    python3 http-requests.py "$PORT" "$REQUESTS" "$CONNECTIONS" >/dev/null
    callgrind_control -d "$mode" "$worker" >/dev/null 2>&1
    stop "$master"
    dump=$(ls "$WORK"/cg."$mode"."$worker".* 2>/dev/null | head -1)
    instructions=$(awk '/^summary:|^totals:/ { print $2; exit }' "$dump")

    # Allocations: natively, the counter prints per second; the requests are spread over the lines.
    "$WORK/bench-http" --port "$PORT" --count 1 $flag --count-allocations >"$WORK/alloc.$mode" 2>&1 &
    master=$!
    wait_port "$PORT"
    python3 http-requests.py "$PORT" 500 "$CONNECTIONS" >/dev/null
    sleep 1.2  # the warm-up's second is reported on its own line, left out below
    before=$(grep -c "allocations per request" "$WORK/alloc.$mode" || true)
    python3 http-requests.py "$PORT" "$REQUESTS" "$CONNECTIONS" >/dev/null
    sleep 1.2
    stop "$master"
    allocations=$(grep "allocations per request" "$WORK/alloc.$mode" | tail -n +"$((before + 1))" |
        awk '{ requests += $2; allocations += $2 * $4 } END { if (requests) printf "%.2f", allocations / requests; else print "n/a" }')
    printf "%-10s instructions/request %s  allocations/request %s\n" "$mode" "$((instructions / REQUESTS))" "$allocations"
done
