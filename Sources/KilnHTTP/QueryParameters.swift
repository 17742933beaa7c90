import Foundation
public import Hummingbird
public import KilnCore

/// The parameters of a query string — or of a form body, which is written the same way — decoded once:
/// `+` is a space, then percent-decoding, as Databricks' servers read them. A key given twice keeps its
/// last value. Every route reads its query through this type, with one set of rules for each value type.
public struct QueryParameters: Sendable {
    private var values: [String: String]

    /// Decodes `a=b&c=d`. Split at the bytes of `&` and `=`, not at characters: a query is bytes
    /// (RFC 3986 §3.4), and splitting by `Character` (grapheme clusters) cost 3 % of a get-status.
    /// Read in one pass over the query's UTF-8, without arrays of the pieces (every request's query comes
    /// through here; indexing a `Substring`'s UTF-8 view cost 70 instructions a byte).
    public init(_ query: String) {
        var values: [String: String] = [:]
        var query = query
        query.withUTF8 { bytes in
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
                let pair = UnsafeBufferPointer(rebasing: bytes[start..<end])
                if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                    values[Self.decode(UnsafeBufferPointer(rebasing: pair[..<equals]))] =
                        Self.decode(UnsafeBufferPointer(rebasing: pair[(equals + 1)...]))
                } else if !pair.isEmpty {
                    values[Self.decode(pair)] = ""
                }
                start = end + 1
            }
        }
        self.values = values
    }

    /// The query of `request`.
    public init(_ request: Request) {
        self.init(request.uri.query ?? "")
    }

    /// `+` as a space and `%XX` as the byte it names, as Foundation's `removingPercentEncoding` decodes them
    /// but byte by byte, and keeping a leading byte order mark, which Foundation dropped; when an escape is
    /// malformed or the bytes are not UTF-8, the text with only its `+`s turned into spaces.
    static func decode(_ text: Substring) -> String {
        var text = String(text)
        return text.withUTF8 { decode($0) }
    }

    /// `decode` of a key or a value of a query as its bytes, split at ASCII bytes (so they are whole UTF-8):
    /// every request's query goes through here.
    private static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let (plus, percent, space) = (UInt8(ascii: "+"), UInt8(ascii: "%"), UInt8(ascii: " "))
        guard bytes.contains(where: { $0 == plus || $0 == percent }) else { return String(decoding: bytes, as: UTF8.self) }
        return PercentEncoding.decode(bytes, plusIsSpace: true).flatMap { String(validating: $0, as: UTF8.self) }
            ?? String(decoding: bytes.map { $0 == plus ? space : $0 }, as: UTF8.self)
    }

    /// Every parameter, for merging with a body (`APIParameters`).
    var all: [String: String] { values }

    /// The text of a parameter as sent; nil when absent.
    public subscript(key: String) -> String? { values[key] }

    /// A boolean: `true` or `false` in any case; absent or empty is nil. Throws `INVALID_PARAMETER_VALUE`
    /// for anything else.
    public func bool(_ key: String) throws(KilnError) -> Bool? {
        try values[key].flatMap { text throws(KilnError) in try Self.bool(text, key: key) }
    }

    /// An integer in decimal digits; absent or empty is nil. Throws `INVALID_PARAMETER_VALUE` otherwise.
    public func int(_ key: String) throws(KilnError) -> Int64? {
        try values[key].flatMap { text throws(KilnError) in try Self.int(text, key: key) }
    }

    /// A comma-separated list (`update_mask=a,b`), each item trimmed; nil when absent.
    public func list(_ key: String) -> [String]? {
        values[key].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    /// The rule for booleans written as text (a query value, a form field, a JSON string).
    static func bool(_ text: String, key: String) throws(KilnError) -> Bool? {
        switch text.lowercased() {
        case "": return nil
        case "true": return true
        case "false": return false
        default: throw KilnError.invalidParameter("Parameter '\(key)' must be true or false, not '\(text)'.")
        }
    }

    /// The rule for integers written as text.
    static func int(_ text: String, key: String) throws(KilnError) -> Int64? {
        guard !text.isEmpty else { return nil }
        guard let value = Int64(text) else { throw KilnError.invalidParameter("Parameter '\(key)' must be an integer, not '\(text)'.") }
        return value
    }
}
