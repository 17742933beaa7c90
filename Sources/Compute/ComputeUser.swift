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

    /// The command line that runs `arguments` as this user, dying with Kiln.
    func command(_ arguments: [String]) -> [String] {
        var command = ["/usr/bin/setpriv", "--pdeathsig", "SIGQUIT"]
        if switches {
            command += ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--reset-env"]
        }
        return command + ["--"] + arguments
    }

    /// Creates `path` (and its parents) owned by this user, so its commands can write there.
    func makeDirectory(_ path: String, mode: Int = 0o755) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true,
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
