import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// `pg_version`: a project runs the major version it asks for, one that is not installed is refused, and
/// one that asks for none gets Lakebase's default where it is installed.
@Suite struct PostgresVersionTests {
    @Test func aProjectsDataIsMadeForTheVersionItAsksFor() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject("old", body: #"{"spec": {"pg_version": "16"}}"#)
            try await lake.createProject("new")
            #expect(try await lake.status("projects/old", "pg_version") == .integer(16))
            #expect(try await lake.status("projects/new", "pg_version") == .integer(17))
            let versions = driver.directories.sorted().map { driver.file("PG_VERSION", inDataDirectory: $0) }
            #expect(Set(versions) == ["16\n", "17\n"])
        }
    }

    @Test func aVersionThatIsNotInstalledIsRefusedAndNothingIsMade() async throws {
        let driver = FakeComputeDriver(postgresMajors: [15])
        try await LakebaseHarness.run(driver: driver) { lake in
            let refusal = await lake.failure { try await lake.createProject("p", body: #"{"spec": {"pg_version": 17}}"#) }
            #expect(refusal?.code == .invalidParameterValue)
            #expect(refusal?.message.contains("pg_version 17 is not installed") == true, "\(String(describing: refusal))")
            await lake.expectError(.notFound) { try await lake.get("projects/p") }
            #expect(driver.directories.isEmpty)

            try await lake.createProject("p")
            #expect(try await lake.status("projects/p", "pg_version") == .integer(15))
        }
    }

    @Test func aProjectWhoseDataIsOfAnotherVersionSaysSoAfterARestart() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.withStorage { root in
            let directory = try await LakebaseHarness.run(root: root, driver: driver) { lake in
                try await lake.createProject("old", body: #"{"spec": {"pg_version": 17}}"#)
                return try #require(driver.directories.first)
            }
            // As every project made before Kiln ran the version asked for: its data is Debian's 15.
            try driver.writeFile("PG_VERSION", contents: "15\n", inDataDirectory: directory)
            let version = try await LakebaseHarness.run(root: root, driver: driver) { lake in
                // Operations run once the start-up is done: after one, the versions are recorded.
                try await lake.create(
                    .branch, in: "projects/old", id: "after", spec: #"{"source_branch": "projects/old/branches/production", "no_expiry": true}"#)
                return try await lake.status("projects/old", "pg_version")
            }
            #expect(version == .integer(15))
        }
    }
}
