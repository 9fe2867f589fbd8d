// The parser's fast paths: a whole request line, or a whole header field line, examined in one go when
// all of it has arrived (nearly always: a request head usually comes in one read).
//
// Why: the byte state machine pays a state store and a dispatch per byte, and the request line's
// version alone is eight of them; the common line costs a third as much scanned straight through.
// Why it cannot change a verdict: each fast path accepts only what the state machine accepts from the
// same position and leaves the same fields behind; on anything else (an incomplete line, a byte the
// grammar refuses, an unusual form) it answers nil having changed nothing the state machine reads
// first, and the state machine takes the same bytes one at a time and gives its precise answer.
// The codec tests check it: every input runs whole (the fast paths) and byte by byte (the state machine
// alone) and must give the same messages, answer and close; `HTTPParserAtOnceTests` adds mutated heads.

extension HTTPRequestParser {
    /// `HTTP/1.` as a little-endian word (the version's first seven bytes).
    private static let versionPrefix: UInt64 = 0x002E_312F_5054_5448
    private static let sevenBytes: UInt64 = 0x00FF_FFFF_FFFF_FFFF

    /// Parses `method SP request-target SP HTTP/1.d CRLF` if it all lies before `end`; returns where the
    /// field lines start, or nil to leave the line to the state machine.
    @inline(__always)
    mutating func requestLineAtOnce(_ base: UnsafeRawBufferPointer, end: Int, limits: HTTPParserLimits) -> Int? {
        guard position == 0, let start = base.baseAddress else { return nil }
        var p = 0
        while p < end, ASCII.isTokenChar(base[p]) { p += 1 }
        guard p > 0, p < end, base[p] == ASCII.space else { return nil }
        let parsedMethod = HTTPMethod.parse(UnsafeRawBufferPointer(rebasing: base[0..<p]))
        if !limits.methods.allows(parsedMethod) { return nil }
        let target = p + 1
        p = ASCII.skipPlainRun(base, from: target, to: end, lowest: 0x21)
        while p < end, ASCII.isTargetChar(base[p]) { p += 1 }
        // SP "HTTP/1.d" CR LF: eleven bytes from the space.
        guard p > target, p + 11 <= end, base[p] == ASCII.space else { return nil }
        let word = start.loadUnaligned(fromByteOffset: p + 1, as: UInt64.self)
        let minor = UInt8(truncatingIfNeeded: word >> 56)
        guard word & Self.sevenBytes == Self.versionPrefix, ASCII.isDigit(minor),
            base[p + 9] == ASCII.cr, base[p + 10] == ASCII.lf
        else { return nil }
        method = parsedMethod
        targetStart = target
        targetEnd = p
        guard validateTarget(base) == nil else { return nil }
        version = HTTPVersion(major: 1, minor: minor &- 0x30)
        fieldsStart = p + 11
        return fieldsStart
    }

    /// Parses `field-name ":" OWS field-value OWS CRLF` starting at `p` if it all lies before `end`;
    /// records the name and value bounds and returns where the next line starts, or nil.
    @inline(__always)
    mutating func fieldLineAtOnce(_ base: UnsafeRawBufferPointer, from p: Int, end: Int) -> Int? {
        var q = p
        while q < end, ASCII.isTokenChar(base[q]) { q += 1 }
        guard q > p, q < end, base[q] == ASCII.colon else { return nil }
        let colon = q
        q += 1
        while q < end, ASCII.isWhitespace(base[q]) { q += 1 }
        let value = q
        q = ASCII.skipPlainRun(base, from: q, to: end, lowest: 0x20)
        while q < end, ASCII.isFieldValueChar(base[q]) { q += 1 }
        guard q + 2 <= end, base[q] == ASCII.cr, base[q + 1] == ASCII.lf else { return nil }
        var valueEnd = q
        while valueEnd > value, ASCII.isWhitespace(base[valueEnd - 1]) { valueEnd -= 1 }
        tokenStart = p
        nameEnd = colon
        valueStart = value
        self.valueEnd = valueEnd
        return q + 2
    }
}
