import Testing
import WorkermanEventLoop
import WorkermanProcess
import WorkermanProtocols
import WorkermanTransport

@testable import WorkermanComponents

/// A Channel server on the test's loop.
private func startServer(_ testLoop: TestLoop, port: Int = 0, log: ComponentLogger? = nil) throws -> (ChannelServer, TCPServer<FrameCodec>, String) {
    let server = try ChannelServer("127.0.0.1:0")
    if let log { server.log = log }
    let tcp = try server.serve(on: testLoop.loop, address: "frame://127.0.0.1:\(port)")
    return (server, tcp, "127.0.0.1:\(tcp.listener!.address.port)")
}

/// Kills an in-process server the hard way: listener and every connection gone at once.
private func crash(_ tcp: TCPServer<FrameCodec>) {
    tcp.stop()
    for connection in tcp.connections.values { connection.destroy() }
}

private func quietClient(_ loop: EventLoop, _ address: String, reconnect: Double = 0.1) -> ChannelClient {
    var configuration = ChannelClient.Configuration(backend: .server(address))
    configuration.reconnectInterval = reconnect
    let client = ChannelClient(loop: loop, configuration: configuration)
    client.log = { _ in }
    return client
}

@Suite("Channel client and server over sockets")
struct ChannelClientTests {
    @Test("on/publish: every subscriber gets each event once; unsubscribe stops them")
    func publishSubscribe() throws {
        let testLoop = try TestLoop()
        let (_, tcp, address) = try startServer(testLoop)
        defer { tcp.closeAll() }
        let a = quietClient(testLoop.loop, address)
        let b = quietClient(testLoop.loop, address)
        let publisher = quietClient(testLoop.loop, address)
        defer { [a, b, publisher].forEach { $0.close() } }
        var got: [String: [PHPValue]] = [:]
        a.on("news") { got["a", default: []].append($0) }
        b.on("news") { got["b", default: []].append($0) }
        b.on("other") { got["b-other", default: []].append($0) }
        publisher.on("done") { _ in got["done", default: []].append(true) }
        var probes = 0
        try testLoop.run(until: "both subscribers answer a probe") {
            // Subscriptions travel on the subscribers' own connections: publish probes until both have
            // seen one, which proves the server has their subscriptions.
            if (got["a"]?.isEmpty ?? true) || (got["b"]?.isEmpty ?? true) {
                probes += 1
                publisher.publish("news", "probe")
                return false
            }
            return true
        }
        // Probes may still be on their way: a marker behind them on the same path flushes them out.
        var synced = 0
        a.on("sync") { _ in synced += 1 }
        b.on("sync") { _ in synced += 1 }
        try testLoop.run(until: "the sync marker") {
            if synced == 0 { publisher.publish("sync", true) }
            return synced >= 2 && got["a"]?.last == "probe"
        }
        try testLoop.run(for: 0.05)
        got = [:]
        for index in 0..<100 { publisher.publish("news", ["n": .int(index)]) }
        publisher.publish(["other", "nobody"], "x")
        publisher.publish("done", true)
        try testLoop.run(until: "all events") { got["a"]?.count == 100 && got["b"]?.count == 100 && got["done"] != nil }
        #expect(got["a"] == (0..<100).map { ["n": .int($0)] })
        #expect(got["b"] == got["a"])
        #expect(got["b-other"] == ["x"])
        b.unsubscribe("news")
        publisher.publish("news", "after")
        publisher.publish("done", true)
        try testLoop.run(until: "the second done") { got["done"]?.count == 2 && got["a"]?.count == 101 }
        #expect(got["b"]?.count == 100)
        #expect(probes > 0)
    }

    @Test("queue mode: each job reaches exactly one of two consumers")
    func queue() throws {
        let testLoop = try TestLoop()
        let (_, tcp, address) = try startServer(testLoop)
        defer { tcp.closeAll() }
        let consumers = [quietClient(testLoop.loop, address), quietClient(testLoop.loop, address)]
        let producer = quietClient(testLoop.loop, address)
        defer { (consumers + [producer]).forEach { $0.close() } }
        var taken: [[Int]] = [[], []]
        for (index, consumer) in consumers.enumerated() {
            consumer.watch("jobs") { job in taken[index].append(job.intValue ?? -1) }
        }
        try testLoop.run(until: "consumers connected") { consumers.allSatisfy(\.isConnected) && tcp.connections.count >= 2 }
        for job in 0..<200 { producer.enqueue("jobs", .int(job)) }
        try testLoop.run(until: "200 jobs") { taken[0].count + taken[1].count == 200 }
        #expect((taken[0] + taken[1]).sorted() == Array(0..<200))
        #expect(!taken[0].isEmpty && !taken[1].isEmpty)
    }

    @Test("manual reserve: no job until the consumer asks")
    func manualReserve() throws {
        let testLoop = try TestLoop()
        let (_, tcp, address) = try startServer(testLoop)
        defer { tcp.closeAll() }
        let consumer = quietClient(testLoop.loop, address)
        let producer = quietClient(testLoop.loop, address)
        defer { [consumer, producer].forEach { $0.close() } }
        var taken: [PHPValue] = []
        consumer.watch("slow", autoReserve: false) { taken.append($0) }
        for job in 0..<3 { producer.enqueue("slow", .int(job)) }
        try testLoop.run(for: 0.2)
        #expect(taken.isEmpty)
        consumer.reserve()
        try testLoop.run(until: "one job") { taken.count == 1 }
        try testLoop.run(for: 0.1)
        #expect(taken == [0])
        consumer.reserve()
        try testLoop.run(until: "the second job") { taken.count >= 2 }
        try testLoop.run(for: 0.1)
        #expect(taken == [0, 1])
    }

