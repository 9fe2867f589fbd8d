/// Decoded `name=value&…` pairs of a query string or an `application/x-www-form-urlencoded` body, in
/// order, repeated names kept (`%XX` and `+` decoded).
///
/// ```swift
/// let query = request.query                 // "/search?q=swift+nio&tag=a&tag=b"
/// query["q"]                                // "swift nio"
/// query.values(for: "tag")                  // ["a", "b"]
/// for (name, value) in query { print(name, value) }
/// ```
public struct URLEncodedForm: Sendable, Equatable {
    /// One `name=value` pair, decoded: the same pair a header field is, so code that handles one handles
    /// the other.
    public typealias Field = HTTPHeaders.Field

    public private(set) var fields: [Field] = []

    public init() {}

    public init(_ fields: [Field]) { self.fields = fields }

    /// Parses encoded text such as `a=1&b=two+words`.
    public init(parsing text: String) {
        var text = text
        self = text.withUTF8 { URLEncodedForm(parsing: UnsafeRawBufferPointer($0)) }
    }

    /// Parses encoded bytes. A pair without `=` has an empty value; empty pairs (`a=1&&b=2`) are skipped.
    public init(parsing bytes: UnsafeRawBufferPointer) {
        var start = 0
        var index = 0
        let count = bytes.count
        while index <= count {
            if index == count || bytes[index] == ASCII.ampersand {
                if index > start { addPair(UnsafeRawBufferPointer(rebasing: bytes[start..<index])) }
                start = index + 1
            }
            index += 1
        }
    }

    private mutating func addPair(_ pair: UnsafeRawBufferPointer) {
        let equals = pair.firstIndex(of: ASCII.equals) ?? pair.count
        let name = PercentDecoding.decode(UnsafeRawBufferPointer(rebasing: pair[0..<equals]), plusAsSpace: true)
        let value =
            equals < pair.count
            ? PercentDecoding.decode(UnsafeRawBufferPointer(rebasing: pair[(equals + 1)...]), plusAsSpace: true) : ""
        fields.append(Field(name: name, value: value))
    }

    /// Appends a pair.
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    /// The first value for `name` (case-sensitive), or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// Every value for `name`, in order.
    public func values(for name: String) -> [String] {
        fields.compactMap { $0.name == name ? $0.value : nil }
    }

    /// The pairs as a dictionary; for a repeated name the last value wins, as in PHP's `$_GET`.
    public var dictionary: [String: String] {
        var result: [String: String] = [:]
        for field in fields { result[field.name] = field.value }
        return result
    }
}

extension URLEncodedForm: Sequence {
    public func makeIterator() -> AnyIterator<(name: String, value: String)> {
        var iterator = fields.makeIterator()
        return AnyIterator { iterator.next().map { ($0.name, $0.value) } }
    }
}
