import Synchronization

/// Idle timers a test fires by hand, in place of the real clock (`ActivityTracker`'s `sleep`): a wait
/// registers and returns when the test calls `fire()`, or throws when its task is cancelled.
final class ManualTimers: Sendable {
    private struct Waiter {
        var duration: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let waiters = Mutex<[Int: Waiter]>([:])
    private let nextID = Mutex(0)

    /// The durations of the timers now running.
    var running: [Duration] { waiters.withLock { $0.values.map(\.duration) } }

    func sleep(_ duration: Duration) async throws {
        let id = nextID.withLock { id in
            id += 1
            return id
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.withLock { $0[id] = Waiter(duration: duration, continuation: continuation) }
                // Cancelled before it registered: the handler found nothing to end.
                if Task.isCancelled { waiters.withLock { $0.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            waiters.withLock { $0.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Ends every running timer, as if its time had passed.
    func fire() {
        let fired = waiters.withLock { waiters in
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in fired { waiter.continuation.resume() }
    }

    /// Waits (yielding) until `count` timers run; false if they do not within about ten seconds.
    func waitUntilRunning(_ count: Int) async -> Bool {
        for _ in 0..<10_000 {
            if running.count == count { return true }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return false
    }
}
