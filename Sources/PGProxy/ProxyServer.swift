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
    private let endpointListeners = Mutex<[Int: (listener: EndpointListener, channel: any Channel)]>([:])
    /// Listeners on endpoints' own addresses at the shared port, by address.
    private let addressListeners = Mutex<[String: (endpoint: String, channel: any Channel)]>([:])
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
                let shared = try await bind(port: port, endpoint: nil, sslContext: sslContext)
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

    /// Makes the per-endpoint listeners exactly `listeners`: opens the new ones (returning once they
    /// are bound), closes the ones no longer wanted.
    public func setEndpointListeners(_ listeners: [EndpointListener]) async throws {
        try await listenerLock.withLock {
            let wanted = Dictionary(listeners.map { ($0.port, $0) }, uniquingKeysWith: { first, _ in first })
            let current = endpointListeners.withLock { $0 }
            for (port, entry) in current where wanted[port]?.endpoint != entry.listener.endpoint {
                endpointListeners.withLock { _ = $0.removeValue(forKey: port) }
                try? await entry.channel.close()
            }
            var failures: [String] = []
            for (port, listener) in wanted.sorted(by: { $0.key < $1.key }) where current[port]?.listener.endpoint != listener.endpoint {
                do {
                    let bound = try await bind(port: port, endpoint: listener.endpoint, sslContext: sslContext)
                    endpointListeners.withLock { $0[port] = (listener, bound.channel) }
                    acceptingContinuation.yield(bound)
                } catch {
                    failures.append("\(configuration.host):\(port) (\(error))")
                }
            }
            failures += await setAddressListeners(listeners)
            // A compute may have been started without clients (a new endpoint, a restart of Kiln): it
            // suspends after its idle timeout unless somebody connects.
            for listener in wanted.values { await activity.quiet(listener.endpoint, idleTimeout: listener.idleTimeout) }
            if !failures.isEmpty { throw ProxyRefusal("58000", "cannot listen on \(failures.joined(separator: ", "))") }
        }
    }

    private func closeListeners() async {
        var channels = endpointListeners.withLock { listeners in
            defer { listeners.removeAll() }
            return listeners.values.map(\.channel)
        }
        channels += addressListeners.withLock { listeners in
            defer { listeners.removeAll() }
            return listeners.values.map(\.channel)
        }
        if let shared = sharedListener.withLock({ $0 }) { channels.append(shared) }
        for channel in channels { try? await channel.close() }
    }

    /// Makes the listeners on endpoints' own addresses (at the shared port, each with a certificate for its
    /// address) exactly those `listeners` ask for; returns what could not be bound.
    private func setAddressListeners(_ listeners: [EndpointListener]) async -> [String] {
        guard let sharedPort = configuration.sharedPort else { return [] }
        let wanted = Dictionary(listeners.compactMap { listener in listener.address.map { ($0, listener.endpoint) } }) { first, _ in first }
        let current = addressListeners.withLock { $0 }
        for (address, entry) in current where wanted[address] != entry.endpoint {
            addressListeners.withLock { _ = $0.removeValue(forKey: address) }
            try? await entry.channel.close()
        }
        var failures: [String] = []
        for (address, endpoint) in wanted.sorted(by: { $0.key < $1.key }) where current[address]?.endpoint != endpoint {
            do {
                let context = try configuration.addressTLS.map { try NIOSSLContext(configuration: $0(address)) } ?? sslContext
                let bound = try await bind(host: address, port: sharedPort, endpoint: endpoint, sslContext: context)
                addressListeners.withLock { $0[address] = (endpoint, bound.channel) }
                acceptingContinuation.yield(bound)
            } catch {
                failures.append("\(address):\(sharedPort) (\(error))")
            }
        }
        return failures
    }

    private func bind(host: String? = nil, port: Int, endpoint: String?, sslContext: NIOSSLContext?) async throws -> Listener {
        let maximumLength = configuration.maximumMessageLength
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host ?? configuration.host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let (messages, continuation) = AsyncThrowingStream<FrontendMessage, any Error>.makeStream()
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrontendDecoder(maximumLength: maximumLength)), name: ProxySession.decoderName)
                    try channel.pipeline.syncOperations.addHandler(Inbox(continuation), name: Inbox<FrontendMessage>.name)
                    return ClientConnection(channel: channel, messages: messages, endpoint: endpoint, sslContext: sslContext)
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

/// An accepted client with its handshake messages, and the endpoint its listener serves (if any).
struct ClientConnection: Sendable {
    let channel: any Channel
    let messages: AsyncThrowingStream<FrontendMessage, any Error>
    let endpoint: String?
    /// The TLS context of its listener (an endpoint's own address has a certificate of its own).
    let sslContext: NIOSSLContext?
}
