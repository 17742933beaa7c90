#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif
import Foundation

/// The account PostgreSQL runs as. Every compute command goes through `setpriv`, which switches to this
/// account when Kiln is root and always arranges for the process to get SIGQUIT when Kiln dies, so a
/// killed Kiln leaves no `postgres` behind.
public struct ComputeUser: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    /// Whether commands must switch to this account (Kiln runs as another user, i.e. root).
    public var switches: Bool

    /// `postgres` when Kiln is root, else the current user.
    public static func forCurrentProcess() throws -> ComputeUser {
        if getuid() != 0 {
            let name = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "kiln"
            return ComputeUser(name: name, uid: getuid(), gid: getgid(), switches: false)
        }
        guard let entry = getpwnam("postgres") else {
            throw ComputeError("Kiln runs as root and PostgreSQL refuses to: create a 'postgres' account (the Debian package does).")
        }
        return ComputeUser(name: "postgres", uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, switches: true)
    }

    /// The command line that runs `arguments` as this user, sent `deathSignal` when Kiln dies (SIGQUIT:
    /// postgres's immediate shutdown).
    ///
    /// `setpriv` asks for the signal (`prctl(PR_SET_PDEATHSIG)`) only once it runs, and the kernel sends
    /// none to a process whose parent had already died by then (prctl(2)): a Kiln killed while `setpriv`
    /// starts would leave its postgres running for good. So a shell between them checks, after the
    /// `prctl`, that its parent is still this Kiln, and starts nothing when it is not.
    func command(_ arguments: [String], deathSignal: String = "SIGQUIT") -> [String] {
        var command = ["/usr/bin/setpriv", "--pdeathsig", deathSignal]
        if switches {
            command += ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--reset-env"]
        }
        let parentCheck = ["/bin/sh", "-c", #"[ "$PPID" = "$0" ] && exec "$@""#, String(getpid())]
        return command + ["--"] + parentCheck + arguments
    }

    /// Makes sure this user can reach `directory`: every folder above it must be searchable by it. Kiln
    /// running as root with its data under a closed folder (`/root` is 0700) would otherwise fail at the
    /// first `initdb`. A closed folder gets an ACL entry `u:<user>:x` (search only, nothing readable)
    /// with `setfacl`; returns the folders so opened, for the log.
    ///
    /// Throws `ComputeError` naming the folder and the fix when it cannot open one (no `setfacl`, or a
    /// filesystem without ACLs).
    public func ensureCanReach(_ directory: String) async throws -> [String] {
        guard switches else { return [] }
        let path = URL(fileURLWithPath: directory).standardizedFileURL.path
        if try await canSearch(path) { return [] }
        var granted: [String] = []
        var folder = "/"
        for component in path.split(separator: "/") {
            folder = folder == "/" ? "/\(component)" : "\(folder)/\(component)"
            guard FileManager.default.fileExists(atPath: folder), !(try await canSearch(folder)) else { continue }
            let setfacl = ["/usr/bin/setfacl", "/bin/setfacl"].first { FileManager.default.isExecutableFile(atPath: $0) }
            let opened: Bool
            if let setfacl {
                opened = try await Self.succeeds([setfacl, "-m", "u:\(name):x", folder])
            } else {
                opened = false
            }
            guard opened, try await canSearch(folder) else {
                throw ComputeError(
                    "PostgreSQL runs as the '\(name)' account, which cannot reach the data directory \(path): \(folder) is closed to it. "
                        + "Grant it search permission with `setfacl -m u:\(name):x \(folder)` (Debian package acl), or `chmod o+x \(folder)`, "
                        + "or choose a data directory it can reach (--data-dir).")
            }
            granted.append(folder)
        }
        return granted
    }

    /// Whether this user has search permission along the whole of `path`.
    private func canSearch(_ path: String) async throws -> Bool {
        try await Self.succeeds(command(["/usr/bin/test", "-x", path]))
    }

    private static func succeeds(_ command: [String]) async throws -> Bool {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-check-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        return await (try Launcher.shared.launch(command, logPath: log)).waitForExit() == 0
    }

    /// Creates `path` (and its parents) owned by this user, so its commands can write there.
    func makeDirectory(_ path: String, mode: Int = 0o755) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(
            atPath: parent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        if switches { _ = chown(path, uid, gid) }
        _ = chmod(path, mode_t(mode))
    }

    /// Writes a file owned by this user, readable by it alone.
    func writeFile(_ path: String, contents: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ComputeError("Cannot write \(path)")
        }
        if switches { _ = chown(path, uid, gid) }
    }
}
