/// Writes JSON straight to bytes, for responses on hot routes (get-status, a list of 1,000 objects), where
/// `JSONEncoder`'s intermediate tree and dictionaries cost more than the request. String values are escaped
/// as in `JSONTree.compactJSON()`; keys are the caller's literals, written as they are (they must need no
/// escape: no quote, backslash or control character). Members come in the order written, and a nil value
/// leaves its member out, as `JSONEncoder` does. The caller pairs each `begin…` with its `end…`.
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
    public mutating func beginArray(_ key: StaticString) {
        self.key(key)
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"key":"value"`, unless `value` is nil.
    public mutating func member(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        self.key(key)
        JSONStringWriter.write(value, into: &bytes, style: .jackson)
        needsComma = true
    }

    /// `"key":value`, unless `value` is nil.
    public mutating func member(_ key: StaticString, _ value: Int64?) {
        guard let value else { return }
        self.key(key)
        appendDigits(of: value)
        needsComma = true
    }

    /// `"key":`. Keys are the callers' own literals, which need no escape: their bytes are copied as they are,
    /// without the scan for characters to escape that a value's text goes through.
    private mutating func key(_ key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { text in
            assert(!text.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") })
            bytes.append(contentsOf: text)
        }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// `"key":"digits"`: an integer written as a string (a `resource_id`), without making the string.
    public mutating func member(_ key: StaticString, quoting value: Int64) {
        self.key(key)
        bytes.append(UInt8(ascii: "\""))
        appendDigits(of: value)
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// The decimal digits of `value`, as `String(value)` writes them, without making the string: written
    /// backwards, two at a time from a table, into 20 bytes of the stack, then appended.
    private mutating func appendDigits(of value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            Self.digitPairs.withUnsafeBufferPointer { pairs in
                var start = digits.count
                while magnitude >= 10 {
                    let pair = 2 * Int(magnitude % 100)
                    magnitude /= 100
                    start -= 2
                    digits[start] = pairs[pair]
                    digits[start + 1] = pairs[pair + 1]
                }
                // A last single digit (a pair taken from 10 or more never starts with a zero), or 0 itself.
                if magnitude > 0 || start == digits.count {
                    start -= 1
                    digits[start] = UInt8(ascii: "0") + UInt8(magnitude)
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
            }
        }
    }

    /// "00" to "99", the digits `appendDigits` writes two at a time.
    private static let digitPairs: [UInt8] = (0..<100).flatMap { [UInt8(ascii: "0") + UInt8($0 / 10), UInt8(ascii: "0") + UInt8($0 % 10)] }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }
}
