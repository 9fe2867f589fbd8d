// What the parser learns from the header fields that decide framing and connection handling
// (Host, Content-Length, Transfer-Encoding, Connection, Expect), and the checks made once the head is in.

/// The framing and connection facts gathered from one request head.
struct HTTPHeadFacts: Equatable {
    var contentLength: Int?
    var hostCount = 0
    var transferEncodingSeen = false
    var chunkedCount = 0
    var chunkedIsLast = false
    var otherCoding = false
    var connectionClose = false
    var connectionKeepAlive = false
    var connectionUpgrade = false
    var expectContinue = false
    var expectOther = false
    /// Decided when the head is complete.
    var isChunked = false
    var keepAlive = true
}

extension HTTPRequestParser {
    /// Called for each complete header field line; a non-nil result refuses the request.
    mutating func fieldComplete(_ base: UnsafeRawBufferPointer, limits: HTTPParserLimits) -> HTTPParseError? {
        let name = UnsafeRawBufferPointer(rebasing: base[tokenStart..<nameEnd])
        let value = UnsafeRawBufferPointer(rebasing: base[valueStart..<valueEnd])
        switch name.count {
        case 4 where ASCII.equalsIgnoringCase(name, "host"):
            facts.hostCount += 1
            guard Self.isValidHost(value) else { return .badRequest("invalid Host") }
        case 6 where ASCII.equalsIgnoringCase(name, "expect"):
            ASCII.forEachListElement(value) { element in
                if ASCII.equalsIgnoringCase(element, "100-continue") {
                    facts.expectContinue = true
                } else {
                    facts.expectOther = true
                }
                return true
            }
        case 10 where ASCII.equalsIgnoringCase(name, "connection"):
            ASCII.forEachListElement(value) { option in
                if ASCII.equalsIgnoringCase(option, "close") {
                    facts.connectionClose = true
                } else if ASCII.equalsIgnoringCase(option, "keep-alive") {
                    facts.connectionKeepAlive = true
                } else if ASCII.equalsIgnoringCase(option, "upgrade") {
                    facts.connectionUpgrade = true
                }
                return true
            }
        case 14 where ASCII.equalsIgnoringCase(name, "content-length"):
            return contentLengthField(value, limits: limits)
        case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"):
            facts.transferEncodingSeen = true
            ASCII.forEachListElement(value) { element in
                // A transfer coding may carry parameters after `;`: only its name matters here.
                var nameEnd = 0
                while nameEnd < element.count, element[nameEnd] != ASCII.semicolon { nameEnd += 1 }
                let coding = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: element[0..<nameEnd]))
                if ASCII.equalsIgnoringCase(coding, "chunked") {
                    facts.chunkedCount += 1
                    facts.chunkedIsLast = true
                } else {
                    facts.otherCoding = true
                    facts.chunkedIsLast = false
                }
                return true
            }
        default:
            break
        }
        return nil
    }

    /// `Content-Length = 1*DIGIT` (RFC 9112 §6.3): one value; repeated lines must agree, or the framing
    /// is ambiguous and the request is refused (the classic smuggling vector).
    private mutating func contentLengthField(_ value: UnsafeRawBufferPointer, limits: HTTPParserLimits)
        -> HTTPParseError?
    {
        guard !value.isEmpty else { return .badRequest("empty Content-Length") }
        var length = 0
        for byte in value {
            guard ASCII.isDigit(byte) else { return .badRequest("invalid Content-Length") }
            // Saturate instead of overflowing: a huge valid number is "too large" (413), not garbage.
            let (times10, overflowA) = length.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = times10.addingReportingOverflow(Int(byte &- 0x30))
            length = overflowA || overflowB ? Int.max : sum
        }
        if let previous = facts.contentLength, previous != length {
            return .badRequest("conflicting Content-Length")
        }
        // Refused at once: no need to read the rest of the head of a request that cannot be served.
        if length > limits.maxPackageSize { return .contentTooLarge }
        facts.contentLength = length
        return nil
    }

    /// `Host = uri-host [ ":" port ]` (RFC 9112 §3.2, RFC 3986 §3.2.2); empty is allowed.
    static func isValidHost(_ value: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = value.count
        if count > 0, value[0] == ASCII.leftBracket {
            // IP-literal: hex digits, ':' and '.' (IPv6, IPv4-mapped) or an IPvFuture's characters.
            index = 1
            while index < count, value[index] != ASCII.rightBracket {
                let byte = value[index]
                guard ASCII.isHostChar(byte) || byte == ASCII.colon else { return false }
                index += 1
            }
            guard index < count, index > 1 else { return false }
            index += 1
        } else {
            while index < count, ASCII.isHostChar(value[index]) { index += 1 }
        }
        if index == count { return true }
        guard value[index] == ASCII.colon else { return false }
        index += 1
        while index < count {
            guard ASCII.isDigit(value[index]) else { return false }
            index += 1
        }
        return true
    }

    /// The checks that need the whole head (RFC 9112 §3.2, §6.1, §6.3, §9.3; RFC 9110 §10.1.1), then
    /// the body's framing. Returns a step when the message is decided, nil when a chunked body follows.
    mutating func headComplete(_ limits: HTTPParserLimits) -> Step? {
        let isHTTP11 = version.minor >= 1
        if facts.hostCount > 1 { return fail(.badRequest("more than one Host"), at: headLength) }
        if isHTTP11, facts.hostCount == 0 { return fail(.badRequest("missing Host"), at: headLength) }

        if facts.transferEncodingSeen {
            // HTTP/1.0 has no transfer codings: the framing is faulty (RFC 9112 §6.1).
            if !isHTTP11 { return fail(.badRequest("Transfer-Encoding in an HTTP/1.0 request"), at: headLength) }
            // Both: a smuggling attempt or a broken proxy; refuse rather than guess (RFC 9112 §6.1).
            if facts.contentLength != nil {
                return fail(.badRequest("both Content-Length and Transfer-Encoding"), at: headLength)
            }
            if facts.chunkedCount == 0, !facts.otherCoding {
                return fail(.badRequest("empty Transfer-Encoding"), at: headLength)
            }
            if facts.chunkedCount > 1 || !facts.chunkedIsLast {
                return fail(.badRequest("chunked is not the final transfer coding"), at: headLength)
            }
            if facts.otherCoding { return fail(.unsupportedTransferCoding, at: headLength) }
            facts.isChunked = true
        }

        facts.keepAlive = isHTTP11 ? !facts.connectionClose : facts.connectionKeepAlive && !facts.connectionClose
        if facts.expectOther { return fail(.unsupportedExpectation, at: headLength) }
        // 100-continue in an HTTP/1.0 request is ignored (RFC 9110 §10.1.1).
        let wantsContinue = facts.expectContinue && isHTTP11

        if facts.isChunked {
            continueDue = wantsContinue
            state = .chunkSizeStart
            return nil
        }
        let bodyLength = facts.contentLength ?? 0
        guard bodyLength <= limits.maxPackageSize - headLength else { return fail(.contentTooLarge, at: headLength) }
        continueDue = wantsContinue && bodyLength > 0
        return finish(length: headLength + bodyLength)
    }
}
