import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

@testable import KilnHTTP

@Suite struct HTTPTypesServerCodecTests {
    /// Targets in origin form (kept as they came), among them ones with a colon after the `/` (where a parser
    /// could think it saw a scheme) and ones `URLComponents` percent-encodes first (a space, a bad escape); and
    /// targets in absolute form and asterisk form (the library's).
    static let targets = [
        "/", "/api/2.0/workspace/get-status?path=%2FUsers%2Fa%40b.c%2Fnb", "//host/path", "/a b", "/%zz?x=%", "/?",
        "/w/ws1/api/2.0/workspace/list?path=/Users", "/%E2%9C%93#fragment", "/a:b", "/http://example.com/x?q=1", "/:80",
        "http://example.com/p?q=1", "http://example.com", "https://example.com?x=1", "*", "HTTP://EXAMPLE.COM/x",
    ]

    static func head(_ target: String, method: HTTPMethod = .GET) -> HTTPRequestHead {
        let headers = HTTPHeaders([
            ("Host", "ws1.localhost:8080"), ("host", "second.localhost"), ("Authorization", "Bearer dapi1"), ("Cookie", "a=1; b=2"),
            ("X-Empty", ""),
        ])
        return HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
    }

    @Test(arguments: targets) func aRequestIsTheOneTheLibraryMakes(target: String) throws {
        let head = Self.head(target)
        #expect(try HTTPTypesServerCodec.request(head) == HTTPRequest(head, secure: false, splitCookie: false))
    }

    /// The cases above could not tell a codec that kept every target: the library changes these.
    @Test func aTargetInAbsoluteFormBecomesItsPath() throws {
        #expect(try HTTPTypesServerCodec.request(Self.head("http://example.com/p?q=1")).path == "/p?q=1")
        #expect(try HTTPTypesServerCodec.request(Self.head("http://example.com")).path == "/")
    }

    @Test func aMethodHTTPTypesCannotHoldIsRefusedAsByTheLibrary() {
        let head = Self.head("/", method: .RAW(value: "BAD METHOD"))
        #expect(throws: HTTP1TypeConversionError.self) { try HTTPTypesServerCodec.request(head) }
        #expect(throws: HTTP1TypeConversionError.self) { try HTTPRequest(head, secure: false, splitCookie: false) }
    }

    /// A request and its answer through the codec in a channel, beside the library's codec: the same parts
    /// come out both ways, trailers included, and a head that cannot be converted is an error in the pipeline.
    @Test func aChannelSeesWhatTheLibrarysCodecGives() throws {
        func run(_ handler: any ChannelHandler) throws -> (inbound: [HTTPRequestPart], outbound: [HTTPServerResponsePart], failed: Bool) {
            let channel = EmbeddedChannel(handler: handler)
            let body = channel.allocator.buffer(string: "{}")
            try channel.writeInbound(HTTPServerRequestPart.head(Self.head("/api/2.0/workspace/import")))
            try channel.writeInbound(HTTPServerRequestPart.body(body))
            try channel.writeInbound(HTTPServerRequestPart.end(HTTPHeaders([("X-Trailer", "1")])))
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok, headerFields: [.contentLength: "2"])))
            try channel.writeOutbound(HTTPResponsePart.body(body))
            try channel.writeOutbound(HTTPResponsePart.end([.contentType: "x"]))
            var inbound: [HTTPRequestPart] = []
            while let part = try channel.readInbound(as: HTTPRequestPart.self) { inbound.append(part) }
            var outbound: [HTTPServerResponsePart] = []
            while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) { outbound.append(part) }
            var failed = false
            do { try channel.writeInbound(HTTPServerRequestPart.head(Self.head("/", method: .RAW(value: "BAD METHOD")))) } catch {
                failed = error is HTTP1TypeConversionError
            }
            _ = try channel.finish()
            return (inbound, outbound, failed)
        }
        let kiln = try run(HTTPTypesServerCodec())
        let library = try run(HTTP1ToHTTPServerCodec(secure: false))
        #expect(kiln.inbound.count == 3)
        #expect(kiln.inbound == library.inbound)
        #expect(kiln.outbound.count == 3)
        #expect(kiln.outbound == library.outbound)
        #expect(kiln.failed && library.failed)
    }
}
