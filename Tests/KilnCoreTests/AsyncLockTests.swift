import KilnCore
import Testing

@Suite struct AsyncLockTests {
    @Test func onlyOneBodyRunsAtATime() async throws {
        let lock = AsyncLock()
        let counter = OverlapCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 0..<16 {
                group.addTask {
                    try await lock.withLock {
                        counter.enter(id)
                        try await Task.sleep(for: .milliseconds(1))
                        counter.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.maximum == 1)
        #expect(counter.order.sorted() == Array(0..<16))
    }

    @Test func waitersAreServedInTheOrderTheyArrived() async throws {
        let lock = AsyncLock()
        let counter = OverlapCounter()
        let held = Gate()
        let release = Gate()
        let holder = Task {
            try await lock.withLock {
                held.open()
                await release.wait()
            }
        }
        await held.wait()
        var waiters: [Task<Void, any Error>] = []
        for id in 0..<8 {
            let started = Gate()
            waiters.append(
                Task {
                    started.open()
                    try await lock.withLock {
                        counter.enter(id)
                        counter.leave()
                    }
                })
            await started.wait()
            // Let the waiter reach the lock's queue before the next one starts.
            try await Task.sleep(for: .milliseconds(3))
        }
        #expect(counter.order.isEmpty, "nobody may enter while the holder has the lock")
        release.open()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(counter.order == Array(0..<8))
    }

    @Test func theBodysResultIsReturned() async throws {
        let lock = AsyncLock()
        #expect(try await lock.withLock { "done" } == "done")
        #expect(try await lock.withLock { 42 } == 42)
    }

    @Test func aThrowingBodyReleasesTheLockAndRethrows() async throws {
        let lock = AsyncLock()
        await #expect(throws: Boom.self) {
            try await lock.withLock { throw Boom() }
        }
        let next = try await result { try await lock.withLock { "acquired" } }
        #expect(next == "acquired")
    }

    @Test func theLockIsFreeAgainAfterManyHolders() async throws {
        let lock = AsyncLock()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await lock.withLock {
                        if index.isMultiple(of: 3) { throw Boom() }
                    }
                }
            }
            while let _ = try? await group.next() {}
        }
        #expect(try await result { try await lock.withLock { true } } == true)
    }
}
