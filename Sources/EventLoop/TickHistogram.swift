/// How long a loop's ticks were busy (from the end of the poll to the end of the tick): counts per
/// bucket, in a fixed layout that lives in the activity record (shared memory under `runAll()`), so the
/// master can export it as a Prometheus histogram without asking the process. Buckets are powers of four
/// from 16 µs: recording is a few compares, no clock but the one the tick reads anyway.
///
/// ```swift
/// let histogram = loop.tickHistogram
/// print(histogram.count, histogram.bucketCount(0))  // ticks, ticks of at most 16 µs
/// ```
public struct TickHistogram {
    /// Upper bounds of the buckets in nanoseconds; a last bucket holds everything above.
    public static let upperBounds: [UInt64] = [
        16_000, 64_000, 256_000, 1_024_000, 4_096_000, 16_384_000, 65_536_000, 262_144_000, 1_048_576_000, 4_194_304_000,
    ]
    /// Buckets, including the last one for longer ticks.
    public static let bucketTotal = 11

    /// Counts per bucket, not cumulative.
    public var buckets: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// The sum of the ticks' busy time in nanoseconds.
    public var sumNanoseconds: UInt64 = 0

    public init() {}

    /// Counts one tick that was busy for `nanoseconds`.
    @inline(__always)
    public mutating func record(_ nanoseconds: UInt64) {
        var index = 0
        var bound: UInt64 = 16_000
        // Powers of four: the bound check is a shift, and a typical tick stops at the first bucket.
        while index < Self.bucketTotal - 1 && nanoseconds > bound {
            index += 1
            bound &<<= 2
        }
        sumNanoseconds &+= nanoseconds
        withUnsafeMutableBytes(of: &buckets) { $0.storeBytes(of: $0.load(fromByteOffset: index * 8, as: UInt64.self) &+ 1, toByteOffset: index * 8, as: UInt64.self) }
    }

    /// Ticks counted in bucket `index` (0 ..< `bucketTotal`).
    public func bucketCount(_ index: Int) -> UInt64 {
        precondition(index >= 0 && index < Self.bucketTotal, "tick histogram bucket \(index)")
        return withUnsafeBytes(of: buckets) { $0.load(fromByteOffset: index * 8, as: UInt64.self) }
    }

    /// Ticks counted.
    public var count: UInt64 {
        var total: UInt64 = 0
        for index in 0..<Self.bucketTotal { total &+= bucketCount(index) }
        return total
    }
}
