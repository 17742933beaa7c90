public import Accounts
import Foundation
import HTTPTypes
public import Hummingbird
import KilnCore

/// SCIM identity endpoints of a workspace: `Me`, and the users of the workspace's account
/// (list, get, create, delete; creating and deleting needs an admin).
public struct SCIMController: Sendable {
    let accounts: AccountStore

    public init(accounts: AccountStore) {
        self.accounts = accounts
    }

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("preview/scim/v2/Me", use: me)
        group.get("preview/scim/v2/Users", use: listUsers)
        group.get("preview/scim/v2/Users/:id", use: getUser)
        group.post("preview/scim/v2/Users", use: createUser)
        group.delete("preview/scim/v2/Users/:id", use: deleteUser)
    }

    @Sendable func me(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        var response = JSONResponse.ok(SCIMUser(context.identity.user))
        response.headers[.databricksOrgID] = String(context.workspace.workspaceID)
        return response
    }

    /// SCIM list: `filter` (RFC 7644, form-encoded as the SDK sends it: `userName+eq+%22x%22`),
    /// then 1-based `startIndex` and `count` paging. A filter Kiln cannot read → 400 `invalidFilter`.
    @Sendable func listUsers(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let parameters = APIParameters(query: QueryParameters(request))
        var users = try await accounts.users(accountID: context.workspace.accountID)
        if let text = try parameters.string("filter"), !text.trimmingCharacters(in: .whitespaces).isEmpty {
            let filter: SCIMFilter
            do {
                filter = try SCIMFilter.parse(text)
            } catch {
                throw DatabricksError.scim(status: .badRequest, scimType: "invalidFilter", detail: error.message)
            }
            users = users.filter { filter.matches(SCIMUser($0).filterAttributes) }
        }
        let start = max(1, Int(try parameters.int64("startIndex") ?? 1))
        let count = max(0, Int(try parameters.int64("count") ?? 10_000))
        let page = users.dropFirst(start - 1).prefix(count).map(SCIMUser.init)
        return JSONResponse.ok(
            SCIMListResponse(
                totalResults: users.count, startIndex: start, itemsPerPage: page.count, resources: Array(page)))
    }

    @Sendable func getUser(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        JSONResponse.ok(SCIMUser(try await user(context)))
    }

    @Sendable func createUser(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try Self.requireAdmin(context)
        let parameters = try await APIParameters.read(request)
        let userName = try parameters.requiredString("userName")
        let user = try await accounts.createUser(
            accountID: context.workspace.accountID, userName: userName,
            displayName: try parameters.string("displayName") ?? userName)
        return JSONResponse.ok(SCIMUser(user))
    }

    @Sendable func deleteUser(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try Self.requireAdmin(context)
        let target = try await user(context)
        guard target.userID != context.identity.user.userID else {
            throw KilnError.invalidParameter("You cannot delete yourself.")
        }
        try await accounts.deleteUser(accountID: context.workspace.accountID, userID: target.userID)
        return JSONResponse.empty()
    }

    private func user(_ context: AuthenticatedContext) async throws -> User {
        let text = try context.parameters.require("id")
        guard let id = Int64(text), let user = try await accounts.user(id: id), user.accountID == context.workspace.accountID,
            !(try await accounts.isServicePrincipal(userID: id))
        else {
            throw KilnError(.resourceDoesNotExist, "User \(text) does not exist.")
        }
        return user
    }

    static func requireAdmin(_ context: AuthenticatedContext) throws {
        guard context.identity.user.isAdmin else { throw KilnError(.permissionDenied, "Only admins can manage users.") }
    }
}

struct SCIMUser: Encodable {
    struct Email: Encodable {
        var value: String
        var type: String
        var primary: Bool
    }

    struct Group: Encodable {
        var display: String
        var value: String
    }

    var id: String
    var userName: String
    var displayName: String
    var active: Bool
    var emails: [Email]
    var groups: [Group]
    var schemas: [String]

    init(_ user: User) {
        id = String(user.userID)
        userName = user.userName
        displayName = user.displayName
        active = true
        emails = [.init(value: user.userName, type: "work", primary: true)]
        groups = user.isAdmin ? [.init(display: "admins", value: "admins")] : []
        schemas = ["urn:ietf:params:scim:schemas:core:2.0:User"]
    }

    /// The attributes a SCIM filter may name, by lower-case path.
    var filterAttributes: [String: [SCIMFilter.Value]] {
        [
            "id": [.string(id)], "username": [.string(userName)], "displayname": [.string(displayName)],
            "active": [.bool(active)], "emails.value": emails.map { .string($0.value) },
            "emails": emails.map { .string($0.value) }, "emails.type": emails.map { .string($0.type) },
            "groups.display": groups.map { .string($0.display) }, "groups.value": groups.map { .string($0.value) },
        ]
    }
}

struct SCIMListResponse: Encodable {
    var totalResults: Int
    var startIndex: Int
    var itemsPerPage: Int
    var schemas = ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    var resources: [SCIMUser]

    enum CodingKeys: String, CodingKey {
        case totalResults, startIndex, itemsPerPage, schemas
        case resources = "Resources"
    }
}
