/// What an HTTP connection sends: a response, then, for a streaming response, its chunks or events.
///
/// A string literal is a 200 response with that body, like Workerman's `$connection->send('…')`.
///
/// ```swift
/// connection.send("Hello World")
/// connection.send(.response(HTTPResponse(status: .notFound, body: "no such page")))
/// connection.send(.response(.chunked()))
/// connection.send(.chunk("part"))
/// connection.send(.chunk(.end))
/// ```
public enum HTTPOutbound: Sendable, Equatable {
    case response(HTTPResponse)
    case chunk(HTTPChunk)
    case event(ServerSentEvent)
}

extension HTTPOutbound: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .response(HTTPResponse(body: .text(value))) }
}
