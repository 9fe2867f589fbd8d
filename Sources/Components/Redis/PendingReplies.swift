/// Who waits for the next reply on a connection, in the order the commands were sent: a single command's
/// callback, or one element of a pipeline (one callback for all of it, told the element's index, so a
/// pipeline of 10,000 commands makes one closure, not 10,000).
enum ReplyWaiter {
    case single((Result<RESPValue, RedisError>) -> Void)
    case element(Int, (Int, Result<RESPValue, RedisError>) -> Void)
    /// A command whose answer nobody reads.
    case ignored

    func deliver(_ result: Result<RESPValue, RedisError>) {
        switch self {
        case .single(let body): body(result)
        case .element(let index, let body): body(index, result)
        case .ignored: break
        }
    }
}

/// A first-in first-out queue with a moving head: O(1) push and pop, storage reused once drained.
struct PendingReplies<Element> {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func push(_ element: Element) { storage.append(element) }

    mutating func pop() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            // Drained: start over in the same storage rather than shifting.
            storage.removeAll(keepingCapacity: storage.count <= 4096)
            head = 0
        } else if head >= 4096, head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Empties the queue, returning what it held in order.
    mutating func drain() -> ArraySlice<Element> {
        let rest = storage[head...]
        storage = []
        head = 0
        return rest
    }
}
