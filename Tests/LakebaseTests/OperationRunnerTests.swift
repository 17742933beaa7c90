import Compute
import KilnCore
@testable import Lakebase
import Persistence
import Synchronization
import Testing

/// The runner alone, with a performer that only takes time and answers as told: one operation at a time
/// per project, outcomes recorded as the API shows them, unfinished work resumed at start.
@Suite struct OperationRunnerTests {
    /// Records what it was asked to do and how many operations ran at once, per project and overall.
    final class RecordingPerformer: OperationPerformer {
        struct Record {
            var events: [String] = []
            var running: [String: Int] = [:]
            var mostPerProject = 0
            var mostOverall = 0
            var followUps: [String] = []
        }

        let record = Mutex(Record())
        let workTime: Duration
        /// Whether an operation waits (up to 10 s) for a second one to be running before it takes its time:
        /// two that can run side by side then do, however slowly a loaded machine starts the second.
        let waitsForCompany: Bool
        let outcome: @Sendable (OperationRecord) throws -> JSONTree?

        init(
            workTime: Duration = .milliseconds(1), waitsForCompany: Bool = false,
            outcome: @escaping @Sendable (OperationRecord) throws -> JSONTree? = { _ in nil }
        ) {
            self.workTime = workTime
            self.waitsForCompany = waitsForCompany
            self.outcome = outcome
        }

        var events: [String] { record.withLock { $0.events } }

        func perform(_ operation: OperationRecord) async throws -> JSONTree? {
            let project = operation.resource.projectID
            record.withLock { record in
                record.events.append("\(operation.kind) \(operation.resource)")
                record.running[project, default: 0] += 1
                record.mostPerProject = max(record.mostPerProject, record.running[project]!)
                record.mostOverall = max(record.mostOverall, record.running.values.reduce(0, +))
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while waitsForCompany, record.withLock({ $0.mostOverall < 2 }), ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            try? await Task.sleep(for: workTime)
            record.withLock { $0.running[project]! -= 1 }
            return try outcome(operation)
        }

        func resume() async { record.withLock { $0.events.append("resume") } }

        /// Records the follow-up with whether its operation was done by then.
        let store = Mutex<SQLiteStore?>(nil)
        func followUp(_ operation: OperationRecord) async {
            let done = try? await store.withLock { $0 }?.read { db in
                try await OperationTable.get(db, workspaceID: operation.workspaceID, name: operation.name)?.done
            }
            record.withLock { $0.followUps.append("\(operation.resource) done: \(done.flatMap { $0 } ?? false)") }
        }
    }

    /// Runs `body` with a runner on a fresh store; `before` stores what a previous run left, before activation.
    func withRunner(
        _ performer: RecordingPerformer, sweeping: Duration? = nil, sweep: @escaping @Sendable () async -> Void = {},
        before: @Sendable (SQLiteStore) async throws -> Void = { _ in },
        _ body: @Sendable (OperationRunner, SQLiteStore) async throws -> Void
    ) async throws {
        try await LakebaseHarness.withStorage { root in
            try await LakebaseHarness.withStore(root: root) { store in
                try await before(store)
                let runner = OperationRunner(database: store, performer: performer, logger: LakebaseHarness.logger)
                try await withThrowingTaskGroup { group in
                    group.addTask { try await runner.run(sweepingEvery: sweeping, sweep) }
                    runner.activate()
                    try await body(runner, store)
                    group.cancelAll()
                }
            }
        }
    }

    /// Stores an operation on `resource` (not submitted).
    func store(_ kind: OperationKind, _ resource: String, in store: SQLiteStore) async throws -> OperationRecord {
        let operation = OperationRecord(workspaceID: 1, kind: kind, resource: try LakebaseHarness.name(resource), now: SystemClock().nowMillis())
        try await store.write { db in try await OperationTable.insert(db, operation) }
        return operation
    }

