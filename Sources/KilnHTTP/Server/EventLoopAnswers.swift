import NIOPosix
import Synchronization

/// How many connections the `EventLoopResponder`s of one event loop serve and how many answers they are making:
/// counted and read on that loop's thread only, so that a short write can tell whether answering it on the loop
/// would hold up another (`EventLoopResponderStateMachine.Place.eventLoopWhenIdle`), and a hot read whether
/// another HTTP connection's reads may come in the same turn of the loop (`EventLoopResponder.start`; the
/// loop's other channels, the Postgres proxy's among them, are not counted).
final class EventLoopAnswers: Sendable {
    /// The count of the calling thread's event loop (made on first use; each loop runs on a thread of its own).
    static var current: EventLoopAnswers {
        if let answers = perThread.currentValue { return answers }
        let answers = EventLoopAnswers()
        perThread.currentValue = answers
        return answers
    }

    private static let perThread = ThreadSpecificVariable<EventLoopAnswers>()

    /// Only the loop's thread changes or reads it; atomic so that the type is `Sendable` without a claim.
    private let count = Atomic<Int>(0)
    private let connections = Atomic<Int>(0)

    /// Whether no answer is being made on the loop.
    var none: Bool { count.load(ordering: .relaxed) == 0 }

    /// Whether one HTTP connection at most is served on the loop.
    var alone: Bool { connections.load(ordering: .relaxed) <= 1 }

    /// A connection's responder was added to its pipeline.
    func connectionAdded() {
        connections.add(1, ordering: .relaxed)
    }

    /// A connection's responder was removed from its pipeline (the connection closed).
    func connectionRemoved() {
        connections.subtract(1, ordering: .relaxed)
    }

    /// An answer began.
    func began() {
        count.add(1, ordering: .relaxed)
    }

    /// An answer ended (it has been written, or could not be).
    func ended() {
        count.subtract(1, ordering: .relaxed)
    }
}
