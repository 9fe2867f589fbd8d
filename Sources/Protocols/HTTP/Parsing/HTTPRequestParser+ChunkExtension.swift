// Chunk extensions (RFC 9112 §7.1.1): accepted when well formed and ignored, as the RFC allows.

extension HTTPRequestParser {
    /// One byte after the chunk extension's first name character (RFC 9112 §7.1.1:
    /// `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`, ext-val a token or a quoted-string).
    mutating func extensionByte(_ byte: UInt8) -> HTTPParseError? {
        let invalid = HTTPParseError.badRequest("invalid chunk extension")
        switch state {
        case .extensionName, .extensionToken, .extensionAfterName, .extensionAfterValue:
            if state == .extensionName || state == .extensionToken, ASCII.isTokenChar(byte) { return nil }
            switch byte {
            case ASCII.space, ASCII.tab:
                state =
                    state == .extensionName || state == .extensionAfterName ? .extensionAfterName : .extensionAfterValue
            case ASCII.semicolon: state = .extensionNameStart
            case ASCII.cr: state = .chunkSizeLF
            case ASCII.equals where state == .extensionName || state == .extensionAfterName:
                state = .extensionValueStart
            default: return invalid
            }
        case .extensionValueStart:
            if ASCII.isTokenChar(byte) {
                state = .extensionToken
            } else if byte == ASCII.quote {
                state = .extensionQuoted
            } else if !ASCII.isWhitespace(byte) {
                return invalid
            }
        case .extensionQuoted:
            switch byte {
            case ASCII.quote: state = .extensionAfterValue
            case ASCII.backslash: state = .extensionQuotedEscape
            default: if !ASCII.isFieldValueChar(byte) { return invalid }
            }
        case .extensionQuotedEscape:
            guard ASCII.isFieldValueChar(byte) else { return invalid }
            state = .extensionQuoted
        default:
            return invalid
        }
        return nil
    }
}
