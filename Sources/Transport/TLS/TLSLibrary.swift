import CWorkermanShims
import WorkermanTransport

/// OpenSSL 3 as this process found it: loaded on first use with `dlopen` (`libssl.so.3`,
/// `libcrypto.so.3`), never linked, so the package builds and runs where it is missing and TLS then says
/// why it cannot start.
///
/// ```swift
/// guard TLSLibrary.isAvailable else { print(TLSLibrary.unavailableReason ?? "") ; return }
/// ```
public enum TLSLibrary {
    /// Whether OpenSSL 3 is loaded with everything TLS needs.
    public static var isAvailable: Bool { wm_tls_available() != 0 }

    /// Why TLS is unavailable (the library that did not load, or the function it lacks); nil when available.
    public static var unavailableReason: String? { wm_tls_unavailable_reason().map { String(cString: $0) } }

    /// OpenSSL's version text, or nil when unavailable.
    public static var version: String? { wm_tls_library_version().map { String(cString: $0) } }

    /// Throws a clear error when OpenSSL cannot be used.
    static func require(_ operation: String) throws(TransportError) {
        guard isAvailable else {
            throw TransportError(.protocolError, operation, detail: "TLS needs OpenSSL 3 (libssl.so.3): \(unavailableReason ?? "not loaded")")
        }
    }

    /// OpenSSL's queued errors as one line, or nil when there are none.
    static func takeErrors() -> String? {
        var text = [CChar](repeating: 0, count: 512)
        wm_tls_take_errors(&text, text.count)
        let line = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return line.isEmpty ? nil : line
    }

    // SSL_get_error's codes.
    static let wantRead: CInt = 2
    static let wantWrite: CInt = 3
    static let closedCleanly: CInt = 6
    /// The largest plaintext one TLS record carries.
    static let maxRecordSize = 16384
    /// A piece at least this long is written from where it lies rather than gathered with its neighbours.
    static let directWriteSize = 4096
}

/// Recognises plain HTTP where a TLS ClientHello was expected: a request line's method (capital letters)
/// followed by a space, where a TLS record would start with a content type byte (22 for a handshake).
enum PlainHTTPProbe {
    static func looksLikeHTTP(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let first = bytes.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z") else { return false }
        for byte in bytes.dropFirst() {
            if byte == UInt8(ascii: " ") { return true }
            guard byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") else { return false }
        }
        return bytes.count < 8  // "OPTIONS" and shorter: the space may still be coming; longer is not a method
    }
}
