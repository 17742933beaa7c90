import KilnCore

/// Typed reads of a spec object, with the messages Lakebase gives for wrong values.
struct SpecReader {
    let tree: JSONTree
    /// The path prefix for messages (`spec`, `spec.default_endpoint_settings`).
    let prefix: String

    init(_ tree: JSONTree?, prefix: String) {
        self.tree = tree ?? .object([])
        self.prefix = prefix
    }

    func field(_ key: String) -> String { "\(prefix).\(key)" }

    func has(_ key: String) -> Bool {
        guard let value = tree[key] else { return false }
        return !value.isNull
    }

    func string(_ key: String) throws(KilnError) -> String? {
        switch tree[key] {
        case nil, .null: return nil
        case .string(let text): return text
        default: throw KilnError.invalidParameter("Field '\(field(key))' must be a string.")
        }
    }

    func bool(_ key: String) throws(KilnError) -> Bool? {
        switch tree[key] {
        case nil, .null: return nil
        case .bool(let value): return value
        default: throw KilnError.invalidParameter("Field '\(field(key))' must be a boolean.")
        }
    }

    /// A number, or a numeric string (the SDK sends `pg_version` as users wrote it).
    func number(_ key: String) throws(KilnError) -> Double? {
        switch tree[key] {
        case nil, .null: return nil
        case .number(let text):
            if let value = Double(text) { return value }
        case .string(let text):
            if let value = Double(text) { return value }
        default: break
        }
        throw KilnError.invalidParameter("Field '\(field(key))' must be a number.")
    }

    func duration(_ key: String) throws(KilnError) -> Double? {
        guard let text = try string(key) else { return nil }
        guard let seconds = ProtoTime.seconds(duration: text) else {
            throw KilnError.invalidParameter("Field '\(field(key))' must be a duration such as \"300s\", not '\(text)'.")
        }
        return seconds
    }

    /// The RFC 3339 timestamp at `key` in Unix milliseconds; nil when absent.
    func timestamp(_ key: String) throws(KilnError) -> Int64? {
        try timestampMicros(key).map(ProtoTime.millis(micros:))
    }

    /// The RFC 3339 timestamp at `key` in Unix microseconds (PostgreSQL's resolution, for a point in a
    /// branch's past); nil when absent. Throws Databricks' 400 for anything but a timestamp.
    func timestampMicros(_ key: String) throws(KilnError) -> Int64? {
        guard let text = try string(key) else { return nil }
        guard let micros = ProtoTime.micros(timestamp: text) else {
            throw KilnError.invalidParameter("Field '\(field(key))' must be an RFC 3339 timestamp such as \"2030-01-01T00:00:00Z\", not '\(text)'.")
        }
        return micros
    }

    func object(_ key: String) throws(KilnError) -> SpecReader? {
        switch tree[key] {
        case nil, .null: return nil
        case .object: return SpecReader(tree[key], prefix: field(key))
        default: throw KilnError.invalidParameter("Field '\(field(key))' must be an object.")
        }
    }

    func stringMap(_ key: String) throws(KilnError) -> [String: String]? {
        guard let value = tree[key], !value.isNull else { return nil }
        guard let map = value.stringMap else {
            throw KilnError.invalidParameter("Field '\(field(key))' must be an object of strings.")
        }
        return map
    }

    func array(_ key: String) throws(KilnError) -> [JSONTree]? {
        switch tree[key] {
        case nil, .null: return nil
        case .array(let values): return values
        default: throw KilnError.invalidParameter("Field '\(field(key))' must be a list.")
        }
    }

    /// An enum value from `allowed`.
    func enumValue(_ key: String, _ allowed: [String]) throws(KilnError) -> String? {
        guard let text = try string(key) else { return nil }
        guard allowed.contains(text) else {
            throw KilnError.invalidParameter("Invalid value '\(text)' for field '\(field(key))'; expected one of \(allowed.joined(separator: ", ")).")
        }
        return text
    }
}
