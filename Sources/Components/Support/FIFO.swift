/// A first-in first-out queue over an array with a moving head: O(1) amortised push and pop, no
/// per-element allocation. Holds a Channel queue's messages, requests awaiting replies, publishes made
/// while disconnected.
struct FIFO<Element> {
    private var storage: [Element?] = []
    private var head = 0

    init() {}

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }
    var first: Element? { isEmpty ? nil : storage[head] }

    mutating func push(_ element: Element) { storage.append(element) }

    /// Puts `element` back at the front (a message a consumer could not take).
    mutating func pushFront(_ element: Element) {
        if head > 0 {
            head -= 1
            storage[head] = element
        } else {
            storage.insert(element, at: 0)
        }
    }

    mutating func pop() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 4096)
            head = 0
        } else if head >= 1024 && head * 2 >= storage.count {
            // Reclaim the consumed front once it is at least half the array: amortised O(1).
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Removes and returns everything, oldest first.
    mutating func removeAll() -> [Element] {
        let all = storage[head...].compactMap { $0 }
        storage.removeAll()
        head = 0
        return all
    }
}

extension FIFO: Sequence {
    func makeIterator() -> AnyIterator<Element> {
        var index = head
        let storage = self.storage
        return AnyIterator {
            guard index < storage.count else { return nil }
            defer { index += 1 }
            return storage[index]
        }
    }
}
