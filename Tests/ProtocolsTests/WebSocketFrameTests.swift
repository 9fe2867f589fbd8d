// WebSocketFrameHeader (RFC 6455 §5.2) and WebSocketMask (§5.3): the RFC's §5.7 examples, every length
// form and its boundaries, what §5.2 forbids (reserved bits and opcodes, long or fragmented control
// frames, non-minimal lengths, the 64-bit length's top bit, masking on the wrong side), truncated
// headers, and masking in pieces.

import Testing
import WorkermanTestSupport
import WorkermanTransport

@testable import WorkermanProtocols

@Suite("WebSocket frame headers and masking")
struct WebSocketFrameTests {
    static func parse(_ bytes: [UInt8], masked: Bool = true, max: Int = 1 << 20) -> WebSocketFrameHeader.Parse {
        bytes.withUnsafeBytes { WebSocketFrameHeader.parse($0, expectMasked: masked, maxPayload: max) }
    }

    static func header(_ bytes: [UInt8], masked: Bool = true, max: Int = 1 << 20) -> WebSocketFrameHeader? {
        if case .header(let header) = parse(bytes, masked: masked, max: max) { return header }
        return nil
    }

    static func failureCode(_ bytes: [UInt8], masked: Bool = true, max: Int = 1 << 20) -> Int? {
        if case .invalid(let code, _) = parse(bytes, masked: masked, max: max) { return code }
        return nil
    }

    // MARK: - RFC 6455 §5.7 examples

