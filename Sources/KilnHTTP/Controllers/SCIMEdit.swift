import Accounts
import Foundation
import HTTPTypes
import KilnCore

/// The attributes of a SCIM resource that PUT and PATCH change (RFC 7644 §3.5), read from what is stored and
/// written back by `SCIMDirectory`. `active` is nil for groups, `members` nil for users and service principals.
struct SCIMEdit: Sendable, Equatable {
    var displayName: String
    var active: Bool?
    var externalID: String?
    var entitlements: [String]
    var roles: [String]
    var members: [String]?

    /// Attributes a client may send but never change: SCIM's `readOnly` and `immutable` ones as Databricks
    /// serves them (a user's `userName` and `emails` come from its login name, a service principal's
    /// `applicationId` is its client id, and `groups` change through the group's `members`).
    static let fixedAttributes: Set<String> = ["id", "username", "applicationid", "emails", "groups", "meta", "schemas"]

    /// Applies a PATCH body (`{"schemas":[…PatchOp], "Operations":[{op, path, value}]}`): `add`, `remove` and
    /// `replace`, case-insensitive as Azure AD sends them; a path of `displayName`, `active`, `externalId`,
    /// `entitlements`, `roles` or `members`, multi-valued ones optionally filtered (`members[value eq "7"]`);
    /// no path with an object value replaces each attribute it names. Throws SCIM's 400 `invalidSyntax`,
    /// `invalidPath`, `invalidValue`, `noTarget` or `mutability` (RFC 7644 §3.12), having changed nothing.
    mutating func patch(_ body: JSONTree) throws {
        if let schemas = body["schemas"]?.arrayValue, !schemas.contains(.string(Self.patchSchema)) {
            throw Self.error("invalidSyntax", "schemas must be [\"\(Self.patchSchema)\"].")
        }
        guard let operations = body["Operations"]?.arrayValue ?? body["operations"]?.arrayValue, !operations.isEmpty else {
            throw Self.error("invalidSyntax", "Operations must be a non-empty list.")
        }
        var edited = self
        for operation in operations {
            guard let op = operation["op"]?.stringValue?.lowercased(), ["add", "remove", "replace"].contains(op) else {
                throw Self.error("invalidSyntax", "Each operation's op must be add, remove or replace.")
            }
            let value = operation["value"]
            guard let path = operation["path"]?.stringValue, !path.isEmpty else {
                guard op != "remove", case .object(let members)? = value else {
                    throw Self.error("noTarget", "An operation without a path needs an object value (and cannot remove).")
                }
                for member in members { try edited.apply(op, attribute: member.key, filter: nil, value: member.value) }
                continue
            }
            let (attribute, filter) = try Self.split(path)
            try edited.apply(op, attribute: attribute, filter: filter, value: value)
        }
        self = edited
    }

    /// Replaces every changeable attribute with what a PUT body says (RFC 7644 §3.5.1): left out, a list
    /// becomes empty and `active` true; `displayName` is required.
    mutating func replace(with body: JSONTree, requiresDisplayName: Bool) throws {
        var edited = self
        if let name = body["displayName"] {
            try edited.apply("replace", attribute: "displayName", filter: nil, value: name)
        } else if requiresDisplayName {
            throw Self.error("invalidValue", "displayName is required.")
        }
        if edited.active != nil { edited.active = try body["active"].map { try Self.bool($0, "active") } ?? true }
        edited.externalID = body["externalId"]?.stringValue
        edited.entitlements = try Self.values(body["entitlements"], "entitlements")
        edited.roles = try Self.values(body["roles"], "roles")
        if edited.members != nil { edited.members = try Self.values(body["members"], "members") }
        self = edited
    }

    static let patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

