import Compute
import ComputeTestSupport
import KilnCore
import Testing

/// The owner serialises work on each data directory: the races a branch copy had with wakes and
/// suspends (REVIEW-2026-11 §5.13) are checked against a fake driver that reports every overlap.
@Suite struct DataDirectoryOwnerTests {
    let driver = FakeComputeDriver()
    var owner: DataDirectoryOwner { DataDirectoryOwner(driver: driver) }

    func spec(_ id: String, on directory: String, port: Int = 55001) -> ServerSpec {
        ServerSpec(id: id, dataDirectory: directory, port: port, settings: [:])
    }

    // The copies below are held at the fake's gate until the test releases them, so the wake or suspend
    // certainly arrives while a copy reads the directory; work that waits is given 300 ms to show that it
    // would not (on today's code it reaches the driver at once).

    @Test func withoutAnOwnerTheFakeSeesAWakeDuringACopy() async throws {
        try await driver.createEmpty(at: "/d/parent", major: 17)
        driver.holdCopies()
        async let copy = driver.copy(stoppedDirectory: "/d/parent", to: "/d/child")
        await driver.waitForCopies(1)
        try await driver.start(spec("ep", on: "/d/parent"))
        driver.releaseCopies()
        _ = try await copy
        #expect(driver.violations.count == 2) // started during the copy, and copied while it ran
    }

