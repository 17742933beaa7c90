public import Foundation
public import NotebookFormats

/// One `workspace/import` call, already decoded from JSON or multipart.
public struct ImportRequest: Sendable {
    public var path: WorkspacePath
    public var format: WorkspaceFormat
    public var language: NotebookLanguage?
    /// The raw bytes (already base64-decoded for JSON imports).
    public var content: Data
    public var overwrite: Bool

    public init(path: WorkspacePath, format: WorkspaceFormat, language: NotebookLanguage?, content: Data, overwrite: Bool) {
        self.path = path
        self.format = format
        self.language = language
        self.content = content
        self.overwrite = overwrite
    }
}

/// The result of an export: bytes and the `file_type` the API reports with them.
public struct ExportedObject: Sendable {
    public var content: Data
    public var fileType: String?
    /// `content` in base64, when it was kept so (`ExportCache`); the JSON export answers with it.
    public var base64Content: Data?

    public init(content: Data, fileType: String?, base64Content: Data? = nil) {
        self.content = content
        self.fileType = fileType
        self.base64Content = base64Content
    }
}
