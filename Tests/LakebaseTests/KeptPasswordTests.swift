import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// Native-password logins at the proxy without waking a sleeping compute: a read-write endpoint keeps its
/// roles' SCRAM verifiers when it is suspended; a replica asks its primary.
@Suite struct KeptPasswordTests {
    /// `correct horse`'s SCRAM secret (as in `ScramSecretTests`).
    static let secret = "SCRAM-SHA-256$4096:a2lsbi1zYWx0LTE2Ynl0ZQ==$47mesbl2ZG/JiKSVWCvqddqt1ZF6gsteqxGXOU5lVps=:vnbm17etcq+Q6cVWdFYC1qknkrjDdyg4vZprOZbqYb4="
    static let branch = "projects/p/branches/production"

    func check(_ lake: LakebaseHarness, _ endpoint: ConnectableEndpoint, _ password: String, role: String = "app") async throws -> Bool? {
        try await lake.service.checkKeptPassword(endpoint, role: role, password: password)
    }

    @Test func aSuspendedEndpointChecksPasswordsAgainstTheVerifiersItKept() async throws {
        let driver = FakeComputeDriver(verifiers: ["app": Self.secret])
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            let endpoint = try #require(try await lake.connectable(try await lake.uid(Self.branch + "/endpoints/primary")))
            #expect(try await check(lake, endpoint, "correct horse") == nil) // running: postgres answers
            #expect(try await lake.service.checkNativePassword(endpoint, role: "app", password: "correct horse"))
            #expect(try await !lake.service.checkNativePassword(endpoint, role: "app", password: "wrong"))

            await lake.service.suspend(uid: endpoint.uid)
            #expect(try await check(lake, endpoint, "correct horse") == true)
            #expect(try await check(lake, endpoint, "correct horse!") == false)
            #expect(try await check(lake, endpoint, "correct horse", role: "nobody") == false)

            // Role work on the sleeping branch runs on a maintenance server, and the verifiers are kept again after it.
            try await lake.create(.role, in: Self.branch, id: "reader", spec: #"{"postgres_role": "reader"}"#)
            #expect(await !driver.isRunning(id: endpoint.uid))
            #expect(try await check(lake, endpoint, "correct horse") == true)

            #expect(try await lake.service.wake(endpoint))
            #expect(try await check(lake, endpoint, "correct horse") == nil)
        }
    }

    @Test func withoutKeptVerifiersTheComputeIsAsked() async throws {
        try await LakebaseHarness.run { lake in // a fake whose computes report no login roles
            try await lake.createProject()
            let endpoint = try #require(try await lake.connectable(try await lake.uid(Self.branch + "/endpoints/primary")))
            await lake.service.suspend(uid: endpoint.uid)
            #expect(try await check(lake, endpoint, "correct horse") == nil)
        }
    }

    @Test func aReplicaChecksPasswordsWithItsPrimary() async throws {
        let driver = FakeComputeDriver(verifiers: ["app": Self.secret])
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.create(.endpoint, in: Self.branch, id: "reader", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            let replica = try #require(try await lake.connectable(try await lake.uid(Self.branch + "/endpoints/reader")))
            let primary = try await lake.uid(Self.branch + "/endpoints/primary")

            await lake.service.suspend(uid: replica.uid)
            #expect(await !driver.isRunning(id: replica.uid))
            #expect(try await check(lake, replica, "correct horse") == true) // the running primary's pg_authid
            #expect(try await check(lake, replica, "wrong") == false)

            await lake.service.suspend(uid: primary)
            #expect(try await check(lake, replica, "correct horse") == true) // the suspended primary's kept verifiers
            #expect(try await check(lake, replica, "wrong") == false)

            #expect(try await lake.service.wake(replica))
            #expect(try await check(lake, replica, "correct horse") == nil)
        }
    }
}
