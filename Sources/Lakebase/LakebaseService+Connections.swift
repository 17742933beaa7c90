public import Compute
import Foundation
import KilnCore
import Logging
import Persistence
import SQLKit
import Synchronization

/// What Kiln's Postgres proxy needs to know of an endpoint.
public struct ConnectableEndpoint: Sendable {
    public var uid: String
    public var workspaceID: Int64
    /// The endpoint's port: its own listener, and the name of its postgres's Unix socket.
    public var port: Int
    public var disabled: Bool
    /// How long it may go without clients before it is suspended; nil: never.
    public var suspendTimeout: Duration?
    /// For a read replica, its branch (whose read-write endpoint holds the roles it replays); nil otherwise.
    var replicaOf: ResourceName?
}

extension LakebaseService {
    /// Every endpoint clients can connect to (ready, its branch and project not deleted).
    public func connectableEndpoints() async throws -> [ConnectableEndpoint] {
        let (endpoints, branches, projects) = try await database.read { db in
            (try await ResourceTable.all(db, kind: .endpoint), try await ResourceTable.all(db, kind: .branch),
             try await ResourceTable.all(db, kind: .project))
        }
        let gone = Set((branches + projects).filter { $0.deletedAt != nil }.map { "\($0.workspaceID)/\($0.name)" })
        return endpoints.filter { endpoint in
            endpoint.isReady && endpoint.port != nil
                && !gone.contains("\(endpoint.workspaceID)/\(endpoint.name.parent!)")
                && !gone.contains("\(endpoint.workspaceID)/\(endpoint.name.project)")
        }.map(connectable)
    }

