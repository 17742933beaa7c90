import Accounts
import Foundation
public import Hummingbird
import KilnCore
import NIOCore
import NotebookFormats
public import WorkspaceFiles

/// The Workspace API 2.0 (`/api/2.0/workspace/…`): list, get-status, mkdirs, delete, import, export.
public struct WorkspaceController: Sendable {
    let service: WorkspaceService
    let homes = HomeFolders()

    /// An import body may carry 10 MB of content base64-encoded inside JSON; leave room for that, and
    /// answer MAX_NOTEBOOK_SIZE_EXCEEDED (not a reset connection) for anything larger.
    static let importBodyLimit = 32 << 20

    public init(service: WorkspaceService) {
        self.service = service
    }

    public func addRoutes(to group: RouterGroup<AuthenticatedContext>) {
        group.get("workspace/list", use: list)
        group.get("workspace/get-status", use: getStatus)
        group.post("workspace/mkdirs", use: mkdirs)
        group.post("workspace/delete", use: delete)
        group.post("workspace/import", use: importObject)
        group.get("workspace/export", use: export)
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let parameters = try await APIParameters.read(request)
        let objects = try await service.list(
            workspaceID: context.workspace.workspaceID,
            path: try WorkspacePath(parameters.requiredString("path")),
            notebooksModifiedAfter: try parameters.int64("notebooks_modified_after"), caller: context.caller
        )
        return JSONResponse.make(status: .ok, bytes: ObjectInfoJSON.list(objects))
    }

    @Sendable func getStatus(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let parameters = try await APIParameters.read(request)
        let workspaceID = context.workspace.workspaceID
        let object = try await service.getStatus(
            workspaceID: workspaceID, path: try WorkspacePath(parameters.requiredString("path")), caller: context.caller)
        var reposExportFormat: String?
        if try parameters.bool("return_export_info") == true {
            reposExportFormat = try await service.nativeFormat(workspaceID: workspaceID, of: object)?.rawValue
        }
        return JSONResponse.make(status: .ok, bytes: ObjectInfoJSON.json(object, reposExportFormat: reposExportFormat))
    }

    @Sendable func mkdirs(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let parameters = try await APIParameters.read(request)
        try await service.mkdirs(
            workspaceID: context.workspace.workspaceID, path: try WorkspacePath(parameters.requiredString("path")), caller: context.caller)
        return JSONResponse.empty()
    }

    @Sendable func delete(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let parameters = try await APIParameters.read(request)
        try await service.delete(
            workspaceID: context.workspace.workspaceID,
            path: try WorkspacePath(parameters.requiredString("path")),
            recursive: try parameters.bool("recursive") ?? false, caller: context.caller
        )
        return JSONResponse.empty()
    }

    @Sendable func importObject(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let parameters = try await APIParameters.read(
            request, bodyLimit: Self.importBodyLimit,
            tooLarge: KilnError(
                .maxNotebookSizeExceeded,
                "The import request is larger than \(Self.importBodyLimit) bytes; the content limit is 10 MB."),
            contentAsText: true
        )
        let importing = try Self.importRequest(from: parameters)
        let (workspaceID, caller) = (context.workspace.workspaceID, context.caller)
        // An archive (DBC, a zip) may inflate to 100 MB and hold thousands of objects: never on an event loop,
        // where a short import may have been sent (`EventLoopResponderStateMachine`).
        if importing.mayBeArchive {
            try await withTaskExecutorPreference(globalConcurrentExecutor) {
                _ = try await service.importObject(workspaceID: workspaceID, importing, caller: caller)
            }
        } else {
            try await service.importObject(workspaceID: workspaceID, importing, caller: caller)
        }
        return JSONResponse.empty()
    }

    @Sendable func export(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        try await homes.ensure(service, for: context.identity)
        let parameters = try await APIParameters.read(request)
        let directDownload = try parameters.bool("direct_download") == true
        let exported = try await service.export(
            workspaceID: context.workspace.workspaceID,
            path: try WorkspacePath(parameters.requiredString("path")),
            format: try WorkspaceFormat(parameter: parameters.string("format")), caller: context.caller,
            answersInJSON: !directDownload
        )
        if directDownload {
            var buffer = ByteBuffer()
            buffer.writeBytes(exported.content)
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: buffer))
        }
        return ExportResponse(exported).response()
    }

    /// Reads an import from JSON (base64 `content`) or multipart (raw bytes in the `content` part).
    static func importRequest(from parameters: APIParameters) throws(KilnError) -> ImportRequest {
        let content: [UInt8]
        if let uploaded = parameters.uploadedFile {
            content = Array(uploaded.readableBytesView)
        } else if let text = parameters.contentText {
            // Decoded from the body's bytes; only text that is not base64 is checked for what else it is wrong as.
            do {
                content = try Base64Content.decode(text.readableBytesView)
            } catch {
                _ = try parameters.checkedContentText()
                throw error
            }
        } else if let encoded = try parameters.string("content") {
            content = try Base64Content.decode(encoded)
        } else {
            content = []
        }
        var language: NotebookLanguage?
        if let name = try parameters.string("language") {
            guard let known = NotebookLanguage(rawValue: name) else {
                throw KilnError.invalidParameter("Invalid language: \(name). Supported languages are PYTHON, SCALA, SQL and R.")
            }
            language = known
        }
        return ImportRequest(
            path: try WorkspacePath(parameters.requiredString("path")),
            format: try WorkspaceFormat(parameter: parameters.string("format")),
            language: language,
            content: content,
            overwrite: try parameters.bool("overwrite") ?? false
        )
    }
}
