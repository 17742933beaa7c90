#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import PostgresNIO

/// Making, copying and removing data directories: a branch's data is one PostgreSQL data directory.
public struct DataDirectories: Sendable {
    let configuration: ComputeConfiguration
    var commands: Commands { Commands(configuration: configuration) }

    public init(configuration: ComputeConfiguration) {
        self.configuration = configuration
    }

    /// Makes the empty-cluster template of PostgreSQL `major` now, so that the first project of that
    /// version does not wait for `initdb`.
    public func prepareTemplate(major: Int) async throws {
        try await ClusterTemplate(configuration: configuration, major: major).prepare(logger: AdminSession.logger)
    }

    /// A new empty cluster of PostgreSQL `major` at `path`, copied from the template (made first if need
    /// be). Throws `ComputeError` when that version is not installed.
    public func createEmpty(at path: String, major: Int) async throws {
        let template = ClusterTemplate(configuration: configuration, major: major)
        try await template.prepare(logger: AdminSession.logger)
        try await copy(stoppedDirectory: template.path, to: path)
    }

    /// A copy of a data directory whose server is stopped, synced to disk: reflink clones of its files
    /// where the filesystem has them, else copies (`DirectoryClone`). A failure (a full disk, say) removes
    /// the partial copy.
    ///
    /// Of the WAL it copies only what the copy's start needs: the segments from its last checkpoint's redo
    /// point to the checkpoint itself (`pg_controldata`), not the old or recycled ones a server keeps up to
    /// `max_wal_size`. A copy that was never started (a snapshot's: `copy(runningServerPort:)` made it) keeps
    /// its `backup_label` and all its WAL, so that its first start recovers as the original's would.
    @discardableResult
    public func copy(stoppedDirectory source: String, to path: String) async throws -> LSN? {
        // After a clean shutdown the data needs no WAL past its checkpoint; after a crash or an immediate stop,
        // recovery needs all of it.
        let backup = FileManager.default.fileExists(atPath: source + "/backup_label")
        var clean = false
        if !backup { clean = await isCleanlyStopped(source) }
        let firstSegment = clean ? await controlData(of: source, "Latest checkpoint's REDO WAL file:") : nil
        let checkpoint = clean ? await controlData(of: source, "Latest checkpoint location:").flatMap(LSN.init) : nil
        let lastSegment = checkpoint.map(BranchHistory.segmentName)
        try await cloneAtomically(to: path) { partial in
            var clone = DirectoryClone(alsoEmptied: ["pg_wal"], keepsBackupLabel: backup)
            try clone.copy(source, to: partial)
            try clone.copyFiles(of: source + "/pg_wal", to: partial + "/pg_wal", from: firstSegment, through: lastSegment)
        }
        return checkpoint
    }

    /// Whether the stopped data directory at `path` was shut down cleanly (`Database cluster state: shut down`).
    func isCleanlyStopped(_ path: String) async -> Bool {
        guard let major = configuration.builds.major(ofDataDirectory: path), let bin = configuration.builds.binDirectories[major],
            let output = try? await Commands.output([bin + "/pg_controldata", "-D", path], what: "pg_controldata")
        else { return false }
        return output.split(separator: "\n").contains { $0.hasPrefix("Database cluster state:") && $0.hasSuffix(" shut down") }
    }

    /// A value `pg_controldata` prints for the stopped data directory at `path` (the last word of the line
    /// that starts with `label`); nil when it cannot tell.
    func controlData(of path: String, _ label: String) async -> String? {
        guard let major = configuration.builds.major(ofDataDirectory: path), let bin = configuration.builds.binDirectories[major],
            let output = try? await Commands.output([bin + "/pg_controldata", "-D", path], what: "pg_controldata")
        else { return nil }
        let line = output.split(separator: "\n").first { $0.hasPrefix(label) }
        return line.flatMap { $0.split(separator: " ").last.map(String.init) }
    }

