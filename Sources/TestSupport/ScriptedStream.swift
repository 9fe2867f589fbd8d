import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
import Glibc
#endif

/// A byte stream that plays the peer and the kernel: tests queue what reads return (bytes, "would
/// block", end of stream, a reset) and how writes go (all, part, "would block", an error), and read back
/// every byte written and every call made. `EmbeddedConnection` runs a real connection over one.
///
/// ```swift
/// let stream = ScriptedStream()
/// stream.queueRead("GET / HTTP/1.1\r\n\r\n")
/// stream.queueWrites([.accept(5), .wouldBlock])   // a partial write, then a full socket buffer
/// ```
public final class ScriptedStream: ByteStream {
    /// What one read returns.
    public enum ReadStep: Equatable {
        case bytes([UInt8])
        case endOfStream
        case failure(Errno)
    }

    /// What one write (or gathered write) does.
    public enum WriteStep: Equatable {
        /// Takes up to this many bytes.
        case accept(Int)
        case wouldBlock
        case failure(Errno)
    }

    /// A descriptor number of its own (an open `/dev/null`), so a loop can watch it without colliding with
    /// a real descriptor; nothing ever reads or writes it.
    public let descriptor: CInt
    /// Every byte the connection wrote, in order.
    public private(set) var written: [UInt8] = []
    /// Every call the connection made, e.g. `read 65536 -> 5`, `writev 2 -> 12`, `close`.
    public private(set) var calls: [String] = []
    public private(set) var isClosed = false
    public private(set) var isOutputShut = false

    private var reads: [ReadStep] = []
    private var writes: [WriteStep] = []

    public init() {
        // A real descriptor, so the loop can watch it; /dev/null exists on every machine the tests run on.
        guard let descriptor = try? Syscalls.open("/dev/null", O_RDONLY | O_CLOEXEC) else {
            preconditionFailure("cannot open /dev/null for a scripted stream's descriptor")
        }
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { try? Syscalls.close(descriptor) }  // a close error leaves nothing to undo
    }

    // MARK: - Scripting

    /// Queues bytes for a read.
    public func queueRead(_ bytes: [UInt8]) { reads.append(.bytes(bytes)) }
    public func queueRead(_ text: String) { reads.append(.bytes(Array(text.utf8))) }
    /// Queues the peer's end of stream (a read of 0).
    public func queueEndOfStream() { reads.append(.endOfStream) }
    /// Queues a failing read (a reset is `Errno.connectionReset`).
    public func queueReadFailure(_ error: Errno) { reads.append(.failure(error)) }
    /// Queues how the next writes go; once they are used up, writes take everything.
    public func queueWrites(_ steps: [WriteStep]) { writes.append(contentsOf: steps) }

    /// Whether a read would return something now (what a level-triggered poll reports as readable).
    public var isReadable: Bool { !reads.isEmpty }
    /// Whether the stream reports writable to a poll: always. A `.wouldBlock` step stands for a full
    /// socket buffer at the moment of that write; by the next poll it has room again (queue several
    /// `.wouldBlock` steps to keep it full for several polls).
    public var isWritable: Bool { true }

    /// Takes the bytes written so far.
    public func takeWritten() -> [UInt8] {
        defer { written.removeAll() }
        return written
    }

    // MARK: - ByteStream

    public func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(Errno) -> IOResult<Int> {
        guard let step = reads.first else {
            calls.append("read \(count) -> would block")
            return .wouldBlock
        }
        switch step {
        case .endOfStream:
            reads.removeFirst()
            calls.append("read \(count) -> 0")
            return .processed(0)
        case .failure(let error):
            reads.removeFirst()
            calls.append("read \(count) -> \(error)")
            throw error
        case .bytes(let bytes):
            let taken = min(count, bytes.count)
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: taken) }
            if taken == bytes.count { reads.removeFirst() } else { reads[0] = .bytes(Array(bytes[taken...])) }
            calls.append("read \(count) -> \(taken)")
            return .processed(taken)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> IOResult<Int> {
        let result = try take(bytes.count)
        if case .processed(let count) = result { written.append(contentsOf: bytes.prefix(count)) }
        calls.append("write \(bytes.count) -> \(describe(result))")
        return result
    }

    public func writev(_ vectors: UnsafePointer<iovec>, count: Int) throws(Errno) -> IOResult<Int> {
        var total = 0
        for index in 0..<count { total += vectors[index].iov_len }
        let result = try take(total)
        if case .processed(var remaining) = result {
            for index in 0..<count where remaining > 0 {
                let piece = min(remaining, vectors[index].iov_len)
                written.append(contentsOf: UnsafeRawBufferPointer(start: vectors[index].iov_base, count: piece))
                remaining -= piece
            }
        }
        calls.append("writev \(count) -> \(describe(result))")
        return result
    }

    public func shutdownOutput() {
        isOutputShut = true
        calls.append("shutdown output")
    }

    public func close() {
        isClosed = true
        calls.append("close")
    }

    /// How many of `count` bytes the next write takes.
    private func take(_ count: Int) throws(Errno) -> IOResult<Int> {
        guard !writes.isEmpty else { return .processed(count) }
        switch writes.removeFirst() {
        case .accept(let limit): return .processed(min(limit, count))
        case .wouldBlock: return .wouldBlock
        case .failure(let error): throw error
        }
    }

    private func describe(_ result: IOResult<Int>) -> String {
        switch result {
        case .processed(let count): "\(count)"
        case .wouldBlock: "would block"
        }
    }
}

@available(*, unavailable)
extension ScriptedStream: Sendable {}
