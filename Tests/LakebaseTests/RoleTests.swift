import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// Roles: the SQL that makes them, their passwords, and what deleting one does to what it owns.
@Suite struct RoleTests {
    static let branch = "projects/p/branches/production"
    static let options = "LOGIN NOCREATEDB NOCREATEROLE NOBYPASSRLS"

    func password(_ lake: LakebaseHarness, _ role: String) async throws -> String? {
        try await lake.service.revealPassword(LakebaseHarness.name(role), caller: lake.caller)["password"]?.stringValue
    }

    @Test func aPasswordRoleIsCreatedWithThePasswordItReveals() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            let operation = try await lake.create(.role, in: Self.branch, id: "app-user", spec: #"{"postgres_role": "app"}"#)
            #expect(operation.value(at: ["response", "status", "auth_method"]) == .string("PG_PASSWORD_SCRAM_SHA_256"))
            let password = try #require(try await password(lake, Self.branch + "/roles/app-user"))
            #expect(password.count == 32)
            #expect(
                Array(driver.statements.suffix(2)) == [
                    "CREATE ROLE \"app\" \(Self.options) PASSWORD '\(password)'", "REVOKE databricks_superuser FROM \"app\"",
                ])
        }
    }

    @Test func attributesMembershipAndLoginBecomeRoleOptions() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.create(
                .role, in: Self.branch, id: "owner",
                spec: #"""
                    {"postgres_role": "owner", "auth_method": "NO_LOGIN", "membership_roles": ["DATABRICKS_SUPERUSER"],
                     "attributes": {"createdb": true, "createrole": true, "bypassrls": true}}
                    """#)
            #expect(
                Array(driver.statements.suffix(2)) == [
                    "CREATE ROLE \"owner\" NOLOGIN CREATEDB CREATEROLE BYPASSRLS PASSWORD NULL", "GRANT databricks_superuser TO \"owner\"",
                ])
            try await lake.create(.role, in: Self.branch, id: "odd-name", spec: #"{"postgres_role": "we\"ird", "identity_type": "GROUP"}"#)
            #expect(driver.statements.suffix(2).first == "CREATE ROLE \"we\"\"ird\" \(Self.options) PASSWORD NULL")
            let oauth = await lake.failure { try await password(lake, Self.branch + "/roles/odd-name") }
            #expect(oauth?.code == .badRequest)
        }
    }

    @Test func aRoleThatExistsIsAlteredAndKeepsItsPassword() async throws {
        let driver = FakeComputeDriver(verifiers: ["app": "SCRAM-SHA-256$4096:c2FsdA==$YQ==:Yg=="])
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.create(.role, in: Self.branch, id: "app-user", spec: #"{"postgres_role": "app"}"#)
            let before = try await password(lake, Self.branch + "/roles/app-user")
            let update = try await lake.update(Self.branch + "/roles/app-user", mask: "spec.attributes.createdb", spec: #"{"attributes": {"createdb": true}}"#)
            #expect(update.value(at: ["response", "status", "attributes", "createdb"]) == .bool(true))
            #expect(driver.statements.suffix(2).first == "ALTER ROLE \"app\" LOGIN CREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '\(before ?? "")'")
            #expect(try await password(lake, Self.branch + "/roles/app-user") == before)
        }
    }

    @Test func roleNamesAreUniqueAndSomeAreReserved() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.create(.role, in: Self.branch, id: "app-user", spec: #"{"postgres_role": "app"}"#)
            let twice = await lake.failure { try await lake.create(.role, in: Self.branch, id: "app-again", spec: #"{"postgres_role": "app"}"#) }
            #expect(twice?.code == .badRequest)
            for reserved in ["kiln_system", "pg_monitor", "PUBLIC"] {
                let refused = await lake.failure { try await lake.create(.role, in: Self.branch, id: nil, spec: #"{"postgres_role": "\#(reserved)"}"#) }
                #expect(refused?.code == .invalidParameterValue)
            }
        }
    }

    @Test func aRoleThatOwnsADatabaseIsDeletedOnlyWithAnHeir() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let writer = Self.branch + "/roles/writer"
            try await lake.create(.role, in: Self.branch, id: "writer", spec: #"{"postgres_role": "writer"}"#)
            try await lake.create(.role, in: Self.branch, id: "reader", spec: #"{"postgres_role": "reader"}"#)
            try await lake.create(.database, in: Self.branch, id: "shop", spec: #"{"postgres_database": "shop", "role": "\#(writer)"}"#)

            await lake.expectError(.badRequest) { try await lake.delete(writer) }
            for heir in [writer, "projects/p/branches/dev/roles/reader", "projects/p/branches/production", "nonsense"] {
                await lake.expectError(.invalidParameterValue) { try await lake.delete(writer, reassignOwnedTo: heir) }
            }
            await lake.expectError(.notFound) { try await lake.delete(writer, reassignOwnedTo: Self.branch + "/roles/nobody") }

            let deletion = try await lake.delete(writer, reassignOwnedTo: Self.branch + "/roles/reader")
            #expect(deletion["error"] == nil)
            let reassign = ["REASSIGN OWNED BY \"writer\" TO \"reader\"", "DROP OWNED BY \"writer\""]
            #expect(Array(driver.statements.suffix(5)) == reassign + reassign + ["DROP ROLE IF EXISTS \"writer\""])
            await lake.expectError(.notFound) { try await lake.get(writer) }

            try await lake.create(.role, in: Self.branch, id: "idle", spec: #"{"postgres_role": "idle"}"#)
            try await lake.delete(Self.branch + "/roles/idle") // owns no database: dropped alone
            #expect(driver.statements.last == "DROP ROLE IF EXISTS \"idle\"")
        }
    }

    /// "A database always has an owner" (lakebase-contract.md §8.5): after its owner's deletion, the heir.
    @Test func aDatabaseWhoseOwnerIsDeletedBelongsToTheHeir() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.create(.role, in: Self.branch, id: "writer", spec: #"{"postgres_role": "writer"}"#)
            try await lake.create(.role, in: Self.branch, id: "reader", spec: #"{"postgres_role": "reader"}"#)
            try await lake.create(.database, in: Self.branch, id: "shop", spec: #"{"postgres_database": "shop", "role": "\#(Self.branch)/roles/writer"}"#)
            try await lake.delete(Self.branch + "/roles/writer", reassignOwnedTo: Self.branch + "/roles/reader")
            #expect(try await lake.status(Self.branch + "/databases/shop", "role") == .string(Self.branch + "/roles/reader"))
        }
    }

    @Test func aBranchOfAProtectedBranchGetsNewPasswordsForItsRoles() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject(body: #"{"initial_branch_spec": {"is_protected": true}}"#)
            try await lake.create(.role, in: Self.branch, id: "app-user", spec: #"{"postgres_role": "app"}"#)
            let parent = try #require(try await password(lake, Self.branch + "/roles/app-user"))
            try await lake.createBranch("dev")
            let child = try #require(try await password(lake, "projects/p/branches/dev/roles/app-user"))
            #expect(child != parent)
            let altered = driver.statements.filter { $0.hasPrefix("ALTER ROLE") }
            #expect(altered == ["ALTER ROLE \"app\" PASSWORD '\(child)'"]) // not the OAuth owner's
            #expect(try await password(lake, Self.branch + "/roles/app-user") == parent)

            // An unprotected source hands its passwords on.
            try await lake.createBranch("feature", from: "dev")
            #expect(try await password(lake, "projects/p/branches/feature/roles/app-user") == child)
        }
    }
}
