public import Accounts
import HTTPTypes
import Foundation
public import Hummingbird
import KilnCore

/// Finds the workspace a request addresses, in this order: the `/w/<deployment>` path prefix (see
/// `WorkspacePathPrefix`), a host `<deployment>.localhost` (or `<deployment>.<base domain>`), the
/// `X-Databricks-Workspace-Id` header, else the default workspace on the bare host; puts it in the context
/// and passes the request on to `responder` (the router). A workspace that cannot be found is answered
/// here, as `ErrorMiddleware` renders errors (404 `RESOURCE_DOES_NOT_EXIST`, 400 `INVALID_PARAMETER_VALUE`).
/// Whether the workspace serves its API is for the workspace routes to say (`WorkspaceAuthentication`).
///
/// A responder before the router, not one of its middleware: every request asks for its workspace, routed or
/// not, and a middleware layer costs each request about 4,400 machine instructions of Hummingbird's (a
/// `/healthz` 128,200 → 123,900, bench/instructions) for nothing a responder in front of the router lacks.
/// Being in front of the router, it renders its own errors: `ErrorMiddleware` renders only the router's.
public struct TenantResponder<Responder: HTTPResponder>: HTTPResponder where Responder.Context == KilnRequestContext {
    private let responder: Responder
    private let accounts: AccountStore
    /// `.<base domain>` for each base domain, in lower case.
    private let domainSuffixes: [String]

    public init(_ responder: Responder, accounts: AccountStore, baseDomains: [String] = ["localhost"]) {
        self.responder = responder
        self.accounts = accounts
        self.domainSuffixes = baseDomains.map { "." + $0.lowercased() }
    }

    public func respond(to request: Request, context: KilnRequestContext) async throws -> Response {
        var context = context
        do {
            context.workspace = try await resolve(request)
        } catch {
            return try ErrorMiddleware().translate(error, request: request, context: context).response(from: request, context: context)
        }
        return try await responder.respond(to: request, context: context)
    }

    private func resolve(_ request: Request) async throws -> Workspace? {
        var chosen: Workspace?
        if let deployment = request.headers.value(.kilnDeployment) ?? deploymentName(fromHost: request.head.authority) {
            guard let workspace = try await accounts.workspace(deploymentName: deployment) else {
                throw KilnError(.resourceDoesNotExist, "No workspace is deployed as \(deployment).")
            }
            chosen = workspace
        }
        if let header = request.headers.value(.databricksWorkspaceID) {
            guard let id = Int64(header.trimmingCharacters(in: .whitespaces)) else {
                throw KilnError.invalidParameter("X-Databricks-Workspace-Id must be a workspace id, not '\(header)'.")
            }
            if let chosen {
                guard chosen.workspaceID == id else {
                    throw KilnError.invalidParameter("X-Databricks-Workspace-Id \(id) does not match workspace \(chosen.deploymentName) of this URL.")
                }
                return chosen
            }
            guard let workspace = try await accounts.workspace(id: id) else {
                throw KilnError(.resourceDoesNotExist, "Workspace \(id) does not exist.")
            }
            return workspace
        }
        if let chosen { return chosen }
        return try await accounts.defaultWorkspace()
    }

    /// `ws1` of `ws1.localhost:8080` (in lower case; the host is matched in any case). Compared as bytes,
    /// without a lower-cased copy of the host: every request on the bare host (`127.0.0.1:8080`) asks.
    func deploymentName(fromHost host: String?) -> String? {
        guard let host else { return nil }
        var name = host.utf8[...]
        if let colon = name.lastIndex(of: UInt8(ascii: ":")), name.last != UInt8(ascii: "]") { name = name[..<colon] }
        for suffix in domainSuffixes where name.count > suffix.utf8.count {
            let label = name.dropLast(suffix.utf8.count)
            guard Substring(name[label.endIndex...]).equalsIgnoringASCIICase(suffix), !label.contains(UInt8(ascii: ".")) else { continue }
            return Substring(label).lowercased()
        }
        return nil
    }
}

extension HTTPField.Name {
    /// The header the SDK sends on workspace calls once it knows the workspace id.
    static let databricksWorkspaceID = HTTPField.Name("X-Databricks-Workspace-Id")!
    /// The header Databricks answers `scim/v2/Me` with.
    static let databricksOrgID = HTTPField.Name("X-Databricks-Org-Id")!
    /// Set by `WorkspacePathPrefix` only (a client's own value is removed first).
    static let kilnDeployment = HTTPField.Name("X-Kiln-Deployment")!
}