    /// Submits a stored operation and waits for it to finish.
    func finish(_ kind: OperationKind, _ resource: String, runner: OperationRunner, store: SQLiteStore) async throws -> JSONTree {
        let operation = try await self.store(kind, resource, in: store)
        runner.submit(operation)
        let finished = try await runner.wait(workspaceID: 1, name: operation.name, timeout: .seconds(60))
        return try #require(finished).json
    }

    @Test func operationsOfOneProjectRunOneAtATimeWhileProjectsRunSideBySide() async throws {
        // The first operation waits for a second one to run beside it: one of the other project, if the
        // runner runs projects side by side (a CI run of every suite at once once started the second project's
        // 300 ms after the first's had ended).
        let performer = RecordingPerformer(workTime: .milliseconds(50), waitsForCompany: true)
        try await withRunner(performer) { runner, store in
            var operations: [OperationRecord] = []
            for resource in ["projects/a", "projects/a/branches/x", "projects/a/branches/y", "projects/b", "projects/b/branches/z"] {
                operations.append(try await self.store(.createBranch, resource, in: store))
            }
            for operation in operations { runner.submit(operation) }
            for operation in operations {
                #expect(try await runner.wait(workspaceID: 1, name: operation.name, timeout: .seconds(60))?.done == true)
            }
        }
        let record = performer.record.withLock { $0 }
        let performed = record.events.filter { $0 != "resume" }
        #expect(performed.count == 5)
        #expect(record.mostPerProject == 1)
        #expect(record.mostOverall == 2)
    }

    @Test func aKilnErrorBecomesTheOperationsErrorWithItsCodeAndMessage() async throws {
        let performer = RecordingPerformer { _ in throw KilnError(.invalidState, "The branch has no data yet.") }
        try await withRunner(performer) { runner, store in
            let operation = try await finish(.createRole, "projects/p/branches/b/roles/r", runner: runner, store: store)
            #expect(operation["done"] == .bool(true))
            #expect(operation["response"] == nil)
            #expect(
                operation["error"]
                    == .object([
                        .init("error_code", .string("INVALID_STATE")), .init("message", .string("The branch has no data yet.")),
                    ]))
        }
    }