    @Test("reconnect after the server dies: subscriptions and watches come back, nothing is lost")
    func reconnect() throws {
        let testLoop = try TestLoop()
        var (_, tcp, address) = try startServer(testLoop)
        let port = tcp.listener!.address.port
        let subscriber = quietClient(testLoop.loop, address)
        let publisher = quietClient(testLoop.loop, address)
        publisher.connect()
        defer { [subscriber, publisher].forEach { $0.close() } }
        var got: [PHPValue] = []
        var connects = 0
        var jobs: [PHPValue] = []
        subscriber.onConnect = { connects += 1 }
        subscriber.on("news") { got.append($0) }
        subscriber.watch("jobs") { jobs.append($0) }
        try testLoop.run(until: "connected") { connects == 1 && publisher.isConnected && tcp.connections.count == 2 }
        crash(tcp)
        try testLoop.run(until: "both see the loss") { !subscriber.isConnected && !publisher.isConnected }
        // While the server is down, publishes wait in the client.
        publisher.publish("news", "while down")
        publisher.enqueue("jobs", "job while down")
        (_, tcp, _) = try startServer(testLoop, port: port)
        defer { tcp.closeAll() }
        try testLoop.run(until: "the subscriber reconnects") { connects == 2 }
        // The publisher may reconnect before the subscriber re-subscribed; publish until one arrives.
        try testLoop.run(until: "an event after the restart") {
            if got.isEmpty { publisher.publish("news", "after") }
            return !got.isEmpty
        }
        try testLoop.run(until: "the job enqueued while down") { !jobs.isEmpty }
        #expect(jobs == ["job while down"])
    }

    @Test("publishes made while disconnected wait up to the bound, then each further one is reported dropped")
    func pendingBound() throws {
        let testLoop = try TestLoop()
        let port = try freePort()
        var configuration = ChannelClient.Configuration(backend: .server("127.0.0.1:\(port)"))
        configuration.maxPendingMessages = 5
        configuration.reconnectInterval = 0.05
        let publisher = ChannelClient(loop: testLoop.loop, configuration: configuration)
        publisher.log = { _ in }
        defer { publisher.close() }
        var drops: [ChannelClient.Drop] = []
        publisher.onDrop = { drops.append($0) }
        for index in 0..<8 { publisher.publish("news", .int(index)) }
        #expect(drops.map(\.data) == [5, 6, 7])
        #expect(drops.first?.kind == .publish)
        // The server comes up: the five waiting publishes go out in order.
        let (_, tcp, address) = try startServer(testLoop, port: port)
        defer { tcp.closeAll() }
        let subscriber = quietClient(testLoop.loop, address)
        defer { subscriber.close() }
        var got: [PHPValue] = []
        subscriber.on("news") { got.append($0) }
        try testLoop.run(until: "subscriber connected") { subscriber.isConnected && tcp.connections.count == 1 }
        // Only now let the publisher connect (its reconnect timer keeps trying every 50 ms).
        try testLoop.run(until: "the publisher connects and flushes") { publisher.isConnected }
        publisher.publish("news", 99)
        try testLoop.run(until: "the flushed publishes") { got.last == 99 }
        #expect(got.count <= 6)
    }

    @Test("bad input: garbage, an unknown type and an oversized frame close that connection only")
    func badInput() throws {
        let testLoop = try TestLoop()
        var logged: [String] = []
        let (_, tcp, address) = try startServer(testLoop) { logged.append($0) }
        tcp.maxPackageSize = 1024
        defer { tcp.closeAll() }
        let subscriber = quietClient(testLoop.loop, address)
        defer { subscriber.close() }
        var got: [PHPValue] = []
        subscriber.on("news") { got.append($0) }
        var closed = 0
        for body in [Array("garbage".utf8), (["type": "explode"] as PHPValue).serialized(), nil] {
            let rogue = try TCPClient<FrameCodec>(loop: testLoop.loop, url: "frame://\(address)")
            rogue.onConnect = { connection in
                if let body {
                    connection.send(body)
                } else {
                    _ = connection.sendRaw(ByteBuffer([0x00, 0x10, 0x00, 0x00]))  // 1 MiB announced
                }
            }
            rogue.onClose = { _ in closed += 1 }
            rogue.connect()
        }
        let publisher = quietClient(testLoop.loop, address)
        defer { publisher.close() }
        try testLoop.run(until: "three rogue connections closed") { closed == 3 && subscriber.isConnected }
        try testLoop.run(until: "the subscriber still served") {
            if got.isEmpty { publisher.publish("news", "still here") }
            return !got.isEmpty
        }
        #expect(logged.count == 3)
    }

    @Test("onMessage takes events subscribed without a callback")
    func fallbacks() throws {
        let testLoop = try TestLoop()
        let (_, tcp, address) = try startServer(testLoop)
        defer { tcp.closeAll() }
        let client = quietClient(testLoop.loop, address)
        defer { client.close() }
        var seen: [String] = []
        client.onMessage = { event, data in seen.append("\(event)=\(data)") }
        client.subscribe(["plain"])
        try testLoop.run(until: "delivery") {
            if seen.isEmpty { client.publish("plain", 1) }
            return !seen.isEmpty
        }
        #expect(seen.first == "plain=1")
    }
}
