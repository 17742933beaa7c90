/// A fair mutual-exclusion lock for async code: one holder at a time, waiters served in order.
public actor AsyncLock {
    public init() {}

    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public nonisolated func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await lock()
        do {
            let result = try await body()
            await unlock()
            return result
        } catch {
            await unlock()
            throw error
        }
    }

    private func lock() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func unlock() {
        if waiters.isEmpty {
            locked = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// One `AsyncLock` per key, made on first use: work on the same key runs one at a time, work on
/// different keys runs concurrently. Locks are never freed; keys are resource names, few and long-lived.
public actor KeyedLocks {
    private var locks: [String: AsyncLock] = [:]

    public init() {}

    private func lock(for key: String) -> AsyncLock {
        if let lock = locks[key] { return lock }
        let lock = AsyncLock()
        locks[key] = lock
        return lock
    }

    /// Runs `body` while holding the lock of `key`.
    public nonisolated func withLock<T: Sendable>(_ key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await lock(for: key).withLock(body)
    }
}
