#!/usr/bin/env bash
# Builds a libFuzzer target with swiftc (outside SwiftPM, so `swift build` and `swift test` never see
# it) and runs it. The library modules are compiled from Sources/ with coverage and ASan; see
# ../shared/bench/fuzz/NOTES.md for why the flags look like this.
#
#   Fuzz/run.sh http [libFuzzer options…]        # HTTP request parser
#   Fuzz/run.sh textframe [libFuzzer options…]   # text:// and frame://
#   Fuzz/run.sh websocket [libFuzzer options…]   # WebSocket frame reader and codecs
#   Fuzz/run.sh pushstats [libFuzzer options…]   # statistics datagrams, Gateway events
#   Fuzz/run.sh tls [libFuzzer options…]         # the TLS server stream (needs OpenSSL 3 and openssl)
#   Fuzz/run.sh mysql [libFuzzer options…]       # MySQL packet framing, session and row decoders
#   Fuzz/run.sh resp [libFuzzer options…]        # Redis replies (RESP2 and RESP3)
#   Fuzz/run.sh dns [libFuzzer options…]         # DNS messages (the resolver's parser)
#   Fuzz/run.sh httpresponse [libFuzzer options…] # the HTTP client's response parser
#   Fuzz/run.sh http -max_total_time=600         # bounded run
#   Fuzz/run.sh http .build-fuzz/http/crash-<sha>   # replay one input
#
# Build output and findings go to $FUZZ_BUILD_DIR/<target> (default .build-fuzz/<target> in the package
# root); the corpus grows in $FUZZ_WORK_DIR/<target> (default .build-fuzz/corpus), seeded from
# Fuzz/corpus/<target>.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target="${1:?usage: Fuzz/run.sh http|textframe|websocket|pushstats|tls|mysql [libFuzzer options…]}"
shift
testing=()
extra=()

case "$target" in
    http) entry="$here/HTTPRequestFuzz/HTTPRequestFuzz.swift"; dict=(-dict="$here/http.dict") ;;
    textframe) entry="$here/TextFrameFuzz/TextFrameFuzz.swift"; dict=() ;;
    # The WebSocket entry drives the internal frame reader: its modules are built with -enable-testing.
    websocket) entry="$here/WebSocketFuzz/WebSocketFuzz.swift"; dict=(-dict="$here/websocket.dict"); testing=(-enable-testing) ;;
    # Statistics datagrams and the Gateway's Channel events: needs the Process and Components modules.
    pushstats) entry="$here/PushStatisticsFuzz/PushStatisticsFuzz.swift"; dict=(); testing=(-enable-testing) ;;
    # The TLS entry needs the Process and TLS modules too (WorkermanTLS reaches up to Worker).
    tls) entry="$here/TLSFuzz/TLSFuzz.swift"; dict=() ;;
    mysql) entry="$here/MySQLFuzz/MySQLFuzz.swift"; dict=(-dict="$here/mysql.dict") ;;
    resp) entry="$here/RESPFuzz/RESPFuzz.swift"; dict=(-dict="$here/resp.dict") ;;
    dns) entry="$here/DNSFuzz/DNSFuzz.swift"; dict=() ;;
    httpresponse) entry="$here/HTTPResponseFuzz/HTTPResponseFuzz.swift"; dict=(-dict="$here/http.dict")
        extra=("$root/Tests/ClientsTests/HTTPParserReplay.swift") ;;
    *) echo "unknown target: $target" >&2; exit 2 ;;
esac

# FUZZ_SOURCE_ROOT fuzzes a snapshot of Sources/ (say, while the working tree is mid-edit).
sources_root="${FUZZ_SOURCE_ROOT:-$root/Sources}"
# One build folder per target, so two targets can be built and run at the same time.
build="${FUZZ_BUILD_DIR:-$root/.build-fuzz}/$target"
work="${FUZZ_WORK_DIR:-$root/.build-fuzz/corpus}/$target"
mkdir -p "$build/modules" "$work"

