// The demo's chat (Examples/Demo) as a program: 50 real WebSocket clients over its 4 chat processes,
// every message counted at every client, a chat process killed with SIGKILL, and bad input.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite("The demo's chat, as a program", .serialized)
struct ChatDemoTests {
    /// Every client sends one message tagged `tag`; each must arrive exactly once at every client of its
    /// room and at nobody else.
    private func round(_ tag: String, senders: [ChatPeer], receivers: [ChatPeer], on testLoop: TestLoop) throws {
        for peer in receivers { peer.forget() }
        for (index, peer) in senders.enumerated() { peer.send("\(tag)-\(index)-from-\(peer.name)") }
        func expected(_ peer: ChatPeer) -> [String] {
            senders.enumerated().filter { $0.element.room == peer.room }.map { "\($0.offset)" }.sorted()
        }
        func received(_ peer: ChatPeer) -> [(room: String, text: String)] { peer.messages.filter { $0.text.hasPrefix(tag + "-") } }
        func missing() -> String {
            receivers.filter { received($0).count < expected($0).count }
                .map { "\($0.name) (\($0.room), pid \($0.pid ?? 0)): \(received($0).count) of \(expected($0).count)" }
                .joined(separator: "; ")
        }
        try testLoop.run(until: "round \(tag) at every client; missing: \(missing())", seconds: 20) {
            receivers.allSatisfy { received($0).count >= expected($0).count }
        }
        // Let duplicates or strays show, if the chat made any.
        try testLoop.run(for: 0.3)
        for peer in receivers {
            let got = received(peer)
            #expect(got.allSatisfy { $0.room == peer.room }, "\(peer.name) in \(peer.room) got another room's message: \(got)")
            let senders = got.map { String($0.text.dropFirst(tag.count + 1).prefix { $0 != "-" }) }.sorted()
            #expect(senders == expected(peer), "\(peer.name) in \(peer.room): each message once")
        }
    }

    @Test(
        "50 clients over 4 chat processes: every message once to every client of its room; a chat process SIGKILLed",
        .timeLimit(.minutes(3))
    )
    func fiftyClientsAcrossProcesses() throws {
        let demo = try ChatDemo(chatCount: 4)
        defer { demo.stop() }
        let testLoop = try TestLoop()

        // Three rooms of 20, 20 and 10; the lobby's clients name no room (it is the default).
        let rooms: [String?] = ["red", "blue", "red", "blue", nil]
        var peers = try (0..<50).map { index in
            try ChatPeer(testLoop.loop, port: demo.chatPort, name: "user\(index)", room: rooms[index % rooms.count])
        }
        try testLoop.run(until: "every client's own join notice\n\(demo.program.output)", seconds: 30) {
            peers.allSatisfy { $0.pid != nil && $0.hasJoined }
        }
        // Spread over the processes: the pids in the welcomes are the chat workers'.
        let chatPIDs = demo.chatPIDs
        var perProcess: [pid_t: Int] = [:]
        for peer in peers { perProcess[peer.pid ?? 0, default: 0] += 1 }
        #expect(Set(perProcess.keys).isSubset(of: chatPIDs), "welcome pids \(perProcess) vs chat processes \(chatPIDs)")
        // The chat listens with SO_REUSEPORT, so the kernel hashes connections over the 4 sockets: one left
        // empty by 50 clients is a (3/4)^50 chance per process.
        #expect(perProcess.count == 4, "50 clients on only \(perProcess.count) of 4 processes: \(perProcess)")
        print("clients per chat process: \(perProcess.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" })")

        try round("first", senders: peers, receivers: peers, on: testLoop)

        // SIGKILL the process with the most clients: nobody else may lose a message.
        guard let victim = perProcess.max(by: { $0.value < $1.value })?.key else { throw HarnessError("no clients") }
        let (gone, survivors) = (peers.filter { $0.pid == victim }, peers.filter { $0.pid != victim })
        kill(victim, SIGKILL)
        try testLoop.run(until: "the killed process's clients to see their connections close") { gone.allSatisfy(\.closed) }
        try round("after-kill", senders: survivors, receivers: survivors, on: testLoop)

