/// What both sides agreed on for permessage-deflate (RFC 7692 §7.1): windows as powers of two, 8...15.
struct PermessageDeflateAgreement: Equatable {
    var serverNoContextTakeover = false
    var clientNoContextTakeover = false
    var serverMaxWindowBits = 15
    var clientMaxWindowBits = 15

    /// The `Sec-WebSocket-Extensions` value that states this agreement (a server's answer). The window
    /// parameters are written only when `serverWindowStated`/`clientWindowStated`.
    func headerValue(serverWindowStated: Bool, clientWindowStated: Bool) -> String {
        var value = "permessage-deflate"
        if serverNoContextTakeover { value += "; server_no_context_takeover" }
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if serverWindowStated { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        if clientWindowStated { value += "; client_max_window_bits=\(clientMaxWindowBits)" }
        return value
    }
}

/// Parsing and negotiating `Sec-WebSocket-Extensions` for permessage-deflate (RFC 7692 §5, §7.1).
/// Malformed input never throws or traps: a server declines the offer, a client fails the connection.
enum PermessageDeflateNegotiation {
    static let name = "permessage-deflate"

    /// One extension from a header: its name and parameters (value nil when the parameter has none),
    /// or nil when its syntax is broken.
    typealias Extension = (name: String, parameters: [(name: String, value: String?)])

    /// The permessage-deflate parameters of one offer or response, each checked (§7.1): no duplicates,
    /// no unknown names, no value where none belongs, window sizes 8...15 written without leading zeros.
    struct Parameters: Equatable {
        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        var serverMaxWindowBits: Int?
        /// Present (possibly without a value: then `clientMaxWindowBits` is nil).
        var clientMaxWindowBitsPresent = false
        var clientMaxWindowBits: Int?

        init?(_ parameters: [(name: String, value: String?)]) {
            var seen: Set<String> = []
            for (name, value) in parameters {
                let key = name.lowercased()
                guard seen.insert(key).inserted else { return nil }
                switch key {
                case "server_no_context_takeover":
                    guard value == nil else { return nil }
                    serverNoContextTakeover = true
                case "client_no_context_takeover":
                    guard value == nil else { return nil }
                    clientNoContextTakeover = true
                case "server_max_window_bits":
                    guard let value, let bits = Self.windowBits(value) else { return nil }
                    serverMaxWindowBits = bits
                case "client_max_window_bits":
                    clientMaxWindowBitsPresent = true
                    if let value {
                        guard let bits = Self.windowBits(value) else { return nil }
                        clientMaxWindowBits = bits
                    }
                default:
                    return nil
                }
            }
        }

        /// "8" to "15" exactly (§7.1.2.1's ABNF: no sign, no leading zero).
        static func windowBits(_ text: String) -> Int? {
            guard let first = text.utf8.first, first != UInt8(ascii: "0"), text.utf8.count <= 2,
                text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let bits = Int(text), (8...15).contains(bits)
            else { return nil }
            return bits
        }
    }

    // MARK: - Server

    /// A server's choice (§5.1): the first acceptable permessage-deflate offer among `headerValues` (every
    /// `Sec-WebSocket-Extensions` line of the request), and the response header value to send; nil when
    /// none is acceptable. Offers of other extensions are skipped.
    static func accept(
        offers headerValues: [String],
        options: PermessageDeflateOptions
    ) -> (agreement: PermessageDeflateAgreement, response: String)? {
        for offer in headerValues.flatMap(extensions) {
            guard let offer, offer.name.lowercased() == name, let parameters = Parameters(offer.parameters) else { continue }
            var agreement = PermessageDeflateAgreement()
            agreement.serverNoContextTakeover = parameters.serverNoContextTakeover || options.serverNoContextTakeover
            agreement.clientNoContextTakeover = parameters.clientNoContextTakeover || options.clientNoContextTakeover
            let ourServerBits = min(max(options.serverMaxWindowBits, 8), 15)
            agreement.serverMaxWindowBits = min(parameters.serverMaxWindowBits ?? 15, ourServerBits)
            // §7.1.2.1: an offered server_max_window_bits must be answered (same or smaller); we may
            // also state a smaller window unasked.
            let serverStated = parameters.serverMaxWindowBits != nil || agreement.serverMaxWindowBits < 15
            // §7.1.2.2: client_max_window_bits may be answered only if offered; the client's own value
            // is an upper bound it promises, so ours is stated only when smaller.
            let ourClientBits = min(max(options.clientMaxWindowBits, 8), 15)
            var clientStated = false
            if parameters.clientMaxWindowBitsPresent {
                let offered = parameters.clientMaxWindowBits ?? 15
                agreement.clientMaxWindowBits = min(offered, ourClientBits)
                clientStated = agreement.clientMaxWindowBits < offered
            }
            return (agreement, agreement.headerValue(serverWindowStated: serverStated, clientWindowStated: clientStated))
        }
        return nil
    }

    // MARK: - Client

    /// The offer a client sends: the options as parameters, always with `client_max_window_bits` (we can
    /// compress with any window the server picks).
    static func offer(_ options: PermessageDeflateOptions) -> String {
        var value = name
        if options.serverNoContextTakeover { value += "; server_no_context_takeover" }
        if options.clientNoContextTakeover { value += "; client_no_context_takeover" }
        let serverBits = min(max(options.serverMaxWindowBits, 8), 15)
        if serverBits < 15 { value += "; server_max_window_bits=\(serverBits)" }
        let clientBits = min(max(options.clientMaxWindowBits, 8), 15)
        value += clientBits < 15 ? "; client_max_window_bits=\(clientBits)" : "; client_max_window_bits"
        return value
    }

