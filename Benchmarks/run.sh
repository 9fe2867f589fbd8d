#!/usr/bin/env bash
# Builds the benchmarks in release mode and runs bench-loop: ours vs SwiftNIO, side by side.
#
#   ./run.sh                      all loop benchmarks, ROUNDS rounds (default 3)
#   ./run.sh timer-fire ping-pong only these (names: ./run.sh --list)
#   ROUNDS=5 COUNT=200000 ./run.sh
#   ./run.sh --only ours timer-fire   one side only, e.g. under a profiler
#
# Environment: ROUNDS (default 3), COUNT (operations per measurement, default each benchmark's
# 1,000,000), TIMEOUT (seconds per measurement, default 30), SKIP_BUILD=1 to reuse the last build.
# Any other arguments go to bench-loop as they are (see `bench-loop --help`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  swift build -c release --package-path . --product bench-loop >&2
fi
bin="$(swift build -c release --package-path . --show-bin-path)/bench-loop"

args=(--rounds "${ROUNDS:-3}" --timeout "${TIMEOUT:-30}")
if [ -n "${COUNT:-}" ]; then args+=(--count "$COUNT"); fi

echo "# bench-loop $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(swift --version 2>/dev/null | head -1)" >&2
exec "$bin" "${args[@]}" "$@"
