// swift-tools-version:6.0
// Benchmarks for Workerman for Swift (DESIGN: the nested package may depend on peers to measure against
// them, so the root manifest stays dependency-free). Build with `swift build -c release` here, or run
// `./run.sh`.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-workerman-benchmarks",
    products: [
        .executable(name: "bench-loop", targets: ["bench-loop"]),
        .executable(name: "bench-echo", targets: ["bench-echo"]),
        .executable(name: "bench-http", targets: ["bench-http"]),
        .executable(name: "bench-ws", targets: ["bench-ws"]),
        .executable(name: "bench-channel", targets: ["bench-channel"]),
        .executable(name: "bench-tls-load", targets: ["bench-tls-load"]),
        .executable(name: "bench-mysql", targets: ["bench-mysql"]),
        .executable(name: "bench-clients", targets: ["bench-clients"]),
    ],
    dependencies: [
        // Named, so the product reference below holds whatever the checkout folder is called.
        .package(name: "swift-workerman", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.2"),
        // The HTTP client's peer in bench-clients.
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
    ],
    targets: [
        // What every bench-* executable shares: clock, threads, rounds, medians, the result table.
        .target(
            name: "BenchSupport",
            path: "Sources/BenchSupport",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bench-loop",
            dependencies: [
                "BenchSupport",
                .product(name: "WorkermanEventLoop", package: "swift-workerman"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/bench-loop",
            swiftSettings: strictSettings
        ),
        // Raw TCP echo, ours vs SwiftNIO with one loop, driven by our own bounded load generator.
        .executableTarget(
            name: "bench-echo",
            dependencies: [
                "BenchSupport",
                .product(name: "WorkermanTransport", package: "swift-workerman"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/bench-echo",
            swiftSettings: strictSettings
        ),
        // The servers ../shared/bench/anchors.sh runs as OURS_HTTP and OURS_WS.
        // A malloc counter (glibc), linked into bench-http for `--count-allocations`.
        .target(
            name: "BenchAllocations",
            path: "Sources/BenchAllocations"
        ),
        .executableTarget(
            name: "bench-http",
            dependencies: [
                "BenchAllocations",
                .product(name: "Workerman", package: "swift-workerman"),
                .product(name: "WorkermanTLS", package: "swift-workerman"),
            ],
            path: "Sources/bench-http",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "bench-ws",
            dependencies: [
                .product(name: "Workerman", package: "swift-workerman"),
                .product(name: "WorkermanTLS", package: "swift-workerman"),
            ],
            path: "Sources/bench-ws",
            swiftSettings: strictSettings
        ),
        // The load tls-compare.sh needs beyond wrk: wss echo with a window of 1 (ws:// too, for the
        // plain baseline with the same client), and idle TLS connections held open for memory.
        .executableTarget(
            name: "bench-tls-load",
            dependencies: [
                .product(name: "Workerman", package: "swift-workerman"),
                .product(name: "WorkermanTLS", package: "swift-workerman"),
            ],
            path: "Sources/bench-tls-load",
            swiftSettings: strictSettings
        ),
        // Channel publish → deliver between two processes: our server, Redis, and redis-benchmark's ceiling.
        .executableTarget(
            name: "bench-channel",
            dependencies: ["BenchSupport", .product(name: "Workerman", package: "swift-workerman")],
            path: "Sources/bench-channel",
            swiftSettings: strictSettings
        ),
        // MySQL point selects: ours (one loop, a pool) against PHP PDO under Workerman and mysqlslap.
        .executableTarget(
            name: "bench-mysql",
            dependencies: [
                "BenchSupport",
                .product(name: "WorkermanMySQL", package: "swift-workerman"),
                .product(name: "WorkermanEventLoop", package: "swift-workerman"),
            ],
            path: "Sources/bench-mysql",
            swiftSettings: strictSettings
        ),
        // Our HTTP, Redis and DNS clients against AsyncHTTPClient, wrk, redis-benchmark and getaddrinfo.
        .executableTarget(
            name: "bench-clients",
            dependencies: [
                .product(name: "WorkermanHTTPClient", package: "swift-workerman"),
                .product(name: "WorkermanRedis", package: "swift-workerman"),
                .product(name: "WorkermanTransport", package: "swift-workerman"),
                .product(name: "WorkermanEventLoop", package: "swift-workerman"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Sources/bench-clients",
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
