public import Hummingbird
import NIOCore
public import Prometheus

/// `GET /metrics`: Kiln's figures (the Postgres proxy's connections, bytes and wakes) in the
/// Prometheus text format. Like `/healthz` it needs no credentials: it holds counts, never names.
public struct MetricsController: Sendable {
    let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    public func addRoutes(to router: some RouterMethods<KilnRequestContext>) {
        router.get("metrics", use: metrics)
    }

    @Sendable func metrics(_ request: Request, context: KilnRequestContext) async throws -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(registry.emitToBuffer())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: buffer))
    }
}
