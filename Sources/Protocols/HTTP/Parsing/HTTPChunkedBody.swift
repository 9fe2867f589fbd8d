import WorkermanTransport

/// Reassembles a chunked body that `HTTPRequestParser` has already validated.
///
/// Why a second pass: `input` only measures the message (it must not copy bytes that may be re-offered),
/// and the chunk boundaries are not kept to avoid a per-chunk allocation; walking the validated framing
/// again in `decode` is one cheap linear pass with no error paths left to take.
enum HTTPChunkedBody {
    /// Appends the chunk data of `bytes[bodyStart...]` to `body` and returns the trailer fields.
    static func decode(_ bytes: UnsafeRawBufferPointer, bodyStart: Int, into body: inout ByteBuffer) -> HTTPHeaders {
        var index = bodyStart
        let count = bytes.count
        while index < count {
            var size = 0
            while index < count, let digit = ASCII.hexValue(bytes[index]) {
                size = size << 4 | Int(digit)
                index += 1
            }
            // Skip extensions up to the line's LF (validated: no LF occurs inside them).
            while index < count, bytes[index] != ASCII.lf { index += 1 }
            index += 1
            if size == 0 { break }
            let end = min(index + size, count)
            body.append(UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
            index = end + 2
        }
        var trailers = HTTPHeaders()
        // Trailer field lines up to the final empty line.
        while index + 1 < count, bytes[index] != ASCII.cr {
            var lineEnd = index
            while lineEnd < count, bytes[lineEnd] != ASCII.cr { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: bytes[index..<lineEnd])
            if let colon = line.firstIndex(of: ASCII.colon) {
                let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
                let value = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
                trailers.add(String(headerBytes: name), String(headerBytes: value))
            }
            index = lineEnd + 2
        }
        return trailers
    }
}
