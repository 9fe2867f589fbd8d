/// The client side of one MySQL connection as a sans-I/O state machine: packets in, packets to send and
/// outcomes out. It logs in (handshake v10 and the authentication exchange, switches included), then runs
/// one command at a time; the connection around it owns the socket and the queue.
///
/// A thrown error is fatal for the connection (a malformed packet, an unknown authentication method, a
/// login refused); a command the server refused is an `.failed` output and the session stays ready.
struct MySQLSession {
    struct Credentials: Sendable {
        var user: String
        var password: String
        var database: String?
        /// The transport keeps the password from eavesdroppers (TLS, or a unix socket): only then does
        /// `caching_sha2_password`'s full authentication send it as it is.
        var isSecureTransport = false
        /// Answer the greeting with this method instead of the server's default.
        var initialPlugin: String?
        /// Whether to ask for TLS (the connection then secures the stream on `.startTLS`).
        var tls = MySQLTLSMode.disabled
        /// The server's RSA public key (PEM), for full authentication without TLS.
        var serverPublicKey: [UInt8]?
        /// Ask the server for its RSA key when full authentication needs it and none is configured.
        var allowPublicKeyRetrieval = false
    }

    enum Output: Equatable {
        case send(MySQLPacket)
        /// Logged in.
        case ready(serverVersion: String, connectionID: UInt32)
        /// The command in progress finished.
        case completed(Completion)
        /// The command in progress was refused by the server (the session is ready again).
        case failed(MySQLError)
        /// The SSLRequest is sent: secure the stream now, then call `secured()`.
        case startTLS
    }

    enum Completion: Equatable {
        case result(MySQLResult)
        case prepared(MySQLStatement)
        case pong
    }

    enum Phase {
        case awaitingGreeting
        /// The SSLRequest went out; the login `response` follows once the stream is secured.
        case securing(plugin: String, seed: [UInt8], response: [UInt8])
        case authenticating(plugin: String, seed: [UInt8])
        case ready
        case busy(Exchange)
        case closed
    }

    enum Exchange {
        case results(MySQLResultReader)
        case prepare(MySQLPrepareReader)
        case ping
    }

    var credentials: Credentials
    private(set) var phase = Phase.awaitingGreeting
    private(set) var greeting: MySQLGreeting?
    /// The sequence id the next packet from the server must carry.
    private var expectedSequence: UInt8 = 0
    /// The stream keeps the password from eavesdroppers: a unix socket, or TLS once secured.
    private(set) var isSecure: Bool
    /// Full authentication asked the server for its RSA key (`0x02`); its answer is the key.
    private var requestedPublicKey = false

    init(credentials: Credentials) {
        self.credentials = credentials
        isSecure = credentials.isSecureTransport
    }

    var isReady: Bool {
        if case .ready = phase { return true }
        return false
    }

    /// Starts `command` (the session must be ready) and returns the packet to send.
    mutating func start(_ command: MySQLCommand) -> MySQLPacket {
        precondition(isReady, "a MySQL command started while another runs")
        switch command {
        case .query: phase = .busy(.results(MySQLResultReader(binary: false)))
        case .execute: phase = .busy(.results(MySQLResultReader(binary: true)))
        case .prepare: phase = .busy(.prepare(MySQLPrepareReader()))
        case .ping: phase = .busy(.ping)
        case .closeStatement: break
        case .quit: phase = .closed
        }
        let packet = command.packet
        // A payload of 16 MiB or more goes out in several parts, each taking a sequence id.
        expectedSequence = UInt8(truncatingIfNeeded: packet.partCount)
        return packet
    }

