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
        let digits = Array("0123456789abcdef")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in digits[Int(generator.next() % 16)] })
    }

    /// A random RFC 4122 version-4 UUID in lower case.
    public static func uuid() -> String {
        var hexDigits = Array(hex(32))
        hexDigits[12] = "4"
        hexDigits[16] = Array("89ab")[Int.random(in: 0..<4)]
        return formatted(hexDigits)
    }

    /// A UUID that is a function of `name`: the first 128 bits of its SHA-256, marked as an RFC 9562
    /// version-8 (custom) UUID. The same name always gives the same UUID.
    public static func uuid(named name: String) -> String {
        var hexDigits = Array(sha256Hex(name).prefix(32))
        hexDigits[12] = "8"
        hexDigits[16] = Array("89ab")[Int(String(hexDigits[16]), radix: 16)! % 4]
        return formatted(hexDigits)
    }

    private static func formatted(_ hexDigits: [Character]) -> String {
        let text = String(hexDigits)
        let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { range in
            String(text[text.index(text.startIndex, offsetBy: range.lowerBound)..<text.index(text.startIndex, offsetBy: range.upperBound)])
        }
        return parts.joined(separator: "-")
    }
}
