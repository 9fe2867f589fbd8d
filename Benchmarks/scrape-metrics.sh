#!/usr/bin/env bash
# scrape-metrics.sh: how long the master takes to answer one /metrics scrape with PROCS worker processes
# (the issue's target: <= 5 ms with 64). It starts bench-http with PROCS processes and a metrics listener,
# waits until every process runs, then times SCRAPES scrapes of /metrics and as many of a 404 path (same
# connection set-up and HTTP parsing, no rendering) with curl, and prints the medians, the 99th
# percentiles and their difference, which is the render time in the master.
#
#   PROCS=64 SCRAPES=500 Benchmarks/scrape-metrics.sh
#   PROCS=4 SCRAPES=20 Benchmarks/scrape-metrics.sh                    # a smoke run
#   SERVER_CMD='…' Benchmarks/scrape-metrics.sh                         # another runAll() program, which
#                                                                       # must serve metrics on MPORT
set -euo pipefail
cd "$(dirname "$0")"
PROCS=${PROCS:-64}
SCRAPES=${SCRAPES:-500}
PORT=${PORT:-18080}
MPORT=${MPORT:-19100}
BIN=${BIN:-.build/release/bench-http}

if [ -n "${SERVER_CMD:-}" ]; then
    bash -c "exec $SERVER_CMD" &
else
    [ -x "$BIN" ] || { echo "build it first: (cd Benchmarks && swift build -c release --product bench-http)" >&2; exit 1; }
    "$BIN" --port "$PORT" --count "$PROCS" --metrics "127.0.0.1:$MPORT" >/dev/null 2>&1 &
fi
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT

# Until the master reports PROCS running processes in all (at most 60 s: 64 processes start slowly).
for _ in $(seq 600); do
    running=$(curl -s "http://127.0.0.1:$MPORT/metrics" | awk '/^workerman_processes\{/ { n += $2 } END { print n + 0 }' || echo 0)
    [ "${running:-0}" -ge "$PROCS" ] && break
    sleep 0.1
done
[ "${running:-0}" -ge "$PROCS" ] || { echo "only ${running:-0} of $PROCS processes came up" >&2; exit 1; }

# Seconds from connected to first byte of the answer, one line per request.
timings() {
    for _ in $(seq "$SCRAPES"); do
        curl -s -o /dev/null -w '%{time_connect} %{time_starttransfer}\n' "http://127.0.0.1:$MPORT$1"
    done | awk '{ printf "%.6f\n", $2 - $1 }' | sort -n
}
percentile() { awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; printf "%.3f", v[i] * 1000 }' <<<"$1"; }

bytes=$(curl -s "http://127.0.0.1:$MPORT/metrics" | wc -c)
scrape=$(timings /metrics)
baseline=$(timings /not-metrics)
m50=$(percentile "$scrape" 50); m99=$(percentile "$scrape" 99)
b50=$(percentile "$baseline" 50); b99=$(percentile "$baseline" 99)
echo "processes=$PROCS scrapes=$SCRAPES body=${bytes}B"
echo "scrape      p50=${m50}ms p99=${m99}ms"
echo "404 path    p50=${b50}ms p99=${b99}ms"
echo "render (scrape - 404) p50=$(awk -v a="$m50" -v b="$b50" 'BEGIN { printf "%.3f", a - b }')ms p99=$(awk -v a="$m99" -v b="$b99" 'BEGIN { printf "%.3f", a - b }')ms"
