import KilnCore
public import Logging
public import ServiceLifecycle

/// Owns every running postgres and its connection pooler: starts them, restarts a postgres that crashes
/// (with backoff, reporting `degraded` while it fails), and stops them all when Kiln shuts down. A pooler
/// starts on first need and stops with its compute (and when the compute restarts with new settings).
public actor ComputeSupervisor: Service {
    /// What a compute is doing now.
    public enum State: Sendable, Equatable {
        case stopped
        case running
        /// It crashed and is being restarted; the message says why.
        case degraded(String)
    }

    private struct Instance {
        var spec: ServerSpec
        var server: PostgresServer?
        var state: State
        var pooler: ConnectionPooler?
    }

    public nonisolated let configuration: ComputeConfiguration
    private let logger: Logger
    private var instances: [String: Instance] = [:]
    private let locks = KeyedLocks()
    /// Set once Kiln shuts down: from then on nothing starts (an operation or a wake still under way
    /// must not leave a postgres behind the final stop).
    private var shuttingDown = false
    private let watches: AsyncStream<PostgresServer>
    private let watchContinuation: AsyncStream<PostgresServer>.Continuation

    public init(configuration: ComputeConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        (watches, watchContinuation) = AsyncStream.makeStream()
    }

    /// Starts the compute `spec` describes and returns once it accepts connections. A compute already
    /// running with the same spec is left alone; one with another spec is restarted with the new one.
    /// Throws (and leaves nothing running) when postgres cannot start.
    public func start(_ spec: ServerSpec) async throws {
        try await locks.withLock(spec.id) { try await self.startLocked(spec) }
    }

    private func startLocked(_ spec: ServerSpec) async throws {
        guard !shuttingDown else { throw ComputeError("Kiln is shutting down; \(spec.id) was not started") }
        let previous = instances[spec.id]
        if let previous, let server = previous.server, !server.process.hasExited, previous.spec == spec { return }
        // The new spec is recorded before the old server stops, so its watcher sees a wanted exit.
        instances[spec.id] = Instance(spec: spec, server: nil, state: .stopped)
        await previous?.pooler?.stop()
        if let server = previous?.server, !server.process.hasExited {
            logger.info("Compute restarting with new settings", metadata: ["compute": "\(spec.id)"])
            await server.stop()
        }
        do {
            let server = try await PostgresServer.start(spec, configuration: configuration)
            instances[spec.id] = Instance(spec: spec, server: server, state: .running)
            watchContinuation.yield(server)
        } catch {
            instances[spec.id] = nil
            throw error
        }
    }

    /// Stops a compute (fast shutdown) and forgets it.
    public func stop(id: String) async {
        try? await locks.withLock(id) { await self.stopLocked(id: id) }
    }

    private func stopLocked(id: String) async {
        guard let instance = instances.removeValue(forKey: id) else { return }
        await instance.pooler?.stop()
        if let server = instance.server {
            await server.stop()
            logger.info("Compute stopped", metadata: ["compute": "\(id)"])
        }
    }

    /// How to reach the connection pooler of the running compute `id`, started if it is not running. A
    /// pooler started now accepts on `listener` too (a running one keeps what it has). Throws
    /// `ComputeError` when the compute does not run or PgBouncer cannot start.
    public func pooler(id: String, listener: PoolerListener?) async throws -> PoolerAccess {
        try await locks.withLock(id) { try await self.poolerLocked(id: id, listener: listener) }
    }

    private func poolerLocked(id: String, listener: PoolerListener?) async throws -> PoolerAccess {
        guard let instance = instances[id], instance.server != nil else { throw ComputeError("Compute \(id) is not running.") }
        if let pooler = instance.pooler, pooler.isRunning { return pooler.access }
        await instance.pooler?.stop()
        let pooler = try await ConnectionPooler.start(for: instance.spec, listener: listener, configuration: configuration)
        instances[id]?.pooler = pooler
        logger.info("Connection pooler started", metadata: ["compute": "\(id)", "accepts": "\(listener == nil ? "relay" : "relay and pooled host")"])
        return pooler.access
    }

    /// The state of a compute; `stopped` when Kiln does not run it.
    public func state(id: String) -> State {
        instances[id]?.state ?? .stopped
    }

    /// The spec of the compute Kiln runs (or is restarting) under this id.
    public func spec(id: String) -> ServerSpec? {
        instances[id]?.spec
    }

    /// The ids of every compute Kiln runs (or is restarting).
    public func ids() -> [String] {
        Array(instances.keys)
    }

    /// Whether the compute is up and accepting connections.
    public func isRunning(id: String) -> Bool {
        guard let server = instances[id]?.server else { return false }
        return !server.process.hasExited
    }

    /// Watches started servers until graceful shutdown, then stops every compute.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for await server in watches.cancelOnGracefulShutdown() {
                group.addTask { await self.watch(server) }
            }
            shuttingDown = true
            await stopAll()
            group.cancelAll()
        }
    }

    /// Stops every compute, all at once.
    public func stopAll() async {
        let ids = ids()
        await withTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { await self.stop(id: id) } }
        }
    }

    /// Waits for `server` to exit; if Kiln still wants it running, restarts it with backoff.
    private func watch(_ server: PostgresServer) async {
        let status = await server.process.waitForExit()
        guard !Task.isCancelled else { return }
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            guard let message = markCrashed(server, status: status) else { return }
            logger.warning("Compute exited; restarting", metadata: ["compute": "\(server.spec.id)", "reason": "\(message)"])
            try? await Task.sleep(for: delay)
            let restarted: Bool = (try? await locks.withLock(server.spec.id) { try await self.restartLocked(server) }) ?? false
            if restarted { return }
            delay = min(delay * 2, .seconds(10))
        }
    }

    /// Marks the instance degraded if `server` is still the one Kiln wants; returns the reason, or nil
    /// when the exit was wanted (a stop or a restart with a new spec).
    private func markCrashed(_ server: PostgresServer, status: Int32) -> String? {
        guard let instance = instances[server.spec.id], instance.spec == server.spec,
            instance.server === server || instance.server == nil
        else { return nil }
        let message = "postgres exited with status \(status): \(PostgresServer.logTail(server.spec))"
        instances[server.spec.id]?.state = .degraded(message)
        instances[server.spec.id]?.server = nil
        return message
    }

    /// One restart attempt; true when it is running again (or no longer wanted).
    private func restartLocked(_ crashed: PostgresServer) async throws -> Bool {
        guard !shuttingDown, let instance = instances[crashed.spec.id], instance.server == nil, instance.spec == crashed.spec else { return true }
        do {
            let server = try await PostgresServer.start(crashed.spec, configuration: configuration)
            // The pooler outlives the crash: it connects to the restarted postgres on the same socket.
            instances[crashed.spec.id] = Instance(spec: crashed.spec, server: server, state: .running, pooler: instance.pooler)
            watchContinuation.yield(server)
            logger.info("Compute restarted", metadata: ["compute": "\(crashed.spec.id)"])
            return true
        } catch {
            instances[crashed.spec.id]?.state = .degraded("\(error)")
            return false
        }
    }
}
