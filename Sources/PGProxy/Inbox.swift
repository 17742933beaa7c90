import NIOCore

/// Hands the decoded messages of a channel to async code during a handshake. A decoding error ends the
/// stream but leaves the channel open, so the session can still answer with an `ErrorResponse`.
final class Inbox<Message: Sendable>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Message

    static var name: String { "kiln-inbox" }

    let continuation: AsyncThrowingStream<Message, any Error>.Continuation

    init(_ continuation: AsyncThrowingStream<Message, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(Self.unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