# swiftc honours only the last -sanitize= flag: give both in one.
swift_flags=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -package-name swift_workerman
    -enable-upcoming-feature MemberImportVisibility -I "$build/modules")

# The C shims, with a module map pointing at their header.
cat > "$build/modules/module.modulemap" <<MAP
module CWorkermanShims {
    header "$sources_root/CShims/include/CWorkermanShims.h"
    export *
}
MAP
objects=()
for source in "$sources_root"/CShims/*.c; do
    object="$build/$(basename "$source" .c).o"
    clang -c -O1 -g -fsanitize=address -I "$sources_root/CShims/include" "$source" -o "$object"
    objects+=("$object")
done

# One module at a time, in dependency order.
module() {
    local name="$1" folder="$2"
    local sources=()
    # Subfolders that are modules of their own (as Package.swift excludes them) are left out.
    local prune=()
    case "$folder" in
        Transport) prune=(-path "$sources_root/Transport/TLS" -prune -o) ;;
        Components) prune=(\( -path "$sources_root/Components/MySQL" -o -path "$sources_root/Components/Redis" \
            -o -path "$sources_root/Components/HTTPClient" \) -prune -o) ;;
    esac
    while IFS= read -r -d '' file; do sources+=("$file"); done < <(find "$sources_root/$folder" ${prune[@]+"${prune[@]}"} -name '*.swift' -print0 | sort -z)
    swiftc "${swift_flags[@]}" ${testing[@]+"${testing[@]}"} -wmo -module-name "$name" -emit-module -emit-module-path "$build/modules/$name.swiftmodule" \
        -c "${sources[@]}" -o "$build/$name.o"
    objects+=("$build/$name.o")
}
module WorkermanEventLoop EventLoop
module WorkermanTransport Transport
# Only what each target imports (Protocols is the slow one to build with ASan).
case "$target" in
    http|textframe|websocket) module WorkermanProtocols Protocols; module WorkermanTestSupport TestSupport ;;
    resp) module WorkermanTestSupport TestSupport; module WorkermanRedis Components/Redis ;;
    # The HTTP and MySQL clients reach TLS (https, TLS to the database), which reaches Process.
    httpresponse)
        module WorkermanProtocols Protocols; module WorkermanProcess Process; module WorkermanTLS Transport/TLS
        module WorkermanHTTPClient Components/HTTPClient ;;
    mysql)
        module WorkermanProtocols Protocols; module WorkermanProcess Process; module WorkermanTLS Transport/TLS
        module WorkermanMySQL Components/MySQL ;;
    pushstats)
        module WorkermanProtocols Protocols; module WorkermanTestSupport TestSupport
        module WorkermanProcess Process; module WorkermanRedis Components/Redis; module WorkermanComponents Components ;;
    tls)
        module WorkermanProtocols Protocols; module WorkermanTestSupport TestSupport
        module WorkermanProcess Process; module WorkermanTLS Transport/TLS
        # A throwaway certificate for the fuzzed server (never committed).
        export TLS_FUZZ_DIR="$build/certs"
        mkdir -p "$TLS_FUZZ_DIR"
        [ -f "$TLS_FUZZ_DIR/cert.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$TLS_FUZZ_DIR/key.pem" -out "$TLS_FUZZ_DIR/cert.pem" -days 3650 -subj /CN=localhost 2>/dev/null ;;
esac

swiftc "${swift_flags[@]}" "$entry" ${extra[@]+"${extra[@]}"} "${objects[@]}" -o "$build/fuzz-$target"

# Seeds are copied so the checked-in corpus stays as it is.
if [ -d "$here/corpus/$target" ]; then cp -n "$here/corpus/$target"/* "$work"/ 2>/dev/null || true; fi

# Swift's backtracer trips ASan and can leave a helper process behind.
export SWIFT_BACKTRACE=enable=no
if [ "$#" -gt 0 ] && [ -f "$1" ]; then
    exec "$build/fuzz-$target" "$@"  # replay the given inputs
fi
exec "$build/fuzz-$target" -artifact_prefix="$build/" "$work" ${dict[@]+"${dict[@]}"} "$@"
