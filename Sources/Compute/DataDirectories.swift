#if canImport(Glibc)
    import Glibc
#endif
import Foundation

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

    /// A copy of a data directory whose server is stopped: `cp -a`, then synced to disk. A failure
    /// (a full disk, say) removes the partial copy.
    public func copy(stoppedDirectory source: String, to path: String) async throws {
        try prepareParent(of: path)
        let partial = path + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try await commands.run(["/bin/cp", "-a", source, partial], what: "Copying the parent's data")
            try? FileManager.default.removeItem(atPath: partial + "/postmaster.pid")
            try removeReplicationSlots(in: partial)
            try await commands.run(["/bin/sync", "-f", partial], what: "Syncing the copy")
            try FileManager.default.moveItem(atPath: partial, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// A copy of a running server's data: `pg_basebackup` over its Unix socket, consistent as of the
    /// moment it finishes. A failure removes the partial copy.
    public func copy(runningServerPort port: Int, to path: String) async throws {
        try await baseBackup(port: port, to: path, what: "pg_basebackup of the parent")
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

    /// A copy keeps no replication slots: they belong to the standbys of the original, and a slot
    /// nobody reads would keep WAL forever.
    private func removeReplicationSlots(in path: String) throws {
        let slots = path + "/pg_replslot"
        for slot in (try? FileManager.default.contentsOfDirectory(atPath: slots)) ?? [] {
            try FileManager.default.removeItem(atPath: slots + "/" + slot)
        }
    }

    /// Removes a data directory and what lies beside it (its log, its suspended marker). Its server must
    /// be stopped.
    public func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".partial")
        try? FileManager.default.removeItem(atPath: path + ".log")
        try? FileManager.default.removeItem(atPath: path + ".suspended")
    }

    /// Records whether the compute of the data directory at `path` was suspended for being idle (a
    /// marker file beside it), so that a restarted Kiln leaves it suspended until a client connects. The
    /// marker keeps `verifiers` — each role that may log in, with its SCRAM secret, as `pg_authid` held
    /// them at the suspend — so that a wrong password is refused without starting the compute.
    public func setSuspended(_ path: String, _ suspended: Bool, verifiers: [String: String]? = nil) {
        if suspended {
            let contents = verifiers.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
            FileManager.default.createFile(atPath: path + ".suspended", contents: contents, attributes: [.posixPermissions: 0o600])
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
        guard let files = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let file = files.nextObject() as? String {
            if let size = files.fileAttributes?[.size] as? NSNumber, files.fileAttributes?[.type] as? FileAttributeType == .typeRegular {
                total += size.int64Value
            }
            _ = file
        }
        return total
    }

    private func prepareParent(of path: String) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try configuration.user.makeDirectory(parent, mode: 0o700)
        try configuration.user.makeDirectory(configuration.socketDirectory, mode: 0o700)
    }
}
