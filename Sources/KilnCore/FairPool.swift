public import Synchronization

/// Resources lent to one holder at a time each, first come, first served: a task that finds none free waits,
/// and one given back goes straight to the task that has waited longest.
///
/// Its state is under a `Mutex`, not an actor's: taking a free resource and giving it back are a few
/// instructions on the caller's thread, with no hop to another executor and back. `AsyncLock` is a pool of
/// one; SQLite's connections are another. `take` and `giveBack` are `@inlinable`, so that each module
/// compiles them for its own resource (unspecialised, they looked up generic metadata on every call).
public final class FairPool<Resource: Sendable>: Sendable {
    @usableFromInline struct State {
        @usableFromInline var free: [Resource]
        /// Nonempty only while nothing is free.
        @usableFromInline var waiters: [CheckedContinuation<Resource, Never>] = []

        init(free: [Resource]) {
            self.free = free
        }
    }

    @usableFromInline let state: Mutex<State>

    public init(_ resources: [Resource]) {
        state = Mutex(State(free: resources))
    }

    /// A free resource, once one is (after the tasks that waited before this call). A cancelled task still
    /// waits for its turn.
    @inlinable public func take() async -> Resource {
        if let resource = state.withLock({ $0.free.popLast() }) { return resource }
        return await withCheckedContinuation { waiter in
            let free = state.withLock { state -> Resource? in
                if let resource = state.free.popLast() { return resource }
                state.waiters.append(waiter)
                return nil
            }
            if let free { waiter.resume(returning: free) }
        }
    }

    /// Gives `resource` back: to the task that has waited longest, or to the free ones.
    @inlinable public func giveBack(_ resource: Resource) {
        let waiter = state.withLock { state -> CheckedContinuation<Resource, Never>? in
            if state.waiters.isEmpty {
                state.free.append(resource)
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume(returning: resource)
    }

    /// Removes the free resources (those lent out come back free later); tasks that wait go on waiting.
    public func removeFree() {
        state.withLock { $0.free.removeAll() }
    }
}