        // Its clients come back under the same names: they land on any process (the replacement too).
        try waitUntil("the killed chat process to be replaced") { demo.chatPIDs.count == 4 && !demo.chatPIDs.contains(victim) }
        // Its replacement announces those it held as gone (its roster in GlobalData says who they were).
        guard let redWitness = survivors.first(where: { $0.room == "red" }) else { throw HarnessError("nobody left in red") }
        let goneFromRed = gone.filter { $0.room == "red" }.count
        try testLoop.run(until: "\(goneFromRed) clients announced gone from red: \(redWitness.lines)") {
            redWitness.lines.filter { $0.hasSuffix("left red (connection lost)") }.count >= goneFromRed
        }
        let returning = try gone.map { try ChatPeer(testLoop.loop, port: demo.chatPort, name: $0.name, room: $0.room) }
        try testLoop.run(until: "the returning clients' join notices", seconds: 20) { returning.allSatisfy(\.hasJoined) }
        // They get their room's last messages, from before they came back, and only their room's.
        for peer in returning {
            #expect(!peer.history.isEmpty, "\(peer.name) got no history")
            #expect(peer.history.allSatisfy { $0.hasPrefix("history: [\(peer.room)] ") }, "\(peer.name): \(peer.history)")
        }
        peers = survivors + returning
        try round("reconnected", senders: peers, receivers: peers, on: testLoop)
    }

    @Test("the Channel server SIGKILLed: every client is told, and messages flow again once it is back", .timeLimit(.minutes(2)))
    func channelServerLost() throws {
        let demo = try ChatDemo(chatCount: 2)
        defer { demo.stop() }
        let testLoop = try TestLoop()
        let peers = try (0..<8).map { try ChatPeer(testLoop.loop, port: demo.chatPort, name: "p\($0)", room: "y") }
        try testLoop.run(until: "eight joins") { peers.allSatisfy(\.hasJoined) }
        try round("before", senders: peers, receivers: peers, on: testLoop)

        guard let server = demo.workerPIDs("ChannelServer").first else { throw HarnessError("no Channel server process") }
        kill(server, SIGKILL)
        try testLoop.run(until: "every client told of the lost link") {
            peers.allSatisfy { $0.errors.contains { $0.contains("lost the Channel server") } }
        }
        // The master restarts it; each chat process reconnects, subscribes again, then says so.
        try testLoop.run(until: "every client told the link is back", seconds: 20) {
            peers.allSatisfy { $0.lines.contains("* the Channel server is back") }
        }
        try round("after", senders: peers, receivers: peers, on: testLoop)
    }

    @Test(
        "bad input: an oversized message, a flood, invalid UTF-8 — each answered, counted, and nobody else affected",
        .timeLimit(.minutes(2))
    )
    func badInput() throws {
        let demo = try ChatDemo(chatCount: 2, extra: ["CHAT_MAX_MESSAGE": "100", "CHAT_BURST": "5", "CHAT_RATE": "2"])
        defer { demo.stop() }
        let testLoop = try TestLoop()
        let (flooder, calm, other) = (
            try ChatPeer(testLoop.loop, port: demo.chatPort, name: "flooder", room: "x"),
            try ChatPeer(testLoop.loop, port: demo.chatPort, name: "calm", room: "x"),
            try ChatPeer(testLoop.loop, port: demo.chatPort, name: "other", room: "x")
        )
        let everyone = [flooder, calm, other]
        try testLoop.run(until: "three joins") { everyone.allSatisfy(\.hasJoined) }
        let errorsBefore = try demo.packetErrors()

        // Over the size limit: an error for the sender, nothing for the room; the connection stays.
        flooder.send(String(repeating: "a", count: 101))
        try testLoop.run(until: "the size error") { !flooder.errors.isEmpty }
        #expect(flooder.errors.first?.contains("over the 100-byte limit") == true, "\(flooder.errors)")

        // A flood of 100: at most the burst (5, and 2 a second after it) goes out; the sender is told;
        // a calm client's message still reaches everyone.
        for index in 0..<100 { flooder.send("flood-\(index)") }
        calm.send("calm words")
        try testLoop.run(until: "the calm message everywhere and the rate error") {
            everyone.allSatisfy { $0.messages.contains { $0.text == "calm words" } } && flooder.errors.count >= 2
        }
        try testLoop.run(for: 0.3)
        let flooded = other.messages.filter { $0.text.hasPrefix("flood-") }.count
        #expect((1...7).contains(flooded), "\(flooded) flood messages got through")
        #expect(flooder.errors.last?.contains("too many messages") == true, "\(flooder.errors)")
        #expect(calm.errors.isEmpty && other.errors.isEmpty)

        // Invalid UTF-8 in a text frame: the codec closes with 1007; the others stay.
        let raw = try RawWebSocket(testLoop.loop, port: demo.chatPort)
        try testLoop.run(until: "the raw client's handshake") { raw.upgraded }
        raw.sendText(bytes: [0x68, 0x69, 0xFF, 0xFE])
        try testLoop.run(until: "the 1007 close") { raw.closeCode != nil }
        #expect(raw.closeCode == 1007)

        // Counted: one oversized, the refused flood, one invalid stream.
        let refused = 100 - flooded
        let counted = try demo.packetErrors() - errorsBefore
        #expect(counted == 1 + refused + 1, "packet_err rose by \(counted); \(refused) of the flood were refused")
        calm.send("still here")
        try testLoop.run(until: "a later message") { other.messages.contains { $0.text == "still here" } }
        #expect(everyone.allSatisfy { !$0.closed })
    }
}

