public import CoreMetrics
public import Logging
#if canImport(Glibc)
    import Glibc
#endif
import NIOCore
import NIOPosix
import NIOSSL
import PGWire
public import ServiceLifecycle
import KilnCore
import Synchronization

/// Kiln's Postgres proxy: listeners (a shared port routed by TLS server name or `options`, and one
/// port per endpoint), a handshake per client, then plain byte copying to the endpoint's postgres (or its
/// pooler). An endpoint's pooled host is the pooler's own to accept on while the compute runs
/// (`PooledHostSocket`). One bad client never stops the others.
public final class ProxyServer: Service {
    let configuration: ProxyConfiguration
    let directory: any ProxyDirectory
    let logger: Logger
    let sslContext: NIOSSLContext?
    let cancels = CancelRegistry()
    let activity: ActivityTracker
    let metrics: ProxyMetrics

    private typealias Listener = NIOAsyncChannel<ClientConnection, Never>
    /// Where an endpoint's listener binds: its own port on the proxy's address, or its own address at the
    /// shared port.
    private struct ListenAddress: Hashable, Comparable {
        var host: String
        var port: Int

        static func < (a: Self, b: Self) -> Bool { (a.host, a.port) < (b.host, b.port) }
    }

    /// Every endpoint's listeners, with where each one's connections go.
    private typealias ListenerEntry = (route: ProxyRoute, channel: any Channel, pooledHost: PooledHostSocket?)
    private let endpointListeners = Mutex<[ListenAddress: ListenerEntry]>([:])
    /// What the server's task group runs besides sessions: listeners to accept on, and pooled hosts
    /// whose pooler accepts for now.
    private enum Work: Sendable {
        /// Accept on a listener: an endpoint's at its address, or the shared port's (no address).
        case accept(Listener, ListenAddress?)
        case watch(PoolerHandOver)
    }
    private let work: AsyncStream<Work>
    private let workContinuation: AsyncStream<Work>.Continuation
    private let listenerLock = AsyncLock()
    /// Set, under `listenerLock`, once Kiln stops: no listener is made after that.
    private let listenersClosed = Mutex(false)
    private let sharedListener = Mutex<(any Channel)?>(nil)

    /// `metrics` makes the connection, byte and wake figures (swift-metrics' global factory by default).
    public init(
        configuration: ProxyConfiguration, directory: any ProxyDirectory,
        metrics: any MetricsFactory = MetricsSystem.factory, logger: Logger
    ) throws {
        self.configuration = configuration
        self.metrics = ProxyMetrics(factory: metrics)
        self.directory = directory
        self.logger = logger
        self.sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        self.activity = ActivityTracker(directory: directory)
        (work, workContinuation) = AsyncStream.makeStream()
    }

