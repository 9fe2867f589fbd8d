// The connection's lifecycle as a pure state machine: every state × event pair that moves it, and what
// it answers; pairs that do not apply change nothing.

import Testing
import WorkermanTransport

@Suite("Connection lifecycle")
struct ConnectionLifecycleTests {
    typealias State = ConnectionLifecycle.State
    typealias Event = ConnectionLifecycle.Event
    typealias Action = ConnectionLifecycle.Action

    /// Starts in `state`, handles `event`, and returns the action and the state after it.
    func step(_ state: State, _ event: Event) -> (Action, State) {
        var lifecycle = ConnectionLifecycle(state)
        let action = lifecycle.handle(event)
        return (action, lifecycle.state)
    }

    @Test("a client connects: initial, connecting, established; a failure closes through closing")
    func connecting() {
        #expect(step(.initial, .connect) == (.none, .connecting))
        #expect(step(.closed, .connect) == (.none, .connecting))
        #expect(step(.connecting, .connected) == (.none, .established))
        #expect(step(.connecting, .connectFailed) == (.destroy, .closing))
        #expect(step(.connecting, .close(outputPending: true, streaming: false)) == (.destroy, .connecting))
        #expect(step(.closed, .reset) == (.none, .initial))
    }

    @Test("close: at once with nothing queued, after flushing otherwise, after the streamer if one runs", arguments: [
        State.established, .draining, .awaitingCodecClose,
    ])
    func close(from state: State) {
        #expect(step(state, .close(outputPending: false, streaming: false)) == (.destroy, .closing))
        #expect(step(state, .close(outputPending: true, streaming: false)) == (.flushThenClose, .closing))
        #expect(step(state, .close(outputPending: true, streaming: true)) == (.none, .closingAfterStream))
        #expect(step(.closingAfterStream, .streamEnded) == (.close, .established))
    }

    @Test("closing waits for the queue; more queued by onBufferDrain goes first")
    func closing() {
        #expect(step(.closing, .outputDrained(outputPending: true)) == (.none, .closing))
        #expect(step(.closing, .outputDrained(outputPending: false)) == (.destroy, .closing))
        #expect(step(.closing, .close(outputPending: false, streaming: false)) == (.none, .closing))
        #expect(step(.closing, .destroy) == (.destroy, .closed))
        #expect(step(.closed, .destroy) == (.none, .closed))
        #expect(step(.closed, .close(outputPending: false, streaming: false)) == (.none, .closed))
    }

    @Test("drain: the codec is asked for a goodbye; one that closes itself is waited for")
    func drain() {
        #expect(step(.established, .drain) == (.askCodecToSayGoodbye, .draining))
        #expect(step(.draining, .drain) == (.none, .draining))
        #expect(step(.draining, .codecWillClose) == (.none, .awaitingCodecClose))
        #expect(step(.draining, .outputDrained(outputPending: false)) == (.closeIfIdle, .draining))
        #expect(step(.awaitingCodecClose, .outputDrained(outputPending: false)) == (.none, .awaitingCodecClose))
        #expect(step(.closing, .drain) == (.none, .closing))
    }

    @Test("the peer's end closes every open state, after the queue if any", arguments: [
        State.established, .draining, .awaitingCodecClose, .closingAfterStream,
    ])
    func peerClosed(from state: State) {
        #expect(step(state, .peerClosed(outputPending: false)) == (.destroy, .closing))
        #expect(step(state, .peerClosed(outputPending: true)) == (.flushThenClose, .closing))
    }

    @Test("a hand-over retires the connection in two steps, never closing the socket")
    func handOver() {
        #expect(step(.established, .handedOver) == (.none, .closing))
        #expect(step(.closing, .handedOver) == (.none, .closed))
    }

    @Test("open and draining, and the names Workerman users see")
    func derivedViews() {
        let open: [State] = [.established, .draining, .awaitingCodecClose, .closingAfterStream]
        for state in [State.initial, .connecting, .established, .draining, .awaitingCodecClose, .closingAfterStream, .closing, .closed] {
            let lifecycle = ConnectionLifecycle(state)
            #expect(lifecycle.isOpen == open.contains(state), "\(state)")
            #expect(lifecycle.isDraining == (state == .draining || state == .awaitingCodecClose), "\(state)")
            #expect(lifecycle.status == (open.contains(state) ? .established : state == .initial ? .initial
                : state == .connecting ? .connecting : state == .closing ? .closing : .closed), "\(state)")
        }
    }
}
