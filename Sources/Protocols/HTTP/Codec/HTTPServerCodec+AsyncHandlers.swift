import WorkermanTransport

extension HTTPServerCodec: AnswersFailedHandlers {
    /// An async `onMessage` threw: answer its request with a 500 (`Connection: close`) unless a response
    /// to it was already sent or started; the connection then closes. Requests pipelined behind it get no
    /// answer (RFC 9112 §9.3.2: the client may retry them on a new connection).
    public static func answerFailedHandler(on connection: TCPConnection<HTTPServerCodec>, waitingMessages: Int) {
        // Every waiting request is unanswered; one more unanswered request is the one that failed.
        guard connection.codec.unansweredRequests > waitingMessages, !connection.codec.isStreamingResponse else { return }
        connection.send(
            .response(HTTPResponse(status: .internalServerError, headers: ["Connection": "close"], body: "Internal Server Error"))
        )
    }
}
