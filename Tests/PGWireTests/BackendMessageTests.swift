import NIOCore
import NIOEmbedded
import Testing
@testable import PGWire

/// Server messages: the bytes each encodes to (as the Postgres v3 protocol lays them out), decoding of
/// every kind, and the truncated or oversized messages a broken server might send.
@Suite struct BackendMessageTests {
    static func bytes(_ message: BackendMessage) -> [UInt8] {
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    static let r = UInt8(ascii: "R")

    @Test func authenticationRequestsEncodeAsTheProtocolSays() {
        #expect(Self.bytes(.authentication(.ok)) == [Self.r, 0, 0, 0, 8, 0, 0, 0, 0])
        #expect(Self.bytes(.authentication(.cleartextPassword)) == [Self.r, 0, 0, 0, 8, 0, 0, 0, 3])
        #expect(Self.bytes(.authentication(.md5Password(salt: 0x0102_0304))) == [Self.r, 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4])
        #expect(
            Self.bytes(.authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])))
                == [Self.r, 0, 0, 0, 23, 0, 0, 0, 10] + Self.cString("SCRAM-SHA-256") + [0])
        #expect(
            Self.bytes(.authentication(.saslContinue(ByteBuffer(string: "r=ab"))))
                == [Self.r, 0, 0, 0, 12, 0, 0, 0, 11] + Array("r=ab".utf8))
        #expect(
            Self.bytes(.authentication(.saslFinal(ByteBuffer(string: "v=x"))))
                == [Self.r, 0, 0, 0, 11, 0, 0, 0, 12] + Array("v=x".utf8))
        #expect(Self.bytes(.authentication(.other(code: 7))) == [Self.r, 0, 0, 0, 8, 0, 0, 0, 7])
    }

    @Test func sessionMessagesEncodeAsTheProtocolSays() {
        #expect(
            Self.bytes(.parameterStatus(name: "TimeZone", value: "UTC"))
                == [UInt8(ascii: "S"), 0, 0, 0, 17] + Self.cString("TimeZone") + Self.cString("UTC"))
        #expect(
            Self.bytes(.backendKeyData(CancelKey(processID: 258, secret: -1)))
                == [UInt8(ascii: "K"), 0, 0, 0, 12, 0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(Self.bytes(.readyForQuery(transactionStatus: UInt8(ascii: "T"))) == [UInt8(ascii: "Z"), 0, 0, 0, 5, UInt8(ascii: "T")])
        #expect(Self.bytes(.other(type: UInt8(ascii: "D"), body: ByteBuffer(bytes: [9, 8]))) == [UInt8(ascii: "D"), 0, 0, 0, 6, 9, 8])
    }

    @Test func errorsEncodeTheirFieldsInOrderWithATerminator() {
        let fields = Self.cString("SFATAL") + Self.cString("VFATAL") + Self.cString("C28P01") + Self.cString("Mno")
        #expect(Self.bytes(.errorResponse(.fatal("28P01", "no"))) == [UInt8(ascii: "E"), 0, 0, 0, UInt8(4 + fields.count + 1)] + fields + [0])
        let notice = ErrorFields([(UInt8(ascii: "S"), "NOTICE"), (UInt8(ascii: "M"), "hi")])
        #expect(Self.bytes(.noticeResponse(notice)) == [UInt8(ascii: "N"), 0, 0, 0, 17] + Self.cString("SNOTICE") + Self.cString("Mhi") + [0])
    }

    @Test(arguments: [
        BackendMessage.authentication(.ok), .authentication(.cleartextPassword), .authentication(.md5Password(salt: 0xDEAD_BEEF)),
        .authentication(.sasl(mechanisms: ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"])), .authentication(.sasl(mechanisms: [])),
        .authentication(.saslContinue(ByteBuffer(string: "r=nonce,s=salt,i=4096"))), .authentication(.saslFinal(ByteBuffer(string: "v=sig"))),
        .authentication(.other(code: 8)), .parameterStatus(name: "application_name", value: ""),
        .backendKeyData(CancelKey(processID: .max, secret: .min)), .readyForQuery(transactionStatus: UInt8(ascii: "E")),
        .errorResponse(ErrorFields([(UInt8(ascii: "C"), "57P01"), (UInt8(ascii: "M"), "terminating connection ü")])),
        .noticeResponse(ErrorFields([])), .other(type: UInt8(ascii: "T"), body: ByteBuffer(bytes: [0, 1, 0, 0])),
    ])
    func everyKindDecodesToWhatWasEncoded(message: BackendMessage) throws {
        var buffer = ByteBuffer()
        message.encode(into: &buffer)
        let (type, body) = try #require(try MessageFraming.next(&buffer, maximumLength: 1 << 24))
        #expect(buffer.readableBytes == 0)
        #expect(try BackendMessage.decode(type: type, body: body) == message)
    }

    @Test(arguments: [
        ("R", [] as [UInt8]), ("R", [0, 0]), ("R", [0, 0, 0, 5, 1, 2]), // no code; half a code; half a salt
        ("S", Self.cString("name")), ("S", Array("name".utf8)), // no value; no terminator at all
        ("K", [0, 0, 0, 1, 0, 0]), ("Z", []), // short key; no status byte
        ("E", [UInt8(ascii: "C")] + Array("28P01".utf8)), ("N", [UInt8(ascii: "M")]), // a field without its terminator
    ])
    func truncatedBodiesAreRefused(type: String, body: [UInt8]) {
        #expect(throws: WireError.self) {
            try BackendMessage.decode(type: UInt8(ascii: Unicode.Scalar(type)!), body: ByteBuffer(bytes: body))
        }
    }

    @Test func errorFieldsAreLookedUpByTheirCode() {
        let fields = ErrorFields.fatal("3D000", "database \"x\" does not exist")
        #expect(fields["S"] == "FATAL" && fields["V"] == "FATAL")
        #expect(fields.code == "3D000" && fields.message == "database \"x\" does not exist")
        #expect(fields["D"] == nil)
        #expect(ErrorFields([(UInt8(ascii: "C"), "a"), (UInt8(ascii: "M"), "b")]) != ErrorFields([(UInt8(ascii: "M"), "b"), (UInt8(ascii: "C"), "a")]))
    }

    @Test func framingHonoursTheLengthLimits() throws {
        var atLimit = ByteBuffer(bytes: [UInt8(ascii: "D"), 0, 0, 0, 100] + [UInt8](repeating: 7, count: 96))
        let (type, body) = try #require(try MessageFraming.next(&atLimit, maximumLength: 100))
        #expect(type == UInt8(ascii: "D") && body.readableBytes == 96)
        for length: Int32 in [101, 3, 0, -1, .max] {
            var buffer = ByteBuffer(bytes: [UInt8(ascii: "D")])
            buffer.writeInteger(length)
            #expect(throws: WireError.self) { try MessageFraming.next(&buffer, maximumLength: 100) }
        }
        var header = ByteBuffer(bytes: [UInt8(ascii: "D"), 0, 0])
        #expect(try MessageFraming.next(&header, maximumLength: 100) == nil)
        #expect(header.readableBytes == 3) // nothing consumed until the whole message is there
    }

    @Test func theBackendDecoderRefusesOversizedMessages() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(BackendDecoder(maximumLength: 64)))
        defer { _ = try? channel.finish() }
        var ready = ByteBuffer()
        BackendMessage.readyForQuery(transactionStatus: UInt8(ascii: "I")).encode(into: &ready)
        try channel.writeInbound(ready)
        #expect(try channel.readInbound(as: BackendMessage.self) == .readyForQuery(transactionStatus: UInt8(ascii: "I")))
        // Refused from the header alone, before the body arrives.
        #expect(throws: WireError("invalid message length 65")) {
            try channel.writeInbound(ByteBuffer(bytes: [UInt8(ascii: "D"), 0, 0, 0, 65]))
        }
    }
}
