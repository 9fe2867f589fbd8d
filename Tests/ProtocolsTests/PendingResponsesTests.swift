// The queue of requests waiting for their responses: order, the packed and spilled halves, and giving up
// the newest request (a WebSocket upgrade pipelined behind unanswered requests).

import Testing

@testable import WorkermanProtocols

@Suite("PendingResponses")
struct PendingResponsesTests {
    static func entries(_ count: Int) -> [PendingResponses.Entry] {
        (0..<count).map { PendingResponses.Entry(keepAlive: true, isHead: $0 % 2 == 1, isHTTP10: $0 % 3 == 0) }
    }

    @Test("entries come out oldest first, inline and spilled", arguments: [1, 3, 16, 17, 40])
    func order(count: Int) {
        var queue = PendingResponses()
        for entry in Self.entries(count) { queue.push(entry) }
        #expect(queue.count == count)
        var popped: [PendingResponses.Entry] = []
        while let entry = queue.pop() { popped.append(entry) }
        #expect(popped == Self.entries(count))
        #expect(queue.isEmpty)
    }

    @Test("abandonNewest drops the newest and makes the one before it close", arguments: [1, 2, 3, 16, 17, 18, 40])
    func abandonNewest(count: Int) {
        var queue = PendingResponses()
        for entry in Self.entries(count) { queue.push(entry) }
        queue.abandonNewest()
        #expect(queue.count == count - 1)
        var expected = Array(Self.entries(count).dropLast())
        if !expected.isEmpty { expected[expected.count - 1].keepAlive = false }
        var popped: [PendingResponses.Entry] = []
        while let entry = queue.pop() { popped.append(entry) }
        #expect(popped == expected)
    }
}
