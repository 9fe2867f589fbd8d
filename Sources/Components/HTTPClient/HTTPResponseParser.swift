import WorkermanTransport

/// The head of a response: status, reason and headers in the order received.
public struct HTTPResponseHead: Equatable, Sendable {
    public var version: String
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]

    /// The first value of header `name` (any case).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of header `name` (any case), in order.
    public func headers(named name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public static func == (lhs: HTTPResponseHead, rhs: HTTPResponseHead) -> Bool {
        lhs.version == rhs.version && lhs.status == rhs.status && lhs.reason == rhs.reason
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}

/// A strict, incremental HTTP/1.1 response parser, sans I/O: bytes in (`feed`), events out (`next`):
/// the head, body pieces as they arrive, the end. It refuses what a request smuggler or a broken server
/// sends instead of guessing: bare LF, obs-fold, whitespace before a colon, control bytes in a value,
/// `Transfer-Encoding` with `Content-Length`, a transfer coding other than `chunked`, differing
/// `Content-Length`s, chunk sizes over 16 hex digits or the body limit, a chunk not ended by CRLF.
///
/// ```swift
/// var parser = HTTPResponseParser()
/// parser.expectResponse(toHEAD: false)
/// parser.feed(bytes)
/// while let event = try parser.next() { … }        // .head, .body, .end
/// if connectionClosed { _ = try parser.finish() }   // ends a close-delimited body
/// ```
public struct HTTPResponseParser {
    public struct Limits: Sendable {
        /// The status line and headers together (and a chunked body's trailers).
        public var maxHeadSize = 64 * 1024
        public var maxHeaderCount = 100
        public var maxBodySize = 16 * 1024 * 1024
        public init() {}
    }

    public enum Event: Equatable {
        case head(HTTPResponseHead)
        case body(ByteBuffer)
        /// The response is complete; `reusable` says whether the connection may carry another request.
        case end(reusable: Bool)
    }

    private enum State: Equatable {
        case head
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
        case untilClose
        case done
    }

    public var limits: Limits
    private var buffer: [UInt8] = []
    private var offset = 0
    private var state = State.done
    private var isHEAD = false
    private var keepAlive = true
    private var bodyBytes = 0
    private var trailerBytes = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// Bytes received and not parsed yet.
    public var bufferedBytes: Int { buffer.count - offset }

    /// Whether a response is in progress (its end not yet parsed).
    public var isInResponse: Bool { state != .done }

    /// Prepares for the response to the next request (a response to `HEAD` has no body, whatever its
    /// headers say).
    public mutating func expectResponse(toHEAD: Bool) {
        state = .head
        isHEAD = toHEAD
        keepAlive = true
        bodyBytes = 0
        trailerBytes = 0
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if offset > 0, offset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            offset = 0
        } else if offset > 64 * 1024, offset * 2 > buffer.count {
            buffer.removeFirst(offset)
            offset = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func feed(_ bytes: ByteBuffer) {
        bytes.withReadableBytes { feed($0) }
    }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() throws(HTTPClientError) -> Event? {
        while true {
            switch state {
            case .done:
                if offset < buffer.count { throw invalid("\(buffer.count - offset) bytes after the response") }
                return nil
            case .head:
                guard let head = try parseHead() else { return nil }
                if let event = try startBody(head) { return event }
            case .fixed(let remaining):
                if remaining == 0 {
                    state = .done
                    return .end(reusable: keepAlive)
                }
                guard offset < buffer.count else { return nil }
                // Checked again here, not only at the head: the limit may be lowered once the head is
                // seen (a streamed exchange whose answer is a redirect is buffered after all).
                guard remaining <= limits.maxBodySize else {
                    throw HTTPClientError(.tooLarge, "Content-Length over \(limits.maxBodySize)")
                }
                let count = min(remaining, buffer.count - offset)
                state = .fixed(remaining: remaining - count)
                return .body(takeBytes(count))
            case .chunkSize:
                guard let line = try takeLine(limit: 4096) else { return nil }
                let size = try chunkSize(line)
                if size == 0 {
                    state = .trailers
                } else {
                    bodyBytes += size
                    guard bodyBytes <= limits.maxBodySize else { throw HTTPClientError(.tooLarge, "body over \(limits.maxBodySize) bytes") }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                guard offset < buffer.count else { return nil }
                let count = min(remaining, buffer.count - offset)
                let piece = takeBytes(count)
                state = remaining == count ? .chunkEnd : .chunkData(remaining: remaining - count)
                return .body(piece)
            case .chunkEnd:
                guard buffer.count - offset >= 2 else { return nil }
                guard buffer[offset] == 13, buffer[offset + 1] == 10 else { throw invalid("chunk data not followed by CRLF") }
                offset += 2
                state = .chunkSize
            case .trailers:
                guard let line = try takeLine(limit: limits.maxHeadSize) else { return nil }
                trailerBytes += line.count + 2
                guard trailerBytes <= limits.maxHeadSize else { throw HTTPClientError(.tooLarge, "trailers over \(limits.maxHeadSize) bytes") }
                if line.isEmpty {
                    state = .done
                    return .end(reusable: keepAlive)
                }
                _ = try headerField(line)
            case .untilClose:
                guard offset < buffer.count else { return nil }
                let count = buffer.count - offset
                bodyBytes += count
                guard bodyBytes <= limits.maxBodySize else { throw HTTPClientError(.tooLarge, "body over \(limits.maxBodySize) bytes") }
                return .body(takeBytes(count))
            }
        }
    }

    /// The connection closed: ends a close-delimited body; anywhere else in a response it is an error.
    public mutating func finish() throws(HTTPClientError) -> Event? {
        switch state {
        case .done: return nil
        case .untilClose:
            state = .done
            return .end(reusable: false)
        case .head where buffer.count == offset:
            throw HTTPClientError(.connectionClosed, "closed before a response")
        default:
            throw HTTPClientError(.connectionClosed, "closed in the middle of the response")
        }
    }

    // MARK: - Head

    /// The head, once all of it is here (interim 1xx heads are skipped).
    private mutating func parseHead() throws(HTTPClientError) -> HTTPResponseHead? {
        while true {
            guard let end = headEnd() else {
                if buffer.count - offset > limits.maxHeadSize { throw HTTPClientError(.tooLarge, "response head over \(limits.maxHeadSize) bytes") }
                return nil
            }
            guard end - offset <= limits.maxHeadSize else { throw HTTPClientError(.tooLarge, "response head over \(limits.maxHeadSize) bytes") }
            var lines: [ArraySlice<UInt8>] = []
            var lineStart = offset
            var index = offset
            while index <= end + 1 {
                if buffer[index] == 10 {
                    guard index > lineStart, buffer[index - 1] == 13 else { throw invalid("a bare LF in the head") }
                    lines.append(buffer[lineStart..<(index - 1)])
                    lineStart = index + 1
                }
                index += 1
            }
            offset = end + 4
            guard let statusLine = lines.first else { throw invalid("empty head") }
            var head = try parseStatusLine(statusLine)
            guard lines.count - 1 <= limits.maxHeaderCount else { throw HTTPClientError(.tooLarge, "more than \(limits.maxHeaderCount) headers") }
            for line in lines.dropFirst() { head.headers.append(try headerField(line)) }
            if head.status >= 100, head.status < 200, head.status != 101 { continue }  // interim: the real one follows
            return head
        }
    }

    /// The index of the CRLFCRLF ending the head, if it has arrived; a bare LF is caught line by line.
    private func headEnd() -> Int? {
        var index = offset
        let limit = min(buffer.count, offset + limits.maxHeadSize + 4)
        while index + 3 < limit {
            if buffer[index] == 13, buffer[index + 1] == 10, buffer[index + 2] == 13, buffer[index + 3] == 10 { return index }
            index += 1
        }
        return nil
    }

    private func parseStatusLine(_ line: ArraySlice<UInt8>) throws(HTTPClientError) -> HTTPResponseHead {
        let bytes = Array(line)
        guard bytes.count >= 12, bytes[8] == 32, bytes[12...].first.map({ $0 == 32 }) ?? true else { throw invalid("bad status line") }
        let version = String(decoding: bytes[0..<8], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw invalid("unsupported version \(version.debugDescription)") }
        var status = 0
        for byte in bytes[9..<12] {
            guard byte >= 48, byte <= 57 else { throw invalid("bad status code") }
            status = status * 10 + Int(byte - 48)
        }
        guard status >= 100 else { throw invalid("status \(status)") }
        let reasonBytes = bytes.count > 13 ? bytes[13...] : []
        guard !reasonBytes.contains(where: { ($0 < 32 && $0 != 9) || $0 == 127 }) else { throw invalid("control byte in the reason") }
        return HTTPResponseHead(version: version, status: status, reason: String(decoding: reasonBytes, as: UTF8.self), headers: [])
    }

    private func headerField(_ line: ArraySlice<UInt8>) throws(HTTPClientError) -> (name: String, value: String) {
        guard let first = line.first, first != 32, first != 9 else { throw invalid("obsolete line folding") }
        guard let colon = line.firstIndex(of: 58), colon > line.startIndex else { throw invalid("a header line without a name") }
        for byte in line[line.startIndex..<colon] where !Self.isTokenByte(byte) {
            throw invalid("a header name with byte \(byte)")
        }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == 32 || byte == 9 { value = value.dropFirst() }
        while let byte = value.last, byte == 32 || byte == 9 { value = value.dropLast() }
        guard !value.contains(where: { ($0 < 32 && $0 != 9) || $0 == 127 }) else { throw invalid("control byte in a header value") }
        return (String(decoding: line[line.startIndex..<colon], as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    // MARK: - Framing (RFC 9112 section 6.3)

    private mutating func startBody(_ head: HTTPResponseHead) throws(HTTPClientError) -> Event? {
        let connection = head.headers(named: "connection").joined(separator: ",").lowercased()
        let tokens = connection.split(separator: ",").map { $0.trimmingSpaces }
        keepAlive = head.version == "HTTP/1.1" ? !tokens.contains("close") : tokens.contains("keep-alive")
        let encodings = head.headers(named: "transfer-encoding")
        let lengths = head.headers(named: "content-length")
        let noBody = isHEAD || head.status == 204 || head.status == 304 || head.status == 101
        if head.status == 101 { keepAlive = false }
        if !encodings.isEmpty {
            guard lengths.isEmpty else { throw invalid("both Transfer-Encoding and Content-Length") }
            let codings = encodings.joined(separator: ",").lowercased().split(separator: ",").map { $0.trimmingSpaces }
            guard codings == ["chunked"] else { throw invalid("transfer coding \(codings) (only chunked is accepted)") }
        }
        var length: Int?
        for value in lengths {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                let text = part.trimmingSpaces
                guard !text.isEmpty, text.count <= 18, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let number = Int(text) else {
                    throw invalid("bad Content-Length \(value.debugDescription)")
                }
                guard length == nil || length == number else { throw invalid("differing Content-Lengths") }
                length = number
            }
        }
        let event = Event.head(head)
        if noBody {
            state = .fixed(remaining: 0)
        } else if !encodings.isEmpty {
            state = .chunkSize
        } else if let length {
            guard length <= limits.maxBodySize else { throw HTTPClientError(.tooLarge, "Content-Length \(length) over \(limits.maxBodySize)") }
            state = .fixed(remaining: length)
        } else {
            keepAlive = false
            state = .untilClose
        }
        return event
    }

    private func chunkSize(_ line: ArraySlice<UInt8>) throws(HTTPClientError) -> Int {
        let digits = line.prefix { $0 != UInt8(ascii: ";") }
        var trimmed = digits[...]
        while let byte = trimmed.last, byte == 32 || byte == 9 { trimmed = trimmed.dropLast() }
        guard !trimmed.isEmpty, trimmed.count <= 16 else { throw invalid("bad chunk size") }
        var size = 0
        for byte in trimmed {
            let digit: Int
            switch byte {
            case 48...57: digit = Int(byte - 48)
            case 65...70: digit = Int(byte - 55)
            case 97...102: digit = Int(byte - 87)
            default: throw invalid("bad chunk size")
            }
            guard size <= (limits.maxBodySize >> 4) + 1 else { throw HTTPClientError(.tooLarge, "chunk over \(limits.maxBodySize) bytes") }
            size = size << 4 | digit
        }
        return size
    }

    // MARK: - Bytes

    /// A CRLF-ended line (without it), or nil when it has not all arrived.
    private mutating func takeLine(limit: Int) throws(HTTPClientError) -> ArraySlice<UInt8>? {
        var index = offset
        while index < buffer.count {
            if buffer[index] == 10 {
                guard index > offset, buffer[index - 1] == 13 else { throw invalid("a bare LF") }
                let line = buffer[offset..<(index - 1)]
                offset = index + 1
                return line
            }
            index += 1
            guard index - offset <= limit else { throw HTTPClientError(.tooLarge, "a line over \(limit) bytes") }
        }
        return nil
    }

    private mutating func takeBytes(_ count: Int) -> ByteBuffer {
        let piece = buffer.withUnsafeBytes { ByteBuffer(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
        offset += count
        return piece
    }

    private func invalid(_ reason: String) -> HTTPClientError { HTTPClientError(.invalidResponse, reason) }
}

extension StringProtocol {
    var trimmingSpaces: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view = view.dropFirst() }
        while let last = view.last, last == " " || last == "\t" { view = view.dropLast() }
        return String(view)
    }
}
