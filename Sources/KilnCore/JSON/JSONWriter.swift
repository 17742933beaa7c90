/// Writes JSON straight to bytes, for responses on hot routes (get-status, a list of 1,000 objects), where
/// `JSONEncoder`'s intermediate tree and dictionaries cost more than the request. Strings are escaped as in
/// `JSONTree.compactJSON()`; members come in the order written, and a nil value leaves its member out, as
/// `JSONEncoder` does. The caller pairs each `begin…` with its `end…`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next member or element follows another in the same object or array.
    private var needsComma = false

    public init() {}

    /// `{`, as a value (the top one, or an array's element).
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// `"key":[`, as a member of the object being written.
    public mutating func beginArray(_ key: String) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"key":"value"`, unless `value` is nil.
    public mutating func member(_ key: String, _ value: String?) {
        guard let value else { return }
        self.key(key)
        JSONStringWriter.write(value, into: &bytes, style: .jackson)
        needsComma = true
    }

    /// `"key":value`, unless `value` is nil.
    public mutating func member(_ key: String, _ value: Int64?) {
        guard let value else { return }
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
        needsComma = true
    }

    private mutating func key(_ key: String) {
        separate()
        JSONStringWriter.write(key, into: &bytes, style: .jackson)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}
