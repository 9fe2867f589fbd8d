// An incremental HTTP/1.1 request parser (RFC 9112), one byte state machine for the head, the chunked
// body and its trailers.
//
// Why a byte state machine and not "find CRLFCRLF, then split lines": the connection hands `input` the
// same growing buffer again after every read. Finding the end first and re-splitting would re-scan the
// head from byte 0 each time a byte arrives (quadratic for a slow client), and would only notice garbage
// once the whole head is in. Here every byte is examined exactly once across calls (`position` remembers
// how far we got, and offsets are relative to the message start, which the buffer always begins with),
// and a bad byte is refused as soon as it arrives.
//
// Why scanning is bounded by the limits rather than by the buffer: so the verdict does not depend on how
// the bytes were split into reads. A head over `maxHeaderSize` is refused at byte `maxHeaderSize + 1`
// whether it came one byte at a time or in one read that also holds a syntax error further on.

/// The limits the parser enforces, copied from the codec's configuration and context.
struct HTTPParserLimits {
    var maxHeaderSize: Int
    var maxHeaderCount: Int
    var maxPackageSize: Int
    /// Which methods are served (others get 501).
    var methods: HTTPMethodFilter
}

/// The configured `allowedMethods` as a bit per common method, so checking one costs a mask, not a
/// search of an array of enums with payloads.
struct HTTPMethodFilter {
    /// Bit `standardCode` set: that common method is allowed.
    private var standard: UInt16 = 0
    /// Other method tokens allowed; nil with `standard` full: any method.
    private var others: [String]? = []

    init(_ allowed: [HTTPMethod]?) {
        guard let allowed else {
            standard = .max
            others = nil
            return
        }
        for method in allowed {
            if let code = method.standardCode {
                standard |= 1 << code
            } else {
                others?.append(method.rawValue)
            }
        }
    }

    @inline(__always)
    func allows(_ method: HTTPMethod) -> Bool {
        if let code = method.standardCode { return standard & (1 << code) != 0 }
        guard let others else { return true }
        return others.contains(method.rawValue)
    }
}

struct HTTPRequestParser {
    /// What one `parse` call found.
    enum Step: Equatable {
        /// The bytes end inside the message.
        case needMore
        /// Drop this many bytes (empty lines before a request line) and call again.
        case skip(Int)
        /// The message is `length` bytes long (for a `Content-Length` body, possibly more than arrived).
        case complete(length: Int)
        /// The request is invalid.
        case failure(HTTPParseError)
    }

    enum State: UInt8 {
        case start, startLF
        case method, targetStart, target, version, requestLineCR, requestLineLF
        case fieldStart, fieldName, fieldValueStart, fieldValue, fieldLF, sectionEndLF
        case chunkSizeStart, chunkSize, chunkSizeWhitespace
        case extensionNameStart, extensionName, extensionAfterName, extensionValueStart
        case extensionToken, extensionQuoted, extensionQuotedEscape, extensionAfterValue
        case chunkSizeLF, chunkData, chunkDataCR, chunkDataLF
        case complete
    }

    var state = State.start
    /// Bytes examined so far, from the start of the message.
    private(set) var position = 0

    // MARK: Request line (offsets from the message start)

    var method = HTTPMethod.get
    var version = HTTPVersion.http1_1
    var targetStart = 0
    var targetEnd = 0
    /// Where the first header field line starts.
    var fieldsStart = 0
    /// The head's length, through the empty line.
    private(set) var headLength = 0
    /// The whole message's length once `complete`.
    private(set) var messageLength = 0

    // MARK: Fields

    var tokenStart = 0
    var nameEnd = 0
    var valueStart = 0
    var valueEnd = 0
    var fieldCount = 0
    private(set) var inTrailers = false
    private var trailerStart = 0

    // MARK: Framing facts

    var facts = HTTPHeadFacts()

    // MARK: Chunked body

    private var chunkSize = 0

