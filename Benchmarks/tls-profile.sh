#!/usr/bin/env bash
# tls-profile.sh - instructions per request of our TLS servers, counted by callgrind (so the result does
# not depend on how busy the machine is): the server runs under `valgrind --tool=callgrind`, a Python
# client connects and warms up, the counters are zeroed, exactly N requests (https keep-alive) or N echoes (wss,
# window 1) are made, and the counters are dumped. Prints one line per mode:
#   https instructions/request=…   wss instructions/message=…   (server process only, user space)
# and, with MODES="https http wss ws", the same servers without TLS for the ratio TLS costs.
#
#   ./tls-profile.sh                      https and wss, N=3000 over 10 connections
#   N=1000 MODES=https ./tls-profile.sh   a quicker look
#
# Needs valgrind, python3 (with `websockets` for wss) and the release build tls-compare.sh makes
# (SKIP_BUILD=1 to reuse it; BIN_DIR=… to profile binaries kept elsewhere). Annotated profiles stay in $WORK (callgrind_annotate FILE).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
N=${N:-3000}
CONNS=${CONNS:-10}
MODES=${MODES:-https wss}
WORK=${WORK_DIR:-/tmp/tls-profile}
PORT=${PORT:-8460}
mkdir -p "$WORK"
trap '' PIPE  # a client that died leaves its go pipe without a reader: say so, do not die
for tool in valgrind python3 openssl objcopy; do command -v "$tool" >/dev/null || { echo "tls-profile: $tool is missing" >&2; exit 1; }; done
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    for product in bench-http bench-ws; do swift build -c release --package-path "$HERE" --product "$product" 2>&1 | tail -n 1 >&2; done
fi
BIN=${BIN_DIR:-$(swift build -c release --package-path "$HERE" --show-bin-path)}
CERT=$WORK/server.pem KEY=$WORK/server.key
[ -f "$CERT" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$KEY" -out "$CERT" -days 30 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

cat >"$WORK/client.py" <<'EOF'
import asyncio, socket, ssl, sys
mode, port, count, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"

secure = mode in ("https", "wss")

class HTTPS:
    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, ssl=context if secure else None)
    async def exchange(self):
        self.writer.write(REQUEST)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
        await self.reader.readexactly(length)

class WSS:
    async def open(self):
        import websockets
        scheme = "wss" if secure else "ws"
        self.ws = await websockets.connect(f"{scheme}://127.0.0.1:{port}/", ssl=context if secure else None,
                                           compression=None, open_timeout=300)
    async def exchange(self):
        await self.ws.send("x" * 32)
        await self.ws.recv()

async def run(client, n):
    for _ in range(n):
        await client.exchange()

async def main():
    # Connections and handshakes first, and a warm-up, outside the count; then "ready", and the
    # measured exchanges once a line arrives on standard input.
    clients = [HTTPS() if mode in ("https", "http") else WSS() for _ in range(conns)]
    for c in clients:  # one at a time: under valgrind a handshake is slow, and the server times them
        await c.open()
    await asyncio.gather(*(run(c, 20) for c in clients))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.gather(*(run(c, count // conns) for c in clients))
asyncio.run(main())
EOF

descendants() { local p c; for p in "$@"; do echo "$p"; for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do descendants "$c"; done; done; }

profile() { # mode server-binary -> instructions per request
    local mode=$1 binary=$2 out=$WORK/callgrind.$1 pids pid total file
    rm -f "$out".*
    # Valgrind 3.19 cannot read the DWARF 5 that swiftc writes: profile a copy without debug info (the
    # symbol table stays, so functions keep their names).
    objcopy --strip-debug "$binary" "$WORK/$(basename "$binary")"
    binary=$WORK/$(basename "$binary")
    if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then echo "tls-profile: port $PORT is in use (PORT=…)" >&2; echo 0; return; fi
    local tls=(--tls-cert "$CERT" --tls-key "$KEY")
    case $mode in http|ws) tls=() ;; esac
    ( exec valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$out.%p" "$binary" --port "$PORT" --count 1 \
        "${tls[@]}" >"$WORK/$mode-server.log" 2>&1 ) &
    local root=$!
    for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
    rm -f "$WORK/go" && mkfifo "$WORK/go"
    python3 "$WORK/client.py" "$mode" "$PORT" "$N" "$CONNS" <"$WORK/go" >"$WORK/client.out" 2>&1 &
    local client=$!
    exec 4>"$WORK/go"  # held open: the client reads its go line from here
    for _ in $(seq 1 1200); do grep -q '^ready' "$WORK/client.out" && break; kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
    pids=$(descendants "$root")  # only ours: other callgrind runs on the machine are left alone
    for pid in $pids; do callgrind_control -z "$pid" >/dev/null 2>&1 || true; done
    echo go >&4 || true
    wait "$client" || { echo "tls-profile: the $mode client failed:" >&2; cat "$WORK/client.out" >&2; }
    exec 4>&-
    for pid in $pids; do callgrind_control -d "$pid" >/dev/null 2>&1 || true; done
    pids=$(descendants "$root")
    kill -INT "$root" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$root" 2>/dev/null || break; sleep 0.1; done
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done  # only what this run started
    wait "$root" 2>/dev/null || true
    # The serving child is the dump with the most instructions.
    total=0
    for file in "$out".*; do
        pid=$(awk '/^summary:/{print $2}' "$file" | sort -n | tail -n 1)
        [ -n "$pid" ] && [ "$pid" -gt "$total" ] && total=$pid
    done
    echo $(( total / N ))
}

line=""
for mode in $MODES; do
    case $mode in
        https) line+="https instructions/request=$(profile https "$BIN/bench-http")   " ;;
        wss) line+="wss instructions/message=$(profile wss "$BIN/bench-ws")   " ;;
        http) line+="http instructions/request=$(profile http "$BIN/bench-http")   " ;;
        ws) line+="ws instructions/message=$(profile ws "$BIN/bench-ws")   " ;;
    esac
done
echo "$line"
