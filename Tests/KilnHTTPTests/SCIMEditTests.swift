import KilnCore
import Testing

@testable import KilnHTTP

/// SCIM PATCH and PUT over a resource's changeable attributes (RFC 7644 §3.5), as `SCIMDirectory` applies them.
@Suite struct SCIMEditTests {
    static let group = SCIMEdit(displayName: "eng", externalID: nil, entitlements: [], roles: [], members: ["1", "2"])
    static let user = SCIMEdit(displayName: "Ann", active: true, externalID: "ext", entitlements: ["workspace-access"], roles: [])

    static func body(_ operations: String, schemas: Bool = true) throws -> JSONTree {
        let head = schemas ? #""schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "# : ""
        return try JSONTree.parse(Array("{\(head)\"Operations\": [\(operations)]}".utf8))
    }

    static func scimType(_ change: () throws -> Void) -> String? {
        do {
            try change()
            return nil
        } catch let error as DatabricksError {
            return error.scimType
        } catch {
            return "\(error)"
        }
    }

    @Test func membersAreAddedOnceRemovedByFilterOrByValueAndReplacedWhole() throws {
        var edit = Self.group
        try edit.patch(try Self.body(#"{"op": "add", "path": "members", "value": [{"value": "2"}, {"value": "3"}, {"value": "3"}]}"#))
        #expect(edit.members == ["1", "2", "3"])
        try edit.patch(try Self.body(#"{"op": "Remove", "path": "members[value eq \"1\"]"}"#))
        #expect(edit.members == ["2", "3"])
        try edit.patch(try Self.body(#"{"op": "remove", "path": "members", "value": [{"value": "3"}]}"#))
        #expect(edit.members == ["2"])
        try edit.patch(
            try Self.body(#"{"op": "replace", "path": "members", "value": [{"value": "9"}]}, {"op": "replace", "path": "displayName", "value": "ops"}"#))
        #expect(edit.members == ["9"] && edit.displayName == "ops")
        try edit.patch(try Self.body(#"{"op": "remove", "path": "members"}"#, schemas: false))
        #expect(edit.members == [])
    }

    @Test func aPatchWithoutAPathReplacesTheAttributesItsValueNamesAndAzureADsStringsAreBooleans() throws {
        var edit = Self.user
        try edit.patch(try Self.body(#"{"op": "replace", "value": {"active": "False", "displayName": "Ann B"}}"#))
        #expect(edit.active == false && edit.displayName == "Ann B")
        try edit.patch(try Self.body(#"{"op": "add", "path": "entitlements", "value": [{"value": "allow-cluster-create"}]}"#))
        #expect(edit.entitlements == ["workspace-access", "allow-cluster-create"])
        try edit.patch(try Self.body(#"{"op": "remove", "path": "externalId"}"#))
        #expect(edit.externalID == nil)
    }

    @Test func aBadPatchIsTheRightSCIMErrorAndChangesNothing() throws {
        let cases: [(String, String)] = [
            (#"{"op": "replace", "path": "userName", "value": "x"}"#, "mutability"),
            (#"{"op": "add", "path": "groups", "value": [{"value": "1"}]}"#, "mutability"),
            (#"{"op": "replace", "path": "nickName", "value": "x"}"#, "invalidPath"),
            (#"{"op": "remove", "path": "members[value eq]"}"#, "invalidPath"),
            (#"{"op": "move", "path": "displayName", "value": "x"}"#, "invalidSyntax"),
            (#"{"op": "replace", "path": "displayName", "value": ""}"#, "invalidValue"),
            (#"{"op": "replace", "path": "active", "value": "maybe"}"#, "invalidValue"),
            (#"{"op": "remove"}"#, "noTarget"),
        ]
        for (operation, expected) in cases {
            var edit = Self.user
            // A good first operation is undone with the bad one.
            let body = try Self.body(#"{"op": "replace", "path": "displayName", "value": "changed"}, "# + operation)
            #expect(Self.scimType { try edit.patch(body) } == expected, "\(operation)")
            #expect(edit == Self.user)
        }
        var edit = Self.user
        let wrongSchema = try JSONTree.parse(Array(#"{"schemas": ["urn:x"], "Operations": [{"op": "remove", "path": "externalId"}]}"#.utf8))
        #expect(Self.scimType { try edit.patch(wrongSchema) } == "invalidSyntax")
        #expect(Self.scimType { try edit.patch(try Self.body("")) } == "invalidSyntax")
        // A user has no members.
        #expect(Self.scimType { try edit.patch(try Self.body(#"{"op": "add", "path": "members", "value": [{"value": "1"}]}"#)) } == "invalidPath")
    }

    @Test func aPutReplacesEveryChangeableAttributeAndNeedsADisplayNameWhereTheResourceDoes() throws {
        var edit = Self.group
        try edit.replace(with: try JSONTree.parse(Array(#"{"displayName": "eng", "members": [{"value": "5"}]}"#.utf8)), requiresDisplayName: true)
        #expect(edit == SCIMEdit(displayName: "eng", externalID: nil, entitlements: [], roles: [], members: ["5"]))
        #expect(Self.scimType { try edit.replace(with: try JSONTree.parse(Array("{}".utf8)), requiresDisplayName: true) } == "invalidValue")
        var user = Self.user
        user.active = false
        try user.replace(with: try JSONTree.parse(Array(#"{"userName": "ann"}"#.utf8)), requiresDisplayName: false)
        #expect(user == SCIMEdit(displayName: "Ann", active: true, externalID: nil, entitlements: [], roles: []))
    }
}
