// Every path of a connection's life on the embedded connection: a real TCPConnection over a scripted
// stream, a scripted loop and a manual clock, so each case runs in microseconds with no socket.

import Testing
import WorkermanEventLoop
import WorkermanTestSupport
import WorkermanTransport

/// What a connection's callbacks saw, in order.
private final class Journal {
    var entries: [String] = []
    func note(_ entry: String) { entries.append(entry) }
}

private func embeddedLines(_ journal: Journal, echo: Bool = true) throws -> EmbeddedConnection<LineCodec> {
    var handlers = ConnectionHandlers<LineCodec>()
    handlers.onMessage = { connection, line in
        journal.note("message \(line)")
        if echo { connection.send(line.uppercased()) }
    }
    handlers.onClose = { _ in journal.note("close") }
    handlers.onError = { _, error in journal.note("error \(error.code)") }
    handlers.onBufferFull = { _ in journal.note("full") }
    handlers.onBufferDrain = { _ in journal.note("drain") }
    return try EmbeddedConnection(handlers: handlers)
}

@Suite("Embedded connection")
struct EmbeddedConnectionTests {
    @Test("messages in any split are delivered in order; answers of one read leave in one write")
    func messagesAndCorkedAnswers() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal)
        embedded.receive("one\ntw")
        embedded.receive("o\nthree\n")
        #expect(journal.entries == ["message one", "message two", "message three"])
        #expect(embedded.takeOutboundText() == "ONE\nTWO\nTHREE\n")
        #expect(embedded.stream.calls.filter { $0.hasPrefix("write") }.count == 2, "one write per read")
    }

    @Test("close flushes what is queued first; onClose fires once, when the stream is closed")
    func closeAfterFlushing() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal, echo: false)
        embedded.stream.queueWrites([.accept(3), .wouldBlock])
        #expect(embedded.connection.send("hello") == .queued)
        embedded.connection.close()
        #expect(embedded.connection.status == .closing)
        #expect(!embedded.stream.isClosed)
        embedded.run()  // writable again: the rest goes, then the close
        #expect(embedded.takeOutboundText() == "hello\n")
        #expect(embedded.stream.isClosed)
        #expect(journal.entries == ["drain", "close"])
        embedded.connection.close()
        embedded.connection.destroy()
        #expect(journal.entries == ["drain", "close"], "onClose fires once")
    }

    @Test("destroy drops what is queued")
    func destroyDropsOutput() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal, echo: false)
        embedded.stream.queueWrites([.wouldBlock])
        embedded.connection.send("lost")
        embedded.connection.destroy()
        #expect(embedded.isClosed && embedded.stream.isClosed)
        #expect(embedded.takeOutbound().isEmpty)
        #expect(journal.entries == ["close"])
    }

    @Test("the peer's end of stream: what it sent is answered, then the connection closes")
    func peerEndOfStream() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal)
        embedded.stream.queueRead("last\n")
        embedded.receiveEndOfStream()
        #expect(embedded.takeOutboundText() == "LAST\n")
        #expect(journal.entries == ["message last", "close"])
        #expect(TransportContext.of(embedded.loop).statistics.clientClose == 1)
    }

    @Test("a reset closes at once and counts as the client closing")
    func reset() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal)
        embedded.receiveReset()
        #expect(embedded.isClosed)
        #expect(journal.entries == ["close"])
        #expect(TransportContext.of(embedded.loop).statistics.clientClose == 1)
    }

    @Test("a failed write is send_fail, onError, and the end")
    func writeFailure() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal, echo: false)
        embedded.stream.queueWrites([.failure(.brokenPipe)])
        #expect(embedded.connection.send("x") == .failed)
        #expect(journal.entries == ["error sendFailed", "close"])
        #expect(TransportContext.of(embedded.loop).statistics.sendFail == 1)
    }

    @Test("back-pressure: onBufferFull at maxSendBufferSize, a full queue refuses, onBufferDrain when written")
    func bufferFullAndDrain() throws {
        let journal = Journal()
        var handlers = ConnectionHandlers<LineCodec>()
        handlers.onBufferFull = { _ in journal.note("full") }
        handlers.onBufferDrain = { _ in journal.note("drain") }
        handlers.onError = { _, error in journal.note("error \(error.code)") }
        let embedded = try EmbeddedConnection(handlers: handlers, maxSendBufferSize: 8)
        embedded.stream.queueWrites([.wouldBlock, .wouldBlock])
        #expect(embedded.connection.send("0123456789") == .queued)
        #expect(journal.entries == ["full"])
        #expect(embedded.connection.send("refused") == .failed)
        #expect(journal.entries == ["full", "error sendFailed"])
        embedded.run()
        #expect(embedded.takeOutboundText() == "0123456789\n")
        #expect(journal.entries == ["full", "error sendFailed", "drain"])
        #expect(embedded.connection.bufferIsEmpty)
    }

    @Test("pause keeps received bytes waiting; resume delivers them in the next tick")
    func pauseAndResume() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal, echo: false)
        embedded.connection.pauseReceiving()
        embedded.receive("held\n")
        #expect(journal.entries.isEmpty)
        #expect(embedded.stream.isReadable, "a paused connection does not read")
        embedded.connection.resumeReceiving()
        embedded.run()
        #expect(journal.entries == ["message held"])
    }

    @Test("a pause from onMessage stops the rest of the read until resumed")
    func pauseFromOnMessage() throws {
        let journal = Journal()
        var handlers = ConnectionHandlers<LineCodec>()
        handlers.onMessage = { connection, line in
            journal.note(line)
            if line == "stop" { connection.pauseReceiving() }
        }
        let embedded = try EmbeddedConnection(handlers: handlers)
        embedded.receive("a\nstop\nb\nc\n")
        #expect(journal.entries == ["a", "stop"])
        #expect(embedded.connection.receiveBufferQueueSize == 4)
        embedded.connection.resumeReceiving()
        embedded.run()
        #expect(journal.entries == ["a", "stop", "b", "c"])
    }

    @Test("drain: an idle connection closes at once; one mid-message closes once it is answered")
    func drainWhenIdle() throws {
        let journal = Journal()
        let idle = try embeddedLines(journal)
        idle.receive("first\n")
        idle.connection.closeWhenIdle()
        #expect(idle.isClosed)

        let busy = try embeddedLines(Journal())
        busy.receive("first\nhalf")
        busy.connection.closeWhenIdle()
        #expect(busy.connection.isDraining && !busy.isClosed)
        busy.receive(" done\n")
        #expect(busy.takeOutboundText() == "FIRST\nHALF DONE\n")
        #expect(busy.isClosed)
    }

    @Test("a connection that has not sent a byte is not idle yet: its first request is on the way")
    func drainSparesAFreshConnection() throws {
        let embedded = try embeddedLines(Journal())
        embedded.connection.closeWhenIdle()
        #expect(!embedded.isClosed)
        embedded.receive("late\n")
        #expect(embedded.takeOutboundText() == "LATE\n")
        #expect(embedded.isClosed)
    }

    @Test("bad input: the codec's rejection is packet_err, onError protocolError, and a close")
    func rejection() throws {
        let journal = Journal()
        let embedded = try embeddedLines(journal)
        embedded.receive("ok\nbad\u{0}\nnever\n")
        #expect(journal.entries == ["message ok", "error protocolError", "close"])
        #expect(embedded.takeOutboundText() == "OK\n")
        #expect(TransportContext.of(embedded.loop).statistics.packetErr == 1)
    }

    @Test("a codec that claims more bytes than it was given is refused with an error naming it")
    func misbehavingCodec() throws {
        var errors: [TransportError] = []
        var handlers = ConnectionHandlers<OverreachingCodec>()
        handlers.onError = { _, error in errors.append(error) }
        let embedded = try EmbeddedConnection(handlers: handlers)
        embedded.receive("abc")
        #expect(embedded.isClosed)
        #expect(errors.count == 1)
        #expect(errors.first?.code == .protocolError)
        #expect("\(errors.first.map { "\($0)" } ?? "")".contains("OverreachingCodec consumed 4 of the 3 bytes"))
    }

    @Test("a callback that throws is counted and closes its connection; the loop lives on")
    func throwingCallback() throws {
        var handlers = ConnectionHandlers<LineCodec>()
        handlers.onMessage = { _, _ in throw DeliberateFailure() }
        let embedded = try EmbeddedConnection(handlers: handlers)
        var reported: [any Error] = []
        embedded.loop.errorHandler = { reported.append($0) }
        embedded.receive("boom\n")
        #expect(embedded.isClosed)
        #expect(TransportContext.of(embedded.loop).statistics.throwException == 1)
        #expect(reported.count == 1)
    }

    @Test("a partial message is timed by the loop's clock")
    func partialMessageUsesTheLoopClock() throws {
        let embedded = try embeddedLines(Journal())
        embedded.advanceTime(by: .seconds(5))
        embedded.receive("par")
        let since = embedded.connection.partialSince
        #expect(since == embedded.clock.now)
        embedded.advanceTime(by: .milliseconds(250))
        embedded.receive("t\n")
        #expect(embedded.connection.partialSince == 0)
    }

    @Test("callbacks are shared with the server's until one is set on the connection")
    func handlersCopyOnWrite() throws {
        let journal = Journal()
        var shared = ConnectionHandlers<LineCodec>()
        shared.onMessage = { _, line in journal.note("shared \(line)") }
        let first = try EmbeddedConnection(handlers: shared)
        let second = try EmbeddedConnection(handlers: shared)
        second.connection.onMessage = { _, line in journal.note("own \(line)") }
        first.receive("a\n")
        second.receive("b\n")
        #expect(journal.entries == ["shared a", "own b"])
        #expect(shared.onMessage != nil && first.connection.onClose == nil)
    }

    @Test("pipe: the source pauses while the destination's buffer is full and resumes when it drains")
    func pipeWithBackPressure() throws {
        let source = try EmbeddedConnection<RawCodec>()
        let destination = try EmbeddedConnection<RawCodec>(maxSendBufferSize: 4)
        source.connection.pipe(to: destination.connection)
        destination.stream.queueWrites([.wouldBlock, .wouldBlock])
        source.receive("0123456789")
        #expect(source.connection.isPaused, "the destination's buffer is full")
        source.stream.queueRead("after")
        source.run()
        #expect(source.stream.isReadable, "a paused source does not read")
        destination.run()
        #expect(destination.takeOutboundText() == "0123456789")
        #expect(!source.connection.isPaused)
        source.run()
        destination.run()
        #expect(destination.takeOutboundText() == "after")
        source.receiveEndOfStream()
        #expect(destination.isClosed, "closing the source closes the destination")
    }

    @Test("hand-over: the successor answers from the greeting on, with the bytes that followed the request")
    func handOver() throws {
        let journal = Journal()
        var handlers = ConnectionHandlers<LineCodec>()
        handlers.onMessage = { connection, line in
            guard line == "upgrade" else { return }
            let successor = try connection.handOver(to: RawCodec(), greeting: ByteBuffer("switched\n"))
            successor.onMessage = { successor, bytes in
                journal.note("raw \(bytes.string)")
                successor.send(bytes)
            }
        }
        handlers.onClose = { _ in journal.note("line close") }
        let embedded = try EmbeddedConnection(handlers: handlers)
        embedded.receive("upgrade\nearly")
        #expect(embedded.successors.count == 1)
        #expect(embedded.takeOutboundText() == "switched\nearly")
        embedded.receive("later")
        #expect(embedded.takeOutboundText() == "later")
        #expect(journal.entries == ["raw early", "raw later"], "the predecessor's onClose never fires")
        #expect(embedded.connection.status == .closed && !embedded.isClosed)
    }
}

/// Says it consumed one byte more than it was given.
private struct OverreachingCodec: Codec {
    typealias Message = String
    init() {}
    mutating func input(_ bytes: UnsafeRawBufferPointer, _ context: inout CodecContext) -> InputDecision {
        .consumed(length: bytes.count + 1)
    }
    mutating func decode(_ packet: UnsafeRawBufferPointer, _ context: inout CodecContext) throws(CodecRejection) -> String? { nil }
    mutating func encode(_ message: String, into buffer: inout ByteBuffer, _ context: inout CodecContext) {}
}
