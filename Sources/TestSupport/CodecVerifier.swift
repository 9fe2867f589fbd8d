import WorkermanTransport

/// Feeds a codec a byte stream the way a connection does, split into reads in several ways, and checks
/// that every split gives the same messages, the same bytes back and the same close (as NIO's
/// `ByteToMessageDecoderVerifier`). Use it to test your own codecs.
///
/// Each run is a real connection, an `EmbeddedConnection`, fed the stream one read at a time: the same
/// receive loop as on a socket, so what the verifier accepts the server does too. (A length over
/// `maxPackageSize`, or `needMore` with `maxPackageSize` bytes buffered, closes; `.reject` and a
/// throwing `decode` close after the replies the codec queued; `closeRequested` closes after them.)
/// If `respond` is given, each message is answered through `send` at once, as a synchronous
/// `onMessage` would.
///
/// ```swift
/// let verifier = CodecVerifier<TextCodec>()
/// let run = try verifier.verify(Array("hello\r\nworld\n".utf8))
/// #expect(run.messages == ["hello", "world"])
/// #expect(!run.closed)
/// ```
public struct CodecVerifier<C: Codec> {
    public typealias Split = ReadSplit
    public typealias CloseReason = CodecCloseReason

    /// What one split produced.
    public struct Run {
        public var split: Split
        /// The decoded messages, in order.
        public var messages: [C.Message] = []
        /// Everything written to the peer, in order: codec replies and encoded responses.
        public var output = ByteBuffer()
        /// Why the connection closed, or nil if it is still open.
        public var closeReason: CloseReason?
        /// Bytes received but not processed when the run ended.
        public var unprocessedBytes = 0
        /// How many times the codec asked to pause reading.
        public var pauseRequests = 0

        public var closed: Bool { closeReason != nil }

        /// The rejection, if `input` rejected or `decode` threw.
        public var rejection: CodecRejection? {
            switch closeReason {
            case .rejected(let rejection), .decodeFailed(let rejection): rejection
            default: nil
            }
        }

        /// The output as text (for assertions on text protocols).
        public var outputText: String { output.string }
    }

    public var maxPackageSize: Int
    public var makeCodec: () -> C
    public var respond: ((C.Message) -> [C.Outbound])?

    /// - Parameters:
    ///   - maxPackageSize: the connection's `maxPackageSize`.
    ///   - makeCodec: a fresh codec per run (defaults to `C()`).
    ///   - respond: answers for each decoded message, encoded at once; nil sends nothing.
    public init(
        maxPackageSize: Int = 10 * 1024 * 1024,
        makeCodec: @escaping () -> C = { C() },
        respond: ((C.Message) -> [C.Outbound])? = nil
    ) {
        self.maxPackageSize = maxPackageSize
        self.makeCodec = makeCodec
        self.respond = respond
    }

    /// The splits `verify` uses by default: whole, byte by byte, a few fixed sizes and seeded random reads.
    public static var standardSplits: [Split] {
        [.whole, .byteByByte, .chunks(of: 2), .chunks(of: 7), .chunks(of: 64)]
            + (1...4).map { .random(seed: UInt64($0), maxChunk: 16) }
            + [.random(seed: 99, maxChunk: 512)]
    }

    // MARK: - Running

    /// Runs `input` through a fresh codec, cut into reads by `split`.
    public func run(_ input: [UInt8], split: Split) -> Run {
        var run = Run(split: split)
        let embedded: EmbeddedConnection<RecordingCodec<C>>
        do {
            embedded = try EmbeddedConnection(codec: RecordingCodec(makeCodec()), maxPackageSize: maxPackageSize)
        } catch {
            preconditionFailure("CodecVerifier: cannot make an embedded connection: \(error)")
        }
        var messages: [C.Message] = []
        let respond = self.respond
        embedded.connection.onMessage = { connection, message in
            messages.append(message)
            for answer in respond?(message) ?? [] { connection.send(answer) }
        }
        var fed = 0
        for piece in Self.pieces(of: input.count, split: split) {
            guard !embedded.isClosed else { break }
            embedded.receive(Array(input[piece]))
            fed = piece.upperBound
        }
        let record = embedded.connection.codec.record
        run.messages = messages
        run.output = ByteBuffer(embedded.takeOutbound())
        run.closeReason = record.closeReason ?? (embedded.connection.status == .established ? nil : .closeRequested)
        run.unprocessedBytes = fed - record.usedBytes
        run.pauseRequests = record.pauseRequests
        return run
    }

