/// Percent-decoding (RFC 3986 §2.1) for query strings, form bodies, cookies and paths.
///
/// ```swift
/// PercentDecoding.decode("a%20b+c", plusAsSpace: true)   // "a b c"
/// PercentDecoding.decode("a%20b+c", plusAsSpace: false)  // "a b+c"
/// ```
public enum PercentDecoding {
    /// Decodes `%XX` escapes, and `+` as a space when `plusAsSpace` (the form encoding). A `%` not
    /// followed by two hex digits is kept as it is, as PHP's `urldecode` does; bytes that are not valid
    /// UTF-8 after decoding are repaired.
    public static func decode(_ text: String, plusAsSpace: Bool = false) -> String {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0), plusAsSpace: plusAsSpace) }
    }

    /// Decodes raw bytes (see `decode(_:plusAsSpace:)`).
    public static func decode(_ bytes: UnsafeRawBufferPointer, plusAsSpace: Bool = false) -> String {
        // Fast path: nothing to decode, so no scratch buffer.
        var needsWork = false
        for byte in bytes where byte == ASCII.percent || (plusAsSpace && byte == ASCII.plus) {
            needsWork = true
            break
        }
        guard needsWork else { return String(decoding: bytes, as: UTF8.self) }

        return String(unsafeUninitializedCapacity: bytes.count) { output in
            var written = 0
            var index = 0
            let count = bytes.count
            while index < count {
                let byte = bytes[index]
                if byte == ASCII.percent, index + 2 < count,
                    let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2])
                {
                    output[written] = high << 4 | low
                    index += 3
                } else {
                    output[written] = plusAsSpace && byte == ASCII.plus ? ASCII.space : byte
                    index += 1
                }
                written += 1
            }
            return written
        }
    }
}
