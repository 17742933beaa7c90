import HTTPTypes
import Hummingbird
import KilnCore
import NIOCore
import Testing
import WorkspaceFiles
@testable import KilnHTTP

@Suite struct APIParametersTests {
    @Test func queryDecodesPlusAsSpaceAndPercentEscapes() {
        let query = QueryParameters("path=%2FUsers%2Fa%2Fnb+with+space%26x%3D1&recursive=true&empty=&flag&twice=1&twice=2")
        #expect(query["path"] == "/Users/a/nb with space&x=1")
        #expect(query["recursive"] == "true")
        #expect(query["empty"] == "")
        #expect(query["flag"] == "")
        #expect(query["twice"] == "2")
        #expect(query["missing"] == nil)
        // `&` and `=` are bytes of the query: a combining mark after one does not hide it.
        let marked = QueryParameters("a=1&\u{301}b=\u{301}2")
        #expect(marked["a"] == "1")
        #expect(marked["\u{301}b"] == "\u{301}2")
        // Empty pairs are skipped; a pair's first `=` ends its key.
        let sparse = QueryParameters("&&a=1&&b&=x&c==d&")
        #expect(sparse.all == ["a": "1", "b": "", "": "x", "c": "=d"])
    }

    @Test func queryDecodingKeepsWhatIsNotAnEscape() {
        // Multi-byte UTF-8, upper- and lower-case hex.
        #expect(QueryParameters.decode("%C3%A9t%c3%a9+%E2%9C%93") == "été ✓")
        // A malformed escape or bytes that are not UTF-8 leave the text as it is, with its +s as spaces.
        #expect(QueryParameters.decode("100%+sure") == "100% sure")
        #expect(QueryParameters.decode("a%2") == "a%2")
        #expect(QueryParameters.decode("a%zz+b") == "a%zz b")
        #expect(QueryParameters.decode("%FF+x") == "%FF x")
        #expect(QueryParameters.decode("plain") == "plain")
        #expect(QueryParameters.decode("") == "")
    }

    @Test func queryValuesFollowOneRulePerType() throws {
        let query = QueryParameters("a=TRUE&b=false&e=&n=-12&mask=spec.a,+spec.b,&bad=yes&x=1.5")
        #expect(try query.bool("a") == true)
        #expect(try query.bool("b") == false)
        #expect(try query.bool("e") == nil)
        #expect(try query.bool("missing") == nil)
        #expect(try query.int("n") == -12)
        #expect(try query.int("e") == nil)
        #expect(query.list("mask") == ["spec.a", "spec.b"])
        #expect(query.list("missing") == nil)
        #expect(throws: KilnError.self) { try query.bool("bad") }
        #expect(throws: KilnError.self) { try query.int("x") }
    }

    @Test func typedAccessorsAcceptJSONAndQueryForms() throws {
        let parameters = APIParameters(values: [
            "a": .bool(true), "b": .string("FALSE"), "n": .integer(12), "s": .string("34"), "d": .number("5.0"),
            "text": .string("x"), "null": .null,
        ])
        #expect(try parameters.bool("a") == true)
        #expect(try parameters.bool("b") == false)
        #expect(try parameters.int64("n") == 12)
        #expect(try parameters.int64("s") == 34)
        #expect(try parameters.int64("d") == 5)
        #expect(try parameters.string("text") == "x")
        #expect(try parameters.string("null") == nil)
        #expect(try parameters.string("missing") == nil)
    }

    @Test func wrongTypesAreInvalidParameterValue() {
        let parameters = APIParameters(values: [
            "n": .integer(1), "b": .string("yes"), "s": .string("1.5"), "e": .string(""), "f": .number("1.5"),
        ])
        #expect(throws: KilnError.self) { try parameters.string("n") }
        #expect(throws: KilnError.self) { try parameters.bool("b") }
        #expect(throws: KilnError.self) { try parameters.int64("s") }
        #expect(throws: KilnError.self) { try parameters.int64("f") }
        #expect(throws: KilnError.missingField("e")) { try parameters.requiredString("e") }
        #expect(throws: KilnError.missingField("absent")) { try parameters.requiredString("absent") }
    }

