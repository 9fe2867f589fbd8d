// A client socket with no transport code in it, which a test drives by hand (what a misbehaving peer does:
// never read, half-close, reset), and a port that refuses connections.

import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A client socket with no transport code in it: the test connects, writes, reads, half-closes or resets it
/// (what a misbehaving peer does). It lives in the test's loop, so it never blocks the servers.
final class RawPeer {
    let loop: EventLoop
    private(set) var fd: CInt
    /// Everything read so far.
    private(set) var received: [UInt8] = []
    /// Whether the peer reads when data arrives (a client that never reads sets false).
    var isReading: Bool {
        didSet { updateInterest() }
    }
    private(set) var isConnected = false
    private(set) var sawEndOfStream = false
    private(set) var readError: Errno?
    /// Called after each read that got bytes.
    var onData: ((RawPeer) -> Void)?
    /// Called once when reading finds the end of the stream or an error.
    var onEnd: ((RawPeer) -> Void)?
    /// Called when readable while not reading (data or end waits in the kernel).
    var onReadableWhileNotReading: ((RawPeer) -> Void)?
    /// Called once the connection is up (the first writability).
    var onConnect: ((RawPeer) -> Void)?
    /// Called when everything written so far has been taken by the kernel.
    var onDrained: ((RawPeer) -> Void)?
    private var outbox: [UInt8] = []
    private var outboxOffset = 0
    private var notifiedReadable = false
    private var shutdownPending = false

    /// Connects (non-blocking) to `address`; `receiveBuffer` sets `SO_RCVBUF` first (keep it at two loopback
    /// segments or more: see `shrinkBuffers`). `harness.finish()` closes it if the test has not.
    init(_ harness: LoopHarness, to address: SocketAddress, reading: Bool = true, receiveBuffer: CInt? = nil) throws {
        loop = harness.loop
        isReading = reading
        fd = try SocketCalls.socket(domain: address.family, type: CInt(SOCK_STREAM.rawValue))
        do {
            if let receiveBuffer { try SocketCalls.setOption(fd, SOL_SOCKET, SO_RCVBUF, receiveBuffer) }
            // No Nagle, as the servers' sockets: small writes waiting for delayed ACKs would stall for 40 ms.
            if address.family != AF_UNIX { try SocketCalls.setOption(fd, CInt(IPPROTO_TCP), TCP_NODELAY, 1) }
            // Connected at once (a unix socket) or not, the first writability reports it, so `onConnect`
            // set after init still fires.
            _ = try SocketCalls.connect(fd, address)
            try loop.watch(fd, for: wantedInterest) { [unowned self] events in self.handle(events) }
        } catch {
            try? Syscalls.close(fd)
            fd = -1
            throw error
        }
        harness.onTeardown { [weak self] in self?.close() }
    }

    deinit {
        close()
        readBuffer.deallocate()
    }

    private static let readSize = 65536
    private let readBuffer = UnsafeMutableRawPointer.allocate(byteCount: RawPeer.readSize, alignment: 16)

    /// The local address of the socket.
    var localAddress: SocketAddress? { fd >= 0 ? SocketCalls.localAddress(fd) : nil }

    /// Bytes read so far, as text.
    var receivedText: String { String(decoding: received, as: UTF8.self) }

    /// Queues `bytes` and writes what the socket takes now.
    func write(_ bytes: [UInt8]) {
        outbox += bytes
        flush()
    }

    func write(_ text: String) { write(Array(text.utf8)) }

    /// Bytes queued here and not yet taken by the kernel.
    var pendingOutput: Int { outbox.count - outboxOffset }

    /// `shutdown(SHUT_WR)` once everything written so far has gone: the server reads end of stream, but can
    /// still send to us.
    func shutdownWrite() {
        shutdownPending = true
        flush()
    }

