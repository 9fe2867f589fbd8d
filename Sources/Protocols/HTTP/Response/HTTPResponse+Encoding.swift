import WorkermanTransport

// Serialising a response straight into the connection's output buffer.
//
// Why one pass over the user's headers that both writes and classifies them: the defaults (Connection,
// Content-Type, Content-Length, Date, Server) are added only when the user did not set them, and the
// framing that follows (complete, chunked, event stream) depends on what was set. Classifying while
// writing keeps it to a single walk with no lookups.

/// What follows an encoded response on the connection.
enum HTTPResponseFraming: Equatable {
    /// The whole message was written.
    case complete
    /// `HTTPChunk`s follow until `HTTPChunk.end`.
    case chunked
    /// `ServerSentEvent`s follow until the connection closes.
    case eventStream
    /// A chunked response to an HTTP/1.0 client, sent without the chunked coding: the chunks' data
    /// follows as it is, and the connection closes after the last one to mark the end.
    case unframedStream
    /// 101: the connection now speaks another protocol.
    case switchingProtocols
    /// 1xx: the final response is still to come.
    case interim
}

/// The parts of the configuration the encoder needs, prepared once per codec.
struct HTTPEncodingOptions {
    var defaultContentType: String
    /// Whether `defaultContentType` is Workerman's, so the default head can be one static copy.
    var standardContentType: Bool
    var serverName: String?
    var dateCache: HTTPDateCache?

    init(_ configuration: HTTPServerConfiguration) {
        defaultContentType = configuration.defaultContentType
        standardContentType = configuration.defaultContentType == "text/html;charset=utf-8"
        serverName = configuration.serverName
        dateCache = configuration.sendsDate ? configuration.dateCache : nil
    }
}

extension HTTPResponse {
    /// Appends the response to `buffer` for the request described by `request` (keep-alive wish, HEAD,
    /// HTTP/1.0). Returns what follows and whether the connection must close after it (for a stream:
    /// after its end).
    func encode(
        into buffer: inout ByteBuffer,
        for request: PendingResponses.Entry,
        options: HTTPEncodingOptions
    ) -> (framing: HTTPResponseFraming, closes: Bool) {
        // The hot path: nothing but Workerman's defaults to write (a custom reason phrase and the rest take
        // the general path, which writes the same head).
        if headers.isEmpty, options.standardContentType, options.serverName == nil, options.dateCache == nil,
            !status.forbidsBody, let line = status.precomputedStatusLine
        {
            writeDefaultResponse(line: line, keepAlive: request.keepAlive, omitBody: request.isHead, into: &buffer)
            return (.complete, !request.keepAlive)
        }
        return encodeGeneral(into: &buffer, for: request, options: options)
    }

    /// The hot path: status line, Workerman's default head, the length and the body in one reservation
    /// of the buffer (five appends each checked the buffer's uniqueness and room: a twentieth of a small
    /// exchange's instructions).
    private func writeDefaultResponse(line: StaticString, keepAlive: Bool, omitBody: Bool, into buffer: inout ByteBuffer) {
        let head: StaticString =
            keepAlive
            ? "Connection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: "
            : "Connection: close\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: "
        let end: StaticString = "\r\n\r\n"
        let bodyCount = body.count
        let digits = ByteBuffer.decimalDigits(bodyCount)
        let total =
            line.utf8CodeUnitCount + head.utf8CodeUnitCount + digits + end.utf8CodeUnitCount + (omitBody ? 0 : bodyCount)
        var out = buffer.reserveWritable(total)
        out.copyMemory(from: line.utf8Start, byteCount: line.utf8CodeUnitCount)
        out += line.utf8CodeUnitCount
        out.copyMemory(from: head.utf8Start, byteCount: head.utf8CodeUnitCount)
        out += head.utf8CodeUnitCount
        ByteBuffer.storeDecimal(bodyCount, digits: digits, at: out)
        out += digits
        out.copyMemory(from: end.utf8Start, byteCount: end.utf8CodeUnitCount)
        out += end.utf8CodeUnitCount
        if !omitBody { body.copyBytes(to: out) }
        buffer.commitWritten(total)
    }

