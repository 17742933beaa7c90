import KilnCore
import Testing
@testable import Lakebase

@Suite struct NamesTests {
    @Test(arguments: [
        ("projects", PostgresRoute.collection(parent: nil, kind: .project)),
        ("projects/p", .resource(ResourceName("projects/p")!)),
        ("projects/p/branches", .collection(parent: ResourceName("projects/p"), kind: .branch)),
        ("projects/p/branches/b/roles/r/password", .action(ResourceName("projects/p/branches/b/roles/r")!, "password")),
        ("projects/p/undelete", .action(ResourceName("projects/p")!, "undelete")),
        ("projects/p/branches/b/operations/x", .operation("projects/p/branches/b/operations/x")),
        ("credentials", .credentials),
        ("projects/p/snapshots", .collection(parent: ResourceName("projects/p"), kind: .snapshot)),
        ("projects/p/snapshots/s", .resource(ResourceName("projects/p/snapshots/s")!)),
        ("projects/p/branches/b/snapshot-schedule", .snapshotSchedule(branch: ResourceName("projects/p/branches/b")!)),
        ("projects/p/branches/b/databases/d/data-api", .unimplemented("data-api")),
        ("catalogs/c", .unimplemented("catalogs")),
    ])
    func routes(path: String, expected: PostgresRoute) {
        #expect(PostgresRoute(segments: path.split(separator: "/").map(String.init)) == expected)
    }

    @Test(arguments: [
        "projects/p/roles/r", "projects/p/branches/b/endpoints/e/x", "projects//b", "other", "projects/p/branches/b/password",
        "projects/p/branches/b/snapshots", "projects/p/snapshot-schedule", "projects/p/snapshots/s/x",
    ])
    func rejectsOtherPaths(path: String) {
        #expect(PostgresRoute(segments: path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)) == nil)
    }

    @Test func namesKnowTheirParents() throws {
        let name = try #require(ResourceName("projects/p/branches/b/databases/d"))
        #expect(name.kind == .database && name.id == "d" && name.projectID == "p")
        #expect(name.parent?.description == "projects/p/branches/b")
        #expect(name.project.description == "projects/p")
        let snapshot = try #require(ResourceName("projects/p/snapshots/s"))
        #expect(snapshot.kind == .snapshot && snapshot.id == "s" && snapshot.description == "projects/p/snapshots/s")
        #expect(snapshot.parent?.description == "projects/p")
        #expect(snapshot.branch == snapshot.project)
    }

    @Test(arguments: ["a", "my-app", "a1-b2", String(repeating: "x", count: 63)])
    func validProjectIDs(id: String) throws {
        try ResourceID.validate(id, kind: .project)
    }

    @Test(arguments: ["", "A", "1a", "a_b", "a-", String(repeating: "x", count: 64)])
    func invalidProjectIDs(id: String) {
        #expect(throws: KilnError.self) { try ResourceID.validate(id, kind: .project) }
    }

    @Test func rolesNeedFourCharacters() {
        #expect(throws: KilnError.self) { try ResourceID.validate("abc", kind: .role) }
    }
}
