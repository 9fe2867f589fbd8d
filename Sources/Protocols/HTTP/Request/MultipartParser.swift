import WorkermanTransport

#if canImport(Glibc)
    import Glibc
#endif

/// Splits a `multipart/form-data` body into parts (RFC 2046 §5.1.1, RFC 7578).
///
/// The body is already complete in memory (the HTTP codec delivers whole requests), so this is a
/// simple scan for `CRLF--boundary`; files over the threshold are copied out to temporary files as
/// they are found. On any error the temporary files written so far are removed.
struct MultipartParser {
    let delimiter: [UInt8]
    let options: MultipartOptions
    private var result = MultipartFormData()
    private var partCount = 0

    init(boundary: String, options: MultipartOptions) {
        delimiter = Array("--\(boundary)".utf8)
        self.options = options
    }

    mutating func parse(_ body: UnsafeRawBufferPointer) throws(MultipartError) -> MultipartFormData {
        do {
            try parseParts(body)
            return result
        } catch {
            result.removeTemporaryFiles()
            throw error
        }
    }

    private mutating func parseParts(_ body: UnsafeRawBufferPointer) throws(MultipartError) {
        // The first delimiter: at the very start, or after a preamble ending in CRLF.
        var index: Int
        if startsWith(body, at: 0, delimiter) {
            index = delimiter.count
        } else if let found = find(body, from: 0) {
            index = found + 2 + delimiter.count
        } else {
            throw MultipartError("no boundary delimiter")
        }
        while true {
            // After a delimiter: `--` ends the body; otherwise optional whitespace, then CRLF.
            if index + 1 < body.count, body[index] == ASCII.hyphen, body[index + 1] == ASCII.hyphen { return }
            while index < body.count, ASCII.isWhitespace(body[index]) { index += 1 }
            guard index + 1 < body.count, body[index] == ASCII.cr, body[index + 1] == ASCII.lf else {
                throw MultipartError("malformed delimiter line")
            }
            index += 2
            partCount += 1
            guard partCount <= options.maxParts else { throw MultipartError("more than \(options.maxParts) parts") }

            let headers = try parsePartHeaders(body, index: &index)
            guard let end = find(body, from: index) else { throw MultipartError("missing closing delimiter") }
            try addPart(headers: headers, content: UnsafeRawBufferPointer(rebasing: body[index..<end]))
            index = end + 2 + delimiter.count
        }
    }

    /// The part's header fields up to the empty line; `index` moves past it.
    private func parsePartHeaders(_ body: UnsafeRawBufferPointer, index: inout Int) throws(MultipartError)
        -> HTTPHeaders
    {
        var headers = HTTPHeaders()
        while true {
            var lineEnd = index
            while lineEnd + 1 < body.count, !(body[lineEnd] == ASCII.cr && body[lineEnd + 1] == ASCII.lf) {
                lineEnd += 1
            }
            guard lineEnd + 1 < body.count else { throw MultipartError("unterminated part header") }
            if lineEnd == index {
                index += 2
                return headers
            }
            guard lineEnd - index <= 8192, headers.count < 32 else { throw MultipartError("part header too large") }
            let line = UnsafeRawBufferPointer(rebasing: body[index..<lineEnd])
            guard let colon = line.firstIndex(of: ASCII.colon) else { throw MultipartError("malformed part header") }
            let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
            let value = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
            headers.add(String(headerBytes: name), String(headerBytes: value))
            index = lineEnd + 2
        }
    }