    private mutating func apply(_ op: String, attribute: String, filter: SCIMFilter?, value: JSONTree?) throws {
        let name = attribute.lowercased()
        if Self.fixedAttributes.contains(name) {
            throw Self.error("mutability", "\(attribute) cannot be changed.")
        }
        switch name {
        case "displayname":
            guard op != "remove", let text = value?.stringValue, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw Self.error("invalidValue", "displayName must be a non-empty string.")
            }
            displayName = text
        case "externalid":
            if op == "remove" {
                externalID = nil
            } else {
                guard let text = value?.stringValue else { throw Self.error("invalidValue", "externalId must be a string.") }
                externalID = text
            }
        case "active" where active != nil:
            guard op != "remove", let value else { throw Self.error("invalidValue", "active must be true or false.") }
            active = try Self.bool(value, "active")
        case "entitlements": entitlements = try Self.edit(entitlements, op, filter: filter, value: value, attribute)
        case "roles": roles = try Self.edit(roles, op, filter: filter, value: value, attribute)
        case "members" where members != nil: members = try Self.edit(members ?? [], op, filter: filter, value: value, attribute)
        default: throw Self.error("invalidPath", "\(attribute) is not an attribute Kiln can change here.")
        }
    }

    /// A multi-valued attribute after one operation: `add` appends what is new, `replace` sets the list (or,
    /// filtered, swaps the matching values), `remove` drops the filtered values, the listed ones, or all.
    private static func edit(_ current: [String], _ op: String, filter: SCIMFilter?, value: JSONTree?, _ attribute: String) throws -> [String] {
        let matches = { (item: String) in filter?.matches(["value": [.string(item)]]) ?? true }
        switch op {
        case "add":
            var result = current
            for item in try values(value, attribute) where !result.contains(item) { result.append(item) }
            return result
        case "replace":
            let replacement = try values(value, attribute)
            if filter == nil { return replacement }
            guard current.contains(where: matches) else { throw error("noTarget", "No \(attribute) value matches the filter.") }
            return current.filter { !matches($0) } + replacement.filter { !current.contains($0) }
        default:
            if filter == nil, let value {
                let removed = Set(try values(value, attribute))
                return current.filter { !removed.contains($0) }
            }
            return current.filter { !matches($0) }
        }
    }

    /// `[{"value": "x"}, …]` (or a single such object, or plain strings) → `["x", …]`.
    private static func values(_ value: JSONTree?, _ attribute: String) throws -> [String] {
        guard let value, !value.isNull else { return [] }
        let items = value.arrayValue ?? [value]
        return try items.map { item in
            if let text = item.stringValue { return text }
            if let text = item["value"]?.stringValue, !text.isEmpty { return text }
            throw error("invalidValue", "Each \(attribute) entry needs a value.")
        }
    }

    /// `true`, `false`, or the strings `"True"` / `"False"` that Azure AD sends.
    private static func bool(_ value: JSONTree, _ attribute: String) throws -> Bool {
        if let flag = value.boolValue { return flag }
        switch value.stringValue?.lowercased() {
        case "true": return true
        case "false": return false
        default: throw error("invalidValue", "\(attribute) must be true or false.")
        }
    }

    /// `members[value eq "7"]` → (`members`, the filter); `displayName` → (`displayName`, nil).
    private static func split(_ path: String) throws -> (String, SCIMFilter?) {
        guard let open = path.firstIndex(of: "[") else {
            guard !path.contains("]") else { throw error("invalidPath", "\(path) is not a path.") }
            return (path, nil)
        }
        guard path.hasSuffix("]") else { throw error("invalidPath", "\(path) is not a path Kiln can change.") }
        let inner = String(path[path.index(after: open)..<path.index(before: path.endIndex)])
        do {
            return (String(path[..<open]), try SCIMFilter.parse(inner))
        } catch {
            throw Self.error("invalidPath", "\(path): \(error.message)")
        }
    }

    private static func error(_ scimType: String, _ detail: String) -> DatabricksError {
        DatabricksError.scim(status: .badRequest, scimType: scimType, detail: detail)
    }
}
