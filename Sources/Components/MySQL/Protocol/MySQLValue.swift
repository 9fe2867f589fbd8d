/// One value of a row or a statement parameter.
///
/// ```swift
/// pool.query("SELECT name FROM users WHERE id = ?", [.int(42)]) { result in
///     if let name = try? result.get().rows.first?["name"]?.string { print(name) }
/// }
/// ```
public enum MySQLValue: Equatable, Sendable, CustomStringConvertible {
    case null
    /// A signed integer column (TINYINT … BIGINT, YEAR).
    case int(Int64)
    /// An UNSIGNED integer column.
    case unsigned(UInt64)
    /// FLOAT and DOUBLE.
    case double(Double)
    /// DECIMAL, as the server wrote it (no precision is lost to a binary floating point).
    case decimal(String)
    /// Binary strings (BLOB, BINARY, VARBINARY, BIT, GEOMETRY).
    case bytes([UInt8])
    /// Text (CHAR, VARCHAR, TEXT, ENUM, SET, JSON), in utf8mb4.
    case string(String)
    /// DATE, DATETIME and TIMESTAMP.
    case dateTime(MySQLDateTime)
    /// TIME: a signed duration of up to 838 hours.
    case time(MySQLTime)

    public var isNull: Bool { self == .null }

    /// The value as text (numbers and dates formatted as the server would), nil for NULL.
    public var string: String? {
        switch self {
        case .null: nil
        case .int(let value): String(value)
        case .unsigned(let value): String(value)
        case .double(let value): String(value)
        case .decimal(let text), .string(let text): text
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        case .dateTime(let value): value.description
        case .time(let value): value.description
        }
    }

    /// The value as a signed integer, when it is one (or text that parses as one).
    public var int: Int64? {
        switch self {
        case .int(let value): value
        case .unsigned(let value): Int64(exactly: value)
        case .double(let value): Int64(exactly: value)
        case .decimal(let text), .string(let text): Int64(text)
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case .int(let value): Double(value)
        case .unsigned(let value): Double(value)
        case .double(let value): value
        case .decimal(let text), .string(let text): Double(text)
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .bytes(let bytes): bytes
        case .string(let text): Array(text.utf8)
        default: nil
        }
    }

    public var description: String { string ?? "NULL" }
}

/// A DATE, DATETIME or TIMESTAMP value, as its fields (no time zone: MySQL stores none).
public struct MySQLDateTime: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var microsecond: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
    }

    /// Parses `YYYY-MM-DD[ hh:mm:ss[.ffffff]]`, as text results carry it.
    public init?(_ text: String) {
        let parts = text.split(separator: " ")
        guard parts.count <= 2, let date = parts.first else { return nil }
        let ymd = date.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard ymd.count == 3, let year = ymd[0], let month = ymd[1], let day = ymd[2] else { return nil }
        self.init(year: year, month: month, day: day)
        if parts.count == 2 {
            guard let time = MySQLTime(String(parts[1])), !time.isNegative, time.hours < 24 else { return nil }
            hour = time.hours
            minute = time.minutes
            second = time.seconds
            microsecond = time.microseconds
        }
    }

    public var description: String {
        let date = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        if hour == 0 && minute == 0 && second == 0 && microsecond == 0 { return date }
        let time = "\(date) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        return microsecond == 0 ? time : "\(time).\(pad(microsecond, 6))"
    }
}

/// A TIME value: a signed duration (`-838:59:59` to `838:59:59`), not only a time of day.
public struct MySQLTime: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var isNegative: Bool
    public var hours: Int
    public var minutes: Int
    public var seconds: Int
    public var microseconds: Int

    public init(isNegative: Bool = false, hours: Int, minutes: Int, seconds: Int, microseconds: Int = 0) {
        self.isNegative = isNegative
        self.hours = hours
        self.minutes = minutes
        self.seconds = seconds
        self.microseconds = microseconds
    }

    /// Parses `[-]h:mm:ss[.ffffff]`.
    public init?(_ text: String) {
        var body = Substring(text)
        isNegative = body.hasPrefix("-")
        if isNegative { body = body.dropFirst() }
        let fields = body.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 3, let hours = Int(fields[0]), let minutes = Int(fields[1]) else { return nil }
        let secondParts = fields[2].split(separator: ".", omittingEmptySubsequences: false)
        guard let seconds = Int(secondParts[0]), secondParts.count <= 2 else { return nil }
        var micro = 0
        if secondParts.count == 2 {
            let digits = secondParts[1].prefix(6)
            guard let fraction = Int(digits) else { return nil }
            micro = fraction
            for _ in digits.count..<6 { micro *= 10 }
        }
        self.hours = hours
        self.minutes = minutes
        self.seconds = seconds
        self.microseconds = micro
    }

    public var description: String {
        let text = "\(isNegative ? "-" : "")\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2))"
        return microseconds == 0 ? text : "\(text).\(pad(microseconds, 6))"
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