    /// Set when the head asked for `100 Continue` and the answer is due; `takeContinueRequest` clears it.
    var continueDue = false
    /// A refusal is final: later calls repeat it.
    private var failure: HTTPParseError?

    init() {}

    /// Forgets the current message (after `decode`, or to start over).
    mutating func reset() {
        self = HTTPRequestParser()
    }

    /// True between messages: nothing of the next request has been examined.
    var isIdle: Bool { state == .start && position == 0 }

    /// True while the request line or header fields are arriving (for a header timeout).
    var isReceivingHead: Bool { state.rawValue < State.chunkSizeStart.rawValue && !inTrailers && !isIdle }

    /// Whether a `100 Continue` should be sent now; answers true once per request.
    mutating func takeContinueRequest() -> Bool {
        defer { continueDue = false }
        return continueDue
    }

    // MARK: - Parsing

    /// Examines the bytes not yet examined. `bytes` always starts at the message start.
    mutating func parse(_ bytes: UnsafeRawBufferPointer, limits: HTTPParserLimits) -> Step {
        if state == .complete { return .complete(length: messageLength) }
        if let failure { return .failure(failure) }
        guard bytes.count > position else { return .needMore }
        // Raw-buffer subscripts: unchecked in release builds, and correct for memory of no bound type.
        let base = bytes
        let count = bytes.count
        var p = position
        var bound = currentBound(limits)
        var end = min(count, bound)
        if state == .start, let lineEnd = requestLineAtOnce(base, end: end, limits: limits) {
            p = lineEnd
            state = .fieldStart
        }

        while p < end {
            let byte = base[p]
            switch state {
            // MARK: Request line
            case .start:
                if byte == ASCII.cr {
                    state = .startLF
                } else if ASCII.isTokenChar(byte) {
                    state = .method
                } else {
                    return fail(.badRequest("invalid method"), at: p)
                }
                p += 1

            case .startLF:
                // An empty line before the request line is ignored (RFC 9112 §2.2).
                guard byte == ASCII.lf else { return fail(.badRequest("bare CR before request line"), at: p) }
                self = HTTPRequestParser()
                return .skip(p + 1)

            case .method:
                while p < end, ASCII.isTokenChar(base[p]) { p += 1 }
                guard p < end else { break }
                guard base[p] == ASCII.space else { return fail(.badRequest("invalid method"), at: p) }
                method = HTTPMethod.parse(UnsafeRawBufferPointer(rebasing: base[0..<p]))
                if !limits.methods.allows(method) {
                    return fail(.methodNotImplemented, at: p)
                }
                p += 1
                targetStart = p
                state = .targetStart

            case .targetStart:
                guard ASCII.isTargetChar(byte) else { return fail(.badRequest("invalid request-target"), at: p) }
                p += 1
                state = .target

            case .target:
                p = ASCII.skipPlainRun(base, from: p, to: end, lowest: 0x21)
                while p < end, ASCII.isTargetChar(base[p]) { p += 1 }
                guard p < end else { break }
                guard base[p] == ASCII.space else { return fail(.badRequest("invalid request-target"), at: p) }
                targetEnd = p
                p += 1
                tokenStart = p
                state = .version

            case .version:
                if let error = versionByte(byte, index: p - tokenStart) { return fail(error, at: p) }
                p += 1
                if p - tokenStart == 8 { state = .requestLineCR }

            case .requestLineCR:
                guard byte == ASCII.cr else { return fail(.badRequest("invalid HTTP version"), at: p) }
                p += 1
                state = .requestLineLF

            case .requestLineLF:
                guard byte == ASCII.lf else { return fail(.badRequest("bare CR after request line"), at: p) }
                if let error = validateTarget(base) { return fail(error, at: p) }
                p += 1
                fieldsStart = p
                state = .fieldStart

            // MARK: Field lines (header and trailer sections)
            case .fieldStart:
                if let lineEnd = fieldLineAtOnce(base, from: p, end: end) {
                    p = lineEnd
                    fieldCount += 1
                    if fieldCount > limits.maxHeaderCount { return fail(.tooManyHeaders, at: p) }
                    if !inTrailers, let error = fieldComplete(base, limits: limits) { return fail(error, at: p) }
                    continue
                }
                if byte == ASCII.cr {
                    state = .sectionEndLF
                } else if ASCII.isTokenChar(byte) {
                    tokenStart = p
                    state = .fieldName
                } else if ASCII.isWhitespace(byte) {
                    // obs-fold, or whitespace before the first field: both refused (RFC 9112 §2.2, §5.2).
                    let reason =
                        fieldCount == 0 && !inTrailers ? "whitespace before first header" : "obsolete line folding"
                    return fail(.badRequest(reason), at: p)
                } else {
                    return fail(.badRequest("invalid header name"), at: p)
                }
                p += 1

            case .fieldName:
                while p < end, ASCII.isTokenChar(base[p]) { p += 1 }
                guard p < end else { break }
                let next = base[p]
                guard next == ASCII.colon else {
                    // No whitespace between a field name and its colon (RFC 9112 §5.1: MUST reject).
                    let reason = ASCII.isWhitespace(next) ? "whitespace before colon" : "invalid header name"
                    return fail(.badRequest(reason), at: p)
                }
                nameEnd = p
                p += 1
                state = .fieldValueStart

            case .fieldValueStart:
                if ASCII.isWhitespace(byte) {
                    p += 1
                } else if byte == ASCII.cr {
                    valueStart = p
                    valueEnd = p
                    p += 1
                    state = .fieldLF
                } else if ASCII.isFieldValueChar(byte) {
                    valueStart = p
                    p += 1
                    state = .fieldValue
                } else {
                    return fail(.badRequest("invalid header value"), at: p)
                }

            case .fieldValue:
                // The value's end is found by trimming back from the CR, so the scan only validates.
                p = ASCII.skipPlainRun(base, from: p, to: end, lowest: 0x20)
                while p < end, ASCII.isFieldValueChar(base[p]) { p += 1 }
                guard p < end else { break }
                guard base[p] == ASCII.cr else { return fail(.badRequest("invalid header value"), at: p) }
                valueEnd = p
                while valueEnd > valueStart, ASCII.isWhitespace(base[valueEnd - 1]) { valueEnd -= 1 }
                p += 1
                state = .fieldLF

            case .fieldLF:
                guard byte == ASCII.lf else { return fail(.badRequest("bare CR in header"), at: p) }
                p += 1
                fieldCount += 1
                if fieldCount > limits.maxHeaderCount { return fail(.tooManyHeaders, at: p) }
                if !inTrailers, let error = fieldComplete(base, limits: limits) { return fail(error, at: p) }
                state = .fieldStart

            case .sectionEndLF:
                guard byte == ASCII.lf else { return fail(.badRequest("bare CR at end of header section"), at: p) }
                p += 1
                if inTrailers { return finish(length: p) }
                headLength = p
                if let step = headComplete(limits) { return step }
                // A chunked body follows: the bound moves from the header limit to maxPackageSize.
                bound = currentBound(limits)
                end = min(count, bound)

            // MARK: Chunked body (RFC 9112 §7.1)
            case .chunkSizeStart:
                guard let digit = ASCII.hexValue(byte) else { return fail(.badRequest("invalid chunk size"), at: p) }
                chunkSize = Int(digit)
                p += 1
                state = .chunkSize

            case .chunkSize:
                if let digit = ASCII.hexValue(byte) {
                    // Overflow-safe: refuse as soon as the size alone exceeds what may be buffered.
                    guard chunkSize <= (limits.maxPackageSize - Int(digit)) >> 4 else {
                        return fail(.contentTooLarge, at: p)
                    }
                    chunkSize = chunkSize << 4 | Int(digit)
                    p += 1
                } else {
                    p += 1
                    switch byte {
                    case ASCII.semicolon: state = .extensionNameStart
                    case ASCII.space, ASCII.tab: state = .chunkSizeWhitespace
                    case ASCII.cr: state = .chunkSizeLF
                    default: return fail(.badRequest("invalid chunk size"), at: p - 1)
                    }
                }

            case .chunkSizeWhitespace:
                // BWS is allowed only before a `;` starting an extension.
                if byte == ASCII.semicolon {
                    state = .extensionNameStart
                } else if !ASCII.isWhitespace(byte) {
                    return fail(.badRequest("invalid chunk size"), at: p)
                }
                p += 1

            case .extensionNameStart:
                if ASCII.isTokenChar(byte) {
                    state = .extensionName
                } else if !ASCII.isWhitespace(byte) {
                    return fail(.badRequest("invalid chunk extension"), at: p)
                }
                p += 1

            case .extensionName, .extensionAfterName, .extensionValueStart, .extensionToken,
                .extensionQuoted, .extensionQuotedEscape, .extensionAfterValue:
                if let error = extensionByte(byte) { return fail(error, at: p) }
                p += 1

            case .chunkSizeLF:
                guard byte == ASCII.lf else { return fail(.badRequest("bare CR after chunk size"), at: p) }
                p += 1
                if chunkSize == 0 {
                    inTrailers = true
                    trailerStart = p
                    fieldCount = 0
                    state = .fieldStart
                    bound = currentBound(limits)
                    end = min(count, bound)
                } else {
                    // The whole chunk and its CRLF must fit: refuse now rather than after buffering it.
                    guard chunkSize + 2 <= limits.maxPackageSize - p else { return fail(.contentTooLarge, at: p) }
                    state = .chunkData
                }

            case .chunkData:
                let run = min(chunkSize, end - p)
                p += run
                chunkSize -= run
                if chunkSize == 0 { state = .chunkDataCR }

            case .chunkDataCR:
                guard byte == ASCII.cr else { return fail(.badRequest("chunk data not followed by CRLF"), at: p) }
                p += 1
                state = .chunkDataLF

            case .chunkDataLF:
                guard byte == ASCII.lf else { return fail(.badRequest("chunk data not followed by CRLF"), at: p) }
                p += 1
                state = .chunkSizeStart

            case .complete:
                return .complete(length: messageLength)
            }
        }

        position = p
        if p >= bound { return fail(boundError(limits), at: p) }
        return .needMore
    }

