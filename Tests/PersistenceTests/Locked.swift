import Synchronization

/// A value several tasks change under a mutex.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value { mutex.withLock { $0 } }

    func update<T: Sendable>(_ change: (inout Value) -> T) -> T { mutex.withLock { change(&$0) } }
}
