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

    @Test("a codec that buffers past maxPackageSize and its framing allowance is closed")
    func overBuffering() {
        let limit = 8 + Connection.framingAllowance
        let run = CodecVerifier<HoardingCodec>(maxPackageSize: 8).run(
            Array(repeating: 1, count: limit + 100),
            split: .chunks(of: 1000)
        )
        guard case .overLimit(let detail) = run.closeReason else {
            Issue.record("expected an over-limit close, got \(String(describing: run.closeReason))")
            return
        }
        #expect(detail.hasSuffix("bytes buffered on needMore"))
        #expect(run.unprocessedBytes > limit, "closed once past the allowance, not before")
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
