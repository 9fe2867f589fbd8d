/// Where reading a command's response stands after one packet.
enum MySQLReadStep {
    /// More packets belong to this response.
    case more
    /// Send this payload (with the next sequence id) and keep reading.
    case reply([UInt8])
    case done(MySQLSession.Completion)
    /// The server refused the command with an ERR packet.
    case refused(MySQLError)
}

/// Status flags the reader needs.
enum MySQLServerStatus {
    static let inTransaction: UInt16 = 0x0001
    static let moreResultsExist: UInt16 = 0x0008
}

/// Reads the response to COM_QUERY or COM_STMT_EXECUTE: OK, ERR, or result sets (column count, column
/// definitions, EOF, rows, EOF), one after another while the server says more results exist.
struct MySQLResultReader {
    enum Stage {
        case header
        case columns(remaining: Int)
        case columnsEnd
        case rows
    }

    let binary: Bool
    private var stage = Stage.header
    private var sets: [MySQLResultSet] = []
    private var current = MySQLResultSet()
    /// Set when the server asked for a local file we refuse to send; reported when the exchange ends.
    private var refusal: MySQLError?

    init(binary: Bool) {
        self.binary = binary
    }

    mutating func receive(_ packet: MySQLPacket) throws(MySQLError) -> MySQLReadStep {
        let payload = packet.payload
        switch stage {
        case .header:
            switch payload.first {
            case nil: throw MySQLError(.protocolViolation, "an empty packet where a result header was expected")
            case 0x00:
                let ok = try MySQLOK.parse(payload)
                current.affectedRows = ok.affectedRows
                current.lastInsertID = ok.lastInsertID
                current.status = ok.status
                current.warnings = ok.warnings
                current.info = ok.info
                return endSet()
            case 0xFF:
                return .refused(MySQLError.parse(payload))
            case 0xFB:
                // LOAD DATA LOCAL INFILE: answer with an empty file, so the exchange ends in step.
                refusal = MySQLError(.invalidArgument, "LOAD DATA LOCAL INFILE is not supported")
                return .reply([])
            default:
                var reader = MySQLPayloadReader(payload)
                let count = try reader.length()
                guard reader.isAtEnd, count > 0, count <= 4096 else {
                    throw MySQLError(.protocolViolation, "a result set header announcing \(count) columns")
                }
                current.columns.reserveCapacity(count)
                stage = .columns(remaining: count)
                return .more
            }
        case .columns(let remaining):
            guard !packet.isError, !packet.isEOF else {
                throw MySQLError(.protocolViolation, "the result set ended with \(remaining) column definitions missing")
            }
            current.columns.append(try MySQLColumn.parse(payload))
            stage = remaining == 1 ? .columnsEnd : .columns(remaining: remaining - 1)
            return .more
        case .columnsEnd:
            guard packet.isEOF else { throw MySQLError(.protocolViolation, "no EOF after the column definitions") }
            stage = .rows
            return .more
        case .rows:
            if packet.isError { return .refused(MySQLError.parse(payload)) }
            if packet.isEOF {
                var reader = MySQLPayloadReader(payload, offset: 1)
                if reader.remaining >= 4 {
                    current.warnings = try reader.uint16()
                    current.status = try reader.uint16()
                }
                return endSet()
            }
            let values = binary
                ? try MySQLRowDecoding.binaryRow(payload, columns: current.columns)
                : try MySQLRowDecoding.textRow(payload, columns: current.columns)
            current.rows.append(MySQLRow(columns: current.columns, values: values))
            return .more
        }
    }

    private mutating func endSet() -> MySQLReadStep {
        let more = current.status & MySQLServerStatus.moreResultsExist != 0
        sets.append(current)
        current = MySQLResultSet()
        stage = .header
        if more { return .more }
        if let refusal { return .refused(refusal) }
        return .done(.result(MySQLResult(sets: sets)))
    }
}

/// An OK packet's fields.
struct MySQLOK {
    var affectedRows: UInt64
    var lastInsertID: UInt64
    var status: UInt16
    var warnings: UInt16
    var info: String

    static func parse(_ payload: [UInt8]) throws(MySQLError) -> MySQLOK {
        var reader = MySQLPayloadReader(payload, offset: 1)
        let affected = try reader.lengthEncoded() ?? 0
        let insertID = try reader.lengthEncoded() ?? 0
        let status = try reader.uint16()
        let warnings = try reader.uint16()
        return MySQLOK(
            affectedRows: affected,
            lastInsertID: insertID,
            status: status,
            warnings: warnings,
            info: String(decoding: reader.rest(), as: UTF8.self)
        )
    }
}

/// The shape COM_STMT_PREPARE reports: statement id, parameter and column counts, then their definitions.
struct MySQLStatement: Equatable, Sendable {
    var id: UInt32 = 0
    var parameterCount = 0
    var columns: [MySQLColumn] = []
}

/// Reads COM_STMT_PREPARE's response: the OK with counts, the parameter definitions and EOF, the column
/// definitions and EOF.
struct MySQLPrepareReader {
    enum Stage {
        case header
        case parameters(remaining: Int)
        case parametersEnd
        case columns(remaining: Int)
        case columnsEnd
    }

    private var stage = Stage.header
    private var shape = MySQLStatement()
    private var columnCount = 0

    mutating func receive(_ packet: MySQLPacket) throws(MySQLError) -> MySQLReadStep {
        let payload = packet.payload
        switch stage {
        case .header:
            if packet.isError { return .refused(MySQLError.parse(payload)) }
            var reader = MySQLPayloadReader(payload)
            guard try reader.uint8() == 0x00 else { throw MySQLError(.protocolViolation, "COM_STMT_PREPARE answered with neither OK nor ERR") }
            shape.id = try reader.uint32()
            columnCount = Int(try reader.uint16())
            shape.parameterCount = Int(try reader.uint16())
            return next(afterParameters: shape.parameterCount == 0)
        case .parameters(let remaining):
            guard !packet.isEOF, !packet.isError else { throw MySQLError(.protocolViolation, "parameter definitions missing") }
            _ = try MySQLColumn.parse(payload)
            stage = remaining == 1 ? .parametersEnd : .parameters(remaining: remaining - 1)
            return .more
        case .parametersEnd:
            guard packet.isEOF else { throw MySQLError(.protocolViolation, "no EOF after the parameter definitions") }
            return next(afterParameters: true)
        case .columns(let remaining):
            guard !packet.isEOF, !packet.isError else { throw MySQLError(.protocolViolation, "column definitions missing") }
            shape.columns.append(try MySQLColumn.parse(payload))
            stage = remaining == 1 ? .columnsEnd : .columns(remaining: remaining - 1)
            return .more
        case .columnsEnd:
            guard packet.isEOF else { throw MySQLError(.protocolViolation, "no EOF after the column definitions") }
            return .done(.prepared(shape))
        }
    }

    private mutating func next(afterParameters: Bool) -> MySQLReadStep {
        if !afterParameters {
            stage = .parameters(remaining: shape.parameterCount)
            return .more
        }
        if columnCount == 0 { return .done(.prepared(shape)) }
        stage = .columns(remaining: columnCount)
        return .more
    }
}