    /// Runs every split and checks that they agree on the messages (compared through `project`), the
    /// output and the close reason. Returns the `.whole` run.
    public func verify<P: Equatable>(
        _ input: [UInt8],
        splits: [Split] = standardSplits,
        project: (C.Message) -> P
    ) throws(CodecVerifierError) -> Run {
        let reference = run(input, split: .whole)
        let expected = reference.messages.map(project)
        for split in splits where split != .whole {
            let other = run(input, split: split)
            let messages = other.messages.map(project)
            if messages != expected {
                throw CodecVerifierError(split: split, detail: "messages differ: \(messages) vs whole: \(expected)")
            }
            if other.output != reference.output {
                throw CodecVerifierError(
                    split: split,
                    detail:
                        "output differs: \(other.output.string.debugDescription) vs whole: \(reference.output.string.debugDescription)"
                )
            }
            if other.closeReason != reference.closeReason {
                throw CodecVerifierError(
                    split: split,
                    detail:
                        "close differs: \(String(describing: other.closeReason)) vs whole: \(String(describing: reference.closeReason))"
                )
            }
        }
        return reference
    }

    /// The read boundaries for `count` bytes.
    static func pieces(of count: Int, split: Split) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start = 0
        var generator: SeededGenerator?
        if case .random(let seed, _) = split { generator = SeededGenerator(seed: seed) }
        while start < count {
            let size: Int
            switch split {
            case .whole: size = count
            case .byteByByte: size = 1
            case .chunks(let chunk): size = max(1, chunk)
            case .random(_, let maxChunk): size = Int.random(in: 1...max(1, maxChunk), using: &generator!)
            }
            let end = min(count, start + size)
            ranges.append(start..<end)
            start = end
        }
        return ranges
    }
}

extension CodecVerifier where C.Message: Equatable {
    /// Runs every split and checks that they agree; returns the `.whole` run.
    public func verify(_ input: [UInt8], splits: [Split] = standardSplits) throws(CodecVerifierError) -> Run {
        try verify(input, splits: splits) { $0 }
    }
}

/// How `CodecVerifier` cuts a stream into reads.
public enum ReadSplit: Hashable, Sendable, CustomStringConvertible {
    /// Everything in one read (several messages per buffer).
    case whole
    /// One byte per read.
    case byteByByte
    /// Reads of `size` bytes.
    case chunks(of: Int)
    /// Reads of 1…`maxChunk` bytes drawn from a generator seeded with `seed`.
    case random(seed: UInt64, maxChunk: Int)

    public var description: String {
        switch self {
        case .whole: "whole"
        case .byteByByte: "byte by byte"
        case .chunks(let size): "chunks of \(size)"
        case .random(let seed, let maxChunk): "random reads ≤ \(maxChunk) (seed \(seed))"
        }
    }
}

/// Why a `CodecVerifier` run's connection closed.
public enum CodecCloseReason: Equatable, Sendable, CustomStringConvertible {
    /// `input` answered `.reject`.
    case rejected(CodecRejection)
    /// `decode` threw.
    case decodeFailed(CodecRejection)
    /// The codec set `closeRequested`.
    case closeRequested
    /// A message longer than `maxPackageSize`, or `maxPackageSize` bytes buffered on `needMore`.
    case overLimit(String)
    /// The codec broke the contract (a zero or oversized `.consumed`, a zero-length message).
    case contractViolation(String)

    public var description: String {
        switch self {
        case .rejected(let rejection): "rejected: \(rejection)"
        case .decodeFailed(let rejection): "decode failed: \(rejection)"
        case .closeRequested: "close requested"
        case .overLimit(let detail): "over limit: \(detail)"
        case .contractViolation(let detail): "contract violation: \(detail)"
        }
    }
}

/// Two splits of the same stream disagreed.
public struct CodecVerifierError: Error, CustomStringConvertible {
    public var split: String
    public var detail: String

    init<S: CustomStringConvertible>(split: S, detail: String) {
        self.split = split.description
        self.detail = detail
    }

    public var description: String { "split '\(split)': \(detail)" }
}
