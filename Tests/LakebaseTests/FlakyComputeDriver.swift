import Compute
import ComputeTestSupport
import Synchronization

/// A `FakeComputeDriver` that fails on demand: computes refuse to start, or statements are refused as
/// postgres would refuse them. Everything else goes to the fake.
final class FlakyComputeDriver: ComputeDriver {
    private struct Rules {
        var refusesStart: @Sendable (ServerSpec) -> Bool = { _ in false }
        var refusedStatement: String?
        /// The ids of the computes whose start was refused, in order.
        var failedStarts: [String] = []
    }

    let fake: FakeComputeDriver
    private let rules = Mutex(Rules())

    init(_ fake: FakeComputeDriver) { self.fake = fake }

    /// From now on, computes whose spec `refuses` fail to start.
    func failStarts(when refuses: @escaping @Sendable (ServerSpec) -> Bool) {
        rules.withLock { $0.refusesStart = refuses }
    }

    /// The ids of the computes whose start was refused so far.
    var failedStarts: [String] { rules.withLock { $0.failedStarts } }

    /// From now on, statements containing `text` fail (nil: none do).
    func failStatements(containing text: String?) {
        rules.withLock { $0.refusedStatement = text }
    }

    var listenHost: String { fake.listenHost }
    var ports: Range<Int> { fake.ports }
    var socketDirectory: String { fake.socketDirectory }
    func canUse(port: Int) -> Bool { fake.canUse(port: port) }

    var postgresMajors: [Int] { fake.postgresMajors }
    func prepareTemplate(major: Int) async throws { try await fake.prepareTemplate(major: major) }
    func createEmpty(at path: String, major: Int) async throws { try await fake.createEmpty(at: path, major: major) }
    func copy(stoppedDirectory source: String, to path: String) async throws -> LSN? { try await fake.copy(stoppedDirectory: source, to: path) }
    func copy(runningServerPort port: Int, dataDirectory source: String, to path: String) async throws -> LSN {
        try await fake.copy(runningServerPort: port, dataDirectory: source, to: path)
    }
    func copy(standbyOfPort port: Int, slot: String, to path: String) async throws {
        try await fake.copy(standbyOfPort: port, slot: slot, to: path)
    }
    func remove(_ path: String) async { await fake.remove(path) }
    func exists(_ path: String) -> Bool { fake.exists(path) }
    var hasPooler: Bool { fake.hasPooler }
    func postgresMajor(ofDataDirectory path: String) -> Int? { fake.postgresMajor(ofDataDirectory: path) }
    func pooler(id: String, listener: PoolerListener?) async throws -> PoolerAccess { try await fake.pooler(id: id, listener: listener) }
    func writeFile(_ name: String, contents: String, inDataDirectory path: String) throws {
        try fake.writeFile(name, contents: contents, inDataDirectory: path)
    }
    func size(of path: String) -> Int64 { fake.size(of: path) }
    func setSuspended(_ path: String, _ suspended: Bool, verifiers: [String: String]?) {
        fake.setSuspended(path, suspended, verifiers: verifiers)
    }
    func isSuspended(_ path: String) -> Bool { fake.isSuspended(path) }
    func keptVerifiers(_ path: String) -> [String: String]? { fake.keptVerifiers(path) }
    func stopOrphans(dataDirectories: [String]) async -> Int { await fake.stopOrphans(dataDirectories: dataDirectories) }

    func start(_ spec: ServerSpec) async throws {
        if rules.withLock({ $0.refusesStart })(spec) {
            rules.withLock { $0.failedStarts.append(spec.id) }
            await fake.stop(id: spec.id) // a failed start leaves nothing running
            throw ComputeError("postgres exited during start-up (test)")
        }
        try await fake.start(spec)
    }

    func stop(id: String) async { await fake.stop(id: id) }
    func state(id: String) async -> ComputeSupervisor.State { await fake.state(id: id) }
    func isRunning(id: String) async -> Bool { await fake.isRunning(id: id) }
    func spec(id: String) async -> ServerSpec? { await fake.spec(id: id) }
    func ids() async -> [String] { await fake.ids() }

    func run(port: Int, database: String, _ statements: [String]) async throws {
        if let refused = rules.withLock({ $0.refusedStatement }), statements.contains(where: { $0.contains(refused) }) {
            throw ComputeError("ERROR: permission denied (test)")
        }
        try await fake.run(port: port, database: database, statements)
    }

    func terminateSessions(port: Int, database: String) async throws { try await fake.terminateSessions(port: port, database: database) }
    func dropReplicationSlot(port: Int, slot: String) async throws { try await fake.dropReplicationSlot(port: port, slot: slot) }
    func databases(port: Int) async throws -> [String] { try await fake.databases(port: port) }
    func roleExists(port: Int, role: String) async throws -> Bool { try await fake.roleExists(port: port, role: role) }
    func loginVerifiers(port: Int) async throws -> [String: String] { try await fake.loginVerifiers(port: port) }
    func loginSecret(port: Int, role: String) async throws -> String? { try await fake.loginSecret(port: port, role: role) }
    func hasClientActivity(port: Int, seconds: Int) async throws -> Bool { try await fake.hasClientActivity(port: port, seconds: seconds) }
    func closeConnections(port: Int) async { await fake.closeConnections(port: port) }
    func closeAllConnections() async { await fake.closeAllConnections() }
}