    /// A copy of the data of the server running on `port` (whose data directory is `source`), consistent
    /// as of the moment it finishes: PostgreSQL's low-level backup (`pg_backup_start`, the files cloned or
    /// copied as `copy(stoppedDirectory:)` does, `pg_backup_stop`, then the WAL written meanwhile and the
    /// `backup_label`), so the copy's first start recovers to a consistent state, as a restored base
    /// backup does. A temporary replication slot keeps the WAL from the backup's start until it is
    /// copied. Needs PostgreSQL 15 or later. A failure removes the partial copy and ends the backup.
    ///
    /// On a filesystem with reflinks this takes the same time whatever the size, where `pg_basebackup`
    /// streamed every byte (PostgreSQL docs, "Making a Base Backup Using the Low Level API").
    @discardableResult
    public func copy(runningServerPort port: Int, dataDirectory source: String, to path: String) async throws -> LSN {
        let asked = ContinuousClock.now
        return try await AdminSession.withConnection(configuration: configuration, port: port, database: "postgres") { connection in
            let connected = ContinuousClock.now
            // One round trip: the slot (made first, as the FROM clause is) holds the WAL from before the
            // backup's start until the copy has it.
            let slot = "kiln_clone_\(UUID().uuidString.prefix(8).lowercased())"
            let firstSegment = try await AdminSession.strings(
                connection,
                "SELECT pg_walfile_name(pg_backup_start('kiln branch', true)) FROM pg_create_physical_replication_slot(\(slot), true, true)"
            ).first
            let started = ContinuousClock.now
            var stopLSN = LSN(0)
            var (cloned, stopped) = (started, started)
            try await cloneAtomically(to: path) { partial in
                var clone = DirectoryClone(alsoEmptied: ["pg_wal"])
                try clone.copy(source, to: partial)
            } finish: { partial in
                cloned = ContinuousClock.now
                let rows = try await connection.query(
                    "SELECT lsn::text, labelfile, coalesce(spcmapfile, '') FROM pg_backup_stop(false)", logger: AdminSession.logger)
                var files: [(String, String, String)] = []
                for try await row in rows.decode((String, String, String).self) { files.append(row) }
                guard let (stopText, label, tablespaceMap) = files.first, let stop = LSN(stopText) else {
                    throw ComputeError("pg_backup_stop returned nothing.")
                }
                stopLSN = stop
                stopped = ContinuousClock.now
                try await DirectoryClone.onThread {
                    var clone = DirectoryClone()
                    try clone.copyFiles(
                        of: source + "/pg_wal", to: partial + "/pg_wal", from: firstSegment, through: BranchHistory.segmentName(of: stop))
                }
                try configuration.user.writeFile(partial + "/backup_label", contents: label)
                if !tablespaceMap.isEmpty { try configuration.user.writeFile(partial + "/tablespace_map", contents: tablespaceMap) }
            }
            AdminSession.logger.debug(
                "Copied a running server's data",
                metadata: [
                    "connect": "\(connected - asked)", "backup_start": "\(started - connected)", "clone": "\(cloned - started)",
                    "backup_stop": "\(stopped - cloned)", "wal_and_sync": "\(ContinuousClock.now - stopped)",
                ])
            return stopLSN
        }
    }

