import KilnCore
import Synchronization

/// A wall clock that follows the system clock, plus an offset a test moves forward (expiries, purge times).
final class TestClock: WallClock {
    private let offset = Mutex<Int64>(0)

    func nowMillis() -> Int64 { SystemClock().nowMillis() + offset.withLock { $0 } }

    func advance(by duration: Duration) {
        let millis = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        offset.withLock { $0 += millis }
    }
}
