import Foundation

/// Where and how Kiln runs PostgreSQL.
///
/// | key | default |
/// |---|---|
/// | `binDirectory` | the newest `/usr/lib/postgresql/<major>/bin` |
/// | `workDirectory` | `<data-dir>/compute` (the empty-cluster template lives here) |
/// | `socketDirectory` | `/tmp/kiln-<hash of the work directory>` (Unix socket paths are limited to 107 bytes) |
/// | `listenHost` | `127.0.0.1`, where Kiln's proxy takes each endpoint's clients (postgres listens on its Unix socket only) |
/// | `ports` | `55000..<56000`, one per endpoint |
/// | `user` | the `postgres` account when Kiln runs as root (PostgreSQL refuses root), else Kiln's own user |
public struct ComputeConfiguration: Sendable {
    public var binDirectory: String
    public var workDirectory: String
    public var socketDirectory: String
    public var listenHost: String
    public var ports: Range<Int>
    public var user: ComputeUser

    public init(
        binDirectory: String? = nil, workDirectory: String, socketDirectory: String? = nil,
        listenHost: String = "127.0.0.1", ports: Range<Int> = 55000..<56000, user: ComputeUser? = nil
    ) throws {
        guard let bin = binDirectory ?? Self.newestBinDirectory() else {
            throw ComputeError("PostgreSQL is not installed: no /usr/lib/postgresql/<version>/bin/postgres was found.")
        }
        self.binDirectory = bin
        self.workDirectory = URL(fileURLWithPath: workDirectory).standardizedFileURL.path
        self.socketDirectory = socketDirectory ?? "/tmp/kiln-\(String(UInt32(truncatingIfNeeded: Self.stableHash(self.workDirectory)), radix: 36))"
        self.listenHost = listenHost
        self.ports = ports
        self.user = try user ?? ComputeUser.forCurrentProcess()
    }

    /// The path of a PostgreSQL program.
    func program(_ name: String) -> String { binDirectory + "/" + name }

    /// The major version of the installed PostgreSQL (the directory name above `bin`).
    public var majorVersion: Int {
        Int(URL(fileURLWithPath: binDirectory).deletingLastPathComponent().lastPathComponent) ?? 0
    }

    static func newestBinDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().reversed()
            .map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") }
    }

    /// FNV-1a: a hash that is the same in every run (Swift's `Hasher` is seeded per process).
    public static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}

/// A failure of the compute layer, with a message fit for an operation's error.
public struct ComputeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
