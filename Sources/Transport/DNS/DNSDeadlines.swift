import WorkermanEventLoop

/// The resolver's answer deadlines in one queue under one loop timer, instead of a timer added and
/// cancelled per query. Deadlines are "now + timeout" with one timeout, so they arrive in order and the
/// queue is a FIFO: adding is an append, expiry pops from the front. An answered question leaves its
/// entry behind; the entry names the question's serial and try, and one that no longer matches is
/// skipped when it surfaces. (A timeout lowered at run time lets a later entry come due before an
/// earlier one: it fires when its predecessor does, at most the old timeout late.)
struct DNSDeadlines {
    struct Entry {
        let deadline: UInt64
        let serial: Int
        let attempt: Int
    }

    private var queue: [Entry] = []
    private var head = 0

    var isEmpty: Bool { head == queue.count }

    /// The first deadline still queued.
    var earliest: UInt64? { isEmpty ? nil : queue[head].deadline }

    mutating func append(_ entry: Entry) {
        queue.append(entry)
    }

    /// Removes and returns, one at a time, the entries due at `now`.
    mutating func popDue(now: UInt64) -> Entry? {
        guard head < queue.count, queue[head].deadline <= now else { return nil }
        let entry = queue[head]
        head += 1
        if head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= queue.count {
            // Drop the consumed front in one move once it is half the storage: O(1) per entry overall.
            queue.removeFirst(head)
            head = 0
        }
        return entry
    }

    mutating func removeAll() {
        queue.removeAll()
        head = 0
    }
}
