import WorkermanTransport

/// One queue of the Channel server's queue mode (walkor/Channel's `Queue`): messages wait in order;
/// connections that `watch` it may `reserve`, which makes them consumers ready for one message each.
/// Each message goes to exactly one consumer, which must reserve again for the next.
struct ChannelQueue {
    /// The channel name as the first client gave it, echoed in every delivery.
    let name: PHPValue
    /// The serialized `data` of each waiting message, as its producer sent it.
    private(set) var messages = FIFO<ByteBuffer>()
    private(set) var watchers: Set<Int> = []
    /// Ready consumers, longest waiting first.
    private var consumers: [Int] = []

    init(name: PHPValue) { self.name = name }

    var isEmpty: Bool { watchers.isEmpty && messages.isEmpty }
    var consumerCount: Int { consumers.count }

    mutating func addWatcher(_ id: Int) { watchers.insert(id) }

    mutating func removeWatcher(_ id: Int) {
        watchers.remove(id)
        consumers.removeAll { $0 == id }
    }

    /// A watcher is ready for one message (reserving twice before it gets one changes nothing).
    mutating func addConsumer(_ id: Int, send: (Int, ByteBuffer) -> Void) {
        guard watchers.contains(id), !consumers.contains(id) else { return }
        consumers.append(id)
        dispatch(send: send)
    }

    mutating func enqueue(_ data: ByteBuffer, send: (Int, ByteBuffer) -> Void) {
        messages.push(data)
        dispatch(send: send)
    }

    /// Hands waiting messages to ready consumers, one each.
    private mutating func dispatch(send: (Int, ByteBuffer) -> Void) {
        while !consumers.isEmpty, let data = messages.pop() {
            let consumer = consumers.removeFirst()
            let message = data.withReadableBytes { ChannelServerMessage.make(type: "queue", channel: name, data: $0) }
            send(consumer, message)
        }
    }
}
