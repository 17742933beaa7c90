public import Compute
import Synchronization

/// A `ComputeDriver` with no processes and no files, for in-process tests of what drives computes
/// (postgres-nio's `MockConnectionFactory`, Neon's `control_plane/client/mock.rs`). Data directories
/// are names in a set, computes are specs in a table, SQL is recorded. Copies take `copyTime`, and the
/// fake records a **violation** whenever work overlaps on one data directory in a way that would break
/// real data: a compute started on a directory being copied (a live cluster copied file by file), or
/// stopped while a base backup reads from it (the backup fails).
public final class FakeComputeDriver: ComputeDriver {
    private struct State {
        var directories: Set<String> = []
        /// Files written into data directories (`writeFile`), by path.
        var files: [String: String] = [:]
        var suspended: [String: [String: String]] = [:]
        var running: [String: ServerSpec] = [:]
        /// Computes that stopped unexpectedly and are being restarted (wanted, not running).
        var crashed: Set<String> = []

        /// The computes that run and answer.
        var live: [ServerSpec] { running.values.filter { !crashed.contains($0.id) } }
        /// Directories being read by a copy, with how many copies read each.
        var copying: [String: Int] = [:]
        var violations: [String] = []
        var statements: [String] = []
        var starts = 0
        /// Copies begun so far, and whether new ones wait at the gate (`holdCopies`) and who waits there.
        var copiesBegun = 0
        var copiesHeld = false
        var heldCopies: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    /// How long each copy takes.
    public let copyTime: Duration
    /// Role name → SCRAM secret, as the fake's computes report them for every data directory.
    public let verifiers: [String: String]

    public let postgresMajors: [Int]

    public init(copyTime: Duration = .milliseconds(1), verifiers: [String: String] = [:], postgresMajors: [Int] = [15, 16, 17]) {
        self.copyTime = copyTime
        self.verifiers = verifiers
        self.postgresMajors = postgresMajors
    }

    /// Overlaps that would have broken real data; empty when every piece of work had its directory alone.
    public var violations: [String] { state.withLock { $0.violations } }
    /// Every statement run on any compute, in order.
    public var statements: [String] { state.withLock { $0.statements } }
    /// How many times a compute was started.
    public var starts: Int { state.withLock { $0.starts } }
    /// The data directories that exist.
    public var directories: Set<String> { state.withLock { $0.directories } }

    public var listenHost: String { "127.0.0.1" }
    public var ports: Range<Int> { 55000..<55100 }
    public var socketDirectory: String { "/nonexistent/fake-sockets" }
    public func canUse(port: Int) -> Bool { true }

    // MARK: Data directories

    public func prepareTemplate(major: Int) async throws {}

    public func createEmpty(at path: String, major: Int) async throws {
        state.withLock {
            $0.directories.insert(path)
            $0.files[path + "/PG_VERSION"] = "\(major)\n"
        }
    }

    public func copy(stoppedDirectory source: String, to path: String) async throws -> LSN? {
        try await beginCopy(of: source)
        try? await Task.sleep(for: copyTime)
        state.withLock { state in
            if state.running.values.contains(where: { $0.dataDirectory == source }) {
                state.violations.append("\(source) was copied file by file while a compute ran on it")
            }
            state.copying[source, default: 1] -= 1
            state.directories.insert(path)
        }
        return nil
    }

    /// Returns `0/1000000` (the fake's data has no WAL).
    public func copy(runningServerPort port: Int, dataDirectory source: String, to path: String) async throws -> LSN {
        try await backup(port: port, to: path)
        return LSN(1 << 24)
    }

    public func copy(standbyOfPort port: Int, slot: String, to path: String) async throws {
        try await backup(port: port, to: path)
    }

    private func backup(port: Int, to path: String) async throws {
        guard let source = state.withLock({ $0.live.first { $0.port == port }?.dataDirectory }) else {
            throw ComputeError("pg_basebackup: no server on port \(port)")
        }
        try await beginCopy(of: source)
        try? await Task.sleep(for: copyTime)
        try state.withLock { state in
            state.copying[source, default: 1] -= 1
            guard state.live.contains(where: { $0.port == port }) else {
                throw ComputeError("pg_basebackup: the server on port \(port) went away")
            }
            state.directories.insert(path)
        }
    }

    private func beginCopy(of source: String) async throws {
        try state.withLock { state in
            guard state.directories.contains(source) else { throw ComputeError("no data at \(source)") }
            state.copying[source, default: 0] += 1
            state.copiesBegun += 1
        }
        await withCheckedContinuation { continuation in
            let held = state.withLock { state in
                if state.copiesHeld { state.heldCopies.append(continuation) }
                return state.copiesHeld
            }
            if !held { continuation.resume() }
        }
    }

    /// Makes copies that begin from now on wait, reading their source, until `releaseCopies()`: a test can
    /// then do something while a copy is certainly under way.
    public func holdCopies() { state.withLock { $0.copiesHeld = true } }

    /// Lets every held copy finish (and new ones run through).
    public func releaseCopies() {
        let held = state.withLock { state in
            state.copiesHeld = false
            defer { state.heldCopies.removeAll() }
            return state.heldCopies
        }
        for continuation in held { continuation.resume() }
    }

    /// Waits until `count` copies have begun (about ten seconds at most).
    public func waitForCopies(_ count: Int) async {
        for _ in 0..<10_000 where state.withLock({ $0.copiesBegun }) < count { try? await Task.sleep(for: .milliseconds(1)) }
    }