    @Test func aSucceededOperationIsFollowedUpOnceReportedDoneAndAFailedOneIsNot() async throws {
        let performer = RecordingPerformer { operation in
            if operation.resource.id == "bad" { throw KilnError(.invalidState, "no") }
            return nil
        }
        try await withRunner(performer) { runner, store in
            performer.store.withLock { $0 = store }
            _ = try await finish(.createBranch, "projects/p/branches/good", runner: runner, store: store)
            _ = try await finish(.createBranch, "projects/p/branches/bad", runner: runner, store: store)
            // A follow-up runs after the waiter hears of the end: time for both to have come, had they.
            for _ in 0..<500 where performer.record.withLock({ $0.followUps.isEmpty }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(performer.record.withLock { $0.followUps } == ["projects/p/branches/good done: true"])
    }

    @Test func anyOtherErrorIsAnInternalErrorWithItsDescription() async throws {
        let performer = RecordingPerformer { _ in throw ComputeError("pg_basebackup: disk full") }
        try await withRunner(performer) { runner, store in
            let operation = try await finish(.createBranch, "projects/p/branches/b", runner: runner, store: store)
            #expect(operation.operationErrorCode == "INTERNAL_ERROR")
            #expect(operation.value(at: ["error", "message"]) == .string("pg_basebackup: disk full"))
        }
    }

    @Test func responsesCarryTheirResourceTypeAndDeletesAnswerEmpty() async throws {
        let performer = RecordingPerformer { operation in
            operation.kind == .createDatabase ? nil : .object([.init("name", .string(operation.resource.description))])
        }
        try await withRunner(performer) { runner, store in
            let created = try await finish(.createBranch, "projects/p/branches/b", runner: runner, store: store)
            #expect(
                created["response"]
                    == .object([
                        .init("@type", .string("type.googleapis.com/databricks.postgres.v1.Branch")), .init("name", .string("projects/p/branches/b")),
                    ]))
            #expect(created.value(at: ["metadata", "@type"]) == .string("type.googleapis.com/databricks.postgres.v1.BranchOperationMetadata"))
            let empty = JSONTree.object([.init("@type", .string("type.googleapis.com/google.protobuf.Empty"))])
            #expect(try await finish(.deleteBranch, "projects/p/branches/b", runner: runner, store: store)["response"] == empty)
            #expect(try await finish(.createDatabase, "projects/p/branches/b/databases/d", runner: runner, store: store)["response"] == empty)
        }
    }

    @Test func unfinishedOperationsRunAgainAtStartAfterThePerformerResumes() async throws {
        let performer = RecordingPerformer()
        let left = Mutex<[OperationRecord]>([])
        try await withRunner(
            performer,
            before: { store in
                let pending = [
                    try await self.store(.createBranch, "projects/a/branches/x", in: store),
                    try await self.store(.deleteEndpoint, "projects/b/branches/y/endpoints/e", in: store),
                ]
                let done = try await self.store(.deleteProject, "projects/c", in: store)
                try await store.write { db in try await OperationTable.finish(db, done, result: .object([])) }
                left.withLock { $0 = pending }
            }
        ) { runner, _ in
            for operation in left.withLock({ $0 }) {
                let finished = try await runner.wait(workspaceID: 1, name: operation.name, timeout: .seconds(60))
                #expect(finished?.done == true)
            }
        }
        #expect(performer.events.first == "resume")
        #expect(Set(performer.events.dropFirst()) == ["createBranch projects/a/branches/x", "deleteEndpoint projects/b/branches/y/endpoints/e"])
    }

    @Test func anOperationSubmittedTwiceRunsOnce() async throws {
        let performer = RecordingPerformer(workTime: .milliseconds(20))
        try await withRunner(performer) { runner, store in
            let operation = try await self.store(.updateBranch, "projects/p/branches/b", in: store)
            runner.submit(operation)
            runner.submit(operation)
            _ = try await runner.wait(workspaceID: 1, name: operation.name, timeout: .seconds(60))
            runner.submit(operation) // done by now: read, not run again
            try await Task.sleep(for: .milliseconds(30))
        }
        let performed = performer.events.filter { $0.hasPrefix("updateBranch") }
        #expect(performed.count == 1)
    }

    @Test func waitingGivesUpAfterItsTimeoutWithTheOperationAsItIs() async throws {
        let performer = RecordingPerformer(workTime: .seconds(2))
        try await withRunner(performer) { runner, store in
            let operation = try await self.store(.createEndpoint, "projects/p/branches/b/endpoints/e", in: store)
            runner.submit(operation)
            let start = ContinuousClock.now
            let early = try await runner.wait(workspaceID: 1, name: operation.name, timeout: .milliseconds(20))
            #expect(early?.done == false) // it gave up: the work takes far longer than the wait
            _ = start
            #expect(try await runner.wait(workspaceID: 1, name: operation.name, timeout: .seconds(60))?.done == true)
            #expect(try await runner.wait(workspaceID: 1, name: "projects/p/operations/unknown", timeout: .seconds(60)) == nil)
            #expect(try await runner.wait(workspaceID: 2, name: operation.name, timeout: .seconds(60)) == nil)
        }
    }

    @Test(.timeLimit(.minutes(1))) func theSweepRunsEveryInterval() async throws {
        let sweeps = Mutex(0)
        try await withRunner(RecordingPerformer(), sweeping: .milliseconds(10), sweep: { sweeps.withLock { $0 += 1 } }) { _, _ in
            // Waits for two sweeps, however loaded the machine (the test's time limit ends a runner that never sweeps).
            while sweeps.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(10)) }
        }
        let count = sweeps.withLock { $0 }
        #expect(count >= 2)
    }
}
