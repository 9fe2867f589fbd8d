#!/usr/bin/env bash
# tls-compare.sh - HTTPS and wss: our servers against nginx (1 worker) and Workerman 5 (transport 'ssl'),
# side by side, with the method of ../shared/bench/anchors.sh: each server pinned to CPU 0, the load on
# CPU 1, rounds interleaved (the order rotates every round), and the medians of per-round ratios.
#
#   ./tls-compare.sh                         ROUNDS rounds (default 3) of everything
#   ROUNDS=1 DURATION=2 IDLE_N=200 ./tls-compare.sh      a smoke run (a minute)
#
# Measures, every peer with the same certificate (ECDSA P-256, made here with openssl), protocol (TLS
# 1.3 unless the client picks otherwise) and cipher choice:
#   https keep-alive : wrk -c$CONNS, "Hello World"                    ours, nginx, Workerman
#   handshakes/s     : wrk -c$CONNS with "Connection: close" (a new TLS connection per request)
#   wss echo         : bench-tls-load echo, $WS_CONNS connections, window 1: ours over wss vs ours over ws
#   bytes/conn       : server RSS growth with $IDLE_N idle TLS connections       ours, nginx
# and ends with one line:
#   https ours/nginx=… ours/wm=… handshakes ours/nginx=… wss ours/ws=… bytes/conn ours=… nginx=…
#
# Environment: ROUNDS (3), DURATION (10 s per wrk run), CONNS (100), WS_CONNS (100), IDLE_N (10000),
#   WORK_DIR (/tmp/tls-compare), WORKERMAN_DIR (../../shared/peers/php/workerman from here),
#   SKIP_BUILD=1 to reuse the last release build, SKIP_NGINX=1, SKIP_WM=1.
# Only processes started here are stopped, by pid. Needs wrk, openssl, taskset; nginx and php for peers.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-100}
WS_CONNS=${WS_CONNS:-100}
IDLE_N=${IDLE_N:-10000}
WORK=${WORK_DIR:-/tmp/tls-compare}
WM=${WORKERMAN_DIR:-$HERE/../../shared/peers/php/workerman}
OUT=$WORK/results-$(date +%Y%m%d-%H%M%S)
declare -A PORT=([ours]=8443 [nginx]=8444 [wm]=8445 [ourswss]=8446 [oursws]=8447)

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$WORK/certs" "$WORK/nginx" "$OUT"

# ------------------------------------------------------------------------------ set-up ------
for tool in wrk openssl taskset; do command -v "$tool" >/dev/null || { echo "tls-compare: $tool is missing" >&2; exit 1; }; done
CERT=$WORK/certs/server.pem KEY=$WORK/certs/server.key
if [ ! -f "$CERT" ]; then
    log "making a throwaway ECDSA P-256 certificate for 127.0.0.1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$KEY" -out "$CERT" -days 30 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building bench-http, bench-ws, bench-tls-load (release)"
    for product in bench-http bench-ws bench-tls-load; do
        swift build -c release --package-path "$HERE" --product "$product" 2>&1 | tail -n 1 >&2
    done
fi
BIN=$(swift build -c release --package-path "$HERE" --show-bin-path)

HAVE_NGINX=1; { [ "${SKIP_NGINX:-0}" = 1 ] || ! command -v nginx >/dev/null; } && HAVE_NGINX=0
HAVE_WM=1; { [ "${SKIP_WM:-0}" = 1 ] || ! command -v php >/dev/null || [ ! -f "$WM/src/Worker.php" ]; } && HAVE_WM=0
[ "$HAVE_NGINX" = 1 ] || log "nginx peer skipped (SKIP_NGINX or not installed)"
[ "$HAVE_WM" = 1 ] || log "Workerman peer skipped (SKIP_WM, no php, or no source at $WM)"

# nginx: 1 worker, the same certificate; TLS 1.2/1.3 and Mozilla's intermediate list, as our defaults.
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
worker_rlimit_nofile 40000;
events { worker_connections 30000; multi_accept off; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:${PORT[nginx]} ssl backlog=4096;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
        ssl_session_cache shared:SSL:10m;
        location / { default_type "text/html;charset=utf-8"; return 200 "Hello World"; }
    }
}
EOF

