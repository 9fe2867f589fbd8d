import Foundation
import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

/// The llhttp request vectors (MIT data, see Tests/Fixtures/http-vectors/NOTICE) through the HTTP codec
/// in every split.
///
/// What llhttp decided is our expectation, except where this codec is deliberately stricter or
/// different; each exception is listed in `overrides` with its reason. Two adjustments apply to all:
/// the vectors run with any method token allowed (the 501 policy is tested elsewhere), and an HTTP/1.1
/// vector without any `Host` gets one after each request line, since RFC 9112 §3.2 makes a Host-less
/// 1.1 request a 400 and llhttp does not check it; without that, most vectors would test only that.
@Suite("llhttp request vectors")
struct HTTPVectorTests {
    struct Vector: Decodable, Sendable, CustomTestStringConvertible {
        struct Message: Decodable, Sendable {
            var method: String
            var url: String
            var body_len: Int
        }

        var id: String
        var name: String
        var input_latin1: String
        var complete: Int
        var messages: [Message]
        var error: [String: AnyCodableValue]?
        var upgrade: Bool
        var incomplete_tail: Bool

        var testDescription: String { "\(id) \(name)" }
    }

    /// Lets `error` hold any JSON object without caring about its fields.
    struct AnyCodableValue: Decodable, Sendable {
        init(from decoder: any Decoder) throws {}
    }

    /// What must happen.
    enum Outcome: Equatable {
        /// Exactly `count` messages, no rejection; open unless the last request asked to close.
        case open(Int)
        /// Exactly `count` messages, then the connection closes (a rejection or a close after a response).
        case closes(Int)
        /// At least `count` messages: the connection was upgraded, what follows is another protocol.
        case upgraded(Int)
    }

    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/http-vectors/llhttp-request.jsonl")

    static let vectors: [Vector] = {
        guard let text = try? String(contentsOf: fixtures, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Vector.self, from: Data($0.utf8)) }
    }()

    /// Where this codec differs from llhttp, and why.
    static let overrides: [String: (Outcome, String)] = [
        "llhttp:content-length:492": (
            .open(0), "llhttp skips bodies here (a parser-pausing test); the second request is the first one's body"
        ),
        "llhttp:invalid:371": (
            .open(1), "any token is a valid method (RFC 9110 §9.1); which ones to serve is policy (501)"
        ),
        "llhttp:invalid:86": (.closes(1), "any token is a valid method; the HTTP/1.0 request is answered, then closed"),
        "llhttp:method:61": (.closes(0), "authority-form (CONNECT) is for proxies; an origin server answers 400"),
        "llhttp:method:95": (.closes(0), "authority-form (CONNECT) is for proxies"),
        "llhttp:method:134": (.closes(0), "authority-form (CONNECT) is for proxies"),
        "llhttp:uri:221": (.closes(0), "authority-form (CONNECT) is for proxies"),
        "llhttp:method:172": (.closes(0), "asterisk-form is for OPTIONS only (RFC 9112 §3.2.4)"),
        "llhttp:method:481": (.closes(0), "PRI * is the HTTP/2 preface; asterisk-form is for OPTIONS only"),
        "llhttp:method:399": (.closes(0), "only HTTP/1.x is served: ICE/1.0 is a 400"),
        "llhttp:method:429": (.closes(0), "only HTTP/1.x is served: RTSP/1.0 is a 400"),
        "llhttp:method:457": (.closes(0), "only HTTP/1.x is served: RTSP/1.0 is a 400"),
        "llhttp:sample:332": (.closes(0), "an HTTP/0.9 request line (no version) is a 400"),
        "llhttp:transfer-encoding:792": (.closes(0), "deflate is not implemented: 501 (RFC 9112 §6.1)"),
        "llhttp:transfer-encoding:839": (.closes(0), "deflate is not implemented: 501 (RFC 9112 §6.1)"),
    ]

    /// The vector's url lost its last character when it was extracted; the input has it.
    static let truncatedURLs: Set<String> = ["llhttp:uri:26"]

    static func expectedOutcome(_ vector: Vector) -> Outcome {
        if let (outcome, _) = overrides[vector.id] { return outcome }
        if vector.upgrade { return .upgraded(vector.complete) }
        if vector.error != nil { return .closes(vector.complete) }
        return .open(vector.complete)
    }

    /// The input, with `Host` added after each HTTP/1.1 request line when it has none at all.
    static func input(_ vector: Vector) -> [UInt8] {
        var text = vector.input_latin1
        if !text.lowercased().contains("host:") {
            text = text.replacingOccurrences(of: "HTTP/1.1\r\n", with: "HTTP/1.1\r\nHost: vectors\r\n")
        }
        return latin1(text)
    }

    @Test("the fixture file is present and complete")
    func fixturesPresent() {
        #expect(Self.vectors.count == 120, "missing \(Self.fixtures.path)?")
    }

    @Test("vector", arguments: vectors)
    func vector(_ vector: Vector) throws {
        var configuration = HTTPServerConfiguration()
        configuration.allowedMethods = nil
        let run = try httpVerifier(configuration: configuration).verify(Self.input(vector))
        let outcome = Self.expectedOutcome(vector)
        switch outcome {
        case .open(let count):
            #expect(run.messages.count == count)
            if let last = run.messages.last, !last.keepAlive {
                #expect(run.closeReason == .closeRequested)
            } else {
                #expect(!run.closed, "closed: \(String(describing: run.closeReason))")
            }
        case .closes(let count):
            #expect(run.messages.count == count)
            #expect(run.closed)
            if let rejection = run.rejection {
                let status = try #require(rejection.code)
                #expect(run.outputText.hasPrefix("HTTP/1.1 \(status) "))
                #expect(run.outputText.hasSuffix("Connection: close\r\nContent-Length: 0\r\n\r\n"))
            }
        case .upgraded(let count):
            #expect(run.messages.count >= count)
        }
        for (message, expected) in zip(run.messages, vector.messages) {
            #expect(message.method.rawValue == expected.method)
            if Self.truncatedURLs.contains(vector.id) {
                #expect(message.target.hasPrefix(expected.url))
            } else {
                #expect(message.target == expected.url)
            }
            #expect(message.bodyCount == expected.body_len)
        }
    }
}
