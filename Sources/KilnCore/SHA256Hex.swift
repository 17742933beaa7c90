import Crypto
import Foundation

/// The SHA-256 of a string's UTF-8 bytes as 64 lower-case hex digits: how Kiln stores token and client
/// secrets and keys remembered password checks.
public func sha256Hex(_ text: String) -> String {
    SHA256.hash(data: Data(text.utf8)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
