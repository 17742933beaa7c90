import Synchronization
import Testing
@testable import PGProxy

/// Scale to zero: the tracker tells the directory when an endpoint has had no clients for its timeout.
/// Timers are the test's own (`ManualTimers`): nothing here waits for real time to pass.
@Suite struct ActivityTrackerTests {
    final class Idles: ProxyDirectory {
        let calls = Mutex<[String]>([])
        func open(_ login: ProxyLogin) async throws -> ProxyTarget { throw ProxyRefusal("08001", "unused") }
        func idle(endpoint: String, stillIdle: @escaping @Sendable () async -> Bool) async { calls.withLock { $0.append(endpoint) } }

        /// The calls once there are `count` of them (or after about ten seconds).
        func waitForCalls(_ count: Int) async -> [String] {
            for _ in 0..<10_000 where calls.withLock({ $0.count }) < count { try? await Task.sleep(for: .milliseconds(1)) }
            return calls.withLock { $0 }
        }
    }

    @Test func aComputeStartedWithoutClientsSuspendsOnce() async {
        let (idles, timers) = (Idles(), ManualTimers())
        let tracker = ActivityTracker(directory: idles, sleep: timers.sleep)
        await tracker.quiet("ep-a", idleTimeout: .seconds(300))
        await tracker.quiet("ep-a", idleTimeout: .seconds(300)) // a timer is running: not another
        #expect(await timers.waitUntilRunning(1))
        #expect(timers.running == [.seconds(300)])
        #expect(idles.calls.withLock { $0 }.isEmpty) // not before its time
        timers.fire()
        #expect(await idles.waitForCalls(1) == ["ep-a"])
    }

    @Test func aClientKeepsItUpAndItsDepartureStartsTheTimer() async {
        let (idles, timers) = (Idles(), ManualTimers())
        let tracker = ActivityTracker(directory: idles, sleep: timers.sleep)
        await tracker.quiet("ep-b", idleTimeout: .seconds(60))
        #expect(await timers.waitUntilRunning(1))
        await tracker.connected("ep-b") // cancels the timer
        #expect(await timers.waitUntilRunning(0))
        await tracker.quiet("ep-b", idleTimeout: .seconds(60)) // clients connected: no timer
        await tracker.disconnected("ep-b", idleTimeout: .seconds(90))
        #expect(await timers.waitUntilRunning(1))
        #expect(timers.running == [.seconds(90)])
        #expect(idles.calls.withLock { $0 }.isEmpty)
        timers.fire()
        #expect(await idles.waitForCalls(1) == ["ep-b"])
    }

    @Test func noTimeoutMeansNeverSuspended() async {
        let (idles, timers) = (Idles(), ManualTimers())
        let tracker = ActivityTracker(directory: idles, sleep: timers.sleep)
        await tracker.quiet("ep-c", idleTimeout: nil)
        await tracker.connected("ep-c")
        await tracker.disconnected("ep-c", idleTimeout: nil)
        await tracker.quiet("ep-d", idleTimeout: .seconds(1)) // the one timer that runs
        #expect(await timers.waitUntilRunning(1))
        timers.fire()
        #expect(await idles.waitForCalls(1) == ["ep-d"])
    }

    @Test func stoppingCancelsEveryTimer() async {
        let (idles, timers) = (Idles(), ManualTimers())
        let tracker = ActivityTracker(directory: idles, sleep: timers.sleep)
        await tracker.quiet("ep-e", idleTimeout: .seconds(1))
        await tracker.quiet("ep-f", idleTimeout: .seconds(1))
        #expect(await timers.waitUntilRunning(2))
        await tracker.stopAll()
        #expect(await timers.waitUntilRunning(0))
        #expect(idles.calls.withLock { $0 }.isEmpty)
    }

    /// A suspend that has to wait (a branch copy holds the endpoint's data) asks again before it stops
    /// postgres: a client that came meanwhile keeps the endpoint up.
    final class SlowSuspends: ProxyDirectory {
        let answers = Mutex<[Bool]>([])
        let (entered, enter) = AsyncStream.makeStream(of: Void.self)
        let (released, release) = AsyncStream.makeStream(of: Void.self)

        func open(_ login: ProxyLogin) async throws -> ProxyTarget { throw ProxyRefusal("08001", "unused") }

        func idle(endpoint: String, stillIdle: @escaping @Sendable () async -> Bool) async {
            enter.yield()
            for await _ in released { break } // the suspend waits here, as for a branch copy
            let answer = await stillIdle()
            answers.withLock { $0.append(answer) }
        }

        func answered(_ count: Int) async -> [Bool] {
            for _ in 0..<500 where answers.withLock({ $0.count }) < count { try? await Task.sleep(for: .milliseconds(10)) }
            return answers.withLock { $0 }
        }
    }

    @Test func aClientThatComesWhileTheSuspendWaitsKeepsTheEndpoint() async {
        let (directory, timers) = (SlowSuspends(), ManualTimers())
        let tracker = ActivityTracker(directory: directory, sleep: timers.sleep)
        var entered = directory.entered.makeAsyncIterator()
        await tracker.quiet("ep-d", idleTimeout: .seconds(10))
        #expect(await timers.waitUntilRunning(1))
        timers.fire()
        _ = await entered.next() // the timer fired and the suspend is waiting
        await tracker.connected("ep-d")
        directory.release.yield()
        #expect(await directory.answered(1) == [false])
        await tracker.quiet("ep-e", idleTimeout: .seconds(10))
        #expect(await timers.waitUntilRunning(1))
        timers.fire()
        _ = await entered.next()
        directory.release.yield()
        #expect(await directory.answered(2) == [false, true])
    }
}
