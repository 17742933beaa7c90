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
        ("projects/p/snapshots", .unimplemented("snapshots")),
        ("catalogs/c", .unimplemented("catalogs")),
    ])
    func routes(path: String, expected: PostgresRoute) {
        #expect(PostgresRoute(segments: path.split(separator: "/").map(String.init)) == expected)
    }

    @Test(arguments: ["projects/p/roles/r", "projects/p/branches/b/endpoints/e/x", "projects//b", "other", "projects/p/branches/b/password"])
    func rejectsOtherPaths(path: String) {
        #expect(PostgresRoute(segments: path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)) == nil)
    }

    @Test func namesKnowTheirParents() throws {
        let name = try #require(ResourceName("projects/p/branches/b/databases/d"))
        #expect(name.kind == .database && name.id == "d" && name.projectID == "p")
        #expect(name.parent?.description == "projects/p/branches/b")
        #expect(name.project.description == "projects/p")
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

@Suite struct ProtoTimeTests {
    @Test(arguments: [
        ("2030-01-01T00:00:00Z", Int64(1_893_456_000_000)),
        ("2030-01-01T00:00:00.5Z", 1_893_456_000_500),
        ("2030-01-01T02:00:00+02:00", 1_893_456_000_000),
        ("2030-01-01T00:00:00.123456789Z", 1_893_456_000_123),
    ])
    func parsesTimestamps(text: String, millis: Int64) {
        #expect(ProtoTime.millis(timestamp: text) == millis)
    }

    @Test(arguments: ["2030-01-01 00:00:00Z", "2030-01-01T00:00:00", "2030-01-01T00:00:00z", "1893456000", "2030-13-01T00:00:00Z"])
    func rejectsTimestamps(text: String) {
        #expect(ProtoTime.millis(timestamp: text) == nil)
    }

    @Test func writesTimestampsThatParseBack() {
        for millis: Int64 in [0, 1_893_456_000_000, 1_795_332_165_978] {
            #expect(ProtoTime.millis(timestamp: ProtoTime.timestamp(millis: millis)) == millis)
        }
    }

    @Test func durations() {
        #expect(ProtoTime.seconds(duration: "300s") == 300)
        #expect(ProtoTime.seconds(duration: "1.5s") == 1.5)
        #expect(ProtoTime.seconds(duration: "300") == nil)
        #expect(ProtoTime.seconds(duration: "PT5M") == nil)
        #expect(ProtoTime.duration(seconds: 604_800) == "604800s")
    }
}
