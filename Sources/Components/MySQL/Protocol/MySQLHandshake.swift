import WorkermanProtocols
import WorkermanTLS

/// Capability flags this client uses (Protocol::CapabilityFlags).
struct MySQLCapabilities: OptionSet, Sendable {
    let rawValue: UInt32
    static let longPassword = Self(rawValue: 0x1)
    static let foundRows = Self(rawValue: 0x2)
    static let longFlag = Self(rawValue: 0x4)
    static let connectWithDB = Self(rawValue: 0x8)
    static let protocol41 = Self(rawValue: 0x200)
    static let ssl = Self(rawValue: 0x800)
    static let transactions = Self(rawValue: 0x2000)
    static let secureConnection = Self(rawValue: 0x8000)
    static let multiStatements = Self(rawValue: 0x1_0000)
    static let multiResults = Self(rawValue: 0x2_0000)
    static let psMultiResults = Self(rawValue: 0x4_0000)
    static let pluginAuth = Self(rawValue: 0x8_0000)
    static let pluginAuthLengthEncoded = Self(rawValue: 0x20_0000)

    /// What we ask for (and need the server to offer: protocol 4.1 and secure connection).
    static let client: Self = [
        .longPassword, .longFlag, .protocol41, .transactions, .secureConnection, .multiStatements, .multiResults,
        .psMultiResults, .pluginAuth, .pluginAuthLengthEncoded,
    ]
}

/// The server's greeting (Protocol::HandshakeV10).
struct MySQLGreeting: Equatable {
    var serverVersion: String
    var connectionID: UInt32
    var capabilities: MySQLCapabilities
    var scramble: [UInt8]
    var authPlugin: String

    static func parse(_ payload: [UInt8]) throws(MySQLError) -> MySQLGreeting {
        if payload.first == 0xFF { throw MySQLError.parse(payload) }
        var reader = MySQLPayloadReader(payload)
        let version = try reader.uint8()
        guard version == 10 else {
            throw MySQLError(.protocolViolation, "handshake protocol version \(version), only 10 is spoken")
        }
        let serverVersion = reader.nulTerminatedString()
        let connectionID = try reader.uint32()
        var scramble = Array(try reader.bytes(8))
        try reader.skip(1)
        var capabilities = UInt32(try reader.uint16())
        var plugin = "mysql_native_password"
        if !reader.isAtEnd {
            _ = try reader.uint8()  // character set
            _ = try reader.uint16()  // status
            capabilities |= UInt32(try reader.uint16()) << 16
            let scrambleLength = Int(try reader.uint8())
            try reader.skip(10)
            let flags = MySQLCapabilities(rawValue: capabilities)
            if flags.contains(.secureConnection) {
                let rest = max(13, scrambleLength - 8)
                var part = Array(try reader.bytes(min(rest, reader.remaining)))
                if part.last == 0 { part.removeLast() }
                scramble += part
            }
            if flags.contains(.pluginAuth) { plugin = reader.nulTerminatedString() }
        }
        return MySQLGreeting(
            serverVersion: serverVersion,
            connectionID: connectionID,
            capabilities: MySQLCapabilities(rawValue: capabilities),
            scramble: scramble,
            authPlugin: plugin
        )
    }
}

/// The authentication methods: how a password and the server's scramble become the answer.
enum MySQLAuthentication {
    /// utf8mb4_general_ci, the collation MariaDB and MySQL 5.7 default utf8mb4 to.
    static let utf8mb4 = UInt8(45)

    /// The scramble answer for `plugin`, or nil for a plugin this client does not speak.
    static func scramble(plugin: String, password: String, seed: [UInt8]) -> [UInt8]? {
        switch plugin {
        case "mysql_native_password": nativePassword(password, seed: seed)
        case "caching_sha2_password": cachingSHA2(password, seed: seed)
        // The clear-text plugin sends the password itself (the server offers it only where that is safe).
        case "mysql_clear_password": Array(password.utf8) + [0]
        default: nil
        }
    }

    /// SHA1(password) XOR SHA1(seed + SHA1(SHA1(password))); empty for an empty password.
    static func nativePassword(_ password: String, seed: [UInt8]) -> [UInt8] {
        guard !password.isEmpty else { return [] }
        let stage1 = SHA1.hash(Array(password.utf8))
        let stage2 = SHA1.hash(stage1)
        let mask = SHA1.hash(Array(seed.prefix(20)) + stage2)
        return zip(stage1, mask).map { $0 ^ $1 }
    }

    /// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + seed); empty for an empty password.
    static func cachingSHA2(_ password: String, seed: [UInt8]) -> [UInt8] {
        guard !password.isEmpty else { return [] }
        let stage1 = SHA256.hash(Array(password.utf8))
        let stage2 = SHA256.hash(stage1)
        let mask = SHA256.hash(stage2 + Array(seed.prefix(20)))
        return zip(stage1, mask).map { $0 ^ $1 }
    }

    /// The password (NUL-terminated) XOR the scramble, encrypted with RSA-OAEP to the server's public
    /// key (PEM): what caching_sha2_password's full authentication sends without TLS.
    static func encryptedPassword(_ password: String, seed: [UInt8], key: [UInt8]) throws(MySQLError) -> [UInt8] {
        guard !seed.isEmpty else { throw MySQLError(.authentication, "no scramble to mix the password with") }
        var plain = Array(password.utf8) + [0]
        for index in plain.indices { plain[index] ^= seed[index % seed.count] }
        do {
            return try RSAPublicKey(pem: key).encryptOAEP(plain)
        } catch {
            throw MySQLError(.authentication, "cannot encrypt the password to the server's RSA key: \(error)")
        }
    }

    /// Protocol::HandshakeResponse41.
    static func response(
        user: String,
        authData: [UInt8],
        database: String?,
        plugin: String,
        serverCapabilities: MySQLCapabilities,
        tls: Bool = false
    ) -> [UInt8] {
        var capabilities = MySQLCapabilities.client.intersection(serverCapabilities)
        if tls { capabilities.insert(.ssl) }
        if let database, !database.isEmpty, serverCapabilities.contains(.connectWithDB) {
            capabilities.insert(.connectWithDB)
        }
        var payload: [UInt8] = []
        payload.appendInteger(UInt64(capabilities.rawValue), width: 4)
        payload.appendInteger(UInt64(MySQLPacketCodec.maxPartLength), width: 4)
        payload.append(utf8mb4)
        payload.append(contentsOf: repeatElement(0, count: 23))
        payload.appendNulTerminated(user)
        if capabilities.contains(.pluginAuthLengthEncoded) {
            payload.appendLengthEncoded(bytes: authData)
        } else {
            payload.append(UInt8(authData.count))
            payload.append(contentsOf: authData)
        }
        if capabilities.contains(.connectWithDB), let database { payload.appendNulTerminated(database) }
        if capabilities.contains(.pluginAuth) { payload.appendNulTerminated(plugin) }
        return payload
    }
}
