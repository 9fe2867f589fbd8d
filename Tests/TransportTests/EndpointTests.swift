// Endpoint: Workerman's `scheme://host:port/path?query` addresses, and what each bad one is told.

import Testing
import WorkermanEventLoop
import WorkermanTransport

@Suite("Endpoint")
struct EndpointTests {
    @Test func tcpAddress() throws {
        let endpoint = try Endpoint("tcp://127.0.0.1:8080")
        #expect(endpoint.scheme == "tcp")
        #expect(endpoint.host == "127.0.0.1")
        #expect(endpoint.port == 8080)
        #expect(endpoint.transport == .tcp)
        #expect(endpoint.target == "/")
        #expect(endpoint.authority == "127.0.0.1:8080")
        #expect(endpoint.description == "tcp://127.0.0.1:8080")
    }

    @Test func codecSchemesRunOverTCPUnlessTold() throws {
        #expect(try Endpoint("text://0.0.0.0:1234").transport == .tcp)
        #expect(try Endpoint("text://0.0.0.0:1234").scheme == "text")
        #expect(try Endpoint("udp://0.0.0.0:1234").transport == .udp)
        #expect(try Endpoint("text://0.0.0.0:1234", transport: .udp).transport == .udp)
        #expect(try Endpoint("TCP://127.0.0.1:1").scheme == "tcp")
    }

    @Test func ipv6InBrackets() throws {
        let any = try Endpoint("http://[::]:80")
        #expect(any.host == "::")
        #expect(any.port == 80)
        #expect(any.authority == "[::]:80")
        #expect(any.description == "http://[::]:80")
        let loopback = try Endpoint("tcp://[::1]:9000/path")
        #expect(loopback.host == "::1" && loopback.port == 9000 && loopback.target == "/path")
        #expect(try Endpoint("ws://[::1]").port == 80)
        // Without brackets the last colon starts the port.
        let bare = try Endpoint("tcp://::1:7")
        #expect(bare.host == "::1" && bare.port == 7)
    }

    @Test func clientURLsKeepPathAndQuery() throws {
        let endpoint = try Endpoint("ws://example.com:8080/chat?room=1")
        #expect(endpoint.host == "example.com")
        #expect(endpoint.port == 8080)
        #expect(endpoint.target == "/chat?room=1")
        #expect(try Endpoint("ws://example.com?room=2").target == "/?room=2")
        #expect(try Endpoint("ws://example.com/").target == "/")
    }

    @Test func defaultPorts() throws {
        #expect(try Endpoint("http://example.com").port == 80)
        #expect(try Endpoint("ws://example.com/x").port == 80)
        #expect(try Endpoint("wss://example.com").port == 443)
        #expect(try Endpoint("ssl://example.com").port == 443)
        #expect(try Endpoint("https://example.com").port == 443)
    }

    @Test func unixPaths() throws {
        let endpoint = try Endpoint("unix:///run/app.sock")
        #expect(endpoint.transport == .unix)
        #expect(endpoint.host == "/run/app.sock")
        #expect(endpoint.port == 0)
        #expect(endpoint.description == "unix:///run/app.sock")
        #expect(try endpoint.numericAddress() == SocketAddress.unix(path: "/run/app.sock"))
        let relative = try Endpoint("unix://app.sock")
        #expect(relative.host == "app.sock")
        // A codec over a unix socket.
        let text = try Endpoint("text:///run/app.sock", transport: .unix)
        #expect(text.transport == .unix && text.scheme == "text" && text.host == "/run/app.sock")
    }

    @Test func numericAddresses() throws {
        #expect(try Endpoint("tcp://127.0.0.1:80").numericAddress() == SocketAddress(ip: "127.0.0.1", port: 80))
        #expect(try Endpoint("tcp://[::1]:80").numericAddress() == SocketAddress(ip: "::1", port: 80))
        #expect(try Endpoint("tcp://localhost:81").numericAddress() == SocketAddress(ip: "127.0.0.1", port: 81))
        #expect(try Endpoint("tcp://example.com:80").numericAddress() == nil, "names need resolving")
    }

    @Test(arguments: [
        ("127.0.0.1", "expected scheme://host:port"),
        ("tcp:127.0.0.1:80", "expected // after the scheme"),
        ("://127.0.0.1:80", "empty scheme"),
        ("tcp://[::1:80", "unclosed [ in an IPv6 address"),
        ("tcp://[::1]x:80", "unexpected text after ]"),
        ("tcp://:80", "empty host"),
        ("tcp://127.0.0.1:http", "port must be a number from 0 to 65535"),
        ("tcp://127.0.0.1:70000", "port must be a number from 0 to 65535"),
        ("tcp://127.0.0.1:-1", "port must be a number from 0 to 65535"),
        ("tcp://127.0.0.1:", "port must be a number from 0 to 65535"),
        ("unix://", "empty unix path"),
    ])
    func badAddressesAreRejectedWithTheReason(address: String, reason: String) {
        #expect {
            try Endpoint(address)
        } throws: { error in
            guard let error = error as? TransportError else { return false }
            return error.code == .invalidAddress
                && error.description.contains(address)
                && error.description.contains(reason)
        }
    }
}