    /// Runs `copy` (file work, on a thread of its own) into `<path>.partial`, then the async `finish`,
    /// syncs the copy to disk and renames it to `path`; a failure removes the partial copy. A partial copy
    /// a killed Kiln left goes first, with the recovery postgres still running on it if its parent-death
    /// signal has not stopped it yet.
    func cloneAtomically(
        to path: String, _ copy: @escaping @Sendable (String) throws -> Void,
        finish: (String) async throws -> Void = { _ in }
    ) async throws {
        try prepareParent(of: path)
        let partial = path + ".partial"
        await OrphanSweep.stopOrphans(dataDirectories: [partial])
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try await DirectoryClone.onThread { try copy(partial) }
            try await finish(partial)
            try await DirectoryClone.onThread { try DirectoryClone.sync(partial) }
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// A hot standby of a running server: a base backup that also creates the physical replication
    /// `slot` through which the server keeps the WAL the standby has yet to receive, then
    /// `standby.signal`. A failure removes the partial copy; a slot already made is the caller's to drop.
    public func copy(standbyOfPort port: Int, slot: String, to path: String) async throws {
        try await baseBackup(port: port, to: path, extraArguments: ["-C", "-S", slot], what: "pg_basebackup of the primary") { partial in
            try configuration.user.writeFile(partial + "/standby.signal", contents: "")
        }
    }

    private func baseBackup(
        port: Int, to path: String, extraArguments: [String] = [], what: String, finish: (String) throws -> Void = { _ in }
    ) async throws {
        try prepareParent(of: path)
        let partial = path + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            guard let bin = configuration.builds.binDirectories[configuration.newestMajor] else {
                throw ComputeError("PostgreSQL is not installed.")
            }
            try await commands.run(
                [
                    bin + "/pg_basebackup", "-h", configuration.socketDirectory,
                    "-p", String(port), "-U", "kiln_system", "-D", partial, "-X", "stream", "-c", "fast",
                ]
                    + extraArguments, what: what)
            try finish(partial)
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// Removes a data directory and what lies beside it (its log, its suspended marker, its history). Its
    /// server must be stopped.
    public func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".partial")
        try? FileManager.default.removeItem(atPath: path + ".partial.log")
        try? FileManager.default.removeItem(atPath: path + ".log")
        try? FileManager.default.removeItem(atPath: path + ".suspended")
        try? FileManager.default.removeItem(atPath: path + ".history")
    }

    /// Records whether the compute of the data directory at `path` was suspended for being idle (a
    /// marker file beside it), so that a restarted Kiln leaves it suspended until a client connects. The
    /// marker keeps `verifiers` — each role that may log in, with its SCRAM secret, as `pg_authid` held
    /// them at the suspend — so that a wrong password is refused without starting the compute.
    public func setSuspended(_ path: String, _ suspended: Bool, verifiers: [String: String]? = nil) {
        if suspended {
            let contents = verifiers.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
            _ = FileManager.default.createFile(atPath: path + ".suspended", contents: contents, attributes: [.posixPermissions: 0o600])
        } else {
            try? FileManager.default.removeItem(atPath: path + ".suspended")
        }
    }

    /// The login verifiers kept when the compute at `path` was suspended; nil when it is not suspended or
    /// they are unknown (suspended before Kiln kept them, or forgotten since).
    public func keptVerifiers(_ path: String) -> [String: String]? {
        guard let data = FileManager.default.contents(atPath: path + ".suspended"), !data.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: String]
    }

    /// Replaces the kept verifiers of a suspended compute (nil: forget them); nothing if it is not suspended.
    public func replaceVerifiers(_ path: String, with verifiers: [String: String]?) {
        guard isSuspended(path) else { return }
        setSuspended(path, true, verifiers: verifiers)
    }

    public func isSuspended(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + ".suspended")
    }

    /// Writes `contents` to the file `name` inside the data directory at `path` (a new file renamed over
    /// the old one, so that a server reading it sees one or the other), readable by the compute user only.
    public func writeFile(_ name: String, contents: String, inDataDirectory path: String) throws {
        let partial = path + "/" + name + ".\(UUID().uuidString).partial"
        try configuration.user.writeFile(partial, contents: contents)
        if rename(partial, path + "/" + name) != 0 {
            throw ComputeError("Cannot write \(name) in \(path): \(String(cString: strerror(errno))).")
        }
    }

    /// Whether a complete data directory is at `path`.
    public func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/PG_VERSION")
    }

    /// The bytes the data directory's files hold (its logical size, as far as Kiln can tell).
    public func size(of path: String) -> Int64 {
        DirectoryClone.bytes(under: path)
    }

    private func prepareParent(of path: String) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try configuration.user.makeDirectory(parent, mode: 0o700)
        try configuration.user.makeDirectory(configuration.socketDirectory, mode: 0o700)
    }
}
