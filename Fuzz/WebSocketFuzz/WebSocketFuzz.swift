import WorkermanTestSupport
import WorkermanTransport

// libFuzzer entry for the WebSocket frame reader and codecs (Fuzz/run.sh websocket). Not part of the
// package build; the Protocols module is compiled with -enable-testing so the reader can be driven
// directly.
//
// Each input is one byte of settings followed by the bytes a peer sends after the handshake:
//   bit 0: 0 = server side (frames must be masked), 1 = client side (frames must not be)
//   bit 1: maxPackageSize 1 << 16, or 200 (so the size limits are reached)
// For every input:
// 1. `WebSocketFrameReader` is driven as a connection drives it, whole, byte by byte and in random
//    reads. Every answer must keep the contract (lengths within what it was given, never asking to
//    buffer more than one maximal frame), and all splits must agree on messages, control frames and
//    the failure code.
// 2. The side's codec (`WebSocketServerCodec` or `WebSocketClientCodec`, handshake done) runs through
//    `CodecVerifier` (messages echoed back) and its splits must agree too (client output is compared
//    unmasked, since every frame has a fresh random key).
// 3. Every frame header the reader accepts is written back by `WebSocketFrameHeader.write`, which must
//    give the same bytes (no reserved bits, minimal lengths).
// 4. `UTF8Validator` must agree with the standard library's UTF-8 validation, fed whole and in pieces.
@testable import WorkermanProtocols

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let settings = data[0]
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let client = settings & 1 != 0
    let maxPackageSize = settings & 2 == 0 ? 1 << 16 : 200

    // 1. The reader, directly.
    let whole = ReaderRun(stream, expectMasked: !client, maxMessage: maxPackageSize, split: .whole)
    for split in [ReadSplit.byteByByte, .random(seed: UInt64(settings), maxChunk: 9), .random(seed: 7, maxChunk: 300)] {
        let other = ReaderRun(stream, expectMasked: !client, maxMessage: maxPackageSize, split: split)
        precondition(
            other.events == whole.events,
            "reader splits disagree (\(split)): \(other.events) vs \(whole.events)"
        )
    }

    // 2. The codec.
    do {
        if client {
            verifyClient(stream, maxPackageSize: maxPackageSize, seed: UInt64(settings))
        } else {
            let verifier = CodecVerifier<WebSocketServerCodec>(
                maxPackageSize: maxPackageSize,
                makeCodec: openServerCodec,
                respond: { [$0] }
            )
            _ = try verifier.verify(stream, splits: [.byteByByte, .random(seed: UInt64(settings), maxChunk: 9)])
        }
    } catch {
        fatalError("codec splits disagree: \(error)")
    }

    // 3. Header round trip.
    stream.withUnsafeBytes { bytes in
        if case .header(let header) = WebSocketFrameHeader.parse(bytes, expectMasked: !client, maxPayload: .max) {
            var written = ByteBuffer()
            WebSocketFrameHeader.write(
                fin: header.fin,
                opcode: header.opcode,
                payloadLength: header.payloadLength,
                maskKey: header.masked ? header.maskKey : nil,
                into: &written
            )
            precondition(written.bytes == Array(bytes[0..<header.headerLength]), "header does not round-trip")
        }
    }

    // 4. UTF-8 against the standard library.
    let expected = String(validating: stream, as: UTF8.self) != nil
    var validator = UTF8Validator()
    let valid = stream.withUnsafeBytes { validator.feed($0) } && validator.isComplete
    precondition(valid == expected, "UTF8Validator says \(valid), the standard library \(expected)")
    var pieces = UTF8Validator()
    var piecesValid = true
    for range in pieceRanges(stream.count, seed: UInt64(size)) where piecesValid {
        piecesValid = stream[range].withUnsafeBytes { pieces.feed($0) }
    }
    precondition((piecesValid && pieces.isComplete) == expected, "UTF8Validator in pieces disagrees")
    return 0
}

// MARK: - The reader as a connection drives it

/// What a reader run saw, in order.
enum ReaderEvent: Equatable {
    case message(WebSocketMessage)
    case control(WebSocketFrameReader.Control)
    case failure(Int)
}

struct ReaderRun {
    var events: [ReaderEvent] = []

