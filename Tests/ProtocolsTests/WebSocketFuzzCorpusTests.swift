// Replays the WebSocket fuzz corpus (Fuzz/corpus/websocket) with the checks of Fuzz/WebSocketFuzz, so
// inputs the fuzzer once found interesting, and any crash it found (added there once fixed), stay
// covered by `swift test`. Each file: one settings byte (bit 0: client side, bit 1: small
// maxPackageSize), then the bytes the peer sends after the handshake.

import Foundation
import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanProtocols

@Suite("WebSocket fuzz corpus replay")
struct WebSocketFuzzCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/websocket")

    static func inputs() -> [(name: String, bytes: [UInt8])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).map { (name, Array($0)) }
        }
    }

    /// What the reader reported, in order.
    enum Seen: Equatable {
        case message(WebSocketMessage)
        case control(WebSocketFrameReader.Control)
        case failure(Int)
    }

    /// Drives the reader as a connection does, checking its answers keep the contract.
    static func readerRun(_ stream: [UInt8], expectMasked: Bool, maxMessage: Int, split: ReadSplit) -> [Seen] {
        var reader = WebSocketFrameReader(expectMasked: expectMasked)
        var seen: [Seen] = []
        var buffer: [UInt8] = []
        var waitingFor: Int?
        var pieces: [ArraySlice<UInt8>] = []
        switch split {
        case .byteByByte: pieces = stream.indices.map { stream[$0...$0] }
        case .chunks(let size):
            pieces = stride(from: 0, to: stream.count, by: size).map { stream[$0..<min(stream.count, $0 + size)] }
        default: pieces = [stream[...]]
        }
        for piece in pieces {
            buffer += piece
            while !buffer.isEmpty {
                if let length = waitingFor {
                    guard buffer.count >= length else { break }
                    waitingFor = nil
                    seen.append(.message(buffer[0..<length].withUnsafeBytes { reader.decode($0) }))
                    buffer.removeFirst(length)
                    continue
                }
                let step = buffer.withUnsafeBytes { reader.input($0, maxMessage: maxMessage) }
                switch step {
                case .needMore:
                    #expect(buffer.count <= maxMessage + 14, "needMore with \(buffer.count) bytes buffered")
                case .message(let length):
                    #expect(length > 0 && length <= buffer.count && length <= maxMessage)
                    waitingFor = length
                case .consumed(let length, let control):
                    #expect(length > 0 && length <= buffer.count)
                    if let control { seen.append(.control(control)) }
                    buffer.removeFirst(length)
                case .fail(let code, _):
                    #expect([1002, 1007, 1009].contains(code))
                    seen.append(.failure(code))
                    return seen
                }
                if case .needMore = step { break }
            }
        }
        return seen
    }

    static func openServer() -> WebSocketServerCodec {
        var codec = WebSocketServerCodec()
        var context = CodecContext(maxPackageSize: 1 << 16)
        let request = wsUpgradeRequest()
        _ = request.withUnsafeBytes { codec.input($0, &context) }
        return codec
    }

    @Test("the corpus is present")
    func present() {
        #expect(Self.inputs().count >= 30)
    }

    @Test("every corpus input: the reader keeps its contract and agrees with itself across splits; so do the codecs")
    func replay() throws {
        for (name, input) in Self.inputs() where !input.isEmpty {
            let settings = input[0]
            let stream = Array(input.dropFirst())
            let client = settings & 1 != 0
            let maxPackageSize = settings & 2 == 0 ? 1 << 16 : 200
            let whole = Self.readerRun(stream, expectMasked: !client, maxMessage: maxPackageSize, split: .whole)
            for split in [ReadSplit.byteByByte, .chunks(of: 7)] {
                let other = Self.readerRun(stream, expectMasked: !client, maxMessage: maxPackageSize, split: split)
                #expect(other == whole, "\(name), \(split)")
            }
            if client {
                // Masked with random keys: compare messages and the close only.
                let verifier = CodecVerifier<WebSocketClientCodec>(
                    maxPackageSize: maxPackageSize,
                    makeCodec: {
                        var driver = WSCodecDriver(
                            WebSocketClientCodec(),
                            maxPackageSize: maxPackageSize,
                            isClient: true,
                            wantsEvents: false
                        )
                        driver.establish()
                        let request = driver.takeOutput().string
                        let key = wsHeader("Sec-WebSocket-Key", in: request) ?? ""
                        driver.receive(
                            WebSocketClientCodecTests.accept(request, accept: WebSocketHandshake.acceptValue(for: key))
                        )
                        return driver.codec
                    },
                    respond: { [$0] }
                )
                let reference = verifier.run(stream, split: .whole)
                for split in [ReadSplit.byteByByte, .chunks(of: 7)] {
                    let other = verifier.run(stream, split: split)
                    #expect(
                        other.messages == reference.messages && other.closeReason == reference.closeReason,
                        "\(name), \(split)"
                    )
                }
            } else {
                let verifier = CodecVerifier<WebSocketServerCodec>(
                    maxPackageSize: maxPackageSize,
                    makeCodec: Self.openServer,
                    respond: { [$0] }
                )
                _ = try verifier.verify(
                    stream,
                    splits: [.byteByByte, .chunks(of: 7), .random(seed: UInt64(settings), maxChunk: 9)]
                )
            }
        }
    }
}
