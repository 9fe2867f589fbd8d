// The incremental UTF-8 validator behind WebSocket text messages (RFC 3629 via RFC 6455 §8.1): valid and
// invalid sequences at every boundary, the index of the first refused byte, any split of the input
// giving the same answer, and agreement with the standard library on random bytes.

import Testing
import WorkermanTestSupport

@testable import WorkermanProtocols

@Suite("UTF8Validator")
struct UTF8ValidatorTests {
    /// Validates `bytes` fed whole: (no byte refused, ends on a character boundary).
    static func check(_ bytes: [UInt8]) -> (accepted: Bool, complete: Bool) {
        var validator = UTF8Validator()
        let accepted = bytes.withUnsafeBytes { validator.feed($0) }
        return (accepted, validator.isComplete)
    }

    /// The index of the first byte refused when fed one at a time, or nil.
    static func firstRefused(_ bytes: [UInt8]) -> Int? {
        var validator = UTF8Validator()
        return bytes.indices.first { !validator.feed(byte: bytes[$0]) }
    }

    /// Valid in pieces of random sizes?
    static func validInPieces(_ bytes: [UInt8], seed: UInt64) -> Bool {
        var generator = SeededGenerator(seed: seed)
        var validator = UTF8Validator()
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Int.random(in: 1...9, using: &generator))
            guard bytes[start..<end].withUnsafeBytes({ validator.feed($0) }) else { return false }
            start = end
        }
        return validator.isComplete
    }

    static let valid: [(String, [UInt8])] = [
        ("empty", []),
        ("ASCII", Array("Hello, WebSocket! 0123456789 with a long ASCII run".utf8)),
        ("NUL and DEL", [0x00, 0x7F]),
        ("κόσμε", Array("κόσμε".utf8)),
        ("U+0080", [0xC2, 0x80]),
        ("U+07FF", [0xDF, 0xBF]),
        ("U+0800", [0xE0, 0xA0, 0x80]),
        ("U+D7FF", [0xED, 0x9F, 0xBF]),
        ("U+E000", [0xEE, 0x80, 0x80]),
        ("U+FFFD", [0xEF, 0xBF, 0xBD]),
        ("U+FFFF", [0xEF, 0xBF, 0xBF]),
        ("U+10000", [0xF0, 0x90, 0x80, 0x80]),
        ("U+1F600", [0xF0, 0x9F, 0x98, 0x80]),
        ("U+10FFFF", [0xF4, 0x8F, 0xBF, 0xBF]),
        ("mixed", Array("a€b😀c\u{10FFFF}d κ".utf8)),
        ("ASCII runs around a character", Array("12345678€12345678😀1234567".utf8)),
    ]

    @Test("valid sequences pass, whole, byte by byte and in random pieces", arguments: valid)
    func validSequences(name: String, bytes: [UInt8]) {
        #expect(Self.check(bytes) == (true, true), "\(name)")
        #expect(Self.firstRefused(bytes) == nil, "\(name)")
        for seed in 1...5 {
            #expect(Self.validInPieces(bytes, seed: UInt64(seed)), "\(name), seed \(seed)")
        }
    }

    /// Invalid input and the index of the first byte that must be refused.
    static let invalid: [(String, [UInt8], Int)] = [
        ("lone continuation 0x80", [0x80], 0),
        ("lone continuation 0xBF", [0x41, 0xBF], 1),
        ("overlong 2-byte C0 80 (NUL)", [0xC0, 0x80], 0),
        ("overlong 2-byte C1 BF", [0xC1, 0xBF], 0),
        ("overlong 3-byte E0 80 80", [0xE0, 0x80, 0x80], 1),
        ("overlong 3-byte E0 9F BF", [0xE0, 0x9F, 0xBF], 1),
        ("overlong 4-byte F0 80 80 80", [0xF0, 0x80, 0x80, 0x80], 1),
        ("overlong 4-byte F0 8F BF BF", [0xF0, 0x8F, 0xBF, 0xBF], 1),
        ("surrogate U+D800", [0xED, 0xA0, 0x80], 1),
        ("surrogate U+DBFF", [0xED, 0xAF, 0xBF], 1),
        ("surrogate U+DC00", [0xED, 0xB0, 0x80], 1),
        ("surrogate U+DFFF", [0xED, 0xBF, 0xBF], 1),
        ("surrogate pair U+D83D U+DE00", [0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80], 1),
        ("above U+10FFFF: F4 90 80 80", [0xF4, 0x90, 0x80, 0x80], 1),
        ("above U+10FFFF: F5", [0xF5, 0x80, 0x80, 0x80], 0),
        ("above U+10FFFF: F7 BF BF BF", [0xF7, 0xBF, 0xBF, 0xBF], 0),
        ("5-byte lead F8", [0xF8, 0x88, 0x80, 0x80, 0x80], 0),
        ("6-byte lead FC", [0xFC, 0x84, 0x80, 0x80, 0x80, 0x80], 0),
        ("FE", [0xFE], 0),
        ("FF", [0xFF], 0),
        ("missing continuation C2 41", [0xC2, 0x41], 1),
        ("missing continuation E2 28 A1", [0xE2, 0x28, 0xA1], 1),
        ("missing continuation E2 82 28", [0xE2, 0x82, 0x28], 2),
        ("missing continuation F0 9F 98 41", [0xF0, 0x9F, 0x98, 0x41], 3),
        ("new lead inside a sequence", [0xE2, 0xC2, 0x80], 1),
        ("after a long ASCII run", Array("0123456789abcdefghij".utf8) + [0xFF], 20),
        ("after valid text", Array("κόσμε".utf8) + [0xED, 0xA0, 0x80], Array("κόσμε".utf8).count + 1),
        ("ASCII run, then a bad byte, then ASCII", Array("abcdefgh".utf8) + [0x80] + Array("abcdefgh".utf8), 8),
    ]

    @Test("invalid sequences are refused at their first bad byte, however they are split", arguments: invalid)
    func invalidSequences(name: String, bytes: [UInt8], refusedAt: Int) {
        #expect(!Self.check(bytes).accepted, "\(name)")
        #expect(Self.firstRefused(bytes) == refusedAt, "\(name)")
        for seed in 1...5 {
            #expect(!Self.validInPieces(bytes, seed: UInt64(seed)), "\(name), seed \(seed)")
        }
    }

    @Test(
        "a truncated sequence is accepted so far but not complete",
        arguments: [
            [0xC2], [0xE2, 0x82], [0xF0, 0x9F], [0xF0, 0x9F, 0x98], Array("abc€".utf8).dropLast(1).map { $0 },
        ] as [[UInt8]]
    )
    func truncated(bytes: [UInt8]) {
        #expect(Self.check(bytes) == (true, false))
        #expect(!Self.validInPieces(bytes, seed: 1))
    }

    @Test("reset forgets a sequence in progress")
    func reset() {
        var validator = UTF8Validator()
        let lead = validator.feed(byte: 0xE2)
        #expect(lead)
        #expect(!validator.isComplete)
        validator.reset()
        #expect(validator.isComplete)
        let ascii = validator.feed(byte: 0x41)
        #expect(ascii, "0x41 would be refused as a continuation byte")
    }

    @Test("agrees with the standard library on random byte strings")
    func agreesWithStandardLibrary() {
        var generator = SeededGenerator(seed: 3629)
        // Bytes drawn mostly from the interesting ranges, so valid multi-byte sequences occur too.
        let palette: [ClosedRange<UInt8>] = [
            0x20...0x7E, 0x80...0xBF, 0xC0...0xC3, 0xC2...0xDF, 0xE0...0xEF, 0xED...0xED, 0xF0...0xF5, 0xF8...0xFF,
        ]
        var agreed = 0
        var validCount = 0
        for _ in 0..<4000 {
            let length = Int.random(in: 0...24, using: &generator)
            let bytes = (0..<length).map { _ in
                UInt8.random(in: palette[Int.random(in: 0..<palette.count, using: &generator)], using: &generator)
            }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            let (accepted, complete) = Self.check(bytes)
            if expected { validCount += 1 }
            if (accepted && complete) == expected && Self.validInPieces(bytes, seed: UInt64(length)) == expected {
                agreed += 1
            } else {
                Issue.record("disagreement on \(bytes.map { String($0, radix: 16) })")
            }
        }
        #expect(agreed == 4000)
        #expect(validCount > 100, "the generator should produce valid text too (\(validCount))")
    }

    @Test("every code point's encoding is valid, and every surrogate's is not")
    func everyScalar() {
        var validator = UTF8Validator()
        var scalar: UInt32 = 0
        var text: [UInt8] = []
        while scalar <= 0x10FFFF {
            if let value = Unicode.Scalar(scalar) { text += Array(String(Character(value)).utf8) }
            scalar += scalar < 0x800 ? 1 : 7
        }
        let accepted = text.withUnsafeBytes { validator.feed($0) }
        #expect(accepted && validator.isComplete)
        for surrogate in stride(from: 0xD800, through: 0xDFFF, by: 0x3F) {
            let bytes: [UInt8] = [0xED, UInt8(0x80 | (surrogate >> 6) & 0x3F), UInt8(0x80 | surrogate & 0x3F)]
            #expect(!Self.check(bytes).accepted, "U+\(String(surrogate, radix: 16))")
        }
    }
}
