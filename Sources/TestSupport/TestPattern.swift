#if canImport(Glibc)
import Glibc
#endif

/// Bytes for transfer tests: a pattern that shows lost, repeated or reordered bytes, and a quick check
/// that what arrived is what was sent.
///
/// ```swift
/// let sent = TestPattern.bytes(1 << 20)
/// connection.send(ByteBuffer(sent))
/// #expect(TestPattern.matches(received, sent))
/// ```
public enum TestPattern {
    /// `count` bytes of a pattern whose period, 251, is prime to every power of two, so a lost, repeated
    /// or reordered chunk of any power-of-two size shows. Built by copying whole periods: tests run
    /// unoptimised, and megabytes byte by byte would take a good part of a second.
    public static func bytes(_ count: Int, seed: Int = 0) -> [UInt8] {
        let period = (0..<251).map { UInt8(truncatingIfNeeded: ($0 &* 7 &+ seed) % 251) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + period.count)
        while bytes.count < count { bytes.append(contentsOf: period) }
        bytes.removeLast(bytes.count - count)
        return bytes
    }

    /// Whether `actual` holds exactly `expected`: a Bool, so a failing `#expect` does not print
    /// megabytes, and a `memcmp`, so it is quick in an unoptimised build.
    public static func matches(_ actual: [UInt8]?, _ expected: [UInt8]) -> Bool {
        guard let actual, actual.count == expected.count else { return false }
        return actual.withUnsafeBytes { a in
            expected.withUnsafeBytes { b in a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
    }
}
