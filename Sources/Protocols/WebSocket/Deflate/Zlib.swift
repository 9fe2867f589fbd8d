import CWorkermanShims
import WorkermanTransport

/// zlib as permessage-deflate uses it: raw deflate and inflate streams from the system's `libz.so.1`,
/// opened at run time by the C shim (the package neither links zlib nor needs its headers).
enum Zlib {
    /// Whether `libz.so.1` could be loaded. Without it, permessage-deflate is never negotiated.
    static var isAvailable: Bool { wm_zlib_available() != 0 }

    /// The loaded zlib's version, e.g. "1.2.13".
    static var version: String? { wm_zlib_version().map { String(cString: $0) } }

    // zlib.h's values, which the shim passes through unchanged.
    static let ok: CInt = 0
    static let streamEnd: CInt = 1
    static let bufferError: CInt = -5
    static let syncFlush: CInt = 2
}

/// One raw deflate or inflate stream (RFC 1951, no zlib header), freed with the object. A class: a zlib
/// stream is one mutable resource, and codec copies (`TCPClient` keeps one to reconnect with)
/// must not each end it.
final class ZlibStream {
    private let handle: OpaquePointer

    /// A compressor with a `2^windowBits` window (9...15: raw deflate cannot do 8).
    init?(deflateLevel level: Int, windowBits: Int, memoryLevel: Int) {
        guard let handle = wm_zstream_deflate_new(CInt(level), CInt(windowBits), CInt(memoryLevel)) else { return nil }
        self.handle = handle
    }

    /// A decompressor that accepts any window up to `2^windowBits`.
    init?(inflateWindowBits windowBits: Int) {
        guard let handle = wm_zstream_inflate_new(CInt(windowBits)) else { return nil }
        self.handle = handle
    }

    deinit { wm_zstream_free(handle) }

    /// Forgets the sliding window: the next message is coded on its own (no context takeover).
    func reset() { _ = wm_zstream_reset(handle) }

    /// Compresses `input` with a sync flush, appending to `output` everything up to and including the
    /// flush's empty stored block (`00 00 ff ff`, which the caller strips, RFC 7692 §7.2.1).
    func deflate(_ input: UnsafeRawBufferPointer, into output: inout ByteBuffer) {
        var offset = 0
        while true {
            // Room for the input plus stored-block overhead: usually one call does it all.
            let room = max(64, input.count - offset + (input.count - offset) / 1024 + 16)
            let target = output.reserveWritable(room)
            var used: CUnsignedInt = 0
            var produced: CUnsignedInt = 0
            let result = wm_zstream_run(
                handle, input.baseAddress.map { $0 + offset }, CUnsignedInt(input.count - offset),
                target, CUnsignedInt(room), Zlib.syncFlush, &used, &produced)
            offset += Int(used)
            output.commitWritten(Int(produced))
            // A full output buffer may hide pending output (zlib.h: call again); otherwise the flush is done.
            // Z_BUF_ERROR only means "no progress was possible": nothing was left to do.
            precondition(result == Zlib.ok || result == Zlib.bufferError, "deflate failed with \(result)")
            if offset == input.count && Int(produced) < room { return }
        }
    }

    /// How inflating a piece ended.
    enum InflateResult: Equatable {
        case ok
        /// The output would pass the limit.
        case tooBig
        /// zlib refused the data.
        case corrupt
        /// `check` refused some output.
        case refused
    }

    /// Decompresses `input`, appending to `output` at most `limit` bytes in all. Output is produced in
    /// pieces of at most 16 KiB, each shown to `check` (UTF-8 validation) before the next, so a
    /// decompression bomb stops at the limit instead of filling memory.
    func inflate(
        _ input: UnsafeRawBufferPointer,
        into output: inout ByteBuffer,
        limit: Int,
        check: (UnsafeRawBufferPointer) -> Bool
    ) -> InflateResult {
        var offset = 0
        var produced = 0
        while true {
            // One byte past the limit is enough to know it is passed.
            let room = min(16 * 1024, limit - produced + 1)
            let target = output.reserveWritable(room)
            var used: CUnsignedInt = 0
            var written: CUnsignedInt = 0
            let result = wm_zstream_run(
                handle, input.baseAddress.map { $0 + offset }, CUnsignedInt(input.count - offset),
                target, CUnsignedInt(room), 0, &used, &written)
            offset += Int(used)
            produced += Int(written)
            guard produced <= limit else { return .tooBig }
            output.commitWritten(Int(written))
            guard check(UnsafeRawBufferPointer(start: target, count: Int(written))) else { return .refused }
            switch result {
            case Zlib.ok:
                // Done when the input is used up and the output had room to spare (nothing pending).
                if offset == input.count && Int(written) < room { return .ok }
            case Zlib.streamEnd:
                // A final block (BFINAL): the peer ended its deflate stream; the next message starts a
                // new one. Anything after it (our appended tail) is not data.
                reset()
                return .ok
            case Zlib.bufferError:
                // No progress possible: fine once the input is used up, corrupt if input is stuck.
                return offset == input.count ? .ok : .corrupt
            default:
                return .corrupt
            }
        }
    }
}