    /// Closes with `SO_LINGER` 0: TCP sends a reset instead of a FIN (unix sockets just close; data left
    /// unread here makes the server's next read fail with ECONNRESET).
    func reset() {
        guard fd >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    func close() {
        guard fd >= 0 else { return }
        loop.unwatch(fd)
        _ = Glibc.close(fd)
        fd = -1
    }

    /// Drops what was read so far.
    func clearReceived() { received.removeAll() }

    private var wantedInterest: IOEvents {
        var interest: IOEvents = []
        if (isReading || !notifiedReadable) && !sawEndOfStream && readError == nil { interest.insert(.readable) }
        if !isConnected || pendingOutput > 0 { interest.insert(.writable) }
        return interest
    }

    private func updateInterest() {
        guard fd >= 0 else { return }
        if isReading { notifiedReadable = false }
        try? loop.setInterest(wantedInterest, for: fd)
    }

    private func handle(_ events: IOEvents) {
        if events.contains(.writable) {
            if !isConnected {
                let code = (try? SocketCalls.option(fd, SOL_SOCKET, SO_ERROR)) ?? 0
                guard code == 0 else {
                    readError = Errno(rawValue: code)
                    updateInterest()
                    onEnd?(self)
                    return
                }
                isConnected = true
                onConnect?(self)
                guard fd >= 0 else { return }
            }
            flush()
        }
        guard fd >= 0, events.contains(.readable) else { return }
        if isReading {
            readOnce()
        } else if !notifiedReadable {
            notifiedReadable = true
            updateInterest()
            onReadableWhileNotReading?(self)
        }
    }

    private func readOnce() {
        let count = Glibc.read(fd, readBuffer, Self.readSize)
        if count > 0 {
            received.append(contentsOf: UnsafeRawBufferPointer(start: readBuffer, count: count))
            onData?(self)
            return
        }
        if count < 0 {
            let error = Errno(rawValue: errno)
            if error == .wouldBlock || error == .interrupted { return }
            readError = error
        } else {
            sawEndOfStream = true
        }
        updateInterest()
        onEnd?(self)
    }

    private func flush() {
        guard isConnected, fd >= 0 else {
            updateInterest()
            return
        }
        while outboxOffset < outbox.count {
            let written = outbox.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + outboxOffset, raw.count - outboxOffset, CInt(MSG_NOSIGNAL))
            }
            guard written > 0 else { break }
            outboxOffset += written
        }
        let drained = outboxOffset == outbox.count && !outbox.isEmpty
        if outboxOffset == outbox.count {
            outbox.removeAll()
            outboxOffset = 0
            if shutdownPending {
                shutdownPending = false
                _ = Glibc.shutdown(fd, CInt(SHUT_WR))
            }
        }
        updateInterest()
        if drained { onDrained?(self) }
    }
}

/// Caps the kernel's send buffer of a socket (and so turns off its autotuning), so writes to a peer that does
/// not read fill the kernel soon. Not much smaller: TCP over loopback (MSS 65,483) crawls with a send buffer
/// under two segments. Receive buffers are left alone: a window under one segment makes TCP fall back to
/// zero-window probes, which back off for seconds.
func shrinkSendBuffer(_ fd: CInt) {
    try? SocketCalls.setOption(fd, SOL_SOCKET, SO_SNDBUF, 131072)
}

/// A TCP socket bound to a loopback port without listening: connecting to it is refused, and no other test
/// can be given the port while it is held. Close it with `close(fd)`.
func refusingPort(_ family: Family) throws -> (fd: CInt, port: Int) {
    let address = try SocketAddress(ip: family == .ipv6 ? "::1" : "127.0.0.1", port: 0)
    let fd = try SocketCalls.socket(domain: address.family, type: CInt(SOCK_STREAM.rawValue))
    do {
        try SocketCalls.bind(fd, address)
    } catch {
        _ = Glibc.close(fd)
        throw error
    }
    return (fd, SocketCalls.localAddress(fd)?.port ?? 0)
}
