// SocketAddress: numeric IPv4/IPv6 and unix paths, how they print, and what is refused.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("SocketAddress")
struct SocketAddressTests {
    /// A numeric address as given, and how it should read back.
    struct NumericCase: Sendable, CustomTestStringConvertible {
        var ip: String
        var port: Int
        var family: CInt
        /// The IP as read back: IPv6 normalised.
        var normalised: String
        /// The whole address as printed.
        var printed: String
        var testDescription: String { ip }
    }

    @Test(
        "a numeric address reads back its family, normalised IP, port and printed form (IPv6 in brackets)",
        arguments: [
            NumericCase(
                ip: "127.0.0.1", port: 8080, family: AF_INET, normalised: "127.0.0.1",
                printed: "127.0.0.1:8080"
            ),
            NumericCase(ip: "0:0:0:0:0:0:0:0001", port: 443, family: AF_INET6, normalised: "::1", printed: "[::1]:443"),
        ]
    )
    func numericAddress(_ expected: NumericCase) throws {
        let address = try SocketAddress(ip: expected.ip, port: expected.port)
        let isIPv4 = expected.family == AF_INET
        #expect(address.isIPv4 == isIPv4 && address.isIPv6 == !isIPv4)
        #expect(address.family == expected.family)
        #expect(address.ip == expected.normalised)
        #expect(address.port == expected.port)
        #expect(address.description == expected.printed)
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
