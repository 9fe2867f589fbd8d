// The Gateway over a Channel server on the test's loop: two gateways (two "processes") with fake
// clients, push by client, user, group and to all, exclusions, remote bind/join, presence, a process
// that says goodbye, one that goes silent, and forged events ignored and counted.

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

@testable import WorkermanComponents

@Suite("Gateway over a Channel server")
struct GatewayTests {
    /// Two gateways on one server, each with clients that record what they are sent.
    final class Pair {
        let tcp: TCPServer<FrameCodec>
        let one: Gateway
        let two: Gateway
        let address: ChannelBackendKind
        var inbox: [String: [String]] = [:]

        init(_ testLoop: TestLoop, interval: Double = 0.2) throws {
            let server = try ChannelServer("127.0.0.1:0")
            tcp = try server.serve(on: testLoop.loop, address: "frame://127.0.0.1:0")
            var configuration = Gateway.Configuration()
            configuration.presenceInterval = interval
            address = .server("127.0.0.1:\(tcp.listener!.address.port)")
            one = Gateway(loop: testLoop.loop, backend: address, configuration: configuration)
            two = Gateway(loop: testLoop.loop, backend: address, configuration: configuration)
        }

        /// Until each gateway has heard the other: both are subscribed at the server (a command to a
        /// gateway not yet subscribed would be lost, as any pub/sub message to nobody).
        func ready(_ testLoop: TestLoop) throws {
            try testLoop.run(until: "the gateways hear each other") { self.one.presence.nodeCount == 1 && self.two.presence.nodeCount == 1 }
        }

        func client(_ gateway: Gateway, _ connection: Int, _ name: String) -> GatewayClientID {
            gateway.add(connection: connection, send: { [unowned self] in inbox[name, default: []].append($0) })
        }

        func ask<T>(_ testLoop: TestLoop, _ query: (@escaping (T) -> Void) -> Void) throws -> T {
            var answer: T?
            query { answer = $0 }
            try testLoop.run(until: "an answer") { answer != nil }
            return answer!
        }
    }

    @Test("push by client, user, group and to all, across gateways; exclusions; remote bind and join")
    func push() throws {
        let testLoop = try TestLoop()
        let pair = try Pair(testLoop)
        defer { pair.tcp.closeAll() }
        try pair.ready(testLoop)
        let a = pair.client(pair.one, 1, "a")
        let b = pair.client(pair.two, 1, "b")
        let c = pair.client(pair.two, 2, "c")
        #expect(a != b && a.hasPrefix(pair.one.node + "-"), "ids are unique across processes")
        pair.one.bind(a, user: "alice")
        pair.one.bind(b, user: "bob")  // remote: b is on the other gateway
        pair.two.bind(c, user: "bob")
        pair.two.join(a, group: "g")  // remote
        pair.two.join(b, group: "g")
        var ready = false
        try testLoop.run(until: "presence everywhere") {
            pair.one.count(group: "g") { count in pair.one.isOnline(user: "bob") { ready = count == 2 && $0 } }
            return ready
        }
        pair.two.send(toUser: "alice", "1")
        pair.one.send(toUser: "bob", "2")
        pair.one.send(toGroup: "g", "3", excluding: [b])
        pair.two.send(toClient: a, "4")
        pair.one.sendToAll("5")
        // Pushes from different gateways may interleave: compare what arrived, not in which order.
        func got(_ name: String) -> [String] { (pair.inbox[name] ?? []).sorted() }
        try testLoop.run(until: "every push: \(pair.inbox)") {
            got("a") == ["1", "3", "4", "5"] && got("b") == ["2", "5"] && got("c") == ["2", "5"]
        }
        try testLoop.run(for: 0.1)
        #expect(got("a") == ["1", "3", "4", "5"] && got("b") == ["2", "5"] && got("c") == ["2", "5"], "each once")
        #expect(try pair.ask(testLoop) { pair.two.users(inGroup: "g", $0) } == ["alice", "bob"])
        #expect(try pair.ask(testLoop) { pair.one.clients(ofUser: "bob", $0) } == [b, c].sorted())
        #expect(try pair.ask(testLoop) { pair.one.count($0) } == 3)
        // Leaving and closing: out of the group, and no longer online.
        pair.one.leave(b, group: "g")
        pair.one.remove(connection: 1)
        var done = false
        try testLoop.run(until: "b out of g, alice offline on the other gateway") {
            pair.two.count(group: "g") { count in pair.two.isOnline(user: "alice") { done = count == 0 && !$0 } }
            return done
        }
    }