/// A WebSocket client that sends frames as bytes, so it can send what the typed client cannot: a text
/// frame that is not UTF-8.
private final class RawWebSocket {
    let connection: TCPClient<RawCodec>
    private var received: [UInt8] = []
    private(set) var upgraded = false

    init(_ loop: EventLoop, port: Int) throws {
        connection = try TCPClient<RawCodec>(loop: loop, url: "tcp://127.0.0.1:\(port)")
        connection.onConnect = { connection in
            connection.send(
                ByteBuffer(
                    "GET /?name=raw&room=x HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
            )
        }
        connection.onMessage = { [unowned self] _, bytes in
            self.received += bytes.withReadableBytes { Array($0) }
            if !self.upgraded, let end = self.received.firstRange(of: Array("\r\n\r\n".utf8)) {
                self.upgraded = true
                self.received.removeSubrange(..<end.upperBound)
            }
        }
        connection.connect()
    }

    /// A masked text frame carrying `bytes` as they are.
    func sendText(bytes: [UInt8]) {
        let key: [UInt8] = [1, 2, 3, 4]
        let frame = [0x81, 0x80 | UInt8(bytes.count)] + key + bytes.enumerated().map { $0.element ^ key[$0.offset % 4] }
        connection.send(ByteBuffer(frame))
    }

    /// The code of the server's close frame, once it came (after any text frames).
    var closeCode: Int? {
        var index = 0
        while index + 4 <= received.count {
            let opcode = received[index] & 0x0F
            // Server frames are unmasked; the chat's lines here stay under 64 KiB (7- or 16-bit lengths).
            var (length, header) = (Int(received[index + 1] & 0x7F), 2)
            if length == 126 { (length, header) = (Int(received[index + 2]) << 8 | Int(received[index + 3]), 4) }
            guard index + header + length <= received.count else { return nil }
            if opcode == 0x8, length >= 2 { return Int(received[index + header]) << 8 | Int(received[index + header + 1]) }
            index += header + length
        }
        return nil
    }
}
