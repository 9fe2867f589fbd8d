import WorkermanTransport

/// A Redis reply in RESP2: `+OK`, `-ERR …`, `:42`, `$5 hello`, `*2 …`, and the null bulk or array.
///
/// ```swift
/// redis.send(["GET", "counter"]) { reply in
///     if case .success(.bulkString(let bytes)) = reply { print(bytes.string) }
/// }
/// ```
public enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int)
    case bulkString(ByteBuffer)
    case array([RESPValue])
    /// `$-1` or `*-1`: no value (a missing key, a `BLPOP` that timed out).
    case null

    /// The text of a simple or bulk string.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return bytes.string
        default: return nil
        }
    }

    /// The bytes of a bulk string.
    public var bytes: ByteBuffer? {
        if case .bulkString(let bytes) = self { return bytes }
        return nil
    }

    public var integer: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var array: [RESPValue]? {
        if case .array(let values) = self { return values }
        return nil
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
