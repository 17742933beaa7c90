import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// Databases: `CREATE DATABASE … OWNER`, renames and owner changes, `DROP DATABASE`, and their owners' rules.
@Suite struct DatabaseTests {
    static let branch = "projects/p/branches/production"

    /// A project with the password role `app` (id `app-user`).
    func project(_ lake: LakebaseHarness) async throws {
        try await lake.createProject()
        try await lake.create(.role, in: Self.branch, id: "app-user", spec: #"{"postgres_role": "app"}"#)
    }

    @Test func theDefaultDatabaseBelongsToTheProjectsOwner() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            #expect(driver.statements.last == "ALTER DATABASE databricks_postgres OWNER TO \"ada@example.com\"")
            #expect(try await lake.status(Self.branch + "/databases/databricks-postgres", "postgres_database") == .string("databricks_postgres"))
        }
    }

    @Test func aDatabaseIsCreatedWithItsOwnerAndNamedAfterItsPostgresName() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await project(lake)
            let operation = try await lake.create(
                .database, in: Self.branch, id: nil,
                spec: #"{"postgres_database": "shop_db", "role": "\#(Self.branch)/roles/app-user"}"#)
            #expect(operation.value(at: ["response", "name"]) == .string(Self.branch + "/databases/shop-db"))
            #expect(operation.value(at: ["response", "status", "role"]) == .string(Self.branch + "/roles/app-user"))
            #expect(driver.statements.last == "CREATE DATABASE \"shop_db\" OWNER \"app\"")
        }
    }

    @Test func theOwnerMustBeAReadyRoleOfTheSameBranchAndNamesAreUnique() async throws {
        try await LakebaseHarness.run { lake in
            try await project(lake)
            try await lake.createBranch("dev")
            let app = Self.branch + "/roles/app-user"
            let refused: [(String, ErrorCode)] = [
                (#"{"postgres_database": "shop", "role": "projects/p/branches/dev/roles/app-user"}"#, .invalidParameterValue),
                (#"{"postgres_database": "shop", "role": "\#(Self.branch)/roles/nobody"}"#, .notFound),
                (#"{"postgres_database": "shop"}"#, .invalidParameterValue),
                (#"{"postgres_database": "template1", "role": "\#(app)"}"#, .invalidParameterValue),
                (#"{"postgres_database": "databricks_postgres", "role": "\#(app)"}"#, .badRequest),
            ]
            for (spec, code) in refused {
                await lake.expectError(code) { try await lake.create(.database, in: Self.branch, id: nil, spec: spec) }
            }
        }
    }

    @Test func aRenameEndsTheSessionsOnTheOldNameFirst() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await project(lake)
            try await lake.create(.role, in: Self.branch, id: "other", spec: #"{"postgres_role": "other"}"#)
            let shop = Self.branch + "/databases/shop"
            try await lake.create(.database, in: Self.branch, id: "shop", spec: #"{"postgres_database": "shop", "role": "\#(Self.branch)/roles/app-user"}"#)

            let rename = try await lake.update(shop, mask: "spec.postgres_database", spec: #"{"postgres_database": "store"}"#)
            #expect(rename.value(at: ["response", "status", "postgres_database"]) == .string("store"))
            #expect(
                Array(driver.statements.suffix(3)) == [
                    "-- terminate sessions on shop", "ALTER DATABASE \"shop\" RENAME TO \"store\"", "ALTER DATABASE \"store\" OWNER TO \"app\"",
                ])

            try await lake.update(shop, mask: "spec.role", spec: #"{"role": "\#(Self.branch)/roles/other"}"#)
            #expect(Array(driver.statements.suffix(2)) == ["ALTER DATABASE \"store\" OWNER TO \"app\"", "ALTER DATABASE \"store\" OWNER TO \"other\""])

            let taken = await lake.failure {
                try await lake.update(shop, mask: "spec.postgres_database", spec: #"{"postgres_database": "databricks_postgres"}"#)
            }
            #expect(taken?.code == .badRequest)

            let deletion = try await lake.delete(shop)
            #expect(deletion.value(at: ["response", "@type"]) == .string("type.googleapis.com/google.protobuf.Empty"))
            #expect(driver.statements.last == "DROP DATABASE IF EXISTS \"store\" WITH (FORCE)")
            await lake.expectError(.notFound) { try await lake.get(shop) }
        }
    }
}
