import WorkermanHTTPClient
import WorkermanTransport

/// Drives the HTTP response parser over a stream cut into reads of `chunk` bytes, recording what came
/// out. Shared by the fuzz target (Fuzz/run.sh httpresponse compiles this file with its entry) and the
/// corpus replay. Settings: bit 0 a response to HEAD, bit 1 small limits, bit 2 the stream ends with a close.
enum HTTPParserReplay {
    struct Outcome: Equatable {
        var heads: [HTTPResponseHead] = []
        var body: [UInt8] = []
        var ends: [Bool] = []
        var error: HTTPClientError?
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
                    case .head(let head): outcome.heads.append(head)
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
