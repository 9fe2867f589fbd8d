import Testing
import WorkermanEventLoop
import WorkermanRedis
import WorkermanTestSupport
import WorkermanTransport

@Suite("Redis client against a server that answers garbage")
struct RedisBadServerTests {
    @Test("a bulk over the limit or an unknown type byte closes that client with a clear error; others go on")
    func badReplies() throws {
        let harness = try LoopHarness()
        var answer = ByteBuffer("$999999\r\n")
        let server = try harness.startServer(RawCodec.self, address: "tcp://127.0.0.1:0") { server in
            server.onMessage = { connection, _ in _ = connection.sendRaw(answer) }
        }
        let port = server.listener!.address.port
        var configuration = RedisConfiguration()
        configuration.maxReplySize = 1024
        for garbage in ["$999999\r\n", "?what\r\n", "*1\r\n:12x\r\n"] {
            answer = ByteBuffer(garbage)
            let client = try RedisClient(loop: harness.loop, address: "127.0.0.1:\(port)", configuration: configuration)
            var closed: RedisError?
            client.onClose = { closed = $0 }
            client.connect()
            var reply: Result<RESPValue, RedisError>?
            client.send(["GET", "x"]) { reply = $0 }
            #expect(try harness.run(until: { reply != nil && closed != nil }, within: 10))
            if case .failure(let error) = reply {
                #expect(error.code == .connection && error.detail.contains("127.0.0.1:\(port)"), "\(error)")
            } else {
                Issue.record("garbage \(garbage.debugDescription) gave a reply")
            }
        }
        server.stop()
        _ = harness.finish()
    }
}
