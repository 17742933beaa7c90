import HTTPTypes
import Foundation
public import Accounts
public import Hummingbird
import KilnCore

/// Finds the workspace a request addresses: `X-Databricks-Workspace-Id` when the client sends it
/// (the SDK does once `/.well-known/databricks-config` gave it a workspace id), else the default
/// workspace served on the bare host.
public struct TenantMiddleware: RouterMiddleware {
    public typealias Context = KilnRequestContext

    private let accounts: AccountStore

    public init(accounts: AccountStore) {
        self.accounts = accounts
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.workspace = try await resolve(request)
        return try await next(request, context)
    }

    private func resolve(_ request: Request) async throws -> Workspace? {
        if let header = request.headers[.databricksWorkspaceID] {
            guard let id = Int64(header.trimmingCharacters(in: .whitespaces)) else {
                throw KilnError.invalidParameter("X-Databricks-Workspace-Id must be a workspace id, not '\(header)'.")
            }
            guard let workspace = try await accounts.workspace(id: id) else {
                throw KilnError(.resourceDoesNotExist, "Workspace \(id) does not exist.")
            }
            return workspace
        }
        return try await accounts.defaultWorkspace()
    }
}

extension HTTPField.Name {
    /// The header the SDK sends on workspace calls once it knows the workspace id.
    static let databricksWorkspaceID = HTTPField.Name("X-Databricks-Workspace-Id")!
    /// The header Databricks answers `scim/v2/Me` with.
    static let databricksOrgID = HTTPField.Name("X-Databricks-Org-Id")!
}
