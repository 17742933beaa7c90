public import Accounts
import Foundation
public import Hummingbird
import KilnCore
import NIOCore

/// The Account API (`/api/2.0/accounts/{account_id}/…`): configurations and workspaces. Lists are bare
/// JSON arrays, as the SDK requires.
public struct AccountController: Sendable {
    let resources: AccountResourceStore
    let workspaces: AccountWorkspaces

    public init(resources: AccountResourceStore, workspaces: AccountWorkspaces) {
        self.resources = resources
        self.workspaces = workspaces
    }

    public func addRoutes(to group: RouterGroup<AccountContext>) {
        for kind in AccountResourceKind.allCases {
            let collection = RouterPath("\(kind.pathSegment)")
            let item = RouterPath("\(kind.pathSegment)/:id")
            group.post(collection) { request, context in try await self.create(kind, request, context) }
            group.get(collection) { _, context in try await self.list(kind, context) }
            group.get(item) { _, context in try await self.get(kind, context) }
            group.delete(item) { _, context in try await self.delete(kind, context) }
        }
        group.put("private-access-settings/:id") { request, context in try await self.replace(.privateAccessSettings, request, context) }
        group.patch("private-access-settings/:id") { request, context in try await self.update(.privateAccessSettings, request, context) }
        group.post("workspaces", use: createWorkspace)
        group.get("workspaces", use: listWorkspaces)
        group.get("workspaces/:workspace_id", use: getWorkspace)
        group.patch("workspaces/:workspace_id", use: updateWorkspace)
        group.delete("workspaces/:workspace_id", use: deleteWorkspace)
    }

    func create(_ kind: AccountResourceKind, _ request: Request, _ context: AccountContext) async throws -> Response {
        Self.json(try await resources.create(kind, accountID: context.user.accountID, body: try await RequestBodyReader.jsonObject(request)))
    }

    func list(_ kind: AccountResourceKind, _ context: AccountContext) async throws -> Response {
        Self.json(.array(try await resources.list(kind, accountID: context.user.accountID)))
    }

    func get(_ kind: AccountResourceKind, _ context: AccountContext) async throws -> Response {
        Self.json(try await resources.get(kind, accountID: context.user.accountID, id: try context.parameters.require("id")))
    }

    func delete(_ kind: AccountResourceKind, _ context: AccountContext) async throws -> Response {
        Self.json(try await resources.delete(kind, accountID: context.user.accountID, id: try context.parameters.require("id")))
    }

    func replace(_ kind: AccountResourceKind, _ request: Request, _ context: AccountContext) async throws -> Response {
        Self.json(
            try await resources.replace(
                kind, accountID: context.user.accountID, id: try context.parameters.require("id"), body: try await RequestBodyReader.jsonObject(request)))
    }

    /// PATCH: the body's fields (or those in `update_mask`) replace the stored ones.
    func update(_ kind: AccountResourceKind, _ request: Request, _ context: AccountContext) async throws -> Response {
        let id = try context.parameters.require("id")
        var merged = try await resources.get(kind, accountID: context.user.accountID, id: id)
        let body = try await RequestBodyReader.jsonObject(request)
        let mask = QueryParameters(request).list("update_mask")
        if case .object(let fields) = body {
            for field in fields where mask?.contains(field.key) ?? true { merged.set(field.key, field.value) }
        }
        return Self.json(try await resources.replace(kind, accountID: context.user.accountID, id: id, body: merged))
    }

    @Sendable func createWorkspace(_ request: Request, context: AccountContext) async throws -> Response {
        Self.json(
            try await workspaces.create(
                accountID: context.user.accountID, body: try await RequestBodyReader.jsonObject(request), creatorID: context.user.userID))
    }

    @Sendable func listWorkspaces(_ request: Request, context: AccountContext) async throws -> Response {
        Self.json(.array(try await workspaces.list(accountID: context.user.accountID)))
    }

    @Sendable func getWorkspace(_ request: Request, context: AccountContext) async throws -> Response {
        Self.json(try await workspaces.get(accountID: context.user.accountID, workspaceID: try Self.workspaceID(context)))
    }

    @Sendable func updateWorkspace(_ request: Request, context: AccountContext) async throws -> Response {
        let mask = QueryParameters(request).list("update_mask")
        return Self.json(
            try await workspaces.update(
                accountID: context.user.accountID, workspaceID: try Self.workspaceID(context), body: try await RequestBodyReader.jsonObject(request), mask: mask
            ))
    }

    @Sendable func deleteWorkspace(_ request: Request, context: AccountContext) async throws -> Response {
        Self.json(try await workspaces.delete(accountID: context.user.accountID, workspaceID: try Self.workspaceID(context)))
    }

    static func workspaceID(_ context: AccountContext) throws -> Int64 {
        let text = try context.parameters.require("workspace_id")
        guard let id = Int64(text) else { throw KilnError.invalidParameter("Workspace id \(text) is not a number.") }
        return id
    }

    static func json(_ tree: JSONTree) -> Response { JSONResponse.ok(tree) }
}
