import HTTPTypes
import Accounts
public import Hummingbird

/// SCIM identity endpoints of a workspace. `Me` describes the caller.
public struct SCIMController: Sendable {
    public init() {}

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("preview/scim/v2/Me", use: me)
    }

    @Sendable func me(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let user = context.identity.user
        let body = SCIMUser(
            id: String(user.userID), userName: user.userName, displayName: user.displayName, active: true,
            emails: [.init(value: user.userName, type: "work", primary: true)],
            groups: user.isAdmin ? [.init(display: "admins", value: "admins")] : [],
            schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"]
        )
        var response = JSONResponse.ok(body)
        response.headers[.databricksOrgID] = String(context.workspace.workspaceID)
        return response
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
}
