import Synchronization

/// A value several tasks read and change under a mutex (a class, so escaping closures can share it).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    var value: Value { mutex.withLock { $0 } }

    func update<T: Sendable>(_ change: (inout Value) -> T) -> T { mutex.withLock { change(&$0) } }
}

/// Records who is inside a critical section: how many at most at once, and in which order they entered.
final class OverlapCounter: Sendable {
    private let state = Locked((inside: 0, maximum: 0, order: [Int]()))

    func enter(_ id: Int) {
        state.update { state in
            state.inside += 1
            state.maximum = max(state.maximum, state.inside)
            state.order.append(id)
        }
    }

    func leave() { state.update { $0.inside -= 1 } }

    /// The most bodies that were inside at the same time.
    var maximum: Int { state.value.maximum }
    /// The ids in the order they entered.
    var order: [Int] { state.value.order }
}

/// A one-shot event with a single waiter.
struct Gate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream()
    }

    func open() {
        continuation.yield()
        continuation.finish()
    }

    func wait() async {
        for await _ in stream { break }
    }
}

/// Runs `body` in its own task and returns its result, or nil when it has not finished within `limit`.
/// The task is then left behind: a lock that is never released fails the test instead of hanging it.
func result<T: Sendable>(
    within limit: Duration = .seconds(60), of body: @escaping @Sendable () async throws -> T
) async throws -> T? {
    let outcome = Locked<Result<T, any Error>?>(nil)
    let task = Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        outcome.update { $0 = result }
    }
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if let finished = outcome.value { return try finished.get() }
        try await Task.sleep(for: .milliseconds(1))
    }
    task.cancel()
    return nil
}

struct Boom: Error, Equatable {}
