// How stream connections end: onClose fires exactly once whatever the cause, a half-closed peer still gets
// the answer queued for it, a peer that resets mid-message, and pause/resume of receiving. One body for TCP
// over IPv4 and IPv6 and unix sockets, on each loop backend.

import Testing
import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// What ends a connection.
enum CloseCause: String, CaseIterable, CustomStringConvertible, Sendable {
    /// The peer closes (FIN, end of stream).
    case peerClose
    /// The peer resets (SO_LINGER 0 over TCP; a unix peer closing with unread data).
    case peerReset
    /// The server calls close().
    case close
    /// The server calls destroy().
    case destroy
    /// send() finds the socket unwritable (shut down): onError .sendFailed "client closed".
    case sendFailure
    /// Flushing queued output finds the peer gone.
    case flushFailure
    /// The codec rejects the stream.
    case codecReject
    /// onMessage throws.
    case callbackThrow

    var description: String { rawValue }
}

/// A family and a close cause, one test argument (a test takes at most two argument collections).
struct CloseScenario: Sendable, CustomStringConvertible {
    let family: Family
    let cause: CloseCause

    static let all = Family.allCases.flatMap { family in CloseCause.allCases.map { CloseScenario(family: family, cause: $0) } }

    var description: String { "\(cause) over \(family)" }
}

@Suite("TCPConnection closing")
struct TCPConnectionCloseTests {
    @Test(arguments: BackendKind.available, CloseScenario.all)
    func onCloseFiresExactlyOnce(backend: BackendKind, scenario: CloseScenario) throws {
        let (family, cause) = (scenario.family, scenario.cause)
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var closes = 0
        var statusInOnClose: ConnectionStatus?
        var errors: [TransportError] = []
        var serverSide: TCPConnection<LineCodec>?
        var sendResult: SendResult?
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onConnect = { connection in
                serverSide = connection
                switch cause {
                case .peerReset:
                    connection.send("unread")  // a unix peer that closes with this unread resets
                case .close:
                    connection.close()
                case .destroy:
                    connection.destroy()
                case .sendFailure:
                    _ = Glibc.shutdown(connection.fd, CInt(SHUT_WR))
                    sendResult = connection.send("into a shut socket")
                case .flushFailure:
                    connection.maxSendBufferSize = 1 << 30
                    shrinkSendBuffer(connection.fd)
                    connection.pauseReceiving()  // so the failing write, not a read, finds the peer gone
                    sendResult = connection.send(letters(4 << 20))
                case .peerClose, .codecReject, .callbackThrow:
                    break
                }
            }
            server.onMessage = { connection, line in
                if line == "throw" { throw DeliberateFailure() }
                connection.send(line)
            }
            server.onError = { _, error in errors.append(error) }
            server.onClose = { connection in
                closes += 1
                statusInOnClose = connection.status
                // Closing again, from onClose or later, changes nothing.
                connection.close()
                connection.destroy()
                harness.loop.nextTick {
                    connection.close()
                    connection.destroy()
                    harness.done()
                }
            }
        }
        let client = try RawPeer(harness, to: server.listener!.address, reading: cause != .peerReset && cause != .flushFailure)
        client.onConnect = { peer in
            switch cause {
            case .peerClose: peer.close()
            case .codecReject: peer.write("ok\n!reject\nnever\n")
            case .callbackThrow: peer.write("throw\nnever\n")
            default: break
            }
        }
        // A peer that does not read resets once the server's bytes are waiting in its socket.
        client.onReadableWhileNotReading = { peer in peer.reset() }
        try harness.run()