    /// The endpoint with this uid, if clients can connect to it.
    public func connectableEndpoint(uid: String) async throws -> ConnectableEndpoint? {
        try await database.read { db in
            guard let endpoint = try await ResourceTable.endpoint(db, uid: uid), endpoint.isReady, endpoint.port != nil,
                  let branchName = endpoint.name.parent,
                  let branch = try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: branchName),
                  let project = try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: endpoint.name.project),
                  branch.deletedAt == nil, project.deletedAt == nil else { return nil }
            return connectable(endpoint)
        }
    }

    /// Starts the endpoint's compute if it is suspended; true when it had to be started. Throws when
    /// it is disabled or cannot start.
    public func wake(_ endpoint: ConnectableEndpoint) async throws -> Bool {
        if await work.driver.isRunning(id: endpoint.uid) { return false }
        guard let row = try await database.read({ db in try await ResourceTable.endpoint(db, uid: endpoint.uid) }) else {
            throw KilnError(.notFound, "endpoint \(endpoint.uid) not found")
        }
        guard row.spec["disabled"]?.boolValue != true else { throw KilnError(.invalidState, "endpoint \(endpoint.uid) is disabled") }
        try await work.startIfWanted(row)
        guard await work.driver.isRunning(id: endpoint.uid) else {
            throw KilnError(.invalidState, "endpoint \(endpoint.uid) cannot run now")
        }
        return true
    }

    /// Suspends an endpoint nobody uses (scale to zero): its postgres stops, its state becomes IDLE —
    /// unless `stillIdle()`, asked once the branch's data is free, says a client came meanwhile.
    public func suspend(uid: String, stillIdle: @escaping @Sendable () async -> Bool = { true }) async {
        guard let row = try? await database.read({ db in try await ResourceTable.endpoint(db, uid: uid) }),
              row.spec["no_suspension"]?.boolValue != true, await work.driver.isRunning(id: uid) else { return }
        guard await work.suspend(row, stillIdle: stillIdle) else { return }
        if let port = row.port { await work.driver.closeConnections(port: port) }
        logger.info("Suspended an idle endpoint", metadata: ["endpoint": "\(row.name)"])
    }

    /// Stops the computes whose endpoints are gone without an operation of their own (their workspace
    /// was deleted), and drops their proxy listeners.
    public func stopComputesWithoutEndpoints() async {
        guard let endpoints = try? await database.read({ db in try await ResourceTable.all(db, kind: .endpoint) }) else { return }
        let known = Set(endpoints.map(\.uid))
        for id in await work.driver.ids() where !known.contains(id) && !id.hasPrefix(DataDirectoryOwner.maintenancePrefix) {
            await work.owner.stop(id: id)
            logger.info("Stopped the compute of a deleted endpoint", metadata: ["endpoint": "\(id)"])
        }
        await work.driver.closeAllConnections()
        await notifyEndpointsChanged()
    }

    /// Whether `password` is `role`'s native password, known without waking a suspended endpoint (as
    /// Neon's proxy authenticates before `wake_compute`): for a read-write endpoint from the verifiers kept
    /// when it was suspended; for a replica from its primary (whose roles it replays): the running
    /// primary's `pg_authid`, or the verifiers the suspended primary kept. False means refuse; nil means
    /// not known here (the endpoint runs, or nothing was kept), so wake it and ask postgres.
    public func checkKeptPassword(_ endpoint: ConnectableEndpoint, role: String, password: String) async throws -> Bool? {
        guard !(await work.driver.isRunning(id: endpoint.uid)),
              let row = try await database.read({ db in try await ResourceTable.endpoint(db, uid: endpoint.uid) }) else { return nil }
        var owner = row
        if let branch = endpoint.replicaOf {
            guard let (primary, runningPort) = try await primary(of: branch, ws: endpoint.workspaceID) else { return nil }
            if let runningPort {
                do {
                    return Self.matches(try await work.driver.loginSecret(port: runningPort, role: role), password: password)
                } catch {
                    return nil   // the primary is going away: wake the replica and ask it
                }
            }
            owner = primary
        }
        guard let verifiers = try await work.keptVerifiers(of: owner) else { return nil }
        return Self.matches(verifiers[role], password: password)
    }

    /// Whether `password` is the native password of `role` on the running endpoint (checked against
    /// its SCRAM secret in `pg_authid`, as postgres would). A replica whose primary runs is checked
    /// against the primary, whose roles it replays: a replica that just woke may not have replayed a
    /// recent password change yet.
    public func checkNativePassword(_ endpoint: ConnectableEndpoint, role: String, password: String) async throws -> Bool {
        var port = endpoint.port
        if let branch = endpoint.replicaOf, let primaryPort = try await primary(of: branch, ws: endpoint.workspaceID)?.runningPort {
            port = primaryPort
        }
        return Self.matches(try await work.driver.loginSecret(port: port, role: role), password: password)
    }

    /// A branch's read-write endpoint (a replica's primary) and its port when it runs.
    private func primary(of branch: ResourceName, ws: Int64) async throws -> (endpoint: StoredResource, runningPort: Int?)? {
        guard let primary = try await work.primary(of: branch, ws: ws) else { return nil }
        return (primary, await work.driver.isRunning(id: primary.uid) ? primary.port : nil)
    }

    /// Whether `password` matches a role's stored SCRAM secret (nil or empty: not a role that may log in
    /// with a password); a password that matched the same secret lately is not derived again.
    private static func matches(_ stored: String?, password: String) -> Bool {
        guard let stored, let secret = ScramSecret(stored) else { return false }
        if VerifiedPasswords.shared.contains(storedHash: stored, password: password) { return true }
        guard secret.matches(password) else { return false }
        VerifiedPasswords.shared.insert(storedHash: stored, password: password)
        return true
    }

    /// The Unix socket of an endpoint's postgres.
    public func socketPath(_ endpoint: ConnectableEndpoint) -> String {
        work.driver.socketPath(port: endpoint.port)
    }

    /// Calls `body` whenever endpoints may have come, gone or changed (after every operation and at
    /// start-up), before the operation is reported done.
    public func onEndpointsChanged(_ body: @escaping @Sendable () async -> Void) {
        endpointsChanged.withLock { $0 = body }
    }

    func notifyEndpointsChanged() async {
        if let body = endpointsChanged.withLock({ $0 }) { await body() }
    }

    private func connectable(_ row: StoredResource) -> ConnectableEndpoint {
        let timeout: Duration? = if row.spec["no_suspension"]?.boolValue == true {
            nil
        } else if let override = suspendTimeoutOverride {
            override
        } else {
            .seconds(row.spec["suspend_timeout_duration"]?.stringValue.flatMap(ProtoTime.seconds(duration:)) ?? 86_400)
        }
        return ConnectableEndpoint(uid: row.uid, workspaceID: row.workspaceID, port: row.port ?? 0,
                                   disabled: row.spec["disabled"]?.boolValue == true, suspendTimeout: timeout,
                                   replicaOf: row.isReadOnly ? row.name.parent : nil)
    }
}

extension ResourceTable {
    static func endpoint(_ db: any SQLDatabase, uid: String) async throws -> StoredResource? {
        try await db.select().column("*").from(table).where("kind", .equal, ResourceKind.endpoint.rawValue).where("uid", .equal, uid)
            .first().map(StoredResource.init(row:))
    }
}
