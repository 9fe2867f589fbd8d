/// The commands a client sends once logged in, as the packets that carry them (each starts an exchange,
/// so its sequence id is 0).
enum MySQLCommand {
    /// COM_QUERY: text protocol, possibly several statements.
    case query(String)
    /// COM_STMT_PREPARE.
    case prepare(String)
    /// COM_STMT_EXECUTE with the parameters bound in the binary protocol (never interpolated).
    case execute(MySQLStatement, [MySQLValue])
    /// COM_STMT_CLOSE: the server does not answer.
    case closeStatement(UInt32)
    /// COM_PING.
    case ping
    /// COM_QUIT: the server closes without answering.
    case quit

    /// Whether the server answers this command.
    var expectsResponse: Bool {
        switch self {
        case .closeStatement, .quit: false
        default: true
        }
    }

    var packet: MySQLPacket { MySQLPacket(sequenceID: 0, payload: payload) }

    var payload: [UInt8] {
        switch self {
        case .query(let sql): [0x03] + Array(sql.utf8)
        case .prepare(let sql): [0x16] + Array(sql.utf8)
        case .execute(let statement, let parameters): Self.execute(statement.id, parameters)
        case .closeStatement(let id):
            [0x19, UInt8(truncatingIfNeeded: id), UInt8(truncatingIfNeeded: id >> 8), UInt8(truncatingIfNeeded: id >> 16),
             UInt8(truncatingIfNeeded: id >> 24)]
        case .ping: [0x0E]
        case .quit: [0x01]
        }
    }

    /// COM_STMT_EXECUTE: statement id, no cursor, one iteration, then the NULL bitmap, "types follow",
    /// each parameter's type (with 0x80 for unsigned), and the non-NULL values.
    static func execute(_ id: UInt32, _ parameters: [MySQLValue]) -> [UInt8] {
        var payload: [UInt8] = [0x17]
        payload.appendInteger(UInt64(id), width: 4)
        payload.append(0x00)
        payload.appendInteger(1, width: 4)
        guard !parameters.isEmpty else { return payload }
        var bitmap = [UInt8](repeating: 0, count: (parameters.count + 7) / 8)
        for (index, value) in parameters.enumerated() where value == .null { bitmap[index / 8] |= 1 << UInt8(index % 8) }
        payload += bitmap
        payload.append(0x01)
        for value in parameters {
            let (type, unsigned) = parameterType(value)
            payload.append(type.rawValue)
            payload.append(unsigned ? 0x80 : 0x00)
        }
        for value in parameters { appendBinary(value, to: &payload) }
        return payload
    }

    static func parameterType(_ value: MySQLValue) -> (MySQLColumnType, Bool) {
        switch value {
        case .null: (.null, false)
        case .int: (.longlong, false)
        case .unsigned: (.longlong, true)
        case .double: (.double, false)
        case .decimal: (.newDecimal, false)
        case .bytes: (.blob, false)
        case .string: (.varString, false)
        case .dateTime: (.datetime, false)
        case .time: (.time, false)
        }
    }

    static func appendBinary(_ value: MySQLValue, to payload: inout [UInt8]) {
        switch value {
        case .null: break
        case .int(let number): payload.appendInteger(UInt64(bitPattern: number), width: 8)
        case .unsigned(let number): payload.appendInteger(number, width: 8)
        case .double(let number): payload.appendInteger(number.bitPattern, width: 8)
        case .decimal(let text), .string(let text): payload.appendLengthEncoded(bytes: text.utf8)
        case .bytes(let bytes): payload.appendLengthEncoded(bytes: bytes)
        case .dateTime(let date):
            payload.append(11)
            payload.appendInteger(UInt64(clamping: date.year), width: 2)
            for field in [date.month, date.day, date.hour, date.minute, date.second] { payload.append(UInt8(clamping: field)) }
            payload.appendInteger(UInt64(clamping: date.microsecond), width: 4)
        case .time(let time):
            payload.append(12)
            payload.append(time.isNegative ? 1 : 0)
            payload.appendInteger(UInt64(clamping: time.hours / 24), width: 4)
            for field in [time.hours % 24, time.minutes, time.seconds] { payload.append(UInt8(clamping: field)) }
            payload.appendInteger(UInt64(clamping: time.microseconds), width: 4)
        }
    }
}
