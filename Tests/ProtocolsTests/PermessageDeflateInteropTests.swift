// permessage-deflate against Python's `websockets` (which offers and accepts it by default): its client
// against our server, and our client against its server, each checking in the handshake headers that
// compression was agreed and that compressed messages round-trip. Skipped, with the reason, when
// `import websockets` fails or libz.so.1 cannot be loaded.

import Testing
import WorkermanEventLoop
import WorkermanTransport

@testable import WorkermanProtocols

@Suite(
    "permessage-deflate interop with Python websockets",
    .enabled(if: wsPythonWebsockets != nil, "python3 cannot import websockets (python3 -m pip install websockets)"),
    .enabled(if: Zlib.isAvailable, "libz.so.1 cannot be loaded"),
    .timeLimit(.minutes(2))
)
struct PermessageDeflateInteropTests {
    /// A client for `argv[1]` offering `argv[2]` ("default", or "strict": no context takeover both ways
    /// and a 10-bit server window). Prints the agreed extension, then one line per check.
    static let clientScript = """
        import asyncio, sys, websockets
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        async def main(url, variant):
            if variant == "strict":
                factory = ClientPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True,
                                                         server_max_window_bits=10, client_max_window_bits=True)
            else:
                factory = ClientPerMessageDeflateFactory(client_max_window_bits=True)
            async with websockets.connect(url, extensions=[factory], compression=None, max_size=2**22, ping_interval=None) as ws:
                print("extensions", ws.response.headers.get("Sec-WebSocket-Extensions"), flush=True)
                json = '{"price": 12.5, "symbol": "ABC", "note": "h\\u00e9llo \\u2603"} ' * 20000
                for label, message in [("text", "hello"), ("again", "hello"), ("empty", ""), ("json", json),
                                       ("binary", bytes(range(256)) * 4096)]:
                    await ws.send(message)
                    echo = await ws.recv()
                    print(label, echo == message and type(echo) == type(message), flush=True)
                await ws.send(iter(["frag", "mented ", "\\u2603"]))
                print("fragmented", await ws.recv() == "fragmented \\u2603", flush=True)
            print("close", ws.close_code, flush=True)
        asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 60))
        """

    /// An echo server on a free port (printed first), with websockets' default compression; prints the
    /// extension it answered and how each connection ended.
    static let serverScript = """
        import asyncio, websockets
        async def handler(ws):
            print("answered", ws.response.headers.get("Sec-WebSocket-Extensions"), flush=True)
            try:
                async for message in ws:
                    if message == "bye":
                        await ws.close(1000, "bye")
                        break
                    await ws.send(message)
            finally:
                print("closed", ws.close_code, flush=True)
        async def main():
            async with websockets.serve(handler, "127.0.0.1", 0, max_size=2**22, ping_interval=None) as server:
                print("port", server.sockets[0].getsockname()[1], flush=True)
                await asyncio.sleep(60)
        asyncio.run(main())
        """

    @Test(
        "a Python websockets client against our server, compressed",
        arguments: [
            ("default", "permessage-deflate"),
            ("strict", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"),
        ]
    )
    func pythonClientAgainstOurServer(variant: String, expectedAnswer: String) throws {
        let harness = try WSLoop()
        var compressed: [Bool] = []
        let server = try harness.server(WebSocketServerCodec.self) { server in
            server.maxPackageSize = 4 << 20
            server.makeCodec = {
                var codec = WebSocketServerCodec()
                codec.permessageDeflate = PermessageDeflateOptions()
                return codec
            }
            server.onMessage = { connection, message in
                compressed.append(connection.codec.isCompressed)
                connection.send(message)
            }
        }
        let (lines, output, status) = try harness.runClient(["python3", "-c", Self.clientScript, "ws://127.0.0.1:\(server.port)/py", variant], timeout: 90)
        #expect(
            lines == [
                "extensions \(expectedAnswer)", "text True", "again True", "empty True", "json True", "binary True",
                "fragmented True", "close 1000",
            ],
            "python said:\n\(output)"
        )
        #expect(status == 0, "python exit status \(String(describing: status))")
        #expect(compressed == Array(repeating: true, count: 6))
        #expect(harness.transport.statistics.packetErr == 0)
        harness.finish()
    }

    @Test("our client against a Python websockets server, compressed")
    func ourClientAgainstPythonServer() throws {
        let harness = try WSLoop()
        var received: [WebSocketMessage] = []
        var compressed = false
        var failure: String?
        let json = String(repeating: "{\"price\": 12.5, \"symbol\": \"ABC\", \"note\": \"h\u{e9}llo \u{2603}\"} ", count: 20_000)
        let sent: [WebSocketMessage] = [
            "hello", "hello", "", .text(json), .binary(ByteBuffer(wsPattern(1 << 20, seed: 4))),
        ]
        let server = try harness.runAgainstPythonServer(Self.serverScript, timeout: 90) { port in
            var codec = WebSocketClientCodec()
            codec.permessageDeflate = PermessageDeflateOptions()
            let connection = try TCPClient<WebSocketClientCodec>(
                loop: harness.loop, url: "ws://127.0.0.1:\(port)/", codec: codec)
            connection.maxPackageSize = 4 << 20
            connection.onCodecEvent = { connection, event in
                if case .handshake = event {
                    compressed = connection.codec.isCompressed
                    for message in sent { connection.send(message) }
                }
            }
            connection.onMessage = { connection, message in
                received.append(message)
                if received.count == sent.count { connection.send("bye") }
            }
            connection.onError = { _, error in failure = "\(error)" }
            connection.connect()
            return connection
        }
        #expect(server.failure == nil)
        #expect(failure == nil)
        #expect(compressed)
        #expect(received.count == sent.count)
        #expect(received == sent, "the echoes differ from what was sent")
        // websockets answers our offer (`client_max_window_bits`) with its defaults: 4 KiB windows.
        #expect(
            server.said.first == "answered permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
            "python said:\n\(server.output)")
        #expect(server.said.last == "closed 1000", "python said:\n\(server.output)")
        #expect(harness.transport.statistics.packetErr == 0)
        harness.finish()
    }
}