    init(_ stream: [UInt8], expectMasked: Bool, maxMessage: Int, split: ReadSplit) {
        var reader = WebSocketFrameReader(expectMasked: expectMasked)
        var buffer: [UInt8] = []
        var offset = 0
        var waitingFor: Int?
        reading: for range in pieceRanges(stream.count, split: split) {
            buffer += stream[range]
            while offset < buffer.count {
                let available = buffer.count - offset
                if let length = waitingFor {
                    guard available >= length else { continue reading }
                    waitingFor = nil
                    let message = buffer[offset..<(offset + length)].withUnsafeBytes { reader.decode($0) }
                    events.append(.message(message))
                    offset += length
                    continue
                }
                let step = buffer[offset...].withUnsafeBytes { reader.input($0, maxMessage: maxMessage) }
                switch step {
                case .needMore:
                    // A header is at most 14 bytes: waiting with more than a maximal frame buffered would
                    // let a peer make us buffer without bound.
                    precondition(available <= maxMessage + 14, "needMore with \(available) bytes buffered")
                    continue reading
                case .message(let length):
                    precondition(length > 0 && length <= available, "message of \(length) with \(available) bytes")
                    precondition(length <= maxMessage, "a frame of \(length) bytes passed a limit of \(maxMessage)")
                    waitingFor = length
                case .consumed(let length, let control):
                    precondition(length > 0 && length <= available, "consumed \(length) of \(available)")
                    if let control { events.append(.control(control)) }
                    offset += length
                case .fail(let code, _):
                    precondition([1002, 1007, 1009].contains(code), "unexpected close code \(code)")
                    events.append(.failure(code))
                    return
                }
            }
            buffer.removeFirst(offset)
            offset = 0
        }
    }
}

func pieceRanges(_ count: Int, split: ReadSplit) -> [Range<Int>] {
    switch split {
    case .whole: return count == 0 ? [] : [0..<count]
    case .byteByByte: return (0..<count).map { $0..<($0 + 1) }
    case .chunks(let size): return stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
    case .random(let seed, let maxChunk): return pieceRanges(count, seed: seed, maxChunk: maxChunk)
    }
}

func pieceRanges(_ count: Int, seed: UInt64, maxChunk: Int = 5) -> [Range<Int>] {
    var generator = SeededGenerator(seed: seed)
    var ranges: [Range<Int>] = []
    var start = 0
    while start < count {
        let end = min(count, start + Int.random(in: 1...maxChunk, using: &generator))
        ranges.append(start..<end)
        start = end
    }
    return ranges
}

// MARK: - Codecs past the handshake

func openServerCodec() -> WebSocketServerCodec {
    var codec = WebSocketServerCodec()
    var context = CodecContext(maxPackageSize: 1 << 16)
    let request = Array(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
            .utf8
    )
    let decision = request.withUnsafeBytes { codec.input($0, &context) }
    precondition(decision == .consumed(length: request.count) && codec.isOpen, "handshake failed: \(decision)")
    return codec
}

func openClientCodec(maxPackageSize: Int) -> WebSocketClientCodec {
    var codec = WebSocketClientCodec()
    var context = CodecContext(maxPackageSize: maxPackageSize, isClient: true)
    codec.connectionEstablished(&context)
    let request = context.takeReplies().string
    let keyLine = request.split(separator: "\r\n").first { $0.hasPrefix("Sec-WebSocket-Key: ") }!
    let key = String(keyLine.dropFirst("Sec-WebSocket-Key: ".count))
    let response = Array(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(WebSocketHandshake.acceptValue(for: key))\r\n\r\n"
            .utf8
    )
    let decision = response.withUnsafeBytes { codec.input($0, &context) }
    precondition(decision == .consumed(length: response.count) && codec.isOpen, "handshake failed: \(decision)")
    return codec
}

/// The client's output is masked with random keys: compare it unmasked.
func verifyClient(_ stream: [UInt8], maxPackageSize: Int, seed: UInt64) {
    let verifier = CodecVerifier<WebSocketClientCodec>(
        maxPackageSize: maxPackageSize,
        makeCodec: { openClientCodec(maxPackageSize: maxPackageSize) },
        respond: { [$0] }
    )
    let whole = verifier.run(stream, split: .whole)
    let expectedOutput = unmaskedFrames(whole.output)
    for split in [ReadSplit.byteByByte, .random(seed: seed, maxChunk: 9)] {
        let other = verifier.run(stream, split: split)
        precondition(other.messages == whole.messages, "client messages differ (\(split))")
        precondition(other.closeReason == whole.closeReason, "client close differs (\(split))")
        precondition(unmaskedFrames(other.output) == expectedOutput, "client output differs (\(split))")
    }
}

/// Masked frames as (first byte, unmasked payload); every frame must carry a non-zero key.
func unmaskedFrames(_ output: ByteBuffer) -> [[UInt8]] {
    let bytes = output.bytes
    var frames: [[UInt8]] = []
    var index = 0
    while index + 2 <= bytes.count {
        precondition(bytes[index + 1] & 0x80 != 0, "an unmasked client frame")
        var length = Int(bytes[index + 1] & 0x7F)
        var header = 2
        if length == 126 {
            length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            header = 4
        } else if length == 127 {
            length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[index + $1]) }
            header = 10
        }
        let key = Array(bytes[(index + header)..<(index + header + 4)])
        precondition(key != [0, 0, 0, 0], "a zero masking key")
        let start = index + header + 4
        var frame = [bytes[index]]
        for position in 0..<length { frame.append(bytes[start + position] ^ key[position & 3]) }
        frames.append(frame)
        index = start + length
    }
    precondition(index == bytes.count, "client output ends inside a frame")
    return frames
}
