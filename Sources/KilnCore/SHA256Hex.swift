import Crypto
import Foundation

/// The SHA-256 of a string's UTF-8 bytes as 64 lower-case hex digits: how Kiln stores token and client
/// secrets and keys remembered password checks. Every request with a bearer token hashes it (~1 µs).
public func sha256Hex(_ text: String) -> String {
    var text = text
    let digest = text.withUTF8 { SHA256.hash(data: $0) }
    return digest.withUnsafeBytes { lowerHex($0) }
}

/// `bytes` as lower-case hex digits, two per byte.
package func lowerHex(_ bytes: some Collection<UInt8>) -> String {
    String(unsafeUninitializedCapacity: 2 * bytes.count) { text in
        var index = 0
        for byte in bytes {
            text[index] = lowerHexDigits[Int(byte >> 4)]
            text[index + 1] = lowerHexDigits[Int(byte & 0x0F)]
            index += 2
        }
        return index
    }
}

/// The ASCII codes of `0`–`9`, `a`–`f`.
package let lowerHexDigits: [UInt8] = Array("0123456789abcdef".utf8)
