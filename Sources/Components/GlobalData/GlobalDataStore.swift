import WorkermanTransport

/// The GlobalData server's state and command handling, without sockets: one request body in, one
/// outcome out. The rules are walkor/GlobalData's (see the table in the reference, §6.1), so PHP clients
/// see the same answers from us as from the PHP server.
package struct GlobalDataStore {
    /// What to do with a request.
    package enum Outcome: Equatable {
        /// Nothing to answer (a `ping`).
        case ignore
        /// Send this serialized reply.
        case reply(ByteBuffer)
        /// Send this serialized error, then close the connection; `reason` is for the log.
        case reject(ByteBuffer, reason: String)
    }

    /// The shared variables. A stored null is no value, as PHP's `isset` sees it.
    package private(set) var values: [PHPKey: PHPValue] = [:]

    package init() {}

    package mutating func handle(_ body: ByteBuffer) -> Outcome {
        if body == "ping" { return .ignore }
        let request: PHPValue
        do {
            request = try PHPValue(unserializing: body)
        } catch {
            return Self.reject("bad request", reason: "\(error)")
        }
        guard let command = request["cmd"], command != .null, let keyValue = request["key"], keyValue != .null else {
            return Self.reject("bad request", reason: "no cmd or no key in \(request)")
        }
        guard case .string(let commandBytes) = command else {
            return Self.reject("bad request", reason: "cmd is \(command), not a string")
        }
        let key: PHPKey
        switch keyValue {
        case .int(let index): key = .int(index)
        case .string(let bytes): key = PHPKey(bytes: bytes)
        default: return Self.reject("bad request", reason: "key is \(keyValue), not a string or an int")
        }
        let name = String(decoding: commandBytes, as: UTF8.self)
        switch name {
        case "get":
            return .reply(Self.serialize(values[key] ?? .null))
        case "set":
            store(request["value"] ?? .null, at: key)
            return .reply(Self.yes)
        case "add":
            if values[key] != nil { return .reply(Self.no) }
            store(request["value"] ?? .null, at: key)
            return .reply(Self.yes)
        case "increment":
            guard let current = values[key] else { return .reply(Self.no) }
            guard let step = (request["step"] ?? .int(0)).numericValue else {
                return Self.reject("bad request", reason: "increment step \(request["step"] ?? .null) is not a number")
            }
            let sum = Self.add(current.numericValue ?? .int(0), step)
            values[key] = sum
            return .reply(Self.serialize(sum))
        case "cas":
            guard let expected = request["md5"]?.bytesValue else {
                return Self.reject("bad request", reason: "cas without an md5 string")
            }
            let current = values[key] ?? .null
            guard Array(MD5.hex(current.serialized()).utf8) == expected else { return .reply(Self.no) }
            store(request["value"] ?? .null, at: key)
            return .reply(Self.yes)
        case "delete":
            values[key] = nil
            return .reply(Self.yes)
        default:
            return Self.reject("bad cmd \(name)", reason: "unknown command \(name.debugDescription)")
        }
    }

    private mutating func store(_ value: PHPValue, at key: PHPKey) {
        values[key] = value == .null ? nil : value
    }

    /// PHP's `+` on two numbers: int + int stays an int unless it overflows (then, as in PHP, a float).
    static func add(_ left: PHPValue, _ right: PHPValue) -> PHPValue {
        if case .int(let a) = left, case .int(let b) = right {
            let (sum, overflow) = a.addingReportingOverflow(b)
            return overflow ? .double(Double(a) + Double(b)) : .int(sum)
        }
        return .double((left.doubleValue ?? 0) + (right.doubleValue ?? 0))
    }

    private static let yes = serialize(.bool(true))
    private static let no = serialize(.bool(false))

    private static func serialize(_ value: PHPValue) -> ByteBuffer {
        var buffer = ByteBuffer()
        value.serialize(into: &buffer)
        return buffer
    }

    private static func reject(_ message: String, reason: String) -> Outcome {
        .reject(serialize(PHPValue(message)), reason: reason)
    }
}
