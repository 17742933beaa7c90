/// Comparison of secrets in time that does not depend on where they differ, so that an attacker cannot
/// learn a secret byte by byte from how long a refusal takes.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes; only their lengths show in the time taken.
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The same for text (its UTF-8 bytes), such as hex digests of secrets.
    public static func equal(_ a: String, _ b: String) -> Bool {
        equal(Array(a.utf8), Array(b.utf8))
    }
}