    // MARK: - Pieces of the state machine

    /// How far this section may go: the header limit for the head, maxPackageSize for the body, and the
    /// header limit again (from its start) for trailers.
    private func currentBound(_ limits: HTTPParserLimits) -> Int {
        if inTrailers { return min(limits.maxPackageSize, trailerStart + limits.maxHeaderSize) }
        if state.rawValue >= State.chunkSizeStart.rawValue { return limits.maxPackageSize }
        return min(limits.maxHeaderSize, limits.maxPackageSize)
    }

    /// The refusal when a section reaches its bound without ending.
    private func boundError(_ limits: HTTPParserLimits) -> HTTPParseError {
        if inTrailers {
            return trailerStart + limits.maxHeaderSize <= limits.maxPackageSize ? .trailersTooLarge : .contentTooLarge
        }
        if state.rawValue >= State.chunkSizeStart.rawValue || limits.maxPackageSize < limits.maxHeaderSize {
            return .contentTooLarge
        }
        switch state {
        case .start, .startLF, .method, .targetStart, .target: return .uriTooLong
        default: return .headerTooLarge
        }
    }

    mutating func fail(_ error: HTTPParseError, at offset: Int) -> Step {
        position = offset
        failure = error
        return .failure(error)
    }

    mutating func finish(length: Int) -> Step {
        position = length
        messageLength = length
        state = .complete
        return .complete(length: length)
    }
}
