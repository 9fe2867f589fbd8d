// SendQueue with a scripted write call instead of a socket (NIO's PendingWritesManager tests): partial
// writes, EAGAIN, errors, coalescing of small sends, large buffers queued by reference, prepend, the
// 64-vector limit of one writev, and memory given back once drained.

import Testing
@testable import WorkermanTransport
import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Plays the kernel's part of `writev`: each call takes what the script says and records what it was offered.
final class ScriptedWriter {
    enum Step {
        /// Take at most this many bytes (0 is a zero-byte write).
        case take(Int)
        case wouldBlock
        case fail(Errno)
    }

    var script: [Step]
    /// Bytes taken, in order.
    private(set) var written: [UInt8] = []
    /// For each call: the length of every vector offered.
    private(set) var offered: [[Int]] = []
    /// For each call: the first vector's base address.
    private(set) var firstBases: [UnsafeRawPointer?] = []

    init(_ script: [Step] = []) { self.script = script }

    func write(_ vectors: UnsafePointer<iovec>, _ count: Int) throws(Errno) -> IOResult<Int> {
        let lengths = (0..<count).map { vectors[$0].iov_len }
        offered.append(lengths)
        firstBases.append(count > 0 ? UnsafeRawPointer(vectors[0].iov_base) : nil)
        let step = script.isEmpty ? .take(Int.max) : script.removeFirst()
        switch step {
        case .wouldBlock:
            return .wouldBlock
        case .fail(let error):
            throw error
        case .take(let limit):
            var taken = 0
            for index in 0..<count where taken < limit {
                let take = min(vectors[index].iov_len, limit - taken)
                let base = UnsafeRawPointer(vectors[index].iov_base!)
                written += UnsafeRawBufferPointer(start: base, count: take)
                taken += take
            }
            return .processed(taken)
        }
    }
}

/// Runs `queue.flush` with `writer`.
func flush(_ queue: inout SendQueue, _ writer: ScriptedWriter) throws(Errno) -> (SendQueue.FlushResult, written: Int) {
    let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: TransportContext.iovecCapacity)
    defer { iovecs.deallocate() }
    return try queue.flush(iovecs: iovecs, capacity: TransportContext.iovecCapacity) {
        (vectors, count) throws(Errno) in try writer.write(vectors, count)
    }
}

@Suite("SendQueue")
struct SendQueueTests {
    @Test func emptyQueueIsDrainedWithoutAWrite() throws {
        var queue = SendQueue()
        let writer = ScriptedWriter()
        let outcome = try flush(&queue, writer)
        #expect(outcome.0 == .drained && outcome.written == 0)
        #expect(writer.offered.isEmpty)
        queue.append(ByteBuffer())
        [UInt8]().withUnsafeBytes { queue.append($0) }
        #expect(queue.isEmpty && queue.count == 0)
    }

    @Test func partialWritesKeepTheRest() throws {
        var queue = SendQueue()
        let bytes = pattern(10_000)
        bytes.withUnsafeBytes { queue.append($0) }
        #expect(queue.count == 10_000)

        let writer = ScriptedWriter([.take(3000), .take(0)])
        var outcome = try flush(&queue, writer)
        #expect(outcome.0 == .pending && outcome.written == 3000)
        #expect(queue.count == 7000)

        writer.script = [.take(2000), .wouldBlock]
        outcome = try flush(&queue, writer)
        #expect(outcome.0 == .pending && outcome.written == 2000)
        #expect(queue.count == 5000)

        outcome = try flush(&queue, writer)
        #expect(outcome.0 == .drained && outcome.written == 5000)
        #expect(queue.isEmpty)
        #expect(same(writer.written, bytes))
    }

    @Test func wouldBlockWritesNothingAndOffersTheSameBytesAgain() throws {
        var queue = SendQueue()
        queue.append(ByteBuffer("abc"))
        let writer = ScriptedWriter([.wouldBlock])
        let outcome = try flush(&queue, writer)
        #expect(outcome.0 == .pending && outcome.written == 0)
        #expect(queue.count == 3)
        _ = try flush(&queue, writer)
        #expect(writer.offered == [[3], [3]])
        #expect(same(writer.written, Array("abc".utf8)))
    }

    @Test func aFailedWriteThrowsAndKeepsTheQueue() throws {
        var queue = SendQueue()
        queue.append(ByteBuffer("abc"))
        let writer = ScriptedWriter([.fail(.brokenPipe)])
        #expect(throws: Errno.brokenPipe) { try flush(&queue, writer) }
        #expect(queue.count == 3)
        queue.removeAll()
        #expect(queue.isEmpty && queue.count == 0)
    }

