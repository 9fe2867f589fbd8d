import Testing
import WorkermanMySQL

@Suite(
    "MySQL: every type, NULLs, big values and Decodable rows, against a real MariaDB",
    .enabled(if: MariaDBServer.isAvailable, "no MariaDB: set WORKERMAN_MYSQL_URL or apt-get install mariadb-server")
)
struct MySQLTypesTests {
    static let columns = """
        id INT AUTO_INCREMENT PRIMARY KEY, ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT,
        ubi BIGINT UNSIGNED, ui INT UNSIGNED, f FLOAT, d DOUBLE, dec_ DECIMAL(20,6), yr YEAR, dt DATE,
        dtm DATETIME(6), ts TIMESTAMP NULL, tm TIME(6), vc VARCHAR(100), tx TEXT, bl BLOB, vb VARBINARY(16),
        en ENUM('a','b'), js JSON, bt BIT(8)
        """

    static let insert = "INSERT INTO %t (ti, si, mi, i, bi, ubi, ui, f, d, dec_, yr, dt, dtm, ts, tm, vc, tx, bl, vb, en, js, bt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

    static let parameters: [MySQLValue] = [
        .int(-128), .int(-32768), .int(-8_388_608), .int(Int64(Int32.min)), .int(Int64.min),
        .unsigned(UInt64.max), .unsigned(UInt64(UInt32.max)), .double(1.5), .double(-2.25e300), .decimal("-12345678901234.123456"),
        .int(2024), .dateTime(MySQLDateTime(year: 2024, month: 2, day: 29)),
        .dateTime(MySQLDateTime(year: 1999, month: 12, day: 31, hour: 23, minute: 59, second: 58, microsecond: 123_456)),
        .dateTime(MySQLDateTime(year: 2030, month: 1, day: 2, hour: 3, minute: 4, second: 5)),
        .time(MySQLTime(isNegative: true, hours: 838, minutes: 59, seconds: 58, microseconds: 500_000)),
        .string("Grüße, 世界 🐬"), .string(String(repeating: "long text ", count: 1000)), .bytes([0, 1, 2, 0xFF, 0xFE, 13, 10]),
        .bytes([0xDE, 0xAD]), .string("b"), .string("{\"k\": [1, 2]}"), .bytes([0xA5]),
    ]

    /// What comes back, by column: equal to what went in, except where the server normalises.
    static let expected: [MySQLValue] = [
        .int(-128), .int(-32768), .int(-8_388_608), .int(Int64(Int32.min)), .int(Int64.min),
        .unsigned(UInt64.max), .unsigned(UInt64(UInt32.max)), .double(1.5), .double(-2.25e300), .decimal("-12345678901234.123456"),
        .unsigned(2024), .dateTime(MySQLDateTime(year: 2024, month: 2, day: 29)),
        .dateTime(MySQLDateTime(year: 1999, month: 12, day: 31, hour: 23, minute: 59, second: 58, microsecond: 123_456)),
        .dateTime(MySQLDateTime(year: 2030, month: 1, day: 2, hour: 3, minute: 4, second: 5)),
        .time(MySQLTime(isNegative: true, hours: 838, minutes: 59, seconds: 58, microseconds: 500_000)),
        .string("Grüße, 世界 🐬"), .string(String(repeating: "long text ", count: 1000)), .bytes([0, 1, 2, 0xFF, 0xFE, 13, 10]),
        .bytes([0xDE, 0xAD]), .string("b"), .string("{\"k\": [1, 2]}"), .bytes([0xA5]),
    ]

    @Test("every type round-trips as a bound parameter, read back in the text and the binary protocol")
    func roundTrip() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let connection = try connected(testLoop, server.configuration)
        defer { connection.close() }
        let table = uniqueTable("types")
        try run(testLoop, connection, "CREATE TABLE \(table) (\(Self.columns))")
        defer { _ = try? run(testLoop, connection, "DROP TABLE \(table)") }
        let inserted = try run(testLoop, connection, Self.insert.replacingTable(table), Self.parameters)
        #expect(inserted.affectedRows == 1 && inserted.lastInsertID == 1)
        let nulls = [MySQLValue](repeating: .null, count: Self.parameters.count)
        #expect(try run(testLoop, connection, Self.insert.replacingTable(table), nulls).lastInsertID == 2)

