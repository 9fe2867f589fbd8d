// swift-tools-version:6.0
// Workerman for Swift: event-driven socket servers in layers. No package dependencies: the root
// package needs only the Swift toolchain.
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "swift-workerman",
    products: [
        .library(name: "WorkermanEventLoop", targets: ["WorkermanEventLoop"]),
        .library(name: "WorkermanTransport", targets: ["WorkermanTransport"]),
        .library(name: "WorkermanProtocols", targets: ["WorkermanProtocols"]),
        .library(name: "WorkermanProcess", targets: ["WorkermanProcess"]),
        .library(name: "WorkermanComponents", targets: ["WorkermanComponents"]),
        .library(name: "WorkermanMySQL", targets: ["WorkermanMySQL"]),
        .library(name: "WorkermanRedis", targets: ["WorkermanRedis"]),
        .library(name: "WorkermanHTTPClient", targets: ["WorkermanHTTPClient"]),
        .library(name: "WorkermanTestSupport", targets: ["WorkermanTestSupport"]),
        .library(name: "WorkermanTLS", targets: ["WorkermanTLS"]),
        .library(name: "Workerman", targets: ["Workerman"]),
        .executable(name: "demo", targets: ["WorkermanDemo"]),
        .executable(name: "ws-echo", targets: ["WorkermanWebSocketEcho"]),
        .executable(name: "autobahn-client", targets: ["WorkermanAutobahnClient"]),
        .executable(name: "channel-cluster-push", targets: ["WorkermanChannelClusterPush"]),
        .executable(name: "channel-group-send", targets: ["WorkermanChannelGroupSend"]),
        .executable(name: "https-wss", targets: ["WorkermanHTTPSAndWSS"]),
        .executable(name: "mysql-json", targets: ["WorkermanMySQLJSON"]),
        .executable(name: "async-services", targets: ["WorkermanAsyncServices"]),
    ],
    targets: [
        // libdl: zlib is opened at run time (permessage-deflate), never linked (glibc before 2.34 keeps
        // dlopen there; later ones in libc, with an empty libdl for old links).
        .target(name: "CWorkermanShims", path: "Sources/CShims", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "WorkermanEventLoop",
            dependencies: ["CWorkermanShims"],
            path: "Sources/EventLoop",
            swiftSettings: strictSettings
        ),
        .target(
            name: "WorkermanTransport",
            dependencies: ["WorkermanEventLoop", "CWorkermanShims"],
            path: "Sources/Transport",
            exclude: ["TLS"],
            swiftSettings: strictSettings
        ),
        // TLS (issue 12): OpenSSL 3 opened at run time through the shim; a module of its own so only its
        // users link it. It reaches up to Process for the Worker forms (`Worker(http:tls:)`,
        // Workerman's `transport = "ssl"`).
        .target(
            name: "WorkermanTLS",
            dependencies: ["WorkermanTransport", "WorkermanProtocols", "WorkermanProcess", "WorkermanEventLoop", "CWorkermanShims"],
            path: "Sources/Transport/TLS",
            swiftSettings: strictSettings
        ),
        .target(
            name: "WorkermanProtocols",
            dependencies: ["WorkermanTransport", "CWorkermanShims"],
            path: "Sources/Protocols",
            swiftSettings: strictSettings
        ),
        .target(
            name: "WorkermanProcess",
            dependencies: ["WorkermanProtocols", "WorkermanTransport", "WorkermanEventLoop", "CWorkermanShims"],
            path: "Sources/Process",
            swiftSettings: strictSettings
        ),
        .target(
            name: "WorkermanComponents",
            dependencies: ["WorkermanProcess", "WorkermanProtocols", "WorkermanTransport", "WorkermanEventLoop", "WorkermanRedis"],
            path: "Sources/Components",
            exclude: ["MySQL", "Redis", "HTTPClient"],
            swiftSettings: strictSettings
        ),
        // The MySQL/MariaDB client (issue 15): a module of its own, linked only by those who use it.
        .target(
            name: "WorkermanMySQL",
            // WorkermanTLS for TLS to the server and the RSA key exchange (OpenSSL opened at run time).
            dependencies: ["WorkermanProtocols", "WorkermanTransport", "WorkermanEventLoop", "WorkermanTLS"],
            path: "Sources/Components/MySQL",
            swiftSettings: strictSettings
        ),
        // Clients (issue 14), each a module of its own so a program links only the one it uses.
        .target(
            name: "WorkermanRedis",
            dependencies: ["WorkermanTransport", "WorkermanEventLoop"],
            path: "Sources/Components/Redis",
            swiftSettings: strictSettings
        ),
        .target(
            name: "WorkermanHTTPClient",
            // TLS for https:// (OpenSSL is opened at run time, so linking it costs no library at build time).
            dependencies: ["WorkermanTLS", "WorkermanProtocols", "WorkermanTransport", "WorkermanEventLoop", "CWorkermanShims"],
            path: "Sources/Components/HTTPClient",
            swiftSettings: strictSettings
        ),
        .target(
            name: "WorkermanTestSupport",
            dependencies: ["WorkermanEventLoop", "WorkermanTransport", "WorkermanProcess"],
            path: "Sources/TestSupport",
            swiftSettings: strictSettings
        ),
        .target(
            name: "Workerman",
            dependencies: [
                "WorkermanEventLoop", "WorkermanTransport", "WorkermanProtocols", "WorkermanProcess", "WorkermanComponents",
            ],
            path: "Sources/Workerman",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "WorkermanDemo",
            dependencies: ["Workerman"],
            path: "Examples/Demo",
            exclude: ["public"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanEventLoopTests",
            dependencies: ["WorkermanEventLoop", "WorkermanTestSupport", "CWorkermanShims"],
            path: "Tests/EventLoopTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanTransportTests",
            dependencies: ["WorkermanTransport", "WorkermanTestSupport", "CWorkermanShims"],
            path: "Tests/TransportTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanTLSTests",
            dependencies: [
                "WorkermanTLS", "WorkermanProcess", "WorkermanProtocols", "WorkermanTransport", "WorkermanTestSupport",
                "CWorkermanShims", "WorkermanHTTPSAndWSS",
            ],
            path: "Tests/TLSTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanProtocolsTests",
            dependencies: ["WorkermanProtocols", "WorkermanTestSupport"],
            path: "Tests/ProtocolsTests",
            swiftSettings: strictSettings
        ),
        // https + wss on one port (issue 12): the TLS example.
        .executableTarget(
            name: "WorkermanHTTPSAndWSS",
            dependencies: ["Workerman", "WorkermanTLS"],
            path: "Examples/HTTPSAndWSS",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "WorkermanWebSocketEcho",
            dependencies: ["Workerman"],
            path: "Examples/WebSocketEcho",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "WorkermanAutobahnClient",
            dependencies: ["Workerman"],
            path: "Examples/AutobahnClient",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "WorkermanProcessTestServer",
            dependencies: ["Workerman"],
            path: "Tests/ProcessTestServer",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanProcessTests",
            dependencies: ["WorkermanProcess", "WorkermanProcessTestServer", "WorkermanTestSupport"],
            path: "Tests/ProcessTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanConformanceTests",
            dependencies: ["WorkermanWebSocketEcho", "WorkermanAutobahnClient", "WorkermanTestSupport"],
            path: "Tests/ConformanceTests",
            swiftSettings: strictSettings
        ),
        // Components (issue 7): the Channel manual's two examples, the program the component process tests
        // start, and the tests; they also start the demo, whose chat runs on Channel and GlobalData.
        .executableTarget(
            name: "WorkermanChannelClusterPush",
            dependencies: ["Workerman"],
            path: "Examples/ChannelClusterPush",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "WorkermanChannelGroupSend",
            dependencies: ["Workerman"],
            path: "Examples/ChannelGroupSend",
            swiftSettings: strictSettings
        ),
        // An HTTP worker serving JSON from MariaDB (issue 15).
        .executableTarget(
            name: "WorkermanMySQLJSON",
            dependencies: ["Workerman", "WorkermanMySQL"],
            path: "Examples/MySQLJSON",
            swiftSettings: strictSettings
        ),
        // async/await (issue 13): an HTTP handler awaiting GlobalData, Channel and a second HTTP service.
        .executableTarget(
            name: "WorkermanAsyncServices",
            dependencies: ["Workerman"],
            path: "Examples/AsyncServices",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "WorkermanComponentsTestServer",
            dependencies: ["Workerman"],
            path: "Tests/ComponentsTestServer",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanClientsTests",
            dependencies: [
                "WorkermanRedis", "WorkermanHTTPClient", "WorkermanProtocols", "WorkermanTransport", "WorkermanEventLoop", "WorkermanTestSupport",
                "CWorkermanShims", "WorkermanTLS",
            ],
            path: "Tests/ClientsTests",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "WorkermanComponentsTests",
            dependencies: [
                "WorkermanComponents", "WorkermanProcess", "WorkermanProtocols", "WorkermanTransport", "WorkermanEventLoop",
                "WorkermanTestSupport", "WorkermanComponentsTestServer", "WorkermanChannelClusterPush", "WorkermanChannelGroupSend",
                "WorkermanDemo", "WorkermanMySQL",
            ],
            path: "Tests/ComponentsTests",
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
