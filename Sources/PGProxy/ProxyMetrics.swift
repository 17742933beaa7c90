import CoreMetrics

/// The proxy's figures, made by the factory Kiln exports on `/metrics`.
struct ProxyMetrics: Sendable {
    let accepted: Counter
    let refused: Counter
    let active: Meter
    let bytesFromClients: Counter
    let bytesToClients: Counter
    let wakes: Counter
    let wakeLatency: CoreMetrics.Timer

    init(factory: any MetricsFactory) {
        accepted = Counter(label: "kiln_proxy_connections_total", factory: factory)
        refused = Counter(label: "kiln_proxy_connections_refused_total", factory: factory)
        active = Meter(label: "kiln_proxy_connections_active", factory: factory)
        bytesFromClients = Counter(label: "kiln_proxy_bytes_total", dimensions: [("direction", "client_to_server")], factory: factory)
        bytesToClients = Counter(label: "kiln_proxy_bytes_total", dimensions: [("direction", "server_to_client")], factory: factory)
        wakes = Counter(label: "kiln_proxy_wakes_total", factory: factory)
        wakeLatency = CoreMetrics.Timer(label: "kiln_proxy_wake_seconds", factory: factory)
    }
}
