import WorkermanTransport

/// Drives the client's protocol side through whatever a server might send, for the libFuzzer target
/// (Fuzz/MySQLFuzz) and its corpus replay in `swift test`: one shared body, so both check the same.
///
/// The first input byte picks the exchange (bits 0–1: a text query, a prepared execute, a prepare, or a
/// login from the greeting on); the rest is the server's byte stream. It is framed by `MySQLPacketCodec`
/// and fed to a `MySQLSession`, whole and again one byte at a time: the two traces must agree, and
/// nothing may trap. The loose decoders (greeting, column, OK, ERR, text and binary rows) also get the
/// raw stream.
package enum MySQLStreamCheck {
    /// The traces of the whole run and of the byte-by-byte run (equal unless something is wrong).
    package static func run(_ input: [UInt8]) -> (whole: [String], byteByByte: [String]) {
        guard let settings = input.first else { return ([], []) }
        let stream = Array(input.dropFirst())
        looseDecoders(stream)
        let whole = trace(stream, settings: settings, pieceSize: max(1, stream.count))
        let bytes = trace(stream, settings: settings, pieceSize: 1)
        return (whole, bytes)
    }

    private static let sampleColumns = [
        MySQLColumn(name: "i", type: .long), MySQLColumn(name: "u", type: .longlong, flags: 0x20),
        MySQLColumn(name: "s", type: .varString), MySQLColumn(name: "d", type: .datetime),
        MySQLColumn(name: "t", type: .time), MySQLColumn(name: "f", type: .double),
        MySQLColumn(name: "b", type: .blob, characterSet: 63), MySQLColumn(name: "n", type: .newDecimal),
    ]

    private static func looseDecoders(_ stream: [UInt8]) {
        _ = try? MySQLGreeting.parse(stream)
        _ = try? MySQLColumn.parse(stream)
        _ = try? MySQLOK.parse(stream)
        _ = MySQLError.parse(stream).description
        _ = (try? MySQLRowDecoding.textRow(stream, columns: sampleColumns))?.map(\.description)
        _ = (try? MySQLRowDecoding.binaryRow(stream, columns: sampleColumns))?.map(\.description)
    }

    private static func command(_ settings: UInt8) -> MySQLCommand? {
        switch settings & 3 {
        case 0: .query("SELECT 1")
        case 1: .execute(MySQLStatement(id: 1, parameterCount: 1, columns: []), [.int(1)])
        case 2: .prepare("SELECT ?")
        default: nil  // a login
        }
    }

    private static func trace(_ stream: [UInt8], settings: UInt8, pieceSize: Int) -> [String] {
        // Bit 2: a secure transport; bit 3: full authentication may ask for the server's RSA key; bit 4:
        // TLS preferred (the SSLRequest path, the stream "secured" at once).
        var session = MySQLSession(
            credentials: .init(
                user: "u", password: "p", database: "d", isSecureTransport: settings & 4 != 0,
                tls: settings & 16 != 0 ? .prefer : .disabled, allowPublicKeyRetrieval: settings & 8 != 0
            )
        )
        var trace: [String] = []
        let command = command(settings)
        if command != nil {
            // Logged in with the greeting and OK a server sends, then the command started.
            _ = try? session.receive(MySQLPacket(sequenceID: 0, payload: loginGreeting))
            _ = try? session.receive(MySQLPacket(sequenceID: 2, payload: [0, 0, 0, 2, 0, 0, 0]))
            if let command { _ = session.start(command) }
        }
        var codec = MySQLPacketCodec()
        var context = CodecContext(maxPackageSize: 1 << 20, isClient: true)
        var buffer: [UInt8] = []
        var offset = 0
        while offset < stream.count {
            buffer += stream[offset..<min(stream.count, offset + pieceSize)]
            offset += pieceSize
            while true {
                let decision = buffer.withUnsafeBytes { codec.input($0, &context) }
                guard case .message(let length) = decision else {
                    if case .reject(let reason) = decision { trace.append("reject \(reason)") }
                    if case .needMore = decision { break }
                    return trace
                }
                let packet = try? buffer.withUnsafeBytes { bytes throws(CodecRejection) in
                    try codec.decode(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), &context)
                }
                buffer.removeFirst(length)
                guard let packet = packet ?? nil else {
                    trace.append("undecodable")
                    return trace
                }
                do {
                    for output in try session.receive(packet) {
                        trace.append(describe(output))
                        if output == .startTLS { trace += session.secured().map(describe) }
                    }
                } catch {
                    trace.append("fatal \(error.code)")
                    return trace
                }
                if session.isReady, let command { _ = session.start(command) }
            }
        }
        return trace
    }

    private static func describe(_ output: MySQLSession.Output) -> String {
        switch output {
        case .send(let packet): "send \(packet.sequenceID) \(packet.payload.count)"
        case .ready(let version, let id): "ready \(version) \(id)"
        case .completed(.result(let result)):
            "result " + result.sets.map { set in set.rows.map { $0.values.map(\.description).joined(separator: ",") }.joined(separator: ";") }.joined(separator: "|")
        case .completed(.prepared(let statement)): "prepared \(statement.id) \(statement.parameterCount) \(statement.columns.count)"
        case .completed(.pong): "pong"
        case .failed(let error): "failed \(error.serverCode ?? 0)"
        case .startTLS: "start TLS"
        }
    }

    /// A minimal protocol-4.1 greeting offering mysql_native_password.
    private static let loginGreeting: [UInt8] = {
        var payload: [UInt8] = [10]
        payload.appendNulTerminated("fuzz")
        payload.appendInteger(1, width: 4)
        payload += Array(1...8) + [0]
        let capabilities = MySQLCapabilities.client.rawValue
        payload.appendInteger(UInt64(capabilities & 0xFFFF), width: 2)
        payload += [45, 2, 0]
        payload.appendInteger(UInt64(capabilities >> 16), width: 2)
        payload.append(21)
        payload += [UInt8](repeating: 0, count: 10) + Array(9...20) + [0]
        payload.appendNulTerminated("mysql_native_password")
        return payload
    }()
}