    /// Takes one packet from the server.
    mutating func receive(_ packet: MySQLPacket) throws(MySQLError) -> [Output] {
        if case .awaitingGreeting = phase {
            // The greeting's sequence id is 0; everything after counts on from it.
        } else if packet.firstSequenceID != expectedSequence {
            throw MySQLError(.protocolViolation, "packet sequence \(packet.firstSequenceID), expected \(expectedSequence)")
        }
        expectedSequence = packet.sequenceID &+ 1
        switch phase {
        case .awaitingGreeting: return try greet(packet)
        case .securing:
            throw MySQLError(.protocolViolation, "a packet arrived in clear after the SSLRequest, where the TLS handshake belongs")
        case .authenticating(let plugin, let seed): return try authenticate(packet, plugin: plugin, seed: seed)
        case .ready, .closed:
            throw MySQLError(.protocolViolation, "a packet arrived with no command in progress")
        case .busy(.ping):
            phase = .ready
            if packet.isError { return [.failed(MySQLError.parse(packet.payload))] }
            guard packet.payload.first == 0x00 else { throw MySQLError(.protocolViolation, "COM_PING answered with neither OK nor ERR") }
            return [.completed(.pong)]
        case .busy(.results(var reader)):
            let step = try reader.receive(packet)
            return finish(step, saving: { .results(reader) }, reply: packet.sequenceID)
        case .busy(.prepare(var reader)):
            let step = try reader.receive(packet)
            return finish(step, saving: { .prepare(reader) }, reply: packet.sequenceID)
        }
    }

    private mutating func finish(_ step: MySQLReadStep, saving exchange: () -> Exchange, reply sequence: UInt8) -> [Output] {
        switch step {
        case .more:
            phase = .busy(exchange())
            return []
        case .reply(let payload):
            phase = .busy(exchange())
            expectedSequence = sequence &+ 2
            return [.send(MySQLPacket(sequenceID: sequence &+ 1, payload: payload))]
        case .done(let completion):
            phase = .ready
            return [.completed(completion)]
        case .refused(let error):
            phase = .ready
            return [.failed(error)]
        }
    }

    // MARK: - Logging in

    private mutating func greet(_ packet: MySQLPacket) throws(MySQLError) -> [Output] {
        let greeting = try MySQLGreeting.parse(packet.payload)
        guard greeting.capabilities.isSuperset(of: [.protocol41, .secureConnection]) else {
            throw MySQLError(.protocolViolation, "server \(greeting.serverVersion) does not speak protocol 4.1")
        }
        self.greeting = greeting
        var plugin = credentials.initialPlugin ?? greeting.authPlugin
        var authData = MySQLAuthentication.scramble(plugin: plugin, password: credentials.password, seed: greeting.scramble)
        if authData == nil {
            // An unknown default: answer for the native method; the server switches us to what the account uses.
            plugin = "mysql_native_password"
            authData = MySQLAuthentication.nativePassword(credentials.password, seed: greeting.scramble)
        }
        let offersTLS = greeting.capabilities.contains(.ssl)
        if credentials.tls == .require, !offersTLS {
            throw MySQLError(.authentication, "TLS is required (tls: .require) and server \(greeting.serverVersion) does not offer it")
        }
        let useTLS = credentials.tls != .disabled && offersTLS
        let response = MySQLAuthentication.response(
            user: credentials.user,
            authData: authData ?? [],
            database: credentials.database,
            plugin: plugin,
            serverCapabilities: greeting.capabilities,
            tls: useTLS
        )
        if useTLS {
            // Protocol::SSLRequest: the response's fixed first 32 bytes, then TLS on the same stream.
            phase = .securing(plugin: plugin, seed: greeting.scramble, response: response)
            expectedSequence = packet.sequenceID &+ 2
            return [.send(MySQLPacket(sequenceID: packet.sequenceID &+ 1, payload: Array(response.prefix(32)))), .startTLS]
        }
        phase = .authenticating(plugin: plugin, seed: greeting.scramble)
        expectedSequence = packet.sequenceID &+ 2
        return [.send(MySQLPacket(sequenceID: packet.sequenceID &+ 1, payload: response))]
    }

    /// The stream is secured after `.startTLS`: the login response goes out over it.
    mutating func secured() -> [Output] {
        guard case .securing(let plugin, let seed, let response) = phase else { return [] }
        isSecure = true
        phase = .authenticating(plugin: plugin, seed: seed)
        let sequence = expectedSequence
        expectedSequence = sequence &+ 1
        return [.send(MySQLPacket(sequenceID: sequence, payload: response))]
    }