# Workerman 5 with transport 'ssl', its own tiny autoloader (no composer needed).
cat >"$WORK/wm-https.php" <<EOF
<?php
spl_autoload_register(static function (string \$class): void {
    if (strncmp(\$class, 'Workerman\\\\', 10) === 0) {
        \$file = '$WM/src/' . str_replace('\\\\', '/', substr(\$class, 10)) . '.php';
        if (is_file(\$file)) require \$file;
    }
});
use Workerman\Worker;
Worker::\$pidFile = '$WORK/wm.pid';
Worker::\$logFile = '$WORK/wm.log';
Worker::\$statusFile = '$WORK/wm.status';
\$w = new Worker('http://127.0.0.1:${PORT[wm]}', ['ssl' => ['local_cert' => '$CERT', 'local_pk' => '$KEY', 'verify_peer' => false]]);
\$w->transport = 'ssl';
\$w->count = 1;
\$w->onMessage = static function (\$connection, \$request) { \$connection->send('Hello World'); };
Worker::runAll();
EOF

# --------------------------------------------------------------------- servers -------------
SRV_ROOT=""
port_open() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
descendants() { local p c; for p in "$@"; do echo "$p"; for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do descendants "$c"; done; done; }
rss_kb() { local t=0 p v; for p in "$@"; do v=$(awk '/^VmRSS:/{print $2}' /proc/"$p"/status 2>/dev/null || true); t=$((t + ${v:-0})); done; echo "$t"; }
# The processes that serve (children when there is a master; the process itself otherwise).
workers() { local kids; kids=$(cat /proc/"$SRV_ROOT"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+$' || true); echo "${kids:-$SRV_ROOT}"; }

start_server() { # name
    local name=$1 port=${PORT[$1]} cmd=() i
    port_open "$port" && { echo "port $port already in use" >&2; return 1; }
    case $name in
        ours)    cmd=("$BIN/bench-http" --port "$port" --count 1 --tls-cert "$CERT" --tls-key "$KEY") ;;
        ourswss) cmd=("$BIN/bench-ws" --port "$port" --count 1 --tls-cert "$CERT" --tls-key "$KEY") ;;
        oursws)  cmd=("$BIN/bench-ws" --port "$port" --count 1) ;;
        nginx)   cmd=(nginx -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -g 'daemon off;') ;;
        wm)      cmd=(php "$WORK/wm-https.php" start) ;;
    esac
    ( exec taskset -c 0 "${cmd[@]}" >"$WORK/$name.log" 2>&1 ) &
    SRV_ROOT=$!
    for i in $(seq 1 100); do port_open "$port" && break; kill -0 "$SRV_ROOT" 2>/dev/null || break; sleep 0.1; done
    port_open "$port" || { echo "$name did not start; log:" >&2; tail -n 20 "$WORK/$name.log" >&2; return 1; }
    sleep 0.5
}

stop_server() {
    [ -n "$SRV_ROOT" ] || return 0
    local all i p; all=$(descendants "$SRV_ROOT")
    kill -INT "$SRV_ROOT" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$SRV_ROOT" 2>/dev/null || break; sleep 0.1; done
    for p in $all; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true; done
    wait "$SRV_ROOT" 2>/dev/null || true
    SRV_ROOT=""
}
trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM

# ---------------------------------------------------------------------- measures ------------
wrk_rps() { # url [extra wrk args...] -> requests per second
    local url=$1; shift
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "$@" "$url" 2>&1 | tee -a "$OUT/wrk.log" | awk '/^Requests\/sec:/{print $2}'
}