    @Test func bodiesMustBeJSONObjects() throws {
        #expect(try RequestBodyReader.jsonObject(ByteBuffer()) == .object([]))
        #expect(try RequestBodyReader.jsonObject(ByteBuffer(string: #"{"a": 1}"#))["a"] == .number("1"))
        for bad in ["[1]", "\"text\"", "{", "nul"] {
            #expect(throws: KilnError(.malformedRequest, "Invalid JSON given in the body of the request - expected a JSON object.")) {
                try RequestBodyReader.jsonObject(ByteBuffer(string: bad))
            }
        }
    }

    /// A body in one buffer comes back as that buffer, not a copy; one in chunks is joined; one over the limit
    /// is drained and gives nil.
    @Test func bodiesAreCollectedWholeAndWithinTheirLimit() async throws {
        let head = HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/", headerFields: [.contentLength: "11"])
        let whole = ByteBuffer(string: "hello world")
        let one = try #require(try await RequestBodyReader.collect(Request(head: head, body: .init(buffer: whole)), limit: 11))
        #expect(one == whole)
        let sameStorage = one.withVeryUnsafeBytes { collected in whole.withVeryUnsafeBytes { $0.baseAddress == collected.baseAddress } }
        #expect(sameStorage)
        let chunks = [ByteBuffer(string: "hello"), ByteBuffer(string: " "), ByteBuffer(string: "world")]
        let chunked = Request(head: head, body: .init(asyncSequence: Self.stream(chunks)))
        #expect(try await RequestBodyReader.collect(chunked, limit: 11) == whole)
        let tooLarge = Request(head: head, body: .init(asyncSequence: Self.stream(chunks)))
        #expect(try await RequestBodyReader.collect(tooLarge, limit: 10) == nil)
        let empty = Request(head: head, body: .init(buffer: ByteBuffer()))
        #expect(try await RequestBodyReader.collect(empty, limit: 10)?.readableBytes == 0)
    }

    static func stream(_ chunks: [ByteBuffer]) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for chunk in chunks { continuation.yield(chunk) }
            continuation.finish()
        }
    }

    static func parameters(_ body: String, query: String = "", contentAsText: Bool = true) async throws -> APIParameters {
        var bytes = ByteBuffer(string: "xx" + body)
        bytes.moveReaderIndex(forwardBy: 2) // a body that does not start at its buffer's start, as NIO's slices
        let head = HTTPRequest(
            method: .post, scheme: "http", authority: "h", path: "/api/2.0/workspace/import" + query,
            headerFields: [.contentLength: "\(body.utf8.count)"])
        return try await APIParameters.read(Request(head: head, body: .init(buffer: bytes)), contentAsText: contentAsText)
    }

    /// A JSON `content` without escapes is kept as its text's bytes, a slice of the body, and read as the same
    /// string; one with escapes is parsed as any string; the body's wins over the query's, and the last of two
    /// in the body counts.
    @Test func aJSONContentIsKeptAsTheBytesOfItsText() async throws {
        let plain = try await Self.parameters(#"{"path":"/a","content":"QUJD","format":"SOURCE"}"#, query: "?content=Zm9v")
        #expect(plain.contentText.map { String(buffer: $0) } == "QUJD")
        #expect(plain.values["content"] == nil)
        #expect(try plain.string("content") == "QUJD")
        #expect(try plain.string("format") == "SOURCE")
        let escaped = try await Self.parameters(#"{"content":"a\/b"}"#)
        #expect(escaped.contentText == nil)
        #expect(try escaped.string("content") == "a/b")
        let twice = try await Self.parameters(#"{"content":"QUJD","content":"a\/b"}"#)
        #expect(twice.contentText == nil)
        #expect(try twice.string("content") == "a/b")
        let twiceThePlain = try await Self.parameters(#"{"content":"a\/b","content":"RA=="}"#)
        #expect(twiceThePlain.contentText.map { String(buffer: $0) } == "RA==")
        #expect(twiceThePlain.values["content"] == nil)
        let nested = try await Self.parameters(#"{"x":{"content":"QUJD"},"content":7}"#)
        #expect(nested.contentText == nil)
        #expect(nested.values["x"] == .object([.init("content", .string("QUJD"))]))
        #expect(throws: KilnError.invalidParameter("Parameter 'content' must be a string.")) { try nested.string("content") }
        // Only an import reads it so; elsewhere it is a string as any other.
        let elsewhere = try await Self.parameters(#"{"content":"QUJD"}"#, contentAsText: false)
        #expect(elsewhere.contentText == nil)
        #expect(elsewhere.values["content"] == .string("QUJD"))
        // The last of many counts, however many there are.
        let many = (0..<10_000).map { #""a\#($0)":1,"content":\#($0 % 2 == 0 ? "\"QQ==\"" : "\"a\\/b\"")"# }.joined(separator: ",")
        let last = try await Self.parameters("{" + many + "}")
        #expect(last.contentText == nil)
        #expect(try last.string("content") == "a/b")
        #expect(last.values.count == 10_001)
    }

    /// Content that is not UTF-8 is a malformed body, as any string of the body that is not: checked when it is
    /// read, and when an import's base64 fails on it.
    @Test func aJSONContentThatIsNotUTF8IsAMalformedBody() async throws {
        var body = ByteBuffer(string: #"{"path":"/a","language":"PYTHON","content":"QU"#)
        body.writeBytes([0xFF, 0xFE])
        body.writeString(#""}"#)
        let head = HTTPRequest(
            method: .post, scheme: "http", authority: "h", path: "/api/2.0/workspace/import",
            headerFields: [.contentLength: "\(body.readableBytes)"])
        let parameters = try await APIParameters.read(Request(head: head, body: .init(buffer: body)), contentAsText: true)
        #expect(throws: RequestBodyReader.malformed) { try parameters.string("content") }
        await #expect(throws: RequestBodyReader.malformed) {
            try await APIParameters.read(Request(head: head, body: .init(buffer: body)))
        }
        #expect(throws: RequestBodyReader.malformed) { try WorkspaceController.importRequest(from: parameters) }
        let notBase64 = try await Self.parameters(#"{"path":"/a","language":"PYTHON","content":"Q"}"#)
        #expect(throws: KilnError.invalidParameter("The content is not valid base64.")) {
            try WorkspaceController.importRequest(from: notBase64)
        }
        let decoded = try await Self.parameters(#"{"path":"/a","language":"PYTHON","content":"QUJD"}"#)
        #expect(try WorkspaceController.importRequest(from: decoded).content == Array("ABC".utf8))
    }
}