    @Test func smallSendsAreCoalescedIntoOneVector() throws {
        var queue = SendQueue()
        for index in 0..<100 {
            pattern(10, seed: index).withUnsafeBytes { queue.append($0) }
        }
        for index in 0..<10 { queue.append(ByteBuffer(pattern(100, seed: index))) }
        #expect(queue.count == 2000)
        let writer = ScriptedWriter()
        _ = try flush(&queue, writer)
        #expect(writer.offered == [[2000]])
        let expected = (0..<100).flatMap { pattern(10, seed: $0) } + (0..<10).flatMap { pattern(100, seed: $0) }
        #expect(same(writer.written, expected))
    }

    @Test func coalescingStopsAtTheChunkLimit() throws {
        var queue = SendQueue()
        for index in 0..<3 {
            pattern(10_000, seed: index).withUnsafeBytes { queue.append($0) }
        }
        let writer = ScriptedWriter()
        _ = try flush(&queue, writer)
        #expect(writer.offered == [[10_000, 10_000, 10_000]])
        #expect(same(writer.written, (0..<3).flatMap { pattern(10_000, seed: $0) }))
    }

    @Test func largeBuffersAreQueuedByReference() throws {
        var queue = SendQueue()
        weak var storage: ByteBuffer.Storage?
        let base: UnsafeRawPointer?
        do {
            let big = ByteBuffer(pattern(100_000))
            storage = big.storage
            base = big.withReadableBytes { $0.baseAddress }
            queue.append(big)
        }
        #expect(storage != nil, "the queue holds the caller's storage")
        let writer = ScriptedWriter([.take(1000), .wouldBlock])
        _ = try flush(&queue, writer)
        #expect(writer.firstBases.first == base, "queued without a copy")
        _ = try flush(&queue, writer)
        #expect(writer.firstBases.last == base.map { $0 + 1000 }, "a partial write consumes in place")
        #expect(queue.isEmpty)
        #expect(storage == nil, "a drained queue lets the storage go")
        #expect(same(writer.written, pattern(100_000)))
    }

    @Test func prependGoesAheadOfEverythingQueued() throws {
        var queue = SendQueue()
        queue.append(ByteBuffer("world"))
        ByteBuffer(pattern(20_000)).withReadableBytes { queue.append($0) }
        queue.prepend(ByteBuffer("hello "))
        queue.prepend(ByteBuffer())
        #expect(queue.count == 11 + 20_000)
        let writer = ScriptedWriter()
        _ = try flush(&queue, writer)
        #expect(same(writer.written, Array("hello world".utf8) + pattern(20_000)))
    }

    @Test func moreChunksThanOneWritevTakesNeedSeveralCalls() throws {
        var queue = SendQueue()
        for index in 0..<100 { queue.append(ByteBuffer(pattern(5000, seed: index))) }
        let writer = ScriptedWriter()
        let outcome = try flush(&queue, writer)
        #expect(outcome.0 == .drained && outcome.written == 500_000)
        #expect(writer.offered.map(\.count) == [TransportContext.iovecCapacity, 100 - TransportContext.iovecCapacity])
        #expect(same(writer.written, (0..<100).flatMap { pattern(5000, seed: $0) }))
    }

    @Test func manySmallPartialWritesKeepTheOrder() throws {
        // One chunk and a bit per call: the consumed front of the chunk list is compacted on the way.
        var queue = SendQueue()
        var expected: [UInt8] = []
        for index in 0..<80 {
            let bytes = pattern(5000, seed: index)
            expected += bytes
            queue.append(ByteBuffer(bytes))
        }
        let writer = ScriptedWriter()
        var rounds = 0
        while !queue.isEmpty {
            writer.script = [.take(5003), .wouldBlock]
            let before = queue.count
            let outcome = try flush(&queue, writer)
            #expect(outcome.written == min(5003, before))
            #expect(queue.count == before - outcome.written)
            if rounds == 40 {
                // More arrives while half of it is still queued.
                for index in 80..<90 {
                    let bytes = pattern(5000, seed: index)
                    expected += bytes
                    queue.append(ByteBuffer(bytes))
                }
                Array("tail".utf8).withUnsafeBytes { queue.append($0) }
                expected += Array("tail".utf8)
            }
            rounds += 1
        }
        #expect(same(writer.written, expected))
    }
}
