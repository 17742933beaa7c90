import Foundation
import KilnCore
import Testing

@Suite struct JSONTreeParsingTests {
    private func parse(_ text: String, maximumDepth: Int = 512) throws -> JSONTree {
        try JSONTree.parse(Array(text.utf8), maximumDepth: maximumDepth)
    }

    /// The description of the error parsing `text` throws, or nil when it parses.
    private func failure(_ text: String, maximumDepth: Int = 512) -> String? {
        do {
            _ = try JSONTree.parse(Array(text.utf8), maximumDepth: maximumDepth)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func parsesEveryKindOfValue() throws {
        let tree = try parse(#" { "n" : null , "t":true, "f":false, "i":-12, "s":"x", "a":[1, [] ,{}], "o":{"k":"v"} } "#)
        #expect(
            tree
                == .object([
                    .init("n", .null), .init("t", .bool(true)), .init("f", .bool(false)), .init("i", .number("-12")),
                    .init("s", .string("x")), .init("a", .array([.number("1"), .array([]), .object([])])),
                    .init("o", .object([.init("k", .string("v"))])),
                ]))
    }

    @Test(arguments: ["0", "-0", "1.0", "1.10017465E8", "1.0E-4", "2.50", "1e400", "-1.5e+3", "12345678901234567890123"])
    func numbersKeepTheirText(text: String) throws {
        #expect(try parse(text) == .number(text))
        #expect(try parse("[\(text)]") == .array([.number(text)]))
    }

    @Test func objectMembersKeepDocumentOrderAndDuplicates() throws {
        let tree = try parse(#"{"b":1,"a":2,"b":3}"#)
        #expect(tree == .object([.init("b", .number("1")), .init("a", .number("2")), .init("b", .number("3"))]))
    }

    @Test func allWhitespaceKindsAreSkipped() throws {
        #expect(try parse(" \t\r\n[ \t\r\n1 \n, 2\t]\r\n ") == .array([.number("1"), .number("2")]))
    }

    @Test func simpleEscapesAreDecoded() throws {
        #expect(try parse(#""\" \\ \/ \b \f \n \r \t""#) == .string("\" \\ / \u{8} \u{C} \n \r \t"))
    }

    @Test func unicodeEscapesAreDecoded() throws {
        #expect(try parse(#""\u0041\u00e9\u00E9\u20AC\u0000""#) == .string("Aéé€\u{0}"))
        #expect(try parse(#""\uD83D\uDD25""#) == .string("🔥"))
        #expect(try parse(#""\ud83d\ude00 ok""#) == .string("😀 ok"))
    }

    @Test func rawUTF8IsKept() throws {
        #expect(try parse(#""é — 🔥 \u00e9""#) == .string("é — 🔥 é"))
    }

    @Test(arguments: [
        #""\uD83D""#, #""\uD83Dx""#, #""\uD83D\n""#, #""\uDD25""#, #""\uD83D\u0041""#,
    ])
    func brokenSurrogatesAreRefused(text: String) {
        #expect(failure(text) != nil)
    }

    @Test(arguments: [
        #""\x""#, #""\u12""#, #""\u12G4""#, #""abc"#, #""abc\"#, "\"tab\there\"", "\"line\nbreak\"",
    ])
    func malformedStringsAreRefused(text: String) {
        #expect(failure(text) != nil)
    }

    /// Long strings are scanned sixteen bytes at a time: an escape, a quote or a control character at
    /// any place in a chunk, or in the bytes after the last whole chunk, still counts.
    @Test func longStringsAreReadWhereverTheirEscapesFall() throws {
        for length in [15, 16, 17, 31, 32, 33, 100] {
            for position in [0, 1, 14, 15, 16, 17, length - 1] where position < length {
                let plain = String(repeating: "a", count: length)
                #expect(try parse("\"\(plain)\"") == .string(plain))
                var escaped = Array(plain)
                escaped[position] = "\n"
                let text = String(escaped).replacingOccurrences(of: "\n", with: #"\n"#)
                #expect(try parse("\"\(text)\"") == .string(String(escaped)))
                #expect(failure("\"\(String(escaped))\"") != nil)
                #expect(try parse("[\"\(plain.prefix(position))\",1]") == .array([.string(String(plain.prefix(position))), .number("1")]))
            }
        }
        let long = String(repeating: "é🔥ab", count: 40)
        #expect(try parse("\"\(long)\"") == .string(long))
        #expect(throws: JSONTreeError.self) { try JSONTree.parse([0x22] + Array(repeating: 0x61, count: 40) + [0xFF, 0x22]) }
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONTreeError.self) { try JSONTree.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONTreeError.self) { try JSONTree.parse([0x22, 0xFF, 0x22]) }
    }

    @Test(arguments: [
        "", "   ", "[", "[1", "[1,", "[1,]", "[,1]", "[1 2]", "{", #"{"a""#, #"{"a":}"#, #"{"a":1,}"#, #"{a:1}"#,
        #"{"a" 1}"#, #"{"a":1 "b":2}"#, "tru", "nul", "falsey", "True", "NaN", "Infinity", "-", "1e", "+1", "1-2",
        "0x10", "'a'", "1 2", "{} {}", "[]]", #""a" x"#,
    ])
    func malformedDocumentsAreRefused(text: String) {
        #expect(failure(text) != nil)
    }

    @Test func errorsSayWhereAndWhat() {
        #expect(failure("") == "Invalid JSON at byte 0: unexpected end.")
        #expect(failure("[1,]") == "Invalid JSON at byte 3: invalid value.")
        #expect(failure(#"{"a" 1}"#) == "Invalid JSON at byte 5: expected ':'.")
        #expect(failure("1 2") == "Invalid JSON at byte 2: unexpected text after the JSON value.")
        #expect(failure("[1 2]") == "Invalid JSON at byte 3: expected ',' or ']'.")
        #expect(failure(#"{"a":1"#) == "Invalid JSON at byte 6: unterminated object.")
        #expect(failure("nulL") == "Invalid JSON at byte 0: expected null.")
    }

    @Test func nestingBeyondTheLimitIsRefused() throws {
        // Every value, containers and scalars alike, counts one level; the top level is level 0.
        #expect(try parse("[[1]]", maximumDepth: 3) == .array([.array([.number("1")])]))
        #expect(failure("[[[1]]]", maximumDepth: 3) == "Invalid JSON at byte 3: nested too deeply.")
        #expect(failure(#"{"a":{"b":{"c":1}}}"#, maximumDepth: 3) != nil)
        #expect(try parse(#"{"a":{"b":1}}"#, maximumDepth: 3)["a"]?["b"] == .number("1"))
    }

    @Test func hostileNestingFailsInsteadOfExhaustingTheStack() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(failure(deep)?.hasSuffix("nested too deeply.") == true)
        let allowed = String(repeating: "[", count: 511) + String(repeating: "]", count: 511)
        #expect(try parse(allowed) != .null)
    }

    @Test func parsePrefixStopsAfterTheFirstValue() throws {
        let (value, used) = try JSONTree.parsePrefix(Array(#"  {"a":[1,2]}</script> trailing"#.utf8))
        #expect(value == .object([.init("a", .array([.number("1"), .number("2")]))]))
        #expect(used == 13)
        let (number, numberUsed) = try JSONTree.parsePrefix(Array("42, 43".utf8))
        #expect(number == .number("42") && numberUsed == 2)
    }

    @Test func parsePrefixStillRefusesAMalformedValue() {
        #expect(throws: JSONTreeError.self) { try JSONTree.parsePrefix(Array(#"{"a":}rest"#.utf8)) }
        #expect(throws: JSONTreeError.self) { try JSONTree.parsePrefix(Array("[[1]] rest".utf8), maximumDepth: 2) }
    }

    @Test(arguments: ["01", "-01", "00", ".5", "-.5", "1.", "1.e5", "[01]", #"{"a":.5}"#])
    func numbersJSONForbidsAreRefused(text: String) {
        #expect(failure(text) != nil)
    }

    /// The outermost object's string member without escapes is left out, as the range of its text; any other
    /// value of that key, or the key deeper down, stays in the tree.
    @Test func aPlainStringMemberCanBeLeftOutAsItsRange() throws {
        func parse(_ text: String) throws -> (JSONTree, String?) {
            let bytes = Array(text.utf8)
            let (tree, range) = try bytes.withUnsafeBytes { try JSONTree.parse($0, leavingOut: "content") }
            return (tree, range.map { String(decoding: bytes[$0], as: UTF8.self) })
        }
        let (tree, text) = try parse(#" { "a" : 1 , "content" :  "QUJD+/=" , "b":[{"content":"x"}] } "#)
        #expect(text == "QUJD+/=")
        #expect(tree == .object([.init("a", .number("1")), .init("b", .array([.object([.init("content", .string("x"))])]))]))
        #expect(try parse(#"{"content":"a\nb"}"#) == (.object([.init("content", .string("a\nb"))]), nil))
        #expect(try parse(#"{"content":null}"#) == (.object([.init("content", .null)]), nil))
        #expect(try parse(#"{"content":""}"#) == (.object([]), ""))
        #expect(try parse(#"["content"]"#) == (.array([.string("content")]), nil))
        #expect(throws: JSONTreeError.self) { try parse(#"{"content":"QUJD"#) }
        #expect(throws: JSONTreeError.self) { try parse(#"{"content":"QUJD"} x"#) }
    }
}
