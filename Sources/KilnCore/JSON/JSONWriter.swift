/// Writes JSON straight to bytes, for responses on hot routes (get-status, a list of 1,000 objects), where
/// `JSONEncoder`'s intermediate tree and dictionaries cost more than the request. Strings are escaped as in
/// `JSONTree.compactJSON()`; members come in the order written, and a nil value leaves its member out, as
/// `JSONEncoder` does. The caller pairs each `begin…` with its `end…`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next member or element follows another in the same object or array.
    private var needsComma = false

    /// A writer whose buffer starts with room for `capacity` bytes (a list's estimate saves regrowing it).
    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

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
        appendDigits(of: value)
        needsComma = true
    }

    private mutating func key(_ key: String) {
        separate()
        JSONStringWriter.write(key, into: &bytes, style: .jackson)
        bytes.append(UInt8(ascii: ":"))
    }

    /// The decimal digits of `value`, as `String(value)` writes them, without making the string.
    private mutating func appendDigits(of value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var count = 1
        var rest = magnitude / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        let end = bytes.count + count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var index = end
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
        }
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}
