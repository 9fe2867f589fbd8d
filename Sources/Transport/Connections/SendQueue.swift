import WorkermanEventLoop

#if canImport(Glibc)
import Glibc
#endif

/// Bytes waiting to be written, as a list of chunks flushed with `writev` (NIO's `PendingWritesManager`).
/// The write call is a parameter, so partial writes are tested with scripted results and no socket.
struct SendQueue {
    /// Small sends are copied into the last chunk up to this size; larger ones stay separate chunks, so
    /// a big buffer handed to `send` is queued without a copy.
    static let coalesceLimit = 16 * 1024

    private var chunks: [ByteBuffer] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        count += bytes.count
        if head < chunks.count, chunks[chunks.count - 1].readableBytes + bytes.count <= Self.coalesceLimit {
            chunks[chunks.count - 1].append(bytes)
        } else {
            var chunk = ByteBuffer(capacity: max(bytes.count, min(Self.coalesceLimit, 4096)))
            chunk.append(bytes)
            chunks.append(chunk)
        }
    }

    mutating func append(_ buffer: ByteBuffer) {
        guard !buffer.isEmpty else { return }
        if buffer.readableBytes <= Self.coalesceLimit / 4 {
            buffer.withReadableBytes { append($0) }
            return
        }
        count += buffer.readableBytes
        chunks.append(buffer)
    }

    /// Puts bytes in front of everything queued (a client's handshake ahead of early sends).
    mutating func prepend(_ buffer: ByteBuffer) {
        guard !buffer.isEmpty else { return }
        chunks.insert(buffer, at: head)
        count += buffer.readableBytes
    }

    enum FlushResult: Equatable {
        /// Everything was written.
        case drained
        /// Some or none was written; the rest waits for writability.
        case pending
    }

    /// Writes as much as the `write` call takes, chunk vectors at a time.
    mutating func flush(
        iovecs: UnsafeMutablePointer<iovec>,
        capacity: Int,
        write: (UnsafePointer<iovec>, Int) throws(Errno) -> IOResult<Int>
    ) throws(Errno) -> (FlushResult, written: Int) {
        var total = 0
        while count > 0 {
            let vectors = min(chunks.count - head, capacity)
            // The pointers outlive `withReadableBytes`, which is sound here: each storage is owned by
            // `chunks`, and nothing touches `chunks` until the write call returns.
            for index in 0..<vectors {
                chunks[head + index].withReadableBytes { bytes in
                    iovecs[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
                }
            }
            let result = try write(iovecs, vectors)
            guard case .processed(let written) = result, written > 0 else { return (.pending, total) }
            total += written
            consume(written)
        }
        return (.drained, total)
    }

    /// Drops `written` bytes from the front.
    private mutating func consume(_ written: Int) {
        var remaining = written
        count -= written
        while remaining > 0 {
            let available = chunks[head].readableBytes
            if remaining >= available {
                remaining -= available
                chunks[head] = ByteBuffer()  // release the storage now
                head += 1
            } else {
                chunks[head].consume(remaining)
                remaining = 0
            }
        }
        if head == chunks.count {
            // Drained: give the memory back, an idle connection keeps no buffer.
            chunks = []
            head = 0
        } else if head > 32 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        chunks = []
        head = 0
        count = 0
    }
}