    @Test func aWakeDuringACopyWaitsForIt() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/parent", major: 17)
        driver.holdCopies()
        async let copy = owner.copy("/d/parent", to: "/d/child")
        await driver.waitForCopies(1)
        async let wake: Void = owner.start(spec("ep", on: "/d/parent"))
        await driver.waitForStarts(1, within: .milliseconds(300))
        #expect(driver.starts == 0, "the wake started a compute on a directory being copied")
        driver.releaseCopies()
        _ = try await copy
        try await wake
        #expect(driver.violations == [])
        #expect(driver.exists("/d/child"))
        #expect(await driver.isRunning(id: "ep"))
    }

    @Test func aSuspendDuringABaseBackupWaitsForIt() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/parent", major: 17)
        try await owner.start(spec("ep", on: "/d/parent"))
        driver.holdCopies()
        async let copy = owner.copy("/d/parent", to: "/d/child")
        await driver.waitForCopies(1)
        async let suspended = owner.suspend(id: "ep", keepingVerifiers: true) { true }
        try await Task.sleep(for: .milliseconds(300))
        #expect(await driver.isRunning(id: "ep"), "the suspend stopped the server a base backup reads")
        driver.releaseCopies()
        _ = try await copy
        #expect(await suspended)
        #expect(driver.violations == [])
        #expect(driver.exists("/d/child"))
        #expect(driver.isSuspended("/d/parent"))
    }

    @Test func aSuspendSparesAComputeThatAClientReachedWhileItWaited() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/parent", major: 17)
        try await owner.start(spec("ep", on: "/d/parent"))
        driver.holdCopies()
        async let copy = owner.copy("/d/parent", to: "/d/child")
        await driver.waitForCopies(1)
        async let suspended = owner.suspend(id: "ep", keepingVerifiers: true) { false }
        driver.releaseCopies()
        _ = try await copy
        #expect(await !suspended)
        #expect(await driver.isRunning(id: "ep"))
        #expect(!driver.isSuspended("/d/parent"))
    }

    @Test func aWakeThatWaitedStartsNothingOnceItIsNoLongerWanted() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/parent", major: 17)
        driver.holdCopies()
        async let copy = owner.copy("/d/parent", to: "/d/child")
        await driver.waitForCopies(1)
        async let wake: Void = owner.start(spec("ep", on: "/d/parent"), stillWanted: { false }) // deleted meanwhile
        driver.releaseCopies()
        _ = try await copy
        try await wake
        #expect(await !driver.isRunning(id: "ep"))
        #expect(driver.starts == 0)
    }

    /// A wake (or a new branch's first start) that read its endpoint before an update started the compute
    /// with new settings leaves it running as the update started it, rather than restarting it with the old.
    @Test func aStartUnlessRunningLeavesARunningComputeAsItIs() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/parent", major: 17)
        let updated = ServerSpec(id: "ep", dataDirectory: "/d/parent", port: 55001, settings: ["work_mem": "64MB"])
        try await owner.start(updated)
        try await owner.start(spec("ep", on: "/d/parent"), unlessRunning: true)
        #expect(await driver.spec(id: "ep") == updated)
        #expect(driver.starts == 1)
        try await owner.start(spec("ep", on: "/d/parent")) // without it, a start with other settings restarts it
        #expect(await driver.spec(id: "ep")?.settings == [:])
    }

    @Test func removingADirectoryStopsWhatStillRunsOnItFirst() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/a", major: 17)
        try await owner.start(spec("ep", on: "/d/a"))
        await owner.remove("/d/a")
        #expect(await !driver.isRunning(id: "ep"))
        #expect(!driver.exists("/d/a"))
        #expect(driver.violations == [])
    }

    @Test func aStartClearsTheSuspendedMarkUnlessAskedToLeaveItAsleep() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/a", major: 17)
        driver.setSuspended("/d/a", true, verifiers: ["alice": "SCRAM"])
        try await owner.start(spec("ep", on: "/d/a"), unlessSuspended: true)
        #expect(await !driver.isRunning(id: "ep"))
        try await owner.start(spec("ep", on: "/d/a"))
        #expect(await driver.isRunning(id: "ep"))
        #expect(!driver.isSuspended("/d/a"))
    }

    @Test func maintenanceWorkOnASleepingDirectoryRefreshesItsKeptVerifiers() async throws {
        let driver = FakeComputeDriver(verifiers: ["alice": "SCRAM-new"])
        let owner = DataDirectoryOwner(driver: driver)
        try await owner.createEmpty(at: "/d/a", major: 17)
        driver.setSuspended("/d/a", true, verifiers: ["alice": "SCRAM-old"])
        let port = try await owner.withServer(on: "/d/a", maintenancePort: { 55010 }) { port in
            #expect(driver.keptVerifiers("/d/a") == nil) // forgotten while roles may change
            try await driver.run(port: port, database: "postgres", ["ALTER ROLE alice PASSWORD 'x'"])
            return port
        }
        #expect(port == 55010)
        #expect(await driver.ids() == []) // the maintenance server is stopped again
        #expect(driver.keptVerifiers("/d/a") == ["alice": "SCRAM-new"])
    }

    @Test func maintenanceWorkUsesTheRunningComputeWhenThereIsOne() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/a", major: 17)
        try await owner.start(spec("ep", on: "/d/a", port: 55002))
        let port = try await owner.withServer(
            on: "/d/a",
            maintenancePort: {
                Issue.record("no maintenance server wanted")
                return 0
            }
        ) { $0 }
        #expect(port == 55002)
        #expect(driver.starts == 1)
    }

    @Test func aStandbyIsCopiedFromAMaintenanceServerWhenTheBranchSleeps() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/branch", major: 17)
        try await owner.makeStandby(of: "/d/branch", slot: "kiln_r", to: "/d/replica", maintenancePort: { 55011 })
        #expect(driver.exists("/d/replica"))
        #expect(await driver.ids() == [])
        #expect(driver.violations == [])
    }
}

extension DataDirectoryOwnerTests {
    /// A compute that crashed is wanted but down while the supervisor restarts it: its data is neither
    /// copied file by file (the restart may write it meanwhile) nor given a second, maintenance server.
    @Test func theDataOfACrashedComputeIsLeftAloneUntilItRunsAgain() async throws {
        let owner = owner
        try await owner.createEmpty(at: "/d/parent", major: 17)
        try await owner.start(spec("ep", on: "/d/parent"))
        driver.crash(id: "ep")
        await #expect(throws: KilnError.self) { try await owner.copy("/d/parent", to: "/d/child") }
        await #expect(throws: KilnError.self) {
            try await owner.withServer(on: "/d/parent", maintenancePort: { 55012 }) { $0 }
        }
        #expect(!driver.exists("/d/child"))
        #expect(driver.starts == 1)
        driver.recover(id: "ep")
        try await owner.copy("/d/parent", to: "/d/child")
        #expect(driver.exists("/d/child"))
        #expect(driver.violations == [])
    }
}
