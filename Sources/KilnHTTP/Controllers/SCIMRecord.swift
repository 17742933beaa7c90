import Accounts
import Foundation
import Hummingbird
import KilnCore

/// A SCIM resource as an answer shows it (`json`), with the attributes a filter or `sortBy` may name.
struct SCIMRecord: Sendable {
    var json: JSONTree
    /// By lower-case attribute path (`username`, `emails.value`), every value it holds.
    var attributes: [String: [SCIMFilter.Value]]

    static let userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"
    static let servicePrincipalSchema = "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"
    static let groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"

    /// A user: `id`, `userName`, `displayName`, `active`, `emails` (the user name, as Databricks lists it),
    /// `externalId`, `entitlements`, `roles`, `groups`, `schemas`.
    static func user(_ user: User, in directory: SCIMDirectory.Snapshot) -> SCIMRecord {
        let email = JSONTree.object([
            .init("value", .string(user.userName)), .init("type", .string("work")), .init("primary", .bool(true)),
        ])
        var record = principal(
            user, in: directory, schema: userSchema,
            leading: [
                .init("userName", .string(user.userName)), .init("emails", .array([email])),
            ])
        record.attributes["username"] = [.string(user.userName)]
        record.attributes["emails"] = [.string(user.userName)]
        record.attributes["emails.value"] = [.string(user.userName)]
        record.attributes["emails.type"] = [.string("work")]
        return record
    }

    /// A service principal: `id`, `applicationId`, `displayName`, `active`, `externalId`, `entitlements`,
    /// `roles`, `groups`, `schemas`.
    static func servicePrincipal(_ principal: ServicePrincipal, in directory: SCIMDirectory.Snapshot) -> SCIMRecord {
        var record = Self.principal(
            principal.user, in: directory, schema: servicePrincipalSchema,
            leading: [
                .init("applicationId", .string(principal.applicationID))
            ])
        record.attributes["applicationid"] = [.string(principal.applicationID)]
        return record
    }

    /// A group: `id`, `displayName`, `externalId`, `members` (each with `display` and `$ref`), the `groups` it
    /// is in, `entitlements`, `roles`, `meta.resourceType` (`Group`: an account group), `schemas`.
    static func group(_ group: Group, in directory: SCIMDirectory.Snapshot) -> SCIMRecord {
        let members = group.members.filter(directory.isVisible).compactMap { directory.reference(to: $0) }
        var fields: [JSONTree.Member] = [
            .init("id", .string(String(group.groupID))), .init("displayName", .string(group.displayName)),
        ]
        if let external = group.externalID { fields.append(.init("externalId", .string(external))) }
        fields += [
            .init("members", .array(members.map(\.json))), .init("groups", parents(of: group.groupID, in: directory)),
            .init("entitlements", values(group.entitlements)), .init("roles", values(group.roles)),
            .init("meta", .object([.init("resourceType", .string("Group"))])), .init("schemas", .array([.string(groupSchema)])),
        ]
        return SCIMRecord(
            json: .object(fields),
            attributes: [
                "id": [.string(String(group.groupID))], "displayname": [.string(group.displayName)],
                "externalid": group.externalID.map { [.string($0)] } ?? [],
                "members.value": members.map { .string($0.id) }, "members.display": members.map { .string($0.display) },
                "members": members.map { .string($0.id) },
            ].merging(parentAttributes(of: group.groupID, in: directory)) { first, _ in first })
    }

    /// What users and service principals share.
    private static func principal(_ user: User, in directory: SCIMDirectory.Snapshot, schema: String, leading: [JSONTree.Member]) -> SCIMRecord {
        var roles = user.roles
        if user.isAdmin, directory.workspace == nil { roles.insert("account_admin", at: 0) }
        var fields: [JSONTree.Member] =
            [.init("id", .string(String(user.userID)))] + leading + [
                .init("displayName", .string(user.displayName)), .init("active", .bool(user.active)),
            ]
        if let external = user.externalID { fields.append(.init("externalId", .string(external))) }
        fields += [
            .init("entitlements", values(user.entitlements)), .init("roles", values(roles)),
            .init("groups", parents(of: user.userID, in: directory)), .init("schemas", .array([.string(schema)])),
        ]
        return SCIMRecord(
            json: .object(fields),
            attributes: [
                "id": [.string(String(user.userID))], "displayname": [.string(user.displayName)], "active": [.bool(user.active)],
                "externalid": user.externalID.map { [.string($0)] } ?? [],
                "entitlements.value": user.entitlements.map { .string($0) }, "roles.value": roles.map { .string($0) },
            ].merging(parentAttributes(of: user.userID, in: directory)) { first, _ in first })
    }

    /// `[{"value": v}, …]`.
    private static func values(_ values: [String]) -> JSONTree {
        .array(values.map { .object([.init("value", .string($0))]) })
    }

