/// A JSON value that keeps what the Databricks writers' byte formats depend on: the order of object
/// keys and the exact text of numbers (`1.0`, `1.10017465E8`). Re-serialising a parsed DBC entry or
/// Databricks ipynb reproduces it byte for byte (notebook-formats.md §3.3, §5.3).
public indirect enum JSONTree: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written.
    case number(String)
    case string(String)
    case array([JSONTree])
    /// Members in document order.
    case object([Member])

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONTree

        public init(_ key: String, _ value: JSONTree) {
            self.key = key
            self.value = value
        }
    }

    /// The value of the first member named `key`, for objects.
    public subscript(key: String) -> JSONTree? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    public var arrayValue: [JSONTree]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// Whether this is a JSON object.
    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// Sets (or appends) the member `key` of an object; other values are left alone.
    public mutating func set(_ key: String, _ value: JSONTree) {
        guard case .object(var members) = self else { return }
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append(Member(key, value))
        }
        self = .object(members)
    }

    /// A number from an integer.
    public static func integer(_ value: Int64) -> JSONTree { .number(String(value)) }

    /// A number from a double, written as Java's `Double.toString` writes it (`1.0`, `1.0E-4`).
    public static func double(_ value: Double) -> JSONTree { .number(JavaDouble.string(value)) }
}
