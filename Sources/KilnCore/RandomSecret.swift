/// The one source of randomness for secrets and generated names: the system's cryptographically secure
/// generator (`SystemRandomNumberGenerator`: `getrandom(2)` on Linux).
public enum RandomSecret {
    /// Letters and digits without the look-alikes `0 O 1 I l`, for passwords people may have to type.
    public static let unambiguous = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")

    /// `count` random bytes (keys, salts).
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// `count` characters drawn uniformly from `alphabet` (which must not be empty).
    public static func string(_ count: Int, from alphabet: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}
