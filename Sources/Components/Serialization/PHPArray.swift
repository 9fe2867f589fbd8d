/// A key of a PHP array: an int or a byte string. As in PHP, a string that is the canonical decimal form
/// of an int (`"5"`, `"-3"`, not `"05"` or `"-0"`) is that int, so `PHPKey("5") == 5`.
public enum PHPKey: Hashable, Sendable {
    case int(Int)
    case string([UInt8])

    /// `text` as a key, normalised like PHP.
    public init(_ text: String) { self.init(bytes: Array(text.utf8)) }

    /// `bytes` as a key, normalised like PHP.
    public init(bytes: [UInt8]) {
        self = Self.canonicalInt(bytes).map(PHPKey.int) ?? .string(bytes)
    }

    /// The int a string key stands for, if it is an int's canonical decimal form.
    static func canonicalInt(_ bytes: [UInt8]) -> Int? {
        guard let first = bytes.first, bytes.count <= 20 else { return nil }
        let digits = first == UInt8(ascii: "-") ? bytes.dropFirst() : bytes[...]
        guard let lead = digits.first, digits.allSatisfy(PHPNumericString.isDigit) else { return nil }
        // "0" is canonical; "00", "01" and "-0" are not.
        if lead == UInt8(ascii: "0") && (digits.count > 1 || first == UInt8(ascii: "-")) { return nil }
        return Int(String(decoding: bytes, as: UTF8.self))
    }

    /// The key as a value (`.int` or `.string`).
    public var value: PHPValue {
        switch self {
        case .int(let value): return .int(value)
        case .string(let bytes): return .string(bytes)
        }
    }

    /// The key as text (an int key in decimal).
    public var stringValue: String {
        switch self {
        case .int(let value): return String(value)
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension PHPKey: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, CustomStringConvertible {
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(stringLiteral value: String) { self.init(value) }

    public var description: String {
        switch self {
        case .int(let value): return String(value)
        case .string: return stringValue.debugDescription
        }
    }
}

/// A PHP array: an ordered map from `PHPKey` to `PHPValue`, keeping insertion order as PHP does.
/// Equality compares keys, values and order (PHP's `===`).
///
/// ```swift
/// var array = PHPArray()
/// array["type"] = "publish"
/// array.append("first")        // key 0
/// array["type"] = nil          // removes it
/// ```
public struct PHPArray: Sendable {
    public struct Entry: Hashable, Sendable {
        public var key: PHPKey
        public var value: PHPValue
    }

    public private(set) var entries: [Entry] = []
    /// Where each key sits in `entries`, once the array is large. Why only then: most arrays on the wire
    /// are small messages, where a scan beats hashing and saves a dictionary allocation per array; large
    /// ones (a GlobalData value) would make parsing and lookups quadratic without it.
    private var positions: [PHPKey: Int]?
    /// PHP's next free int key: one past the largest int key so far (never below 0).
    private var nextIndex = 0
    private static let indexThreshold = 16

    public init() {}

    /// A list: keys 0, 1, 2, …
    public init(list: [PHPValue]) {
        entries.reserveCapacity(list.count)
        for value in list { append(value) }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    private func position(of key: PHPKey) -> Int? {
        if let positions { return positions[key] }
        return entries.firstIndex { $0.key == key }
    }

    /// The value at `key`; setting nil removes the key (PHP's `unset`), setting a new key appends it.
    public subscript(key: PHPKey) -> PHPValue? {
        get { position(of: key).map { entries[$0].value } }
        set {
            if let newValue {
                if let position = position(of: key) {
                    entries[position].value = newValue
                } else {
                    positions?[key] = entries.count
                    entries.append(Entry(key: key, value: newValue))
                    if case .int(let index) = key, index >= nextIndex { nextIndex = index &+ 1 }
                    if positions == nil, entries.count > Self.indexThreshold {
                        positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.key, $0) })
                    }
                }
            } else if let position = position(of: key) {
                entries.remove(at: position)
                if positions != nil {
                    positions?[key] = nil
                    for later in position..<entries.count { positions?[entries[later].key] = later }
                }
            }
        }
    }

    /// Appends under the next int key (PHP's `$array[] = $value`).
    public mutating func append(_ value: PHPValue) {
        self[.int(nextIndex)] = value
    }

    /// The keys in order.
    public var keys: [PHPKey] { entries.map(\.key) }

    /// The values in order.
    public var values: [PHPValue] { entries.map(\.value) }

    /// Whether the keys are 0, 1, 2, … in order (a PHP "list").
    public var isList: Bool {
        entries.indices.allSatisfy { entries[$0].key == .int($0) }
    }
}

extension PHPArray: Hashable {
    public static func == (lhs: PHPArray, rhs: PHPArray) -> Bool { lhs.entries == rhs.entries }
    public func hash(into hasher: inout Hasher) { hasher.combine(entries) }
}

/// Iterates the entries in order. Not a `Collection` on purpose: a positional `array[0]` would then
/// shadow the key subscript for literal keys.
extension PHPArray: Sequence {
    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
    public var underestimatedCount: Int { entries.count }
}
