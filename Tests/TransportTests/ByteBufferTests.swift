// ByteBuffer: append at the back, consume from the front, compaction, copy-on-write, writing in place with
// reserveWritable/commitWritten, slices and equality. Pure value tests, no sockets.

import Testing
import WorkermanTransport

@Suite("ByteBuffer")
struct ByteBufferTests {
    @Test func appendAndConsume() {
        var buffer = ByteBuffer()
        #expect(buffer.isEmpty && buffer.readableBytes == 0 && buffer.capacity == 0)
        buffer.append("hello")
        buffer.append(contentsOf: [32, 119])  // " w"
        buffer.append(contentsOf: "orld".utf8)
        buffer.append(UInt8(33))
        #expect(buffer.string == "hello world!")
        #expect(buffer.readableBytes == 12)
        #expect(buffer[0] == UInt8(ascii: "h") && buffer[11] == UInt8(ascii: "!"))
        buffer.consume(6)
        #expect(buffer.string == "world!")
        #expect(buffer[0] == UInt8(ascii: "w"))
        buffer.consume(0)
        #expect(buffer.readableBytes == 6)
        buffer.consume(6)
        #expect(buffer.isEmpty)
        // Consuming everything rewinds to the front: the whole allocation is writable again.
        #expect(buffer.writableBytes == buffer.capacity)
    }

    @Test func initialisers() {
        #expect(ByteBuffer("abc").bytes == [97, 98, 99])
        #expect(ByteBuffer([1, 2, 3] as [UInt8]).bytes == [1, 2, 3])
        // A sequence without contiguous storage takes the byte-by-byte path.
        #expect(ByteBuffer(UInt8(1)...UInt8(4)).bytes == [1, 2, 3, 4])
        let literal: ByteBuffer = "xyz"
        #expect(literal.string == "xyz")
        #expect(ByteBuffer(capacity: 100).capacity >= 100)
        #expect(ByteBuffer(capacity: 0).capacity == 0)
        let raw: [UInt8] = [9, 8, 7]
        #expect(raw.withUnsafeBytes { ByteBuffer($0) }.bytes == [9, 8, 7])
        #expect(ByteBuffer("").isEmpty)
    }

    @Test func growsByDoublingAndKeepsContent() {
        var buffer = ByteBuffer()
        let bytes = pattern(10_000)
        for chunk in stride(from: 0, to: bytes.count, by: 333) {
            buffer.append(contentsOf: bytes[chunk..<min(chunk + 333, bytes.count)])
        }
        #expect(buffer.bytes == bytes)
        #expect(buffer.capacity >= 10_000 && buffer.capacity < 20_000 * 2)
    }

    @Test func compactionReusesTheConsumedFront() {
        var buffer = ByteBuffer(capacity: 64)
        let capacity = buffer.capacity
        buffer.append(contentsOf: pattern(60))
        buffer.consume(50)
        // 10 readable + 40 new fit in 64 once the consumed 50 are reclaimed: no new allocation.
        buffer.append(contentsOf: pattern(40, seed: 3))
        #expect(buffer.capacity == capacity)
        #expect(buffer.bytes == Array(pattern(60)[50...]) + pattern(40, seed: 3))
        // More than fits even after compaction: a larger allocation holding only the readable bytes.
        buffer.append(contentsOf: pattern(100, seed: 5))
        #expect(buffer.capacity > capacity)
        #expect(buffer.bytes == Array(pattern(60)[50...]) + pattern(40, seed: 3) + pattern(100, seed: 5))
    }

