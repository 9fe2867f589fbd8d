/// A stream connection's life as one state machine: every state it can be in, every event that moves it,
/// and what the connection must do after each move. It does no I/O: the connection feeds it the facts
/// (is output queued? is a streamer still producing?) and carries out the `Action` it answers, after the
/// state has changed, so a callback run by that action already sees the new state (the model is SwiftNIO's
/// `SocketChannelLifecycleManager`).
///
///     initial ──connect──▶ connecting ──connected──▶ established ──close──▶ closing ──destroy──▶ closed
///                                                     │   ▲   │
///                                  closeWhenIdle ─────┘   │   └──── close while a streamer runs
///                                        ▼                │                 ▼
///                        draining ─ codec says goodbye ▶ awaitingCodecClose   closingAfterStream
///
/// `draining`, `awaitingCodecClose` and `closingAfterStream` are still open (`ESTABLISHED` to the user):
/// they receive and send; they only remember how the connection is to end.
@usableFromInline
package struct ConnectionLifecycle: Equatable {
    /// Ordered so that the open states are one range (a single compare on the receive path).
    @usableFromInline
    package enum State: UInt8, Equatable, Sendable {
        /// A client connection before `connect()` (and again before a reconnect).
        case initial
        /// A client connection waiting for the kernel to finish connecting.
        case connecting
        /// Open: receiving and sending.
        case established
        /// Open, and closes as soon as it is idle (graceful stop or reload).
        case draining
        /// Open, draining, and its codec said goodbye: the codec closes it when the peer answers.
        case awaitingCodecClose
        /// Open, and `close()` came while a streamer (a static file) still produces the last response:
        /// the close happens when the streamer ends.
        case closingAfterStream
        /// Closing: queued output is flushed, then the socket closes. Nothing more is received or sent.
        case closing
        /// The socket is closed (`onClose` has fired), or was handed to another connection.
        case closed
    }

    /// What happened to the connection.
    package enum Event: Equatable, Sendable {
        /// A client starts connecting.
        case connect
        /// The kernel finished connecting.
        case connected
        /// Connecting failed: the connection closes after telling `onError`.
        case connectFailed
        /// The user (or a codec) asked to close.
        case close(outputPending: Bool, streaming: Bool)
        /// A graceful stop or reload asked to close when idle.
        case drain
        /// Draining began and the codec said goodbye; it closes the connection itself when answered.
        case codecWillClose
        /// The peer ended its side (EOF).
        case peerClosed(outputPending: Bool)
        /// Everything queued was written.
        case outputDrained(outputPending: Bool)
        /// A streamer finished producing.
        case streamEnded
        /// The socket is closed now, whatever was queued (a reset, an error, `destroy()`).
        case destroy
        /// The socket was given to another connection (a protocol upgrade): this one only lets go.
        case handedOver
        /// A client is made ready to connect again.
        case reset
    }

    /// What the connection does after a move.
    package enum Action: Equatable, Sendable {
        case none
        /// Close the socket now and fire `onClose`.
        case destroy
        /// Keep watching for writability: output is being flushed before the close.
        case flushThenClose
        /// Ask the codec for its goodbye (`Codec.connectionDraining`).
        case askCodecToSayGoodbye
        /// Close if idle now (nothing half received, nothing queued).
        case closeIfIdle
        /// Close now, as `close()` does.
        case close
    }

    @usableFromInline package private(set) var state: State

    package init(_ state: State) { self.state = state }

    /// Whether the connection receives and sends: established, in any of its ways of ending.
    @inlinable @inline(__always)
    package var isOpen: Bool { state.rawValue &- State.established.rawValue <= State.closingAfterStream.rawValue &- State.established.rawValue }

    /// Whether the connection drains (a graceful stop or reload is waiting for it to be idle).
    @inlinable @inline(__always)
    package var isDraining: Bool { state.rawValue &- State.draining.rawValue <= State.awaitingCodecClose.rawValue &- State.draining.rawValue }

    /// The state as Workerman names it (`getStatus()`).
    package var status: ConnectionStatus {
        switch state {
        case .initial: .initial
        case .connecting: .connecting
        case .established, .draining, .awaitingCodecClose, .closingAfterStream: .established
        case .closing: .closing
        case .closed: .closed
        }
    }

    /// Moves to the state `event` leads to and answers what to do next. Events that do not apply in the
    /// current state (a close of a closed connection) change nothing and answer `.none`.
    package mutating func handle(_ event: Event) -> Action {
        switch (state, event) {
        case (.initial, .connect), (.closed, .connect):
            state = .connecting
            return .none
        case (.connecting, .connected):
            state = .established
            return .none
        case (.connecting, .connectFailed):
            state = .closing  // Workerman reports CLOSING while onError runs, then CLOSED
            return .destroy
        case (.initial, .close), (.connecting, .close):
            return .destroy
        case (.established, .close(_, true)), (.draining, .close(_, true)), (.awaitingCodecClose, .close(_, true)):
            state = .closingAfterStream
            return .none
        case (.established, .close(let pending, false)), (.draining, .close(let pending, false)),
            (.awaitingCodecClose, .close(let pending, false)):
            state = .closing
            return pending ? .flushThenClose : .destroy
        case (.established, .drain):
            state = .draining
            return .askCodecToSayGoodbye
        case (.draining, .codecWillClose):
            state = .awaitingCodecClose
            return .none
        case (_, .peerClosed(let pending)) where isOpen:
            state = .closing
            return pending ? .flushThenClose : .destroy
        case (.closing, .outputDrained(let pending)):
            // onBufferDrain may have queued more before the close: that goes out first.
            return pending ? .none : .destroy
        case (.draining, .outputDrained):
            return .closeIfIdle
        case (.closingAfterStream, .streamEnded):
            state = .established
            return .close
        case (.closed, .destroy):
            return .none
        case (_, .destroy):
            state = .closed
            return .destroy
        case (.established, .handedOver), (.draining, .handedOver), (.awaitingCodecClose, .handedOver):
            // `closing` with no socket: nothing is processed or sent any more, and the read in progress
            // keeps its unprocessed rest for the successor (see TCPConnection+Handover.swift).
            state = .closing
            return .none
        case (.closing, .handedOver):
            state = .closed
            return .none
        case (_, .reset):
            state = .initial
            return .none
        default:
            return .none
        }
    }
}
