extension MySQLRow {
    /// Decodes the row into `T`, one property per column of the same name (`CodingKeys` rename them).
    /// Numbers convert where no precision is lost; `MySQLValue`, `MySQLDateTime` and `MySQLTime`
    /// properties take the value as it is; NULL decodes as nil for optionals.
    ///
    /// ```swift
    /// struct User: Decodable { let id: Int; let name: String; let email: String? }
    /// let users = try result.decode(User.self)
    /// ```
    public func decode<T: Decodable>(_ type: T.Type) throws(MySQLError) -> T {
        do {
            return try T(from: MySQLRowDecoder(row: self))
        } catch let error as MySQLError {
            throw error
        } catch {
            throw MySQLError(.decoding, "\(T.self): \(error)")
        }
    }
}

/// A `Decoder` over one row: keyed by column name, each column a single value.
struct MySQLRowDecoder: Decoder {
    let row: MySQLRow
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RowContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw MySQLError(.decoding, "a row decodes into a keyed type (a struct), not an array")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        guard row.values.count == 1 else { throw MySQLError(.decoding, "a single value from a row of \(row.values.count) columns") }
        return MySQLValueDecoder(value: row.values[0], column: row.columns[0].name)
    }

    struct RowContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: MySQLRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.columns.compactMap { Key(stringValue: $0.name) } }

        func contains(_ key: Key) -> Bool { row[key.stringValue] != nil }

        private func value(_ key: Key) throws -> MySQLValueDecoder {
            guard let value = row[key.stringValue] else { throw MySQLError(.decoding, "no column \(key.stringValue)") }
            return MySQLValueDecoder(value: value, column: key.stringValue)
        }

        func decodeNil(forKey key: Key) throws -> Bool { (row[key.stringValue] ?? .null) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(key).decode(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw MySQLError(.decoding, "column \(key.stringValue) holds one value, not a nested object")
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw MySQLError(.decoding, "column \(key.stringValue) holds one value, not an array")
        }

        func superDecoder() throws -> any Decoder { MySQLRowDecoder(row: row) }
        func superDecoder(forKey key: Key) throws -> any Decoder { MySQLRowDecoder(row: row) }
    }
}

/// One column's value as a `SingleValueDecodingContainer` (and a `Decoder`, for wrapper types).
struct MySQLValueDecoder: SingleValueDecodingContainer, Decoder {
    let value: MySQLValue
    let column: String
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw mismatch("an object")
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch("an array") }
    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    private func mismatch(_ wanted: String) -> MySQLError {
        MySQLError(.decoding, "column \(column): \(value) is not \(wanted)")
    }

    func decodeNil() -> Bool { value == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard let number = value.int, number == 0 || number == 1 else { throw mismatch("a Bool") }
        return number == 1
    }

    func decode(_ type: String.Type) throws -> String {
        guard let text = value.string else { throw mismatch("a String") }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double {
        guard let number = value.double else { throw mismatch("a Double") }
        return number
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        let converted: I? = switch value {
        case .int(let number): I(exactly: number)
        case .unsigned(let number): I(exactly: number)
        case .decimal(let text), .string(let text): I(text)
        case .double(let number): I(exactly: number)
        default: nil
        }
        guard let converted else { throw mismatch("a \(I.self)") }
        return converted
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // The types that are values here, not structures to take apart.
        if let value = value as? T { return value }
        switch value {
        case .dateTime(let date): if let date = date as? T { return date }
        case .time(let time): if let time = time as? T { return time }
        case .bytes(let bytes): if let bytes = bytes as? T { return bytes }
        case .string(let text): if let bytes = Array(text.utf8) as? T { return bytes }
        default: break
        }
        return try T(from: self)
    }
}
