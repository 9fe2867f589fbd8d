#!/usr/bin/env bash
# Autobahn|Testsuite against our WebSocket server (fuzzingclient) and our ws:// client (fuzzingserver),
# run by kosoku (Autobahn's case files under Python 3). Everything on 127.0.0.1; both runs bounded.
# Prints one summary line per side, then "N passed, N failed" for both together.
#
#   Scripts/autobahn.sh            (EXCLUDE="12.* 13.*" by default: permessage-deflate is not offered)
#   KOSOKU=/path/to/kosoku CONFIG=release Scripts/autobahn.sh
#   BIN=.build/debug Scripts/autobahn.sh      (use already built binaries)
#   EXCLUDE="" Scripts/autobahn.sh            (all cases: ws-echo and autobahn-client get --deflate)
#   DEFLATE=0 / DEFLATE=1                     (force permessage-deflate off or on in both programs)
set -uo pipefail
set -f  # case globs such as 12.* must reach kosoku as they are
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KOSOKU="${KOSOKU:-$HOME/venvs/kosoku/bin/kosoku}"
CONFIG="${CONFIG:-release}"
EXCLUDE="${EXCLUDE-12.* 13.*}"  # EXCLUDE="" runs every case
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"

if [ ! -x "$KOSOKU" ]; then
  python3 -m venv "$(dirname "$(dirname "$KOSOKU")")" && "$(dirname "$KOSOKU")/pip" install -q kosoku || { echo "cannot install kosoku"; exit 1; }
fi
if [ -n "${BIN:-}" ]; then
  bin="$BIN"  # prebuilt ws-echo and autobahn-client (the test suite passes its own build folder)
else
  swift build -c "$CONFIG" --package-path "$here" --product ws-echo >&2 && \
    swift build -c "$CONFIG" --package-path "$here" --product autobahn-client >&2 || exit 1
  bin="$(swift build -c "$CONFIG" --package-path "$here" --show-bin-path)"
fi
excludes=(); for c in $EXCLUDE; do excludes+=(-x "$c"); done
# Sections 12 and 13 test permessage-deflate: enable it when they run (unless DEFLATE says otherwise).
case " $EXCLUDE " in *" 12.* "*" 13.* "*|*" 13.* "*" 12.* "*) default_deflate=0 ;; *) default_deflate=1 ;; esac
deflate=(); [ "${DEFLATE:-$default_deflate}" = 1 ] && deflate=(--deflate)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done  # whatever ignored the TERM
}
trap cleanup EXIT

# "passed failed" of an Autobahn report index: a case passes when its behaviour and its close are
# acceptable.
tally() {
  python3 - "$1" <<'PY'
import json, sys
data = json.load(open(sys.argv[1])); passed = failed = 0
for agent in data.values():
    for case in agent.values():
        ok = case["behavior"] in ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED") and case.get("behaviorClose", "OK") in ("OK", "INFORMATIONAL", "UNIMPLEMENTED")
        passed += ok; failed += not ok
print(passed, failed)
PY
}

# Our server, driven by the fuzzingclient.
"$bin/ws-echo" --port 0 "${deflate[@]}" > "$OUT/ws-echo.out" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do grep -q '^port ' "$OUT/ws-echo.out" 2>/dev/null && break; sleep 0.05; done
port="$(sed -n 's/^port //p' "$OUT/ws-echo.out")"
(cd "$OUT" && timeout 600 "$KOSOKU" -m fuzzingclient "${excludes[@]}" -p 2 -o "$OUT/servers" "127.0.0.1:$port" > "$OUT/servers.log" 2>&1)
server_line="$(tally "$OUT/servers/index.json")" || server_line="0 1"

# Our client, against the fuzzingserver.
cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
(cd "$OUT" && exec timeout 600 "$KOSOKU" -m fuzzingserver "${excludes[@]}" -o "$OUT/clients" "127.0.0.1:$cport" > "$OUT/clients.log" 2>&1) & pids+=($!)
for _ in $(seq 1 100); do python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$cport),0.2)" 2>/dev/null && break; sleep 0.05; done
timeout 600 "$bin/autobahn-client" --server "ws://127.0.0.1:$cport" "${deflate[@]}" > "$OUT/autobahn-client.log" 2>&1
for _ in $(seq 1 100); do [ -s "$OUT/clients/index.json" ] && break; sleep 0.05; done
client_line="$(tally "$OUT/clients/index.json")" || client_line="0 1"

read -r sp sf <<<"$server_line"; read -r cp cf <<<"$client_line"
echo "server (fuzzingclient): $sp passed, $sf failed   reports: $OUT/servers"
echo "client (fuzzingserver): $cp passed, $cf failed   reports: $OUT/clients"
echo "$((sp + cp)) passed, $((sf + cf)) failed"
[ "$((sf + cf))" -eq 0 ] && [ "$((sp + cp))" -gt 0 ]
