/// Where computes run and where their data lives: the seam between Lakebase and the machine (DESIGN.md,
/// "Beyond one machine"). `LocalComputeDriver` runs postgres processes on data directories of this
/// machine; a Kubernetes driver would run a pod per endpoint on a volume per branch; tests use a fake.
///
/// A driver does what it is asked and nothing more: it does not serialise work on one data directory.
/// Everything that starts, stops, copies or removes a branch's or replica's data goes through
/// `DataDirectoryOwner`, which does.
public protocol ComputeDriver: Sendable {
    // MARK: Placement

    /// The address on which Kiln's proxy takes each endpoint's clients (its own port).
    var listenHost: String { get }
    /// The ports endpoints (and maintenance servers) are given, one each.
    var ports: Range<Int> { get }
    /// The directory of the computes' Unix sockets (`<dir>/.s.PGSQL.<port>`).
    var socketDirectory: String { get }
    /// Whether `port` is free for a new compute.
    func canUse(port: Int) -> Bool
    /// The PostgreSQL major versions the driver can run, lowest first.
    var postgresMajors: [Int] { get }

    // MARK: Data directories

    /// Makes the empty-cluster template of PostgreSQL `major` now, so that the first project of that
    /// version does not wait for `initdb`.
    func prepareTemplate(major: Int) async throws
    /// A new empty cluster of PostgreSQL `major` at `path`; throws `ComputeError` when that version is
    /// not installed.
    func createEmpty(at path: String, major: Int) async throws
    /// A copy of a data directory whose server is stopped; a failure leaves nothing at `path`. Returns the
    /// WAL position the copy holds everything up to (its last checkpoint), nil when it cannot tell.
    func copy(stoppedDirectory source: String, to path: String) async throws -> LSN?
    /// A copy of the data of the server running on `port` (serving `source`), consistent as of the moment
    /// it finishes; returns that moment's WAL position.
    func copy(runningServerPort port: Int, dataDirectory source: String, to path: String) async throws -> LSN
    /// A hot standby of the server running on `port`, with the replication slot `slot` made on it.
    func copy(standbyOfPort port: Int, slot: String, to path: String) async throws
    /// Removes a data directory and what lies beside it; its server must be stopped.
    func remove(_ path: String) async
    /// Whether a complete data directory is at `path`.
    func exists(_ path: String) -> Bool
    /// The major PostgreSQL version of the data directory at `path` (its `PG_VERSION`); nil when none.
    func postgresMajor(ofDataDirectory path: String) -> Int?
    /// Writes `contents` to the file `name` inside the data directory at `path`, replacing it at once, for
    /// its server to read (`pg_read_file(name)`).
    func writeFile(_ name: String, contents: String, inDataDirectory path: String) throws
    /// The bytes the data directory's files hold.
    func size(of path: String) -> Int64
    /// Marks (or unmarks) the data directory's compute as suspended for being idle, keeping `verifiers`
    /// (role name → SCRAM secret) so that a password can be checked while it sleeps.
    func setSuspended(_ path: String, _ suspended: Bool, verifiers: [String: String]?)
    /// Whether the data directory's compute was suspended for being idle.
    func isSuspended(_ path: String) -> Bool
    /// The verifiers kept at the suspend; nil when not suspended or none are known.
    func keptVerifiers(_ path: String) -> [String: String]?
    /// Stops what a killed Kiln left running on these data directories; returns how many it stopped.
    func stopOrphans(dataDirectories: [String]) async -> Int

    // MARK: History (point-in-time branches)

    /// Whether a copy of a data directory shares its blocks (reflink clones): then a base image costs almost
    /// no disk, where elsewhere it costs the data's size.
    var copiesOnWrite: Bool { get }
    /// Makes the branch whose data is at `history.dataDirectory` keep a history (its computes archive WAL).
    func keepHistory(_ history: BranchHistory) throws
    /// Takes a base image of the branch, from its compute running on `port` or of its stopped data (nil); its
    /// time is no earlier than `now` (Unix ms) for a running compute, and is when the branch stopped for stopped
    /// data (`DataDirectories.takeBase`).
    func takeBase(_ history: BranchHistory, runningServerPort port: Int?, now: Int64) async throws -> BranchHistory.Base
    /// Makes at `path` the branch's data as it was at `target`, recovered from `base` by a postgres on
    /// `port`; returns where its new timeline starts.
    func restore(
        _ history: BranchHistory, from base: BranchHistory.Base, to target: RecoveryTarget, walEnd: LSN, port: Int, into path: String
    )
        async throws -> LSN
    /// Deletes the base images and archived WAL the branch no longer needs to reach every moment from
    /// `start` (Unix ms) on; returns how many it deleted.
    func prune(_ history: BranchHistory, before start: Int64) -> Int
    /// Writes a commit record now on the compute running on `port` (so that recovery to a moment before
    /// now finds its end) and returns the WAL position after it.
    func markPoint(port: Int) async throws -> LSN

