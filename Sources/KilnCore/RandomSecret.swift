import Foundation

/// The one source of randomness for secrets and generated names: the system's cryptographically secure
/// generator (`getrandom(2)` on Linux, through `arc4random_buf` and `SystemRandomNumberGenerator`).
public enum RandomSecret {
    /// Letters and digits without the look-alikes `0 O 1 I l`, for passwords people may have to type.
    public static let unambiguous = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")

    /// `count` random bytes (keys, salts, ids), from one `arc4random_buf(3)` call: glibc fills it with
    /// `getrandom(2)`, where `SystemRandomNumberGenerator` makes one call for every 8 bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            guard let start = buffer.baseAddress else { return }
            arc4random_buf(start, buffer.count)
        }
        return bytes
    }

    /// `count` characters drawn uniformly from `alphabet` (which must not be empty).
    public static func string(_ count: Int, from alphabet: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}
