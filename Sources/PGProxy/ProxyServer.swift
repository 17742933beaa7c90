public import CoreMetrics
public import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PGWire
public import ServiceLifecycle
import KilnCore
import Synchronization

/// Kiln's Postgres proxy: listeners (a shared port routed by TLS server name or `options`, and one
/// port per endpoint), a handshake per client, then plain byte copying to the endpoint's postgres.
/// One bad client never stops the others.
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
    private let endpointListeners = Mutex<[ListenAddress: (route: ProxyRoute, channel: any Channel)]>([:])
    private let accepting: AsyncStream<Listener>
    private let acceptingContinuation: AsyncStream<Listener>.Continuation
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
        (accepting, acceptingContinuation) = AsyncStream.makeStream()
    }

    /// Binds the shared port (if any) and serves every listener until graceful shutdown.
    public func run() async throws {
        if let port = configuration.sharedPort {
            do {
                let shared = try await bind(host: configuration.host, port: port, route: nil, sslContext: sslContext)
                sharedListener.withLock { $0 = shared.channel }
                acceptingContinuation.yield(shared)
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
                self.acceptingContinuation.finish()
            }
            for await listener in accepting {
                group.addTask { await self.accept(on: listener) }
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
            }
            var failures: [String] = []
            for (address, route) in wanted.sorted(by: { $0.key < $1.key }) where current[address]?.route != route {
                do {
                    let context =
                        address.host == configuration.host
                        ? sslContext : try configuration.addressTLS.map { try NIOSSLContext(configuration: $0(address.host)) } ?? sslContext
                    let bound = try await bind(host: address.host, port: address.port, route: route, sslContext: context)
                    endpointListeners.withLock { $0[address] = (route, bound.channel) }
                    acceptingContinuation.yield(bound)
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
        var channels = endpointListeners.withLock { listeners in
            defer { listeners.removeAll() }
            return listeners.values.map(\.channel)
        }
        if let shared = sharedListener.withLock({ $0 }) { channels.append(shared) }
        for channel in channels { try? await channel.close() }
    }

    private func bind(host: String, port: Int, route: ProxyRoute?, sslContext: NIOSSLContext?) async throws -> Listener {
        let maximumLength = configuration.maximumMessageLength
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let (messages, continuation) = AsyncThrowingStream<FrontendMessage, any Error>.makeStream()
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrontendDecoder(maximumLength: maximumLength)), name: ProxySession.decoderName)
                    try channel.pipeline.syncOperations.addHandler(Inbox(continuation), name: Inbox<FrontendMessage>.name)
                    return ClientConnection(channel: channel, messages: messages, route: route, sslContext: sslContext)
                }
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
}
