#if canImport(Glibc)
import Glibc
#endif

// One report of one call, and its datagram: workerman/statistics' format, so PHP workers running
// walkor's StatisticClient can report to our collector too.
//
//   offset 0  module length (1 byte)       offset 1  interface length (1 byte)
//   offset 2  cost in seconds, float32 (little-endian, PHP's pack('f') on x86 and ARM)
//   offset 6  success (1 byte, 0 or 1)     offset 7  code (int32, big-endian)
//   offset 11 message length (uint16, big-endian)
//   offset 13 time (uint32, big-endian, unix seconds)
//   offset 17 module, interface, message (UTF-8)

/// What a worker reports about one call: which interface, how long, whether it succeeded.
///
/// ```swift
/// StatisticsReport(module: "User", interface: "getInfo", cost: 0.012, success: true)
/// ```
public struct StatisticsReport: Hashable, Sendable {
    public var module: String
    public var interface: String
    /// Seconds the call took.
    public var cost: Double
    public var success: Bool
    public var code: Int32
    public var message: String
    /// Unix seconds when it was made.
    public var time: UInt32

    public init(module: String, interface: String, cost: Double, success: Bool, code: Int32 = 0, message: String = "", time: UInt32? = nil) {
        self.module = module
        self.interface = interface
        self.cost = cost
        self.success = success
        self.code = code
        self.message = message
        self.time = time ?? UInt32(truncatingIfNeeded: Int(StatisticsClock.unixSeconds()))
    }

    static let headerLength = 17
    /// Module and interface names are at most 255 bytes (one length byte each); messages are cut so
    /// the datagram stays within one UDP payload.
    static let maxMessageBytes = 65_507 - headerLength - 255 - 255

    /// The datagram; names over 255 bytes and messages over the limit are cut (at a character boundary).
    public var datagram: [UInt8] {
        let module = Self.cut(module, to: 255)
        let interface = Self.cut(interface, to: 255)
        let message = Self.cut(message, to: Self.maxMessageBytes)
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + module.count + interface.count + message.count)
        out.append(UInt8(module.count))
        out.append(UInt8(interface.count))
        let bits = Float(cost).bitPattern
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        out.append(success ? 1 : 0)
        Self.appendBigEndian(UInt32(bitPattern: code), 4, to: &out)
        Self.appendBigEndian(UInt32(message.count), 2, to: &out)
        Self.appendBigEndian(time, 4, to: &out)
        return out + module + interface + message
    }

    /// Decodes a datagram; nil for anything that is not exactly one well-formed report (a forged or
    /// truncated datagram): lengths that disagree with its size, a success byte other than 0 or 1, a
    /// cost that is negative or not finite, names empty or not UTF-8.
    public init?(datagram bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.headerLength else { return nil }
        let moduleLength = Int(bytes[0])
        let interfaceLength = Int(bytes[1])
        var bits: UInt32 = 0
        for index in 0..<4 { bits |= UInt32(bytes[2 + index]) << UInt32(8 * index) }
        let success = bytes[6]
        let code = Int32(bitPattern: Self.bigEndian(bytes, 7, 4))
        let messageLength = Int(Self.bigEndian(bytes, 11, 2))
        let time = Self.bigEndian(bytes, 13, 4)
        let cost = Double(Float(bitPattern: bits))
        guard moduleLength > 0, interfaceLength > 0, success <= 1, cost.isFinite, cost >= 0,
            bytes.count == Self.headerLength + moduleLength + interfaceLength + messageLength
        else { return nil }
        func text(_ start: Int, _ count: Int) -> String? {
            String(validating: bytes[start..<start + count], as: UTF8.self)
        }
        guard let module = text(17, moduleLength), let interface = text(17 + moduleLength, interfaceLength),
            let message = text(17 + moduleLength + interfaceLength, messageLength)
        else { return nil }
        self.init(module: module, interface: interface, cost: cost, success: success == 1, code: code, message: message, time: time)
    }

    private static func cut(_ text: String, to limit: Int) -> [UInt8] {
        var out: [UInt8] = []
        for character in text {
            let bytes = Array(character.utf8)
            if out.count + bytes.count > limit { break }
            out += bytes
        }
        return out
    }

    private static func appendBigEndian(_ value: UInt32, _ width: Int, to out: inout [UInt8]) {
        for index in stride(from: width - 1, through: 0, by: -1) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(8 * index))) }
    }

    private static func bigEndian(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ width: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<width { value = value << 8 | UInt32(bytes[start + index]) }
        return value
    }
}

/// Wall-clock seconds, for the reports' minutes.
enum StatisticsClock {
    static func unixSeconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec
    }
}
