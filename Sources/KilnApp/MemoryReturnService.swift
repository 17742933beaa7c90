import CGlibc
import Foundation
import ServiceLifecycle

/// Gives the memory of large requests back to the system. glibc keeps the memory a freed 10 MB import used
/// in its arenas: after the first large block is freed, its mmap threshold grows to fit such blocks, so the
/// next ones come from the arenas' heaps, and a heap returns memory only from its top. `malloc_trim(0)`
/// returns every free page of every arena (`madvise(MADV_DONTNEED)`), without changing how the next requests
/// allocate; `TrimSchedule` says when, from the process's private memory read once a second.
///
/// Measured with 16 clients importing 10 MB notebooks for 10 s: RSS three seconds later 455 MiB before,
/// 70 MiB with this. A fixed mmap threshold instead (`MALLOC_MMAP_THRESHOLD_=131072`) left 199 MiB and halved
/// the imports' req/s; fewer arenas (`MALLOC_ARENA_MAX=2`, `4`) alone returned nothing. `mallinfo2` cannot
/// say when to trim: it counts the main arena only.
struct MemoryReturnService: Service {
    /// Sets glibc's allocator for a server whose requests free buffers of tens of kilobytes to megabytes: no
    /// trimming on `free` (`M_TRIM_THRESHOLD` 64 MiB; this service's `malloc_trim(0)` gives the memory back
    /// instead), and blocks up to 32 MiB (glibc's maximum) from the arenas, not from `mmap`, as glibc's own
    /// dynamic threshold does after the first large block is freed (setting one threshold ends that rule).
    /// Called once, before the server allocates; an environment that sets glibc's malloc variables
    /// (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`, `GLIBC_TUNABLES`) keeps them.
    ///
    /// Why: by default, freeing a 64 KiB import's buffers left more than 128 KiB free at the top of a thread's
    /// heap, so glibc gave it back (`madvise`) on every request, and the next request faulted the same pages in
    /// again: 21 page faults and one `madvise` per 64 KiB import. Measured in interleaved runs of 64 KiB imports:
    /// CPU per request 732 → 649 µs at 1 connection, 512 → 456 µs at 16 (3,303 → 3,545 req/s). RSS after 10 MB
    /// imports at 16 connections stayed where it was (46–101 MiB either way, by when the last trim fell).
    static func configureAllocator() {
        #if canImport(Glibc)
            let environment = ProcessInfo.processInfo.environment
            guard ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"].allSatisfy({ environment[$0] == nil })
            else { return }
            mallopt(M_MMAP_THRESHOLD, 32 << 20)
            mallopt(M_TRIM_THRESHOLD, 64 << 20)
        #endif
    }

    func run() async throws {
        #if canImport(Glibc)
            var schedule = TrimSchedule()
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .seconds(1))
                guard let before = Self.privateBytes(), schedule.isDue(privateBytes: before) else { continue }
                malloc_trim(0)
                schedule.trimmed(from: before, to: Self.privateBytes() ?? before)
            }
        #endif
    }

    /// This process's resident set, from `/proc/self/statm` (its second field, in pages).
    static func residentBytes() -> Int? {
        statm().map { $0.resident }
    }

    /// The part of the resident set that is this process's own (anonymous) memory: the resident pages less the
    /// shared ones (`/proc/self/statm`'s third field: its binary and libraries, which the page cache holds).
    static func privateBytes() -> Int? {
        statm().map { $0.resident - $0.shared }
    }

    private static func statm() -> (resident: Int, shared: Int)? {
        #if canImport(Glibc)
            guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
            let fields = statm.split(separator: " ")
            guard fields.count > 2, let resident = Int(fields[1]), let shared = Int(fields[2]) else { return nil }
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            return (resident * page, shared * page)
        #else
            return nil
        #endif
    }
}

/// When `MemoryReturnService` trims, given the private memory it reads once a second.
///
/// Never below `floor`. Above it, at once when the memory grew by `growth` since the last reading (large
/// requests came), and then again each second while a trim returns at least `worthwhile`; once a trim returns
/// less, the wait doubles, up to `longestWait` seconds. So memory left after a burst of large imports goes back
/// within a second or two of the burst, and a process that stays large (its page caches, its working set) is
/// not trimmed every second for nothing: each trim walks every arena, holding its lock.
struct TrimSchedule {
    /// Private memory below which nothing is trimmed: 32 MiB (Kiln holds about 5 MiB idle).
    static let floor = 32 << 20
    /// Growth since the last reading that makes a trim due at once: 16 MiB.
    static let growth = 16 << 20
    /// What a trim must return for the next to follow a second later: 1 MiB.
    static let worthwhile = 1 << 20
    /// The longest wait between trims while above the floor, in seconds.
    static let longestWait = 64

    /// Seconds between trims now, and since the last one.
    private(set) var wait = 1
    private var waited = 0
    private var lastReading = 0

    /// Called once a second with the private memory; true when a trim is due now.
    mutating func isDue(privateBytes: Int) -> Bool {
        waited += 1
        if privateBytes > lastReading + Self.growth { wait = 1 }
        lastReading = privateBytes
        guard privateBytes > Self.floor, waited >= wait else { return false }
        waited = 0
        return true
    }

    /// After a trim: the private memory before and after it.
    mutating func trimmed(from before: Int, to after: Int) {
        wait = before - after >= Self.worthwhile ? 1 : min(wait * 2, Self.longestWait)
        lastReading = after
    }
}
