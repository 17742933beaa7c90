import Foundation

/// Where and how Kiln runs PostgreSQL.
///
/// | key | default |
/// |---|---|
/// | `builds` | every major version under `/usr/lib/postgresql` (Debian's) and `PostgresBuilds.defaultKilnRoot` |
/// | `workDirectory` | `<data-dir>/compute` (the empty-cluster templates and the builds' server trees live here) |
/// | `socketDirectory` | `/tmp/kiln-<hash of the work directory>` (Unix socket paths are limited to 107 bytes) |
/// | `listenHost` | `127.0.0.1`, where Kiln's proxy takes each endpoint's clients (postgres listens on its Unix socket only) |
/// | `ports` | `55000..<56000`, one per endpoint |
/// | `user` | the `postgres` account when Kiln runs as root (PostgreSQL refuses root), else Kiln's own user |
/// | `pgbouncerProgram` | `/usr/sbin/pgbouncer` (Debian's `pgbouncer`), each compute's connection pooler |
/// | `copyOnWrite` | `false`; Kiln sets it when the storage root has reflinks |
public struct ComputeConfiguration: Sendable {
    public var builds: PostgresBuilds
    public var workDirectory: String
    public var socketDirectory: String
    public var listenHost: String
    public var ports: Range<Int>
    public var user: ComputeUser
    public var pgbouncerProgram = "/usr/sbin/pgbouncer"
    /// Whether the data directories are on a filesystem with reflinks (`StorageVolume.hasReflinks`): branches
    /// are clones there, and computes run with `PostgresServer.copyOnWriteSettings`.
    public var copyOnWrite = false

    /// Throws `ComputeError` when no PostgreSQL build is found under `postgresRoots`.
    public init(
        postgresRoots: [String]? = nil, extensionFiles: [String: String] = [:], workDirectory: String, socketDirectory: String? = nil,
        listenHost: String = "127.0.0.1", ports: Range<Int> = 55000..<56000, user: ComputeUser? = nil
    ) throws {
        self.workDirectory = URL(fileURLWithPath: workDirectory).standardizedFileURL.path
        builds = PostgresBuilds(
            roots: postgresRoots ?? ["/usr/lib/postgresql", PostgresBuilds.defaultKilnRoot], treeRoot: self.workDirectory,
            extensionFiles: extensionFiles)
        guard !builds.majors.isEmpty else {
            throw ComputeError(
                "PostgreSQL is not installed: no <major>/bin/postgres under /usr/lib/postgresql (Debian's postgresql) or \(PostgresBuilds.defaultKilnRoot) (scripts/install-postgres)."
            )
        }
        self.socketDirectory = socketDirectory ?? "/tmp/kiln-\(String(UInt32(truncatingIfNeeded: Self.stableHash(self.workDirectory)), radix: 36))"
        self.listenHost = listenHost
        self.ports = ports
        self.user = try user ?? ComputeUser.forCurrentProcess()
    }

    /// Whether computes can have a connection pooler: PgBouncer is installed at `pgbouncerProgram`.
    public var hasPooler: Bool { FileManager.default.isExecutableFile(atPath: pgbouncerProgram) }

    /// The newest major version installed: what copies use for `pg_basebackup`, which reads servers of
    /// its own and older versions.
    public var newestMajor: Int { builds.majors.last ?? 0 }

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
