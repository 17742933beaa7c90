import NIOCore
import NIOEmbedded
import PGWire
import Testing
@testable import PGProxy

/// The bridge from a channel's decoded messages to the session's async code. Channel work happens
/// before the first `await`: an `EmbeddedChannel` must stay on the thread that made it.
@Suite struct InboxTests {
    /// Notes that `channelInactive` went on past the inbox.
    final class InactiveRecorder: ChannelInboundHandler {
        typealias InboundIn = FrontendMessage
        var inactive = false
        func channelInactive(context: ChannelHandlerContext) { inactive = true }
    }

    static func drain(_ stream: AsyncThrowingStream<FrontendMessage, any Error>) async -> ([FrontendMessage], (any Error)?) {
        var messages: [FrontendMessage] = []
        do {
            for try await message in stream { messages.append(message) }
            return (messages, nil)
        } catch {
            return (messages, error)
        }
    }

    @Test func messagesArriveInOrderAndTheStreamEndsWithTheChannel() async throws {
        let (stream, continuation) = AsyncThrowingStream<FrontendMessage, any Error>.makeStream()
        let recorder = InactiveRecorder()
        let channel = EmbeddedChannel(handlers: [Inbox(continuation), recorder])
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 5432), promise: nil)
        try channel.writeInbound(FrontendMessage.sslRequest)
        try channel.writeInbound(FrontendMessage.startup(StartupParameters([("user", "u")])))
        #expect(try channel.readInbound(as: FrontendMessage.self) == nil) // consumed, not passed on
        _ = try channel.finish()
        #expect(recorder.inactive)
        let (messages, error) = await Self.drain(stream)
        #expect(messages == [.sslRequest, .startup(StartupParameters([("user", "u")]))])
        #expect(error == nil)
    }

    /// A client's garbage ends the stream with the decoder's error, and the channel stays open for the
    /// `ErrorResponse` that tells the client why.
    @Test func aDecodingErrorEndsTheStreamButNotTheChannel() async throws {
        let (stream, continuation) = AsyncThrowingStream<FrontendMessage, any Error>.makeStream()
        let channel = EmbeddedChannel(handlers: [ByteToMessageHandler(FrontendDecoder()), Inbox(continuation)])
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 5432), promise: nil)
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F, 0, 0, 0, 8, 0, 2, 0, 0]))
        #expect(channel.isActive)
        var reply = ByteBuffer()
        BackendMessage.errorResponse(.fatal("0A000", "unsupported")).encode(into: &reply)
        try channel.writeOutbound(reply)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == reply)
        _ = try channel.finish()
        let (messages, error) = await Self.drain(stream)
        #expect(messages == [.sslRequest])
        #expect((error as? WireError)?.code == "0A000")
    }
}
