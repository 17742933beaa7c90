/// HTTP's optional whitespace: spaces and tabs around a header's value or the parts of one (RFC 9110 §5.6.3).
enum OptionalWhitespace {
    /// `text` without the spaces and tabs around it. Compared as bytes: Foundation's `trimmingCharacters`
    /// bridges to NSString (2 % of a small import's CPU), and a scan by `Character` breaks grapheme clusters
    /// for bytes that can only be ASCII.
    static func trimmed(_ text: Substring) -> Substring {
        let bytes = text.utf8
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else {
            return text[text.endIndex...]
        }
        return Substring(bytes[first...last])
    }
}
