import Compute
import ComputeTestSupport
import Foundation
import KilnCore
@testable import Lakebase
import Logging
import Persistence
import PersistenceTestSupport
import Testing

/// A `LakebaseService` in process: requests, operations and the reconciler on a fresh SQLite store, with
/// computes from a `FakeComputeDriver` (no postgres). Each test gets one through `run`; a test of a
/// restart opens several services, one after another, on the store of one `withStorage` root.
struct LakebaseHarness: Sendable {
    static let caller = LakebaseCaller(workspaceID: 1, identity: "ada@example.com", identityType: "USER")
    static let logger = Logger(label: "kiln-test")

    let service: LakebaseService
    /// The fake underneath (also under `computes`, when a test wraps it).
    let driver: FakeComputeDriver
    let clock: TestClock
    var caller: LakebaseCaller { Self.caller }

    // MARK: - Set-up

    /// A new temporary root with a migrated store (`kiln.sqlite`) holding the caller's workspace; removed afterwards.
    static func withStorage(_ body: @Sendable (String) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "kiln-lakebase-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await withStore(root: root) { store in try await TestDatabases.addWorkspace(1, to: store) }
        try await body(root)
    }

    /// The store under `root`, migrated, open while `body` runs.
    static func withStore<T: Sendable>(root: String, _ body: @Sendable (SQLiteStore) async throws -> T) async throws -> T {
        let store = try await SQLiteStore.open(path: root + "/kiln.sqlite", logger: logger)
        return try await store.closing {
            try await Migrator(database: store, logger: logger).migrate()
            return try await body(store)
        }
    }

    /// Runs `body` with a service on the store under `root` and returns what it returns. With `activate`
    /// (the default) its operation runner runs and the service resumes what a previous one left; without,
    /// operations are only stored.
    @discardableResult
    static func run<T: Sendable>(
        root: String, driver: FakeComputeDriver = FakeComputeDriver(), computes: (any ComputeDriver)? = nil,
        clock: TestClock = TestClock(), activate: Bool = true,
        identities: @escaping @Sendable (Int64) async throws -> [String: String] = { _ in [:] },
        groupMembers: @escaping @Sendable (Int64, String) async throws -> Set<String> = { _, _ in [] },
        _ body: @Sendable (LakebaseHarness) async throws -> T
    ) async throws -> T {
        try await withStore(root: root) { store in
            let service = LakebaseService(
                database: store, computes: DataDirectoryOwner(driver: computes ?? driver),
                storageArea: { "\(root)/workspaces/\($0)" }, sweepInterval: .seconds(3600),
                identities: identities, groupMembers: groupMembers, clock: clock, logger: logger)
            let harness = LakebaseHarness(service: service, driver: driver, clock: clock)
            guard activate else { return try await body(harness) }
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.run() }
                service.activate()
                let result = try await body(harness)
                group.cancelAll()
                return result
            }
        }
    }

    /// Runs `body` with a running service on a fresh store.
    static func run(
        driver: FakeComputeDriver = FakeComputeDriver(), computes: (any ComputeDriver)? = nil, clock: TestClock = TestClock(),
        _ body: @Sendable (LakebaseHarness) async throws -> Void
    ) async throws {
        try await withStorage { root in
            try await run(root: root, driver: driver, computes: computes, clock: clock, body)
        }
    }

    // MARK: - Requests

    static func json(_ text: String) throws -> JSONTree { try JSONTree.parse(Array(text.utf8)) }

    static func name(_ text: String) throws -> ResourceName {
        guard let name = ResourceName(text) else { throw KilnError(.invalidParameterValue, "not a resource name: \(text)") }
        return name
    }

    /// Creates a project; `body` is the whole request body.
    @discardableResult
    func createProject(_ id: String = "p", body: String = "{}") async throws -> JSONTree {
        try await finished(service.create(.project, parent: nil, id: id, replaceExisting: false, body: Self.json(body), caller: caller))
    }

    /// The operation once it is done: a mutation answers after at most two seconds, which a loaded machine
    /// (the whole test run in parallel on two cores) can exceed; the operation GET waits longer.
    func finished(_ operation: JSONTree) async throws -> JSONTree {
        var operation = operation
        while operation["done"] == .bool(false), let name = operation["name"]?.stringValue {
            operation = try await service.operation(name, caller: caller)
        }
        return operation
    }

    /// Creates a branch of project `p` that never expires.
    @discardableResult
    func createBranch(_ id: String, from source: String = "production") async throws -> JSONTree {
        try await create(.branch, in: "projects/p", id: id, spec: #"{"source_branch": "projects/p/branches/\#(source)", "no_expiry": true}"#)
    }

    /// Creates a resource of `kind` under `parent` with the given spec.
    @discardableResult
    func create(_ kind: ResourceKind, in parent: String, id: String?, spec: String) async throws -> JSONTree {
        try await finished(
            service.create(
                kind, parent: Self.name(parent), id: id, replaceExisting: false,
                body: Self.json(#"{"spec": \#(spec)}"#), caller: caller))
    }

    func get(_ name: String) async throws -> JSONTree {
        try await service.get(Self.name(name), caller: caller)
    }

    /// `status.<field>` of a resource.
    func status(_ name: String, _ field: String) async throws -> JSONTree? {
        try await get(name).value(at: ["status", field])
    }

    func state(_ name: String) async throws -> String? {
        try await status(name, "current_state")?.stringValue
    }

    /// The resource's `current_state` once it is `wanted`, or as it is after `timeout`: a new branch's
    /// computes start right after its operation is reported.
    func state(_ name: String, becoming wanted: String, timeout: Duration = .seconds(10)) async throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let state = try await state(name)
            if state == wanted || ContinuousClock.now > deadline { return state }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The uid of an endpoint (its compute's id).
    func uid(_ endpoint: String) async throws -> String {
        guard let uid = try await get(endpoint)["uid"]?.stringValue else { throw KilnError(.notFound, "no uid: \(endpoint)") }
        return uid
    }

    /// Updates a resource with `spec` and `mask` (nil: merge the spec).
    @discardableResult
    func update(_ name: String, mask: String?, spec: String) async throws -> JSONTree {
        try await finished(service.update(Self.name(name), body: Self.json(#"{"spec": \#(spec)}"#), mask: mask, caller: caller))
    }

    @discardableResult
    func delete(_ name: String, purge: Bool = false, reassignOwnedTo: String? = nil) async throws -> JSONTree {
        try await finished(service.delete(Self.name(name), purge: purge, reassignOwnedTo: reassignOwnedTo, caller: caller))
    }

    /// The connectable endpoint with `uid`, as the proxy sees it.
    func connectable(_ uid: String) async throws -> ConnectableEndpoint? {
        try await service.connectableEndpoints().first { $0.uid == uid }
    }

    /// Expects `body` to throw a `KilnError` with `code`. (With Swift 6.3.1, a closure written inside an
    /// `#expect(…)` argument may share its symbol with another closure of the test, which then runs in
    /// its place: keep closures out of `#expect`, as this helper does.)
    func expectError<T>(_ code: ErrorCode, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async {
        let error = await failure(body)
        #expect(error?.code == code, "\(String(describing: error))", sourceLocation: sourceLocation)
    }

    /// The `KilnError` that `body` throws; nil when it throws none (or something else).
    func failure<T>(_ body: () async throws -> T) async -> KilnError? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error as? KilnError
        }
    }
}

extension JSONTree {
    /// A finished operation's `error.error_code`.
    var operationErrorCode: String? { value(at: ["error", "error_code"])?.stringValue }
}
