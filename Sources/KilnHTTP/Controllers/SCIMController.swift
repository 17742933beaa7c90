public import Accounts
import Foundation
import HTTPTypes
public import Hummingbird
import KilnCore

/// SCIM identity endpoints of a workspace (`/api/2.0/preview/scim/v2/…`): `Me`, and the users, service
/// principals and groups assigned to the workspace (`SCIMDirectory`); creating, changing and removing them
/// needs a workspace admin.
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
                try await directory.list(collection, request, scope: .workspace(context.workspace))
            }
            group.get(RouterPath(path + "/:id")) { request, context in
                try await directory.get(collection, try context.parameters.require("id"), scope: .workspace(context.workspace), request: request)
            }
            group.post(RouterPath(path)) { request, context in
                try Self.requireAdmin(context)
                return try await directory.create(collection, request, scope: .workspace(context.workspace))
            }
            for (method, replacing) in [(HTTPRequest.Method.put, true), (.patch, false)] {
                group.on(RouterPath(path + "/:id"), method: method) { request, context in
                    try Self.requireAdmin(context)
                    return try await directory.update(
                        collection, try context.parameters.require("id"), scope: .workspace(context.workspace), request: request,
                        caller: context.identity.user, replacing: replacing)
                }
            }
            group.delete(RouterPath(path + "/:id")) { _, context in
                try Self.requireAdmin(context)
                return try await directory.delete(
                    collection, try context.parameters.require("id"), scope: .workspace(context.workspace), caller: context.identity.user)
            }
        }
    }

    /// The caller as a SCIM user (a service principal shows as one too), with its groups; the answer carries
    /// `X-Databricks-Org-Id`, which `WorkspaceClient.get_workspace_id()` reads.
    @Sendable func me(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let snapshot = try await directory.snapshot(.workspace(context.workspace))
        var response = JSONResponse.ok(SCIMRecord.user(context.identity.user, in: snapshot).json)
        response.headers[.databricksOrgID] = String(context.workspace.workspaceID)
        return response
    }

    static func requireAdmin(_ context: AuthenticatedContext) throws {
        guard context.identity.isWorkspaceAdmin else {
            throw KilnError(.permissionDenied, "Only workspace admins can manage users, service principals and groups.")
        }
    }
}
