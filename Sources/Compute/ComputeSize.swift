/// How compute units become PostgreSQL settings. 1 CU is about 2 GB of memory in Lakebase; the settings
/// scale with the autoscaling maximum, the size a compute may grow to:
///
/// | setting | value |
/// |---|---|
/// | `max_connections` | 104 at 0.5 CU, 209 at 1, 839 at 4, 1,678 at 8, 3,357 at 16, 4,000 from 32 (Lakebase's table; linear between) |
/// | `shared_buffers` | 128 MB per CU (PostgreSQL touches it lazily: an idle compute costs far less) |
/// | `work_mem` | 4 MB per CU, at least 4 MB |
/// | `maintenance_work_mem` | 64 MB per CU, at most 2 GB |
/// | `effective_cache_size` | 1.5 GB per CU |
public struct ComputeSize: Sendable, Equatable {
    public var minCU: Double
    public var maxCU: Double

    public init(minCU: Double, maxCU: Double) {
        self.minCU = minCU
        self.maxCU = maxCU
    }

    static let connectionTable: [(cu: Double, connections: Double)] = [
        (0.5, 104), (1, 209), (4, 839), (8, 1678), (16, 3357), (32, 4000),
    ]

    public var maxConnections: Int {
        let table = Self.connectionTable
        if maxCU <= table[0].cu { return Int(table[0].connections) }
        for (low, high) in zip(table, table.dropFirst()) where maxCU <= high.cu {
            let fraction = (maxCU - low.cu) / (high.cu - low.cu)
            return Int((low.connections + fraction * (high.connections - low.connections)).rounded(.down))
        }
        return 4000
    }

    /// The settings this size stands for, as `postgres -c` values.
    public var settings: [String: String] {
        let megabytes = { (perCU: Double, floor: Double, ceiling: Double) -> String in
            "\(Int(min(ceiling, max(floor, perCU * self.maxCU))))MB"
        }
        return [
            "max_connections": String(maxConnections),
            "shared_buffers": megabytes(128, 64, 65_536),
            "work_mem": megabytes(4, 4, 1_024),
            "maintenance_work_mem": megabytes(64, 64, 2_048),
            "effective_cache_size": megabytes(1_536, 768, 98_304),
        ]
    }
}