    // MARK: Computes

    /// Starts the compute `spec` describes (restarting it when it runs with another spec) and returns once
    /// it accepts connections. Throws, leaving nothing running, when it cannot start.
    func start(_ spec: ServerSpec) async throws
    /// Stops a compute (fast shutdown) and its pooler, and forgets it.
    func stop(id: String) async
    /// How to reach the connection pooler (PgBouncer, transaction mode) of the running compute `id`,
    /// started if need be (accepting on `listener` too, the pooled host's socket); it stops with the
    /// compute. Throws `ComputeError` when the compute does not run or the pooler cannot start.
    func pooler(id: String, listener: PoolerListener?) async throws -> PoolerAccess
    /// Whether computes can have a connection pooler here (PgBouncer is installed).
    var hasPooler: Bool { get }
    /// What the compute is doing now; `stopped` when the driver does not run it.
    func state(id: String) async -> ComputeSupervisor.State
    /// Whether the compute is up and accepting connections.
    func isRunning(id: String) async -> Bool
    /// The spec of the compute the driver runs (or is restarting) under this id.
    func spec(id: String) async -> ServerSpec?
    /// The ids of every compute the driver runs (or is restarting).
    func ids() async -> [String]

    // MARK: Kiln's SQL on a running compute (as `kiln_system`)

    /// Runs `statements` in order on `database`, each on its own (no transaction: `CREATE DATABASE` cannot
    /// run in one). Throws `ComputeError` with postgres's message when one fails.
    func run(port: Int, database: String, _ statements: [String]) async throws
    /// Ends every session on `database` (before it is renamed).
    func terminateSessions(port: Int, database: String) async throws
    /// Drops the physical replication slot `slot` if there is one.
    func dropReplicationSlot(port: Int, slot: String) async throws
    /// The databases clients can connect to.
    func databases(port: Int) async throws -> [String]
    /// Whether a role of this name exists.
    func roleExists(port: Int, role: String) async throws -> Bool
    /// Every role that may log in now, with its SCRAM secret ("" for none).
    func loginVerifiers(port: Int) async throws -> [String: String]
    /// `role`'s SCRAM secret if it may log in now ("" when it has none), else nil; over a connection kept
    /// open for such frequent checks.
    func loginSecret(port: Int, role: String) async throws -> String?
    /// Whether a client (not Kiln) is in a query or a transaction on the compute, or was in the last
    /// `seconds` seconds; over the kept connection.
    func hasClientActivity(port: Int, seconds: Int) async throws -> Bool
    /// Closes the kept connection to the compute on `port` (it is stopping).
    func closeConnections(port: Int) async
    /// Closes every kept connection.
    func closeAllConnections() async
}

extension ComputeDriver {
    public var copiesOnWrite: Bool { false }
    /// Drivers that keep no history (test doubles): nothing is archived, and branches from the past are
    /// refused.
    public func keepHistory(_ history: BranchHistory) throws {}
    public func takeBase(_ history: BranchHistory, runningServerPort port: Int?, now: Int64) async throws -> BranchHistory.Base {
        throw ComputeError("This compute driver keeps no history.")
    }
    public func restore(
        _ history: BranchHistory, from base: BranchHistory.Base, to target: RecoveryTarget, walEnd: LSN, port: Int, into path: String
    )
        async throws -> LSN
    { throw ComputeError("This compute driver keeps no history.") }
    public func prune(_ history: BranchHistory, before start: Int64) -> Int { 0 }
    public func markPoint(port: Int) async throws -> LSN { throw ComputeError("This compute driver keeps no history.") }

    /// The Unix socket of the compute on `port`.
    public func socketPath(port: Int) -> String {
        "\(socketDirectory)/.s.PGSQL.\(port)"
    }
}
