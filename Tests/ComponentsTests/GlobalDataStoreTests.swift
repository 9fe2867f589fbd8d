import Testing
import WorkermanTransport

@testable import WorkermanComponents

@Suite("GlobalData server rules (no sockets)")
struct GlobalDataStoreTests {
    private func reply(_ store: inout GlobalDataStore, _ command: GlobalDataCommand) throws -> PHPValue {
        guard case .reply(let bytes) = store.handle(command.body) else {
            Issue.record("no reply to \(command)")
            return .null
        }
        return try PHPValue(unserializing: bytes)
    }

    @Test("get, set, add, delete follow walkor/GlobalData")
    func basics() throws {
        var store = GlobalDataStore()
        #expect(try reply(&store, .get("a")) == .null)
        #expect(try reply(&store, .add("a", 1)) == true)
        #expect(try reply(&store, .add("a", 2)) == false)
        #expect(try reply(&store, .get("a")) == 1)
        #expect(try reply(&store, .set("a", ["x": [1, 2]])) == true)
        #expect(try reply(&store, .get("a")) == ["x": [1, 2]])
        #expect(try reply(&store, .delete("a")) == true)
        #expect(try reply(&store, .get("a")) == .null)
        // A stored null is no value, as isset() sees it: add succeeds on it.
        #expect(try reply(&store, .set("n", .null)) == true)
        #expect(try reply(&store, .add("n", 5)) == true)
    }

    @Test("increment: missing key → false; non-numeric → counts as 0; ints overflow to float as in PHP")
    func increment() throws {
        var store = GlobalDataStore()
        #expect(try reply(&store, .increment("c", step: 1)) == false)
        #expect(try reply(&store, .get("c")) == .null)
        _ = try reply(&store, .set("c", 10))
        #expect(try reply(&store, .increment("c", step: 5)) == 15)
        _ = try reply(&store, .set("s", "12"))
        #expect(try reply(&store, .increment("s", step: 1)) == 13)
        _ = try reply(&store, .set("f", 1.5))
        #expect(try reply(&store, .increment("f", step: 1)) == 2.5)
        _ = try reply(&store, .set("w", "words"))
        #expect(try reply(&store, .increment("w", step: 3)) == 3)
        _ = try reply(&store, .set("big", .int(Int.max)))
        #expect(try reply(&store, .increment("big", step: 1)) == .double(Double(Int.max) + 1))
    }

    @Test("cas compares the MD5 of the serialized current value")
    func compareAndSwap() throws {
        var store = GlobalDataStore()
        #expect(try reply(&store, .cas("k", expected: .null, new: 1)) == true)
        #expect(try reply(&store, .cas("k", expected: 2, new: 3)) == false)
        #expect(try reply(&store, .cas("k", expected: 1, new: ["a": 0.1])) == true)
        #expect(try reply(&store, .cas("k", expected: ["a": 0.1], new: "done")) == true)
        #expect(try reply(&store, .get("k")) == "done")
    }

    @Test("ping is ignored")
    func ping() {
        var store = GlobalDataStore()
        #expect(store.handle("ping") == .ignore)
    }

    @Test("garbage, a missing key and an unknown command get PHP's error replies and a close")
    func badInput() throws {
        var store = GlobalDataStore()
        for body: ByteBuffer in ["", "garbage", "a:1:{s:3:\"cmd\";s:3:\"get\";}", "i:5;", "a:2:{s:3:\"cmd\";i:1;s:3:\"key\";s:1:\"k\";}"] {
            guard case .reject(let answer, _) = store.handle(body) else {
                Issue.record("accepted \(body)")
                continue
            }
            #expect(try PHPValue(unserializing: answer) == "bad request")
        }
        let unknown: PHPValue = ["cmd": "explode", "key": "k"]
        guard case .reject(let answer, let reason) = store.handle(ByteBuffer(unknown.serialized())) else {
            Issue.record("accepted an unknown command")
            return
        }
        #expect(try PHPValue(unserializing: answer) == "bad cmd explode")
        #expect(reason.contains("explode"))
    }

    @Test("requests carry the PHP client's fields in its order")
    func wireFormat() {
        #expect(String(decoding: GlobalDataCommand.get("k").body.bytes, as: UTF8.self) == #"a:2:{s:3:"cmd";s:3:"get";s:3:"key";s:1:"k";}"#)
        #expect(
            String(decoding: GlobalDataCommand.increment("k", step: 2).body.bytes, as: UTF8.self)
                == #"a:3:{s:3:"cmd";s:9:"increment";s:3:"key";s:1:"k";s:4:"step";i:2;}"#
        )
        #expect(
            String(decoding: GlobalDataCommand.cas("k", expected: .null, new: 1).body.bytes, as: UTF8.self)
                == #"a:4:{s:3:"cmd";s:3:"cas";s:3:"md5";s:32:"dcca48101505dd86b703689a604fe3c4";s:3:"key";s:1:"k";s:5:"value";i:1;}"#
        )
    }

    @Test("keys pick servers by crc32(key) % count, as PHP's client does")
    func sharding() {
        // What PHP 8.2 prints for crc32($key) % 3.
        let php: [String: Int] = ["user:1": 0, "counter": 0, "a": 0, "b": 2, "c": 0, "session:42": 1, "x": 0]
        for (key, index) in php { #expect(GlobalDataCommand.serverIndex(for: key, count: 3) == index, "\(key)") }
        #expect(GlobalDataCommand.serverIndex(for: "anything", count: 1) == 0)
    }
}
