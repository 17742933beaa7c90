import Compute
import Foundation
import KilnCore
import Logging
import Persistence
import SQLKit
import Synchronization

/// The work of operations on real PostgreSQL: data directories for branches, a supervised postgres per
/// endpoint, SQL for roles and databases. Each method leaves nothing half made when it fails.
final class LakebaseWork: Sendable {
    let database: any Database
    let supervisor: ComputeSupervisor
    let directories: DataDirectories
    let storageArea: @Sendable (Int64) async throws -> String
    let clock: any WallClock
    let logger: Logger
    let access: PostgresAccess
    /// One per branch: held while a server runs SQL or a backup on the branch's data, and while its
    /// read-write compute starts or stops, so that a wake never races a maintenance server for the
    /// data directory and a suspend never stops a server in use.
    let branchLocks = KeyedLocks()
    private let loadedSecrets = Mutex<LakebaseSecrets?>(nil)

    init(database: any Database, supervisor: ComputeSupervisor, storageArea: @escaping @Sendable (Int64) async throws -> String,
         access: PostgresAccess, clock: any WallClock, logger: Logger) {
        self.access = access
        self.database = database
        self.supervisor = supervisor
        self.directories = DataDirectories(configuration: supervisor.configuration)
        self.storageArea = storageArea
        self.clock = clock
        self.logger = logger
    }

    var configuration: ComputeConfiguration { supervisor.configuration }

    func secrets() async throws -> LakebaseSecrets {
        if let secrets = loadedSecrets.withLock({ $0 }) { return secrets }
        let secrets = try await LakebaseSecrets.load(database: database)
        loadedSecrets.withLock { $0 = secrets }
        return secrets
    }

    func credentials() async throws -> DatabaseCredentials {
        DatabaseCredentials(keyData: try await secrets().credentialKeyData)
    }

    var facts: RuntimeFacts {
        RuntimeFacts(
            endpointState: { [supervisor] endpoint in
                guard endpoint.isReady else { return "INIT" }
                if endpoint.spec["disabled"]?.boolValue == true { return "IDLE" }
                switch await supervisor.state(id: endpoint.uid) {
                case .running: return "ACTIVE"
                case .degraded: return "DEGRADED"
                case .stopped: return "IDLE"
                }
            },
            branchSize: { [directories] branch in
                branch.privateState["data_directory"]?.stringValue.map { directories.size(of: $0 + "/base") } ?? 0
            },
            host: configuration.listenHost, access: access)
    }

    // MARK: - Ports

    /// The lowest port of the range that no endpoint has and nothing listens on.
    func freePort(_ db: any SQLDatabase) async throws -> Int {
        let used = try await ResourceTable.usedPorts(db)
        for port in configuration.ports where !used.contains(port) && Self.canBind(port: port, host: configuration.listenHost) {
            return port
        }
        throw KilnError(.resourceLimitExceeded, "Every port of Kiln's compute range \(configuration.ports) is in use.")
    }