    private mutating func addPart(headers: HTTPHeaders, content: UnsafeRawBufferPointer) throws(MultipartError) {
        guard let disposition = headers["Content-Disposition"] else {
            throw MultipartError("part without Content-Disposition")
        }
        let name = MediaTypeParameters.value(of: "name", in: disposition) ?? ""
        guard let rawFilename = MediaTypeParameters.value(of: "filename", in: disposition) else {
            result.fields.add(name, String(decoding: content, as: UTF8.self))
            return
        }
        // An empty file input sends filename="" and no content: no file was chosen.
        if rawFilename.isEmpty, content.isEmpty { return }
        let filename = Self.baseName(rawFilename)
        let contentType = headers["Content-Type"] ?? "application/octet-stream"
        var file = UploadedFile(
            fieldName: name,
            filename: filename,
            contentType: contentType,
            size: content.count,
            data: nil,
            temporaryPath: nil
        )
        if content.count <= options.memoryThreshold {
            file.data = ByteBuffer(content)
        } else {
            file.temporaryPath = try TemporaryFile.write(content, directory: options.temporaryDirectory)
        }
        result.files.append(file)
    }

    /// The last path component: browsers send a bare name, but old ones sent `C:\dir\name`.
    static func baseName(_ name: String) -> String {
        guard let separator = name.lastIndex(where: { $0 == "/" || $0 == "\\" }) else { return name }
        return String(name[name.index(after: separator)...])
    }

    // MARK: - Searching

    /// The offset of the next `CRLF--boundary` at or after `start`.
    private func find(_ body: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = body.baseAddress else { return nil }
        var index = start
        let last = body.count - 2 - delimiter.count
        while index <= last {
            guard let found = memchr(base + index, Int32(ASCII.cr), last - index + 1) else { return nil }
            index = base.distance(to: UnsafeRawPointer(found))
            if body[index + 1] == ASCII.lf, startsWith(body, at: index + 2, delimiter) { return index }
            index += 1
        }
        return nil
    }

    private func startsWith(_ body: UnsafeRawBufferPointer, at offset: Int, _ prefix: [UInt8]) -> Bool {
        guard offset + prefix.count <= body.count else { return false }
        for (position, byte) in prefix.enumerated() where body[offset + position] != byte { return false }
        return true
    }
}

/// Parameters of a header value such as `form-data; name="a"; filename="b.txt"` or
/// `multipart/form-data; boundary=xyz` (RFC 9110 §5.6.6): token or quoted-string values.
enum MediaTypeParameters {
    static func value(of wanted: String, in header: String) -> String? {
        var header = header
        var wanted = wanted
        return header.withUTF8 { bytes in
            wanted.withUTF8 { name in value(of: UnsafeRawBufferPointer(name), in: UnsafeRawBufferPointer(bytes)) }
        }
    }

    private static func value(of wanted: UnsafeRawBufferPointer, in bytes: UnsafeRawBufferPointer) -> String? {
        var index = 0
        let count = bytes.count
        // Skip the leading value (`form-data`, `multipart/form-data`), honouring no quotes in it.
        while index < count, bytes[index] != ASCII.semicolon { index += 1 }
        while index < count {
            index += 1  // past ';'
            while index < count, ASCII.isWhitespace(bytes[index]) { index += 1 }
            let nameStart = index
            while index < count, bytes[index] != ASCII.equals, bytes[index] != ASCII.semicolon { index += 1 }
            let name = ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: bytes[nameStart..<index]))
            var value: [UInt8] = []
            if index < count, bytes[index] == ASCII.equals {
                index += 1
                while index < count, ASCII.isWhitespace(bytes[index]) { index += 1 }
                if index < count, bytes[index] == ASCII.quote {
                    index += 1
                    while index < count, bytes[index] != ASCII.quote {
                        if bytes[index] == ASCII.backslash, index + 1 < count { index += 1 }
                        value.append(bytes[index])
                        index += 1
                    }
                    index += 1
                    while index < count, bytes[index] != ASCII.semicolon { index += 1 }
                } else {
                    let valueStart = index
                    while index < count, bytes[index] != ASCII.semicolon { index += 1 }
                    value = Array(ASCII.trimmingWhitespace(UnsafeRawBufferPointer(rebasing: bytes[valueStart..<index])))
                }
            }
            if ASCII.equalsIgnoringCase(name, wanted) { return String(decoding: value, as: UTF8.self) }
        }
        return nil
    }
}
