import WorkermanTransport

/// One server-sent event (the `text/event-stream` format of the HTML standard), sent after
/// `HTTPResponse.eventStream()`: Workerman's `ServerSentEvents`.
///
/// Multi-line data becomes several `data:` lines; line breaks in the other fields cannot be sent, so
/// they are replaced by spaces (a comment is split into several comment lines instead).
///
/// ```swift
/// connection.send(.response(.eventStream()))
/// connection.send(.event(ServerSentEvent(event: "tick", id: "1", data: "{\"n\":1}")))
/// // event: tick\nid: 1\ndata: {"n":1}\n\n
/// ```
public struct ServerSentEvent: Sendable, Equatable {
    /// A comment line (`: …`), often used as a keep-alive.
    public var comment: String?
    public var event: String?
    public var id: String?
    /// The reconnection time in milliseconds.
    public var retry: Int?
    public var data: String?

    public init(comment: String? = nil, event: String? = nil, id: String? = nil, retry: Int? = nil, data: String? = nil)
    {
        self.comment = comment
        self.event = event
        self.id = id
        self.retry = retry
        self.data = data
    }

    /// The event in wire form, ending with the empty line that dispatches it.
    public var serialized: String {
        var text = ""
        if let comment {
            for line in Self.lines(comment) { text += ": " + line + "\n" }
        }
        if let event { text += "event: " + Self.singleLine(event) + "\n" }
        if let id { text += "id: " + Self.singleLine(id) + "\n" }
        if let retry { text += "retry: \(retry)\n" }
        if let data {
            for line in Self.lines(data) { text += "data: " + line + "\n" }
        }
        return text + "\n"
    }

    /// Appends the wire form to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.append(serialized)
    }

    /// Splits at CRLF, CR or LF: all three end a line in an event stream.
    private static func lines(_ text: String) -> [Substring] {
        var lines: [Substring] = []
        var start = text.startIndex
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\n" || character == "\r" || character == "\r\n" {
                lines.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        lines.append(text[start..<text.endIndex])
        return lines
    }

    private static func singleLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }
}
