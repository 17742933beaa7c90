import Accounts
import Foundation
public import Hummingbird
import KilnCore
import NIOCore
public import WorkspaceFiles

/// The workspace-files API the Databricks CLI (`libs/filer/workspace_files_client.go`) and `dbx sync`
/// write files with: `POST /api/2.0/workspace-files/import-file/{path}?overwrite=true|false`, the raw
/// bytes as the body, the path percent-encoded (`Users%2Fa%40b.com%2Fx.py`) or not; and
/// `GET /api/2.0/workspace-files/{path}`, which answers a file's bytes.
public struct WorkspaceFilesController: Sendable {
    let service: WorkspaceService
    let homes = HomeFolders()

    /// A controller over the workspace tree `service` keeps.
    public init(service: WorkspaceService) {
        self.service = service
    }

    /// Adds `workspace-files/import-file/**` (POST) and `workspace-files/**` (GET) to the `api/2.0` group.
    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.post("workspace-files/import-file/**", use: importFile)
        group.get("workspace-files/**", use: read)
    }

    /// Answers 200 `{}`; a missing parent folder 404, an existing file without `overwrite` 409, an
    /// existing notebook or folder 400 "Path (…) already exists.".
    @Sendable func importFile(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let path = try Self.workspacePath(request, after: "/workspace-files/import-file/")
        let parameters = APIParameters(query: QueryParameters(request))
        let limit = WorkspaceService.maximumContentSize
        guard let body = try await RequestBodyReader.collect(request, limit: limit) else {
            throw KilnError(.maxNotebookSizeExceeded, "The file is larger than the maximum of \(limit) bytes (10 MB).")
        }
        try await service.importFile(
            workspaceID: context.workspace.workspaceID, path: path, content: body.readableBytesView,
            overwrite: try parameters.bool("overwrite") ?? false, caller: context.caller)
        return JSONResponse.empty()
    }

    /// A file's bytes (a notebook's SOURCE); a folder is 400, a missing path 404. The Databricks CLI's own
    /// sync tests read files back this way (`integration/cmd/sync/sync_test.go`).
    @Sendable func read(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let path = try Self.workspacePath(request, after: "/workspace-files/")
        let object = try await service.getStatus(workspaceID: context.workspace.workspaceID, path: path, caller: context.caller)
        guard object.objectType != .directory else {
            throw KilnError.invalidParameter("Path (\(path)) is a folder, not a file.")
        }
        let exported = try await service.export(workspaceID: context.workspace.workspaceID, path: path, format: .source, caller: context.caller)
        var buffer = ByteBuffer()
        buffer.writeBytes(exported.content)
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: buffer))
    }

    /// The workspace path in the request path after `marker`: percent-decoded (`%2F` is a `/`; a `+`
    /// stays a `+`, as in any URL path), with its leading `/` put back.
    static func workspacePath(_ request: Request, after marker: String) throws -> WorkspacePath {
        let raw = request.uri.path
        guard let range = raw.range(of: marker) else { throw KilnError.invalidParameter("The request has no path.") }
        let encoded = String(raw[range.upperBound...])
        guard let decoded = encoded.removingPercentEncoding, !decoded.isEmpty else {
            throw KilnError.invalidParameter("The path '\(encoded)' is not a valid percent-encoded path.")
        }
        return try WorkspacePath(decoded.hasPrefix("/") ? decoded : "/" + decoded)
    }
}
