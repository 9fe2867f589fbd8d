extension Connection {
    /// A codec refused to hold another message until it can send (`CodecContext.sendRefused`): the same
    /// outcome as a full send buffer (Workerman's "send buffer full and drop package").
    @usableFromInline
    func refuseParkedSend() -> SendResult {
        context.statistics.sendFail += 1
        fireError(
            TransportError(
                .sendFailed,
                "send to \(remoteAddress?.description ?? "peer")",
                detail: "send buffer full and drop package (output held until the handshake completes)"
            )
        )
        return .failed
    }
}