    @Test("a gateway that says goodbye is forgotten at once; one that goes silent, within 3 renewals")
    func presenceExpiry() throws {
        let testLoop = try TestLoop()
        let pair = try Pair(testLoop, interval: 0.1)
        defer { pair.tcp.closeAll() }
        try pair.ready(testLoop)
        // Goodbye: forgotten as soon as it arrives, long before the snapshot would expire.
        pair.one.stop()
        try testLoop.run(until: "one forgotten by two", seconds: 0.25) { pair.two.presence.nodeCount == 0 }
        // Silent: a third gateway's channel closes without a goodbye, as when its process is killed.
        var configuration = Gateway.Configuration()
        configuration.presenceInterval = 0.1
        let three = Gateway(loop: testLoop.loop, channel: ChannelClient(loop: testLoop.loop, configuration: .init(backend: pair.address)), configuration: configuration)
        three.bind(three.add(connection: 1, send: { _ in }), user: "alice")
        var online = false
        try testLoop.run(until: "alice online at two") {
            pair.two.isOnline(user: "alice") { online = $0 }
            return online
        }
        three.channel.close()
        three.stop()  // its goodbye goes nowhere: the channel is closed
        let silent = Double(MonotonicClock.now()) / 1e9
        try testLoop.run(until: "alice forgotten", seconds: 5) {
            pair.two.isOnline(user: "alice") { online = $0 }
            return !online
        }
        #expect(Double(MonotonicClock.now()) / 1e9 - silent < 0.3 + 0.2, "within 3 renewals and one expiry sweep")
    }

    @Test("forged or malformed events are ignored and counted")
    func forged() throws {
        let testLoop = try TestLoop()
        let pair = try Pair(testLoop)
        defer { pair.tcp.closeAll() }
        let a = pair.client(pair.one, 1, "a")
        pair.one.join(a, group: "g")
        var count = 0
        try testLoop.run(until: "two knows of a") {
            pair.two.count(group: "g") { count = $0 }
            return count == 1
        }
        let forger = pair.two.channel
        forger.publish(GatewayWire.presence, ["node": "x", "ttl": "soon"])
        forger.publish(GatewayWire.presence, ["node": "x", "ttl": 1, "c": [["only-one-field"]]])
        forger.publish(GatewayWire.group("g"), ["no": "text"])
        forger.publish(GatewayWire.node(pair.one.node), ["op": "explode", "id": 1])
        forger.publish(GatewayWire.group("g"), ["m": "real"])
        try testLoop.run(until: "the real push after the forged ones") { pair.inbox["a"] == ["real"] }
        #expect(pair.one.ignored >= 4, "each forged event counted (the other gateway ignores some too)")
        #expect(pair.two.ignored >= 2)
    }

    @Test("with the Channel server away, pushes wait up to the bound; the rest are dropped and counted")
    func serverDown() throws {
        let testLoop = try TestLoop()
        var configuration = ChannelClient.Configuration(backend: .server("127.0.0.1:\(try freePort())"))  // nobody there
        configuration.maxPendingMessages = 5
        configuration.reconnectInterval = 0.05
        let channel = ChannelClient(loop: testLoop.loop, configuration: configuration)
        var logged: [String] = []
        channel.log = { logged.append($0) }
        let gateway = Gateway(loop: testLoop.loop, channel: channel)
        for index in 0..<20 { gateway.send(toGroup: "g", "\(index)") }
        try testLoop.run(until: "drops counted") { gateway.dropped > 0 }
        #expect(channel.pendingCount <= 5, "queued up to the bound")
        #expect(gateway.dropped >= 15, "the rest dropped: \(gateway.dropped)")
        #expect(logged.contains { $0.contains("gateway: publish to gw:g:g dropped") })
        gateway.stop()
        channel.close()
    }
}
