// JSON bodies through Foundation's `JSONDecoder`: off the hot path (only a handler that asks pays), and
// from FoundationEssentials where it exists, which does not pull in ICU.
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HTTPRequest {
    /// Decodes the body as JSON into `type`.
    ///
    /// ```swift
    /// struct Order: Decodable { var item: String; var quantity: Int }
    /// let order = try request.decodeJSON(Order.self)
    /// ```
    public func decodeJSON<T: Decodable>(_ type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        let data = withBodyBytes { Data($0) }
        return try decoder.decode(type, from: data)
    }

    /// The body as an untyped JSON value (Workerman's `post()` for JSON bodies).
    ///
    /// ```swift
    /// if case .object(let object) = try request.json(), case .string(let name)? = object["name"] { … }
    /// ```
    public func json() throws -> JSONValue {
        try decodeJSON(JSONValue.self)
    }
}

/// Any JSON value, for bodies without a `Decodable` type of their own.
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    /// The element at `index` of an array, or nil.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}
