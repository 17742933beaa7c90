public import Accounts
import Foundation
import HTTPTypes
public import Hummingbird
import KilnCore

/// SCIM identity endpoints of a workspace (`/api/2.0/preview/scim/v2/…`): `Me`, and the users and service
/// principals of the workspace's account (list, get, create, delete; creating and deleting needs an admin).
public struct SCIMController: Sendable {
    let directory: SCIMDirectory

    public init(accounts: AccountStore, servicePrincipals: ServicePrincipals) {
        self.directory = SCIMDirectory(accounts: accounts, servicePrincipals: servicePrincipals)
    }

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("preview/scim/v2/Me", use: me)
        for collection in SCIMDirectory.Collection.allCases {
            let path = "preview/scim/v2/\(collection.rawValue)"
            group.get(RouterPath(path)) { request, context in
                try await directory.list(collection, request, accountID: context.workspace.accountID)
            }
            group.get(RouterPath(path + "/:id")) { request, context in
                try await directory.get(collection, try context.parameters.require("id"), accountID: context.workspace.accountID, request: request)
            }
            group.post(RouterPath(path)) { request, context in
                try Self.requireAdmin(context)
                return try await directory.create(collection, request, accountID: context.workspace.accountID)
            }
            group.delete(RouterPath(path + "/:id")) { _, context in
                try Self.requireAdmin(context)
                return try await directory.delete(
                    collection, try context.parameters.require("id"), accountID: context.workspace.accountID, caller: context.identity.user)
            }
        }
    }

    @Sendable func me(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        var response = JSONResponse.ok(SCIMRecord.user(context.identity.user).json)
        response.headers[.databricksOrgID] = String(context.workspace.workspaceID)
        return response
    }

    static func requireAdmin(_ context: AuthenticatedContext) throws {
        guard context.identity.user.isAdmin else { throw KilnError(.permissionDenied, "Only admins can manage users and service principals.") }
    }
}
