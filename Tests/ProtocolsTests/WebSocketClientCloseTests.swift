// The client's closing handshake (RFC 6455 §7.1.1, `closeWebSocket` on a ws:// client): the close frame
// on the wire, waiting for the server's close and then for the server to close TCP, and the timeout
// after which the client closes anyway. Codec level, then over loopback against our server and against a
// raw server that answers (or not) but never closes.

import Testing
import WorkermanEventLoop
import WorkermanTransport

@testable import WorkermanProtocols

@Suite("WebSocket client closing handshake")
struct WebSocketClientCloseTests {
    @Test("encodeClose writes a masked close frame with the code and reason; the server's answer closes nothing")
    func codecWaitsForTheServer() throws {
        var driver = try WebSocketClientCodecTests.open()
        var frame = ByteBuffer()
        driver.codec.encodeClose(code: 4001, reason: "done", into: &frame)
        let (frames, rest) = wsParseFrames(frame.bytes)
        #expect(rest == 0)
        #expect(frames.count == 1 && frames.first?.opcode == WS.close && frames.first?.maskKey != nil)
        #expect(frames.first?.closeCode == 4001 && frames.first?.closeReason == "done")
        #expect(driver.send(.text("late")).isEmpty, "no data after our close")
        var again = ByteBuffer()
        driver.codec.encodeClose(code: 1000, reason: "", into: &again)
        #expect(again.isEmpty, "one close frame only")
        // Data the server sent before it saw our close is dropped; its close is reported, not echoed, and
        // the TCP close is left to the server.
        driver.receive(wsFrame(WS.text, "in flight", mask: nil) + wsFrame(WS.close, wsClosePayload(4001), mask: nil))
        #expect(driver.messages.isEmpty)
        #expect(driver.output.isEmpty, "our close is not sent twice")
        #expect(!driver.closeRequested)
        guard case .close(let code, _)? = driver.events.last else {
            Issue.record("\(driver.events)")
            return
        }
        #expect(code == 4001)
    }

    @Test("a reason over 123 bytes is cut before a character, never inside one")
    func longReasonIsCut() throws {
        var driver = try WebSocketClientCodecTests.open()
        var frame = ByteBuffer()
        let reason = String(repeating: "a", count: 122) + "😀😀"  // the first emoji straddles byte 123
        driver.codec.encodeClose(code: 1000, reason: reason, into: &frame)
        let closing = wsParseFrames(frame.bytes).frames.first
        #expect(closing?.payload.count == 124)
        #expect(closing?.closeReason == String(repeating: "a", count: 122))
    }

    @Test("against our server: its close answers ours, it closes TCP first, well before the timeout")
    func againstOurServer() throws {
        let harness = try WSLoop()
        var serverSaw: [String] = []
        let server = try harness.server(WebSocketServerCodec.self) { server in
            server.onCodecEvent = { connection, event in
                switch event {
                case .handshake: connection.acceptWebSocket()
                case .close(let code, let reason): serverSaw.append("close \(code) \(reason)")
                default: break
                }
            }
            server.onClose = { _ in serverSaw.append("closed") }
        }
        let client = try ClosingClient(harness, port: server.port, code: 4001, reason: "done", timeout: 5) {
            harness.done()
        }
        try harness.run()
        harness.settle()
        let elapsed = client.elapsed
        #expect(client.saw == ["close 4001", "closed"])
        #expect(serverSaw == ["close 4001 done", "closed"])
        #expect(elapsed < 2, "closed by the server, not by the \(elapsed) s timeout")
        // The client saw the server's end of the stream (the server closed first): a client_close on the
        // client's side; the server closed on its own decision, which is none.
        #expect(harness.transport.statistics.clientClose == 1)
        #expect(harness.transport.statistics.packetErr == 0)
        harness.finish()
    }

    @Test("a server that never closes TCP: the client closes after its timeout", arguments: [true, false])
    func timeoutClosesAnyway(serverAnswersClose: Bool) throws {
        let harness = try WSLoop()
        var received: [UInt8] = []
        var serverClosed = false
        let server = try harness.server(RawCodec.self) { server in
            server.onMessage = { connection, bytes in
                received += bytes.bytes
                let text = String(decoding: received, as: UTF8.self)
                if text.hasSuffix("\r\n\r\n"), let key = wsHeader("Sec-WebSocket-Key", in: text) {
                    received = []
                    connection.send(WebSocketHandshake.acceptResponse(key: key, headers: []))
                    return
                }
                let (frames, _) = wsParseFrames(received)
                if frames.first?.opcode == WS.close, serverAnswersClose {
                    received = []
                    connection.send(ByteBuffer(wsFrame(WS.close, wsClosePayload(4002), mask: nil)))
                }
            }
            server.onClose = { _ in serverClosed = true }
        }
        let client = try ClosingClient(harness, port: server.port, code: 1000, timeout: 0.3)
        #expect(harness.until { client.saw.last == "closed" && serverClosed })
        let elapsed = client.elapsed
        #expect(client.saw == (serverAnswersClose ? ["close 4002", "closed"] : ["closed"]))
        #expect(elapsed >= 0.29, "the client waited for the server to close TCP (\(elapsed) s)")
        #expect(elapsed < 3)
        harness.finish()
    }
}

/// A client of the server on `port` that starts the closing handshake as soon as it is open, and records
/// the close frame it gets, its own close, and how long the close took.
private final class ClosingClient {
    /// `close <code>` for the server's close frame, then `closed`.
    private(set) var saw: [String] = []
    /// Seconds from sending the close frame to the end of the connection.
    private(set) var elapsed = 0.0
    private let client: TCPClient<WebSocketClientCodec>

    init(
        _ harness: WSLoop,
        port: Int,
        code: Int,
        reason: String = "",
        timeout: Double,
        onClosed: @escaping () -> Void = {}
    ) throws {
        client = try TCPClient<WebSocketClientCodec>(loop: harness.loop, url: "ws://127.0.0.1:\(port)/")
        var started: UInt64 = 0
        // Weak: this object holds the client, so a strong self here would keep both alive for good.
        client.onCodecEvent = { [weak self] client, event in
            switch event {
            case .handshake:
                started = MonotonicClock.now()
                client.closeWebSocket(code: code, reason: reason, timeout: timeout)
            case .close(let code, _): self?.saw.append("close \(code)")
            default: break
            }
        }
        client.onClose = { [weak self] _ in
            self?.elapsed = Double(MonotonicClock.now() - started) / 1e9
            self?.saw.append("closed")
            onClosed()
        }
        client.connect()
    }
}