    private mutating func authenticate(_ packet: MySQLPacket, plugin: String, seed: [UInt8]) throws(MySQLError) -> [Output] {
        let payload = packet.payload
        let replySequence = packet.sequenceID &+ 1
        switch payload.first {
        case 0x00:
            phase = .ready
            return [.ready(serverVersion: greeting?.serverVersion ?? "", connectionID: greeting?.connectionID ?? 0)]
        case 0xFF:
            let refused = MySQLError.parse(payload)
            throw MySQLError(.authentication, refused.message, serverCode: refused.serverCode, sqlState: refused.sqlState)
        case 0xFE:
            // Auth switch request: the account uses another method, with a fresh seed.
            var reader = MySQLPayloadReader(payload, offset: 1)
            guard !reader.isAtEnd else {
                throw MySQLError(.authentication, "the server asks for the pre-4.1 password method, which is insecure and not spoken")
            }
            let newPlugin = reader.nulTerminatedString()
            var newSeed = Array(reader.rest())
            if newSeed.last == 0 { newSeed.removeLast() }
            guard let answer = MySQLAuthentication.scramble(plugin: newPlugin, password: credentials.password, seed: newSeed) else {
                throw MySQLError(.authentication, "unknown authentication method \(newPlugin)")
            }
            if newPlugin == "mysql_clear_password", !isSecure {
                throw MySQLError(.authentication, "the server asks for the password in clear text over an unencrypted connection")
            }
            phase = .authenticating(plugin: newPlugin, seed: newSeed)
            expectedSequence = replySequence &+ 1
            return [.send(MySQLPacket(sequenceID: replySequence, payload: answer))]
        case 0x01 where plugin == "caching_sha2_password" && requestedPublicKey:
            // The server's RSA public key, which full authentication asked for.
            requestedPublicKey = false
            return try sendEncryptedPassword(key: Array(payload.dropFirst()), seed: seed, sequence: replySequence)
        case 0x01 where plugin == "caching_sha2_password" && payload.count == 2:
            switch payload[1] {
            case 3:
                return []  // fast authentication succeeded: the OK follows
            case 4:
                return try fullAuthentication(seed: seed, sequence: replySequence)
            default:
                throw MySQLError(.protocolViolation, "caching_sha2_password: unexpected state \(payload[1])")
            }
        default:
            throw MySQLError(.protocolViolation, "unexpected packet 0x\(String(payload.first ?? 0, radix: 16)) while logging in with \(plugin)")
        }
    }

    /// caching_sha2_password's full authentication (the password is not in the server's cache): the
    /// password itself over a secure stream; otherwise encrypted to the server's RSA key, configured or
    /// asked for (`0x02`).
    private mutating func fullAuthentication(seed: [UInt8], sequence: UInt8) throws(MySQLError) -> [Output] {
        expectedSequence = sequence &+ 1
        if isSecure {
            return [.send(MySQLPacket(sequenceID: sequence, payload: Array(credentials.password.utf8) + [0]))]
        }
        if let key = credentials.serverPublicKey {
            return try sendEncryptedPassword(key: key, seed: seed, sequence: sequence)
        }
        guard credentials.allowPublicKeyRetrieval else {
            throw MySQLError(
                .authentication,
                "caching_sha2_password wants full authentication (the password is not in the server's cache): use TLS (tls: .require), or give the server's RSA public key (serverPublicKeyFile), or allow asking the server for it (allowPublicKeyRetrieval)"
            )
        }
        requestedPublicKey = true
        return [.send(MySQLPacket(sequenceID: sequence, payload: [0x02]))]
    }

    private mutating func sendEncryptedPassword(key: [UInt8], seed: [UInt8], sequence: UInt8) throws(MySQLError) -> [Output] {
        let encrypted = try MySQLAuthentication.encryptedPassword(credentials.password, seed: seed, key: key)
        expectedSequence = sequence &+ 1
        return [.send(MySQLPacket(sequenceID: sequence, payload: encrypted))]
    }
}
