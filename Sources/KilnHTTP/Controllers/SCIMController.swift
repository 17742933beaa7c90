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
        group.get("preview/scim/v2/Users") { request, context in
            try await directory.listUsers(request, accountID: context.workspace.accountID)
        }
        group.get("preview/scim/v2/Users/:id") { request, context in
            try await directory.getUser(try context.parameters.require("id"), accountID: context.workspace.accountID, request: request)
        }
        group.post("preview/scim/v2/Users") { request, context in
            try Self.requireAdmin(context)
            return try await directory.createUser(request, accountID: context.workspace.accountID)
        }
        group.delete("preview/scim/v2/Users/:id") { _, context in
            try Self.requireAdmin(context)
            return try await directory.deleteUser(
                try context.parameters.require("id"), accountID: context.workspace.accountID, caller: context.identity.user)
        }
        group.get("preview/scim/v2/ServicePrincipals") { request, context in
            try await directory.listServicePrincipals(request, accountID: context.workspace.accountID)
        }
        group.get("preview/scim/v2/ServicePrincipals/:id") { request, context in
            try await directory.getServicePrincipal(
                try context.parameters.require("id"), accountID: context.workspace.accountID, request: request)
        }
        group.post("preview/scim/v2/ServicePrincipals") { request, context in
            try Self.requireAdmin(context)
            return try await directory.createServicePrincipal(request, accountID: context.workspace.accountID)
        }
        group.delete("preview/scim/v2/ServicePrincipals/:id") { _, context in
            try Self.requireAdmin(context)
            return try await directory.deleteServicePrincipal(
                try context.parameters.require("id"), accountID: context.workspace.accountID, caller: context.identity.user)
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