    /// Waits until `count` computes have been started in all (or `within` passes): lets a test give work
    /// that should be waiting a fair chance to run if it were not.
    public func waitForStarts(_ count: Int, within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while state.withLock({ $0.starts }) < count, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(1)) }
    }

    public func remove(_ path: String) async {
        state.withLock { state in
            if state.running.values.contains(where: { $0.dataDirectory == path }) {
                state.violations.append("\(path) was removed while a compute ran on it")
            }
            state.directories.remove(path)
            state.suspended[path] = nil
        }
    }

    public func exists(_ path: String) -> Bool { state.withLock { $0.directories.contains(path) } }

    public var hasPooler: Bool { true }

    public func postgresMajor(ofDataDirectory path: String) -> Int? {
        file("PG_VERSION", inDataDirectory: path).flatMap { Int($0.filter(\.isNumber)) }
    }

    public func pooler(id: String, listener: PoolerListener?) async throws -> PoolerAccess {
        guard await isRunning(id: id) else { throw ComputeError("Compute \(id) is not running.") }
        return PoolerAccess(socketPath: "/nonexistent/fake-sockets/pooler-\(id)")
    }

    public func writeFile(_ name: String, contents: String, inDataDirectory path: String) throws {
        state.withLock { $0.files[path + "/" + name] = contents }
    }

    /// A file written into a data directory with `writeFile`.
    public func file(_ name: String, inDataDirectory path: String) -> String? {
        state.withLock { $0.files[path + "/" + name] }
    }
    public func size(of path: String) -> Int64 { exists(path) ? 8 << 20 : 0 }

    public func setSuspended(_ path: String, _ suspended: Bool, verifiers: [String: String]?) {
        state.withLock { $0.suspended[path] = suspended ? (verifiers ?? [:]) : nil }
    }

    public func isSuspended(_ path: String) -> Bool { state.withLock { $0.suspended[path] != nil } }

    public func keptVerifiers(_ path: String) -> [String: String]? {
        state.withLock { $0.suspended[path].flatMap { $0.isEmpty ? nil : $0 } }
    }

    public func stopOrphans(dataDirectories: [String]) async -> Int { 0 }

    // MARK: Computes

    public func start(_ spec: ServerSpec) async throws {
        try state.withLock { state in
            guard state.directories.contains(spec.dataDirectory) else { throw ComputeError("no data at \(spec.dataDirectory)") }
            if state.copying[spec.dataDirectory, default: 0] > 0 {
                state.violations.append("\(spec.id) started on \(spec.dataDirectory) while it was copied")
            }
            state.running[spec.id] = spec
            state.crashed.remove(spec.id)
            state.starts += 1
        }
    }

    public func stop(id: String) async {
        state.withLock { state in
            state.crashed.remove(id)
            guard let spec = state.running.removeValue(forKey: id) else { return }
            if state.copying[spec.dataDirectory, default: 0] > 0 {
                state.violations.append("\(id) stopped while a copy read \(spec.dataDirectory)")
            }
        }
    }

    public func state(id: String) async -> ComputeSupervisor.State {
        state.withLock { state in
            state.running[id] == nil ? .stopped : state.crashed.contains(id) ? .degraded("crashed") : .running
        }
    }

    public func isRunning(id: String) async -> Bool { state.withLock { $0.running[id] != nil && !$0.crashed.contains(id) } }

    /// Makes a running compute crash: still wanted (its spec stays), not running, as while the supervisor
    /// restarts it; `recover` brings it back.
    public func crash(id: String) { _ = state.withLock { $0.crashed.insert(id) } }
    public func recover(id: String) { _ = state.withLock { $0.crashed.remove(id) } }
    public func spec(id: String) async -> ServerSpec? { state.withLock { $0.running[id] } }
    public func ids() async -> [String] { state.withLock { Array($0.running.keys) } }

    // MARK: SQL

    public func run(port: Int, database: String, _ statements: [String]) async throws {
        try requireServer(port: port)
        state.withLock { $0.statements += statements }
    }

    public func terminateSessions(port: Int, database: String) async throws {
        try requireServer(port: port)
        state.withLock { $0.statements.append("-- terminate sessions on \(database)") }
    }

    public func dropReplicationSlot(port: Int, slot: String) async throws {
        try requireServer(port: port)
        state.withLock { $0.statements.append("-- drop replication slot \(slot)") }
    }

    public func databases(port: Int) async throws -> [String] {
        try requireServer(port: port)
        return ["postgres", "databricks_postgres"]
    }

    public func roleExists(port: Int, role: String) async throws -> Bool {
        try requireServer(port: port)
        return verifiers[role] != nil
    }

    public func loginVerifiers(port: Int) async throws -> [String: String] {
        try requireServer(port: port)
        return verifiers
    }

    public func loginSecret(port: Int, role: String) async throws -> String? {
        try requireServer(port: port)
        return verifiers[role]
    }

    public func hasClientActivity(port: Int, seconds: Int) async throws -> Bool {
        try requireServer(port: port)
        return false
    }

    public func closeConnections(port: Int) async {}
    public func closeAllConnections() async {}

    private func requireServer(port: Int) throws {
        guard state.withLock({ $0.live.contains { $0.port == port } }) else {
            throw ComputeError("Cannot reach the compute: no server on port \(port)")
        }
    }
}
