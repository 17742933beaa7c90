#if canImport(Glibc)
    import Glibc
#endif
@testable import Compute
import Foundation
import Logging
import Synchronization

/// A throwaway work directory with its own compute configuration, for tests that run real postgres.
struct ComputeFixture {
    let root: String
    let configuration: ComputeConfiguration
    var directories: DataDirectories { DataDirectories(configuration: configuration) }

    init() throws {
        root = NSTemporaryDirectory() + "kiln-compute-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        chmod(root, 0o755) // the postgres account must reach the data directories inside
        configuration = try ComputeConfiguration(workDirectory: root + "/compute")
    }

    /// A port no process listens on (TCP) right now and no fixture of this test run has handed out: two
    /// servers made before either starts (or by tests running side by side) would otherwise draw the same
    /// port now and then, and the second postgres fail on the first one's socket lock.
    func freePort() -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 57000..<58000)
            if PortProbe.canBind(port: port) && !FileManager.default.fileExists(atPath: "\(configuration.socketDirectory)/.s.PGSQL.\(port)"),
                Self.handedOut.withLock({ $0.insert(port).inserted })
            {
                return port
            }
        }
        fatalError("no free port")
    }

    /// Every port `freePort` returned in this process.
    private static let handedOut = Mutex<Set<Int>>([])

    /// A new empty cluster under the fixture and the spec that serves it.
    func newServer(_ name: String, settings: [String: String] = [:]) async throws -> ServerSpec {
        let path = root + "/data/" + name
        try await directories.createEmpty(at: path, major: configuration.newestMajor)
        return ServerSpec(id: name, dataDirectory: path, port: freePort(), settings: settings)
    }

    func query(_ spec: ServerSpec, _ sql: String) async throws -> [String] {
        try await AdminSession.strings(configuration: configuration, port: spec.port, database: "databricks_postgres", sql)
    }

    /// The postmaster's process id, from its pid file.
    static func postmasterPID(_ spec: ServerSpec) -> Int32? {
        guard let text = try? String(contentsOfFile: spec.dataDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    /// Polls `condition` every 20 ms for up to `seconds`.
    static func eventually(seconds: Double = 20, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
        try? FileManager.default.removeItem(atPath: configuration.socketDirectory)
    }
}

/// Runs `body` with a supervisor whose `run()` is going, and stops everything afterwards.
func withSupervisor(_ fixture: ComputeFixture, _ body: (ComputeSupervisor) async throws -> Void) async throws {
    let supervisor = ComputeSupervisor(configuration: fixture.configuration, logger: Logger(label: "test.compute"))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await supervisor.run() }
        do {
            try await body(supervisor)
        } catch {
            group.cancelAll()
            await supervisor.stopAll()
            throw error
        }
        group.cancelAll()
        await supervisor.stopAll()
    }
}
