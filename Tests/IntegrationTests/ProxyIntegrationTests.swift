#if canImport(Glibc)
    import Glibc
#endif
import Compute
import Foundation
import Logging
import PGProxy
import PostgresNIO
import Synchronization
import Testing

/// The proxy in front of a real postgres (Debian's, spawned by `ComputeSupervisor`): logins, wake on
/// connect, suspend when idle. The directory here is the test's; Kiln's own is Lakebase (covered by the
/// conformance suite).
@Suite(.serialized) struct ProxyIntegrationTests {
    /// Accepts the password "secret" for one endpoint whose compute it starts on demand and stops when idle.
    final class Directory: ProxyDirectory {
        let supervisor: ComputeSupervisor
        let spec: ServerSpec
        let wakes = Mutex(0)
        let suspends = Mutex(0)

        init(supervisor: ComputeSupervisor, spec: ServerSpec) {
            self.supervisor = supervisor
            self.spec = spec
        }

        func open(_ login: ProxyLogin) async throws -> ProxyTarget {
            guard login.endpoint == "ep-test" else { throw ProxyRefusal("08001", "endpoint not found") }
            guard login.password == "secret" else { throw ProxyRefusal.badPassword(login.user) }
            let woke = await !supervisor.isRunning(id: spec.id)
            if woke {
                try await supervisor.start(spec)
                wakes.withLock { $0 += 1 }
            }
            let socket = "\(supervisor.configuration.socketDirectory)/.s.PGSQL.\(spec.port)"
            return ProxyTarget(socketPath: socket, idleTimeout: .milliseconds(300), woke: woke)
        }

        func idle(endpoint: String, stillIdle: @escaping @Sendable () async -> Bool) async {
            await supervisor.stop(id: spec.id)
            suspends.withLock { $0 += 1 }
        }
    }

    static func freeTCPPort() -> Int { PortProbe.anyFreePort() }

    /// Runs `body` with a proxy listening on a port of its own for endpoint `ep-test`, whose postgres
    /// is not running yet.
    func withProxy(
        handshakeTimeout: Duration = .seconds(10), _ body: (Directory, PostgresConnection.Configuration) async throws -> Void
    ) async throws {
        let root = NSTemporaryDirectory() + "kiln-proxy-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        chmod(root, 0o755)
        let configuration = try ComputeConfiguration(workDirectory: root + "/compute")
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: configuration.socketDirectory)
        }
        try await DataDirectories(configuration: configuration).createEmpty(at: root + "/data", major: configuration.newestMajor)
        // postgres listens on its Unix socket only; the port names the socket.
        let spec = ServerSpec(id: "ep-test", dataDirectory: root + "/data", port: Int.random(in: 40000..<50000), settings: [:])
        let supervisor = ComputeSupervisor(configuration: configuration, logger: Logger(label: "test.compute"))
        let directory = Directory(supervisor: supervisor, spec: spec)
        let proxy = try ProxyServer(
            configuration: ProxyConfiguration(host: "127.0.0.1", sharedPort: nil, tls: nil, handshakeTimeout: handshakeTimeout),
            directory: directory, logger: Logger(label: "test.proxy"))
        let port = Self.freeTCPPort()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await supervisor.run() }
            group.addTask { try await proxy.run() }
            defer { group.cancelAll() }
            try await proxy.setEndpointListeners([EndpointListener(endpoint: "ep-test", port: port, idleTimeout: nil)])
            let client = PostgresConnection.Configuration(
                host: "127.0.0.1", port: port, username: "kiln_system",
                password: "secret", database: "postgres", tls: .disable)
            do {
                try await body(directory, client)
            } catch {
                await supervisor.stopAll()
                throw error
            }
            await supervisor.stopAll()
        }
    }

    static func currentUser(_ client: PostgresConnection.Configuration) async throws -> String {
        let logger = Logger(label: "test.client")
        let connection = try await PostgresConnection.connect(configuration: client, id: 1, logger: logger)
        do {
            var user = ""
            for try await value in try await connection.query("SELECT current_user::text", logger: logger).decode(String.self) {
                user = value
            }
            try await connection.close()
            return user
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func eventually(_ condition: () async -> Bool) async -> Bool {
        for _ in 0..<500 {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test func aLoginWakesThePostgresWhichSuspendsWhenIdleAndWakesAgain() async throws {
        try await withProxy { directory, client in
            let first = try await Self.currentUser(client)
            #expect(first == "kiln_system")
            #expect(directory.wakes.withLock { $0 } == 1)
            #expect(await Self.eventually { directory.suspends.withLock { $0 } == 1 })
            #expect(await !directory.supervisor.isRunning(id: "ep-test"))
            let second = try await Self.currentUser(client)
            #expect(second == "kiln_system")
            #expect(directory.wakes.withLock { $0 } == 2)
        }
    }

    @Test func aWrongPasswordIsRefusedWith28P01AndStartsNothing() async throws {
        try await withProxy { directory, client in
            var wrong = client
            wrong.password = "guess"
            let error = await #expect(throws: PSQLError.self) { try await Self.currentUser(wrong) }
            #expect(error?.serverInfo?[.sqlState] == "28P01")
            #expect(directory.wakes.withLock { $0 } == 0)
            let user = try await Self.currentUser(client)
            #expect(user == "kiln_system")
        }
    }

    /// A compute whose postmaster takes connections but never answers them (stopped): the client gets an
    /// `ErrorResponse` (08006) once the handshake time has passed, not a connection that hangs until its own
    /// timeout; once the postmaster goes on, logins work again.
    @Test(.timeLimit(.minutes(1))) func aLoginToAComputeThatNeverStartsTheSessionFailsAtTheHandshakeTimeout() async throws {
        try await withProxy(handshakeTimeout: .seconds(1)) { directory, client in
            // A connection held open keeps the endpoint from suspending while the test runs.
            let logger = Logger(label: "test.client")
            let held = try await PostgresConnection.connect(configuration: client, id: 1, logger: logger)
            let pidFile = try String(contentsOfFile: directory.spec.dataDirectory + "/postmaster.pid", encoding: .utf8)
            let postmaster = try #require(pidFile.split(separator: "\n").first.flatMap { Int32($0) })
            kill(postmaster, SIGSTOP)
            var stopped = true
            defer { if stopped { kill(postmaster, SIGCONT) } }
            let start = ContinuousClock.now
            let error = await #expect(throws: PSQLError.self) { try await Self.currentUser(client) }
            let waited = ContinuousClock.now - start
            kill(postmaster, SIGCONT)
            stopped = false
            #expect(error?.serverInfo?[.sqlState] == "08006")
            #expect(waited >= .seconds(1) && waited < .seconds(5), "it failed after \(waited), not at the handshake timeout")
            #expect(try await Self.currentUser(client) == "kiln_system")
            try await held.close()
        }
    }
}
