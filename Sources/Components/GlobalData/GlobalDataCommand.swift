import WorkermanTransport

/// One GlobalData request as walkor/GlobalData puts it on the wire: a frame holding
/// `serialize(['cmd' => …, 'key' => …, …])`, fields in the PHP client's order. Shared by the async and
/// the blocking client, so both speak exactly what PHP servers expect.
enum GlobalDataCommand {
    case get(String)
    case set(String, PHPValue)
    case add(String, PHPValue)
    case increment(String, step: PHPValue)
    case cas(String, expected: PHPValue, new: PHPValue)
    case delete(String)

    var key: String {
        switch self {
        case .get(let key), .set(let key, _), .add(let key, _), .increment(let key, _), .cas(let key, _, _),
            .delete(let key):
            return key
        }
    }

    /// The request as a PHP array.
    var request: PHPValue {
        switch self {
        case .get(let key): return ["cmd": "get", "key": PHPValue(key)]
        case .set(let key, let value): return ["cmd": "set", "key": PHPValue(key), "value": value]
        case .add(let key, let value): return ["cmd": "add", "key": PHPValue(key), "value": value]
        case .increment(let key, let step): return ["cmd": "increment", "key": PHPValue(key), "step": step]
        case .cas(let key, let expected, let new):
            // The server compares MD5s of serialized values, so the expected value never travels itself.
            return ["cmd": "cas", "md5": PHPValue(MD5.hex(expected.serialized())), "key": PHPValue(key), "value": new]
        case .delete(let key): return ["cmd": "delete", "key": PHPValue(key)]
        }
    }

    /// The frame body: the serialized request.
    var body: ByteBuffer {
        var buffer = ByteBuffer()
        request.serialize(into: &buffer)
        return buffer
    }

    /// The body of the keep-alive frame the PHP client sends every 25 s; servers ignore it.
    static let ping = "ping"

    /// Picks the server of `key`: `crc32(key) % count`, as PHP's client does, so PHP and Swift clients
    /// of one set of servers agree on where a key lives.
    static func serverIndex(for key: String, count: Int) -> Int {
        Int(CRC32.checksum(key.utf8) % UInt32(count))
    }
}

/// Reads replies into the typed results of the public API.
enum GlobalDataReply {
    /// `b:1;` or `b:0;`.
    static func flag(_ reply: PHPValue, server: String) throws(GlobalDataError) -> Bool {
        if case .bool(let flag) = reply { return flag }
        throw unexpected(reply, server: server, expecting: "a bool")
    }

    /// `b:1;` (set, delete).
    static func done(_ reply: PHPValue, server: String) throws(GlobalDataError) {
        guard reply == .bool(true) else { throw unexpected(reply, server: server, expecting: "true") }
    }

    /// The new value, or `b:0;` when the key does not exist.
    static func incremented(_ reply: PHPValue, server: String) throws(GlobalDataError) -> PHPValue? {
        switch reply {
        case .bool(false): return nil
        case .int, .double: return reply
        default: throw unexpected(reply, server: server, expecting: "a number or false")
        }
    }

    private static func unexpected(_ reply: PHPValue, server: String, expecting: String) -> GlobalDataError {
        if case .string = reply {
            // PHP servers answer a request they cannot read with a serialized string, then close.
            return GlobalDataError(.rejected, server: server, "server answered \(reply)")
        }
        return GlobalDataError(.badReply, server: server, "expected \(expecting), got \(reply)")
    }

    /// Parses a reply frame body.
    static func parse(_ body: ByteBuffer, server: String) throws(GlobalDataError) -> PHPValue {
        do {
            return try PHPValue(unserializing: body)
        } catch {
            throw GlobalDataError(.badReply, server: server, "\(error)")
        }
    }
}
