import Foundation
public import Compute
public import KilnCore
public import Logging
public import Persistence
import SQLKit
import Synchronization
public import ServiceLifecycle

/// The Lakebase Postgres API: projects, branches, endpoints, roles, databases, credentials and
/// operations. Requests validate and record the desired state; an operation then does the work on
/// real PostgreSQL servers (`Reconciler`), one project at a time.
public final class LakebaseService: Service {
    let database: any Database
    let clock: any WallClock
    let logger: Logger
    let runner: OperationRunner
    let reconciler: Reconciler
    let sweepInterval: Duration
    /// Replaces every endpoint's suspend timeout (tests and demos); nil: each endpoint's own.
    let suspendTimeoutOverride: Duration?
    /// Whose turn it is among a branch's read replicas behind a read-only host (`readReplica(for:)`).
    let readOnlyTurn = Mutex(0)
    /// The Databricks identities of a workspace, name → `USER`, `SERVICE_PRINCIPAL` or `GROUP`.
    let identities: @Sendable (Int64) async throws -> [String: String]
    /// The members of a Databricks group of a workspace (its identities' names): they log in as its role.
    let groupMembers: @Sendable (_ workspaceID: Int64, _ group: String) async throws -> Set<String>

    /// How long a mutation waits for its operation before answering (most finish well within it).
    static let answerWait = Duration.seconds(2)
    /// How long an operation GET waits for the operation to finish (the SDK's HTTP timeout is 60 s).
    static let pollWait = Duration.seconds(20)
    static let softDeleteRetention: Int64 = 7 * 86_400_000

    /// - Parameters:
    ///   - computes: the owner of the computes' data directories (and, through it, the compute driver).
    ///   - storageArea: the directory where a workspace's branches live.
    ///   - sweepInterval: how often expired branches and soft-deleted resources past their purge time are deleted.
    ///   - identities: the Databricks identities of a workspace (name → `USER`, `SERVICE_PRINCIPAL` or
    ///     `GROUP`), those `databricks_create_role` accepts.
    ///   - groupMembers: the members of a group of a workspace, who may log in as the group's role with
    ///     their own database credential (Lakebase: "creating a role for a group lets every member of the
    ///     group authenticate with the group role").
    ///   - onResumed: called once, when the start's work is done: the computes a previous run left are stopped
    ///     or started again, and the empty-cluster template is made.
    public init(
        database: any Database, computes: DataDirectoryOwner, storageArea: @escaping @Sendable (Int64) async throws -> String,
        sweepInterval: Duration = .seconds(5), suspendTimeoutOverride: Duration? = nil, access: PostgresAccess = PostgresAccess(),
        identities: @escaping @Sendable (Int64) async throws -> [String: String] = { _ in [:] },
        groupMembers: @escaping @Sendable (Int64, String) async throws -> Set<String> = { _, _ in [] },
        clock: any WallClock = SystemClock(), logger: Logger, onResumed: @escaping @Sendable () -> Void = {}
    ) {
        self.suspendTimeoutOverride = suspendTimeoutOverride
        self.identities = identities
        self.groupMembers = groupMembers
        self.database = database
        self.clock = clock
        self.logger = logger
        self.sweepInterval = sweepInterval
        self.reconciler = Reconciler(database: database, owner: computes, storageArea: storageArea, access: access, clock: clock, logger: logger)
        self.runner = OperationRunner(database: database, performer: reconciler, logger: logger, onResumed: onResumed)
    }

    /// Runs operations (and the sweep of what is due for deletion) until graceful shutdown.
    public func run() async throws {
        try await runner.run(sweepingEvery: sweepInterval) {
            await self.sweep()
            await self.reconciler.tendHistories()
        }
    }

    /// Starts the computes and the operations a previous run left; call once the schema is migrated.
    public func activate() { runner.activate() }

    var facts: RuntimeFacts { reconciler.facts }

    // MARK: - Reads

    public func get(_ name: ResourceName, caller: LakebaseCaller) async throws -> JSONTree {
        let (resource, project) = try await visible(name, caller: caller)
        return await Rendering.render(resource, project: project, facts: facts)
    }

