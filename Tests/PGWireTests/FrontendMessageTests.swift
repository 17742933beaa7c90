import NIOCore
import NIOEmbedded
import Testing
@testable import PGWire

/// Client messages: the bytes Kiln writes (startup and cancel requests to postgres), the untyped and
/// typed packets it decodes, and how the decoder hands unread bytes on when the proxy stops parsing.
@Suite struct FrontendMessageTests {
    static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    static func decodeAll(_ bytes: [UInt8], maximumLength: Int = 10_000) throws -> [FrontendMessage] {
        var decoder = FrontendDecoder(maximumLength: maximumLength)
        var buffer = ByteBuffer(bytes: bytes)
        var messages: [FrontendMessage] = []
        while let message = try decoder.next(&buffer) { messages.append(message) }
        return messages
    }

    static let sslRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F] // 1234 << 16 | 5679
    static let gssRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x30] // 1234 << 16 | 5680

    @Test func protocolNumbersAreThePostgresOnes() {
        #expect(WireConstants.protocolVersion3 == 3 << 16)
        #expect(WireConstants.sslRequestCode == 1234 << 16 | 5679)
        #expect(WireConstants.gssEncryptionRequestCode == 1234 << 16 | 5680)
        #expect(WireConstants.cancelRequestCode == 1234 << 16 | 5678)
    }

    @Test func startupMessageEncodesLengthVersionPairsAndTerminator() {
        var buffer = ByteBuffer()
        StartupParameters([("user", "app"), ("database", "db")]).encode(into: &buffer)
        let body = Self.cString("user") + Self.cString("app") + Self.cString("database") + Self.cString("db") + [0]
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, UInt8(8 + body.count), 0, 3, 0, 0] + body)
        var empty = ByteBuffer()
        StartupParameters([]).encode(into: &empty)
        #expect(Array(empty.readableBytesView) == [0, 0, 0, 9, 0, 3, 0, 0, 0])
    }

    @Test func cancelRequestEncodesAsSixteenBytes() {
        var buffer = ByteBuffer()
        CancelKey(processID: 0x0102_0304, secret: -2).encodeCancelRequest(into: &buffer)
        #expect(Array(buffer.readableBytesView) == [0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE])
    }

    @Test func encryptionRequestsMayPrecedeTheStartupMessage() throws {
        var startup = ByteBuffer()
        StartupParameters([("user", "u")]).encode(into: &startup)
        let messages = try Self.decodeAll(Self.gssRequest + Self.sslRequest + Array(startup.readableBytesView))
        #expect(messages == [.gssEncryptionRequest, .sslRequest, .startup(StartupParameters([("user", "u")]))])
    }

    @Test func typedMessagesAfterTheStartupAreFramed() throws {
        var startup = ByteBuffer()
        StartupParameters([("user", "u")]).encode(into: &startup)
        let query = [UInt8(ascii: "Q"), 0, 0, 0, 13] + Self.cString("SELECT 1")
        let emptyPassword: [UInt8] = [UInt8(ascii: "p"), 0, 0, 0, 4]
        let terminate: [UInt8] = [UInt8(ascii: "X"), 0, 0, 0, 4]
        let messages = try Self.decodeAll(Array(startup.readableBytesView) + query + emptyPassword + terminate + Self.sslRequest)
        #expect(
            messages == [
                .startup(StartupParameters([("user", "u")])), .other(type: UInt8(ascii: "Q")),
                .password(ByteBuffer()), .terminate, .sslRequest,
            ]) // after Terminate, packets are untyped again
    }

    @Test(arguments: [
        [0, 0, 0, 12, 0x04, 0xD2, 0x16, 0x2F, 0, 0, 0, 0] as [UInt8], // an SSLRequest of the wrong length
        [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2E], // a CancelRequest without its key
        [0, 0, 0, 8, 0, 3, 0, 1], // protocol 3.1
        [0, 0, 0, 8, 0, 4, 0, 0], // protocol 4.0
    ])
    func unknownRequestsAreUnsupportedProtocols(bytes: [UInt8]) {
        let error = #expect(throws: WireError.self) { try Self.decodeAll(bytes) }
        #expect(error?.code == "0A000")
    }

    @Test func malformedStartupPacketsAreProtocolViolations() {
        // A value with no terminator, and bytes after the final terminator.
        let noValueEnd: [UInt8] = [0, 0, 0, 14, 0, 3, 0, 0] + Self.cString("user") + [UInt8(ascii: "x")]
        let trailing: [UInt8] = [0, 0, 0, 16, 0, 3, 0, 0] + Self.cString("user") + Self.cString("") + [0, 1]
        for bytes in [noValueEnd, trailing] {
            let error = #expect(throws: WireError.self) { try Self.decodeAll(bytes) }
            #expect(error?.code == "08P01")
        }
    }

    @Test func theLengthLimitAppliesBeforeAndAfterTheStartup() throws {
        #expect(throws: WireError.self) { try Self.decodeAll([0, 0, 0, 101, 0, 3, 0, 0], maximumLength: 100) }
        var startup = ByteBuffer()
        StartupParameters([("user", "u")]).encode(into: &startup)
        let tooLong = Array(startup.readableBytesView) + [UInt8(ascii: "p"), 0, 0, 0, 101]
        #expect(throws: WireError("invalid message length 101")) { try Self.decodeAll(tooLong, maximumLength: 100) }
        let tooShort = Array(startup.readableBytesView) + [UInt8(ascii: "p"), 0, 0, 0, 3]
        #expect(throws: WireError("invalid message length 3")) { try Self.decodeAll(tooShort) }
    }

    @Test func parametersAreReadByName() {
        let parameters = StartupParameters([("user", "alice"), ("application_name", "psql"), ("user", "bob")])
        #expect(parameters.user == "alice" && parameters.database == "alice")
        #expect(parameters["application_name"] == "psql" && parameters["options"] == nil)
        #expect(parameters.options.isEmpty)
        #expect(StartupParameters([("user", "a"), ("database", "d")]).database == "d")
        #expect(StartupParameters([]).database == nil)
        #expect(StartupParameters([("options", "-c a=1 nonsense --b=2")]).options.map { "\($0.0)=\($0.1)" } == ["a=1", "b=2"])
    }

    /// Postgres reads `options` with `\` escaping any character, a backslash included; the words Kiln
    /// forwards must mean what the client sent.
    @Test func forwardedOptionsKeepTheirBackslashes() {
        let parameters = StartupParameters([("user", "u"), ("options", #"-c endpoint=ep -c search_path=a\\b\ c"#)])
        #expect(parameters.options.map { "\($0.0)=\($0.1)" } == ["endpoint=ep", #"search_path=a\b c"#])
        let kept = parameters.removingOptions(["endpoint"])
        #expect(kept.options.map { "\($0.0)=\($0.1)" } == [#"search_path=a\b c"#])
    }

    /// When the proxy removes the decoder to copy bytes, whatever the client already sent must reach
    /// the server untouched, not be decoded or dropped.
    @Test func removingTheDecoderPassesUnreadBytesOn() throws {
        let decoder = ByteToMessageHandler(FrontendDecoder())
        let channel = EmbeddedChannel(handler: decoder)
        defer { _ = try? channel.finish() }
        var input = ByteBuffer()
        StartupParameters([("user", "u")]).encode(into: &input)
        let early = [UInt8(ascii: "Q"), 0, 0, 0, 13] + Array("SELE".utf8) // half a query
        input.writeBytes(early)
        try channel.writeInbound(input)
        #expect(try channel.readInbound(as: FrontendMessage.self) == .startup(StartupParameters([("user", "u")])))
        #expect(try channel.readInbound(as: FrontendMessage.self) == nil)
        _ = channel.pipeline.syncOperations.removeHandler(decoder)
        channel.embeddedEventLoop.run()
        let passed = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(Array(passed.readableBytesView) == early)
    }
}