        #expect(closes == 1)
        #expect(statusInOnClose == .closed)
        let connection = try #require(serverSide)
        #expect(connection.status == .closed && connection.fd == -1)
        #expect(connection.onMessage == nil && connection.onClose == nil, "callbacks dropped after close")
        #expect(server.connections.isEmpty)
        #expect(connection.receiveBufferQueueSize == 0 && connection.sendBufferQueueSize == 0)
        let statistics = harness.context.statistics
        switch cause {
        case .peerClose, .peerReset:
            #expect(statistics.clientClose == 1)
            #expect(errors.isEmpty)
        case .close, .destroy:
            #expect(statistics.clientClose == 0)
            #expect(errors.isEmpty)
        case .sendFailure:
            #expect(sendResult == .failed)
            #expect(errors.map(\.code) == [.sendFailed])
            #expect(errors.first?.description.contains("client closed") == true)
            #expect(statistics.sendFail == 1)
        case .flushFailure:
            #expect(sendResult == .queued)
            #expect(errors.isEmpty, "a failed flush closes without onError, as Workerman's baseWrite")
            #expect(statistics.sendFail == 1)
        case .codecReject:
            #expect(errors.map(\.code) == [.protocolError])
            #expect(errors.first?.description.contains("rejected line") == true)
            #expect(statistics.packetErr == 1)
            #expect(statistics.totalRequest == 1, "the line before the bad one was delivered; none after")
        case .callbackThrow:
            #expect(statistics.throwException == 1)
            let failure = harness.loggedErrors.first as? CallbackFailure
            #expect(failure?.callback == .onMessage)
            #expect(failure?.error is DeliberateFailure)
            #expect(statistics.totalRequest == 1, "nothing is delivered after the throw")
        }
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func aHalfClosedPeerStillGetsTheQueuedAnswer(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        let answer = letters(2 << 20)
        var serverSide: TCPConnection<LineCodec>?
        var sawClosing = false
        var closes = 0
        var peer: RawPeer?
        var watcher: TimerID?
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.maxSendBufferSize = 1 << 30
            server.onConnect = { connection in
                serverSide = connection
                shrinkSendBuffer(connection.fd)
            }
            server.onMessage = { connection, line in
                #expect(line == "ping")
                #expect(connection.send(answer) == .queued)
                // Once the server has read the peer's end of stream, it is closing with the answer still
                // queued; only then does the peer start reading.
                watcher = try harness.loop.addTimer(every: 0.001) {
                    guard connection.status == .closing else { return }
                    sawClosing = true
                    harness.loop.cancelTimer(watcher!)
                    peer?.isReading = true
                }
            }
            server.onClose = { _ in closes += 1 }
        }
        peer = try RawPeer(harness, to: server.listener!.address, reading: false)
        peer?.write("ping\n")
        peer?.shutdownWrite()
        peer?.onEnd = { _ in harness.done() }
        try harness.run()
        #expect(sawClosing)
        #expect(peer?.received.count == answer.utf8.count + 1)
        #expect(same(peer?.received, Array((answer + "\n").utf8)), "the whole answer")
        #expect(peer?.sawEndOfStream == true)
        #expect(closes == 1)
        #expect(serverSide?.status == .closed)
        #expect(harness.context.statistics.clientClose == 1)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func aPeerThatResetsMidMessage(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var peer: RawPeer?
        var lines: [String] = []
        var closes = 0
        var serverSide: TCPConnection<LineCodec>?
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.makeCodec = {
                var codec = LineCodec()
                // The server holds part of a line: now the peer resets.
                codec.onInput = { _ in peer?.reset() }
                return codec
            }
            server.onConnect = { connection in
                serverSide = connection
                connection.send("unread")
            }
            server.onMessage = { _, line in lines.append(line) }
            server.onClose = { _ in
                closes += 1
                harness.done()
            }
        }
        peer = try RawPeer(harness, to: server.listener!.address, reading: false)
        peer?.onReadableWhileNotReading = { peer in peer.write("half a li") }
        try harness.run()
        #expect(lines.isEmpty)
        #expect(closes == 1)
        #expect(serverSide?.receiveBufferQueueSize == 0)
        #expect(harness.context.statistics.clientClose == 1)
        #expect(harness.context.statistics.packetErr == 0)
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func pauseAndResumeReceiving(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var lines: [String] = []
        var peer: RawPeer?
        var checks: [String: Bool] = [:]
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onMessage = { connection, line in
                lines.append(line)
                switch line {
                case "a":
                    connection.pauseReceiving()
                    checks["paused"] = connection.isPaused
                    checks["not watched for reading"] = harness.loop.interest(for: connection.fd)?.contains(.readable) == false
                    harness.loop.nextTick {
                        checks["b and c wait"] = lines == ["a"] && connection.receiveBufferQueueSize == 4
                        connection.resumeReceiving()
                        checks["delivered in the next tick, not inside resume"] = lines == ["a"]
                        checks["watched again"] = harness.loop.interest(for: connection.fd)?.contains(.readable) == true
                    }
                case "c":
                    // Pausing and resuming with nothing buffered just reads on.
                    connection.pauseReceiving()
                    connection.resumeReceiving()
                    connection.resumeReceiving()
                    peer?.write("d\n")
                case "d":
                    peer?.close()
                default:
                    break
                }
            }
            server.onClose = { _ in harness.done() }
        }
        peer = try RawPeer(harness, to: server.listener!.address)
        peer?.write("a\nb\nc\n")
        try harness.run()
        #expect(lines == ["a", "b", "c", "d"])
        #expect(checks.count == 5 && checks.values.allSatisfy { $0 }, "\(checks)")
        harness.finish()
    }

    @Test(arguments: BackendKind.available, Family.allCases)
    func pausedBeforeDataArrivesReadsNothingUntilResumed(backend: BackendKind, family: Family) throws {
        let harness = try LoopHarness(backend)
        let site = try TestSite(family)
        defer { site.remove() }
        var lines: [String] = []
        var serverSide: TCPConnection<LineCodec>?
        var peer: RawPeer?
        let server = try harness.startServer(site, codec: LineCodec.self) { server in
            server.onConnect = { connection in
                connection.pauseReceiving()
                serverSide = connection
                peer?.write("early\n")
            }
            server.onMessage = { connection, line in
                lines.append(line)
                connection.close()
            }
            server.onClose = { _ in harness.done() }
        }
        peer = try RawPeer(harness, to: server.listener!.address)
        // Once the peer's bytes are in the kernel, a timer checks nothing was read, then resumes.
        var resumer: TimerID?
        resumer = try harness.loop.addTimer(every: 0.001) {
            guard let connection = serverSide, peer?.pendingOutput == 0 else { return }
            harness.loop.cancelTimer(resumer!)
            #expect(connection.bytesRead == 0 && lines.isEmpty)
            connection.resumeReceiving()
        }
        try harness.run()
        #expect(lines == ["early"])
        harness.finish()
    }
}