    /// Binds the shared port (if any) and serves every listener until graceful shutdown.
    public func run() async throws {
        if let port = configuration.sharedPort {
            do {
                let (shared, _) = try await bind(host: configuration.host, port: port, route: nil, sslContext: sslContext)
                sharedListener.withLock { $0 = shared.channel }
                startAccepting(shared, at: nil)
                logger.info("Postgres proxy listening", metadata: ["address": "\(configuration.host):\(port)"])
            } catch {
                // Endpoints stay reachable on their own ports.
                logger.error(
                    "The Postgres proxy cannot listen on its shared port",
                    metadata: [
                        "address": "\(configuration.host):\(port)", "error": "\(error)",
                    ])
            }
        }
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await gracefulShutdown()
                self.workContinuation.finish()
            }
            for await job in work {
                switch job {
                case .accept(let listener, let address): group.addTask { await self.accept(on: listener, at: address) }
                case .watch(let handOver): group.addTask { await self.watch(handOver) }
                }
            }
            await self.closeListeners()
            await activity.stopAll()
            group.cancelAll() // sessions close their connections when cancelled
        }
    }

    /// Makes the per-endpoint listeners exactly `listeners`: each endpoint's own port on the proxy's address,
    /// and its own address (if any) at the shared port with a certificate for that address. Opens the new
    /// ones (returning once they are bound), closes the ones no longer wanted.
    public func setEndpointListeners(_ listeners: [EndpointListener]) async throws {
        try await listenerLock.withLock {
            guard !listenersClosed.withLock({ $0 }) else { return }
            let wanted = Dictionary(
                listeners.flatMap { listener in
                    let direct = ProxyRoute(endpoint: listener.endpoint)
                    var addresses = [(ListenAddress(host: configuration.host, port: listener.port), direct)]
                    if let sharedPort = configuration.sharedPort {
                        if let address = listener.address { addresses.append((ListenAddress(host: address, port: sharedPort), direct)) }
                        if let address = listener.pooledAddress {
                            addresses.append((ListenAddress(host: address, port: sharedPort), ProxyRoute(endpoint: listener.endpoint, pooled: true)))
                        }
                        if let address = listener.readOnlyAddress {
                            addresses.append((ListenAddress(host: address, port: sharedPort), ProxyRoute(endpoint: listener.endpoint, readOnly: true)))
                        }
                    }
                    return addresses
                }
            ) { first, _ in first }
            let current = endpointListeners.withLock { $0 }
            for (address, entry) in current where wanted[address] != entry.route {
                endpointListeners.withLock { _ = $0.removeValue(forKey: address) }
                try? await entry.channel.close()
                entry.pooledHost?.close()
            }
            var failures: [String] = []
            for (address, route) in wanted.sorted(by: { $0.key < $1.key }) where current[address]?.route != route {
                do {
                    let (bound, pooledHost) = try await bind(host: address.host, port: address.port, route: route, sslContext: try tlsContext(for: address))
                    endpointListeners.withLock { $0[address] = (route, bound.channel, pooledHost) }
                    startAccepting(bound, at: address)
                } catch {
                    failures.append("\(address.host):\(address.port) (\(error))")
                }
            }
            // A compute may have been started without clients (a new endpoint, a restart of Kiln): it
            // suspends after its idle timeout unless somebody connects.
            for listener in listeners { await activity.quiet(listener.endpoint, idleTimeout: listener.idleTimeout) }
            if !failures.isEmpty { throw ProxyRefusal("58000", "cannot listen on \(failures.joined(separator: ", "))") }
        }
    }

    private func closeListeners() async {
        let entries =
            (try? await listenerLock.withLock { () -> [ListenerEntry] in
                listenersClosed.withLock { $0 = true }
                return endpointListeners.withLock { listeners in
                    defer { listeners.removeAll() }
                    return Array(listeners.values)
                }
            }) ?? []
        var channels = entries.map(\.channel)
        if let shared = sharedListener.withLock({ $0 }) { channels.append(shared) }
        for channel in channels { try? await channel.close() }
        for entry in entries { entry.pooledHost?.close() }
    }

    /// The channel and the pooled host's socket (if any) of the endpoint listener at `host:port` now.
    func endpointListener(host: String, port: Int) -> (channel: any Channel, pooledHost: PooledHostSocket?)? {
        endpointListeners.withLock { $0[ListenAddress(host: host, port: port)].map { ($0.channel, $0.pooledHost) } }
    }

    /// The TLS context of a listener at `address`: the proxy's own on its address, else one with a certificate
    /// naming the endpoint's address (when the configuration makes them).
    private func tlsContext(for address: ListenAddress) throws -> NIOSSLContext? {
        guard address.host != configuration.host, let addressTLS = configuration.addressTLS else { return sslContext }
        return try NIOSSLContext(configuration: addressTLS(address.host))
    }

    /// The listening backlog of every listener.
    private static let backlog: Int32 = 4096

    /// Listens on `host:port`. An endpoint's pooled host listens on a socket Kiln makes itself
    /// (`PooledHostSocket`, returned too), so that its pooler can accept there as well.
    private func bind(host: String, port: Int, route: ProxyRoute?, sslContext: NIOSSLContext?) async throws -> (Listener, PooledHostSocket?) {
        guard route?.pooled == true && host != configuration.host else {
            let initializer = clientInitializer(route: route, sslContext: sslContext, pooledHost: nil)
            let listener = try await Self.bootstrap.serverChannelOption(.backlog, value: Self.backlog)
                .bind(host: host, port: port, childChannelInitializer: initializer)
            try await keepAccepting(listener.channel)
            try await listener.channel.setOption(ChannelOptions.autoRead, value: true).get()
            return (listener, nil)
        }
        let pooledHost = try PooledHostSocket.listen(address: host, port: port, backlog: Self.backlog)
        return (try await serve(pooledHost.socket, on: pooledHost.forNIO, route: route, sslContext: sslContext), pooledHost.socket)
    }

    /// Kiln's listener on a pooled host's socket: NIO serves `descriptor`, a copy of the socket it owns from now
    /// on. It accepts unless the socket is handed over to the pooler (`PooledHostSocket.attach`).
    private func serve(_ pooledHost: PooledHostSocket, on descriptor: Int32, route: ProxyRoute?, sslContext: NIOSSLContext?) async throws -> Listener {
        let initializer = clientInitializer(route: route, sslContext: sslContext, pooledHost: pooledHost)
        let listener = try await Self.bootstrap
            .serverChannelInitializer { channel in
                // NIO has listened with its default backlog; the channel owns the descriptor from now on.
                Glibc.listen(descriptor, Self.backlog)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(descriptor, childChannelInitializer: initializer)
        try await keepAccepting(listener.channel)
        pooledHost.attach(listener.channel)
        return listener
    }

    /// Every listener starts without accepting (NIO's `autoRead` off): `keepAccepting` goes in first.
    private static var bootstrap: ServerBootstrap {
        ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    }

    /// Puts `ListenerErrors` behind NIO's accept handler on a listener that does not accept yet, so that an error
    /// on its channel no longer ends its stream of clients (`NIOAsyncChannelHandler`, after it, finishes the stream
    /// on any). `"AcceptHandler"` is the name `ServerBootstrap` gives that handler. Closes the listener and
    /// throws when the handler cannot go in.
    private func keepAccepting(_ channel: any Channel) async throws {
        let logger = logger
        do {
            try await channel.eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                let acceptHandler = try pipeline.context(name: "AcceptHandler").handler
                try pipeline.addHandler(ListenerErrors(logger: logger), position: .after(acceptHandler))
            }.get()
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Hands `listener` to the run loop to accept on; closes it when the loop has ended (Kiln stops).
    private func startAccepting(_ listener: Listener, at address: ListenAddress?) {
        if case .terminated = workContinuation.yield(.accept(listener, address)) {
            listener.channel.close(promise: nil)
        }
    }

    /// Sets up each accepted client of a listener: the handshake's decoder and inbox.
    private func clientInitializer(
        route: ProxyRoute?, sslContext: NIOSSLContext?, pooledHost: PooledHostSocket?
    ) -> @Sendable (any Channel) -> EventLoopFuture<ClientConnection> {
        let maximumLength = configuration.maximumMessageLength
        return { channel in
            channel.eventLoop.makeCompletedFuture {
                let (messages, continuation) = AsyncThrowingStream<FrontendMessage, any Error>.makeStream()
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(FrontendDecoder(maximumLength: maximumLength)), name: ProxySession.decoderName)
                try channel.pipeline.syncOperations.addHandler(Inbox(continuation), name: Inbox<FrontendMessage>.name)
                return ClientConnection(channel: channel, messages: messages, route: route, sslContext: sslContext, pooledHost: pooledHost)
            }
        }
    }

    /// The pooler of `handOver`'s endpoint accepts on its pooled host now: Kiln stops accepting there
    /// until the pooler exits, and meanwhile counts the host's clients towards the endpoint's activity.
    func poolerAccepts(_ handOver: PoolerHandOver) {
        guard handOver.host.handOver() else { return }
        logger.info("The connection pooler accepts on its pooled host", metadata: ["endpoint": "\(handOver.endpoint)"])
        workContinuation.yield(.watch(handOver))
    }

    /// Each second until the pooler exits, counts the compute as busy while the pooled host has open
    /// connections (from the kernel's table) or its clients ran something lately (connections shorter
    /// than a second), as the proxy's own clients keep it awake. Once the pooler has exited, accepts there
    /// again at once: clients waiting in the backlog must not wait for the last look at the compute.
    private func watch(_ handOver: PoolerHandOver) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Busy from the start: the client whose login handed the socket over is still connected.
                await self.activity.connected(handOver.endpoint)
                var counted = true
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    var busy = handOver.host.hasClients()
                    if !busy && !Task.isCancelled { busy = await handOver.pooler.recentlyActive() }
                    if busy && !counted { await self.activity.connected(handOver.endpoint) }
                    if !busy && counted { await self.activity.disconnected(handOver.endpoint, idleTimeout: handOver.idleTimeout) }
                    counted = busy
                }
                if counted { await self.activity.disconnected(handOver.endpoint, idleTimeout: handOver.idleTimeout) }
            }
            await handOver.pooler.released()
            handOver.host.takeBack()
            if !Task.isCancelled {
                logger.info("The proxy accepts on a pooled host again: its pooler exited", metadata: ["endpoint": "\(handOver.endpoint)"])
            }
            group.cancelAll()
        }
    }

    /// Runs a session for every client of `listener`, each in a child task. A listener that stops accepting
    /// while it is still wanted at `address` (its channel closed under the proxy: `ListenerErrors` keeps
    /// errors from ending it) is logged as an error.
    private func accept(on listener: Listener, at address: ListenAddress?) async {
        await withDiscardingTaskGroup { sessions in
            do {
                try await listener.executeThenClose { clients in
                    for try await client in clients {
                        sessions.addTask { await ProxySession(server: self, client: client).run() }
                    }
                }
            } catch {
                logger.warning("A proxy listener stopped", metadata: ["error": "\(error)"])
            }
            if let address, endpointListeners.withLock({ $0[address]?.channel === listener.channel }), !Task.isCancelled {
                logger.error("A proxy listener stopped accepting while it is wanted", metadata: ["address": "\(address.host):\(address.port)"])
            }
        }
    }
}

/// Ends the errors of a listener's channel there and logs them, so that the listener goes on accepting:
/// NIO's async server channel finishes its stream of clients on the first error that reaches it, and
/// `ServerBootstrap`'s accept handler fires one whenever an accepted client cannot be set up.
final class ListenerErrors: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("A proxy listener could not take a client", metadata: ["error": "\(error)"])
    }
}

/// An accepted client with its handshake messages, and where its listener's connections go (if it
/// serves one endpoint).
struct ClientConnection: Sendable {
    let channel: any Channel
    let messages: AsyncThrowingStream<FrontendMessage, any Error>
    let route: ProxyRoute?
    /// The TLS context of its listener (an endpoint's own address has a certificate of its own).
    let sslContext: NIOSSLContext?
    /// The socket of its listener when that is an endpoint's pooled host.
    let pooledHost: PooledHostSocket?
}

/// A pooled host whose pooler accepts on its socket: until `released` returns (the pooler exited).
struct PoolerHandOver: Sendable {
    let host: PooledHostSocket
    let endpoint: String
    let idleTimeout: Duration?
    let pooler: PoolerOnListener
}
