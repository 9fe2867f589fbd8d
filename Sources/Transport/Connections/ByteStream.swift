import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// What a stream connection reads from and writes to: a plain socket today, TLS over a socket, or a
/// scripted stream in tests (`ScriptedStream` in WorkermanTestSupport). The connection never calls a
/// socket syscall itself; it asks its stream, so a connection runs the same with or without a kernel.
///
/// The stream also decides which readiness the loop watches for: a TLS stream that must read a handshake
/// record before it can write answers `.readable` when the connection wants `.writable`, and the
/// connection then retries its write when the descriptor becomes readable.
///
/// Results follow the syscall wrappers: `.processed(n)` for bytes moved (a read of 0 is the peer's end of
/// stream), `.wouldBlock` to wait for readiness, and a thrown `Errno` for a broken stream (a reset).
public protocol ByteStream {
    /// The descriptor the loop watches for this stream (a fake one for a scripted stream).
    var descriptor: CInt { get }

    /// Reads up to `count` bytes into `buffer`.
    mutating func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(Errno) -> IOResult<Int>

    /// Writes from `bytes`; may take less than all of them.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int>

    /// Writes from `count` vectors at once (a gathered write); may take less than all of them.
    mutating func writev(_ vectors: UnsafePointer<iovec>, count: Int) throws(Errno) -> IOResult<Int>

    /// Ends the sending direction once what was written has left (a TCP FIN, a TLS close_notify).
    mutating func shutdownOutput()

    /// Releases the stream (closes the socket). Called exactly once, by the connection.
    mutating func close()

    /// The readiness to watch for, given what the connection wants next (reading, writing or both).
    func interest(forWanted wanted: IOEvents) -> IOEvents

    /// What the connection should try, given the readiness the loop reported: a TLS stream whose read
    /// waits for the socket to take a handshake record answers `.readable` for `.writable`.
    func attempts(forReady events: IOEvents) -> IOEvents

    /// Still negotiating (a TLS handshake): no application byte has been exchanged yet.
    var isHandshaking: Bool { get }

    /// What secures the stream, for listings (`TLSv1.3 TLS_AES_128_GCM_SHA256`); nil for a plain one.
    var securityDescription: String? { get }

    /// Why the stream failed, when it knows more than the errno it threw (OpenSSL's reason).
    var failureReason: String? { get }

    /// The last read stopped for lack of room while the stream still held input it had read ahead
    /// (TLS records): no readiness will announce it, so the reader reads again.
    var hasBufferedInput: Bool { get }
}

extension ByteStream {
    public func interest(forWanted wanted: IOEvents) -> IOEvents { wanted }
    public func attempts(forReady events: IOEvents) -> IOEvents { events }
    public mutating func shutdownOutput() {}
    public var isHandshaking: Bool { false }
    public var securityDescription: String? { nil }
    public var failureReason: String? { nil }
    public var hasBufferedInput: Bool { false }
}

/// A connected stream socket (TCP or unix), read and written with the plain syscalls.
public struct SocketStream: ByteStream {
    public let descriptor: CInt

    /// Takes over `descriptor`, which the connection closes through `close()`.
    public init(descriptor: CInt) { self.descriptor = descriptor }

    public mutating func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(Errno) -> IOResult<Int> {
        try Syscalls.read(descriptor, buffer, count)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        try SocketCalls.send(descriptor, bytes)
    }

    public mutating func writev(_ vectors: UnsafePointer<iovec>, count: Int) throws(Errno) -> IOResult<Int> {
        try SocketCalls.writev(descriptor, vectors, count)
    }

    public mutating func shutdownOutput() {
        SocketCalls.shutdown(descriptor, CInt(SHUT_WR))
    }

    public mutating func close() {
        try? Syscalls.close(descriptor)  // the socket is gone either way; nothing useful to do on failure
    }
}
