import Compute
import Foundation
import KilnCore
import Logging
import Persistence
import SQLKit
import Synchronization

/// The work of operations on real PostgreSQL: data directories for branches, a supervised postgres per
/// endpoint, SQL for roles and databases. Each method leaves nothing half made when it fails.
final class Reconciler: Sendable {
    let database: any Database
    /// Every start, stop, copy and removal of a branch's or replica's data goes through it.
    let dataOwner: DataDirectoryOwner
    let storageArea: @Sendable (Int64) async throws -> String
    let clock: any WallClock
    let logger: Logger
    let access: PostgresAccess
    private let loadedSecrets = Mutex<LakebaseSecrets?>(nil)
    private let endpointsChanged = Mutex<(@Sendable () async -> Void)?>(nil)

    init(
        database: any Database, owner: DataDirectoryOwner, storageArea: @escaping @Sendable (Int64) async throws -> String,
        access: PostgresAccess, clock: any WallClock, logger: Logger
    ) {
        self.access = access
        self.database = database
        self.dataOwner = owner
        self.storageArea = storageArea
        self.clock = clock
        self.logger = logger
    }

    /// Where computes run; its reads need no owner.
    var driver: any ComputeDriver { dataOwner.driver }

    /// Calls `body` whenever endpoints may have come, gone or changed (after every operation and at
    /// start-up), before the operation is reported done.
    func onEndpointsChanged(_ body: @escaping @Sendable () async -> Void) {
        endpointsChanged.withLock { $0 = body }
    }

