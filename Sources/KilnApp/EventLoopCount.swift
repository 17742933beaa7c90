import Foundation
import NIOCore

/// How many event loops Kiln's HTTP server and Postgres proxy run on (NIO's singleton group): one fewer than
/// the machine's cores, and at least one, unless `NIO_SINGLETON_GROUP_LOOP_COUNT` says otherwise.
///
/// Why: Kiln shares its machine with what it serves: the SDK runs and CI jobs that call it, and the PostgreSQL
/// computes of its Lakebase endpoints. A loop per core keeps every core busy with Kiln under load, and then the
/// scheduler holds a loop off its core for a time slice (milliseconds) while its connections wait. Measured on
/// 2 cores with wrk at 16 connections (`bench/workspace`'s client) in interleaved runs: `/healthz` p99 2.84 →
/// 0.68 ms (53,700 → 49,600 req/s); a get-status answered from memory p99 3.6 → 1.1–1.5 ms (38,900 → 34,500
/// req/s); a 64 KiB import 7,546 → 7,888 req/s; a 64 KiB export 16,651 → 13,927 req/s, p99 3.23 → 2.42 ms.
public enum EventLoopCount {
    /// Sets NIO's suggestion before anything reads it. Call once, first thing in `kiln serve`: NIO stops the
    /// process if it is set twice, or after it was read (the singleton group reads it when first used). A
    /// number in `NIO_SINGLETON_GROUP_LOOP_COUNT` is left to NIO (it ignores anything else there).
    public static func configure() {
        guard ProcessInfo.processInfo.environment["NIO_SINGLETON_GROUP_LOOP_COUNT"].flatMap({ Int($0) }) == nil else { return }
        NIOSingletons.groupLoopCountSuggestion = loops(cores: System.coreCount)
    }

    /// The loops for a machine of `cores` cores.
    static func loops(cores: Int) -> Int {
        max(1, cores - 1)
    }
}
