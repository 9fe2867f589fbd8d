/// A column's metadata from a result set (Protocol::ColumnDefinition41).
public struct MySQLColumn: Equatable, Sendable {
    public var schema: String
    public var table: String
    public var name: String
    public var originalName: String
    /// The collation id; 63 marks binary data.
    public var characterSet: UInt16
    public var length: UInt32
    public var type: MySQLColumnType
    public var flags: UInt16
    public var decimals: UInt8

    public var isUnsigned: Bool { flags & 0x20 != 0 }
    public var isBinary: Bool { characterSet == 63 }

    public init(name: String, type: MySQLColumnType, flags: UInt16 = 0, characterSet: UInt16 = 45) {
        self.schema = ""
        self.table = ""
        self.name = name
        self.originalName = name
        self.characterSet = characterSet
        self.length = 0
        self.type = type
        self.flags = flags
        self.decimals = 0
    }

    /// Parses a column definition packet.
    static func parse(_ payload: [UInt8]) throws(MySQLError) -> MySQLColumn {
        var reader = MySQLPayloadReader(payload)
        _ = try reader.lengthEncodedBytes()  // catalog, always "def"
        let schema = try reader.lengthEncodedString()
        let table = try reader.lengthEncodedString()
        _ = try reader.lengthEncodedBytes()  // original table
        let name = try reader.lengthEncodedString()
        let originalName = try reader.lengthEncodedString()
        _ = try reader.length()  // length of the fixed fields, 0x0C
        var column = MySQLColumn(name: name, type: .null)
        column.schema = schema
        column.table = table
        column.originalName = originalName
        column.characterSet = try reader.uint16()
        column.length = try reader.uint32()
        column.type = MySQLColumnType(rawValue: try reader.uint8())
        column.flags = try reader.uint16()
        column.decimals = try reader.uint8()
        return column
    }
}

/// The protocol's field types (`enum_field_types`).
public struct MySQLColumnType: RawRepresentable, Equatable, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let decimal = Self(rawValue: 0x00)
    public static let tiny = Self(rawValue: 0x01)
    public static let short = Self(rawValue: 0x02)
    public static let long = Self(rawValue: 0x03)
    public static let float = Self(rawValue: 0x04)
    public static let double = Self(rawValue: 0x05)
    public static let null = Self(rawValue: 0x06)
    public static let timestamp = Self(rawValue: 0x07)
    public static let longlong = Self(rawValue: 0x08)
    public static let int24 = Self(rawValue: 0x09)
    public static let date = Self(rawValue: 0x0A)
    public static let time = Self(rawValue: 0x0B)
    public static let datetime = Self(rawValue: 0x0C)
    public static let year = Self(rawValue: 0x0D)
    public static let varchar = Self(rawValue: 0x0F)
    public static let bit = Self(rawValue: 0x10)
    public static let json = Self(rawValue: 0xF5)
    public static let newDecimal = Self(rawValue: 0xF6)
    public static let enumeration = Self(rawValue: 0xF7)
    public static let set = Self(rawValue: 0xF8)
    public static let tinyBlob = Self(rawValue: 0xF9)
    public static let mediumBlob = Self(rawValue: 0xFA)
    public static let longBlob = Self(rawValue: 0xFB)
    public static let blob = Self(rawValue: 0xFC)
    public static let varString = Self(rawValue: 0xFD)
    public static let string = Self(rawValue: 0xFE)
    public static let geometry = Self(rawValue: 0xFF)

    var isInteger: Bool { [.tiny, .short, .long, .longlong, .int24, .year].contains(self) }
    var isDate: Bool { [.date, .datetime, .timestamp].contains(self) }
}
