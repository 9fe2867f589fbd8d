#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer with cheap append at the back and consume from the front, backed by one
/// allocation (copy-on-write). Used for the bytes a connection keeps between reads and for queued output;
/// no Foundation `Data` on the hot path.
///
/// ```swift
/// var buffer = ByteBuffer("GET / HTTP/1.1\r\n")
/// buffer.append([13, 10])
/// buffer.withReadableBytes { bytes in parse(bytes) }
/// buffer.consume(16)
/// ```
public struct ByteBuffer: @unchecked Sendable {  // safe: a shared Storage is never written (copy-on-write)
    /// The bytes live in the object's tail: one allocation per buffer, not an object plus a block (a small
    /// request's buffer is allocated and freed once per request, so the second malloc showed in profiles).
    /// Why the buffer is `@unchecked Sendable`: a `Storage` (not Sendable, as no ManagedBuffer is) is
    /// mutated only through a uniquely referenced buffer (copy-on-write), so a shared one is never written.
    @usableFromInline
    final class Storage: ManagedBuffer<Int, UInt8> {
        static func make(capacity: Int) -> Storage {
            unsafeDowncast(Storage.create(minimumCapacity: capacity) { _ in capacity }, to: Storage.self)
        }

        /// The first byte; valid while the storage lives (the buffer holding it keeps it alive).
        @inlinable @inline(__always)
        var bytes: UnsafeMutableRawPointer { UnsafeMutableRawPointer(withUnsafeMutablePointerToElements { $0 }) }

        /// The usable bytes (what was asked for; malloc may have rounded up). Read through a pointer:
        /// reading `header` directly is a class property access, checked for exclusivity at run time on
        /// every append (a tenth of a request's instructions).
        @inlinable @inline(__always)
        var byteCapacity: Int { withUnsafeMutablePointerToHeader { $0.pointee } }
    }

    @usableFromInline var storage: Storage?
    /// The first readable byte.
    @usableFromInline private(set) var readerIndex = 0
    /// One past the last readable byte.
    @usableFromInline private(set) var writerIndex = 0

    public init() {}

    public init(capacity: Int) {
        if capacity > 0 { storage = Storage.make(capacity: capacity) }
    }

    public init(_ bytes: some Sequence<UInt8>) {
        append(contentsOf: bytes)
    }

