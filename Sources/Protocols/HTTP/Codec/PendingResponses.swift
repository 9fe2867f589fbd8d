/// The requests decoded but not yet answered, oldest first, with what their response needs to know.
///
/// Why not an array: pipelined requests are answered in order, usually one or a few at a time, and an
/// idle keep-alive connection should cost no heap memory. Up to 16 entries live in one word (four bits
/// each); more spill into an array that exists only while a client pipelines that deep.
struct PendingResponses: Equatable {
    /// What the response to one request depends on.
    struct Entry: Equatable {
        /// The connection stays open after the response.
        var keepAlive: Bool
        /// The request was HEAD: the response has no body.
        var isHead: Bool
        /// The request was HTTP/1.0, which has no chunked transfer coding.
        var isHTTP10: Bool

        init(keepAlive: Bool, isHead: Bool, isHTTP10: Bool = false) {
            self.keepAlive = keepAlive
            self.isHead = isHead
            self.isHTTP10 = isHTTP10
        }

        /// What a response sent with no request waiting (unprompted, or a second answer) assumes.
        static let unprompted = Entry(keepAlive: true, isHead: false)

        fileprivate init(bits: UInt64) {
            keepAlive = bits & 1 != 0
            isHead = bits & 2 != 0
            isHTTP10 = bits & 4 != 0
        }

        fileprivate var bits: UInt64 { (keepAlive ? 1 : 0) | (isHead ? 2 : 0) | (isHTTP10 ? 4 : 0) }
    }

    private static let inlineCapacity = 16
    private var packed: UInt64 = 0
    private var inlineCount = 0
    private var spill: [Entry] = []

    var count: Int { inlineCount + spill.count }
    var isEmpty: Bool { inlineCount == 0 }

    mutating func push(_ entry: Entry) {
        if inlineCount < Self.inlineCapacity {
            packed |= entry.bits << UInt64(4 * inlineCount)
            inlineCount += 1
        } else {
            spill.append(entry)
        }
    }

    /// The oldest entry, left in place.
    var peek: Entry? { inlineCount > 0 ? Entry(bits: packed & 0xF) : nil }

    /// Removes the newest entry (a request that will never be answered: a refused upgrade, see
    /// `HTTPServerCodec.abandonNewestRequest`) and makes the response to the one before it close the
    /// connection.
    mutating func abandonNewest() {
        if !spill.isEmpty {
            spill.removeLast()
        } else if inlineCount > 0 {
            inlineCount -= 1
            packed &= (1 << UInt64(4 * inlineCount)) &- 1
        }
        if !spill.isEmpty {
            spill[spill.count - 1].keepAlive = false
        } else if inlineCount > 0 {
            packed &= ~(1 << UInt64(4 * (inlineCount - 1)))  // bit 0 of the entry: keepAlive
        }
    }

    mutating func pop() -> Entry? {
        guard inlineCount > 0 else { return nil }
        let entry = Entry(bits: packed & 0xF)
        packed >>= 4
        inlineCount -= 1
        if !spill.isEmpty {
            push(spill.removeFirst())
        }
        return entry
    }
}
