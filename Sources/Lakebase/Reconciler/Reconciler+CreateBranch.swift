import Compute
import KilnCore
import Logging
import Persistence
import SQLKit

/// A new branch: a copy of its source's data (`DataDirectoryOwner.copy`, which holds the source while it copies),
/// its source's data as it was at `recoveryTarget` (`DataDirectoryOwner.restore`), or a copy of a snapshot's
/// data. A failure removes all of it. The branch is READY once its data is in place; its computes start
/// right after the operation is reported (`startComputes(ofNewBranch:ws:)`), as Neon answers a branch's
/// creation before its compute has started: their endpoints are IDLE meanwhile, and a client that connects
/// first wakes the compute as it would a suspended one. A branch of a protected branch is the exception: its
/// roles get new passwords before anyone may log in, on its started computes.
extension Reconciler {
    func createBranch(_ name: ResourceName, ws: Int64, recoveryTarget: RecoveryTarget?, snapshot snapshotName: ResourceName?) async throws {
        guard let branch = try await row(name, ws: ws), let project = try await row(name.project, ws: ws) else {
            throw LakebaseService.notFound(.branch)
        }
        let directory = try await dataDirectory(project: project, for: branch)
        let endpoints = try await children(name, .endpoint, ws: ws)
        let others = try await children(name, .role, ws: ws) + children(name, .database, ws: ws)
        do {
            // The data to copy: the snapshot's, or the source branch's (which must still be there).
            let sourceDirectory: String
            let fromProtected: Bool
            if let snapshotName {
                guard let snapshot = try await row(snapshotName, ws: ws), let path = snapshot.dataDirectory else {
                    throw LakebaseService.notFound(.snapshot)
                }
                (sourceDirectory, fromProtected) = (path, snapshot.snapshotContents.fromProtectedBranch)
            } else {
                guard let sourceName = branch.branchSpec.sourceBranch, let source = try await row(sourceName, ws: ws),
                    let path = source.dataDirectory
                else { throw LakebaseService.notFound(.branch) }
                (sourceDirectory, fromProtected) = (path, source.branchSpec.isProtected)
            }
            let started = ContinuousClock.now
            if !driver.exists(directory) {
                if let recoveryTarget {
                    let start = try await dataOwner.restore(
                        BranchHistory(dataDirectory: sourceDirectory), to: recoveryTarget, into: directory,
                        maintenancePort: { [database] in try await database.read { db in try await self.freePort(db) } })
                    try await recordStart(start, of: name, ws: ws)
                } else if let lsn = try await dataOwner.copy(sourceDirectory, to: directory), snapshotName == nil {
                    // Lakebase reports where a branch of the present starts too.
                    try await recordStart(lsn, of: name, ws: ws)
                }
            }
            try driver.keepHistory(BranchHistory(dataDirectory: directory))
            logger.debug("Branch data copied", metadata: ["branch": "\(name)", "copy": "\(ContinuousClock.now - started)"])
            if fromProtected {
                var ready = branch
                ready.setDataDirectory(directory)
                for endpoint in endpoints where !endpoint.endpointSpec.disabled {
                    try await dataOwner.start(serverSpec(endpoint: endpoint, dataDirectory: directory))
                }
                try await renewPasswords(of: others.filter { $0.kind == .role }, branch: ready)
            }
            try await markReady([branch] + endpoints, dataDirectory: directory)
        } catch {
            // Kiln is shutting down: the next start runs the operation again, on what is left.
            if Task.isCancelled { throw error }
            for endpoint in endpoints { await dataOwner.stop(id: endpoint.uid) }
            await dataOwner.remove(directory)
            try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            throw error
        }
    }

    /// Starts the computes of a branch just reported READY, as a client's wake would (a wake that came
    /// first has started it already; a delete or a disable that came meanwhile leaves it stopped). One
    /// that cannot start is logged and stays IDLE: a client's connection tries again and hears why.
    func startComputes(ofNewBranch name: ResourceName, ws: Int64) async {
        let started = ContinuousClock.now
        guard let endpoints = try? await children(name, .endpoint, ws: ws) else { return }
        for endpoint in endpoints where endpoint.isReady && !endpoint.endpointSpec.disabled {
            do {
                try await startIfWanted(endpoint, unlessRunning: true)
            } catch {
                if Task.isCancelled { return }
                logger.warning("A new branch's compute did not start", metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)"])
            }
        }
        logger.debug("New branch's computes started", metadata: ["branch": "\(name)", "start": "\(ContinuousClock.now - started)"])
    }

    /// Records where a new branch starts in its source's WAL (`source_branch_lsn`), on the branch as it is
    /// now: an update may have come while its data was copied.
    private func recordStart(_ lsn: LSN, of name: ResourceName, ws: Int64) async throws {
        try await database.write { db in
            guard var current = try await ResourceTable.get(db, workspaceID: ws, name: name) else { return }
            current.spec.set("source_branch_lsn", .string(lsn.description))
            try await ResourceTable.update(db, current)
        }
    }

    /// A branch made from a protected branch gets new passwords for the roles it copied.
    func renewPasswords(of roles: [StoredResource], branch: StoredResource) async throws {
        var statements: [String] = []
        var updated: [StoredResource] = []
        for var role in roles where role.sealedPassword != nil {
            let password = LakebaseSecrets.newPassword()
            role.setSealedPassword(try await secrets().seal(password))
            statements.append("ALTER ROLE \(SQLText.identifier(role.roleSpec.postgresRole)) PASSWORD \(SQLText.literal(password))")
            updated.append(role)
        }
        guard !statements.isEmpty else { return }
        try await sql(branch, statements)
        let renewed = updated
        try await database.write { db in for role in renewed { try await ResourceTable.update(db, role) } }
    }
}

extension RecoveryTarget {
    /// How an operation's payload keeps it: `{"time_us": <Unix µs>, "time": <Unix ms>}` or `{"lsn": "X/Y"}`.
    /// A payload written before Kiln kept microseconds has `{"time": <Unix ms>}`, which is read too; and an
    /// older Kiln reading a new payload (the same database, or a rollback) finds the milliseconds it knows,
    /// rather than no target, which it would take for the source's present.
    var json: JSONTree {
        switch self {
        case .time(let micros): .object([.init("time_us", .integer(micros)), .init("time", .integer(ProtoTime.millis(micros: micros)))])
        case .lsn(let lsn): .object([.init("lsn", .string(lsn.description))])
        }
    }

    init?(json: JSONTree) {
        if let micros = json["time_us"]?.doubleValue {
            self = .time(micros: Int64(micros))
        } else if let millis = json["time"]?.doubleValue {
            self = .time(micros: Int64(millis) * 1000)
        } else if let lsn = json["lsn"]?.stringValue.flatMap(LSN.init) {
            self = .lsn(lsn)
        } else {
            return nil
        }
    }

    /// The moment in Unix microseconds, for a time target.
    var micros: Int64? {
        if case .time(let micros) = self { return micros }
        return nil
    }
}