    public init(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// A copy of `bytes`, in an allocation of exactly their size (a decoded message's usual home).
    public init(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        let fresh = Storage.make(capacity: bytes.count)
        fresh.bytes.copyMemory(from: source, byteCount: bytes.count)
        storage = fresh
        writerIndex = bytes.count
    }

    /// How many bytes can be read.
    @inlinable @inline(__always)
    public var readableBytes: Int { writerIndex - readerIndex }

    @inlinable @inline(__always)
    public var isEmpty: Bool { writerIndex == readerIndex }

    /// Bytes allocated, readable or not (for memory accounting).
    @inlinable
    public var capacity: Int { storage?.byteCapacity ?? 0 }

    // MARK: - Reading

    /// Calls `body` with the readable bytes, valid only inside `body`.
    @inlinable @inline(__always)
    public func withReadableBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        guard let storage else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: storage.bytes + readerIndex, count: readableBytes))
    }

    /// Drops `count` bytes from the front.
    @inline(__always)
    public mutating func consume(_ count: Int) {
        precondition(count >= 0 && count <= readableBytes, "consume(\(count)) of \(readableBytes) readable bytes")
        readerIndex += count
        if readerIndex == writerIndex {
            // Empty again: start from the front, so a steady stream never needs compaction.
            readerIndex = 0
            writerIndex = 0
        }
    }

    /// Drops every readable byte, keeping the allocation.
    public mutating func clear() {
        readerIndex = 0
        writerIndex = 0
    }

    /// Drops the readable bytes and releases the allocation (an idle connection keeps no buffer).
    public mutating func release() {
        storage = nil
        readerIndex = 0
        writerIndex = 0
    }

    /// The readable bytes as an array.
    public var bytes: [UInt8] { withReadableBytes { Array($0) } }

    /// The readable bytes decoded as UTF-8 (invalid sequences repaired).
    public var string: String { withReadableBytes { String(decoding: $0, as: UTF8.self) } }

    /// The byte at `offset` from the reader index.
    public subscript(offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < readableBytes, "index \(offset) of \(readableBytes) readable bytes")
        return storage!.bytes.load(fromByteOffset: readerIndex + offset, as: UInt8.self)
    }

    /// A copy of `count` bytes from `offset`.
    public func slice(from offset: Int, count: Int) -> ByteBuffer {
        precondition(offset >= 0 && count >= 0 && offset + count <= readableBytes, "slice out of range")
        return withReadableBytes { ByteBuffer(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
    }

    // MARK: - Writing

    /// Appends raw bytes.
    @inline(__always)
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        let target = reserveWritable(bytes.count)
        target.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        writerIndex += bytes.count
    }

    public mutating func append(_ other: ByteBuffer) {
        other.withReadableBytes { append($0) }
    }

    public mutating func append(contentsOf bytes: some Sequence<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if done == nil {
            for byte in bytes { append(byte) }
        }
    }

    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inline(__always)
    public mutating func append(_ byte: UInt8) {
        let target = reserveWritable(1)
        target.storeBytes(of: byte, as: UInt8.self)
        writerIndex += 1
    }

    /// Makes room for `count` more bytes and returns where they go; `commitWritten` says how many were
    /// written (for `read(2)` straight into the buffer).
    @inline(__always)
    public mutating func reserveWritable(_ count: Int) -> UnsafeMutableRawPointer {
        // Check uniqueness before binding `storage`: the binding is a second reference, which made every
        // append look shared and reallocate (and copy) the whole buffer.
        if isKnownUniquelyReferenced(&storage), let storage, writerIndex + count <= storage.byteCapacity {
            return storage.bytes + writerIndex
        }
        grow(toFit: count)
        return storage!.bytes + writerIndex
    }

    /// Spare room at the back after `reserveWritable`.
    public var writableBytes: Int { (storage?.byteCapacity ?? 0) - writerIndex }

    /// Marks `count` bytes written after `reserveWritable`.
    @inline(__always)
    public mutating func commitWritten(_ count: Int) {
        precondition(count >= 0 && writerIndex + count <= capacity, "commitWritten past capacity")
        writerIndex += count
    }

    @inline(never)
    private mutating func grow(toFit extra: Int) {
        let readable = readableBytes
        let unique = isKnownUniquelyReferenced(&storage)
        if let storage, unique, readable + extra <= storage.byteCapacity, readerIndex > 0 {
            // Enough room if the consumed front is reclaimed: slide the readable bytes down.
            storage.bytes.copyMemory(from: storage.bytes + readerIndex, byteCount: readable)
        } else {
            let needed = readable + extra
            var capacity = max(64, storage?.byteCapacity ?? 0)
            while capacity < needed { capacity *= 2 }
            let fresh = Storage.make(capacity: capacity)
            if let storage, readable > 0 {
                fresh.bytes.copyMemory(from: storage.bytes + readerIndex, byteCount: readable)
            }
            storage = fresh
        }
        readerIndex = 0
        writerIndex = readable
    }
}

extension ByteBuffer: Equatable {
    public static func == (lhs: ByteBuffer, rhs: ByteBuffer) -> Bool {
        lhs.readableBytes == rhs.readableBytes
            && lhs.withReadableBytes { a in rhs.withReadableBytes { b in a.elementsEqual(b) } }
    }
}

extension ByteBuffer: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}

extension ByteBuffer: CustomStringConvertible {
    public var description: String {
        let shown = min(readableBytes, 64)
        let text = withReadableBytes { String(decoding: $0.prefix(shown), as: UTF8.self) }
        return "ByteBuffer(\(readableBytes) bytes: \(text.debugDescription)\(readableBytes > shown ? "…" : ""))"
    }
}
