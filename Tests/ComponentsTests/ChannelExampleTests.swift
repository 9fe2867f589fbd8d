// The Channel manual's two examples (Examples/ChannelClusterPush, Examples/ChannelGroupSend), started as
// real programs and driven by WebSocket and HTTP clients on the test's loop.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

@testable import WorkermanComponents

#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client that records every text message.
private final class WebSocketPeer {
    let connection: TCPClient<WebSocketClientCodec>
    var messages: [String] = []

    init(_ loop: EventLoop, port: Int) throws {
        connection = try TCPClient<WebSocketClientCodec>(loop: loop, url: "ws://127.0.0.1:\(port)/")
        connection.onMessage = { [unowned self] _, message in self.messages.append(message.text) }
        connection.connect()
    }

    func send(_ text: String) { connection.send(.text(text)) }
}

/// One HTTP GET; `done` is set when the answer's body arrived.
private final class HTTPGet {
    let connection: TCPClient<RawCodec>
    var response = ""
    var done: Bool { response.hasSuffix("ok") }

    init(_ loop: EventLoop, port: Int, target: String) throws {
        connection = try TCPClient<RawCodec>(loop: loop, url: "tcp://127.0.0.1:\(port)")
        connection.onConnect = { connection in
            connection.send(ByteBuffer("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        }
        connection.onMessage = { [unowned self] connection, bytes in
            self.response += bytes.string
            if self.done { connection.close() }
        }
        connection.connect()
    }
}

private func percentEncoded(_ text: String) -> String {
    text.utf8.map { byte in
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            ? String(UnicodeScalar(byte)) : "%" + String(byte, radix: 16, uppercase: true).leftPadded
    }.joined()
}

extension String {
    fileprivate var leftPadded: String { count == 1 ? "0" + self : self }
}

@Suite("The Channel manual's examples, as programs", .serialized)
struct ChannelExampleTests {
    @Test("cluster push: targeted and broadcast pushes reach WebSocket clients across processes via HTTP", .timeLimit(.minutes(2)))
    func clusterPush() throws {
        let (channelPort, wsPort, httpPort) = (try freePort(), try freePort(), try freePort())
        let program = try ServerProcess(
            program: "channel-cluster-push",
            environment: ["CHANNEL_PORT": "\(channelPort)", "WS_PORT": "\(wsPort)", "HTTP_PORT": "\(httpPort)", "WS_COUNT": "2"]
        )
        defer { program.stop() }
        try program.waitForChildren(4)
        try waitUntil("the ports to listen\n\(program.output)") { isListening(wsPort) && isListening(httpPort) }
        let testLoop = try TestLoop()
        func get(_ target: String) throws {
            let request = try HTTPGet(testLoop.loop, port: httpPort, target: target)
            try testLoop.run(until: "the publisher's ok for \(target)") { request.done }
        }

        // Clients until both pusher processes have some: each is told its worker and connection id.
        var peers: [WebSocketPeer] = []
        var identities: [(worker: String, connection: String)] = []
        while Set(identities.map(\.worker)).count < 2 || peers.count < 4 {
            guard peers.count < 40 else { throw HarnessError("40 clients, all on one process: \(identities)") }
            let peer = try WebSocketPeer(testLoop.loop, port: wsPort)
            try testLoop.run(until: "the greeting\n\(program.output)") { !peer.messages.isEmpty }
            // "workerID:<id> connectionID:<id> connected"
            let parts = peer.messages[0].split(separator: " ").map { $0.split(separator: ":").last.map(String.init) ?? "" }
            peers.append(peer)
            identities.append((parts[0], parts[1]))
            peer.messages.removeAll()
        }
        // Both processes have subscribed once a broadcast reaches every client.
        var probes = 0
        while !peers.allSatisfy({ !$0.messages.isEmpty }) {
            probes += 1
            guard probes < 100 else { throw HarnessError("broadcast probes never reached every client") }
            try get("/?content=probe")
            try testLoop.run(for: 0.05)
        }
        try testLoop.run(for: 0.2)
        for peer in peers { peer.messages.removeAll() }

        for (index, identity) in identities.enumerated() {
            try get("/?to_worker_id=\(identity.worker)&to_connection_id=\(identity.connection)&content=\(percentEncoded("for \(index)"))")
        }
        try get("/?content=\(percentEncoded("to everyone"))")
        try testLoop.run(until: "every client's two messages") { peers.allSatisfy { $0.messages.count >= 2 } }
        try testLoop.run(for: 0.2)
        for (index, peer) in peers.enumerated() {
            #expect(peer.messages == ["for \(index)", "to everyone"], "client \(index) at \(identities[index])")
        }
        // A push to a connection that does not exist is dropped by the pusher; the publisher still answers.
        try get("/?to_worker_id=0&to_connection_id=999999&content=nobody")
    }

    @Test("group send: join a group, send to everyone in it, across processes", .timeLimit(.minutes(2)))
    func groupSend() throws {
        let (channelPort, wsPort) = (try freePort(), try freePort())
        let program = try ServerProcess(
            program: "channel-group-send",
            environment: ["CHANNEL_PORT": "\(channelPort)", "WS_PORT": "\(wsPort)", "WS_COUNT": "2"]
        )
        defer { program.stop() }
        try program.waitForChildren(3)
        try waitUntil("the port to listen\n\(program.output)") { isListening(wsPort) }
        let testLoop = try TestLoop()

        // Members of group "a" until they span both processes; then two members of group "b".
        var members: [WebSocketPeer] = []
        var workers: Set<String> = []
        func join(_ group: String) throws -> WebSocketPeer {
            let peer = try WebSocketPeer(testLoop.loop, port: wsPort)
            peer.send(#"{"cmd":"add_group","group_id":"\#(group)"}"#)
            try testLoop.run(until: "the join") { !peer.messages.isEmpty }
            workers.insert(String(peer.messages[0].split(separator: " ").last ?? ""))
            peer.messages.removeAll()
            return peer
        }
        while workers.count < 2 || members.count < 3 {
            guard members.count < 40 else { throw HarnessError("40 members, all in one process") }
            members.append(try join("a"))
        }
        let others = [try join("b"), try join("b")]
        let everyone = members + others

        // Every process has subscribed once a group message reaches every member of "a".
        var probes = 0
        while !members.allSatisfy({ !$0.messages.isEmpty }) {
            probes += 1
            guard probes < 100 else { throw HarnessError("probes never reached every member") }
            members[0].send(#"{"cmd":"send_to_group","group_id":"a","message":"probe"}"#)
            try testLoop.run(for: 0.05)
        }
        try testLoop.run(for: 0.2)
        for peer in everyone { peer.messages.removeAll() }

        others[0].send(#"{"cmd":"send_to_group","group_id":"a","message":"hello a"}"#)
        members.last!.send(#"{"cmd":"send_to_group","group_id":"b","message":"hello b"}"#)
        try testLoop.run(until: "group messages") {
            members.allSatisfy { !$0.messages.isEmpty } && others.allSatisfy { !$0.messages.isEmpty }
        }
        try testLoop.run(for: 0.2)
        for peer in members { #expect(peer.messages == ["hello a"]) }
        for peer in others { #expect(peer.messages == ["hello b"]) }

        // A member that leaves gets nothing more; the rest still do.
        members[0].connection.close()
        try testLoop.run(for: 0.1)
        others[1].send(#"{"cmd":"send_to_group","group_id":"a","message":"again"}"#)
        try testLoop.run(until: "the second message") { members.dropFirst().allSatisfy { $0.messages.count == 2 } }
        #expect(members.dropFirst().allSatisfy { $0.messages.last == "again" })
    }
}
