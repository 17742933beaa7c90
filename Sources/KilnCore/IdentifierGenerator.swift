import Crypto
import Foundation

/// Makes the numeric identifiers Databricks uses for objects and workspaces: positive 16-digit
/// integers, below 2^53 so that JavaScript clients read them exactly.
public enum IdentifierGenerator {
    /// The smallest identifier handed out.
    public static let lowerBound: Int64 = 1_000_000_000_000_000
    /// One past the largest identifier handed out (2^53 - 1 would also be safe; this keeps 16 digits).
    public static let upperBound: Int64 = 9_000_000_000_000_000

    /// A fresh random identifier. Collisions are left to the database's primary keys to catch.
    public static func next() -> Int64 {
        Int64.random(in: lowerBound..<upperBound)
    }

    /// `count` random lower-case hexadecimal digits.
    public static func hex(_ count: Int) -> String {
        RandomSecret.string(count, from: Array("0123456789abcdef"))
    }

    /// A random RFC 4122 version-4 UUID in lower case.
    public static func uuid() -> String {
        formatted(RandomSecret.bytes(16)[...], version: 4)
    }

    /// `count` random version-4 UUIDs, from one draw of random bytes (a notebook's cell ids).
    public static func uuids(_ count: Int) -> [String] {
        let bytes = RandomSecret.bytes(16 * count)
        return (0..<count).map { formatted(bytes[16 * $0..<16 * ($0 + 1)], version: 4) }
    }

    /// A UUID that is a function of `name`: the first 128 bits of its SHA-256, marked as an RFC 9562
    /// version-8 (custom) UUID. The same name always gives the same UUID.
    public static func uuid(named name: String) -> String {
        formatted(Array(SHA256.hash(data: Data(name.utf8)).prefix(16))[...], version: 8)
    }

    /// `bytes` (16) as `xxxxxxxx-xxxx-Vxxx-yxxx-xxxxxxxxxxxx` with the version `V` and the RFC 4122 variant,
    /// written straight into the string's storage, two digits at a time from `hexPairs` (a notebook's import
    /// makes one per cell: 1,030 instructions a UUID before, a tenth of a 64 KiB import's ids).
    private static func formatted(_ bytes: ArraySlice<UInt8>, version: UInt8) -> String {
        precondition(bytes.count == 16)
        return hexPairs.withUnsafeBufferPointer { pairs in
            bytes.withUnsafeBufferPointer { bytes in
                String(unsafeUninitializedCapacity: 36) { text in
                    let raw = UnsafeMutableRawBufferPointer(text)
                    var offset = 0
                    for index in 0..<16 {
                        var byte = bytes[index]
                        if index == 6 { byte = (byte & 0x0F) | (version << 4) }
                        if index == 8 { byte = (byte & 0x3F) | 0x80 }
                        if index == 4 || index == 6 || index == 8 || index == 10 {
                            raw[offset] = UInt8(ascii: "-")
                            offset += 1
                        }
                        raw.storeBytes(of: pairs[Int(byte)], toByteOffset: offset, as: UInt16.self)
                        offset += 2
                    }
                    return offset
                }
            }
        }
    }

    /// The two lower-case hexadecimal digits of each byte, as they lie in memory (the first digit first).
    private static let hexPairs: [UInt16] = (0..<256).map { byte in
        UInt16(littleEndian: UInt16(lowerHexDigits[byte >> 4]) | UInt16(lowerHexDigits[byte & 0x0F]) << 8)
    }
}
