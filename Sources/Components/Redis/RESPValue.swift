import WorkermanTransport

/// A Redis reply: the RESP2 types (`+OK`, `-ERR …`, `:42`, `$5 hello`, `*2 …`, the null bulk or array) and,
/// on a connection that negotiated RESP3 (`RedisConfiguration.protocolVersion = .resp3`), the RESP3 types
/// as well: maps, sets, doubles, big numbers, booleans, verbatim strings, attributes and pushes.
///
/// ```swift
/// redis.send(["HGETALL", "user:1"]) { reply in
///     switch try? reply.get() {
///     case .map(let pairs)?: for pair in pairs { print(pair.key.string ?? "", pair.value.string ?? "") }
///     case .array(let flat)?: print(flat.count / 2, "fields (RESP2)")
///     default: break
///     }
/// }
/// ```
public indirect enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    /// `-ERR …`, or RESP3's blob error (`!<length>`).
    case error(String)
    case integer(Int)
    case bulkString(ByteBuffer)
    case array([RESPValue])
    /// `$-1`, `*-1` or RESP3's `_`: no value (a missing key, a `BLPOP` that timed out).
    case null
    /// RESP3 `%`: key-value pairs in the server's order (`HGETALL`, `HELLO`, `CONFIG GET`).
    case map([RESPPair])
    /// RESP3 `~`: an unordered collection (`SMEMBERS`, `SINTER`).
    case set([RESPValue])
    /// RESP3 `,`: a floating-point number (`ZSCORE`, `INCRBYFLOAT`), `inf`, `-inf` or `nan`.
    case double(Double)
    /// RESP3 `(`: an integer beyond 64 bits, as its decimal digits (with a leading `-` if negative).
    case bigNumber(String)
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `=`: text with a three-letter format (`txt`, `mkd`), as `INFO` or `LATENCY DOCTOR` send it.
    case verbatimString(format: String, text: ByteBuffer)
    /// RESP3 `|`: extra information about the reply that follows it (key popularity, say); `value` is
    /// the reply itself. `RESPDecodable` types read through it to `value`.
    case attribute([RESPPair], value: RESPValue)
    /// RESP3 `>`: data the server sends on its own, outside the command/reply order (pub/sub messages,
    /// client-side caching invalidations). A client never matches one to a command.
    case push([RESPValue])

    /// The text of a simple, bulk or verbatim string (or the digits of a big number).
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return bytes.string
        case .verbatimString(_, let text): return text.string
        case .bigNumber(let digits): return digits
        case .attribute(_, let value): return value.string
        default: return nil
        }
    }

    /// The bytes of a bulk (or verbatim) string.
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .verbatimString(_, let text): return text
        case .attribute(_, let value): return value.bytes
        default: return nil
        }
    }

    public var integer: Int? {
        switch self {
        case .integer(let value): return value
        case .attribute(_, let value): return value.integer
        default: return nil
        }
    }

    /// The elements of an array, a set or a push.
    public var array: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): return values
        case .attribute(_, let value): return value.array
        default: return nil
        }
    }

    /// The value without the attributes that came before it.
    public var withoutAttributes: RESPValue {
        if case .attribute(_, let value) = self { return value.withoutAttributes }
        return self
    }
}

extension RESPValue {
    /// Structural equality, except that two `.double(.nan)` are equal (the same reply read twice compares
    /// equal, which a reply-matching test and the codec verifier rely on).
    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)), (.error(let a), .error(let b)), (.bigNumber(let a), .bigNumber(let b)):
            return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulkString(let a), .bulkString(let b)): return a == b
        case (.array(let a), .array(let b)), (.set(let a), .set(let b)), (.push(let a), .push(let b)): return a == b
        case (.null, .null): return true
        case (.map(let a), .map(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.verbatimString(let f1, let t1), .verbatimString(let f2, let t2)): return f1 == f2 && t1 == t2
        case (.attribute(let a1, let v1), .attribute(let a2, let v2)): return a1 == a2 && v1 == v2
        default: return false
        }
    }
}

/// One key-value pair of a RESP3 map or attribute (keys may be any value, so not a dictionary).
public struct RESPPair: Equatable, Sendable {
    public var key: RESPValue
    public var value: RESPValue

    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

/// A Redis command: its name and arguments, sent as an array of bulk strings (binary-safe).
///
/// ```swift
/// let command: RedisCommand = ["PUBLISH", "news", "hello"]
/// let binary = RedisCommand("RPUSH", "jobs", ByteBuffer(payload))
/// ```
public struct RedisCommand: Sendable, ExpressibleByArrayLiteral, CustomStringConvertible {
    public var arguments: [ByteBuffer]

    public init(_ arguments: [ByteBuffer]) { self.arguments = arguments }

    public init(_ name: String, _ arguments: RedisArgument...) {
        self.arguments = [ByteBuffer(name)] + arguments.map(\.bytes)
    }

    public init(arrayLiteral elements: String...) { arguments = elements.map { ByteBuffer($0) } }

    /// The command's name, upper-cased.
    public var name: String { arguments.first?.string.uppercased() ?? "" }

    public var description: String { arguments.map(\.string).joined(separator: " ") }
}

/// What can be a command argument: text, bytes, integers.
public struct RedisArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public let bytes: ByteBuffer

    public init(_ text: String) { bytes = ByteBuffer(text) }
    public init(_ bytes: ByteBuffer) { self.bytes = bytes }
    public init(_ bytes: [UInt8]) { self.bytes = ByteBuffer(bytes) }
    public init(_ number: Int) { bytes = ByteBuffer(String(number)) }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}

extension RedisCommand {
    /// A command from its name and a list of arguments (for helpers with a variable number of them).
    public init(_ name: String, arguments: [RedisArgument]) {
        var all = [ByteBuffer(name)]
        all.reserveCapacity(arguments.count + 1)
        for argument in arguments { all.append(argument.bytes) }
        self.init(all)
    }
}

/// What the typed helpers take as a value: text, bytes or numbers, sent as Redis' bulk strings.
///
/// ```swift
/// redis.set("ratio", to: 0.75)
/// redis.set("blob", to: ByteBuffer([0, 1, 2]))
/// ```
public protocol RedisArgumentConvertible {
    var redisArgument: RedisArgument { get }
}

extension RedisArgument: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { self }
    /// A number as Redis reads it (`ZADD` scores, `INCRBYFLOAT`): shortest exact decimal, `inf`, `-inf`.
    public init(_ number: Double) {
        if number == .infinity {
            self.init("+inf")
        } else if number == -.infinity {
            self.init("-inf")
        } else {
            self.init("\(number)")
        }
    }
}

extension String: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Int: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension Double: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}

extension ByteBuffer: RedisArgumentConvertible {
    public var redisArgument: RedisArgument { RedisArgument(self) }
}
