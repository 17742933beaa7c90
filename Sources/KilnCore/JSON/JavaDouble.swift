/// Java's `Double.toString`, which Databricks' JSON uses for doubles: plain decimal for
/// 1e-3 ≤ |x| < 1e7 (always with a fraction: `1.0`), otherwise `d.dddE±n` with the shortest digits.
public enum JavaDouble {
    public static func string(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e7 {
            // Swift prints the shortest round-trip digits, in plain form in this range.
            let text = "\(value)"
            return text.contains(".") ? text : text + ".0"
        }
        // Shortest digits and exponent from Swift's description, e.g. "1.10017465e+08" or "1e-05".
        let description = "\(magnitude)"
        let parts = description.split(separator: "e")
        let mantissa = parts[0]
        var exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let integerDigits = mantissa.split(separator: ".", omittingEmptySubsequences: false)[0]
        exponent += integerDigits.count - 1
        var digits = mantissa.filter { $0 != "." }
        while digits.hasPrefix("0"), digits.count > 1 {
            digits.removeFirst()
            exponent -= 1
        }
        while digits.hasSuffix("0"), digits.count > 1 { digits.removeLast() }
        let fraction = digits.count > 1 ? String(digits.dropFirst()) : "0"
        return (value < 0 ? "-" : "") + String(digits.first!) + "." + fraction + "E" + String(exponent)
    }
}
