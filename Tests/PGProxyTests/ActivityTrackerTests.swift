import Synchronization
import Testing
@testable import PGProxy

/// Scale to zero: the tracker tells the directory when an endpoint has had no clients for its timeout.
@Suite struct ActivityTrackerTests {
    final class Idles: ProxyDirectory {
        let calls = Mutex<[String]>([])
        func open(_ login: ProxyLogin) async throws -> ProxyTarget { throw ProxyRefusal("08001", "unused") }
        func idle(endpoint: String, stillIdle: @escaping @Sendable () async -> Bool) async { calls.withLock { $0.append(endpoint) } }
    }

    static func settle() async { try? await Task.sleep(for: .milliseconds(300)) }

    @Test func aComputeStartedWithoutClientsSuspendsOnce() async {
        let idles = Idles()
        let tracker = ActivityTracker(directory: idles)
        await tracker.quiet("ep-a", idleTimeout: .milliseconds(50))
        await tracker.quiet("ep-a", idleTimeout: .milliseconds(50)) // a timer is running: not another
        await Self.settle()
        #expect(idles.calls.withLock { $0 } == ["ep-a"])
    }

    @Test func aClientKeepsItUpAndItsDepartureStartsTheTimer() async {
        let idles = Idles()
        let tracker = ActivityTracker(directory: idles)
        await tracker.quiet("ep-b", idleTimeout: .milliseconds(50))
        await tracker.connected("ep-b")
        await tracker.quiet("ep-b", idleTimeout: .milliseconds(50)) // clients connected: no timer
        await Self.settle()
        #expect(idles.calls.withLock { $0 }.isEmpty)
        await tracker.disconnected("ep-b", idleTimeout: .milliseconds(50))
        await Self.settle()
        #expect(idles.calls.withLock { $0 } == ["ep-b"])
    }

    @Test func noTimeoutMeansNeverSuspended() async {
        let idles = Idles()
        let tracker = ActivityTracker(directory: idles)
        await tracker.quiet("ep-c", idleTimeout: nil)
        await Self.settle()
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
        let directory = SlowSuspends()
        let tracker = ActivityTracker(directory: directory)
        var entered = directory.entered.makeAsyncIterator()
        await tracker.quiet("ep-d", idleTimeout: .milliseconds(10))
        _ = await entered.next() // the timer fired and the suspend is waiting
        await tracker.connected("ep-d")
        directory.release.yield()
        #expect(await directory.answered(1) == [false])
        await tracker.quiet("ep-e", idleTimeout: .milliseconds(10))
        _ = await entered.next()
        directory.release.yield()
        #expect(await directory.answered(2) == [false, true])
    }
}
