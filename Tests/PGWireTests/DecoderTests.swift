import NIOCore
import NIOTestUtils
import Testing
@testable import PGWire

/// The wire decoders, each run through `ByteToMessageDecoderVerifier` (bytes one at a time, many per
/// buffer), plus the malformed inputs a client might send.
@Suite struct DecoderTests {
    func startupBytes(_ pairs: [(String, String)]) -> ByteBuffer {
        var buffer = ByteBuffer()
        StartupParameters(pairs).encode(into: &buffer)
        return buffer
    }

    func passwordBytes(_ password: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(ascii: "p"))
        buffer.writeInteger(Int32(4 + password.utf8.count + 1))
        buffer.writeNullTerminatedString(password)
        return buffer
    }

    @Test func frontendHandshakeDecodesWhateverTheChunking() throws {
        var input = ByteBuffer()
        input.writeInteger(Int32(8))
        input.writeInteger(WireConstants.sslRequestCode)
        var startup = startupBytes([("user", "app"), ("database", "db"), ("options", "-c endpoint=ep-x")])
        input.writeBuffer(&startup)
        var password = passwordBytes("secret")
        input.writeBuffer(&password)
        input.writeBytes([UInt8(ascii: "X"), 0, 0, 0, 4])
        var body = ByteBuffer()
        body.writeNullTerminatedString("secret")
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [
                (
                    input,
                    [
                        .sslRequest,
                        .startup(StartupParameters([("user", "app"), ("database", "db"), ("options", "-c endpoint=ep-x")])),
                        .password(body), .terminate,
                    ]
                )
            ],
            decoderFactory: { FrontendDecoder() })
    }

    @Test func cancelRequestDecodes() throws {
        var input = ByteBuffer()
        CancelKey(processID: 42, secret: -7).encodeCancelRequest(into: &input)
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, [.cancel(CancelKey(processID: 42, secret: -7))])],
            decoderFactory: { FrontendDecoder() })
    }

    @Test func backendMessagesDecodeWhateverTheChunking() throws {
        let messages: [BackendMessage] = [
            .authentication(.ok), .parameterStatus(name: "server_version", value: "17.0"),
            .backendKeyData(CancelKey(processID: 1, secret: 2)), .noticeResponse(.fatal("01000", "hello")),
            .readyForQuery(transactionStatus: UInt8(ascii: "I")), .errorResponse(.fatal("3D000", "database \"x\" does not exist")),
            .authentication(.sasl(mechanisms: ["SCRAM-SHA-256"])),
        ]
        var input = ByteBuffer()
        for message in messages { message.encode(into: &input) }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: [(input, messages)], decoderFactory: { BackendDecoder() })
    }

    @Test(arguments: [
        [0, 0, 0, 3, 0, 0, 0, 0] as [UInt8], // a length below the minimum
        [0x7f, 0, 0, 0, 0, 3, 0, 0], // a length far above the maximum
        [0, 0, 0, 8, 0, 2, 0, 0], // protocol 2.0
        [0, 0, 0, 9, 0, 3, 0, 0, 0x61], // parameters without a terminator
        [0, 0, 0, 12, 0, 3, 0, 0, 0x61, 0, 0x62, 0], // a name and value, then no final zero
    ])
    func garbageStartupPacketsAreRefused(bytes: [UInt8]) {
        var decoder = FrontendDecoder(maximumLength: 10_000)
        var buffer = ByteBuffer(bytes: bytes)
        #expect(throws: WireError.self) { _ = try decoder.next(&buffer) }
    }

    @Test func truncatedPacketsWaitForMore() throws {
        var decoder = FrontendDecoder()
        var buffer = startupBytes([("user", "app")])
        var truncated = buffer.readSlice(length: buffer.readableBytes - 1)!
        #expect(try decoder.next(&truncated) == nil)
    }

    @Test func oversizedTypedMessagesAreRefused() throws {
        var decoder = FrontendDecoder(maximumLength: 100)
        var buffer = startupBytes([("user", "app")])
        _ = try decoder.next(&buffer)
        var huge = ByteBuffer()
        huge.writeInteger(UInt8(ascii: "p"))
        huge.writeInteger(Int32(1_000_000))
        #expect(throws: WireError.self) { _ = try decoder.next(&huge) }
    }

    @Test func optionsAreParsedAndRoutingWordsRemoved() {
        let parameters = StartupParameters([("user", "u"), ("options", "-c endpoint=ep-a --search_path=x\\ y -cstatement_timeout=5")])
        #expect(parameters.options.map { "\($0.0)=\($0.1)" } == ["endpoint=ep-a", "search_path=x y", "statement_timeout=5"])
        let kept = parameters.removingOptions(["endpoint"])
        #expect(kept["options"] == "-c search_path=x\\ y -c statement_timeout=5")
        #expect(StartupParameters([("user", "u"), ("options", "endpoint=ep-a")]).removingOptions(["endpoint"]).pairs.count == 1)
    }
}
