/// One row: its values in column order, reachable by index or column name.
public struct MySQLRow: Sendable, Equatable {
    public let columns: [MySQLColumn]
    public let values: [MySQLValue]

    public init(columns: [MySQLColumn], values: [MySQLValue]) {
        self.columns = columns
        self.values = values
    }

    public subscript(index: Int) -> MySQLValue { values[index] }

    /// The value of the first column called `name` (or nil when there is none).
    public subscript(name: String) -> MySQLValue? {
        columns.firstIndex { $0.name == name }.map { values[$0] }
    }
}

/// What one statement produced: rows with their columns, or the counts of an INSERT/UPDATE/DELETE.
public struct MySQLResultSet: Sendable, Equatable {
    public var columns: [MySQLColumn] = []
    public var rows: [MySQLRow] = []
    /// Rows changed by INSERT, UPDATE, DELETE (0 for a SELECT).
    public var affectedRows: UInt64 = 0
    /// The AUTO_INCREMENT value the statement generated, or 0.
    public var lastInsertID: UInt64 = 0
    public var warnings: UInt16 = 0
    /// The server's status flags after the statement (e.g. 0x0001: in a transaction).
    public var status: UInt16 = 0
    /// The OK packet's human-readable info ("Rows matched: 1  Changed: 1  Warnings: 0").
    public var info: String = ""

    public init() {}

    /// Decodes every row into `T`, by column name (see `MySQLRow.decode`).
    public func decode<T: Decodable>(_ type: T.Type) throws(MySQLError) -> [T] {
        var decoded: [T] = []
        decoded.reserveCapacity(rows.count)
        for row in rows { decoded.append(try row.decode(type)) }
        return decoded
    }
}

/// Everything a call produced: one result set per statement (several for a multi-statement query or a
/// stored procedure). The first one's rows and counts are also reachable directly.
///
/// ```swift
/// pool.query("SELECT id, name FROM users") { result in
///     for row in (try? result.get().rows) ?? [] { print(row["id"]!, row["name"]!) }
/// }
/// ```
public struct MySQLResult: Sendable, Equatable {
    public var sets: [MySQLResultSet]

    public init(sets: [MySQLResultSet]) { self.sets = sets }

    public var columns: [MySQLColumn] { sets.first?.columns ?? [] }
    public var rows: [MySQLRow] { sets.first?.rows ?? [] }
    public var affectedRows: UInt64 { sets.first?.affectedRows ?? 0 }
    public var lastInsertID: UInt64 { sets.first?.lastInsertID ?? 0 }

    /// The first result set's rows decoded into `T`.
    public func decode<T: Decodable>(_ type: T.Type) throws(MySQLError) -> [T] {
        try (sets.first ?? MySQLResultSet()).decode(type)
    }
}
