import WorkermanTransport

/// The opening handshake's pieces (RFC 6455 §4).
enum WebSocketHandshake {
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `Sec-WebSocket-Accept` for a client's key: base64(SHA-1(key + GUID)).
    static func acceptValue(for key: String) -> String {
        Base64.encode(SHA1.hash(Array((key + guid).utf8)))
    }

    /// Why an upgrade request is refused, with the HTTP answer it gets.
    struct Refusal: Error {
        var status: Int
        var reason: String
        var extraHeaders: [(String, String)] = []
    }

    /// Checks a server-side upgrade request (§4.2.1).
    static func validate(_ request: HTTPRequest) -> Refusal? {
        guard request.method == .get else { return Refusal(status: 400, reason: "a WebSocket upgrade must be a GET") }
        guard request.version == .http1_1 else { return Refusal(status: 400, reason: "a WebSocket upgrade needs HTTP/1.1") }
        let headers = request.headers
        guard headers.containsToken("websocket", in: "Upgrade") else {
            return Refusal(status: 400, reason: "missing Upgrade: websocket")
        }
        guard headers.containsToken("upgrade", in: "Connection") else {
            return Refusal(status: 400, reason: "missing Connection: Upgrade")
        }
        guard headers.values(for: "Sec-WebSocket-Version").map({ $0.trimmingASCIIWhitespace() }) == ["13"] else {
            return Refusal(status: 426, reason: "unsupported WebSocket version", extraHeaders: [("Sec-WebSocket-Version", "13")])
        }
        let keys = headers.values(for: "Sec-WebSocket-Key")
        guard keys.count == 1, let decoded = Base64.decode(keys[0].trimmingASCIIWhitespace()), decoded.count == 16 else {
            return Refusal(status: 400, reason: "missing or malformed Sec-WebSocket-Key")
        }
        guard request.bodyCount == 0 else { return Refusal(status: 400, reason: "a WebSocket upgrade has no body") }
        return nil
    }

    /// The 101 answer (as Workerman writes it, plus the caller's headers).
    static func acceptResponse(key: String, headers extra: [(String, String)]) -> ByteBuffer {
        var buffer = ByteBuffer(capacity: 256)
        buffer.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n")
        buffer.append("Sec-WebSocket-Accept: \(acceptValue(for: key.trimmingASCIIWhitespace()))\r\n")
        var hasServer = false
        for (name, value) in extra {
            if name.lowercased() == "server" { hasServer = true }
            buffer.append("\(name): \(value)\r\n")
        }
        if !hasServer { buffer.append("Server: workerman\r\n") }
        buffer.append("\r\n")
        return buffer
    }

    /// An error answer that closes the connection.
    static func refusalResponse(_ refusal: Refusal) -> ByteBuffer {
        let text = refusal.reason + "\n"
        var buffer = ByteBuffer(capacity: 256)
        let standard = HTTPStatus(code: refusal.status).reason
        let phrase = standard.isEmpty ? "Bad Request" : standard
        buffer.append("HTTP/1.1 \(refusal.status) \(phrase)\r\nConnection: close\r\nContent-Type: text/plain\r\n")
        for (name, value) in refusal.extraHeaders { buffer.append("\(name): \(value)\r\n") }
        buffer.append("Content-Length: \(text.utf8.count)\r\n\r\n\(text)")
        return buffer
    }
}
