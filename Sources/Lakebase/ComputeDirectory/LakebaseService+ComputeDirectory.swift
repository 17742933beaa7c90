public import Compute
import Foundation
import KilnCore
import Logging
import Persistence
import SQLKit
import Synchronization

extension LakebaseService {
    /// Every endpoint clients can connect to (ready, its branch and project not deleted).
    public func connectableEndpoints() async throws -> [ConnectableEndpoint] {
        let (endpoints, branches, projects) = try await database.read { db in
            (
                try await ResourceTable.all(db, kind: .endpoint), try await ResourceTable.all(db, kind: .branch),
                try await ResourceTable.all(db, kind: .project)
            )
        }
        let byName = Dictionary((branches + projects).map { ("\($0.workspaceID)/\($0.name)", $0) }) { first, _ in first }
        let connectableRows = endpoints.filter { endpoint in
            endpoint.isConnectable(
                branch: byName["\(endpoint.workspaceID)/\(endpoint.name.branch)"],
                project: byName["\(endpoint.workspaceID)/\(endpoint.name.project)"])
        }
        let branchesWithReplicas = Set(connectableRows.filter(\.isReadOnly).map { "\($0.workspaceID)/\($0.name.branch)" })
        return connectableRows.map { row in
            var endpoint = connectable(row)
            if !row.isReadOnly, branchesWithReplicas.contains("\(row.workspaceID)/\(row.name.branch)") {
                endpoint.readOnlyAddress = facts.access.readOnlyHost(port: row.port)
            }
            return endpoint
        }
    }

    /// The read replica of the read-write endpoint's branch that the next client of its read-only host
    /// goes to: each enabled replica in turn. Nil when the branch has none.
    public func readReplica(for endpoint: ConnectableEndpoint) async throws -> ConnectableEndpoint? {
        let ws = endpoint.workspaceID
        let (siblings, branch, project) = try await database.read { db in
            (
                try await ResourceTable.children(db, workspaceID: ws, parent: endpoint.branch.description, kind: .endpoint),
                try await ResourceTable.get(db, workspaceID: ws, name: endpoint.branch),
                try await ResourceTable.get(db, workspaceID: ws, name: endpoint.branch.project)
            )
        }
        let replicas = siblings.filter { $0.isReadOnly && $0.isConnectable(branch: branch, project: project) }.map(connectable)
            .filter { !$0.disabled }
        guard !replicas.isEmpty else { return nil }
        let turn = readOnlyTurn.withLock { turn in
            defer { turn &+= 1 }
            return turn
        }
        return replicas.sorted { $0.uid < $1.uid }[turn % replicas.count]
    }

    /// The endpoint with this uid, if clients can connect to it.
    public func connectableEndpoint(uid: String) async throws -> ConnectableEndpoint? {
        try await database.read { db in
            guard let endpoint = try await ResourceTable.endpoint(db, uid: uid) else { return nil }
            let branch = try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: endpoint.name.branch)
            let project = try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: endpoint.name.project)
            return endpoint.isConnectable(branch: branch, project: project) ? connectable(endpoint) : nil
        }
    }

    /// The Unix socket of an endpoint's postgres.
    public func socketPath(_ endpoint: ConnectableEndpoint) -> String {
        reconciler.driver.socketPath(port: endpoint.port)
    }

    /// Whether endpoints can have connection poolers here (PgBouncer is installed).
    public var hasPooler: Bool { reconciler.driver.hasPooler }

    /// How to reach the connection pooler of an endpoint whose compute runs (started if need be, taking
    /// `listener`, its pooled host's socket, too). Throws `ComputeError` when it cannot start.
    public func pooler(_ endpoint: ConnectableEndpoint, listener: PoolerListener?) async throws -> PoolerAccess {
        try await reconciler.driver.pooler(id: endpoint.uid, listener: listener)
    }

    /// Whether the endpoint's clients ran anything in the last two seconds (false when its compute does
    /// not run): what keeps a compute whose pooler takes the clients itself awake between connections.
    public func hasRecentClientActivity(_ endpoint: ConnectableEndpoint) async -> Bool {
        (try? await reconciler.driver.hasClientActivity(port: endpoint.port, seconds: 2)) ?? false
    }

    /// Calls `body` whenever endpoints may have come, gone or changed (after every operation and at
    /// start-up), before the operation is reported done.
    public func onEndpointsChanged(_ body: @escaping @Sendable () async -> Void) {
        reconciler.onEndpointsChanged(body)
    }

    private func connectable(_ row: StoredResource) -> ConnectableEndpoint {
        let timeout: Duration? =
            if row.endpointSpec.noSuspension {
                nil
            } else if let override = suspendTimeoutOverride {
                override
            } else {
                .seconds(row.endpointSpec.suspendTimeoutSeconds ?? Specs.defaultSuspendTimeout)
            }
        return ConnectableEndpoint(
            uid: row.uid, workspaceID: row.workspaceID, port: row.port ?? 0,
            address: row.port.flatMap { facts.access.endpointAddresses ? PostgresAccess.address(forPort: $0) : nil },
            pooledAddress: facts.access.pooledHost(port: row.port),
            disabled: row.endpointSpec.disabled, suspendTimeout: timeout,
            replicaOf: row.isReadOnly ? row.name.parent : nil, branch: row.name.branch)
    }
}

extension ResourceTable {
    static func endpoint(_ db: any SQLDatabase, uid: String) async throws -> StoredResource? {
        try await db.select().column("*").from(table).where("kind", .equal, ResourceKind.endpoint.rawValue).where("uid", .equal, uid)
            .first().map(StoredResource.init(row:))
    }
}
