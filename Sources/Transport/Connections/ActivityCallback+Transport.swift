import WorkermanEventLoop

/// The user callbacks connections run, so `status` can say which one a worker is stuck in.
extension ActivityCallback {
    public static let onConnect = ActivityCallback(rawValue: 101, name: "onConnect")
    public static let onMessage = ActivityCallback(rawValue: 102, name: "onMessage")
    public static let onClose = ActivityCallback(rawValue: 103, name: "onClose")
    public static let onError = ActivityCallback(rawValue: 104, name: "onError")
    public static let onBufferFull = ActivityCallback(rawValue: 105, name: "onBufferFull")
    public static let onBufferDrain = ActivityCallback(rawValue: 106, name: "onBufferDrain")
    public static let onCodecEvent = ActivityCallback(rawValue: 107, name: "onCodecEvent")

    /// The callback for a raw value read back from an activity record.
    public static func named(_ rawValue: UInt32) -> ActivityCallback {
        let known: [ActivityCallback] = [
            .none, .timer, .io, .deferred, .signal, .job,
            .onConnect, .onMessage, .onClose, .onError, .onBufferFull, .onBufferDrain, .onCodecEvent,
        ]
        return known.first { $0.rawValue == rawValue } ?? ActivityCallback(rawValue: rawValue, name: "callback \(rawValue)")
    }
}
