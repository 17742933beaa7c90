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
    private let endpointListeners = Mutex<[ListenAddress: (route: ProxyRoute, channel: any Channel, pooledHost: PooledHostSocket?)]>([:])
    /// What the server's task group runs besides sessions: listeners to accept on, and pooled hosts
    /// whose pooler accepts for now.
    private enum Work: Sendable {
        case accept(Listener)
        case watch(PoolerHandOver)
    }
    private let work: AsyncStream<Work>
    private let workContinuation: AsyncStream<Work>.Continuation
    private let listenerLock = AsyncLock()
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
                workContinuation.yield(.accept(shared))
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
                case .accept(let listener): group.addTask { await self.accept(on: listener) }
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
                    let context =
                        address.host == configuration.host
                        ? sslContext : try configuration.addressTLS.map { try NIOSSLContext(configuration: $0(address.host)) } ?? sslContext
                    let (bound, pooledHost) = try await bind(host: address.host, port: address.port, route: route, sslContext: context)
                    endpointListeners.withLock { $0[address] = (route, bound.channel, pooledHost) }
                    workContinuation.yield(.accept(bound))
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
        let entries = endpointListeners.withLock { listeners in
            defer { listeners.removeAll() }
            return listeners.values
        }
        var channels = entries.map(\.channel)
        if let shared = sharedListener.withLock({ $0 }) { channels.append(shared) }
        for channel in channels { try? await channel.close() }
        for entry in entries { entry.pooledHost?.close() }
    }

    /// Listens on `host:port`. An endpoint's pooled host listens on a socket Kiln makes itself
    /// (`PooledHostSocket`, returned too), so that its pooler can accept there as well.
    private func bind(host: String, port: Int, route: ProxyRoute?, sslContext: NIOSSLContext?) async throws -> (Listener, PooledHostSocket?) {
        let maximumLength = configuration.maximumMessageLength
        let backlog: Int32 = 4096
        let pooledHost = route?.pooled == true && host != configuration.host ? try PooledHostSocket.listen(address: host, port: port, backlog: backlog) : nil
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<ClientConnection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let (messages, continuation) = AsyncThrowingStream<FrontendMessage, any Error>.makeStream()
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(FrontendDecoder(maximumLength: maximumLength)), name: ProxySession.decoderName)
                try channel.pipeline.syncOperations.addHandler(Inbox(continuation), name: Inbox<FrontendMessage>.name)
                return ClientConnection(
                    channel: channel, messages: messages, route: route, sslContext: sslContext, pooledHost: pooledHost?.socket)
            }
        }
        guard let pooledHost else { return (try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer), nil) }
        let listener = try await bootstrap.bind(pooledHost.forNIO, childChannelInitializer: initializer)
        Glibc.listen(pooledHost.forNIO, backlog) // NIO listens again with its default backlog
        return (listener, pooledHost.socket)
    }

    /// The pooler of `handOver`'s endpoint accepts on its pooled host now: Kiln stops accepting there
    /// until the pooler exits, and meanwhile counts the host's clients towards the endpoint's activity.
    func poolerAccepts(_ handOver: PoolerHandOver) {
        guard handOver.host.handOver() else { return }
        handOver.listener.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
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
            try? await handOver.listener.setOption(ChannelOptions.autoRead, value: true).get()
            if !Task.isCancelled {
                logger.info("The proxy accepts on a pooled host again: its pooler exited", metadata: ["endpoint": "\(handOver.endpoint)"])
            }
            group.cancelAll()
        }
    }

    /// Runs a session for every client of `listener`, each in a child task.
    private func accept(on listener: Listener) async {
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
        }
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
    /// Kiln's listener on the host's socket.
    let listener: any Channel
    let endpoint: String
    let idleTimeout: Duration?
    let pooler: PoolerOnListener
}
