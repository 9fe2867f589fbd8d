import WorkermanEventLoop
import WorkermanTransport

#if canImport(Glibc)
    import Glibc
#endif

/// The fields and files of a `multipart/form-data` body (RFC 7578), Workerman's `post()` + `file()`.
///
/// Small files stay in memory; files over `MultipartOptions.memoryThreshold` are written to temporary
/// files, which belong to you: move them where they should live, or call `removeTemporaryFiles()`.
///
/// ```swift
/// let form = try request.multipart()
/// defer { form.removeTemporaryFiles() }
/// let title = form.fields["title"] ?? ""
/// if let avatar = form.file("avatar") {
///     print(avatar.filename, avatar.contentType, avatar.size, avatar.temporaryPath ?? "in memory")
///     let bytes = try avatar.contents()
/// }
/// ```
public struct MultipartFormData: Sendable {
    /// The parts without a filename, in order.
    public var fields: URLEncodedForm
    /// The parts with a filename, in order.
    public var files: [UploadedFile]

    public init(fields: URLEncodedForm = URLEncodedForm(), files: [UploadedFile] = []) {
        self.fields = fields
        self.files = files
    }

    /// The first file sent under the form field `name`.
    public func file(_ name: String) -> UploadedFile? {
        files.first { $0.fieldName == name }
    }

    /// Deletes every temporary file still in place.
    public func removeTemporaryFiles() {
        for file in files { file.removeTemporaryFile() }
    }
}

/// One uploaded file.
public struct UploadedFile: Sendable, Equatable {
    /// The form field's name.
    public var fieldName: String
    /// The client's file name without any directory part (never trust it as a path anyway).
    public var filename: String
    /// The part's `Content-Type` (`application/octet-stream` when none was sent).
    public var contentType: String
    /// The size in bytes.
    public var size: Int
    /// The contents when kept in memory (at most `memoryThreshold` bytes), else nil.
    public var data: ByteBuffer?
    /// The temporary file holding the contents when they were larger, else nil.
    public var temporaryPath: String?

    public init(
        fieldName: String,
        filename: String,
        contentType: String,
        size: Int,
        data: ByteBuffer?,
        temporaryPath: String?
    ) {
        self.fieldName = fieldName
        self.filename = filename
        self.contentType = contentType
        self.size = size
        self.data = data
        self.temporaryPath = temporaryPath
    }

    /// The contents, read back from the temporary file if needed.
    public func contents() throws(MultipartError) -> ByteBuffer {
        if let data { return data }
        guard let temporaryPath else { return ByteBuffer() }
        return try TemporaryFile.read(temporaryPath)
    }

    /// Deletes the temporary file, if any.
    public func removeTemporaryFile() {
        if let temporaryPath { try? Syscalls.unlink(temporaryPath) }
    }
}

/// Limits for `HTTPRequest.multipart(_:)`.
public struct MultipartOptions: Sendable {
    /// Files up to this size stay in memory; larger ones go to a temporary file.
    public var memoryThreshold = 64 * 1024
    /// Where temporary files go: nil uses `$TMPDIR`, or the system's temporary directory.
    public var temporaryDirectory: String?
    /// The most parts accepted (Workerman's `maxFileUploads` is 1024).
    public var maxParts = 1024

    public init() {}
}

/// Why a multipart body could not be read.
public struct MultipartError: Error, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { "multipart: \(reason)" }
}

extension HTTPRequest {
    /// The `boundary` parameter of a `multipart/form-data` `Content-Type`, or nil.
    public var multipartBoundary: String? {
        guard mediaType == "multipart/form-data", let contentType else { return nil }
        return MediaTypeParameters.value(of: "boundary", in: contentType)
    }

    /// Parses a `multipart/form-data` body. Each call parses again (and writes large files again).
    public func multipart(_ options: MultipartOptions = MultipartOptions()) throws(MultipartError) -> MultipartFormData
    {
        guard let boundary = multipartBoundary, !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw MultipartError("not multipart/form-data with a boundary")
        }
        return try withBodyBytes { (body) throws(MultipartError) -> MultipartFormData in
            var parser = MultipartParser(boundary: boundary, options: options)
            return try parser.parse(body)
        }
    }
}
