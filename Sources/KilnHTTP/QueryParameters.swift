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
    /// Read in one pass, without arrays of the pieces (every request's query comes through here).
    public init(_ query: String) {
        var values: [String: String] = [:]
        var rest = query.utf8[...]
        while !rest.isEmpty {
            let end = rest.firstIndex(of: UInt8(ascii: "&")) ?? rest.endIndex
            let pair = rest[..<end]
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                values[Self.decode(Substring(pair[..<equals]))] = Self.decode(Substring(pair[pair.index(after: equals)...]))
            } else if !pair.isEmpty {
                values[Self.decode(Substring(pair))] = ""
            }
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
        self.values = values
    }

    /// The query of `request`.
    public init(_ request: Request) {
        self.init(request.uri.query ?? "")
    }

    /// `+` as a space and `%XX` as the byte it names, as Foundation's `removingPercentEncoding` decodes them
    /// but byte by byte (every request's query goes through here), and keeping a leading byte order mark,
    /// which Foundation dropped; when an escape is malformed or the bytes are not UTF-8, the text with only
    /// its `+`s turned into spaces.
    static func decode(_ text: Substring) -> String {
        let (plus, percent, space) = (UInt8(ascii: "+"), UInt8(ascii: "%"), UInt8(ascii: " "))
        guard text.utf8.contains(where: { $0 == plus || $0 == percent }) else { return String(text) }
        let spaced = text.utf8.map { $0 == plus ? space : $0 }
        return PercentEncoding.decode(spaced).flatMap { String(validating: $0, as: UTF8.self) }
            ?? String(decoding: spaced, as: UTF8.self)
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
