// SocketAddress: numeric IPv4/IPv6 and unix paths, how they print, and what is refused.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("SocketAddress")
struct SocketAddressTests {
    /// A numeric address as given (`ip`, `port`), and how it reads back: its family, its IP normalised,
    /// and the whole address as printed.
    @Test(
        "a numeric address reads back its family, normalised IP, port and printed form (IPv6 in brackets)",
        arguments: [
            ("127.0.0.1", 8080, AF_INET, "127.0.0.1", "127.0.0.1:8080"),
            ("0:0:0:0:0:0:0:0001", 443, AF_INET6, "::1", "[::1]:443"),
        ]
    )
    func numericAddress(ip: String, port: Int, family: CInt, normalised: String, printed: String) throws {
        let address = try SocketAddress(ip: ip, port: port)
        let isIPv4 = family == AF_INET
        #expect(address.isIPv4 == isIPv4 && address.isIPv6 == !isIPv4)
        #expect(address.family == family)
        #expect(address.ip == normalised)
        #expect(address.port == port)
        #expect(address.description == printed)
    }

    @Test func ipv6EqualsItsNormalisedSpelling() throws {
        #expect(try SocketAddress(ip: "0:0:0:0:0:0:0:0001", port: 443) == (try SocketAddress(ip: "::1", port: 443)))
        #expect(try SocketAddress(ip: "::", port: 0).description == "[::]:0")
    }

    @Test func portBounds() throws {
        #expect(try SocketAddress(ip: "127.0.0.1", port: 0).port == 0)
        #expect(try SocketAddress(ip: "127.0.0.1", port: 65535).port == 65535)
        for port in [-1, 65536] {
            #expect(throws: TransportError.self) { try SocketAddress(ip: "127.0.0.1", port: port) }
        }
    }

    @Test(arguments: ["localhost", "example.com", "1.2.3", "256.0.0.1", "::1::2", ""])
    func namesAndNonsenseAreNotNumeric(ip: String) {
        #expect {
            try SocketAddress(ip: ip, port: 80)
        } throws: { error in
            (error as? TransportError)?.code == .invalidAddress
                && (error as? TransportError)?.description.contains("not a numeric IPv4 or IPv6 address") == true
        }
    }

    @Test func unixPaths() throws {
        let address = try SocketAddress(unixPath: "/run/app.sock")
        #expect(address.family == AF_UNIX)
        #expect(!address.isIPv4 && !address.isIPv6)
        #expect(address.ip == "/run/app.sock")
        #expect(address.port == 0)
        #expect(address.description == "/run/app.sock")
        // sun_path holds 108 bytes including the terminating NUL.
        let longest = "/" + String(repeating: "p", count: 106)
        #expect(try SocketAddress(unixPath: longest).ip == longest)
    }

    @Test func unixPathTooLongOrEmpty() {
        let tooLong = "/" + String(repeating: "p", count: 107)
        for path in [tooLong, ""] {
            #expect {
                try SocketAddress(unixPath: path)
            } throws: { error in
                guard let error = error as? TransportError else { return false }
                return error.code == .invalidAddress && error.cause == .nameTooLong
                    && error.description.contains("1 to 107 bytes")
            }
        }
    }

    @Test func equalityAndHashingFollowTheAddress() throws {
        let a = try SocketAddress(ip: "127.0.0.1", port: 1)
        let b = try SocketAddress(ip: "127.0.0.1", port: 1)
        let c = try SocketAddress(ip: "127.0.0.1", port: 2)
        #expect(a == b && a != c)
        #expect(Set([a, b, c]).count == 2)
        #expect(try SocketAddress(unixPath: "/run/a") != SocketAddress(unixPath: "/run/b"))
    }
}
