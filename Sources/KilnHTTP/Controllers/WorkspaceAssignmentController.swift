public import Accounts
import Foundation
public import Hummingbird
import KilnCore

/// Workspace permission assignments of an account (the SDK's `a.workspace_assignment`,
/// `/api/2.0/accounts/{account_id}/workspaces/{workspace_id}/permissionassignments…`): which users, service
/// principals and groups may use a workspace (`USER`) or administer it (`ADMIN`). Only assigned principals
/// authenticate there (`Authenticator.identity`). The Account API's callers are the account's admins.
public struct WorkspaceAssignmentController: Sendable {
    let directory: SCIMDirectory
    let workspaces: AccountWorkspaces

    public init(accounts: AccountStore, servicePrincipals: ServicePrincipals, workspaces: AccountWorkspaces) {
        self.directory = SCIMDirectory(accounts: accounts, servicePrincipals: servicePrincipals)
        self.workspaces = workspaces
    }

    public func addRoutes(to group: RouterGroup<AccountContext>) {
        let base = "workspaces/:workspace_id/permissionassignments"
        group.get(RouterPath(base), use: list)
        group.get(RouterPath(base + "/permissions"), use: permissionLevels)
        group.put(RouterPath(base + "/principals/:principal_id"), use: update)
        group.delete(RouterPath(base + "/principals/:principal_id"), use: delete)
    }

    /// `{"permission_assignments": [{principal, permissions}]}`, the workspace's direct assignments.
    @Sendable func list(_ request: Request, context: AccountContext) async throws -> Response {
        let (accountID, workspaceID) = try await workspace(context)
        let snapshot = try await directory.snapshot(.account(accountID))
        let assignments = try await directory.accounts.assignments.list(workspaceID: workspaceID)
        let entries = assignments.sorted { $0.key < $1.key }.compactMap { id, permission in
            Self.principal(id, in: snapshot).map { Self.assignment($0, permission) }
        }
        return JSONResponse.ok(JSONTree.object([.init("permission_assignments", .array(entries))]))
    }

    /// `{"permissions": [{permission_level, description}]}`: `USER` and `ADMIN`.
    @Sendable func permissionLevels(_ request: Request, context: AccountContext) async throws -> Response {
        _ = try await workspace(context)
        let levels: [(WorkspacePermission, String)] = [
            (.user, "Can use the workspace."), (.admin, "Can use the workspace and administer it."),
        ]
        return JSONResponse.ok(
            JSONTree.object([
                .init(
                    "permissions",
                    .array(
                        levels.map { level, description in
                            .object([.init("permission_level", .string(level.rawValue)), .init("description", .string(description))])
                        }))
            ]))
    }

    /// PUT `{"permissions": ["USER" | "ADMIN", …]}`: assigns the principal (ADMIN wins over USER); no known
    /// level removes its assignment, as the SDK documents. Answers the assignment as a `PermissionAssignment`.
    @Sendable func update(_ request: Request, context: AccountContext) async throws -> Response {
        let (accountID, workspaceID) = try await workspace(context)
        let body = try await RequestBodyReader.jsonObject(request)
        let levels = (body["permissions"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(WorkspacePermission.init(rawValue:)) }
        let (id, principal) = try await principal(context, accountID: accountID)
        let permission = levels.max()
        try await directory.accounts.assignments.set(workspaceID: workspaceID, principalID: id, permission: permission)
        return JSONResponse.ok(permission.map { Self.assignment(principal, $0) } ?? .object([]))
    }

    @Sendable func delete(_ request: Request, context: AccountContext) async throws -> Response {
        let (accountID, workspaceID) = try await workspace(context)
        let (id, _) = try await principal(context, accountID: accountID)
        guard try await directory.accounts.assignments.list(workspaceID: workspaceID)[id] != nil else {
            throw KilnError(.resourceDoesNotExist, "Principal \(id) is not assigned to workspace \(workspaceID).")
        }
        try await directory.accounts.assignments.set(workspaceID: workspaceID, principalID: id, permission: nil)
        return JSONResponse.empty()
    }

    /// The account and workspace of the path; `RESOURCE_DOES_NOT_EXIST` for a workspace of another account.
    private func workspace(_ context: AccountContext) async throws -> (String, Int64) {
        let accountID = try context.parameters.require("account_id")
        let id = try context.parameters.require("workspace_id")
        guard let workspaceID = Int64(id) else { throw KilnError(.resourceDoesNotExist, "Workspace \(id) does not exist.") }
        _ = try await workspaces.get(accountID: accountID, workspaceID: workspaceID)
        return (accountID, workspaceID)
    }

    private func principal(_ context: AccountContext, accountID: String) async throws -> (Int64, JSONTree) {
        let id = try context.parameters.require("principal_id")
        let snapshot = try await directory.snapshot(.account(accountID))
        guard let number = Int64(id), let principal = Self.principal(number, in: snapshot) else {
            throw KilnError(.resourceDoesNotExist, "Principal \(id) does not exist in this account.")
        }
        return (number, principal)
    }

    /// `PrincipalOutput`: `principal_id`, `display_name` and `user_name`, `service_principal_name` (its
    /// application id) or `group_name`.
    private static func principal(_ id: Int64, in snapshot: SCIMDirectory.Snapshot) -> JSONTree? {
        snapshot.principal(id).map { collection, name, display in
            .object([.init("principal_id", .integer(id)), .init("display_name", .string(display)), .init(collection.nameField, .string(name))])
        }
    }

    private static func assignment(_ principal: JSONTree, _ permission: WorkspacePermission) -> JSONTree {
        .object([.init("principal", principal), .init("permissions", .array([.string(permission.rawValue)]))])
    }
}
