import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP dates (IMF-fixdate, RFC 9110 §5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`), without Foundation.
///
/// ```swift
/// HTTPDate.format(epochSeconds: 784111777)   // "Sun, 06 Nov 1994 08:49:37 GMT"
/// ```
public enum HTTPDate {
    /// The 29 bytes of an IMF-fixdate, kept inline so copying one allocates nothing.
    struct Bytes: Sendable {
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        static let count = 29

        func write(into buffer: inout ByteBuffer) {
            withUnsafeBytes(of: storage) { buffer.append(UnsafeRawBufferPointer(rebasing: $0[0..<Bytes.count])) }
        }
    }

    /// Formats a time given in seconds since 1970 (UTC).
    public static func format(epochSeconds: Int) -> String {
        let bytes = bytes(epochSeconds: epochSeconds)
        return withUnsafeBytes(of: bytes.storage) {
            String(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<Bytes.count]), as: UTF8.self)
        }
    }

    /// The current time in seconds since 1970.
    public static func now() -> Int { Int(time(nil)) }

    static func bytes(epochSeconds: Int) -> Bytes {
        var seconds = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days: StaticString = "SunMonTueWedThuFriSat"
        let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        var result = Bytes()
        withUnsafeMutableBytes(of: &result.storage) { out in
            var index = 0
            func put(_ byte: UInt8) {
                out[index] = byte
                index += 1
            }
            func putTwoDigits(_ value: Int32) {
                put(UInt8(value / 10) &+ 0x30)
                put(UInt8(value % 10) &+ 0x30)
            }
            let day = Int(parts.tm_wday) * 3
            for offset in 0..<3 { put(days.utf8Start[day + offset]) }
            put(ASCII.comma)
            put(ASCII.space)
            putTwoDigits(parts.tm_mday)
            put(ASCII.space)
            let month = Int(parts.tm_mon) * 3
            for offset in 0..<3 { put(months.utf8Start[month + offset]) }
            put(ASCII.space)
            let year = parts.tm_year + 1900
            putTwoDigits(year / 100)
            putTwoDigits(year % 100)
            put(ASCII.space)
            putTwoDigits(parts.tm_hour)
            put(ASCII.colon)
            putTwoDigits(parts.tm_min)
            put(ASCII.colon)
            putTwoDigits(parts.tm_sec)
            put(ASCII.space)
            put(0x47)  // G
            put(0x4D)  // M
            put(0x54)  // T
        }
        return result
    }
}

/// The current `Date` header value, formatted at most once per second and shared by every connection
/// that holds the same cache (`HTTPDateCache.shared` by default).
///
/// Why a lock although a worker has one thread: the shared cache is one per process, and a program may
/// run codecs on several threads; an uncontended lock costs a few nanoseconds, and it is only
/// touched when `sendsDate` is on.
public final class HTTPDateCache: Sendable {
    private struct Entry {
        var second = Int.min
        var bytes = HTTPDate.Bytes()
    }

    /// The process's cache, used by `HTTPServerConfiguration` unless told otherwise.
    public static let shared = HTTPDateCache()

    private let entry = ThreadLock(Entry())  // a pthread mutex: ThreadSanitizer sees it
    private let clock: @Sendable () -> Int

    /// A cache reading the system clock, or `clock` (seconds since 1970) in tests.
    public init(clock: @escaping @Sendable () -> Int = { HTTPDate.now() }) {
        self.clock = clock
    }

    /// The IMF-fixdate for now.
    public var current: String {
        let bytes = currentBytes()
        return withUnsafeBytes(of: bytes.storage) {
            String(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<HTTPDate.Bytes.count]), as: UTF8.self)
        }
    }

    func currentBytes() -> HTTPDate.Bytes {
        let now = clock()
        return entry.withLock { entry in
            if entry.second != now {
                entry.second = now
                entry.bytes = HTTPDate.bytes(epochSeconds: now)
            }
            return entry.bytes
        }
    }
}