    /// The groups a principal is directly in, as `{display, value, $ref, type: direct}`; in a workspace, an
    /// admin of it is also in `admins`, as Databricks' workspace-local group of admins shows.
    private static func parents(of id: Int64, in directory: SCIMDirectory.Snapshot) -> JSONTree {
        var groups = directory.visibleMemberships(of: id).map { group in
            JSONTree.object([
                .init("display", .string(group.name)), .init("value", .string(String(group.id))),
                .init("$ref", .string("Groups/\(group.id)")), .init("type", .string("direct")),
            ])
        }
        if directory.access?[id] == .admin {
            groups.insert(.object([.init("display", .string("admins")), .init("value", .string("admins"))]), at: 0)
        }
        return .array(groups)
    }

    /// The filter attributes of `parents(of:in:)`.
    private static func parentAttributes(of id: Int64, in directory: SCIMDirectory.Snapshot) -> [String: [SCIMFilter.Value]] {
        var names = directory.visibleMemberships(of: id).map { SCIMFilter.Value.string($0.name) }
        var values = directory.visibleMemberships(of: id).map { SCIMFilter.Value.string(String($0.id)) }
        if directory.access?[id] == .admin {
            names.append(.string("admins"))
            values.append(.string("admins"))
        }
        return ["groups.display": names, "groups.value": values]
    }
}

/// A SCIM list request (RFC 7644 §3.4.2) over records already read: `filter` (form-encoded as the SDK sends
/// it: `userName+eq+%22x%22`), `sortBy` / `sortOrder`, 1-based `startIndex` and `count` paging, and
/// `attributes` / `excludedAttributes` (top-level names; `id` and `schemas` are always returned).
struct SCIMListQuery: Sendable {
    var filter: SCIMFilter?
    var sortBy: String?
    var descending = false
    var startIndex = 1
    var count = 10_000
    var attributes: Set<String>?
    var excluded: Set<String> = []

    /// Reads the query string. A filter Kiln cannot read is SCIM's 400 `invalidFilter`; a bad `sortOrder`,
    /// `startIndex` or `count` is 400 `invalidValue`.
    init(_ request: Request) throws {
        let parameters = APIParameters(query: QueryParameters(request))
        if let text = try parameters.string("filter"), !text.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                filter = try SCIMFilter.parse(text)
            } catch {
                throw DatabricksError.scim(status: .badRequest, scimType: "invalidFilter", detail: error.message)
            }
        }
        sortBy = try parameters.string("sortBy")?.lowercased()
        switch try parameters.string("sortOrder")?.lowercased() {
        case nil, "ascending": descending = false
        case "descending": descending = true
        case let other?:
            throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: "sortOrder must be ascending or descending, not \(other).")
        }
        do {
            startIndex = max(1, Int(try parameters.int64("startIndex") ?? 1))
            count = max(0, Int(try parameters.int64("count") ?? 10_000))
        } catch {
            throw DatabricksError.scim(status: .badRequest, scimType: "invalidValue", detail: error.message)
        }
        attributes = try parameters.string("attributes").map(Self.names)
        excluded = try parameters.string("excludedAttributes").map(Self.names) ?? []
    }

    /// `a,b.c` → `["a", "b"]`, lower-cased: what the projection keeps or drops.
    static func names(_ text: String) -> Set<String> {
        Set(
            text.split(separator: ",").compactMap { name in
                name.trimmingCharacters(in: .whitespaces).split(separator: ".").first.map { $0.lowercased() }
            })
    }

    /// The list response: `totalResults` (after the filter), `startIndex`, `itemsPerPage`, `schemas`, `Resources`.
    func response(_ records: [SCIMRecord]) -> Response {
        var matching = records.filter { filter?.matches($0.attributes) ?? true }
        if let sortBy {
            let key = { (record: SCIMRecord) -> String in
                if case .string(let text)? = record.attributes[sortBy]?.first { return text.lowercased() }
                return ""
            }
            matching.sort { descending ? key($0) > key($1) : key($0) < key($1) }
        }
        let page = matching.dropFirst(startIndex - 1).prefix(count).map { project($0.json) }
        return JSONResponse.ok(
            JSONTree.object([
                .init("totalResults", .integer(Int64(matching.count))), .init("startIndex", .integer(Int64(startIndex))),
                .init("itemsPerPage", .integer(Int64(page.count))),
                .init("schemas", .array([.string("urn:ietf:params:scim:api:messages:2.0:ListResponse")])),
                .init("Resources", .array(page)),
            ]))
    }

    /// `json` with only the attributes asked for, less those excluded; `id` and `schemas` always.
    func project(_ json: JSONTree) -> JSONTree {
        guard case .object(let members) = json, attributes != nil || !excluded.isEmpty else { return json }
        return .object(
            members.filter { member in
                let name = member.key.lowercased()
                if name == "id" || name == "schemas" { return true }
                if excluded.contains(name) { return false }
                return attributes?.contains(name) ?? true
            })
    }
}
