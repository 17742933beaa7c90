public import Accounts
import Foundation
public import Hummingbird
import KilnCore

/// The Token Management API of a workspace (`/api/2.0/token-management/…`, the SDK's `w.token_management`):
/// its admins list, read and revoke every token of the workspace, and make tokens on behalf of a service
/// principal assigned to it (`on-behalf-of/tokens`, shown once).
public struct TokenManagementController: Sendable {
    let tokens: TokenStore
    let servicePrincipals: ServicePrincipals
    let accounts: AccountStore

    public init(tokens: TokenStore, servicePrincipals: ServicePrincipals, accounts: AccountStore) {
        self.tokens = tokens
        self.servicePrincipals = servicePrincipals
        self.accounts = accounts
    }

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("token-management/tokens", use: list)
        group.get("token-management/tokens/:token_id", use: get)
        group.delete("token-management/tokens/:token_id", use: delete)
        group.post("token-management/on-behalf-of/tokens", use: createOnBehalf)
    }

    /// `{"token_infos": [TokenInfo]}`, narrowed by `created_by_id` or `created_by_username` when given.
    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try SCIMController.requireAdmin(context)
        let parameters = APIParameters(query: QueryParameters(request))
        let creatorID = try parameters.int64("created_by_id")
        let creatorName = try parameters.string("created_by_username")
        let infos = try await tokens.managed(workspaceID: context.workspace.workspaceID).filter { info in
            (creatorID.map { $0 == info.createdByID } ?? true) && (creatorName.map { $0 == info.createdByUserName } ?? true)
        }
        return JSONResponse.ok(JSONTree.object([.init("token_infos", .array(infos.map(Self.json)))]))
    }

    /// `{"token_info": TokenInfo}`; `RESOURCE_DOES_NOT_EXIST` for a token the workspace does not have.
    @Sendable func get(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try SCIMController.requireAdmin(context)
        let id = try context.parameters.require("token_id")
        guard let info = try await tokens.managed(workspaceID: context.workspace.workspaceID, tokenID: id).first else {
            throw KilnError(.resourceDoesNotExist, "Token with ID \(id) does not exist.")
        }
        return JSONResponse.ok(JSONTree.object([.init("token_info", Self.json(info))]))
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try SCIMController.requireAdmin(context)
        try await tokens.delete(tokenID: try context.parameters.require("token_id"), workspaceID: context.workspace.workspaceID, userID: nil)
        return JSONResponse.empty()
    }

    /// `{application_id, comment?, lifetime_seconds?}` → `{token_info, token_value}`. The service principal
    /// must be its account's and assigned to the workspace (`RESOURCE_DOES_NOT_EXIST` otherwise), active
    /// and not an account admin (`PERMISSION_DENIED`).
    @Sendable func createOnBehalf(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try SCIMController.requireAdmin(context)
        let parameters = try await APIParameters.read(request)
        let applicationID = try parameters.requiredString("application_id")
        let workspace = context.workspace
        guard let user = try await accounts.user(accountID: workspace.accountID, userName: applicationID),
            try await accounts.isServicePrincipal(userID: user.userID),
            try await accounts.assignments.permission(of: user.userID, in: workspace.workspaceID) != nil
        else {
            throw KilnError(.resourceDoesNotExist, "Service principal with application ID \(applicationID) is not in this workspace.")
        }
        // A workspace admin is no account admin: a token of one would open the Account API.
        guard !user.isAdmin, user.active else {
            throw KilnError(.permissionDenied, "Tokens of an account admin or an inactive service principal cannot be made on its behalf.")
        }
        let (secret, info) = try await tokens.create(
            workspaceID: workspace.workspaceID, userID: user.userID, comment: try parameters.string("comment") ?? "",
            lifetimeSeconds: try parameters.int64("lifetime_seconds"), createdBy: context.identity.user.userID)
        return JSONResponse.ok(JSONTree.object([.init("token_info", Self.json(info)), .init("token_value", .string(secret))]))
    }

    /// `TokenInfo` as the Token Management API shows it; times in epoch milliseconds, `expiry_time` -1 for
    /// a token that never expires.
    static func json(_ info: TokenInfo) -> JSONTree {
        .object([
            .init("token_id", .string(info.tokenID)), .init("comment", .string(info.comment)),
            .init("creation_time", .integer(info.creationTime)), .init("expiry_time", .integer(info.expiryTime)),
            .init("owner_id", .integer(info.ownerID)), .init("created_by_id", .integer(info.createdByID)),
            .init("created_by_username", .string(info.createdByUserName)), .init("workspace_id", .integer(info.workspaceID)),
        ])
    }
}
