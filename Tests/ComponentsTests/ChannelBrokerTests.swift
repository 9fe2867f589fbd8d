import Testing
import WorkermanTransport

@testable import WorkermanComponents

@Suite("Channel server rules (no sockets)")
struct ChannelBrokerTests {
    /// A broker and what it sent, per connection id.
    struct Harness {
        var broker = ChannelBroker()
        var sent: [Int: [ChannelDelivery]] = [:]
        var raw: [Int: [ByteBuffer]] = [:]

        mutating func handle(_ request: ChannelRequest, from id: Int) -> ChannelBroker.Outcome {
            handle(request.body, from: id)
        }

        mutating func handle(_ body: ByteBuffer, from id: Int) -> ChannelBroker.Outcome {
            var out: [(Int, ByteBuffer)] = []
            let outcome = broker.handle(body, from: id) { out.append(($0, $1)) }
            for (target, bytes) in out {
                raw[target, default: []].append(bytes)
                sent[target, default: []].append(try! ChannelDelivery(parsing: bytes))
            }
            return outcome
        }
    }

    @Test("a publish reaches every subscriber once, the publisher too if subscribed, nobody else")
    func publish() {
        var harness = Harness()
        _ = harness.handle(.subscribe(["news", "sport"]), from: 1)
        _ = harness.handle(.subscribe(["news"]), from: 2)
        _ = harness.handle(.subscribe(["weather"]), from: 3)
        #expect(harness.handle(.publish(["news"], ["title": "hi"]), from: 2) == .handled)
        #expect(harness.sent[1] == [.event(channel: "news", data: ["title": "hi"])])
        #expect(harness.sent[2] == [.event(channel: "news", data: ["title": "hi"])])
        #expect(harness.sent[3] == nil)
        // PHP's server appends "\n" to events; we do too, for PHP clients that might rely on it.
        #expect(harness.raw[1]?.first?.bytes.last == UInt8(ascii: "\n"))
    }

    @Test("a publish to several channels sends one event per channel")
    func publishMany() {
        var harness = Harness()
        _ = harness.handle(.subscribe(["a", "b"]), from: 1)
        _ = harness.handle(.publish(["a", "b", "c"], 7), from: 9)
        #expect(harness.sent[1] == [.event(channel: "a", data: 7), .event(channel: "b", data: 7)])
    }

    @Test("int channel names (a PHP worker id) and their decimal strings are one channel")
    func intChannelNames() {
        var harness = Harness()
        let subscribe: PHPValue = ["type": "subscribe", "channels": [0]]
        _ = harness.handle(ByteBuffer(subscribe.serialized()), from: 1)
        _ = harness.handle(.publish(["0"], "to worker 0"), from: 2)
        #expect(harness.sent[1] == [.event(channel: "0", data: "to worker 0")])
    }

    @Test("unsubscribe and disconnect leave nothing behind")
    func cleanup() {
        var harness = Harness()
        _ = harness.handle(.subscribe(["a"]), from: 1)
        _ = harness.handle(.subscribe(["a"]), from: 2)
        _ = harness.handle(.unsubscribe(["a"]), from: 1)
        #expect(harness.broker.subscriberCount("a") == 1)
        harness.broker.disconnect(2)
        #expect(harness.broker.channelCount == 0)
        _ = harness.handle(.watch(["q"]), from: 3)
        harness.broker.disconnect(3)
        #expect(harness.broker.queueCount == 0)
    }

    @Test("queue mode: each job goes to exactly one ready consumer, who must reserve again")
    func queue() {
        var harness = Harness()
        _ = harness.handle(.watch(["jobs"]), from: 1)
        _ = harness.handle(.watch(["jobs"]), from: 2)
        _ = harness.handle(.reserve, from: 1)
        _ = harness.handle(.reserve, from: 1)  // twice before a job: still ready for one job only
        _ = harness.handle(.reserve, from: 2)
        for job in 0..<5 { _ = harness.handle(.enqueue(["jobs"], .int(job)), from: 9) }
        #expect(harness.sent[1] == [.job(channel: "jobs", data: 0)])
        #expect(harness.sent[2] == [.job(channel: "jobs", data: 1)])
        #expect(harness.broker.queuedCount("jobs") == 3)
        for consumer in [2, 1, 2] { _ = harness.handle(.reserve, from: consumer) }
        #expect(harness.sent[1] == [.job(channel: "jobs", data: 0), .job(channel: "jobs", data: 3)])
        #expect(harness.sent[2] == [.job(channel: "jobs", data: 1), .job(channel: "jobs", data: 2), .job(channel: "jobs", data: 4)])
        #expect(harness.broker.queuedCount("jobs") == 0)
    }

    @Test("jobs enqueued before anyone watches wait for the first consumer")
    func queueWaits() {
        var harness = Harness()
        _ = harness.handle(.enqueue(["later"], "x"), from: 9)
        _ = harness.handle(.watch(["later"]), from: 1)
        #expect(harness.sent[1] == nil)
        _ = harness.handle(.reserve, from: 1)
        #expect(harness.sent[1] == [.job(channel: "later", data: "x")])
    }

    @Test("a reserving consumer that disconnects gets no job; the next consumer does")
    func consumerGone() {
        var harness = Harness()
        _ = harness.handle(.watch(["q"]), from: 1)
        _ = harness.handle(.reserve, from: 1)
        harness.broker.disconnect(1)
        _ = harness.handle(.enqueue(["q"], 1), from: 9)
        _ = harness.handle(.watch(["q"]), from: 2)
        _ = harness.handle(.reserve, from: 2)
        #expect(harness.sent[1] == nil)
        #expect(harness.sent[2] == [.job(channel: "q", data: 1)])
    }

    @Test("empty frames are pings; garbage, a missing type, bad channels and unknown types are rejected")
    func badInput() {
        var harness = Harness()
        #expect(harness.handle(ByteBuffer(), from: 1) == .ping)
        for body: ByteBuffer in [
            "garbage", "i:1;", "a:0:{}", "a:1:{s:4:\"type\";s:9:\"subscribe\";}",
            "a:2:{s:4:\"type\";s:9:\"subscribe\";s:8:\"channels\";s:1:\"x\";}",
            "a:2:{s:4:\"type\";s:9:\"subscribe\";s:8:\"channels\";a:1:{i:0;a:0:{}}}",
            "a:2:{s:4:\"type\";s:7:\"publish\";s:8:\"channels\";a:1:{i:0;s:1:\"x\";}}",
            "a:1:{s:4:\"type\";s:7:\"explode\";}",
        ] {
            guard case .rejected = harness.handle(body, from: 1) else {
                Issue.record("accepted \(body)")
                continue
            }
        }
    }

    @Test("requests carry the PHP client's fields in its order")
    func wireFormat() {
        #expect(
            ChannelRequest.publish(["a"], "x").body.string
                == #"a:3:{s:4:"type";s:7:"publish";s:8:"channels";a:1:{i:0;s:1:"a";}s:4:"data";s:1:"x";}"#
        )
        #expect(ChannelRequest.reserve.body.string == #"a:1:{s:4:"type";s:7:"reserve";}"#)
    }
}
