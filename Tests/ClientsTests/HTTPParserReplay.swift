import WorkermanHTTPClient
import WorkermanTransport

/// Drives the HTTP response parser over a stream cut into reads of `chunk` bytes, recording what came
/// out. Shared by the fuzz target (Fuzz/run.sh httpresponse compiles this file with its entry) and the
/// corpus replay. Settings: bit 0 a response to HEAD (or to CONNECT, as a proxy's answer is read), bit 1
/// small limits, bit 2 the stream ends with a close, bit 3 each head's `Location` is resolved as the
/// client resolves a redirect (server input too).
enum HTTPParserReplay {
    struct Outcome: Equatable {
        var heads: [HTTPResponseHead] = []
        var body: [UInt8] = []
        var ends: [Bool] = []
        var error: HTTPClientError?
        /// Each `Location` resolved (its URL, or the error's code).
        var locations: [String] = []
    }

    /// What the client would follow: a server's `Location` against the request's URL.
    static func resolve(_ head: HTTPResponseHead) -> String? {
        guard let location = head.header("location"), let base = try? HTTPURL("https://[::1]:8443/a/b?c=d") else { return nil }
        do {
            let url = try base.resolving(location)
            precondition(!url.host.isEmpty && (1...65535).contains(url.port) && url.target.hasPrefix("/"), "a resolved URL without host, port or path")
            return url.description
        } catch {
            return error.code.rawValue
        }
    }

    static func run(_ stream: [UInt8], settings: UInt8, chunk: Int) -> Outcome {
        var limits = HTTPResponseParser.Limits()
        if settings & 2 != 0 {
            limits.maxHeadSize = 64
            limits.maxBodySize = 32
            limits.maxHeaderCount = 4
        }
        var parser = HTTPResponseParser(limits: limits)
        parser.expectResponse(toHEAD: settings & 1 != 0)
        var outcome = Outcome()
        var index = 0
        do {
            while index < stream.count {
                let end = min(stream.count, index + chunk)
                stream[index..<end].withUnsafeBytes { parser.feed($0) }
                index = end
                while let event = try parser.next() {
                    switch event {
                    case .head(let head):
                        outcome.heads.append(head)
                        if settings & 8 != 0, let resolved = resolve(head) { outcome.locations.append(resolved) }
                    case .body(let bytes): outcome.body += bytes.bytes
                    case .end(let reusable):
                        outcome.ends.append(reusable)
                        parser.expectResponse(toHEAD: settings & 1 != 0)
                    }
                }
            }
            if settings & 4 != 0, let event = try parser.finish(), case .end(let reusable) = event { outcome.ends.append(reusable) }
        } catch {
            outcome.error = error
        }
        return outcome
    }
}
