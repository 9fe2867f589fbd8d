import WorkermanTransport

/// What a Channel client sends, as walkor/Channel puts it on the wire: a frame holding
/// `serialize(['type' => …, 'channels' => […], 'data' => …])`, fields in the PHP client's order.
enum ChannelRequest {
    case subscribe([String])
    case unsubscribe([String])
    case publish([String], PHPValue)
    case watch([String])
    case unwatch([String])
    case enqueue([String], PHPValue)
    case reserve

    var value: PHPValue {
        func list(_ names: [String]) -> PHPValue { .array(PHPArray(list: names.map { PHPValue($0) })) }
        switch self {
        case .subscribe(let names): return ["type": "subscribe", "channels": list(names)]
        case .unsubscribe(let names): return ["type": "unsubscribe", "channels": list(names)]
        case .publish(let names, let data): return ["type": "publish", "channels": list(names), "data": data]
        case .watch(let names): return ["type": "watch", "channels": list(names)]
        case .unwatch(let names): return ["type": "unwatch", "channels": list(names)]
        case .enqueue(let names, let data): return ["type": "enqueue", "channels": list(names), "data": data]
        case .reserve: return ["type": "reserve"]
        }
    }

    var body: ByteBuffer {
        var buffer = ByteBuffer()
        value.serialize(into: &buffer)
        return buffer
    }
}

/// What a Channel server sends a client: an event of a subscribed channel, or a job of a watched queue.
enum ChannelDelivery: Equatable {
    case event(channel: String, data: PHPValue)
    case job(channel: String, data: PHPValue)

    /// Parses `serialize(['type' => 'event'|'queue', 'channel' => …, 'data' => …])`, with or without the
    /// `\n` PHP servers append to events.
    init(parsing body: ByteBuffer) throws(ChannelWireError) {
        let message: PHPValue
        do {
            message = try PHPValue(unserializing: body)
        } catch {
            throw ChannelWireError("\(error)")
        }
        guard let type = message["type"]?.stringValue, let channel = message["channel"] else {
            throw ChannelWireError("not a Channel message: \(message)")
        }
        // PHP peers may name channels by int (a worker id); the client keys channels by their text.
        let name: String
        switch channel {
        case .int(let number): name = String(number)
        case .string: name = channel.stringValue ?? ""
        default: throw ChannelWireError("channel name \(channel) is not a string")
        }
        let data = message["data"] ?? .null
        switch type {
        case "event": self = .event(channel: name, data: data)
        case "queue": self = .job(channel: name, data: data)
        default: throw ChannelWireError("unknown message type \(type.debugDescription)")
        }
    }
}

/// A Channel frame that does not say what it should.
struct ChannelWireError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Builds the server's messages around the data bytes exactly as the publisher serialized them, so a
/// publish is parsed once and never serialized again, however many subscribers it reaches.
enum ChannelServerMessage {
    /// `a:3:{s:4:"type";s:5:"event";s:7:"channel";<channel>s:4:"data";<data>}` (+ `\n` for events, as the
    /// PHP server sends).
    static func make(type: String, channel: PHPValue, data: UnsafeRawBufferPointer) -> ByteBuffer {
        var buffer = ByteBuffer(capacity: data.count + 64)
        buffer.append("a:3:{s:4:\"type\";")
        PHPValue(type).serialize(into: &buffer)
        buffer.append("s:7:\"channel\";")
        channel.serialize(into: &buffer)
        buffer.append("s:4:\"data\";")
        buffer.append(data)
        buffer.append(UInt8(ascii: "}"))
        if type == "event" { buffer.append(UInt8(ascii: "\n")) }
        return buffer
    }
}
