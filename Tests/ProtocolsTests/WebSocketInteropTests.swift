// Interop with Python's `websockets` (a strict, widely used implementation): its client against our
// server, and our client against its server. Each test runs python3 with an inline script as a child
// process, reads its standard output in our loop, bounds every wait, and kills the child by its pid.
// Skipped, with the reason, when `import websockets` fails (.ci/run installs it).

import Testing
import WorkermanEventLoop
import WorkermanProtocols
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

@Suite(
    "WebSocket interop with Python websockets",
    .enabled(if: wsPythonWebsockets != nil, "python3 cannot import websockets (python3 -m pip install websockets)"),
    .timeLimit(.minutes(2))
)
struct WebSocketInteropTests {
    /// A client that talks to `argv[1]`: text, binary, 1 MiB, a fragmented message, a ping, then a close.
    /// It prints one line per check.
    static let clientScript = """
        import asyncio, sys, websockets
        async def main(url):
            async with websockets.connect(url, subprotocols=["chat"], max_size=2**21, ping_interval=None) as ws:
                print("subprotocol", ws.subprotocol, flush=True)
                text = "h\\u00e9llo \\u2603 \\U0001F600"
                await ws.send(text)
                echo = await ws.recv()
                print("text", echo == text and isinstance(echo, str), flush=True)
                data = bytes(range(256)) * 4
                await ws.send(data)
                echo = await ws.recv()
                print("binary", echo == data and isinstance(echo, bytes), flush=True)
                big = bytes((i * 7) % 251 for i in range(1 << 20))
                await ws.send(big)
                echo = await ws.recv()
                print("big", echo == big, len(echo), flush=True)
                parts = ["frag", "mented ", "\\u2603"]
                await ws.send(iter(parts))
                echo = await ws.recv()
                print("fragmented", echo == "".join(parts), flush=True)
                waiter = await ws.ping(b"are you there")
                await asyncio.wait_for(waiter, 5)
                print("pong", True, flush=True)
            print("close", ws.close_code, flush=True)
        asyncio.run(asyncio.wait_for(main(sys.argv[1]), 30))
        """

