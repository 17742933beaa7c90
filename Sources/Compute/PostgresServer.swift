import Foundation

/// What to run: one postgres on one data directory.
public struct ServerSpec: Sendable, Equatable {
    /// The endpoint's unique id; names the instance in logs.
    public var id: String
    public var dataDirectory: String
    public var port: Int
    /// `postgres -c` settings, applied over the data directory's own configuration.
    public var settings: [String: String]

    public init(id: String, dataDirectory: String, port: Int, settings: [String: String]) {
        self.id = id
        self.dataDirectory = dataDirectory
        self.port = port
        self.settings = settings
    }

    /// The server log, beside the data directory.
    var logPath: String { dataDirectory + ".log" }
}

/// One running postgres process: started, watched for readiness, stopped.
final class PostgresServer: Sendable {
    let spec: ServerSpec
    let process: ChildProcess

    private init(spec: ServerSpec, process: ChildProcess) {
        self.spec = spec
        self.process = process
    }

    /// Spawns the postgres of the data directory's major version (its `PG_VERSION`) and returns once it
    /// accepts connections (its `postmaster.pid` says `ready`, or `standby` for a replica). Throws with the
    /// end of the server log when it exits or takes longer than `timeout`, and `ComputeError` when that
    /// version is not installed.
    static func start(_ spec: ServerSpec, configuration: ComputeConfiguration, timeout: Duration = .seconds(60)) async throws -> PostgresServer {
        try ClusterTemplate.writeHBA(configuration)
        guard let major = configuration.builds.major(ofDataDirectory: spec.dataDirectory) else {
            throw ComputeError("\(spec.dataDirectory) is not a PostgreSQL data directory (it has no PG_VERSION).")
        }
        let build = try await configuration.builds.build(major: major)
        var arguments = [
            build.program("postgres"), "-D", spec.dataDirectory,
            "-c", "port=\(spec.port)",
            "-c", "listen_addresses=", // clients come through Kiln's proxy, over the Unix socket
            "-c", "unix_socket_directories=\(configuration.socketDirectory)",
            "-c", "hba_file=\(ClusterTemplate.hbaPath(configuration))",
        ]
        var base = configuration.copyOnWrite ? Self.baseSettings.merging(Self.copyOnWriteSettings) { _, new in new } : Self.baseSettings
        let history = BranchHistory(dataDirectory: spec.dataDirectory)
        if history.isKept { base.merge(history.archiveSettings) { _, new in new } }
        for (key, value) in (base.merging(spec.settings) { _, new in new }).sorted(by: { $0.key < $1.key }) {
            arguments += ["-c", "\(key)=\(value)"]
        }
        let process = try await Launcher.shared.launch(configuration.user.command(arguments), logPath: spec.logPath)
        let server = PostgresServer(spec: spec, process: process)
        let deadline = ContinuousClock.now + timeout
        let pidFile = spec.dataDirectory + "/postmaster.pid"
        while true {
            if process.hasExited {
                throw ComputeError("postgres did not start: \(Self.logTail(spec))")
            }
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8) {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                if lines.count > 7, lines[0] == "\(process.pid)",
                    ["ready", "standby"].contains(lines[7].trimmingCharacters(in: .whitespaces))
                {
                    return server
                }
            }
            if ContinuousClock.now > deadline {
                await server.stop()
                throw ComputeError("postgres did not become ready within \(timeout): \(Self.logTail(spec))")
            }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Settings every Kiln compute runs with.
    static let baseSettings: [String: String] = [
        "recovery_init_sync_method": "syncfs", // a restart after a crash in ~30 ms, not seconds
        "logging_collector": "off",
        "log_line_prefix": "%m [%p] ",
        "max_wal_senders": "4",
        "wal_level": "replica",
    ]

    /// Returns once the server has finished archive recovery and promoted itself: `recovery.signal` is gone
    /// and `postmaster.pid` says `ready`. Throws with the end of the server log when it exits first (a
    /// recovery target it cannot reach) or takes longer than `timeout`.
    func waitUntilPromoted(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if process.hasExited {
                let log = (try? String(contentsOfFile: spec.logPath, encoding: .utf8)) ?? ""
                let fatal = log.split(separator: "\n").filter { $0.contains("FATAL") }.map { $0.trimmingCharacters(in: .whitespaces) }
                throw ComputeError("Recovery failed: " + (fatal.isEmpty ? Self.logTail(spec) : fatal.joined(separator: " | ")))
            }
            let status = (try? String(contentsOfFile: spec.dataDirectory + "/postmaster.pid", encoding: .utf8))?
                .split(separator: "\n", omittingEmptySubsequences: false).dropFirst(7).first?.trimmingCharacters(in: .whitespaces)
            if status == "ready", !FileManager.default.fileExists(atPath: spec.dataDirectory + "/recovery.signal") { return }
            if ContinuousClock.now > deadline {
                await stop()
                throw ComputeError("Recovery did not finish within \(timeout): \(Self.logTail(spec))")
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Settings for data on a copy-on-write filesystem, as PostgreSQL's documentation advises for one
    /// ("Write Ahead Log", `wal_init_zero` and `wal_recycle`): a new WAL segment is not filled with 16 MB of
    /// zeros first (which made each branch's `pg_backup_stop`, whose segment switch makes one, take 60 ms), and
    /// old ones are removed rather than renamed for reuse.
    static let copyOnWriteSettings: [String: String] = ["wal_init_zero": "off", "wal_recycle": "off"]

    /// Fast shutdown (SIGINT); immediate (SIGQUIT) after 10 s, SIGKILL after 20 s.
    func stop() async {
        await process.stop([SIGINT], escalation: [(.seconds(10), SIGQUIT), (.seconds(10), SIGKILL)])
    }

    static func logTail(_ spec: ServerSpec) -> String {
        Commands.tail((try? String(contentsOfFile: spec.logPath, encoding: .utf8)) ?? "no log")
    }
}
