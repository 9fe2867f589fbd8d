import WorkermanTransport

/// The Channel server's state and request handling, without sockets (walkor/Channel's `Server`):
/// subscriptions per channel, queues, and what each connection joined, so a closing connection leaves
/// nothing behind. `send` delivers bytes to a connection by id; `handle` never calls anything else.
package struct ChannelBroker {
    package enum Outcome: Equatable {
        case handled
        /// An empty frame: a client's keep-alive.
        case ping
        /// Not a Channel request; the connection should be closed. The reason is for the log.
        case rejected(String)
    }

    private var subscribers: [PHPKey: Set<Int>] = [:]
    private var subscriptions: [Int: Set<PHPKey>] = [:]
    private var queues: [PHPKey: ChannelQueue] = [:]
    private var watching: [Int: [PHPKey]] = [:]

    package init() {}

    /// The broker forwards `data` as bytes: it checks it, but never builds it.
    private static let rawKeys: Set<PHPKey> = ["data"]

    package mutating func handle(_ body: ByteBuffer, from id: Int, send: (Int, ByteBuffer) -> Void) -> Outcome {
        if body.isEmpty { return .ping }
        return body.withReadableBytes { raw in handle(raw, from: id, send: send) }
    }

    private mutating func handle(_ raw: UnsafeRawBufferPointer, from id: Int, send: (Int, ByteBuffer) -> Void) -> Outcome {
        let entries: [(key: PHPKey, value: PHPValue, range: Range<Int>)]
        do {
            var parser = PHPUnserializer(raw, maxDepth: PHPUnserializer.defaultMaxDepth)
            entries = try parser.parseArrayKeepingRanges(rawKeys: Self.rawKeys)
        } catch {
            return .rejected("\(error)")
        }
        func field(_ name: PHPKey) -> (value: PHPValue, range: Range<Int>)? {
            entries.first { $0.key == name }.map { ($0.value, $0.range) }
        }
        guard let type = field("type")?.value.stringValue else { return .rejected("no type") }
        if type == "reserve" {
            reserve(for: id, send: send)
            return .handled
        }
        guard let listed = field("channels")?.value.arrayValue else { return .rejected("\(type) without a channels array") }
        var channels: [(key: PHPKey, name: PHPValue)] = []
        for entry in listed {
            switch entry.value {
            case .int(let number): channels.append((.int(number), entry.value))
            case .string(let bytes): channels.append((PHPKey(bytes: bytes), entry.value))
            default: return .rejected("channel name \(entry.value) is not a string or an int")
            }
        }
        switch type {
        case "subscribe":
            for channel in channels {
                subscribers[channel.key, default: []].insert(id)
                subscriptions[id, default: []].insert(channel.key)
            }
        case "unsubscribe":
            for channel in channels { unsubscribe(id, from: channel.key) }
        case "publish":
            guard let data = field("data") else { return .rejected("publish without data") }
            let bytes = UnsafeRawBufferPointer(rebasing: raw[data.range])
            for channel in channels {
                guard let ids = subscribers[channel.key], !ids.isEmpty else { continue }
                // One message per channel, shared by every subscriber (ByteBuffer is copy-on-write).
                let message = ChannelServerMessage.make(type: "event", channel: channel.name, data: bytes)
                for subscriber in ids { send(subscriber, message) }
            }
        case "watch":
            for channel in channels {
                queues[channel.key, default: ChannelQueue(name: channel.name)].addWatcher(id)
                if !(watching[id]?.contains(channel.key) ?? false) { watching[id, default: []].append(channel.key) }
            }
        case "unwatch":
            for channel in channels { unwatch(id, from: channel.key) }
        case "enqueue":
            guard let data = field("data") else { return .rejected("enqueue without data") }
            let bytes = ByteBuffer(UnsafeRawBufferPointer(rebasing: raw[data.range]))
            for channel in channels {
                queues[channel.key, default: ChannelQueue(name: channel.name)].enqueue(bytes, send: send)
            }
        default:
            return .rejected("unknown type \(type.debugDescription)")
        }
        return .handled
    }

    /// Forgets everything `id` joined (its connection closed).
    package mutating func disconnect(_ id: Int) {
        for channel in subscriptions[id] ?? [] { unsubscribe(id, from: channel) }
        subscriptions[id] = nil
        for channel in watching[id] ?? [] { unwatch(id, from: channel) }
        watching[id] = nil
    }

    private mutating func reserve(for id: Int, send: (Int, ByteBuffer) -> Void) {
        for channel in watching[id] ?? [] {
            queues[channel]?.addConsumer(id, send: send)
        }
    }

    private mutating func unsubscribe(_ id: Int, from channel: PHPKey) {
        subscriptions[id]?.remove(channel)
        subscribers[channel]?.remove(id)
        if subscribers[channel]?.isEmpty ?? false { subscribers[channel] = nil }
    }

    private mutating func unwatch(_ id: Int, from channel: PHPKey) {
        watching[id]?.removeAll { $0 == channel }
        queues[channel]?.removeWatcher(id)
        if queues[channel]?.isEmpty ?? false { queues[channel] = nil }
    }

    // MARK: - Introspection (tests, status)

    package func subscriberCount(_ channel: String) -> Int { subscribers[PHPKey(channel)]?.count ?? 0 }
    package func queuedCount(_ channel: String) -> Int { queues[PHPKey(channel)]?.messages.count ?? 0 }
    package var channelCount: Int { subscribers.count }
    package var queueCount: Int { queues.count }
}
