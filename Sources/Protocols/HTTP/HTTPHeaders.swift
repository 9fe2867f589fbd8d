/// An ordered list of header fields with case-insensitive names (RFC 9110 §5): repeated fields are
/// kept, in the order they were added or received.
///
/// ```swift
/// var headers: HTTPHeaders = ["Content-Type": "application/json"]
/// headers.add("Set-Cookie", "a=1")
/// headers.add("Set-Cookie", "b=2")
/// headers["content-type"]            // "application/json"
/// headers.values(for: "set-cookie")  // ["a=1", "b=2"]
/// headers.set("Cache-Control", "no-store")
/// headers.remove("Set-Cookie")
/// ```
public struct HTTPHeaders: Sendable, Equatable {
    /// One header field line.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The fields in order.
    public private(set) var fields: [Field] = []

    public init() {}

    public init(_ pairs: [(String, String)]) {
        fields = pairs.map { Field(name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    /// The first value of `name`, or nil. Setting replaces every `name` field with one (nil removes).
    public subscript(name: String) -> String? {
        get { fields.first { ASCII.equalsIgnoringCase($0.name, name) }?.value }
        set {
            if let newValue { set(name, newValue) } else { remove(name) }
        }
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        fields.compactMap { ASCII.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool {
        fields.contains { ASCII.equalsIgnoringCase($0.name, name) }
    }

    /// Appends a field, keeping any existing ones with the same name.
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Replaces every `name` field with one carrying `value`, at the position of the first.
    public mutating func set(_ name: String, _ value: String) {
        if let first = fields.firstIndex(where: { ASCII.equalsIgnoringCase($0.name, name) }) {
            fields[first].value = value
            fields[first].name = name
            var index = fields.count - 1
            while index > first {
                if ASCII.equalsIgnoringCase(fields[index].name, name) { fields.remove(at: index) }
                index -= 1
            }
        } else {
            add(name, value)
        }
    }

    /// Removes every `name` field.
    public mutating func remove(_ name: String) {
        fields.removeAll { ASCII.equalsIgnoringCase($0.name, name) }
    }

    /// Whether `name`'s values, read as a comma-separated list, contain `token` (case-insensitive), as
    /// for `Connection: keep-alive, Upgrade`.
    public func containsToken(_ token: String, in name: String) -> Bool {
        fields.contains { ASCII.equalsIgnoringCase($0.name, name) && Self.list($0.value, contains: token) }
    }

    /// Whether the comma-separated list `value` contains `token` (case-insensitive).
    static func list(_ value: String, contains token: String) -> Bool {
        var value = value
        var token = token
        return value.withUTF8 { valueBytes in
            token.withUTF8 { tokenBytes in
                var found = false
                ASCII.forEachListElement(UnsafeRawBufferPointer(valueBytes)) { element in
                    found = ASCII.equalsIgnoringCase(element, UnsafeRawBufferPointer(tokenBytes))
                    return !found
                }
                return found
            }
        }
    }
}

extension HTTPHeaders: Sequence {
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }
}

extension HTTPHeaders: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { Field(name: $0.0, value: $0.1) }
    }
}

extension HTTPHeaders: CustomStringConvertible {
    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}
