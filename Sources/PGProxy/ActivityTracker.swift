/// Counts client connections per endpoint and tells the directory when one has had none for its idle
/// timeout (scale to zero). A new connection or a new timer supersedes a pending one.
actor ActivityTracker {
    private struct Endpoint {
        var connections = 0
        var generation = 0
        var timer: Task<Void, Never>?
    }

    private let directory: any ProxyDirectory
    private var endpoints: [String: Endpoint] = [:]

    init(directory: any ProxyDirectory) {
        self.directory = directory
    }

    func connected(_ endpoint: String) {
        endpoints[endpoint, default: Endpoint()].connections += 1
        cancelTimer(endpoint)
    }

    func disconnected(_ endpoint: String, idleTimeout: Duration?) {
        endpoints[endpoint, default: Endpoint()].connections -= 1
        if endpoints[endpoint]?.connections == 0 { startTimer(endpoint, idleTimeout: idleTimeout) }
    }

    /// Starts the idle timer of an endpoint nobody is connected to (it was just started, or opened).
    func quiet(_ endpoint: String, idleTimeout: Duration?) {
        if endpoints[endpoint, default: Endpoint()].connections == 0 { startTimer(endpoint, idleTimeout: idleTimeout) }
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
        let generation = endpoints[endpoint]?.generation ?? 0
        // One short-lived task per idle endpoint, cancelled by the next connection or by stopAll.
        endpoints[endpoint]?.timer = Task {
            guard (try? await Task.sleep(for: idleTimeout)) != nil else { return }
            await self.fire(endpoint, generation: generation)
        }
    }

    private func fire(_ endpoint: String, generation: Int) async {
        guard let state = endpoints[endpoint], state.generation == generation, state.connections == 0 else { return }
        endpoints[endpoint]?.timer = nil
        await directory.idle(endpoint: endpoint)
    }
}
