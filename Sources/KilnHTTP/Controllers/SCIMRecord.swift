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

    /// A user: `id`, `userName`, `displayName`, `active`, `emails` (the user name, as Databricks lists it),
    /// `groups` (`admins` for an admin), `schemas`.
    static func user(_ user: User) -> SCIMRecord {
        let email = JSONTree.object([
            .init("value", .string(user.userName)), .init("type", .string("work")), .init("primary", .bool(true)),
        ])
        let json = JSONTree.object([
            .init("id", .string(String(user.userID))), .init("userName", .string(user.userName)),
            .init("displayName", .string(user.displayName)), .init("active", .bool(true)), .init("emails", .array([email])),
            .init("groups", groups(of: user)), .init("schemas", .array([.string(userSchema)])),
        ])
        return SCIMRecord(
            json: json,
            attributes: [
                "id": [.string(String(user.userID))], "username": [.string(user.userName)], "displayname": [.string(user.displayName)],
                "active": [.bool(true)], "emails": [.string(user.userName)], "emails.value": [.string(user.userName)],
                "emails.type": [.string("work")],
            ].merging(groupAttributes(of: user)) { first, _ in first })
    }

    /// A service principal: `id`, `applicationId`, `displayName`, `active`, `groups`, `schemas`.
    static func servicePrincipal(_ principal: ServicePrincipal) -> SCIMRecord {
        let user = principal.user
        let json = JSONTree.object([
            .init("id", .string(String(user.userID))), .init("applicationId", .string(principal.applicationID)),
            .init("displayName", .string(user.displayName)), .init("active", .bool(true)), .init("groups", groups(of: user)),
            .init("schemas", .array([.string(servicePrincipalSchema)])),
        ])
        return SCIMRecord(
            json: json,
            attributes: [
                "id": [.string(String(user.userID))], "applicationid": [.string(principal.applicationID)],
                "displayname": [.string(user.displayName)], "active": [.bool(true)],
            ].merging(groupAttributes(of: user)) { first, _ in first })
    }

    /// A principal's `groups`: `admins` for an admin (Kiln has no other groups yet).
    private static func groups(of user: User) -> JSONTree {
        .array(user.isAdmin ? [.object([.init("display", .string("admins")), .init("value", .string("admins"))])] : [])
    }

    /// The filter attributes of `groups(of:)`.
    private static func groupAttributes(of user: User) -> [String: [SCIMFilter.Value]] {
        let names: [SCIMFilter.Value] = user.isAdmin ? [.string("admins")] : []
        return ["groups.display": names, "groups.value": names]
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
