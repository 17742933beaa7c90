import Synchronization

/// Continuations of callers waiting for operations, by operation name.
final class CompletionBoard: Sendable {
    private struct State {
        var nextTicket = 0
        var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
        /// Tickets resolved before their waiter registered.
        var resolvedEarly: Set<Int> = []
    }

    private let state = Mutex(State())

    func ticket() -> Int {
        state.withLock { state in
            state.nextTicket += 1
            return state.nextTicket
        }
    }

    func wait(_ name: String, ticket: Int) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.resolvedEarly.remove(ticket) != nil { return true }
                state.waiters[name, default: [:]][ticket] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Releases one waiter (its timeout passed, or the operation was already done).
    func resolve(_ name: String, ticket: Int) {
        let continuation = state.withLock { state in
            if let continuation = state.waiters[name]?.removeValue(forKey: ticket) { return Optional(continuation) }
            state.resolvedEarly.insert(ticket)
            return nil
        }
        continuation?.resume()
    }

    /// Drops what is left of a finished wait.
    func forget(_ ticket: Int) {
        _ = state.withLock { $0.resolvedEarly.remove(ticket) }
    }

    /// Releases everyone waiting for `name`.
    func complete(_ name: String) {
        let continuations = state.withLock { $0.waiters.removeValue(forKey: name).map { Array($0.values) } ?? [] }
        for continuation in continuations { continuation.resume() }
    }
}