    @Test("§5.7: a single-frame unmasked text message")
    func unmaskedHello() throws {
        let frame: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
        let header = try #require(Self.header(frame, masked: false))
        #expect(
            header
                == WebSocketFrameHeader(
                    fin: true,
                    opcode: 1,
                    masked: false,
                    maskKey: 0,
                    payloadLength: 5,
                    headerLength: 2
                )
        )
        #expect(header.frameLength == 7)
        #expect(Self.failureCode(frame, masked: true) == 1002, "a server refuses an unmasked frame")
    }

    @Test("§5.7: a single-frame masked text message unmasks to Hello")
    func maskedHello() throws {
        var frame: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        let header = try #require(Self.header(frame))
        #expect(header.fin && header.opcode == 1 && header.masked)
        #expect(header.payloadLength == 5 && header.headerLength == 6)
        frame.withUnsafeMutableBytes { bytes in
            WebSocketMask.apply(key: header.maskKey, to: UnsafeMutableRawBufferPointer(rebasing: bytes[6...]))
        }
        #expect(Array(frame[6...]) == Array("Hello".utf8))
        #expect(Self.failureCode(frame, masked: false) == 1002, "a client refuses a masked frame")
        #expect(wsFrame(WS.text, "Hello") == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
    }

    @Test("§5.7: a fragmented unmasked text message, a ping and a masked pong")
    func fragmentsAndControl() throws {
        let first = try #require(Self.header([0x01, 0x03, 0x48, 0x65, 0x6C], masked: false))
        #expect(!first.fin && first.opcode == 1 && first.payloadLength == 3)
        let last = try #require(Self.header([0x80, 0x02, 0x6C, 0x6F], masked: false))
        #expect(last.fin && last.opcode == 0 && last.payloadLength == 2)
        let ping = try #require(Self.header([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F], masked: false))
        #expect(ping.opcode == 9 && ping.payloadLength == 5)
        let pong = try #require(Self.header([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]))
        #expect(pong.opcode == 10 && pong.payloadLength == 5 && pong.headerLength == 6)
    }

    @Test("§5.7: 256 bytes take a 16-bit length, 64 KiB a 64-bit one")
    func extendedLengths() throws {
        let sixteen = try #require(Self.header([0x82, 0x7E, 0x01, 0x00], masked: false))
        #expect(sixteen.payloadLength == 256 && sixteen.headerLength == 4)
        let sixtyFour = try #require(Self.header([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], masked: false))
        #expect(sixtyFour.payloadLength == 65536 && sixtyFour.headerLength == 10)
    }

    // MARK: - Length forms

    @Test(
        "each length is written in its minimal form and parses back",
        arguments: [0, 1, 125, 126, 127, 65535, 65536, 1 << 20]
    )
    func lengthRoundTrip(length: Int) throws {
        for masked in [false, true] {
            var buffer = ByteBuffer()
            WebSocketFrameHeader.write(
                opcode: 2,
                payloadLength: length,
                maskKey: masked ? 0x1234_5678 : nil,
                into: &buffer
            )
            let bytes = buffer.bytes
            let expectedForm = length < 126 ? 2 : (length <= 0xFFFF ? 4 : 10)
            #expect(bytes.count == expectedForm + (masked ? 4 : 0))
            #expect(
                bytes
                    == Array(
                        wsFrame(2, [UInt8](repeating: 0, count: length), mask: masked ? [0x78, 0x56, 0x34, 0x12] : nil)
                            .prefix(bytes.count)
                    )
            )
            let header = try #require(Self.header(bytes, masked: masked, max: 1 << 21))
            #expect(header.payloadLength == length && header.headerLength == bytes.count)
            if masked { #expect(header.maskKey == 0x1234_5678) }
        }
    }

    @Test(
        "non-minimal length encodings are protocol errors (1002)",
        arguments: [
            wsFrame(WS.binary, [UInt8](repeating: 1, count: 5), length: .sixteen),
            wsFrame(WS.binary, [UInt8](repeating: 1, count: 125), length: .sixteen),
            wsFrame(WS.binary, [UInt8](repeating: 1, count: 5), length: .sixtyFour),
            wsFrame(WS.binary, [UInt8](repeating: 1, count: 200), length: .sixtyFour),
            wsFrame(WS.binary, [UInt8](repeating: 1, count: 65535), length: .sixtyFour),
        ]
    )
    func nonMinimalLengths(frame: [UInt8]) {
        #expect(Self.failureCode(frame) == 1002)
    }

    @Test("a 64-bit length with the top bit set is a protocol error; the largest legal one is too big (1009)")
    func hugeLengths() {
        #expect(Self.failureCode(wsFrame(WS.binary, [], length: .declared(1 << 63))) == 1002)
        #expect(Self.failureCode(wsFrame(WS.binary, [], length: .declared(UInt64.max))) == 1002)
        #expect(Self.failureCode(wsFrame(WS.binary, [], length: .declared((1 << 63) - 1))) == 1009)
        #expect(Self.failureCode(wsFrame(WS.binary, [], length: .declared(1 << 32))) == 1009)
        #expect(Self.failureCode(wsFrame(WS.binary, [], length: .declared(70_000)), max: 65_536) == 1009)
        #expect(Self.failureCode(wsFrame(WS.binary, [UInt8](repeating: 0, count: 100)), max: 99) == 1009)
        #expect(Self.header(wsFrame(WS.binary, [UInt8](repeating: 0, count: 100)), max: 100) != nil)
    }

    // MARK: - What §5.2 forbids

    @Test("reserved bits are protocol errors (no extension is negotiated)", arguments: [1, 2, 4, 7] as [UInt8])
    func reservedBits(rsv: UInt8) {
        #expect(Self.failureCode(wsFrame(WS.text, Array("x".utf8), rsv: rsv)) == 1002)
        #expect(Self.failureCode(wsFrame(WS.ping, [], rsv: rsv)) == 1002)
    }

    @Test("reserved opcodes are protocol errors", arguments: [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] as [UInt8])
    func reservedOpcodes(opcode: UInt8) {
        #expect(Self.failureCode(wsFrame(opcode, [1, 2, 3])) == 1002)
        #expect(Self.failureCode(wsFrame(opcode, [1, 2, 3], mask: nil), masked: false) == 1002)
    }

    @Test("control frames over 125 bytes or fragmented are protocol errors", arguments: [WS.close, WS.ping, WS.pong])
    func controlFrameRules(opcode: UInt8) {
        #expect(Self.header(wsFrame(opcode, [UInt8](repeating: 0x41, count: 125))) != nil)
        #expect(Self.failureCode(wsFrame(opcode, [UInt8](repeating: 0x41, count: 126))) == 1002)
        #expect(Self.failureCode(wsFrame(opcode, [UInt8](repeating: 0x41, count: 70_000))) == 1002)
        #expect(Self.failureCode(wsFrame(opcode, [], fin: false)) == 1002)
        // Judged on the first two bytes: the rest of a long control frame's header need not arrive.
        #expect(Self.failureCode(Array(wsFrame(opcode, [UInt8](repeating: 0, count: 300)).prefix(2))) == 1002)
    }

    @Test("a truncated header asks for more, at every length")
    func truncatedHeaders() {
        let frames = [
            wsFrame(WS.text, "Hello"),
            wsFrame(WS.binary, [UInt8](repeating: 7, count: 300)),
            wsFrame(WS.binary, [UInt8](repeating: 7, count: 70_000)),
            wsFrame(WS.ping, [], mask: nil),
        ]
        for frame in frames {
            let masked = frame[1] & 0x80 != 0
            let headerLength = Self.header(frame, masked: masked)?.headerLength ?? 0
            #expect(headerLength > 0)
            for cut in 0..<headerLength {
                #expect(
                    Self.parse(Array(frame.prefix(cut)), masked: masked) == .needMore,
                    "cut at \(cut) of \(headerLength)"
                )
            }
            // The header alone is enough to parse: the payload is the connection's business.
            #expect(Self.header(Array(frame.prefix(headerLength)), masked: masked) != nil)
        }
    }

    // MARK: - Masking

    @Test("masking twice gives the bytes back; a zero key changes nothing")
    func maskInvolution() {
        let original = wsPattern(1000)
        var bytes = original
        bytes.withUnsafeMutableBytes { WebSocketMask.apply(key: 0xDEAD_BEEF, to: $0) }
        #expect(bytes != original)
        bytes.withUnsafeMutableBytes { WebSocketMask.apply(key: 0xDEAD_BEEF, to: $0) }
        #expect(bytes == original)
        bytes.withUnsafeMutableBytes { WebSocketMask.apply(key: 0, to: $0) }
        #expect(bytes == original)
    }

    @Test("masking in pieces at any offset equals masking the whole payload byte by byte (§5.3)")
    func maskInPieces() {
        let key: [UInt8] = [0x11, 0x9A, 0xC3, 0x5E]
        let keyValue = key.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        let original = wsPattern(517, seed: 3)
        let expected = original.enumerated().map { $0.element ^ key[$0.offset % 4] }
        var generator = SeededGenerator(seed: 53)
        for _ in 0..<20 {
            var bytes = original
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...23, using: &generator))
                bytes.withUnsafeMutableBytes { whole in
                    WebSocketMask.apply(
                        key: keyValue,
                        to: UnsafeMutableRawBufferPointer(rebasing: whole[start..<end]),
                        offset: start
                    )
                }
                start = end
            }
            #expect(bytes == expected)
        }
    }
}
