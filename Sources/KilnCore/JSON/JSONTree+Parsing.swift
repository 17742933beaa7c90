extension JSONTree {
    /// Parses UTF-8 JSON text. Nesting deeper than `maximumDepth` is refused, so hostile input
    /// cannot exhaust the stack. Contiguous bytes (an array, a request's `ByteBuffer`) are read in place.
    public static func parse(_ bytes: some Collection<UInt8>, maximumDepth: Int = 512) throws(JSONTreeError) -> JSONTree {
        let parsed =
            bytes.withContiguousStorageIfAvailable { parse(buffer: $0, maximumDepth: maximumDepth) }
            ?? Array(bytes).withUnsafeBufferPointer { parse(buffer: $0, maximumDepth: maximumDepth) }
        return try parsed.get()
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, maximumDepth: Int) -> Result<JSONTree, JSONTreeError> {
        Result { () throws(JSONTreeError) in
            var parser = JSONTreeParser(bytes: buffer, maximumDepth: maximumDepth)
            return try parser.wholeInput()
        }
    }

    /// Parses `bytes` as `parse` does, but for the string value of the outermost object's member `key`, which
    /// is left out of the tree when it has no escapes: the byte range of its text in `bytes` comes back instead
    /// (nil when it is not there, or is kept in the tree as any other value). The text is not checked for
    /// UTF-8; the caller reads it as what it should be (a notebook's base64 `content`, decoded from the request's
    /// bytes where a `String` of it would cost a copy and a check of every byte). When `key` comes more than once,
    /// the last one counts, as in the tree.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, leavingOut key: String, maximumDepth: Int = 512
    ) throws(JSONTreeError) -> (tree: JSONTree, leftOut: Range<Int>?) {
        var parser = JSONTreeParser(bytes: bytes.assumingMemoryBound(to: UInt8.self), maximumDepth: maximumDepth)
        parser.leftOutKey = key
        return (try parser.wholeInput(), parser.leftOut)
    }

    /// Parses one JSON value at the start of `bytes` and returns it with the number of bytes it used
    /// (for JSON embedded in other text, like the legacy HTML model).
    public static func parsePrefix(_ bytes: [UInt8], maximumDepth: Int = 512) throws(JSONTreeError) -> (JSONTree, Int) {
        try bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONTreeError) in
                var parser = JSONTreeParser(bytes: buffer, maximumDepth: maximumDepth)
                let value = try parser.value(depth: 0)
                return (value, parser.offset)
            }
        }.get()
    }
}

/// Why text is not JSON.
public struct JSONTreeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

