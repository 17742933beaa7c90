import Foundation
import KilnCore
import Logging
import Persistence
import PersistenceTestSupport
import Synchronization
import Testing
@testable import Accounts

/// One bootstrapped account with a credential and a writable storage configuration (bucket `good`), its
/// workspaces and their provisioner, and what their callbacks saw. Preparing a workspace named `unpreparable`
/// fails with a `KilnError`, one named `crashing` with another error.
struct WorkspaceFixture: Sendable {
    /// What the callbacks of `AccountWorkspaces` and `WorkspaceProvisioner` saw.
    final class Events: Sendable {
        struct Deletion: Equatable {
            var workspaceID: Int64
            var rowWasGone: Bool
            var areaWasThere: Bool
        }

        let wakeups = Mutex(0)
        let prepared = Mutex<[Int64]>([])
        let deletions = Mutex<[Deletion]>([])
    }

    struct PreparationCrashed: Error {}

    let database: any Database
    let clock: ManualClock
    let root: URL
    let accountID: String
    let admin: User
    let defaultWorkspace: Workspace
    let resources: AccountResourceStore
    let provisioner: WorkspaceProvisioner
    let workspaces: AccountWorkspaces
    let events: Events
    let credentialsID: String
    let storageID: String

    /// A valid create body with `changes` applied (`.null` removes a field).
    func body(_ changes: [String: JSONTree] = [:]) -> JSONTree {
        var body = JSONTree.object([
            .init("workspace_name", .string("w")), .init("aws_region", .string("us-east-1")),
            .init("credentials_id", .string(credentialsID)), .init("storage_configuration_id", .string(storageID)),
        ])
        for (key, value) in changes.sorted(by: { $0.key < $1.key }) { body.set(key, value) }
        return body
    }

    /// Creates a workspace; returns its id and the Workspace object.
    func create(_ changes: [String: JSONTree] = [:]) async throws -> (Int64, JSONTree) {
        let created = try await workspaces.create(accountID: accountID, body: body(changes))
        return (try #require(AccountFixture.integer(created["workspace_id"])), created)
    }

    func status(_ id: Int64) async throws -> String? {
        try await workspaces.get(accountID: accountID, workspaceID: id)["workspace_status"]?.stringValue
    }

    func area(_ id: Int64, bucket: String = "good") -> URL {
        root.appendingPathComponent(bucket).appendingPathComponent(String(id))
    }

    /// Runs `body` while the provisioner runs as the service it is (once per setup: its signal stream
    /// ends with the service).
    /// Updates workspace `id` with the provisioner running and returns the workspace once provisioning has
    /// settled: the update answers after at most 2 s, which a busy machine (every suite at once) outlasts.
    func updateSettled(_ id: Int64, body: JSONTree, mask: [String]?) async throws -> JSONTree {
        try await withProvisionerRunning {
            _ = try await workspaces.update(accountID: accountID, workspaceID: id, body: body, mask: mask)
            let deadline = ContinuousClock.now + .seconds(60)
            while try await status(id) == "PROVISIONING", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            return try await workspaces.get(accountID: accountID, workspaceID: id)
        }
    }

    func withProvisionerRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [provisioner] in try await provisioner.run() }
            do {
                let result = try await body()
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// Runs `body` on a fresh database, with a storage root that is removed afterwards.
    static func with(_ engine: DatabaseEngine, _ body: @Sendable (WorkspaceFixture) async throws -> Void) async throws {
        try await TestDatabases.with(engine) { database async throws in
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-storage-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: root) }
            let clock = ManualClock()
            let accounts = AccountStore(database: database, clock: clock)
            let (account, admin, defaultWorkspace) = try #require(try await accounts.bootstrap(adminUserName: "admin"))
            let resources = AccountResourceStore(database: database, clock: clock)
            let credential = try await resources.create(.credentials, accountID: account.accountID, body: AccountFixture.body(.credentials))
            let storage = try await resources.create(
                .storageConfigurations, accountID: account.accountID, body: AccountFixture.storage(name: "good", bucket: "good"))
            let events = Events()
            let workspaceStorage = WorkspaceStorage(root: root.path)
            let provisioner = WorkspaceProvisioner(database: database, storage: workspaceStorage, logger: Logger(label: "t")) { workspace in
                events.prepared.withLock { $0.append(workspace.workspaceID) }
                if workspace.name == "unpreparable" { throw KilnError(.invalidState, "cannot prepare") }
                if workspace.name == "crashing" { throw PreparationCrashed() }
            }
            let workspaces = AccountWorkspaces(
                database: database, storage: workspaceStorage, clock: clock,
                onProvisioningNeeded: {
                    events.wakeups.withLock { $0 += 1 }
                    provisioner.wake()
                },
                onDeleted: { id in
                    let rowWasGone: Bool
                    do { rowWasGone = try await accounts.workspace(id: id) == nil } catch { rowWasGone = false }
                    let area = root.appendingPathComponent("good").appendingPathComponent(String(id)).path
                    let deletion = Events.Deletion(workspaceID: id, rowWasGone: rowWasGone, areaWasThere: FileManager.default.fileExists(atPath: area))
                    events.deletions.withLock { $0.append(deletion) }
                })
            try await body(
                WorkspaceFixture(
                    database: database, clock: clock, root: root, accountID: account.accountID, admin: admin,
                    defaultWorkspace: defaultWorkspace, resources: resources, provisioner: provisioner, workspaces: workspaces,
                    events: events, credentialsID: try #require(credential["credentials_id"]?.stringValue),
                    storageID: try #require(storage["storage_configuration_id"]?.stringValue)))
        }
    }
}
