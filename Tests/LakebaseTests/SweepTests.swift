import KilnCore
import Testing
@testable import Lakebase

/// What the periodic sweep deletes: expired branches and soft-deleted resources past their purge time.
@Suite struct SweepTests {
    let now: Int64 = 1_800_000_000_000

    func resource(_ name: String, workspace: Int64 = 1, spec: String = "{}", deletedAt: Int64? = nil, purgeAt: Int64? = nil) throws -> StoredResource {
        var row = StoredResource(
            workspaceID: workspace, name: try #require(ResourceName(name)), uid: "u",
            spec: try JSONTree.parse(Array(spec.utf8)), state: .ready, now: 0)
        row.deletedAt = deletedAt
        row.purgeAt = purgeAt
        return row
    }

    func branch(
        _ id: String, project: String = "p", workspace: Int64 = 1, expires: Int64? = nil, parent: String? = "production",
        protected: Bool = false, deletedAt: Int64? = nil, purgeAt: Int64? = nil
    ) throws -> StoredResource {
        var fields: [String] = ["\"is_protected\": \(protected)"]
        if let parent { fields.append("\"source_branch\": \"projects/\(project)/branches/\(parent)\"") }
        if let expires { fields.append("\"expire_time\": \"\(ProtoTime.timestamp(millis: expires))\"") }
        return try resource(
            "projects/\(project)/branches/\(id)", workspace: workspace, spec: "{\(fields.joined(separator: ","))}",
            deletedAt: deletedAt, purgeAt: purgeAt)
    }

    func project(_ id: String = "p", workspace: Int64 = 1, deletedAt: Int64? = nil, purgeAt: Int64? = nil) throws -> StoredResource {
        try resource(
            "projects/\(id)", workspace: workspace, spec: "{\"default_branch\": \"projects/\(id)/branches/production\"}",
            deletedAt: deletedAt, purgeAt: purgeAt)
    }

    func due(_ projects: [StoredResource], _ branches: [StoredResource]) -> [String] {
        LakebaseService.dueForDeletion(projects: projects, branches: branches, now: now)
            .map { "\($0.workspaceID):\($0.name)" }.sorted()
    }

    @Test func expiredBranchesGoOthersStay() throws {
        let branches = [
            try branch("production", parent: nil),
            try branch("expired", expires: now - 1),
            try branch("exactly-now", expires: now),
            try branch("later", expires: now + 1),
            try branch("forever"),
        ]
        #expect(due([try project()], branches) == ["1:projects/p/branches/exactly-now", "1:projects/p/branches/expired"])
    }

    @Test func protectedRootDefaultAndParentBranchesNeverExpire() throws {
        let branches = [
            try branch("production", expires: now - 1), // the default branch
            try branch("root", expires: now - 1, parent: nil),
            try branch("guarded", expires: now - 1, protected: true),
            try branch("parent", expires: now - 1),
            try branch("child", parent: "parent"),
        ]
        #expect(due([try project()], branches) == [])
    }

    @Test func softDeletedResourcesGoAtTheirPurgeTime() throws {
        let projects = [try project("gone", deletedAt: 0, purgeAt: now), try project("kept", deletedAt: 0, purgeAt: now + 1), try project("live")]
        let branches = [
            try branch("b", project: "gone", deletedAt: 0, purgeAt: now - 5), // its project goes: left to it
            try branch("expired", project: "kept", expires: now - 1), // its project is deleted: not expired alone
            try branch("old", project: "live", deletedAt: 0, purgeAt: now - 1),
            try branch("recent", project: "live", deletedAt: 0, purgeAt: now + 1),
        ]
        #expect(due(projects, branches) == ["1:projects/gone", "1:projects/live/branches/old"])
    }

    @Test func workspacesAreKeptApart() throws {
        let projects = [try project(workspace: 1), try project(workspace: 2, deletedAt: 0, purgeAt: now)]
        let branches = [
            try branch("x", workspace: 1, expires: now - 1), try branch("child", workspace: 2, parent: "x"),
            try branch("x", workspace: 2, expires: now - 1),
        ]
        #expect(due(projects, branches) == ["1:projects/p/branches/x", "2:projects/p"])
    }
}
