public import KilnCore
import Synchronization

/// A clock the test moves by hand.
public final class ManualClock: WallClock {
    private let now: Mutex<Int64>

    public init(_ start: Int64 = 1_700_000_000_000) {
        now = Mutex(start)
    }

    public func nowMillis() -> Int64 { now.withLock { $0 } }

    public func advance(millis: Int64) { now.withLock { $0 += millis } }
}