    @Test func copyOnWrite() {
        let original = ByteBuffer("abc")
        var copy = original
        copy.append("d")
        #expect(original.string == "abc")
        #expect(copy.string == "abcd")

        var consumer = original
        consumer.consume(1)
        #expect(original.string == "abc" && consumer.string == "bc")

        // Writing in place into a shared buffer with room to spare must not touch the other copy.
        var roomy = ByteBuffer(capacity: 256)
        roomy.append("12345")
        let snapshot = roomy
        let target = roomy.reserveWritable(3)
        target.storeBytes(of: UInt8(ascii: "x"), toByteOffset: 0, as: UInt8.self)
        target.storeBytes(of: UInt8(ascii: "y"), toByteOffset: 1, as: UInt8.self)
        target.storeBytes(of: UInt8(ascii: "z"), toByteOffset: 2, as: UInt8.self)
        roomy.commitWritten(3)
        #expect(roomy.string == "12345xyz")
        #expect(snapshot.string == "12345")

        // Compaction of a shared buffer must copy, not slide the other copy's bytes.
        var slider = ByteBuffer(capacity: 64)
        slider.append(contentsOf: pattern(60))
        slider.consume(50)
        let kept = slider
        slider.append(contentsOf: pattern(40, seed: 1))
        #expect(kept.bytes == Array(pattern(60)[50...]))
        #expect(slider.bytes == Array(pattern(60)[50...]) + pattern(40, seed: 1))
    }

    @Test func reserveWritableAndCommitWritten() {
        var buffer = ByteBuffer("head:")
        let target = buffer.reserveWritable(1000)
        #expect(buffer.writableBytes >= 1000)
        for index in 0..<1000 { target.storeBytes(of: UInt8(index % 256), toByteOffset: index, as: UInt8.self) }
        buffer.commitWritten(600)  // a read(2) that returned fewer bytes than asked for
        #expect(buffer.readableBytes == 5 + 600)
        #expect(buffer.slice(from: 0, count: 5).string == "head:")
        #expect(buffer.slice(from: 5, count: 600).bytes == (0..<600).map { UInt8($0 % 256) })
        buffer.commitWritten(0)
        #expect(buffer.readableBytes == 605)
    }

    @Test func sliceCopiesARange() {
        var buffer = ByteBuffer("0123456789")
        buffer.consume(2)
        let slice = buffer.slice(from: 3, count: 4)
        #expect(slice.string == "5678")
        #expect(buffer.slice(from: 0, count: 0).isEmpty)
        #expect(buffer.slice(from: 0, count: 8).string == "23456789")
        buffer.append("!")
        #expect(slice.string == "5678")
    }

    @Test func equalityComparesReadableBytesOnly() {
        var consumed = ByteBuffer("xxabc")
        consumed.consume(2)
        var roomy = ByteBuffer(capacity: 1024)
        roomy.append("abc")
        #expect(consumed == ByteBuffer("abc"))
        #expect(roomy == consumed)
        #expect(ByteBuffer("abc") != ByteBuffer("abd"))
        #expect(ByteBuffer("abc") != ByteBuffer("ab"))
        #expect(ByteBuffer() == ByteBuffer(capacity: 64))
        var emptied = ByteBuffer("z")
        emptied.consume(1)
        #expect(emptied == ByteBuffer())
    }

    @Test func clearKeepsTheAllocationAndReleaseDropsIt() {
        var buffer = ByteBuffer(contentsOfPattern: 500)
        let capacity = buffer.capacity
        buffer.clear()
        #expect(buffer.isEmpty && buffer.capacity == capacity)
        buffer.append("again")
        #expect(buffer.string == "again")
        buffer.release()
        #expect(buffer.isEmpty && buffer.capacity == 0)
        buffer.append("fresh")
        #expect(buffer.string == "fresh")
    }

    @Test func withReadableBytesOnAnEmptyBuffer() {
        let empty = ByteBuffer()
        #expect(empty.withReadableBytes { $0.count } == 0)
        #expect(empty.bytes.isEmpty && empty.string.isEmpty)
    }

    @Test func descriptionShowsAPrefix() {
        #expect(ByteBuffer("hi").description == "ByteBuffer(2 bytes: \"hi\")")
        let long = ByteBuffer(String(repeating: "a", count: 100))
        #expect(long.description.hasPrefix("ByteBuffer(100 bytes: \"aaaa"))
        #expect(long.description.hasSuffix("…)"))
    }

    @Test func invalidUTF8IsRepaired() {
        #expect(ByteBuffer([0x61, 0xFF, 0x62] as [UInt8]).string == "a\u{FFFD}b")
    }
}

extension ByteBuffer {
    init(contentsOfPattern count: Int) {
        self.init(pattern(count))
    }
}
