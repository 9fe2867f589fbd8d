import Testing
import WorkermanProtocols
import WorkermanTestSupport
import WorkermanTransport

/// The verifier itself: it must catch a codec whose output depends on how reads are split, and codecs
/// that break the contract.
@Suite("CodecVerifier")
struct CodecVerifierTests {
    /// Answers `consumed(0)`: would spin a connection forever.
    struct StuckCodec: Codec {
        init() {}
        mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
            .consumed(length: 0)
        }
        mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection)
            -> Int?
        { nil }
        mutating func encode(_ message: Int, into buffer: inout ByteBuffer, _ context: inout CodecContext) {}
    }

    /// Waits forever: buffers without bound.
    struct HoardingCodec: Codec {
        init() {}
        mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
            .needMore
        }
        mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection)
            -> Int?
        { nil }
        mutating func encode(_ message: Int, into buffer: inout ByteBuffer, _ context: inout CodecContext) {}
    }

    @Test("a codec framed by read boundaries (raw TCP) is caught")
    func detectsSplitDependence() {
        #expect(throws: CodecVerifierError.self) {
            try CodecVerifier<RawCodec>().verify(bytes("hello world"))
        }
    }

    @Test("contract violations end the run with a clear reason")
    func contractViolation() {
        let run = CodecVerifier<StuckCodec>().run(bytes("x"), split: .whole)
        #expect(run.closeReason == .contractViolation("consumed 0 of 1 bytes"))
    }

    @Test("a codec that buffers past maxPackageSize is closed")
    func overBuffering() {
        let run = CodecVerifier<HoardingCodec>(maxPackageSize: 8).run(
            Array(repeating: 1, count: 20),
            split: .chunks(of: 3)
        )
        #expect(run.closeReason == .overLimit("9 bytes buffered on needMore"))
    }

    @Test("every split covers the stream exactly once", arguments: CodecVerifier<RawCodec>.standardSplits)
    func splitsCoverTheStream(split: ReadSplit) {
        let input = Array(0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        let run = CodecVerifier<RawCodec>().run(input, split: split)
        #expect(run.messages.flatMap { $0.bytes } == input)
    }

    @Test("seeded splits repeat exactly")
    func seededSplits() {
        var first = SeededGenerator(seed: 7)
        var second = SeededGenerator(seed: 7)
        #expect((0..<10).map { _ in first.next() } == (0..<10).map { _ in second.next() })
    }
}
