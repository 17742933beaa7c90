import HTTPTypes
public import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes

/// Answers the requests of one HTTP/1.1 connection on the connection's own event loop, in a task that
/// prefers that loop as its executor, and writes the answer straight to the pipeline; the requests it does
/// not take (`EventLoopResponderStateMachine` says which) go on to Hummingbird's channel as before.
///
/// Why: Hummingbird hands every request from the event loop to the connection's task through
/// `NIOAsyncChannel` and its answer back, which on this kind of machine costs 100 µs of CPU per request, more
/// than a get-status does (stop 31's note on #18). The same responder answers either way (the router, its
/// middleware and `ErrorMiddleware`), with the same `Date` and `Server` headers Hummingbird's `Application`
/// adds, so a request answers the same whichever way it went.
///
/// The task is unstructured, one per request: it belongs to the connection, which `HTTPConnectionStateHandler`
/// (before this handler) keeps open until the answer's end is written, so a graceful shutdown waits for it.
final class EventLoopResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Answers one request; never throws (a failure is an answer too).
    typealias Respond = @Sendable (Request, any Channel) async -> Response

    private let respond: Respond
    private var machine = EventLoopResponderStateMachine()
    private var heldError: (any Error)?
    private var executor: EventLoopTaskExecutor?

    init(respond: @escaping Respond) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.read(unwrapInboundIn(data)), context: context)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        machine.wrote(unwrapOutboundIn(data))
        context.write(data, promise: promise)
    }

    func read(context: ChannelHandlerContext) {
        if machine.shouldRead() { context.read() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if machine.errorCaught() {
            context.fireErrorCaught(error)
        } else {
            heldError = error
        }
    }

    private func perform(_ action: EventLoopResponderStateMachine.ReadAction, context: ChannelHandlerContext) {
        switch action {
        case .forward(let part): context.fireChannelRead(wrapInboundOut(part))
        case .respond(let head, let body): start(Request(head: head, body: .init(buffer: body)), context: context)
        case .none: break
        }
    }

    /// Makes the answer in a task on this loop, writes it, then reads what waited.
    private func start(_ request: Request, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let executor = self.executor ?? EventLoopTaskExecutor(loop)
        self.executor = executor
        let channel = context.channel
        let respond = self.respond
        let handler = NIOLoopBound(self, eventLoop: loop)
        let target = NIOLoopBound(context, eventLoop: loop)
        Task(executorPreference: executor) {
            let response = await respond(request, channel)
            let writer = ChannelBodyWriter(target: target)
            do {
                try await writer.onLoop { context in
                    context.write(NIOAny(HTTPResponsePart.head(response.head)), promise: nil)
                }
                try await response.body.write(writer)
            } catch {
                try? await writer.onLoop { context in context.close(promise: nil) }
            }
            try? await writer.onLoop { context in handler.value.responded(context: context) }
        }
    }

    /// Reads the parts that waited for the answer just written, and the read held back.
    private func responded(context: ChannelHandlerContext) {
        machine.responded()
        var forwarded = false
        while let part = machine.nextQueued() {
            let action = machine.read(part)
            if case .forward = action { forwarded = true }
            perform(action, context: context)
        }
        if forwarded { context.fireChannelReadComplete() }
        if case .idle = machine.state, let error = heldError {
            heldError = nil
            context.fireErrorCaught(error)
        }
        if machine.takeHeldRead() { context.read() }
    }
}

/// Writes an answer's body to the pipeline from its task: at once when the task runs on the loop (as it
/// does), else through the loop. A write waits for the bytes to leave only when the channel is not
/// writable, so a large body does not pile up in memory.
private struct ChannelBodyWriter: ResponseBodyWriter, Sendable {
    let target: NIOLoopBound<ChannelHandlerContext>

    func onLoop<T: Sendable>(_ body: @escaping @Sendable (ChannelHandlerContext) throws -> T) async throws -> T {
        let loop = target.eventLoop
        if loop.inEventLoop { return try body(target.value) }
        let target = self.target
        return try await loop.submit { try body(target.value) }.get()
    }

    func write(_ buffer: ByteBuffer) async throws {
        let written = try await onLoop { context -> EventLoopFuture<Void>? in
            let part = NIOAny(HTTPResponsePart.body(buffer))
            guard !context.channel.isWritable else {
                context.write(part, promise: nil)
                return nil
            }
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(part, promise: promise)
            return promise.futureResult
        }
        try await written?.get()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let written = try await onLoop { context -> EventLoopFuture<Void> in
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(NIOAny(HTTPResponsePart.end(trailingHeaders)), promise: promise)
            return promise.futureResult
        }
        try await written.get()
    }
}