idle_bytes() { # name -> bytes per idle TLS connection (server RSS growth / connections)
    local before after holder out=$WORK/hold.out i pids
    pids=$(workers)
    before=$(rss_kb $pids)
    : >"$out"
    ( exec taskset -c 1 "$BIN/bench-tls-load" hold --url "ssl://127.0.0.1:${PORT[$1]}" --conns "$IDLE_N" --seconds 600 >"$out" 2>&1 ) &
    holder=$!
    for i in $(seq 1 600); do grep -q '^ready' "$out" && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.1; done
    sleep 1
    after=$(rss_kb $pids)
    grep -q '^ready' "$out" || log "WARN: $1 did not hold all $IDLE_N connections: $(tail -n 1 "$out")"
    # TERM, not INT: a job started with `&` from a script ignores SIGINT, and the holder has no handler of
    # its own, so INT left it holding for its full 600 s.
    kill -TERM "$holder" 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
    echo $(( (after - before) * 1024 / IDLE_N ))
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0 && a != "") printf "%.3f", a / b; else printf "NA" }'; }
median() { tr ' ' '\n' | grep -v '^NA$' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END{ if (NR == 0) print "NA"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }'; }

printf 'round\tserver\tkeepalive_rps\thandshakes_per_s\tbytes_per_idle_conn\n' >"$OUT/https.tsv"
printf 'round\tserver\tmessages_per_s\n' >"$OUT/ws.tsv"
servers=(ours); [ "$HAVE_NGINX" = 1 ] && servers+=(nginx); [ "$HAVE_WM" = 1 ] && servers+=(wm)
R_NGINX="" R_WM="" R_HS="" R_WS="" B_OURS="" B_NGINX=""
for r in $(seq 1 "$ROUNDS"); do
    declare -A KA=() HS=() BY=() WS=()
    n=${#servers[@]}
    for k in $(seq 0 $((n - 1))); do
        name=${servers[$(( (k + r - 1) % n ))]}
        log "round $r: $name (https keep-alive, handshakes$( [ "$name" != wm ] && echo ", idle memory"))"
        start_server "$name" || { stop_server; continue; }
        url="https://127.0.0.1:${PORT[$name]}/"
        taskset -c 1 wrk -t1 -c"$CONNS" -d1s "$url" >/dev/null 2>&1 || true  # warm-up
        KA[$name]=$(wrk_rps "$url")
        HS[$name]=$(wrk_rps "$url" -H 'Connection: close')
        BY[$name]=""
        [ "$name" != wm ] && BY[$name]=$(idle_bytes "$name")
        printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$name" "${KA[$name]}" "${HS[$name]}" "${BY[$name]}" >>"$OUT/https.tsv"
        stop_server
    done
    for name in $( ((r % 2)) && echo "ourswss oursws" || echo "oursws ourswss"); do
        scheme=wss; [ "$name" = oursws ] && scheme=ws
        log "round $r: $name (echo, $WS_CONNS connections, window 1)"
        start_server "$name" || { stop_server; continue; }
        WS[$name]=$(taskset -c 1 "$BIN/bench-tls-load" echo --url "$scheme://127.0.0.1:${PORT[$name]}/" --conns "$WS_CONNS" \
            --seconds "$DURATION" | tee -a "$OUT/ws.log" | awk '/^messages\/s/{print $2}')
        printf '%s\t%s\t%s\n' "$r" "$name" "${WS[$name]}" >>"$OUT/ws.tsv"
        stop_server
    done
    R_NGINX+=" $(ratio "${KA[ours]:-}" "${KA[nginx]:-}")"
    R_WM+=" $(ratio "${KA[ours]:-}" "${KA[wm]:-}")"
    R_HS+=" $(ratio "${HS[ours]:-}" "${HS[nginx]:-}")"
    R_WS+=" $(ratio "${WS[ourswss]:-}" "${WS[oursws]:-}")"
    B_OURS+=" ${BY[ours]:-NA}"
    B_NGINX+=" ${BY[nginx]:-NA}"
    unset KA HS BY WS
done

log "raw results in $OUT (https.tsv, ws.tsv, wrk.log, ws.log)"
echo "https ours/nginx=$(echo "$R_NGINX" | median) ours/wm=$(echo "$R_WM" | median)" \
     "handshakes ours/nginx=$(echo "$R_HS" | median) wss ours/ws=$(echo "$R_WS" | median)" \
     "bytes/conn ours=$(echo "$B_OURS" | median) nginx=$(echo "$B_NGINX" | median)"
