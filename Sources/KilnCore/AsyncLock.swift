import Synchronization

/// A fair mutual-exclusion lock for async code: one holder at a time, waiters served in order (the holder
/// hands the lock to the first waiter).
///
/// Its state is under a `Mutex`, not an actor's: taking a free lock and giving it back are a few
/// instructions on the caller's thread, with no hop to another executor and back (SQLite's writer lock,
/// taken by every write, is one).
public final class AsyncLock: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Runs `body` while holding the lock, after the holder and the waiters before this call; rethrows
    /// what `body` throws. A cancelled task still waits for its turn.
    public func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }

    private func lock() async {
        let taken = state.withLock { state in
            guard !state.locked else { return false }
            state.locked = true
            return true
        }
        if taken { return }
        await withCheckedContinuation { waiter in
            let free = state.withLock { state in
                if !state.locked {
                    state.locked = true
                    return true
                }
                state.waiters.append(waiter)
                return false
            }
            if free { waiter.resume() }
        }
    }

    private func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.locked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
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