    /// Runs `clientScript` against `url` and expects every check to pass and the script to exit 0; a plain
    /// WebSocket server and one upgraded from an HTTP route must both give this conversation.
    static func expectClientScriptPasses(
        _ harness: WSLoop,
        url: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (lines, output, status) = try harness.runClient(["python3", "-c", clientScript, url])
        #expect(
            lines == [
                "subprotocol chat", "text True", "binary True", "big True 1048576", "fragmented True", "pong True",
                "close 1000",
            ],
            "python said:\n\(output)",
            sourceLocation: sourceLocation
        )
        #expect(status == 0, "python exit status \(String(describing: status))", sourceLocation: sourceLocation)
    }

    /// An echo server on a free port (printed first) that offers the sub-protocol `chat`, closes with
    /// 1000 "bye" when it receives "bye", and prints how each connection ended.
    static let serverScript = """
        import asyncio, websockets
        async def handler(ws):
            try:
                async for message in ws:
                    if message == "bye":
                        await ws.close(1000, "bye")
                        break
                    await ws.send(message)
            finally:
                print("closed", ws.close_code, ws.close_reason, flush=True)
        async def main():
            async with websockets.serve(handler, "127.0.0.1", 0, max_size=2**21, subprotocols=["chat"], ping_interval=None) as server:
                print("port", server.sockets[0].getsockname()[1], flush=True)
                await asyncio.sleep(60)
        asyncio.run(main())
        """

    @Test("a Python websockets client against our server: text, binary, 1 MiB, fragments, ping, sub-protocol, close")
    func pythonClientAgainstOurServer() throws {
        let harness = try WSLoop()
        var serverEvents: [String] = []
        var messages = 0
        let server = try harness.server(WebSocketServerCodec.self) { server in
            server.onMessage = { connection, message in
                messages += 1
                connection.send(message)
            }
            server.onCodecEvent = { connection, event in
                switch event {
                case .handshake(let request?):
                    serverEvents.append("handshake \(request.path)")
                    if request.header("Sec-WebSocket-Protocol")?.contains("chat") == true {
                        connection.codec.responseHeaders = [("Sec-WebSocket-Protocol", "chat")]
                    }
                    connection.acceptWebSocket()
                case .ping(let payload): serverEvents.append("ping \(payload.string)")
                case .close(let code, _): serverEvents.append("close \(code)")
                default: break
                }
            }
        }
        try Self.expectClientScriptPasses(harness, url: "ws://127.0.0.1:\(server.port)/py")
        #expect(messages == 4)
        #expect(serverEvents == ["handshake /py", "ping are you there", "close 1000"])
        #expect(harness.transport.statistics.packetErr == 0)
        harness.finish()
    }

    @Test("our client against a Python websockets server: sub-protocol, text, binary, 1 MiB, ping, the server's close")
    func ourClientAgainstPythonServer() throws {
        let harness = try WSLoop()
        var received: [WebSocketMessage] = []
        var events: [String] = []
        var failure: String?
        let large = wsPattern(1 << 20, seed: 4)
        let sent: [WebSocketMessage] = [
            .text("h\u{e9}llo \u{2603} 😀"), .binary(ByteBuffer(wsPattern(1024))), .binary(ByteBuffer(large)),
        ]
        let server = try harness.runAgainstPythonServer(Self.serverScript, timeout: 60) { port in
            let connection = try TCPClient<WebSocketClientCodec>(
                loop: harness.loop,
                url: "ws://127.0.0.1:\(port)/chat"
            )
            connection.codec.protocols = ["chat"]
            connection.onCodecEvent = { connection, event in
                switch event {
                case .handshake:
                    events.append("open \(connection.codec.selectedProtocol ?? "-")")
                    connection.ping(ByteBuffer("ping?"))
                case .pong(let payload): events.append("pong \(payload.string)")
                case .close(let code, let reason): events.append("close \(code) \(reason)")
                case .ping: events.append("ping")
                }
            }
            connection.onMessage = { connection, message in
                received.append(message)
                if received.count == sent.count { connection.send("bye") }
            }
            connection.onClose = { _ in events.append("closed") }
            connection.onError = { _, error in failure = "\(error)" }
            // Sent before connecting: held until the handshake completes.
            for message in sent { connection.send(message) }
            connection.connect()
            return connection
        }
        #expect(server.failure == nil)
        #expect(failure == nil)
        #expect(received == sent)
        #expect(events == ["open chat", "pong ping?", "close 1000 bye", "closed"], "\(events)")
        // Python prints the close frame it received: our echo of its code (the reason is not echoed).
        #expect(server.said == ["closed 1000 "], "python said:\n\(server.output)")
        #expect(harness.transport.statistics.packetErr == 0)
        harness.finish()
    }
}

extension WSLoop {
    /// Runs the Python server `script`, which prints `port N` first, then one line per thing it saw, the
    /// last starting with `closed`. Once the port is known, `connect` makes a client of it and connects
    /// it; the loop runs until that `closed` line, the end of the script, or `timeout` seconds.
    ///
    /// - Returns: What the server printed after the port, its whole output, and the error `connect` threw.
    func runAgainstPythonServer(
        _ script: String,
        timeout: Double,
        connect: @escaping (Int) throws -> TCPClient<WebSocketClientCodec>
    ) throws -> (said: [String], output: String, failure: String?) {
        let child = try WSChild(["python3", "-c", script])
        defer { child.kill() }
        var client: TCPClient<WebSocketClientCodec>?
        var said: [String] = []
        var failure: String?
        try child.watch(
            in: loop,
            onLine: { line in
                guard line.hasPrefix("port "), let port = Int(line.dropFirst(5)) else {
                    said.append(line)
                    if line.hasPrefix("closed") { self.done() }
                    return
                }
                do {
                    client = try connect(port)
                } catch {
                    failure = "\(error)"
                    self.done()
                }
            },
            onEnd: { self.done() }
        )
        try run(timeout: timeout)
        if client?.status != .closed {
            // Python printed its line before our side saw the end of the connection: let it close.
            settle()
        }
        child.closeOutput(in: loop)
        return (said, child.outputText, failure)
    }
}
