/// A fair mutual-exclusion lock for async code: one holder at a time, waiters served in order (the holder
/// hands the lock to the first waiter). A `FairPool` of one: taking a free lock and giving it back make no
/// hop to another executor (SQLite's writer lock, taken by every write, is one).
public final class AsyncLock: Sendable {
    private let token = FairPool([()])

    public init() {}

    /// Runs `body` while holding the lock, after the holder and the waiters before this call; rethrows
    /// what `body` throws. A cancelled task still waits for its turn.
    public func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await token.take()
        defer { token.giveBack(()) }
        return try await body()
    }
}

/// One `AsyncLock` per key, made on first use and freed when nobody holds or waits for it: work on the same
/// key runs one at a time, work on different keys runs concurrently, and keys that come and go (data
/// directories, operations' projects) leave nothing behind.
public actor KeyedLocks {
    private struct Entry {
        var lock = AsyncLock()
        /// The holder and the waiters.
        var users = 0
    }

    private var locks: [String: Entry] = [:]

    public init() {}

    /// The key's lock, counted as used until `checkIn`.
    private func checkOut(_ key: String) -> AsyncLock {
        locks[key, default: Entry()].users += 1
        return locks[key]!.lock
    }

    private func checkIn(_ key: String) {
        locks[key]?.users -= 1
        if locks[key]?.users == 0 { locks[key] = nil }
    }

    /// How many keys have a lock now (held or waited for).
    public var count: Int { locks.count }

    /// Runs `body` while holding the lock of `key`.
    public nonisolated func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        let lock = await checkOut(key)
        do {
            let result = try await lock.withLock(body)
            await checkIn(key)
            return result
        } catch {
            await checkIn(key)
            throw error
        }
    }
}
