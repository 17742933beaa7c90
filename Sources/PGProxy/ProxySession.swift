import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import PGWire
import Synchronization

/// One client: handshake → authenticate (and wake) through the directory → connect to postgres →
/// copy bytes both ways. Client mistakes end as an `ErrorResponse`; Kiln's own faults are logged and
/// the client gets a generic one.
struct ProxySession {
    static let decoderName = "kiln-pg-decoder"

    let server: ProxyServer
    let client: ClientConnection
    var logger: Logger { server.logger }

    func run() async {
        let channel = client.channel
        let deadline = HandshakeDeadline(client: channel, timeout: server.configuration.handshakeTimeout)
        server.metrics.accepted.increment()
        await withTaskCancellationHandler {
            do {
                try await handshake(deadline: deadline)
            } catch let refusal as ProxyRefusal {
                server.metrics.refused.increment()
                await fail(.fatal(refusal.code, refusal.message))
            } catch let error as WireError {
                server.metrics.refused.increment()
                await fail(.fatal(error.code, error.description))
            } catch let error as IOError where error.errnoCode == EMFILE || error.errnoCode == ENFILE {
                // Out of descriptors (two per proxied client): PostgreSQL's answer when it is full.
                server.metrics.refused.increment()
                logger.warning("The proxy has no file descriptor left for a connection", metadata: ["error": "\(error)"])
                await fail(.fatal("53300", "too many connections: Kiln has reached its open-file limit"))
            } catch {
                server.metrics.refused.increment()
                if channel.isActive {
                    logger.error("A proxied connection failed", metadata: ["error": "\(error)"])
                    await fail(.fatal("08006", "Kiln could not connect to the endpoint; see the Kiln log."))
                }
            }
            deadline.finish()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    private func handshake(deadline: HandshakeDeadline) async throws {
        let channel = client.channel
        var machine = HandshakeStateMachine(
            listenerRoute: client.route, tlsAvailable: client.sslContext != nil,
            requireTLS: server.configuration.requireTLS)
        let serverName = ServerNameBox()
        var messages = client.messages.makeAsyncIterator()
        while let message = try await messages.next() {
            machine.serverName = serverName.value.withLock { $0 }
            switch machine.received(message) {
            case .answerEncryption(let acceptTLS):
                if acceptTLS, let context = client.sslContext {
                    try await startTLS(context, serverName: serverName)
                } else {
                    try await write("N")
                }
            case .cancel(let key):
                await server.cancels.cancel(key, on: channel.eventLoop, logger: logger)
                try? await channel.close()
                return
            case .askForPassword:
                try await write(.authentication(.cleartextPassword))
            case .authenticate(let login, let parameters):
                try await connect(login, parameters: parameters, deadline: deadline)
                return
            case .fail(let fields):
                server.metrics.refused.increment()
                await fail(fields)
                return
            case .close:
                try? await channel.close()
                return
            }
        }
    }

    /// Asks the directory, then splices the client to its endpoint's postgres.
    private func connect(_ login: ProxyLogin, parameters: StartupParameters, deadline: HandshakeDeadline) async throws {
        let started = ContinuousClock.now
        var login = login
        login.listeningSocket = client.pooledHost?.lend()
        let target: ProxyTarget
        do {
            defer { if let socket = login.listeningSocket { close(socket) } }
            target = try await server.directory.open(login)
        }
        if let pooler = target.pooler, let host = client.pooledHost {
            server.poolerAccepts(PoolerHandOver(host: host, endpoint: login.endpoint, idleTimeout: target.idleTimeout, pooler: pooler))
        }
        if target.woke {
            server.metrics.wakes.increment()
            server.metrics.wakeLatency.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
        }
        // Counted from the moment it is let in, so that an idle suspend still waiting for the endpoint's
        // data lets this client through rather than stopping postgres under it.
        let served = target.servedBy ?? login.endpoint
        await server.activity.connected(served)
        do {
            try await splice(login, target: target, parameters: parameters, deadline: deadline)
        } catch {
            await server.activity.disconnected(served, idleTimeout: target.idleTimeout)
            throw error
        }
        await server.activity.disconnected(served, idleTimeout: target.idleTimeout)
    }

    /// Connects to postgres, relays its startup, then copies bytes both ways until either side closes.
    private func splice(_ login: ProxyLogin, target: ProxyTarget, parameters: StartupParameters, deadline: HandshakeDeadline) async throws {
        let channel = client.channel
        let (backendMessages, continuation) = AsyncThrowingStream<BackendMessage, any Error>.makeStream()
        let backend = try await ClientBootstrap(group: channel.eventLoop)
            .channelInitializer { backend in
                backend.eventLoop.makeCompletedFuture {
                    try backend.pipeline.syncOperations.addHandler(ByteToMessageHandler(BackendDecoder()), name: Self.decoderName)
                    try backend.pipeline.syncOperations.addHandler(Inbox(continuation), name: Inbox<BackendMessage>.name)
                }
            }
            .connect(unixDomainSocketPath: target.socketPath).get()
        let proxyKey: CancelKey?
        let ready: BackendMessage
        do {
            try deadline.backendStarts(backend)
            guard
                case .spliced(let key, let readyForQuery) = try await relayStartup(
                    parameters, backend: backend, messages: backendMessages,
                    socketPath: target.socketPath)
            else {
                try? await backend.close()
                try? await channel.close()
                return
            }
            (proxyKey, ready) = (key, readyForQuery)
        } catch {
            try? await backend.close()
            guard deadline.hasPassed else { throw error }
            logger.warning(
                "An endpoint took the proxy's connection but did not start the session within the handshake time",
                metadata: ["endpoint": "\(login.endpoint)", "socket": "\(target.socketPath)"])
            throw deadline.timedOut
        }
        // The time may pass between postgres's ReadyForQuery and here; it has then closed the backend.
        guard deadline.finish() else {
            if let proxyKey { server.cancels.remove(proxyKey) }
            throw deadline.timedOut
        }
        // Counted before the client hears it is ready: from then on it may look at the metrics.
        server.metrics.active.increment()
        do {
            try await write(ready)
        } catch {
            try? await backend.close()
            try? await channel.close()
        }
        try? await channel.closeFuture.get()
        try? await backend.closeFuture.get()
        if let proxyKey { server.cancels.remove(proxyKey) }
        server.metrics.active.decrement()
    }

    private enum StartupOutcome {
        /// Bytes flow both ways; the client cancels with this key, and is yet to get postgres's
        /// `ReadyForQuery`.
        case spliced(CancelKey?, ready: BackendMessage)
        /// Postgres refused the login; the client has its error.
        case refused
    }

    /// Sends the client's startup to postgres and relays postgres's answers until it is ready for
    /// queries, then splices the two connections; its `ReadyForQuery` is left for the caller to send.
    private func relayStartup(
        _ parameters: StartupParameters, backend: any Channel,
        messages: AsyncThrowingStream<BackendMessage, any Error>,
        socketPath: String
    ) async throws -> StartupOutcome {
        var startup = backend.allocator.buffer(capacity: 256)
        parameters.encode(into: &startup)
        try await backend.writeAndFlush(startup)

        var machine = BackendStartupStateMachine()
        var proxyKey: CancelKey?
        var spliced = false
        defer { if !spliced, let proxyKey { server.cancels.remove(proxyKey) } }
        for try await message in messages {
            switch machine.received(message, newKey: { .random() }) {
            case .forward(let message):
                try await write(message, flush: false)
            case .swapKey(let backendKey, _):
                let key = server.cancels.register(socketPath: socketPath, backendKey: backendKey)
                proxyKey = key
                try await write(.backendKeyData(key), flush: false)
            case .refused(let message):
                try await write(message)
                return .refused
            case .fault(let reason):
                throw ProxyFault(reason)
            case .ready(let message):
                // Copy bytes from now on; the caller then tells the client, whose first query may follow at once.
                try await splice(backend)
                spliced = true
                return .spliced(proxyKey, ready: message)
            }
        }
        throw ProxyRefusal("08006", "the endpoint closed the connection during startup")
    }

    /// Stops parsing on both sides and copies bytes between them from now on.
    private func splice(_ backend: any Channel) async throws {
        let channel = client.channel
        let metrics = server.metrics
        try await channel.eventLoop.submit {
            let (toBackend, toClient) = GlueHandler.matchedPair(
                countFirst: { metrics.bytesFromClients.increment(by: $0) },
                countSecond: { metrics.bytesToClients.increment(by: $0) })
            let clientPipeline = channel.pipeline.syncOperations
            let backendPipeline = backend.pipeline.syncOperations
            try clientPipeline.addHandler(toBackend)
            try backendPipeline.addHandler(toClient)
            _ = channel.pipeline.removeHandler(name: Inbox<FrontendMessage>.name)
            _ = channel.pipeline.removeHandler(name: Self.decoderName)
            _ = backend.pipeline.removeHandler(name: Inbox<BackendMessage>.name)
            _ = backend.pipeline.removeHandler(name: Self.decoderName)
        }.get()
    }

    /// Answers `S` and speaks TLS from the next byte on, noting the server name the client asks for.
    /// Both happen in one turn of the event loop: the client's first TLS bytes may follow the `S` at once,
    /// and must not reach the plain-text decoder.
    private func startTLS(_ context: NIOSSLContext, serverName box: ServerNameBox) async throws {
        let channel = client.channel
        try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            var answer = channel.allocator.buffer(capacity: 1)
            answer.writeInteger(UInt8(ascii: "S"))
            let written = channel.writeAndFlush(answer)
            let sni = ByteToMessageHandler(
                SNIHandler { result in
                    if case .hostname(let name) = result { box.set(name) }
                    return channel.eventLoop.makeSucceededVoidFuture()
                })
            do {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context), position: .first)
                try channel.pipeline.syncOperations.addHandler(sni, position: .first)
            } catch {
                return channel.eventLoop.makeFailedFuture(error)
            }
            return written
        }.get()
    }

    private func write(_ byte: Character) async throws {
        var buffer = client.channel.allocator.buffer(capacity: 1)
        buffer.writeInteger(byte.asciiValue!)
        try await client.channel.writeAndFlush(buffer)
    }

    private func write(_ message: BackendMessage, flush: Bool = true) async throws {
        var buffer = client.channel.allocator.buffer(capacity: 64)
        message.encode(into: &buffer)
        if flush {
            try await client.channel.writeAndFlush(buffer)
        } else {
            client.channel.write(buffer, promise: nil)
        }
    }

    /// Sends the error, then lets the client read it and hang up first: closing at once can reset the
    /// connection before the client has read the error.
    private func fail(_ fields: ErrorFields) async {
        let channel = client.channel
        try? await write(.errorResponse(fields))
        let backstop = channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        backstop.cancel()
    }
}

/// Carries the TLS server name out of the SNI handler.
private final class ServerNameBox: Sendable {
    let value = Mutex<String?>(nil)
    func set(_ name: String) { value.withLock { $0 = name } }
}

/// A fault of Kiln's own setup, logged rather than shown.
struct ProxyFault: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
