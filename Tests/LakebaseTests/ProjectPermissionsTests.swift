import ComputeTestSupport
import KilnCore
import Testing

@testable import Lakebase

/// Lakebase project permissions: a project's creator manages it, CAN_USE reads it and manages its roles and
/// databases, CAN_MANAGE changes the rest, and nobody else sees it.
@Suite struct ProjectPermissionsTests {
    /// Ann (principal 10, in group 20) and Bob (principal 11), neither an admin.
    static let ann = LakebaseCaller(workspaceID: 1, identity: "ann@example.com", identityType: "USER", principalID: 10, principalIDs: [20], isAdmin: false)
    static let bob = LakebaseCaller(workspaceID: 1, identity: "bob@example.com", identityType: "USER", principalID: 11, isAdmin: false)

    static func name(_ text: String) throws -> ResourceName { try LakebaseHarness.name(text) }

    @Test func theCreatorManagesItsProjectAndOthersGetOnlyWhatTheyAreGranted() async throws {
        try await LakebaseHarness.run { lake in
            let service = lake.service
            _ = try await lake.finished(
                service.create(.project, parent: nil, id: "p", replaceExisting: false, body: LakebaseHarness.json("{}"), caller: Self.ann))
            #expect(try await service.projectPermissions(projectID: "p", caller: Self.ann).map(\.principalID) == [10])
            // Bob sees nothing of it; an admin sees all.
            let listed = try await service.list(.project, parent: nil, pageSize: nil, pageToken: nil, showDeleted: false, caller: Self.bob)
            #expect(listed["projects"]?.arrayValue?.isEmpty == true)
            await lake.expectError(.permissionDenied) { _ = try await service.get(try Self.name("projects/p"), caller: Self.bob) }
            #expect(try await service.get(try Self.name("projects/p"), caller: LakebaseHarness.caller)["name"] == .string("projects/p"))

            // CAN_USE: reads and roles, not branches.
            _ = try await service.setProjectPermissions(projectID: "p", grants: [(11, .canUse)], replacing: false, caller: Self.ann)
            _ = try await service.get(try Self.name("projects/p/branches/production"), caller: Self.bob)
            _ = try await lake.finished(
                service.create(
                    .role, parent: try Self.name("projects/p/branches/production"), id: "reader", replaceExisting: false,
                    body: LakebaseHarness.json(#"{"spec": {"postgres_role": "reader"}}"#), caller: Self.bob))
            await lake.expectError(.permissionDenied) {
                _ = try await service.create(
                    .branch, parent: try Self.name("projects/p"), id: "dev", replaceExisting: false,
                    body: LakebaseHarness.json(#"{"spec": {"no_expiry": true}}"#), caller: Self.bob)
            }
            await lake.expectError(.permissionDenied) {
                _ = try await service.setProjectPermissions(projectID: "p", grants: [(11, .canManage)], replacing: false, caller: Self.bob)
            }
            // A group's grant counts for its members; a PUT without Ann's grant leaves her out.
            _ = try await service.setProjectPermissions(projectID: "p", grants: [(20, .canManage)], replacing: true, caller: Self.ann)
            _ = try await lake.finished(
                service.create(
                    .branch, parent: try Self.name("projects/p"), id: "dev", replaceExisting: false,
                    body: LakebaseHarness.json(#"{"spec": {"no_expiry": true}}"#), caller: Self.ann))
            await lake.expectError(.permissionDenied) { _ = try await service.get(try Self.name("projects/p"), caller: Self.bob) }
        }
    }
}
