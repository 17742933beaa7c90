import ComputeTestSupport
import Compute
import Foundation
import KilnCore
@testable import KilnApp
@testable import Lakebase
import Logging
import PGProxy
import Persistence
import PersistenceTestSupport
import Testing

/// The proxy's view of Lakebase, as `kiln serve` wires it, on a fake compute driver: which logins wake a
/// sleeping compute and which are refused first (Neon's proxy authenticates before `wake_compute`).
@Suite struct LakebaseProxyDirectoryTests {
    /// `correct horse`, as postgres stores it (see ScramSecretTests).
    static let secret = "SCRAM-SHA-256$4096:a2lsbi1zYWx0LTE2Ynl0ZQ==$47mesbl2ZG/JiKSVWCvqddqt1ZF6gsteqxGXOU5lVps=:vnbm17etcq+Q6cVWdFYC1qknkrjDdyg4vZprOZbqYb4="

    /// Runs `body` with the directory, its service (with one project whose compute is suspended) and the
    /// project's endpoint.
    func withSuspendedEndpoint(
        _ body: @Sendable (LakebaseProxyDirectory, FakeComputeDriver, ConnectableEndpoint) async throws -> Void
    ) async throws {
        let driver = FakeComputeDriver(verifiers: ["app": Self.secret])
        try await TestDatabases.with(.sqlite) { database in
            try await TestDatabases.addWorkspace(1, to: database)
            let logger = Logger(label: "kiln-test")
            let root = NSTemporaryDirectory() + "kiln-proxy-directory-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: root) }
            let lakebase = LakebaseService(
                database: database, computes: DataDirectoryOwner(driver: driver),
                storageArea: { "\(root)/\($0)" }, sweepInterval: .seconds(3600), logger: logger)
            try await withThrowingTaskGroup { group in
                group.addTask { try await lakebase.run() }
                lakebase.activate()
                let caller = LakebaseCaller(workspaceID: 1, identity: "ada@example.com", identityType: "USER")
                var created = try await lakebase.create(.project, parent: nil, id: "p", replaceExisting: false, body: .object([]), caller: caller)
                while created["done"] == .bool(false), let name = created["name"]?.stringValue { // a loaded machine takes longer than the answer wait
                    created = try await lakebase.operation(name, caller: caller)
                }
                #expect(created["error"] == nil)
                let endpoint = try #require(try await lakebase.connectableEndpoints().first)
                await lakebase.suspend(uid: endpoint.uid)
                #expect(await !driver.isRunning(id: endpoint.uid))
                try await body(LakebaseProxyDirectory(lakebase: lakebase, logger: logger), driver, endpoint)
                group.cancelAll()
            }
        }
    }

    func login(_ endpoint: ConnectableEndpoint, user: String = "app", password: String) -> ProxyLogin {
        ProxyLogin(endpoint: endpoint.uid, user: user, database: "databricks_postgres", password: password, tls: true)
    }

    @Test func aWrongNativePasswordIsRefusedWith28P01AndWakesNothing() async throws {
        try await withSuspendedEndpoint { directory, driver, endpoint in
            let starts = driver.starts
            await #expect(throws: ProxyRefusal.badPassword("app")) { try await directory.open(login(endpoint, password: "wrong")) }
            await #expect(throws: ProxyRefusal.badPassword("nobody")) {
                try await directory.open(login(endpoint, user: "nobody", password: "correct horse"))
            }
            #expect(driver.starts == starts)
            #expect(await !driver.isRunning(id: endpoint.uid))
        }
    }

    @Test func theRightNativePasswordWakesTheCompute() async throws {
        try await withSuspendedEndpoint { directory, driver, endpoint in
            let target = try await directory.open(login(endpoint, password: "correct horse"))
            #expect(target.woke)
            #expect(await driver.isRunning(id: endpoint.uid))
        }
    }

    @Test func aForgedDatabaseCredentialWakesNothing() async throws {
        try await withSuspendedEndpoint { directory, driver, endpoint in
            let starts = driver.starts
            await #expect(throws: ProxyRefusal.badPassword("app")) { try await directory.open(login(endpoint, password: "kiln_pg.forged")) }
            #expect(driver.starts == starts)
        }
    }
}