    /// A resource that exists and whose project is not deleted (a deleted project itself is visible), in a
    /// project `caller` may use (`PERMISSION_DENIED` otherwise).
    func visible(_ name: ResourceName, caller: LakebaseCaller, includeDeleted: Bool = true) async throws -> (StoredResource, StoredResource) {
        let (resource, project) = try await database.read { db in
            (
                try await ResourceTable.get(db, workspaceID: caller.workspaceID, name: name),
                try await ResourceTable.get(db, workspaceID: caller.workspaceID, name: name.project)
            )
        }
        guard let resource, let project, project.deletedAt == nil || name.kind == .project,
            includeDeleted || resource.deletedAt == nil
        else {
            throw Self.notFound(name.kind)
        }
        if let branchName = name.parent, branchName.kind == .branch {
            let branch = try await database.read { db in try await ResourceTable.get(db, workspaceID: caller.workspaceID, name: branchName) }
            guard let branch, branch.deletedAt == nil else { throw Self.notFound(name.kind) }
        }
        try await authorize(name, .canUse, caller: caller)
        return (resource, project)
    }

    public func list(
        _ kind: ResourceKind, parent: ResourceName?, pageSize: Int?, pageToken: String?, showDeleted: Bool,
        caller: LakebaseCaller
    ) async throws -> JSONTree {
        if let parent { _ = try await visible(parent, caller: caller, includeDeleted: false) }
        let page = try Page(size: pageSize, token: pageToken, maximum: kind == .project ? 100 : 1000)
        let parentName = parent?.description ?? ""
        let usable = kind == .project ? try await usableProjects(caller: caller) : nil
        let rows = try await database.read { db in
            try await ResourceTable.children(db, workspaceID: caller.workspaceID, parent: parentName, kind: kind)
        }.filter { (showDeleted || $0.deletedAt == nil) && (usable?.contains($0.name.description) ?? true) }
        let project: StoredResource? =
            if let parent {
                try await database.read { db in try await ResourceTable.get(db, workspaceID: caller.workspaceID, name: parent.project) }
            } else { nil }
        var items: [JSONTree] = []
        for resource in page.slice(rows) {
            items.append(await Rendering.render(resource, project: kind == .project ? resource : project, facts: facts))
        }
        var members: [JSONTree.Member] = [.init(kind.collection, .array(items))]
        if let next = page.nextToken(total: rows.count) { members.append(.init("next_page_token", .string(next))) }
        return .object(members)
    }

    public func operation(_ name: String, caller: LakebaseCaller) async throws -> JSONTree {
        let parts = name.split(separator: "/")
        if parts.count >= 2, parts[0] == "projects" {
            try await authorize(ResourceName(kind: .project, ids: [String(parts[1])]), .canUse, caller: caller)
        }
        guard let operation = try await runner.wait(workspaceID: caller.workspaceID, name: name, timeout: Self.pollWait) else {
            throw KilnError(.notFound, "operation id not found")
        }
        return operation.json
    }

    // MARK: - Operations

    /// Records an operation (`record`) and answers with it once it finished or `answerWait` passed.
    func start(
        _ kind: OperationKind, _ resource: ResourceName, payload: JSONTree = .object([]), caller: LakebaseCaller,
        changes: @escaping @Sendable (any SQLDatabase) async throws -> Void
    ) async throws -> JSONTree {
        let operation = try await record(kind, resource, workspaceID: caller.workspaceID, payload: payload, changes: changes)
        let finished = try await runner.wait(workspaceID: caller.workspaceID, name: operation.name, timeout: Self.answerWait)
        return (finished ?? operation).json
    }

    /// Stores a new operation with the `changes` it makes (in one transaction) and queues it.
    func record(
        _ kind: OperationKind, _ resource: ResourceName, workspaceID: Int64, payload: JSONTree = .object([]),
        changes: @escaping @Sendable (any SQLDatabase) async throws -> Void
    ) async throws -> OperationRecord {
        let operation = OperationRecord(workspaceID: workspaceID, kind: kind, resource: resource, payload: payload, now: clock.nowMillis())
        try await database.write(lockKey: Self.lockKey(workspaceID, resource.projectID)) { db in
            try await changes(db)
            try await OperationTable.insert(db, operation)
        }
        runner.submit(operation)
        return operation
    }

    static func lockKey(_ workspaceID: Int64, _ projectID: String) -> Int64 {
        Int64(bitPattern: ComputeConfiguration.stableHash("lakebase/\(workspaceID)/\(projectID)"))
    }

    static func notFound(_ kind: ResourceKind) -> KilnError {
        KilnError(.notFound, "\(kind.noun) id not found")
    }
}
