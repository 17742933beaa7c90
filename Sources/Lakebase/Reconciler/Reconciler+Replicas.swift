import Compute
import KilnCore
import Logging
import Persistence

/// Read-only endpoints (read replicas). Lakebase's replicas read the branch's shared storage; Kiln's are
/// PostgreSQL hot standbys with a data directory of their own, made by `pg_basebackup` of the branch
/// and kept current by streaming from the branch's read-write compute through a replication slot (the
/// primary keeps the WAL a suspended replica has yet to read). A replica that wakes while its primary
/// is suspended reads that WAL from the primary's `pg_wal`, so it still sees every committed change.
extension Reconciler {
    /// The physical replication slot that keeps a replica's WAL on its primary.
    static func slotName(_ replica: StoredResource) -> String {
        "kiln_" + String(replica.uid.map { $0 == "-" ? "_" : $0 })
    }

    /// Settings a hot standby must have at least as high as its primary, or it does not start.
    static let standbyMinimums: [String: Int] = [
        "max_connections": 100, "max_worker_processes": 8, "max_wal_senders": 4,
        "max_prepared_transactions": 0, "max_locks_per_transaction": 64,
    ]

    /// A replica's settings with each of `standbyMinimums` raised to the primary's value (or the
    /// PostgreSQL default either leaves unset).
    static func standbySettings(_ settings: [String: String], primary: [String: String]) -> [String: String] {
        var result = settings
        for (key, floor) in standbyMinimums {
            let values = [settings[key], primary[key]].compactMap { $0.flatMap { Int($0) } }
            result[key] = String(max(floor, values.max() ?? floor))
        }
        return result
    }

    /// The branch's read-write endpoint.
    func primary(of branch: ResourceName, ws: Int64) async throws -> StoredResource? {
        try await children(branch, .endpoint, ws: ws).first { !$0.isReadOnly }
    }

    /// What a replica runs: its own size, raised to its primary's values where a standby must be, and
    /// where its WAL comes from.
    func replicaSpec(_ replica: StoredResource, directory: String, primary: StoredResource?, primaryDirectory: String) -> ServerSpec {
        var spec = serverSpec(endpoint: replica, dataDirectory: directory)
        if let primary {
            spec.settings = Self.standbySettings(spec.settings, primary: serverSpec(endpoint: primary, dataDirectory: primaryDirectory).settings)
            if let port = primary.port {
                spec.settings["primary_conninfo"] =
                    "host=\(driver.socketDirectory) port=\(port) user=kiln_system application_name=\(replica.uid)"
            }
        }
        spec.settings["primary_slot_name"] = Self.slotName(replica)
        spec.settings["restore_command"] = "cp \"\(primaryDirectory)/pg_wal/%f\" \"%p\""
        spec.settings["wal_retrieve_retry_interval"] = "1s"
        spec.settings["hot_standby"] = "on"
        return spec
    }

    /// Makes a new replica's data: a base backup of its branch (whose compute runs for it if need
    /// be) with the replica's slot. Returns the replica with its data directory recorded.
    func makeReplica(_ replica: StoredResource) async throws -> StoredResource {
        let ws = replica.workspaceID
        guard let branch = try await row(replica.name.branch, ws: ws), let project = try await row(replica.name.project, ws: ws) else {
            throw LakebaseService.notFound(.branch)
        }
        let directory = try await dataDirectory(project: project, for: replica)
        if !driver.exists(directory) {
            guard let branchDirectory = branch.dataDirectory else {
                throw KilnError(.invalidState, "The branch \(branch.name) has no data yet.")
            }
            try await dataOwner.makeStandby(
                of: branchDirectory, slot: Self.slotName(replica), to: directory,
                maintenancePort: { [database] in
                    try await database.read { db in try await self.freePort(db) }
                })
        }
        var made = replica
        made.setDataDirectory(directory)
        let recorded = made
        try await database.write { db in try await ResourceTable.update(db, recorded) }
        return made
    }

    /// Removes a stopped replica's data and its slot on the primary (so the primary stops keeping WAL
    /// for it).
    func removeReplica(_ replica: StoredResource) async {
        if let directory = replica.dataDirectory { await dataOwner.remove(directory) }
        guard let branch = try? await row(replica.name.branch, ws: replica.workspaceID), branch.deletedAt == nil,
            branch.dataDirectory != nil
        else { return }
        let slot = Self.slotName(replica)
        do {
            try await onBranch(branch) { [driver] port in try await driver.dropReplicationSlot(port: port, slot: slot) }
        } catch {
            logger.warning("Cannot drop a deleted replica's replication slot", metadata: ["replica": "\(replica.name)", "error": "\(error)"])
        }
    }

    /// Restarts the branch's running replicas whose settings follow a primary that changed.
    func followPrimary(of branch: ResourceName, ws: Int64) async {
        for replica in (try? await children(branch, .endpoint, ws: ws)) ?? [] where replica.isReadOnly {
            guard await driver.isRunning(id: replica.uid) else { continue }
            do {
                try await startIfWanted(replica)
            } catch {
                logger.warning("A replica did not restart with its primary's new settings", metadata: ["replica": "\(replica.name)", "error": "\(error)"])
            }
        }
    }
}