/// Reads JSON from bytes that outlive it (`JSONTree.parse` holds them for the parser's whole life).
struct JSONTreeParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var offset = 0
    /// The outermost object's member whose plain string value is left out of the tree (`leftOut`).
    var leftOutKey: String?
    /// The byte range of the text of the last `leftOutKey` member left out.
    var leftOut: Range<Int>?

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// The one JSON value the whole input is, with nothing but whitespace after it.
    mutating func wholeInput() throws(JSONTreeError) -> JSONTree {
        let value = try value(depth: 0)
        skipWhitespace()
        guard offset == bytes.count else { throw error("unexpected text after the JSON value") }
        return value
    }

    func error(_ what: String) -> JSONTreeError {
        JSONTreeError(description: "Invalid JSON at byte \(offset): \(what).")
    }

    /// Where the run of string bytes from `start` that need no decoding ends: at a quote, a backslash, a
    /// control character or the end of the input.
    func plainRunEnd(from start: Int) -> Int {
        var index = start
        // Sixteen bytes at a time while none of them ends the run (a notebook's base64 is long), two chunks
        // checked together: a SIMD32's `any` is not inlined (it cost twice the instructions).
        if let base = UnsafeRawPointer(bytes.baseAddress) {
            let (quote, backslash, space) = (SIMD16<UInt8>(repeating: 0x22), SIMD16<UInt8>(repeating: 0x5C), SIMD16<UInt8>(repeating: 0x20))
            func ends(_ chunk: SIMD16<UInt8>) -> SIMDMask<SIMD16<Int8>> { (chunk .== quote) .| (chunk .== backslash) .| (chunk .< space) }
            while index + 32 <= bytes.count {
                let first = base.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
                let second = base.loadUnaligned(fromByteOffset: index + 16, as: SIMD16<UInt8>.self)
                if any(ends(first) .| ends(second)) { break }
                index += 32
            }
            while index + 16 <= bytes.count {
                if any(ends(base.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self))) { break }
                index += 16
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            index += 1
        }
        return index
    }

    mutating func skipWhitespace() {
        while offset < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[offset]) { offset += 1 }
    }

    mutating func value(depth: Int) throws(JSONTreeError) -> JSONTree {
        guard depth < maximumDepth else { throw error("nested too deeply") }
        skipWhitespace()
        guard offset < bytes.count else { throw error("unexpected end") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: String) throws(JSONTreeError) {
        let expected = Array(word.utf8)
        guard bytes.count - offset >= expected.count, bytes[offset..<offset + expected.count].elementsEqual(expected) else {
            throw error("expected \(word)")
        }
        offset += expected.count
    }

    mutating func object(depth: Int) throws(JSONTreeError) -> JSONTree {
        offset += 1
        var members: [JSONTree.Member] = []
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a key") }
            let key = try string()
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw error("expected ':'") }
            offset += 1
            if depth == 0, key == leftOutKey {
                skipWhitespace()
                leftOut = plainString()
                if leftOut == nil { members.append(.init(key, try value(depth: depth + 1))) }
            } else {
                members.append(.init(key, try value(depth: depth + 1)))
            }
            skipWhitespace()
            guard offset < bytes.count else { throw error("unterminated object") }
            if bytes[offset] == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            if bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                // The last `leftOutKey` counts: when it was left out, so are the ones before it (removed once
                // here, not at each, which a body of many such keys would make quadratic).
                if depth == 0, leftOut != nil, let leftOutKey { members.removeAll { $0.key == leftOutKey } }
                return .object(members)
            }
            throw error("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws(JSONTreeError) -> JSONTree {
        offset += 1
        var values: [JSONTree] = []
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            return .array(values)
        }
        while true {
            values.append(try value(depth: depth + 1))
            skipWhitespace()
            guard offset < bytes.count else { throw error("unterminated array") }
            if bytes[offset] == UInt8(ascii: ",") {
                offset += 1
                continue
            }
            if bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return .array(values)
            }
            throw error("expected ',' or ']'")
        }
    }

    mutating func number() throws(JSONTreeError) -> String {
        let start = offset
        while offset < bytes.count, "+-0123456789.eE".utf8.contains(bytes[offset]) { offset += 1 }
        let text = bytes[start..<offset]
        guard Self.isJSONNumber(text) else { throw error("invalid value") }
        return String(decoding: text, as: UTF8.self)
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` (no leading zeros, no bare dots).
    static func isJSONNumber(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        var index = text.startIndex
        func digits() -> Int {
            let start = index
            while index < text.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[index]) { index += 1 }
            return index - start
        }
        if index < text.endIndex, text[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0, integerDigits == 1 || text[integerStart] != UInt8(ascii: "0") else { return false }
        if index < text.endIndex, text[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < text.endIndex, text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E") {
            index += 1
            if index < text.endIndex, text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == text.endIndex
    }

    /// The byte range of the text of the string at `offset` when it has no escapes, the offset moved past it;
    /// nil, with the offset where it was, for anything else.
    mutating func plainString() -> Range<Int>? {
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { return nil }
        let end = plainRunEnd(from: offset + 1)
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        defer { offset = end + 1 }
        return offset + 1..<end
    }

    mutating func string() throws(JSONTreeError) -> String {
        offset += 1
        // Most strings (a notebook's base64 among them) have no escape: made straight from the input.
        let plainEnd = plainRunEnd(from: offset)
        if plainEnd < bytes.count, bytes[plainEnd] == UInt8(ascii: "\"") {
            let start = offset
            offset = plainEnd + 1
            guard let text = String(validating: bytes[start..<plainEnd], as: UTF8.self) else { throw error("invalid UTF-8") }
            return text
        }
        // The plain run already found is the start of the output; the loop goes on from its end.
        var output = Array(bytes[offset..<plainEnd])
        offset = plainEnd
        while true {
            guard offset < bytes.count else { throw error("unterminated string") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                guard let text = String(validating: output, as: UTF8.self) else { throw error("invalid UTF-8") }
                return text
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte != UInt8(ascii: "\\") {
                // Copy a run of plain bytes at once.
                let runStart = offset
                offset = plainRunEnd(from: offset)
                output.append(contentsOf: bytes[runStart..<offset])
                continue
            }
            offset += 1
            guard offset < bytes.count else { throw error("unterminated escape") }
            let escape = bytes[offset]
            offset += 1
            switch escape {
            case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): output.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard bytes.count - offset >= 6, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                        throw error("lone surrogate")
                    }
                    offset += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error("lone surrogate")
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid code point") }
                output.append(contentsOf: Array(String(Character(unicode)).utf8))
            default:
                throw error("invalid escape")
            }
        }
    }

    mutating func hex4() throws(JSONTreeError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for byte in bytes[offset..<offset + 4] {
            guard let digit = hexDigit(byte) else { throw error("invalid \\u escape") }
            value = value << 4 | digit
        }
        offset += 4
        return value
    }

    func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
