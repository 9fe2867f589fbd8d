/// Answers kept until their TTL runs out, at most `capacity` of them. Every entry also sits in a min-heap
/// by expiry, so making room costs O(log n) per insert: expired entries leave from the heap's top as
/// inserts pass them, and a full cache of live answers drops the one closest to expiry. Nothing ever
/// walks or sorts the whole cache on the loop (a 10,000-entry sort there was a visible stall).
package struct DNSCache {
    /// A name (lower-cased, no trailing dot) and a record type: no string is built per lookup.
    package struct Key: Hashable {
        let name: String
        let type: UInt16

        package init(name: String, type: UInt16) {
            self.name = name
            self.type = type
        }
    }

    package struct Entry {
        package var addresses: [String]
        /// Loop-clock nanoseconds after which the entry is stale.
        package var expiry: UInt64
        /// A cached NXDOMAIN or no-data answer.
        package var negative: DNSError?

        package init(addresses: [String], expiry: UInt64, negative: DNSError?) {
            self.addresses = addresses
            self.expiry = expiry
            self.negative = negative
        }
    }

    /// A heap node; it is stale (skipped when it surfaces) once its key holds a newer expiry or is gone.
    private struct Node {
        let expiry: UInt64
        let key: Key
    }

    package let capacity: Int
    package private(set) var entries: [Key: Entry] = [:]
    private var heap: [Node] = []
    /// The most heap nodes one `store` removed (a bound the tests check: no sweep of the whole cache).
    package private(set) var largestSweep = 0

    package init(capacity: Int) {
        self.capacity = max(0, capacity)
        entries.reserveCapacity(min(self.capacity, 1 << 16))
    }

    package func lookup(_ key: Key, now: UInt64) -> Entry? {
        guard let entry = entries[key], entry.expiry > now else { return nil }
        return entry
    }

    package mutating func store(_ key: Key, _ entry: Entry, now: UInt64) {
        guard capacity > 0, entry.expiry > now else { return }
        var removed = 0
        // Expired tops go first, at most a few per insert so one call never turns into a sweep; what
        // is left goes on later inserts (an expired entry is never served: `lookup` checks the time).
        while removed < 8, let top = heap.first, top.expiry <= now {
            popTop()
            removed += 1
        }
        if entries[key] == nil {
            while entries.count >= capacity, !heap.isEmpty {
                popTop()
                removed += 1
            }
        }
        entries[key] = entry
        push(Node(expiry: entry.expiry, key: key))
        // Replaced entries leave stale nodes: when they outnumber the live ones, rebuild (O(n) once per
        // n replacements, so O(1) per insert).
        if heap.count > 2 * entries.count + 64 { rebuild() }
        largestSweep = max(largestSweep, removed)
    }

    /// Removes the top node, and its entry if the node is that entry's current one.
    private mutating func popTop() {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        if entries[top.key]?.expiry == top.expiry { entries[top.key] = nil }
    }

    private mutating func push(_ node: Node) {
        heap.append(node)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].expiry < heap[parent].expiry else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            let smaller = right < heap.count && heap[right].expiry < heap[left].expiry ? right : left
            guard heap[smaller].expiry < heap[parent].expiry else { return }
            heap.swapAt(smaller, parent)
            parent = smaller
        }
    }

    private mutating func rebuild() {
        heap = entries.map { Node(expiry: $0.value.expiry, key: $0.key) }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }
}