    private func encodeGeneral(
        into buffer: inout ByteBuffer,
        for request: PendingResponses.Entry,
        options: HTTPEncodingOptions
    ) -> (framing: HTTPResponseFraming, closes: Bool) {
        var keepAlive = request.keepAlive
        let omitBody = request.isHead
        writeStatusLine(into: &buffer)
        var seen = SeenFields()
        for field in headers.fields {
            // Workerman 5 skips unsafe fields too; a CR or LF here would split the response.
            guard Self.isValidFieldName(field.name), Self.isValidFieldValue(field.value) else { continue }
            seen.classify(field)
            if seen.chunked, request.isHTTP10 {
                // HTTP/1.0 has no chunked coding (RFC 9112 §7): leave it out, end the body by closing.
                seen.dropTransferEncoding()
                keepAlive = false
                continue
            }
            buffer.append(field.name)
            buffer.append(static: ": ")
            buffer.append(field.value)
            buffer.append(static: "\r\n")
        }

        if status.code == 101 {
            buffer.append(static: "\r\n")
            return (.switchingProtocols, false)
        }
        if status.isInformational {
            buffer.append(static: "\r\n")
            return (.interim, false)
        }
        if !seen.connection {
            buffer.append(static: keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n")
        }
        if !seen.contentType, !status.forbidsBody {
            buffer.append(static: "Content-Type: ")
            buffer.append(options.defaultContentType)
            buffer.append(static: "\r\n")
        }
        if let cache = options.dateCache, !seen.date {
            buffer.append(static: "Date: ")
            cache.currentBytes().write(into: &buffer)
            buffer.append(static: "\r\n")
        }
        if let serverName = options.serverName, !seen.server, Self.isValidFieldValue(serverName) {
            buffer.append(static: "Server: ")
            buffer.append(serverName)
            buffer.append(static: "\r\n")
        }
        let closes = !keepAlive || seen.connectionClose
        let sendsBody = !omitBody && !status.forbidsBody

        if seen.unframedChunked {
            buffer.append(static: "\r\n")
            if sendsBody { body.write(into: &buffer) }
            return (.unframedStream, true)
        }
        if seen.transferEncoding {
            buffer.append(static: "\r\n")
            guard seen.chunked else {
                // A coding we do not frame: the body runs until the connection closes.
                if sendsBody { body.write(into: &buffer) }
                return (.complete, true)
            }
            if sendsBody, !body.isEmpty { HTTPChunk(body).write(into: &buffer) }
            return (.chunked, closes)
        }
        if seen.eventStream, !seen.contentLength {
            buffer.append(static: "\r\n")
            if sendsBody { body.write(into: &buffer) }
            return (.eventStream, closes)
        }
        if !seen.contentLength, status.code != 204, status.code != 304 {
            buffer.append(static: "Content-Length: ")
            buffer.appendDecimal(body.count)
            buffer.append(static: "\r\n")
        }
        buffer.append(static: "\r\n")
        if sendsBody { body.write(into: &buffer) }
        return (.complete, closes)
    }

    /// `HTTP/1.1 <code> <reason>\r\n`: one static copy for common statuses.
    @inline(__always)
    func writeStatusLine(into buffer: inout ByteBuffer) {
        if let line = status.precomputedStatusLine {
            buffer.append(static: line)
            return
        }
        buffer.append(static: "HTTP/1.1 ")
        buffer.appendDecimal(min(max(status.code, 100), 999))
        buffer.append(ASCII.space)
        let reason = status.reason
        buffer.append(Self.isValidFieldValue(reason) ? reason : (HTTPStatus.standardReason(status.code) ?? ""))
        buffer.append(static: "\r\n")
    }
}

/// Which framing-relevant headers the user set.
private struct SeenFields {
    var connection = false
    var connectionClose = false
    var contentType = false
    var eventStream = false
    var contentLength = false
    var transferEncoding = false
    var chunked = false
    var date = false
    var server = false
    /// A chunked response for an HTTP/1.0 client, sent without its Transfer-Encoding.
    var unframedChunked = false

    mutating func dropTransferEncoding() {
        transferEncoding = false
        chunked = false
        unframedChunked = true
    }

    mutating func classify(_ field: HTTPHeaders.Field) {
        var name = field.name
        name.withUTF8 { bytes in
            let name = UnsafeRawBufferPointer(bytes)
            switch name.count {
            case 4 where ASCII.equalsIgnoringCase(name, "date"): date = true
            case 6 where ASCII.equalsIgnoringCase(name, "server"): server = true
            case 10 where ASCII.equalsIgnoringCase(name, "connection"):
                connection = true
                if HTTPHeaders.list(field.value, contains: "close") { connectionClose = true }
            case 12 where ASCII.equalsIgnoringCase(name, "content-type"):
                contentType = true
                eventStream = field.value.lowercasedASCII().hasPrefix("text/event-stream")
            case 14 where ASCII.equalsIgnoringCase(name, "content-length"): contentLength = true
            case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"):
                transferEncoding = true
                chunked = HTTPHeaders.list(field.value, contains: "chunked")
            default: break
            }
        }
    }
}
