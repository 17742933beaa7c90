extension JSONTree {
    /// Compact JSON as Databricks' Jackson writer produces it inside DBC archives and the HTML model:
    /// no spaces, key order kept, non-ASCII raw, control characters as upper-case `\uXXXX`, `/` unescaped.
    public func compactJSON() -> [UInt8] {
        var out: [UInt8] = []
        writeCompact(into: &out)
        return out
    }

    private func writeCompact(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .number(let text): out += Array(text.utf8)
        case .string(let text): JSONStringWriter.write(text, into: &out, style: .jackson)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.writeCompact(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONStringWriter.write(member.key, into: &out, style: .jackson)
                out.append(UInt8(ascii: ":"))
                member.value.writeCompact(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// JSON as Databricks writes `.ipynb` files: Python's `json.dumps(indent=1, sort_keys=True,
    /// ensure_ascii=False)` with characters outside the BMP as upper-case surrogate escapes, plus a
    /// final newline (notebook-formats.md §3.3).
    public func databricksNotebookJSON() -> [UInt8] {
        var out: [UInt8] = []
        writePretty(into: &out, depth: 0)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    private func writePretty(into out: inout [UInt8], depth: Int) {
        func newline(_ level: Int) {
            out.append(UInt8(ascii: "\n"))
            out += [UInt8](repeating: UInt8(ascii: " "), count: level)
        }
        switch self {
        case .array(let values) where !values.isEmpty:
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                value.writePretty(into: &out, depth: depth + 1)
            }
            newline(depth)
            out.append(UInt8(ascii: "]"))
        case .object(let members) where !members.isEmpty:
            out.append(UInt8(ascii: "{"))
            let sorted = members.sorted { Array($0.key.utf16).lexicographicallyPrecedes(Array($1.key.utf16)) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                JSONStringWriter.write(member.key, into: &out, style: .python)
                out += Array(": ".utf8)
                member.value.writePretty(into: &out, depth: depth + 1)
            }
            newline(depth)
            out.append(UInt8(ascii: "}"))
        case .string(let text):
            JSONStringWriter.write(text, into: &out, style: .python)
        default:
            writeCompact(into: &out)
        }
    }
}

/// String escaping of the two writers Kiln reproduces.
enum JSONStringWriter {
    enum Style {
        /// Jackson: control characters as upper-case `\u001B`, everything else raw.
        case jackson
        /// Python `ensure_ascii=False` (lower-case `\u001b`) with astral characters as upper-case
        /// surrogate escapes, as Databricks' ipynb writer does.
        case python
    }

    static func write(_ text: String, into out: inout [UInt8], style: Style) {
        out.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { bytes in
            // Most strings (keys, paths, names) need no escape at all: one copy.
            let escapesAstral = style == .python
            let needsEscape = bytes.contains { byte in
                byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || (escapesAstral && byte >= 0xF0)
            }
            if !needsEscape {
                out.append(contentsOf: bytes)
                return
            }
            var runStart = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                let escape: [UInt8]?
                var width = 1
                switch byte {
                case UInt8(ascii: "\""): escape = Array("\\\"".utf8)
                case UInt8(ascii: "\\"): escape = Array("\\\\".utf8)
                case 0x0A: escape = Array("\\n".utf8)
                case 0x0D: escape = Array("\\r".utf8)
                case 0x09: escape = Array("\\t".utf8)
                case 0x08: escape = Array("\\b".utf8)
                case 0x0C: escape = Array("\\f".utf8)
                case ..<0x20: escape = Array(unicodeEscape(UInt32(byte), upperCase: style == .jackson).utf8)
                case 0xF0... where style == .python && index + 3 < bytes.count:
                    // A 4-byte UTF-8 sequence: a character outside the BMP, written as a surrogate pair.
                    let scalar =
                        UInt32(byte & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                        | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F)
                    let value = scalar - 0x10000
                    escape = Array(
                        (unicodeEscape(0xD800 + (value >> 10), upperCase: true)
                            + unicodeEscape(0xDC00 + (value & 0x3FF), upperCase: true)).utf8)
                    width = 4
                default:
                    escape = nil
                }
                if let escape {
                    out.append(contentsOf: bytes[runStart..<index])
                    out.append(contentsOf: escape)
                    index += width
                    runStart = index
                } else {
                    index += 1
                }
            }
            out.append(contentsOf: bytes[runStart..<bytes.count])
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func unicodeEscape(_ value: UInt32, upperCase: Bool) -> String {
        let hex = String(value, radix: 16, uppercase: upperCase)
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
