import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// Projects: their default branch, soft deletion and undeletion with everything below them, purging, and paged lists.
@Suite struct ProjectTests {
    static let production = "projects/p/branches/production"

    @Test func theDefaultBranchCanMoveAndItIsWhereNewBranchesComeFrom() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            await lake.expectError(.alreadyExists) { try await lake.createProject() }
            try await lake.createBranch("dev")
            let missing = await lake.failure {
                try await lake.update("projects/p", mask: "spec.default_branch", spec: #"{"default_branch": "projects/p/branches/nowhere"}"#)
            }
            #expect(missing?.code == .invalidParameterValue, "\(String(describing: missing))")

            try await lake.update("projects/p", mask: "spec.default_branch", spec: #"{"default_branch": "projects/p/branches/dev"}"#)
            #expect(try await lake.status("projects/p", "default_branch") == .string("projects/p/branches/dev"))
            #expect(try await lake.status("projects/p/branches/dev", "default") == .bool(true))
            #expect(try await lake.status(Self.production, "default") == .bool(false))
            await lake.expectError(.badRequest) { try await lake.delete("projects/p/branches/dev") }

            try await lake.create(.branch, in: "projects/p", id: "feature", spec: #"{"no_expiry": true}"#)
            #expect(try await lake.status("projects/p/branches/feature", "source_branch") == .string("projects/p/branches/dev"))
        }
    }

    @Test func aDeletedProjectStopsItsComputesHidesItsBranchesAndComesBack() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let uids = [try await lake.uid(Self.production + "/endpoints/primary"), try await lake.uid("projects/p/branches/dev/endpoints/primary")]
            try await lake.delete("projects/p")
            #expect(await driver.ids() == [])
            #expect(driver.directories.count == 2)
            #expect(try await lake.service.connectableEndpoints().isEmpty)
            #expect(try await lake.get("projects/p")["delete_time"] != nil)
            await lake.expectError(.notFound) { try await lake.get(Self.production) }
            let listing = await lake.failure {
                try await lake.service.list(
                    .branch, parent: LakebaseHarness.name("projects/p"), pageSize: nil, pageToken: nil, showDeleted: true, caller: lake.caller)
            }
            #expect(listing?.code == .notFound)

            let undeletion = try await lake.service.undelete(LakebaseHarness.name("projects/p"), caller: lake.caller)
            #expect(undeletion["done"] == .bool(true))
            #expect(try await lake.get("projects/p")["delete_time"] == nil)
            for uid in uids { #expect(await driver.isRunning(id: uid)) }
            #expect(try await lake.service.connectableEndpoints().count == 2)
        }
    }

    @Test func aPurgedProjectLeavesNothing() async throws {
        let driver = FakeComputeDriver()
        try await LakebaseHarness.run(driver: driver) { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            try await lake.create(.endpoint, in: Self.production, id: "reader", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            #expect(driver.directories.count == 3)
            let deletion = try await lake.delete("projects/p", purge: true)
            #expect(deletion["error"] == nil)
            #expect(driver.directories.isEmpty)
            #expect(await driver.ids() == [])
            await lake.expectError(.notFound) { try await lake.get("projects/p") }
            try await lake.createProject() // the id is free again
        }
    }

    @Test func listsComeInPages() async throws {
        try await LakebaseHarness.run { lake in
            for id in ["a", "b", "c"] { try await lake.createProject(id) }
            let first = try await lake.service.list(.project, parent: nil, pageSize: 2, pageToken: nil, showDeleted: false, caller: lake.caller)
            #expect(first["projects"]?.arrayValue?.count == 2)
            let token = try #require(first["next_page_token"]?.stringValue)
            let second = try await lake.service.list(.project, parent: nil, pageSize: 2, pageToken: token, showDeleted: false, caller: lake.caller)
            #expect(second["projects"]?.arrayValue?.count == 1)
            #expect(second["next_page_token"] == nil)
            let names = (first["projects"]?.arrayValue ?? []) + (second["projects"]?.arrayValue ?? [])
            let listed = Set(names.compactMap { $0["name"]?.stringValue })
            #expect(listed == ["projects/a", "projects/b", "projects/c"])
            let bad = await lake.failure {
                try await lake.service.list(.project, parent: nil, pageSize: 2, pageToken: "garbage!", showDeleted: false, caller: lake.caller)
            }
            #expect(bad?.code == .invalidParameterValue)
        }
    }
}