    func notifyEndpointsChanged() async {
        if let body = endpointsChanged.withLock({ $0 }) { await body() }
    }

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
            endpointState: { [driver] endpoint in
                guard endpoint.isReady else { return "INIT" }
                if endpoint.endpointSpec.disabled { return "IDLE" }
                switch await driver.state(id: endpoint.uid) {
                case .running: return "ACTIVE"
                case .degraded: return "DEGRADED"
                case .stopped: return "IDLE"
                }
            },
            readReplicas: { [database] endpoint in
                let siblings = try? await database.read { db in
                    try await ResourceTable.children(db, workspaceID: endpoint.workspaceID, parent: endpoint.name.branch.description, kind: .endpoint)
                }
                return (siblings ?? []).filter { $0.isReadOnly && $0.deletedAt == nil }.count
            },
            branchSize: { [driver] branch in
                branch.dataDirectory.map { driver.size(of: $0 + "/base") } ?? 0
            },
            host: driver.listenHost, access: access)
    }

    // MARK: - Ports

    /// The lowest port of the range that no endpoint has and nothing listens on.
    func freePort(_ db: any SQLDatabase) async throws -> Int {
        let used = try await ResourceTable.usedPorts(db)
        for port in driver.ports where !used.contains(port) && driver.canUse(port: port) {
            return port
        }
        throw KilnError(.resourceLimitExceeded, "Every port of Kiln's compute range \(driver.ports) is in use.")
    }

    // MARK: - Layout

    /// Where the data directory of a branch (or of a read replica, which has its own) goes:
    /// `<workspace storage area>/lakebase/<project uid>/<owner uid>`.
    func dataDirectory(project: StoredResource, for resource: StoredResource) async throws -> String {
        if let existing = resource.dataDirectory { return existing }
        let area = try await storageArea(resource.workspaceID)
        return "\(area)/lakebase/\(project.uid)/\(resource.uid)"
    }

    /// The data directory an endpoint's compute serves: its branch's, or a replica's own.
    static func dataDirectory(of endpoint: StoredResource, branch: StoredResource?) -> String? {
        (endpoint.isReadOnly ? endpoint : branch)?.dataDirectory
    }

    func serverSpec(endpoint: StoredResource, dataDirectory: String) -> ServerSpec {
        let spec = endpoint.endpointSpec
        let settings = ComputeSize(minCU: spec.minCU, maxCU: spec.maxCU).settings.merging(spec.pgSettings) { _, user in user }
        return ServerSpec(id: endpoint.uid, dataDirectory: dataDirectory, port: endpoint.port ?? 0, settings: settings)
    }

    // MARK: - Start-up

    /// Makes the empty-cluster template, then starts every endpoint that should run (not those that were
    /// suspended for being idle: they wake on connect).
    func restoreComputes() async {
        do {
            let majors = driver.postgresMajors
            if let major = majors.contains(Specs.defaultPGVersion) ? Specs.defaultPGVersion : majors.last {
                try await driver.prepareTemplate(major: major)
            }
        } catch {
            logger.error("Cannot make the empty-cluster template; projects cannot be created", metadata: ["error": "\(error)"])
        }
        do {
            let endpoints = try await database.read { db in try await ResourceTable.all(db, kind: .endpoint) }
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

    /// Makes each project's `pg_version` say what its data is (the `PG_VERSION` of its branches' data):
    /// before Kiln ran the major version a project asked for, every project ran the one PostgreSQL
    /// installed (Debian's 15) whatever its `pg_version` said, and it keeps running it.
    func recordDataVersions() async {
        do {
            let (projects, branches) = try await database.read { db in
                (try await ResourceTable.all(db, kind: .project), try await ResourceTable.all(db, kind: .branch))
            }
            for var project in projects {
                let directory = branches.first { $0.workspaceID == project.workspaceID && $0.name.project == project.name && $0.dataDirectory != nil }?
                    .dataDirectory
                guard let directory, let actual = driver.postgresMajor(ofDataDirectory: directory), actual != project.projectSpec.pgVersion else {
                    continue
                }
                logger.notice(
                    "A project's data is of another PostgreSQL version than its pg_version said; it now says so",
                    metadata: ["project": "\(project.name)", "pg_version": "\(project.projectSpec.pgVersion)", "data": "\(actual)"])
                project.spec.set("pg_version", .integer(Int64(actual)))
                let corrected = project
                try await database.write { db in try await ResourceTable.update(db, corrected) }
            }
        } catch {
            logger.error("Cannot check the PostgreSQL versions of the projects' data", metadata: ["error": "\(error)"])
        }
    }

    /// Stops the postgres processes a killed Kiln left on its data directories (before any client can wake
    /// a compute of this run, whose process the sweep would otherwise take for an orphan).
    func stopOrphans() async {
        do {
            let (branches, endpoints) = try await database.read { db in
                (try await ResourceTable.all(db, kind: .branch), try await ResourceTable.all(db, kind: .endpoint))
            }
            let stopped = await driver.stopOrphans(dataDirectories: (branches + endpoints).compactMap(\.dataDirectory))
            if stopped > 0 { logger.warning("Stopped postgres processes a previous run left behind", metadata: ["count": "\(stopped)"]) }
        } catch {
            logger.error("Cannot look for postgres processes a previous run left behind", metadata: ["error": "\(error)"])
        }
    }

    /// Starts an endpoint unless it is disabled or its branch or project is deleted. With `unlessRunning`
    /// (a wake, a new branch's follow-up) a compute that runs already is left as it is, even when `endpoint`
    /// holds other settings: whoever started it meanwhile (an update) read the newer row.
    func startIfWanted(_ endpoint: StoredResource, unlessSuspended: Bool = false, unlessRunning: Bool = false) async throws {
        let branchName = endpoint.name.branch
        let (branch, project) = try await database.read { db in
            (
                try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: branchName),
                try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: branchName.project)
            )
        }
        guard endpoint.wantsCompute(branch: branch, project: project), let branch,
            let directory = Self.dataDirectory(of: endpoint, branch: branch), driver.exists(directory),
            let branchDirectory = branch.dataDirectory
        else {
            await dataOwner.stop(id: endpoint.uid)
            return
        }
        let staySuspended = unlessSuspended && !endpoint.endpointSpec.noSuspension
        // A wake may wait for the directory behind a suspend or a copy; a delete or a disable may have come meanwhile.
        let stillWanted = { @Sendable [database] () async throws -> Bool in
            let (endpoint, branch, project) = try await database.read { db in
                (
                    try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: endpoint.name),
                    try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: branchName),
                    try await ResourceTable.get(db, workspaceID: endpoint.workspaceID, name: branchName.project)
                )
            }
            return endpoint?.wantsCompute(branch: branch, project: project) ?? false
        }
        if endpoint.isReadOnly {
            let primary = try await primary(of: branchName, ws: endpoint.workspaceID)
            try await dataOwner.start(
                replicaSpec(endpoint, directory: directory, primary: primary, primaryDirectory: branchDirectory),
                unlessSuspended: staySuspended, unlessRunning: unlessRunning, stillWanted: stillWanted)
        } else {
            try await dataOwner.start(
                serverSpec(endpoint: endpoint, dataDirectory: directory), unlessSuspended: staySuspended, unlessRunning: unlessRunning,
                stillWanted: stillWanted)
        }
    }

    /// Suspends an idle endpoint: stops its compute once its data is not in use (a read-write one keeps
    /// its roles' verifiers; a replica's roles are its primary's, which can change while it sleeps) and
    /// marks it suspended, so that a restarted Kiln does not start it again. Returns whether it suspended:
    /// not when `stillIdle()`, asked once the data is free (a branch copy may hold it), says a client came.
    @discardableResult
    func suspend(_ endpoint: StoredResource, stillIdle: @escaping @Sendable () async -> Bool = { true }) async -> Bool {
        await dataOwner.suspend(id: endpoint.uid, keepingVerifiers: !endpoint.isReadOnly, stillIdle: stillIdle)
    }

    /// The login verifiers kept for a suspended read-write endpoint (see `ComputeDriver.setSuspended`);
    /// nil when it runs or none are known.
    func keptVerifiers(of endpoint: StoredResource) async throws -> [String: String]? {
        guard !(await driver.isRunning(id: endpoint.uid)), let branch = try await row(endpoint.name.branch, ws: endpoint.workspaceID),
            let directory = Self.dataDirectory(of: endpoint, branch: branch)
        else { return nil }
        return driver.keptVerifiers(directory)
    }

    // MARK: - SQL on a branch

    /// Runs `body` with the port of a running server of the branch: its endpoint's, or a maintenance
    /// server started for the purpose and stopped afterwards.
    func withBranchServer<T: Sendable>(_ branch: StoredResource, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        guard let directory = branch.dataDirectory else {
            throw KilnError(.invalidState, "The branch \(branch.name) has no data yet.")
        }
        return try await dataOwner.withServer(
            on: directory,
            maintenancePort: { [database] in
                try await database.read { db in try await self.freePort(db) }
            }, body)
    }

    /// Runs Kiln's SQL on the branch (`body` gets the port of a running server of it, as `withBranchServer`);
    /// postgres refusing it is the client's 400, with postgres's message.
    func onBranch<T: Sendable>(_ branch: StoredResource, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> T {
        try await withBranchServer(branch) { port in
            do {
                return try await body(port)
            } catch let error as ComputeError {
                throw KilnError(.badRequest, "PostgreSQL refused the change: \(error.description)")
            }
        }
    }

    func sql(_ branch: StoredResource, database name: String = "postgres", _ statements: [String]) async throws {
        try await onBranch(branch) { [driver] port in try await driver.run(port: port, database: name, statements) }
    }
}
