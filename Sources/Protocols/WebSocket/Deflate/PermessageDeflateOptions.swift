/// Settings for permessage-deflate (RFC 7692), the WebSocket compression browsers offer. Off unless set
/// on a codec: each compressed connection keeps a zlib compressor and decompressor (about 300 KiB with
/// the defaults; `serverMaxWindowBits`/`clientMaxWindowBits` 12 and `memoryLevel` 5 bring it near
/// 50 KiB), and compressing costs far more CPU than echoing small messages does. Worth it for large,
/// repetitive text (JSON) over slow links.
///
/// A server accepts the client's first acceptable offer and answers with what was agreed; a client
/// offers these settings and checks the server's answer. When the system has no `libz.so.1`, nothing
/// is offered or accepted and connections stay uncompressed.
///
/// ```swift
/// let worker = try Worker(websocket: "0.0.0.0:8080")
/// worker.makeCodec = {
///     var codec = WebSocketServerCodec()
///     codec.permessageDeflate = PermessageDeflateOptions()
///     return codec
/// }
///
/// var codec = WebSocketClientCodec()
/// codec.permessageDeflate = PermessageDeflateOptions(clientMaxWindowBits: 12)
/// let client = try TCPClient(loop: loop, url: "ws://example.com/feed", codec: codec)
/// ```
public struct PermessageDeflateOptions: Sendable, Equatable {
    /// The server compresses each message on its own (less memory for the peer's window, worse ratio).
    /// Requested by a client, or imposed by a server.
    public var serverNoContextTakeover: Bool
    /// The client compresses each message on its own. Requested by a server, or offered by a client.
    public var clientNoContextTakeover: Bool
    /// The largest window (as a power of two, 8...15) the server compresses with. A server uses at most
    /// this; a client asks for it when under 15. With 8, the server side sends uncompressed messages
    /// (zlib's raw deflate cannot use a 256-byte window, and sending uncompressed is always allowed).
    public var serverMaxWindowBits: Int
    /// The largest window (8...15) the client compresses with: a server asks for it when the client
    /// offers the parameter; a client uses at most this (8: it sends uncompressed).
    public var clientMaxWindowBits: Int
    /// zlib's compression level, 1 (fastest) to 9 (smallest).
    public var compressionLevel: Int
    /// zlib's `memLevel`, 1...9: the compressor's memory for its hash tables (8 is zlib's default).
    public var memoryLevel: Int

    /// For tests: behave as if `libz.so.1` could not be loaded.
    var simulatesMissingZlib = false

    public init(
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: Int = 15,
        clientMaxWindowBits: Int = 15,
        compressionLevel: Int = 6,
        memoryLevel: Int = 8
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = min(max(serverMaxWindowBits, 8), 15)
        self.clientMaxWindowBits = min(max(clientMaxWindowBits, 8), 15)
        self.compressionLevel = min(max(compressionLevel, 1), 9)
        self.memoryLevel = min(max(memoryLevel, 1), 9)
    }

    /// Whether compression can be used in this process.
    var isUsable: Bool { !simulatesMissingZlib && Zlib.isAvailable }
}