    /// Checks a server's answer to `offer(options)` (§5.2, §7.1): nil when there is no extension (not
    /// negotiated), the agreement when it is valid, or an error reason (fail the connection) when the
    /// server answered with something we did not offer or with broken parameters.
    static func checkResponse(
        _ headerValues: [String],
        options: PermessageDeflateOptions
    ) -> Result<PermessageDeflateAgreement?, ResponseError> {
        let answered = headerValues.flatMap(extensions)
        guard !answered.isEmpty else { return .success(nil) }
        guard answered.count == 1, let only = answered[0] else {
            return .failure(ResponseError("the server answered extensions that were not offered"))
        }
        guard only.name.lowercased() == name else {
            return .failure(ResponseError("the server answered extension \(only.name), which was not offered"))
        }
        guard let parameters = Parameters(only.parameters) else {
            return .failure(ResponseError("malformed permessage-deflate parameters in the server's answer"))
        }
        var agreement = PermessageDeflateAgreement()
        agreement.serverNoContextTakeover = parameters.serverNoContextTakeover
        agreement.clientNoContextTakeover = parameters.clientNoContextTakeover || options.clientNoContextTakeover
        if options.serverNoContextTakeover && !parameters.serverNoContextTakeover {
            return .failure(ResponseError("the server ignored server_no_context_takeover"))
        }
        let requestedServerBits = min(max(options.serverMaxWindowBits, 8), 15)
        if let bits = parameters.serverMaxWindowBits {
            guard bits <= requestedServerBits else {
                return .failure(ResponseError("server_max_window_bits=\(bits) over the \(requestedServerBits) offered"))
            }
            agreement.serverMaxWindowBits = bits
        } else if requestedServerBits < 15 {
            return .failure(ResponseError("the server ignored server_max_window_bits"))
        }
        let clientBits = min(max(options.clientMaxWindowBits, 8), 15)
        if parameters.clientMaxWindowBitsPresent {
            // The answer must carry a value (§7.1.2.2), and no more than ours if we gave one.
            guard let bits = parameters.clientMaxWindowBits else {
                return .failure(ResponseError("client_max_window_bits without a value in the server's answer"))
            }
            agreement.clientMaxWindowBits = min(bits, clientBits)
        } else {
            agreement.clientMaxWindowBits = clientBits
        }
        return .success(agreement)
    }

    struct ResponseError: Error, Equatable {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    // MARK: - Header syntax

    /// Splits a `Sec-WebSocket-Extensions` value into extensions (RFC 6455 §9.1: `ext; param=value, ext`),
    /// honouring quoted values (RFC 7230 quoted-string). A broken extension is nil; the rest are kept.
    static func extensions(_ header: String) -> [Extension?] {
        var result: [Extension?] = []
        for item in split(header, on: ",") {
            let trimmed = item.trimmingASCIIWhitespace()
            if trimmed.isEmpty { continue }  // "a, , b": empty list elements are allowed (RFC 7230 §7)
            let pieces = split(trimmed, on: ";").map { $0.trimmingASCIIWhitespace() }
            guard let extensionName = pieces.first, isToken(extensionName) else {
                result.append(nil)
                continue
            }
            var parameters: [(name: String, value: String?)] = []
            var broken = false
            for piece in pieces.dropFirst() {
                guard let parameter = Self.parameter(piece) else {
                    broken = true
                    break
                }
                parameters.append(parameter)
            }
            result.append(broken ? nil : (extensionName, parameters))
        }
        return result
    }

    private static func parameter(_ text: String) -> (name: String, value: String?)? {
        guard let equals = text.firstIndex(of: "=") else { return isToken(text) ? (text, nil) : nil }
        let parameterName = String(text[..<equals]).trimmingASCIIWhitespace()
        var value = String(text[text.index(after: equals)...]).trimmingASCIIWhitespace()
        guard isToken(parameterName) else { return nil }
        if value.utf8.first == UInt8(ascii: "\"") {
            guard value.utf8.count >= 2, value.utf8.last == UInt8(ascii: "\"") else { return nil }
            value = String(value.dropFirst().dropLast()).replacingBackslashEscapes()
        }
        // §7.1: a quoted value must still be a token once unquoted.
        return isToken(value) ? (parameterName, value) : nil
    }

    /// Splits on `separator` outside double quotes (a backslash escapes the next character inside them).
    private static func split(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in text {
            if escaped {
                escaped = false
            } else if quoted && character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if !quoted && character == separator {
                parts.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        parts.append(current)
        return parts
    }

    /// An RFC 7230 token: one or more visible ASCII characters other than separators.
    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains(byte)
            }
    }
}

extension String {
    /// Removes quoted-pair backslashes (`\"` → `"`).
    fileprivate func replacingBackslashEscapes() -> String {
        var result = ""
        var escaped = false
        for character in self {
            if !escaped && character == "\\" {
                escaped = true
                continue
            }
            escaped = false
            result.append(character)
        }
        return result
    }
}
