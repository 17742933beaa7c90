import Foundation
public import Logging

/// Computes as postgres processes on this machine, supervised by `ComputeSupervisor`, with their data
/// in directories under the workspaces' storage areas (`DataDirectories`) and Kiln's SQL over their
/// Unix sockets (`AdminSession`, `AdminConnections`).
public struct LocalComputeDriver: ComputeDriver {
    /// The supervisor of every postgres; a `Service` the application runs (it stops them all at shutdown).
    public let supervisor: ComputeSupervisor
    let directories: DataDirectories
    let connections: AdminConnections

    public init(supervisor: ComputeSupervisor) {
        self.supervisor = supervisor
        directories = DataDirectories(configuration: supervisor.configuration)
        connections = AdminConnections(configuration: supervisor.configuration)
    }

    public init(configuration: ComputeConfiguration, logger: Logger) {
        self.init(supervisor: ComputeSupervisor(configuration: configuration, logger: logger))
    }

    var configuration: ComputeConfiguration { supervisor.configuration }

    public var listenHost: String { configuration.listenHost }
    public var ports: Range<Int> { configuration.ports }
    public var socketDirectory: String { configuration.socketDirectory }

    /// Free when nothing listens on it over TCP and no postgres has its Unix socket (Kiln's computes and
    /// maintenance servers listen on that alone).
    public func canUse(port: Int) -> Bool {
        PortProbe.canBind(port: port, host: configuration.listenHost) && !FileManager.default.fileExists(atPath: socketPath(port: port))
    }

    // MARK: Data directories

    public var postgresMajors: [Int] { configuration.builds.majors }

    public func prepareTemplate(major: Int) async throws { try await directories.prepareTemplate(major: major) }
    public func createEmpty(at path: String, major: Int) async throws { try await directories.createEmpty(at: path, major: major) }

    public func copy(stoppedDirectory source: String, to path: String) async throws -> LSN? {
        try await directories.copy(stoppedDirectory: source, to: path)
    }

    public func copy(runningServerPort port: Int, dataDirectory source: String, to path: String) async throws -> LSN {
        try await directories.copy(runningServerPort: port, dataDirectory: source, to: path)
    }

    public func copy(standbyOfPort port: Int, slot: String, to path: String) async throws {
        try await directories.copy(standbyOfPort: port, slot: slot, to: path)
    }

    public func remove(_ path: String) async { directories.remove(path) }

    public func keepHistory(_ history: BranchHistory) throws { try directories.keepHistory(history) }
    public func takeBase(_ history: BranchHistory, runningServerPort port: Int?, now: Int64) async throws -> BranchHistory.Base {
        try await directories.takeBase(history, runningServerPort: port, now: now)
    }
    public func restore(
        _ history: BranchHistory, from base: BranchHistory.Base, to target: RecoveryTarget, walEnd: LSN, port: Int, into path: String
    )
        async throws -> LSN
    { try await directories.restore(history, from: base, to: target, walEnd: walEnd, port: port, into: path) }
    public func prune(_ history: BranchHistory, before start: Int64) -> Int { history.prune(before: start) }
    public func markPoint(port: Int) async throws -> LSN {
        try await AdminSession.markPoint(configuration: directories.configuration, port: port)
    }
    public func exists(_ path: String) -> Bool { directories.exists(path) }
    public func postgresMajor(ofDataDirectory path: String) -> Int? { configuration.builds.major(ofDataDirectory: path) }

    public func writeFile(_ name: String, contents: String, inDataDirectory path: String) throws {
        try directories.writeFile(name, contents: contents, inDataDirectory: path)
    }
    public func size(of path: String) -> Int64 { directories.size(of: path) }

    public func setSuspended(_ path: String, _ suspended: Bool, verifiers: [String: String]?) {
        directories.setSuspended(path, suspended, verifiers: verifiers)
    }

    public func isSuspended(_ path: String) -> Bool { directories.isSuspended(path) }
    public func keptVerifiers(_ path: String) -> [String: String]? { directories.keptVerifiers(path) }

    public func stopOrphans(dataDirectories: [String]) async -> Int {
        await OrphanSweep.stopOrphans(dataDirectories: dataDirectories)
    }

    // MARK: Computes

    public func start(_ spec: ServerSpec) async throws { try await supervisor.start(spec) }
    public func stop(id: String) async { await supervisor.stop(id: id) }
    public func pooler(id: String, listener: PoolerListener?) async throws -> PoolerAccess {
        try await supervisor.pooler(id: id, listener: listener)
    }
    public var hasPooler: Bool { configuration.hasPooler }
    public var copiesOnWrite: Bool { configuration.copyOnWrite }
    public func state(id: String) async -> ComputeSupervisor.State { await supervisor.state(id: id) }
    public func isRunning(id: String) async -> Bool { await supervisor.isRunning(id: id) }
    public func spec(id: String) async -> ServerSpec? { await supervisor.spec(id: id) }
    public func ids() async -> [String] { await supervisor.ids() }

    // MARK: SQL

    public func run(port: Int, database: String, _ statements: [String]) async throws {
        try await AdminSession.run(configuration: configuration, port: port, database: database, statements)
    }

    public func terminateSessions(port: Int, database: String) async throws {
        try await AdminSession.terminateSessions(configuration: configuration, port: port, database: database)
    }

    public func dropReplicationSlot(port: Int, slot: String) async throws {
        try await AdminSession.dropReplicationSlot(configuration: configuration, port: port, slot: slot)
    }

    public func databases(port: Int) async throws -> [String] {
        try await AdminSession.databases(configuration: configuration, port: port)
    }

    public func roleExists(port: Int, role: String) async throws -> Bool {
        try await AdminSession.roleExists(configuration: configuration, port: port, role: role)
    }

    public func loginVerifiers(port: Int) async throws -> [String: String] {
        try await AdminSession.loginVerifiers(configuration: configuration, port: port)
    }

    public func loginSecret(port: Int, role: String) async throws -> String? {
        try await connections.loginSecret(port: port, role: role)
    }

    public func hasClientActivity(port: Int, seconds: Int) async throws -> Bool {
        try await connections.hasClientActivity(port: port, seconds: seconds)
    }

    public func closeConnections(port: Int) async { await connections.close(port: port) }
    public func closeAllConnections() async { await connections.closeAll() }
}
