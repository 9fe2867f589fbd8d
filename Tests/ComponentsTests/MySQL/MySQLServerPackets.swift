@testable import WorkermanMySQL

/// Packets a MySQL server sends, for scripted tests and the fake servers: recorded where a real
/// server's bytes matter (the greeting), built otherwise.
enum ServerPackets {
    /// MariaDB 10.11's greeting, recorded from a real server (connection 5, mysql_native_password).
    static let mariaDBGreeting: [UInt8] = hex(
        "0a352e352e352d31302e31312e31392d4d6172696144422d302b6465623132753100050000006265555a427d6f3500fef7080200ff81150000000000001d0000005636484666503c7b78682371006d7973716c5f6e61746976655f70617373776f726400"
    )

    /// A MySQL 8 style greeting offering `caching_sha2_password`, with the seed 1...20.
    static func greeting(plugin: String = "caching_sha2_password", offersTLS: Bool = false) -> [UInt8] {
        var payload: [UInt8] = [10]
        payload.appendNulTerminated("8.0.36")
        payload.appendInteger(42, width: 4)
        payload += Array(1...8)
        payload.append(0)
        let capabilities = MySQLCapabilities.client.rawValue | MySQLCapabilities.connectWithDB.rawValue | (offersTLS ? MySQLCapabilities.ssl.rawValue : 0)
        payload.appendInteger(UInt64(capabilities & 0xFFFF), width: 2)
        payload.append(45)
        payload.appendInteger(2, width: 2)
        payload.appendInteger(UInt64(capabilities >> 16), width: 2)
        payload.append(21)
        payload += [UInt8](repeating: 0, count: 10)
        payload += Array(9...20) + [0]
        payload.appendNulTerminated(plugin)
        return payload
    }

    static func ok(affected: UInt64 = 0, insertID: UInt64 = 0, status: UInt16 = 0x0002) -> [UInt8] {
        var payload: [UInt8] = [0x00]
        payload.appendLengthEncoded(affected)
        payload.appendLengthEncoded(insertID)
        payload.appendInteger(UInt64(status), width: 2)
        payload.appendInteger(0, width: 2)
        return payload
    }

    static func eof(status: UInt16 = 0x0002) -> [UInt8] {
        var payload: [UInt8] = [0xFE, 0, 0]
        payload.appendInteger(UInt64(status), width: 2)
        return payload
    }

    static func error(_ code: UInt16, _ state: String, _ message: String) -> [UInt8] {
        var payload: [UInt8] = [0xFF]
        payload.appendInteger(UInt64(code), width: 2)
        payload += Array(("#" + state + message).utf8)
        return payload
    }

    static func column(_ name: String, _ type: MySQLColumnType, flags: UInt16 = 0, charset: UInt16 = 45) -> [UInt8] {
        var payload: [UInt8] = []
        for part in ["def", "wmtest", "t", "t", name, name] { payload.appendLengthEncoded(bytes: part.utf8) }
        payload.append(0x0C)
        payload.appendInteger(UInt64(charset), width: 2)
        payload.appendInteger(255, width: 4)
        payload.append(type.rawValue)
        payload.appendInteger(UInt64(flags), width: 2)
        payload += [0, 0, 0]
        return payload
    }

    static func textRow(_ values: [String?]) -> [UInt8] {
        var payload: [UInt8] = []
        for value in values {
            if let value { payload.appendLengthEncoded(bytes: value.utf8) } else { payload.append(0xFB) }
        }
        return payload
    }

    /// A whole text result set, as packets numbered from `sequence`.
    static func resultSet(columns: [[UInt8]], rows: [[UInt8]], status: UInt16 = 0x0002, from sequence: UInt8 = 1) -> [MySQLPacket] {
        var payloads: [[UInt8]] = [[UInt8(columns.count)]]
        payloads += columns
        payloads.append(eof())
        payloads += rows
        payloads.append(eof(status: status))
        return payloads.enumerated().map { MySQLPacket(sequenceID: sequence &+ UInt8($0.offset), payload: $0.element) }
    }

    /// Packets on the wire.
    static func wire(_ packets: [MySQLPacket]) -> [UInt8] {
        var buffer = ByteBufferShim()
        for packet in packets { buffer.write(packet) }
        return buffer.bytes
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

import WorkermanTransport

/// Encodes packets as the codec does.
struct ByteBufferShim {
    var buffer = ByteBuffer()
    mutating func write(_ packet: MySQLPacket) { MySQLPacketCodec.write(packet, into: &buffer) }
    var bytes: [UInt8] { buffer.bytes }
}
