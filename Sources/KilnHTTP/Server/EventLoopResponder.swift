import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Answers requests of one HTTP/1.1 connection itself, writing the answer straight to the pipeline
/// (`EventLoopResponderStateMachine` says which): the hot reads (get-status, a kept export, `/healthz`) on the
/// connection's own event loop, in a task begun there (inside the read when nothing else waits on the loop);
/// the Workspace API's other requests once their body is whole, in a task on Swift's global executor, or on the
/// loop for a short write while the loop answers nothing else (`EventLoopAnswers`). Every other request goes on
/// to Hummingbird's channel as before.
///
/// Why: Hummingbird hands every request from the event loop to the connection's task through
/// `NIOAsyncChannel`, and its answer back; on a 2-core machine that costs about 100 µs of CPU per request,
/// more than a get-status itself (stop 31's note on #18). The same responder answers either way (the router,
/// its middleware and `ErrorMiddleware`), with the `Date` and `Server` headers Hummingbird's `Application`
/// adds, so a request answers the same whichever way it went.
///
/// Each answer is an unstructured task, one at a time per connection. It belongs to the connection:
/// `KilnHTTP1Channel.handle` waits for it (`answered`) before the connection's task ends, so the server,
/// and the database after it, stop only once it is done.
final class EventLoopResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Answers one request (the `Bool` says whether on the event loop); never throws (a failure is an answer
    /// too).
    typealias Respond = @Sendable (Request, any Channel, Bool) async -> Response

    private let respond: Respond
    private var machine = EventLoopResponderStateMachine()
    /// The answer being made, completed once it is written (or could not be).
    private var answering: EventLoopPromise<Void>?
    /// What came from the pipeline during an answer, passed on after it.
    private var heldError: (any Error)?
    private var heldInputClosed = false
    /// Whether `responded` is reading the parts that waited: an answer it starts never begins inside it, so
    /// that answers to pipelined requests do not nest one in another on the loop's stack.
    private var draining = false
    /// The answers being made on this handler's event loop, this handler's among them.
    private let loopAnswers: EventLoopAnswers

    /// Made on the connection's event loop (the pipeline's setup), whose count of answers it shares.
    init(respond: @escaping Respond) {
        self.respond = respond
        self.loopAnswers = EventLoopAnswers.current
    }

    func handlerAdded(context: ChannelHandlerContext) {
        loopAnswers.connectionAdded()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        loopAnswers.connectionRemoved()
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
        } else if heldError == nil {
            heldError = error
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, !machine.inputClosed() {
            heldInputClosed = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Completes once no answer of this handler's is being made (at once when none is).
    func answered(on loop: any EventLoop) -> EventLoopFuture<Void> {
        answering?.futureResult ?? loop.makeSucceededVoidFuture()
    }

    private func perform(_ action: EventLoopResponderStateMachine.ReadAction, context: ChannelHandlerContext) {
        switch action {
        case .forward(let part): context.fireChannelRead(wrapInboundOut(part))
        case .respond(let head, let body, let place):
            let onLoop = place == .eventLoop || (place == .eventLoopWhenIdle && loopAnswers.none)
            start(Request(head: head, body: .init(buffer: body)), onLoop: onLoop, context: context)
        case .none: break
        }
    }

    /// Makes the answer in a task begun on this loop, or on Swift's global executor, writes it, then reads what
    /// waited.
    ///
    /// A task begun on the loop (`Task.immediate`, SE-0472) runs on the loop's thread until it first suspends: a
    /// hot read seldom does (a database connection to wait for, an export made anew). When this connection is the
    /// loop's only HTTP connection, it begins at once, inside this read, and the request is answered in the read
    /// that brought it (export of a 64 KiB notebook at 1 connection: 5,688 → 6,019 req/s). Beside other
    /// connections, or for a request that waited behind another's answer (`draining`), it begins once the loop
    /// has read what came in this turn: a loop answering request after request as each is read made 12 % more CPU per
    /// get-status at 16 connections (45 against 40 µs), the reads' code and the answers' no longer each run back
    /// to back. A task that suspends (a database write waiting for another's lock, an export made anew on the
    /// global executor) goes on where Swift resumes it, off the loop, and its answer goes to the loop as any
    /// answer made off it does (`answer`).
    private func start(_ request: Request, onLoop: Bool, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let done = loop.makePromise(of: Void.self)
        answering = done
        loopAnswers.began()
        let channel = context.channel
        let respond = self.respond
        let handler = NIOLoopBound(self, eventLoop: loop)
        let target = NIOLoopBound(context, eventLoop: loop)
        if onLoop {
            // The same task either way; written twice so that the answer begun at once allocates no closure.
            if loopAnswers.alone, !draining {
                Task.immediate {
                    await EventLoopResponder.answer(await respond(request, channel, true), to: target, then: handler, done: done)
                }
            } else {
                loop.execute {
                    Task.immediate {
                        await EventLoopResponder.answer(await respond(request, channel, true), to: target, then: handler, done: done)
                    }
                }
            }
        } else {
            Task {
                await EventLoopResponder.answer(await respond(request, channel, false), to: target, then: handler, done: done)
            }
        }
    }

    /// Writes `response`, has `handler` read what waited, and completes `done`: part by part when the task is on
    /// the loop (at once) or the answer is large or of unknown length, else in one hop to the loop.
    private static func answer(
        _ response: Response, to target: NIOLoopBound<ChannelHandlerContext>, then handler: NIOLoopBound<EventLoopResponder>,
        done: EventLoopPromise<Void>
    ) async {
        let loop = target.eventLoop
        guard !loop.inEventLoop, let length = response.body.contentLength, length <= EventLoopResponder.collectedAnswerLimit else {
            await EventLoopResponder.stream(response, to: target, then: handler)
            done.succeed()
            return
        }
        // A small answer goes to the loop in one hop, with nothing to wait for: each part written
        // through the loop would cost a wake-up of the loop and one of this task.
        let collected = CollectedBody()
        let parts: [ByteBuffer]?
        do {
            try await response.body.write(CollectedBodyWriter(collected: collected))
            parts = collected.parts.withLock { $0 }
        } catch {
            parts = nil
        }
        loop.execute {
            let context = target.value
            let finish: @Sendable () -> Void = {
                handler.value.responded(context: target.value)
                done.succeed()
            }
            guard let parts else {
                context.close(promise: nil)
                return finish()
            }
            context.write(NIOAny(HTTPResponsePart.head(response.head)), promise: nil)
            for part in parts { context.write(NIOAny(HTTPResponsePart.body(part)), promise: nil) }
            if context.channel.isWritable {
                context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
                return finish()
            }
            // A client that does not read its answers: the next request waits until this answer has
            // left (or failed to), as Hummingbird's channel and `ChannelBodyWriter` wait.
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: written)
            written.futureResult.whenComplete { _ in finish() }
        }
    }

    /// The largest answer, in bytes, that a request answered off the loop writes at once (from memory: a
    /// Workspace API answer is a buffer already); a larger one, or one of unknown length, is written part by part.
    static let collectedAnswerLimit = 4 << 20

    /// Writes `response` part by part through `ChannelBodyWriter` (a failure closes the connection), then has
    /// `handler` read what waited.
    private static func stream(
        _ response: Response, to target: NIOLoopBound<ChannelHandlerContext>, then handler: NIOLoopBound<EventLoopResponder>
    ) async {
        let writer = ChannelBodyWriter(target: target, length: response.body.contentLength)
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

    /// Reads the parts that waited for the answer just written, then passes on what was held.
    private func responded(context: ChannelHandlerContext) {
        answering = nil
        loopAnswers.ended()
        machine.responded()
        guard context.channel.isActive else { return }
        var forwarded = false
        draining = true
        while let part = machine.nextQueued() {
            let action = machine.read(part)
            if case .forward = action { forwarded = true }
            perform(action, context: context)
        }
        draining = false
        if forwarded { context.fireChannelReadComplete() }
        // An error or the end of the input held during the answer ends a request whose body had begun (it
        // can never be whole), so that the connection does not wait for it for ever.
        if let error = heldError, machine.errorCaught() {
            heldError = nil
            context.fireErrorCaught(error)
        }
        if heldInputClosed, machine.inputClosed() {
            heldInputClosed = false
            context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        if machine.takeHeldRead() { context.read() }
    }
}

/// Writes an answer's body to the pipeline from its task: at once when the task runs on the loop (the hot
/// reads), else through the loop (a large answer made on Swift's global executor). A part is flushed unless
/// it is the last of a body of known length (`finish` flushes that with the end), and a write waits for its
/// bytes to leave when the channel is not writable, so a streamed body neither waits nor piles up in memory.
private struct ChannelBodyWriter: ResponseBodyWriter, Sendable {
    let target: NIOLoopBound<ChannelHandlerContext>
    /// Bytes of body still to come, when the body's length is known.
    var remaining: Int?

    init(target: NIOLoopBound<ChannelHandlerContext>, length: Int?) {
        self.target = target
        self.remaining = length
    }

    func onLoop<T: Sendable>(_ body: @escaping @Sendable (ChannelHandlerContext) throws -> T) async throws -> T {
        let loop = target.eventLoop
        if loop.inEventLoop { return try body(target.value) }
        let target = self.target
        return try await loop.submit { try body(target.value) }.get()
    }

    mutating func write(_ buffer: ByteBuffer) async throws {
        remaining = remaining.map { $0 - buffer.readableBytes }
        let last = remaining.map { $0 <= 0 } ?? false
        let written = try await onLoop { context -> EventLoopFuture<Void>? in
            let part = NIOAny(HTTPResponsePart.body(buffer))
            if context.channel.isWritable {
                if last { context.write(part, promise: nil) } else { context.writeAndFlush(part, promise: nil) }
                return nil
            }
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(part, promise: promise)
            return promise.futureResult
        }
        try await written?.get()
    }

    /// Writes and flushes the end, without waiting for its bytes to leave: the next request may be read
    /// meanwhile (a write that fails closes the channel).
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await onLoop { context in context.writeAndFlush(NIOAny(HTTPResponsePart.end(trailingHeaders)), promise: nil) }
    }
}

/// The parts of an answer's body, gathered by `CollectedBodyWriter` in the answering task.
private final class CollectedBody: Sendable {
    let parts = Mutex<[ByteBuffer]>([])
}

/// Gathers a body in memory (`EventLoopResponder` writes it to the loop at once); trailing headers, which
/// no Kiln answer has, are dropped.
private struct CollectedBodyWriter: ResponseBodyWriter {
    let collected: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        collected.parts.withLock { $0.append(buffer) }
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
