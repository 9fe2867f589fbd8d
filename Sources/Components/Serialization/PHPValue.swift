/// A value of the subset of PHP that `serialize()` writes for GlobalData and Channel: null, bool, int,
/// float, byte string and array (an ordered map with int and string keys), nested.
///
/// PHP strings are bytes, so `.string` holds bytes; literals and `PHPValue("text")` store UTF-8.
///
/// ```swift
/// let job: PHPValue = ["to_connection_id": 3, "content": "hello", "tags": ["a", "b"]]
/// job["content"]?.stringValue          // "hello"
/// job.serialized()                      // a:3:{s:16:"to_connection_id";i:3;s:7:"content";…}
/// try PHPValue(unserializing: bytes)    // throws PHPSerializationError on anything malformed
/// ```
public enum PHPValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    /// A PHP string: bytes, not necessarily UTF-8.
    case string([UInt8])
    case array(PHPArray)

    /// A string value holding `text` as UTF-8.
    public init(_ text: String) { self = .string(Array(text.utf8)) }

    /// A string value holding `bytes`.
    public init(bytes: some Sequence<UInt8>) { self = .string(Array(bytes)) }

    // MARK: - Reading

    public var isNull: Bool { self == .null }

    /// The string's bytes decoded as UTF-8 (invalid sequences repaired); nil unless a string.
    public var stringValue: String? {
        if case .string(let bytes) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }

    /// The string's bytes; nil unless a string.
    public var bytesValue: [UInt8]? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// The integer; nil unless an int.
    public var intValue: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number as a double: an int or a float; nil otherwise.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The bool; nil unless a bool.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The array; nil unless an array.
    public var arrayValue: PHPArray? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The element at `key` of an array; nil when absent or not an array. Setting on a non-array makes
    /// it an array (as PHP's `$a['k'] = v` does on null).
    public subscript(key: PHPKey) -> PHPValue? {
        get { arrayValue?[key] }
        set {
            var array = arrayValue ?? PHPArray()
            array[key] = newValue
            self = .array(array)
        }
    }

    /// PHP's `is_numeric()` and the number it denotes: ints and floats, and strings that are decimal
    /// numbers (optional surrounding whitespace, sign, fraction, exponent). GlobalData's `increment`
    /// uses it: whatever is not numeric counts as 0.
    public var numericValue: PHPValue? {
        switch self {
        case .int, .double: return self
        case .string(let bytes): return PHPNumericString.parse(bytes)
        default: return nil
        }
    }
}

// MARK: - Literals

extension PHPValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension PHPValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) { self = .int(value) }
}

extension PHPValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .double(value) }
}

extension PHPValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(value) }
}

extension PHPValue: ExpressibleByArrayLiteral {
    /// A list: keys 0, 1, 2, …
    public init(arrayLiteral elements: PHPValue...) { self = .array(PHPArray(list: elements)) }
}

extension PHPValue: ExpressibleByDictionaryLiteral {
    /// An ordered map, in literal order.
    public init(dictionaryLiteral elements: (PHPKey, PHPValue)...) {
        var array = PHPArray()
        for (key, value) in elements { array[key] = value }
        self = .array(array)
    }
}

extension PHPValue: CustomStringConvertible {
    /// A compact PHP-like rendering for logs: `null`, `true`, `12`, `"text"`, `[0 => 1, "k" => "v"]`.
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value): return String(decoding: PHPSerializer.formatDouble(value), as: UTF8.self)
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self).debugDescription
        case .array(let array):
            let items = array.map { entry in "\(entry.key) => \(entry.value)" }
            return "[" + items.joined(separator: ", ") + "]"
        }
    }
}

/// PHP's numeric strings (`is_numeric`), as PHP 8 reads them: optional leading and trailing whitespace,
/// an optional sign, digits with an optional fraction, an optional exponent.
enum PHPNumericString {
    static func parse(_ bytes: [UInt8]) -> PHPValue? {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        var start = 0
        var end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        guard start < end else { return nil }
        let body = bytes[start..<end]
        var index = body.startIndex
        if body[index] == UInt8(ascii: "+") || body[index] == UInt8(ascii: "-") { index += 1 }
        var integerDigits = 0
        while index < body.endIndex, isDigit(body[index]) {
            index += 1
            integerDigits += 1
        }
        var fractionDigits = 0
        var isInteger = true
        if index < body.endIndex, body[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            while index < body.endIndex, isDigit(body[index]) {
                index += 1
                fractionDigits += 1
            }
        }
        guard integerDigits + fractionDigits > 0 else { return nil }
        if index < body.endIndex, body[index] == UInt8(ascii: "e") || body[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < body.endIndex, body[index] == UInt8(ascii: "+") || body[index] == UInt8(ascii: "-") { index += 1 }
            var exponentDigits = 0
            while index < body.endIndex, isDigit(body[index]) {
                index += 1
                exponentDigits += 1
            }
            guard exponentDigits > 0 else { return nil }
        }
        guard index == body.endIndex else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        // An integer string too large for an int is a float in PHP too.
        if isInteger, let value = Int(text) { return .int(value) }
        return Double(text).map(PHPValue.double)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}
