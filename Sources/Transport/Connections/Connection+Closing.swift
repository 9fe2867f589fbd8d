import WorkermanEventLoop

// Flow control and every way a connection ends. What state comes next is the lifecycle's decision
// (`ConnectionLifecycle.handle`); this file carries out the action it answers.
extension Connection {
    // MARK: - Flow control

    /// Stops reading; data already received waits (Workerman's `pauseRecv()`).
    public func pauseReceiving() {
        guard !isPaused else { return }
        isPaused = true
        updateInterest()
    }

    /// Reads again and, in the next tick, delivers messages already buffered (Workerman's `resumeRecv()`).
    public func resumeReceiving() {
        guard isPaused else { return }
        isPaused = false
        updateInterest()
        let heldByStream = !isPlainSocket && stream.hasBufferedInput
        guard !receiveBuffer.isEmpty || heldByStream else { return }
        // Deferred, so a resume from inside this connection's own onMessage does not recurse.
        loop.nextTick { [weak self] in
            guard let self, !self.isPaused, self.lifecycle.isOpen else { return }
            self.processBuffered()
            // Records a TLS stream read ahead before the pause: no readiness will announce them.
            if heldByStream && !self.isPaused && self.lifecycle.isOpen { self.handle(.readable) }
        }
    }

    // MARK: - Closing

    /// What `close()` does: the lifecycle decides between closing now and flushing first.
    func closeAfterFlushing() {
        let streaming = drainHook != nil
        // Answers held for this read go before the close (unless a streamer still produces the last
        // response: then the close waits for it, and so do they).
        if isCorked && !streaming && lifecycle.isOpen { flushCork() }
        carryOut(lifecycle.handle(.close(outputPending: !sendQueue.isEmpty, streaming: streaming)))
    }

    /// Closes as soon as the connection is idle: nothing half-received, nothing queued to send. For a
    /// graceful stop or reload: the exchange in flight finishes, then the connection closes (an HTTP codec
    /// also answers `Connection: close` from now on).
    public func closeWhenIdle() {
        carryOut(lifecycle.handle(.drain))
    }

    /// Drains without closing while idle: the connection stays open and its codec ends it after its
    /// next answer (an HTTP keep-alive connection answers its next request with `Connection: close`).
    /// Closing an idle keep-alive connection at once loses the request its client may already have on
    /// the wire; whoever drains closes the ones still idle after a grace period.
    package func drainAfterNextAnswer() {
        guard lifecycle.state == .established else { return }
        _ = lifecycle.handle(.drain)
        _ = lifecycle.handle(.codecWillClose)
    }

    /// Closes after the codec's goodbye, if it has one (a WebSocket's 1001 close frame): a server's stop,
    /// which does not wait for the answer.
    func closeSayingGoodbye() {
        if lifecycle.state == .established {
            _ = lifecycle.handle(.drain)
            _ = askCodecToSayGoodbye()
        }
        close()
    }

    /// Does what the lifecycle answered.
    func carryOut(_ action: ConnectionLifecycle.Action) {
        switch action {
        case .none:
            return
        case .destroy:
            destroy()
        case .flushThenClose:
            updateInterest()
        case .askCodecToSayGoodbye:
            if askCodecToSayGoodbye() && lifecycle.state == .draining {
                carryOut(lifecycle.handle(.codecWillClose))
            } else {
                closeIfIdleAndDraining()
            }
        case .closeIfIdle:
            closeIfIdleAndDraining()
        case .close:
            close()
        }
    }

    @usableFromInline
    func closeIfIdleAndDraining() {
        // A connection a server accepted that has not sent a byte yet waits for its first request, which
        // its client is about to send: not idle (nginx sees it so too). Closing it would fail a request
        // the client already made; whoever drains bounds the wait (a stopping worker's timeout).
        let awaitingFirstRequest = bytesRead == 0 && owner != nil && owner !== self
        // An async handler still running is an exchange in flight: the close waits until it ends.
        if lifecycle.state == .draining && sendQueue.isEmpty && receiveBuffer.isEmpty && knownLength == 0
            && !awaitingFirstRequest && !(taskState?.isBusy ?? false)
        {
            close()
        }
    }

    /// Called by a streamer (see `drainHook`) when it has queued its last bytes.
    package func endStream() {
        drainHook = nil
        carryOut(lifecycle.handle(.streamEnded))
    }

    /// Closes the socket now, dropping queued output; fires `onClose` once.
    public func destroy() {
        guard lifecycle.handle(.destroy) == .destroy else { return }
        if isCorked {
            context.cork.clear()  // the held answers die with the connection, as queued output does
            isCorked = false
        }
        if fd >= 0 {
            loop.unwatch(fd)
            closeStream()
            context.statistics.connections -= 1
        }
        knownLength = 0
        isPaused = false
        receiveBuffer.release()
        sendQueue.removeAll()
        let source = pipeSource
        pipeSource = nil
        drainHook = nil
        source?.resumeReceiving()
        taskState?.connectionClosed()  // cancels an async handler's task
        fireClose()
        // A client that reconnected from onClose keeps its callbacks; anything else drops them, which
        // breaks the cycles user closures make through the connection (as Workerman does).
        if lifecycle.state == .closed {
            owner?.connectionClosed(self)
            clearCallbacks()
        }
    }
}
