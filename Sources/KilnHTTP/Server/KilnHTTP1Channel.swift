public import Hummingbird
public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
public import Prometheus

/// HTTP/1.1 as Hummingbird's `HTTP1Channel` serves it (the same pipeline, decoder limits and request loop),
/// with `EventLoopResponder` between the connection state handler and Hummingbird's async channel, and
/// `HTTPTypesServerCodec` in place of NIOHTTPTypesHTTP1's codec (the same parts, for fewer instructions).
public struct KilnHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    /// Answers the requests Hummingbird's channel gets (from `Application`).
    public let responder: HTTPChannelHandler.Responder
    private let respond: EventLoopResponder.Respond

    init(responder: @escaping HTTPChannelHandler.Responder, respond: @escaping EventLoopResponder.Respond) {
        self.responder = responder
        self.respond = respond
    }

    /// The buffers a connection reads into: NIO's adaptive sizes (from 2 KiB, doubling while reads fill them),
    /// up to 256 KiB rather than NIO's 64 KiB, so that once a connection's reads have grown, a request of a
    /// hundred kilobytes (a 64 KiB notebook's import is 87 KB of JSON) comes in one read: in two, its body came
    /// in two parts, which `BodyCollector` copied into one buffer (the 64 KiB part through a reallocation), 5 %
    /// of the import's machine instructions (bench/instructions). One read for each time the socket is readable
    /// (`maxMessagesPerRead`, NIO's 4): NIO keeps that many read buffers for each connection, none of which
    /// ever shrinks, so a connection holds at most one buffer of 256 KiB, as it held four of 64 KiB before.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 256 << 10)

    /// When a connection's answer waits for its bytes to leave: once 256 KiB are written and not yet sent (NIO's
    /// default is 64 KiB), until they are down to 128 KiB. An export of a 64 KiB notebook is 87 KB of JSON: under
    /// NIO's marks, each such answer made the channel unwritable as it was written and writable again as it was
    /// sent, two events through the whole pipeline (8,500 machine instructions, 4 % of the export, mostly
    /// `NIOAsyncChannel`'s writer made ready for a write that never came: bench/instructions). The bodies Kiln
    /// writes are in memory already, so the higher mark holds no more of them back.
    static let writeBufferWaterMarks = ChannelOptions.Types.WriteBufferWaterMark(low: 128 << 10, high: 256 << 10)

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let decoder = HTTP1Channel.Configuration().httpDecoder
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = decoder.maxHeaderFieldSize
            limits.maxHeaderListSize = decoder.maxHeaderListSize
            limits.maxHeaderFieldCount = decoder.maxHeaderFieldCount
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            try channel.syncOptions?.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
            try channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: Self.writeBufferWaterMarks)
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
            try pipeline.addHandler(HTTPTypesServerCodec())
            try pipeline.addHandler(HTTPConnectionStateHandler(logger: logger))
            try pipeline.addHandler(EventLoopResponder(respond: respond))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    /// Serves the connection until it closes, then waits for an answer `EventLoopResponder` may still be
    /// making (a client that went away does not stop it), so that nothing outlives the server. The handler
    /// is found first: by the time the connection has closed, the pipeline has let go of it.
    public func handle(value asyncChannel: Value, logger: Logger) async {
        let channel = asyncChannel.channel
        let responder = try? await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: EventLoopResponder.self), eventLoop: channel.eventLoop)
        }.get()
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
        if let responder {
            try? await channel.eventLoop.flatSubmit { responder.value.answered(on: channel.eventLoop) }.get()
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with `responder` answering on each connection's event loop what it can, and the Workspace API's
    /// other requests once their body is whole (`EventLoopResponder`: in a task off the loop, or on it for a
    /// short write while the loop is idle), as Hummingbird's `Application`
    /// would: with `Date` and `Server: serverName` headers, and a 500 without a body for an error the responder
    /// throws (`ErrorMiddleware` leaves none). `metrics` counts the answers made on the event loop
    /// (`kiln_http_requests_on_event_loop_total`) and the others it makes (`kiln_http_requests_collected_total`).
    public static func kilnHTTP1<Responder: HTTPResponder>(
        _ responder: Responder, serverName: String, metrics: PrometheusCollectorRegistry, logger: Logger
    ) -> HTTPServerBuilder where Responder.Context == KilnRequestContext {
        let answers = metrics.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "kiln", subsystem: "http", metricName: "requests_on_event_loop", unitName: "total",
                helpText:
                    "HTTP requests answered on their connection's event loop, without Hummingbird's hand-off to a task (hot reads, short writes on an idle loop)."
            ))
        let collected = metrics.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "kiln", subsystem: "http", metricName: "requests_collected", unitName: "total",
                helpText:
                    "Workspace API requests answered in a task once their body was collected on the event loop, without Hummingbird's hand-off."
            ))
        let respond: EventLoopResponder.Respond = { request, channel, onEventLoop in
            (onEventLoop ? answers : collected).increment()
            var logger = logger
            logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            var response: Response
            do {
                response = try await responder.respond(to: request, context: KilnRequestContext(source: .init(channel: channel, logger: logger)))
            } catch {
                logger.debug("Unrecognised Error", metadata: ["error.type": "\(error)"])
                response = Response(status: .internalServerError, body: .init())
            }
            response.headers[.date] = HTTPDate.now
            response.headers[.server] = serverName
            return response
        }
        return HTTPServerBuilder { hummingbird in KilnHTTP1Channel(responder: hummingbird, respond: respond) }
    }
}
