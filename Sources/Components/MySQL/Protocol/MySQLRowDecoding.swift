/// Turns text-protocol and binary-protocol rows into `MySQLValue`s by their columns' types. A row whose
/// values do not match its columns (too few, too many, a length beyond the packet) throws
/// `.protocolViolation`.
enum MySQLRowDecoding {
    /// A text row (COM_QUERY): one length-encoded string (or 0xFB, NULL) per column.
    static func textRow(_ payload: [UInt8], columns: [MySQLColumn]) throws(MySQLError) -> [MySQLValue] {
        var reader = MySQLPayloadReader(payload)
        var values: [MySQLValue] = []
        values.reserveCapacity(columns.count)
        for column in columns {
            guard !reader.isAtEnd else {
                throw MySQLError(.protocolViolation, "a row has fewer values than its \(columns.count) columns")
            }
            guard let bytes = try reader.lengthEncodedBytes() else {
                values.append(.null)
                continue
            }
            values.append(try textValue(bytes, column))
        }
        guard reader.isAtEnd else {
            throw MySQLError(.protocolViolation, "a row has more values than its \(columns.count) columns")
        }
        return values
    }

    static func textValue(_ bytes: ArraySlice<UInt8>, _ column: MySQLColumn) throws(MySQLError) -> MySQLValue {
        let type = column.type
        if type.isInteger {
            let text = String(decoding: bytes, as: UTF8.self)
            if column.isUnsigned, let value = UInt64(text) { return .unsigned(value) }
            if let value = Int64(text) { return .int(value) }
            throw MySQLError(.protocolViolation, "column \(column.name): \(text.prefix(40)) is not an integer")
        }
        switch type {
        case .float, .double:
            let text = String(decoding: bytes, as: UTF8.self)
            guard let value = Double(text) else {
                throw MySQLError(.protocolViolation, "column \(column.name): \(text.prefix(40)) is not a number")
            }
            return .double(value)
        case .decimal, .newDecimal: return .decimal(String(decoding: bytes, as: UTF8.self))
        case .date, .datetime, .timestamp:
            // Zero dates ('0000-00-00') parse too: they are values MySQL allows.
            let text = String(decoding: bytes, as: UTF8.self)
            return MySQLDateTime(text).map(MySQLValue.dateTime) ?? .string(text)
        case .time:
            let text = String(decoding: bytes, as: UTF8.self)
            return MySQLTime(text).map(MySQLValue.time) ?? .string(text)
        case .null: return .null
        case .bit, .geometry: return .bytes(Array(bytes))
        default: return column.isBinary && type != .json ? .bytes(Array(bytes)) : .string(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// A binary row (COM_STMT_EXECUTE): 0x00, a NULL bitmap offset by two bits, then each non-NULL value
    /// in its type's binary form.
    static func binaryRow(_ payload: [UInt8], columns: [MySQLColumn]) throws(MySQLError) -> [MySQLValue] {
        var reader = MySQLPayloadReader(payload)
        guard try reader.uint8() == 0x00 else { throw MySQLError(.protocolViolation, "a binary row does not start with 0x00") }
        let bitmap = try reader.bytes((columns.count + 7 + 2) / 8)
        var values: [MySQLValue] = []
        values.reserveCapacity(columns.count)
        for (index, column) in columns.enumerated() {
            let bit = index + 2
            if bitmap[bitmap.startIndex + bit / 8] & (1 << UInt8(bit % 8)) != 0 {
                values.append(.null)
                continue
            }
            values.append(try binaryValue(&reader, column))
        }
        guard reader.isAtEnd else {
            throw MySQLError(.protocolViolation, "a row has more values than its \(columns.count) columns")
        }
        return values
    }

    static func binaryValue(_ reader: inout MySQLPayloadReader, _ column: MySQLColumn) throws(MySQLError) -> MySQLValue {
        let unsigned = column.isUnsigned
        switch column.type {
        case .tiny:
            let raw = try reader.integer(1)
            return unsigned ? .unsigned(raw) : .int(Int64(Int8(truncatingIfNeeded: raw)))
        case .short, .year:
            let raw = try reader.integer(2)
            return unsigned || column.type == .year ? .unsigned(raw) : .int(Int64(Int16(truncatingIfNeeded: raw)))
        case .long, .int24:
            let raw = try reader.integer(4)
            return unsigned ? .unsigned(raw) : .int(Int64(Int32(truncatingIfNeeded: raw)))
        case .longlong:
            let raw = try reader.integer(8)
            return unsigned ? .unsigned(raw) : .int(Int64(bitPattern: raw))
        case .float: return .double(Double(Float(bitPattern: UInt32(try reader.integer(4)))))
        case .double: return .double(Double(bitPattern: try reader.integer(8)))
        case .date, .datetime, .timestamp: return .dateTime(try dateTime(&reader))
        case .time: return .time(try time(&reader))
        case .null: return .null
        default:
            guard let bytes = try reader.lengthEncodedBytes() else {
                throw MySQLError(.protocolViolation, "NULL marker inside a binary row")
            }
            return try textValue(bytes, column)
        }
    }

    private static func dateTime(_ reader: inout MySQLPayloadReader) throws(MySQLError) -> MySQLDateTime {
        let length = try reader.uint8()
        guard [0, 4, 7, 11].contains(length) else { throw MySQLError(.protocolViolation, "a DATETIME of \(length) bytes") }
        var value = MySQLDateTime(year: 0, month: 0, day: 0)
        if length >= 4 {
            value.year = Int(try reader.integer(2))
            value.month = Int(try reader.uint8())
            value.day = Int(try reader.uint8())
        }
        if length >= 7 {
            value.hour = Int(try reader.uint8())
            value.minute = Int(try reader.uint8())
            value.second = Int(try reader.uint8())
        }
        if length == 11 { value.microsecond = Int(try reader.uint32()) }
        return value
    }

    private static func time(_ reader: inout MySQLPayloadReader) throws(MySQLError) -> MySQLTime {
        let length = try reader.uint8()
        guard [0, 8, 12].contains(length) else { throw MySQLError(.protocolViolation, "a TIME of \(length) bytes") }
        var value = MySQLTime(hours: 0, minutes: 0, seconds: 0)
        if length >= 8 {
            value.isNegative = try reader.uint8() == 1
            let days = Int(try reader.uint32())
            value.hours = days * 24 + Int(try reader.uint8())
            value.minutes = Int(try reader.uint8())
            value.seconds = Int(try reader.uint8())
        }
        if length == 12 { value.microseconds = Int(try reader.uint32()) }
        return value
    }
}
