import CoreMetrics
import Synchronization
import Testing
@testable import PGProxy

/// The proxy's figures as `/metrics` shows them: names, labels, and that each handle reaches its own
/// series.
@Suite struct ProxyMetricsTests {
    /// Records every series made and every value given to it.
    final class Recorder: MetricsFactory {
        final class Series: CounterHandler, MeterHandler, RecorderHandler, TimerHandler {
            let name: String
            let values = Mutex<[Double]>([])
            init(name: String) { self.name = name }
            func add(_ value: Double) { values.withLock { $0.append(value) } }
            func increment(by amount: Int64) { add(Double(amount)) }
            func increment(by amount: Double) { add(amount) }
            func decrement(by amount: Double) { add(-amount) }
            func set(_ value: Int64) { add(Double(value)) }
            func set(_ value: Double) { add(value) }
            func record(_ value: Int64) { add(Double(value)) }
            func record(_ value: Double) { add(value) }
            func recordNanoseconds(_ duration: Int64) { add(Double(duration)) }
            func reset() {}
        }

        let series = Mutex<[Series]>([])

        func make(_ label: String, _ dimensions: [(String, String)]) -> Series {
            let name = label + dimensions.map { "{\($0.0)=\($0.1)}" }.joined()
            let made = Series(name: name)
            series.withLock { $0.append(made) }
            return made
        }

        func values(_ name: String) -> [Double] {
            series.withLock { all in all.filter { $0.name == name }.flatMap { $0.values.withLock { $0 } } }
        }

        func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { make(label, dimensions) }
        func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { make(label, dimensions) }
        func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { make(label, dimensions) }
        func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { make(label, dimensions) }
        func destroyCounter(_ handler: any CounterHandler) {}
        func destroyRecorder(_ handler: any RecorderHandler) {}
        func destroyTimer(_ handler: any TimerHandler) {}
    }

    @Test func seriesHavePrometheusNames() {
        let recorder = Recorder()
        _ = ProxyMetrics(factory: recorder)
        #expect(
            recorder.series.withLock { $0.map(\.name) }.sorted() == [
                "kiln_proxy_bytes_total{direction=client_to_server}", "kiln_proxy_bytes_total{direction=server_to_client}",
                "kiln_proxy_connections_active", "kiln_proxy_connections_refused_total", "kiln_proxy_connections_total",
                "kiln_proxy_wake_seconds", "kiln_proxy_wakes_total",
            ])
    }

    @Test func eachHandleFeedsItsOwnSeries() {
        let recorder = Recorder()
        let metrics = ProxyMetrics(factory: recorder)
        metrics.accepted.increment()
        metrics.bytesFromClients.increment(by: 40)
        metrics.bytesToClients.increment(by: 7)
        metrics.active.increment()
        metrics.active.decrement()
        metrics.wakeLatency.recordNanoseconds(1_500)
        #expect(recorder.values("kiln_proxy_connections_total") == [1])
        #expect(recorder.values("kiln_proxy_connections_refused_total").isEmpty)
        #expect(recorder.values("kiln_proxy_bytes_total{direction=client_to_server}") == [40])
        #expect(recorder.values("kiln_proxy_bytes_total{direction=server_to_client}") == [7])
        #expect(recorder.values("kiln_proxy_connections_active") == [1, -1])
        #expect(recorder.values("kiln_proxy_wake_seconds") == [1_500])
    }
}
