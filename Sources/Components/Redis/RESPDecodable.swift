import WorkermanTransport

/// A Swift value a Redis reply can be read as; a reply of another shape throws `.unexpectedReply`.
///
/// ```swift
/// let count = try Int(fromRESP: .integer(3))            // 3
/// let name = try String?(fromRESP: .null)               // nil
/// let fields = try [String: String](fromRESP: reply)    // from HGETALL's flat array
/// ```
public protocol RESPDecodable {
    init(fromRESP value: RESPValue) throws(RedisError)
}

extension RESPValue: RESPDecodable {
    public init(fromRESP value: RESPValue) { self = value }
}

extension RedisError {
    static func unexpected(_ value: RESPValue, _ expected: String) -> RedisError {
        if case .error(let message) = value { return RedisError(.server, message) }
        return RedisError(.unexpectedReply, "expected \(expected), got \(value.shortDescription)")
    }
}

extension RESPValue {
    /// The kind of value, for error messages (never the payload, which may be large or secret).
    var shortDescription: String {
        switch self {
        case .simpleString: "a simple string"
        case .error(let message): "error \(message)"
        case .integer(let value): "integer \(value)"
        case .bulkString(let bytes): "a bulk string of \(bytes.readableBytes) bytes"
        case .array(let values): "an array of \(values.count)"
        case .null: "nil"
        case .map(let pairs): "a map of \(pairs.count)"
        case .set(let values): "a set of \(values.count)"
        case .double: "a double"
        case .bigNumber: "a big number"
        case .boolean(let value): "boolean \(value)"
        case .verbatimString(let format, let text): "a verbatim \(format) string of \(text.readableBytes) bytes"
        case .attribute(_, let value): value.shortDescription
        case .push(let values): "a push of \(values.count)"
        }
    }
}

extension String: RESPDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        let value = value.withoutAttributes
        switch value {
        case .simpleString(let text): self = text
        case .bulkString(let bytes), .verbatimString(_, let bytes): self = bytes.string
        case .bigNumber(let digits): self = digits
        case .double(let number): self = RedisArgument(number).bytes.string
        default: throw .unexpected(value, "a string")
        }
    }
}

extension ByteBuffer: RESPDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        let value = value.withoutAttributes
        switch value {
        case .bulkString(let bytes), .verbatimString(_, let bytes): self = bytes
        case .simpleString(let text): self = ByteBuffer(text)
        default: throw .unexpected(value, "a bulk string")
        }
    }
}

extension Int: RESPDecodable {
    /// An integer reply, or a bulk string holding one (`HGET` of a counter).
    public init(fromRESP value: RESPValue) throws(RedisError) {
        let value = value.withoutAttributes
        switch value {
        case .integer(let number): self = number
        case .boolean(let flag): self = flag ? 1 : 0
        case .bulkString(let bytes):
            guard let number = Int(bytes.string) else { throw .unexpected(value, "an integer") }
            self = number
        default: throw .unexpected(value, "an integer")
        }
    }
}

extension Double: RESPDecodable {
    /// A bulk string holding a number (`ZSCORE`, `INCRBYFLOAT`), or an integer.
    public init(fromRESP value: RESPValue) throws(RedisError) {
        let value = value.withoutAttributes
        switch value {
        case .integer(let number): self = Double(number)
        case .double(let number): self = number
        case .bulkString(let bytes):
            guard let number = Double(bytes.string) else { throw .unexpected(value, "a number") }
            self = number
        default: throw .unexpected(value, "a number")
        }
    }
}

extension Bool: RESPDecodable {
    /// `:1`/`:0` (`EXISTS`, `SISMEMBER`, `EXPIRE`), RESP3's `#t`/`#f`, `+OK` (true) and nil (false: a `SET NX` that did not set).
    public init(fromRESP value: RESPValue) throws(RedisError) {
        let value = value.withoutAttributes
        switch value {
        case .integer(let number): self = number != 0
        case .boolean(let flag): self = flag
        case .simpleString: self = true
        case .null: self = false
        default: throw .unexpected(value, "a yes or no")
        }
    }
}

extension Optional: RESPDecodable where Wrapped: RESPDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        if case .null = value.withoutAttributes {
            self = .none
        } else {
            self = .some(try Wrapped(fromRESP: value))
        }
    }
}

extension Array: RESPDecodable where Element: RESPDecodable {
    public init(fromRESP value: RESPValue) throws(RedisError) {
        // A RESP3 set or push reads as an array too (`SMEMBERS` answers a set).
        guard let values = value.array else { throw .unexpected(value, "an array") }
        var elements: [Element] = []
        elements.reserveCapacity(values.count)
        for element in values { elements.append(try Element(fromRESP: element)) }
        self = elements
    }
}

extension Dictionary: RESPDecodable where Key == String, Value: RESPDecodable {
    /// A RESP3 map, or RESP2's flat array of field, value, field, value… (`HGETALL`, `CONFIG GET`).
    public init(fromRESP value: RESPValue) throws(RedisError) {
        let value = value.withoutAttributes
        if case .map(let entries) = value {
            var pairs: [String: Value] = [:]
            pairs.reserveCapacity(entries.count)
            for entry in entries { pairs[try String(fromRESP: entry.key)] = try Value(fromRESP: entry.value) }
            self = pairs
            return
        }
        guard case .array(let values) = value, values.count % 2 == 0 else { throw .unexpected(value, "field-value pairs") }
        var pairs: [String: Value] = [:]
        pairs.reserveCapacity(values.count / 2)
        var index = 0
        while index < values.count {
            pairs[try String(fromRESP: values[index])] = try Value(fromRESP: values[index + 1])
            index += 2
        }
        self = pairs
    }
}