        let select = "SELECT ti, si, mi, i, bi, ubi, ui, f, d, dec_, yr, dt, dtm, ts, tm, vc, tx, bl, vb, en, js, bt FROM \(table)"
        let text = try run(testLoop, connection, select + " ORDER BY id")
        let binary = try run(testLoop, connection, select + " WHERE id > ? ORDER BY id", [.int(0)])
        for result in [text, binary] {
            #expect(result.rows.count == 2)
            for (index, value) in result.rows[0].values.enumerated() {
                #expect(value == Self.expected[index], "column \(result.columns[index].name)")
            }
            #expect(result.rows[1].values.allSatisfy { $0 == .null })
        }
    }

    @Test("a 20 MiB blob goes up as a parameter and comes back, split in 16 MiB packets both ways")
    func bigBlob() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let connection = try connected(testLoop, server.configuration)
        defer { connection.close() }
        let table = uniqueTable("blob")
        try run(testLoop, connection, "CREATE TABLE \(table) (id INT PRIMARY KEY, b LONGBLOB)")
        defer { _ = try? run(testLoop, connection, "DROP TABLE \(table)") }
        let blob = (0..<(20 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 13) }
        try run(testLoop, connection, "INSERT INTO \(table) VALUES (1, ?)", [.bytes(blob)])
        let back = try run(testLoop, connection, "SELECT b, LENGTH(b) AS n FROM \(table) WHERE id = ?", [.int(1)])
        #expect(back.rows[0]["n"] == .int(Int64(blob.count)))
        #expect(back.rows[0]["b"] == .bytes(blob))
        let text = try run(testLoop, connection, "SELECT b FROM \(table)")
        #expect(text.rows[0][0].bytes?.count == blob.count)
    }

    struct Product: Decodable, Equatable {
        let id: Int
        let name: String
        let price: Double
        let stock: UInt32?
        let added: MySQLDateTime
        let active: Bool
    }

    @Test("rows decode into Decodable types by column name, NULL into optionals")
    func decodable() throws {
        let server = try MariaDBServer.sharedServer()
        let testLoop = try TestLoop()
        let connection = try connected(testLoop, server.configuration)
        defer { connection.close() }
        let table = uniqueTable("products")
        try run(
            testLoop,
            connection,
            "CREATE TABLE \(table) (id INT PRIMARY KEY, name VARCHAR(50), price DECIMAL(8,2), stock INT UNSIGNED NULL, added DATE, active BOOL)"
        )
        defer { _ = try? run(testLoop, connection, "DROP TABLE \(table)") }
        try run(testLoop, connection, "INSERT INTO \(table) VALUES (1, 'pen', 1.25, 10, '2024-01-02', 1), (2, 'ink', 3.5, NULL, '2024-03-04', 0)")
        for parameters in [[], [MySQLValue.int(0)]] {
            let result = try run(testLoop, connection, "SELECT * FROM \(table)\(parameters.isEmpty ? "" : " WHERE id > ?") ORDER BY id", parameters)
            let products = try result.decode(Product.self)
            #expect(
                products == [
                    Product(id: 1, name: "pen", price: 1.25, stock: 10, added: MySQLDateTime(year: 2024, month: 1, day: 2), active: true),
                    Product(id: 2, name: "ink", price: 3.5, stock: nil, added: MySQLDateTime(year: 2024, month: 3, day: 4), active: false),
                ]
            )
        }
        struct Wrong: Decodable { let name: Int }
        #expect(throws: MySQLError.self) { try run(testLoop, connection, "SELECT name FROM \(table)").decode(Wrong.self) }
    }
}

extension String {
    func replacingTable(_ table: String) -> String {
        split(separator: "%t", omittingEmptySubsequences: false).joined(separator: table)
    }
}
