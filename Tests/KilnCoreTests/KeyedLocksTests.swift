import KilnCore
import Testing

@Suite struct KeyedLocksTests {
    @Test func workOnOneKeyRunsOneAtATime() async throws {
        let locks = KeyedLocks()
        let counter = OverlapCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in 0..<12 {
                group.addTask {
                    try await locks.withLock("workspace-1") {
                        counter.enter(id)
                        try await Task.sleep(for: .milliseconds(1))
                        counter.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(counter.maximum == 1)
        #expect(counter.order.count == 12)
    }

    @Test func aSecondHolderOfTheSameKeyWaitsForTheFirst() async throws {
        let locks = KeyedLocks()
        let held = Gate()
        let release = Gate()
        let secondEntered = Locked(false)
        let first = Task {
            try await locks.withLock("k") {
                held.open()
                await release.wait()
            }
        }
        await held.wait()
        let second = Task { try await locks.withLock("k") { secondEntered.update { $0 = true } } }
        try await Task.sleep(for: .milliseconds(20))
        #expect(secondEntered.value == false)
        release.open()
        try await first.value
        try await second.value
        #expect(secondEntered.value == true)
    }

    @Test func differentKeysRunConcurrently() async throws {
        let locks = KeyedLocks()
        // Each body waits until the other is inside too: that finishes only if both hold their locks at once.
        let finished = try await result {
            try await bothInsideAtOnce(
                { try await locks.withLock("a", $0) },
                { try await locks.withLock("b", $0) }
            )
        }
        #expect(finished == true)
    }

    @Test func separateInstancesDoNotShareLocks() async throws {
        let first = KeyedLocks()
        let second = KeyedLocks()
        let finished = try await result {
            try await bothInsideAtOnce(
                { try await first.withLock("same", $0) },
                { try await second.withLock("same", $0) }
            )
        }
        #expect(finished == true)
    }

    @Test func aThrowingBodyReleasesItsKey() async throws {
        let locks = KeyedLocks()
        await #expect(throws: Boom.self) {
            try await locks.withLock("k") { throw Boom() }
        }
        #expect(try await result { try await locks.withLock("k") { 7 } } == 7)
    }

    /// Runs two bodies, each through its own `lock`, that each wait for the other to have entered.
    private func bothInsideAtOnce(
        _ lockA: @escaping @Sendable (@Sendable () async throws -> Void) async throws -> Void,
        _ lockB: @escaping @Sendable (@Sendable () async throws -> Void) async throws -> Void
    ) async throws -> Bool {
        let aEntered = Gate()
        let bEntered = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await lockA {
                    aEntered.open()
                    await bEntered.wait()
                }
            }
            group.addTask {
                try await lockB {
                    bEntered.open()
                    await aEntered.wait()
                }
            }
            try await group.waitForAll()
        }
        return true
    }
}

extension KeyedLocksTests {
    /// Keys come and go (a data directory per branch): a key's lock lives while it is held or waited for.
    @Test func aLockIsFreedWhenNobodyHoldsOrWaitsForIt() async throws {
        let locks = KeyedLocks()
        #expect(await locks.count == 0)
        try await locks.withLock("a") {
            #expect(await locks.count == 1)
            try await locks.withLock("b") { #expect(await locks.count == 2) }
            #expect(await locks.count == 1)
        }
        #expect(await locks.count == 0)
        await #expect(throws: CancellationError.self) { try await locks.withLock("c") { throw CancellationError() } }
        #expect(await locks.count == 0)
    }
}
