// HTTPSessions with a FileSessionStore over loopback: a counter kept across requests by curl's cookie
// jar, the cookie a new session gets, destroy expiring the cookie and removing the file, and forged
// session ids (path traversal, non-hex, unknown) refused: each gets a new session with a fresh id.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("HTTP sessions over loopback")
struct HTTPSessionTests {
    /// A server whose `/count` increments a counter in the session and whose `/destroy` destroys it.
    static func sessionServer(_ harness: WSLoop, _ directory: HTTPTempDir) throws -> TCPServer<HTTPServerCodec> {
        let sessions = HTTPSessions(store: try FileSessionStore(directory: directory.path("sessions")))
        return try harness.server(HTTPServerCodec.self) { server in
            server.onMessage = { connection, request in
                let session = sessions.session(for: request)
                switch request.path {
                case "/count":
                    let count = (Int(session["count"] ?? "0") ?? 0) + 1
                    session["count"] = String(count)
                    connection.send(.response(HTTPResponse(body: "\(count)").withSession(session)))
                case "/destroy":
                    session.destroy()
                    connection.send(.response(HTTPResponse(body: "bye").withSession(session)))
                default:
                    connection.send(.response(HTTPResponse(status: .notFound, body: "not found")))
                }
            }
        }
    }

    /// The session id in a `Set-Cookie` value of the form the tests expect, with its Max-Age.
    static func cookie(_ value: String?) -> (id: String, maxAge: String)? {
        guard let value, value.hasPrefix("PHPSID=") else { return nil }
        let parts = value.dropFirst("PHPSID=".count).split(separator: "; ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[2] == "Path=/", parts[3] == "HttpOnly", parts[1].hasPrefix("Max-Age=") else { return nil }
        return (parts[0], String(parts[1].dropFirst("Max-Age=".count)))
    }

    static func isHex(_ id: String) -> Bool { !id.isEmpty && id.allSatisfy { "0123456789abcdefABCDEF".contains($0) } }

    @Test("a counter survives across requests with curl's cookie jar; destroy expires the cookie and removes the file", .enabled(if: httpHasCurl, "curl is not installed"))
    func counterAndDestroy() throws {
        let directory = try HTTPTempDir()
        defer { directory.remove() }
        let harness = try WSLoop()
        let server = try Self.sessionServer(harness, directory)
        let base = "http://127.0.0.1:\(server.port)"
        let jar = directory.path("cookies.txt")

        let counted = WireResponse.parseAll(try harness.curl(["--include", "-c", jar, "-b", jar, base + "/count", base + "/count", base + "/count"]))
        #expect(counted.map(\.text) == ["1", "2", "3"])
        let setCookies = counted.map { $0.headers("Set-Cookie") }
        #expect(setCookies.map(\.count) == [1, 0, 0], "only a new session sets the cookie")
        let first = try #require(Self.cookie(setCookies.first?.first), "\(setCookies)")
        #expect(first.maxAge == "1440")
        #expect(Self.isHex(first.id))
        #expect(directory.list("sessions") == ["session_\(first.id)"])

        // A later command with the same jar continues the session.
        #expect(String(decoding: try harness.curl(["-c", jar, "-b", jar, base + "/count"]), as: UTF8.self) == "4")

        let destroyed = WireResponse.parseAll(try harness.curl(["--include", "-c", jar, "-b", jar, base + "/destroy"]))
        #expect(destroyed.first?.text == "bye")
        let expired = try #require(Self.cookie(destroyed.first?.header("Set-Cookie")))
        #expect(expired.id == first.id)
        #expect(expired.maxAge == "0")
        #expect(directory.list("sessions").isEmpty)

        // The jar dropped the expired cookie: a new session starts at 1.
        let again = WireResponse.parseAll(try harness.curl(["--include", "-c", jar, "-b", jar, base + "/count"]))
        #expect(again.first?.text == "1")
        let fresh = try #require(Self.cookie(again.first?.header("Set-Cookie")))
        #expect(fresh.id != first.id)
        #expect(directory.list("sessions") == ["session_\(fresh.id)"])
        harness.finish()
    }

    @Test("forged session ids (../, non-hex, unknown hex) are ignored: a new session with a fresh id, nothing outside the store")
    func forgedIDs() throws {
        let directory = try HTTPTempDir()
        defer { directory.remove() }
        let harness = try WSLoop()
        let server = try Self.sessionServer(harness, directory)

        // A real session first, to forge paths next to it.
        let client = try RawHTTPClient(harness, port: server.port)
        client.send("GET /count HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(harness.until { client.responses.count == 1 })
        let real = try #require(Self.cookie(client.responses.first?.header("Set-Cookie")))
        client.send("GET /count HTTP/1.1\r\nHost: a\r\nCookie: PHPSID=\(real.id)\r\n\r\n")
        #expect(harness.until { client.responses.count == 2 })
        #expect(client.responses.last?.text == "2")
        #expect(client.responses.last?.header("Set-Cookie") == nil)

        let forged = [
            "../sessions/session_\(real.id)", "..%2Fsessions%2Fsession_\(real.id)", "\(real.id)/../\(real.id)", "zzzz",
            "\(real.id)x", "abcdef0123456789", String(repeating: "a", count: 65),
        ]
        for (index, id) in forged.enumerated() {
            client.send("GET /count HTTP/1.1\r\nHost: a\r\nCookie: PHPSID=\(id)\r\n\r\n")
            #expect(harness.until { client.responses.count == 3 + index })
            let response = client.responses.last
            #expect(response?.text == "1", "forged id \(id) reached a session")
            let fresh = Self.cookie(response?.header("Set-Cookie"))
            #expect(fresh != nil && fresh!.id != id && fresh!.id != real.id && Self.isHex(fresh!.id), "\(id)")
        }
        client.connection.close()
        // The real session still counts 2; every file is a session file in the store.
        #expect(directory.list() == ["sessions"])
        let names = directory.list("sessions")
        #expect(names.count == 1 + forged.count)
        #expect(names.allSatisfy { $0.hasPrefix("session_") && Self.isHex(String($0.dropFirst("session_".count))) })
        #expect(String(decoding: readWholeFile(directory.path("sessions/session_\(real.id)")) ?? [], as: UTF8.self) == "count=2\n")
        harness.finish()
    }
}
