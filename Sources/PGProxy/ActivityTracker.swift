/// Counts client connections per endpoint and tells the directory when one has had none for its idle
/// timeout (scale to zero). A new connection or a new timer supersedes a pending one.
actor ActivityTracker {
    private struct Endpoint {
        var connections = 0
        var generation = 0
        var timer: Task<Void, Never>?
    }

    /// Waits out an idle timeout; throws when the wait is cancelled (the real clock, or a test's own timers).
    typealias Sleep = @Sendable (Duration) async throws -> Void

    private let directory: any ProxyDirectory
    private let sleep: Sleep
    private var endpoints: [String: Endpoint] = [:]

    init(directory: any ProxyDirectory, sleep: @escaping Sleep = { try await Task.sleep(for: $0) }) {
        self.directory = directory
        self.sleep = sleep
    }

    func connected(_ endpoint: String) {
        endpoints[endpoint, default: Endpoint()].connections += 1
        cancelTimer(endpoint)
    }

    func disconnected(_ endpoint: String, idleTimeout: Duration?) {
        endpoints[endpoint, default: Endpoint()].connections -= 1
        if endpoints[endpoint]?.connections == 0 { startTimer(endpoint, idleTimeout: idleTimeout) }
    }

    /// Starts the idle timer of an endpoint nobody is connected to, unless one is running (its
    /// listener just opened, or its compute may have been started without clients).
    func quiet(_ endpoint: String, idleTimeout: Duration?) {
        let state = endpoints[endpoint] ?? Endpoint()
        if state.connections == 0 && state.timer == nil { startTimer(endpoint, idleTimeout: idleTimeout) }
    }

    func connections(_ endpoint: String) -> Int { endpoints[endpoint]?.connections ?? 0 }

    /// Cancels every timer (the proxy is shutting down).
    func stopAll() {
        for endpoint in endpoints.keys { cancelTimer(endpoint) }
    }

    private func cancelTimer(_ endpoint: String) {
        endpoints[endpoint]?.generation += 1
        endpoints[endpoint]?.timer?.cancel()
        endpoints[endpoint]?.timer = nil
    }

    private func startTimer(_ endpoint: String, idleTimeout: Duration?) {
        cancelTimer(endpoint)
        guard let idleTimeout else { return }
        var state = endpoints[endpoint] ?? Endpoint()
        let generation = state.generation
        // One short-lived task per idle endpoint, cancelled by the next connection or by stopAll.
        state.timer = Task { [sleep] in
            guard (try? await sleep(idleTimeout)) != nil, !Task.isCancelled else { return }
            await self.fire(endpoint, generation: generation)
        }
        endpoints[endpoint] = state
    }

    private func fire(_ endpoint: String, generation: Int) async {
        guard let state = endpoints[endpoint], state.generation == generation, state.connections == 0 else { return }
        endpoints[endpoint]?.timer = nil
        await directory.idle(endpoint: endpoint) { await self.isIdle(endpoint, since: generation) }
    }

    /// Whether no client has connected to `endpoint` since the timer of `generation` was set.
    private func isIdle(_ endpoint: String, since generation: Int) -> Bool {
        guard let state = endpoints[endpoint] else { return true }
        return state.connections == 0 && state.generation == generation
    }
}