    static func canBind(port: Int, host: String) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host.isEmpty ? "127.0.0.1" : host)
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    // MARK: - Layout

    /// Where the data directory of a branch (or of a read replica, which has its own) goes:
    /// `<workspace storage area>/lakebase/<project uid>/<owner uid>`.
    func dataDirectory(project: StoredResource, owner: StoredResource) async throws -> String {
        if let existing = owner.privateState["data_directory"]?.stringValue { return existing }
        let area = try await storageArea(owner.workspaceID)
        return "\(area)/lakebase/\(project.uid)/\(owner.uid)"
    }

    /// The data directory an endpoint's compute serves: its branch's, or a replica's own.
    static func dataDirectory(of endpoint: StoredResource, branch: StoredResource?) -> String? {
        (endpoint.isReadOnly ? endpoint : branch)?.privateState["data_directory"]?.stringValue
    }

    func serverSpec(endpoint: StoredResource, dataDirectory: String) -> ServerSpec {
        let size = ComputeSize(minCU: endpoint.spec["autoscaling_limit_min_cu"]?.doubleValue ?? 1,
                               maxCU: endpoint.spec["autoscaling_limit_max_cu"]?.doubleValue ?? 1)
        let settings = size.settings.merging(endpoint.spec.value(at: ["settings", "pg_settings"])?.stringMap ?? [:]) { _, user in user }
        return ServerSpec(id: endpoint.uid, dataDirectory: dataDirectory, port: endpoint.port ?? 0, settings: settings)
    }

    // MARK: - Start-up

    /// Stops what a killed Kiln left running, then starts every endpoint that should run (not those
    /// that were suspended for being idle: they wake on connect).
    func restoreComputes() async {
        do {
            try await directories.prepareTemplate()
        } catch {
            logger.error("Cannot make the empty-cluster template; projects cannot be created", metadata: ["error": "\(error)"])
        }
        do {
            let branches = try await database.read { db in try await ResourceTable.all(db, kind: .branch) }
            let endpoints = try await database.read { db in try await ResourceTable.all(db, kind: .endpoint) }
            let directories = (branches + endpoints).compactMap { $0.privateState["data_directory"]?.stringValue }
            let stopped = await OrphanSweep.stopOrphans(dataDirectories: directories)
            if stopped > 0 { logger.warning("Stopped postgres processes a previous run left behind", metadata: ["count": "\(stopped)"]) }
            for endpoint in endpoints where endpoint.isReady {
                do {
                    try await startIfWanted(endpoint, unlessSuspended: true)
                } catch {
                    logger.error("An endpoint did not start", metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("Cannot restore the computes", metadata: ["error": "\(error)"])
        }
    }

    /// Starts an endpoint unless it is disabled or its branch or project is deleted.
    func startIfWanted(_ endpoint: StoredResource, unlessSuspended: Bool = false) async throws {
        let branchName = endpoint.name.parent!
        let (branch, project) = try await database.read { db in
            (try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: branchName),
             try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: branchName.project))
        }
        guard let branch, let project, branch.deletedAt == nil, project.deletedAt == nil,
              endpoint.spec["disabled"]?.boolValue != true,
              let directory = Self.dataDirectory(of: endpoint, branch: branch), directories.exists(directory),
              let branchDirectory = branch.privateState["data_directory"]?.stringValue else {
            await supervisor.stop(id: endpoint.uid)
            return
        }
        if unlessSuspended && directories.isSuspended(directory) && endpoint.spec["no_suspension"]?.boolValue != true { return }
        defer { directories.setSuspended(directory, false) }
        if endpoint.isReadOnly {
            let primary = try await primary(of: branchName, ws: endpoint.workspaceID)
            try await supervisor.start(replicaSpec(endpoint, directory: directory, primary: primary, primaryDirectory: branchDirectory))
        } else {
            try await branchLocks.withLock(Self.lockKey(workspaceID: branch.workspaceID, branch: branch.name)) {
                try await supervisor.start(serverSpec(endpoint: endpoint, dataDirectory: directory))
            }
        }
    }

    static func lockKey(workspaceID: Int64, branch: ResourceName) -> String { "\(workspaceID)/\(branch)" }

    /// Suspends an idle endpoint: stops its compute (a read-write one once the branch's data is not in
    /// use) and marks it suspended, so that a restarted Kiln does not start it again.
    /// Returns whether it suspended: not when `stillIdle()`, asked once the branch's data is free (a
    /// branch copy may hold it), says a client came meanwhile.
    @discardableResult
    func suspend(_ endpoint: StoredResource, stillIdle: @escaping @Sendable () async -> Bool = { true }) async -> Bool {
        let branchName = endpoint.name.parent!
        let branch = try? await row(branchName, ws: endpoint.workspaceID)
        let suspended = try? await branchLocks.withLock(Self.lockKey(workspaceID: endpoint.workspaceID, branch: branchName)) { () async -> Bool in
            guard await stillIdle() else { return false }
            // A replica's roles are its primary's, which can change while it sleeps: only a primary keeps them.
            var verifiers: [String: String]?
            if !endpoint.isReadOnly, let port = endpoint.port {
                verifiers = try? await AdminSession.loginVerifiers(configuration: configuration, port: port)
            }
            // The marker is written first, so that a login right after the stop finds the verifiers.
            if let directory = Self.dataDirectory(of: endpoint, branch: branch) {
                directories.setSuspended(directory, true, verifiers: verifiers)
            }
            await supervisor.stop(id: endpoint.uid)
            return true
        }
        return suspended ?? false
    }

    /// The login verifiers kept for a suspended read-write endpoint (see `DataDirectories.setSuspended`);
    /// nil when it runs or none are known.
    func keptVerifiers(of endpoint: StoredResource) async throws -> [String: String]? {
        guard !(await supervisor.isRunning(id: endpoint.uid)), let branch = try await row(endpoint.name.parent!, ws: endpoint.workspaceID),
              let directory = Self.dataDirectory(of: endpoint, branch: branch) else { return nil }
        return directories.keptVerifiers(directory)
    }

    // MARK: - SQL on a branch

    /// Names the private servers Kiln starts on a branch with no running endpoint.
    static let maintenancePrefix = "maintenance-"

    /// Runs `body` with the port of a running server of the branch: its endpoint's, or a private one
    /// started for the purpose and stopped afterwards.
    func withBranchServer<T: Sendable>(_ branch: StoredResource, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        try await branchLocks.withLock(Self.lockKey(workspaceID: branch.workspaceID, branch: branch.name)) {
            try await withBranchServerLocked(branch, body)
        }
    }

    private func withBranchServerLocked<T: Sendable>(_ branch: StoredResource, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        let endpoints = try await database.read { db in
            try await ResourceTable.children(db, workspaceID: branch.workspaceID, parent: branch.name.description, kind: .endpoint)
        }
        for endpoint in endpoints where !endpoint.isReadOnly {
            if await supervisor.isRunning(id: endpoint.uid), let port = endpoint.port { return try await body(port) }
        }
        guard let directory = branch.privateState["data_directory"]?.stringValue else {
            throw KilnError(.invalidState, "The branch \(branch.name) has no data yet.")
        }
        let port = try await database.read { db in try await self.freePort(db) }
        let spec = ServerSpec(id: Self.maintenancePrefix + branch.uid, dataDirectory: directory, port: port, settings: [:])
        // The work may change roles: the suspended primary forgets its kept verifiers until the work is
        // done and keeps the branch's as they are then (forgotten ones make a login wake it and ask postgres).
        let primaryDirectories = endpoints.filter { !$0.isReadOnly }.compactMap { Self.dataDirectory(of: $0, branch: branch) }
        for path in primaryDirectories { directories.replaceVerifiers(path, with: nil) }
        try await supervisor.start(spec)
        do {
            let result = try await body(port)
            let verifiers = try? await AdminSession.loginVerifiers(configuration: configuration, port: port)
            for path in primaryDirectories { directories.replaceVerifiers(path, with: verifiers) }
            await supervisor.stop(id: spec.id)
            return result
        } catch {
            await supervisor.stop(id: spec.id)
            throw error
        }
    }

    func sql(_ branch: StoredResource, database name: String = "postgres", _ statements: [String]) async throws {
        let configuration = configuration
        try await withBranchServer(branch) { port in
            do {
                try await AdminSession.run(configuration: configuration, port: port, database: name, statements)
            } catch let error as ComputeError {
                throw KilnError(.badRequest, "PostgreSQL refused the change: \(error.description)")
            }
        }
    }
}
