public import Foundation
import KilnCore
public import NIOCore
public import NotebookFormats

/// One `workspace/import` call, already decoded from JSON or multipart.
public struct ImportRequest: Sendable {
    public var path: WorkspacePath
    public var format: WorkspaceFormat
    public var language: NotebookLanguage?
    /// The raw bytes (already base64-decoded for JSON imports).
    public var content: [UInt8]
    public var overwrite: Bool

    /// Whether the import may be a folder archive (DBC, a zip of sources), which can take far longer than its
    /// bytes suggest: a DBC import, a SOURCE import without a language, or an AUTO import.
    public var mayBeArchive: Bool {
        switch format {
        case .dbc, .auto: true
        case .source: language == nil
        case .raw, .jupyter, .html, .rMarkdown: false
        }
    }

    public init(path: WorkspacePath, format: WorkspaceFormat, language: NotebookLanguage?, content: [UInt8], overwrite: Bool) {
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
    /// `json()`, when the export was kept with it (`ExportCache`), so that answering it again copies nothing.
    public var jsonBody: ByteBuffer?

    public init(content: Data, fileType: String?) {
        self.content = content
        self.fileType = fileType
    }

    /// The body of `workspace/export`'s JSON answer: `{"content":"<base64>","file_type":"py"}`, without
    /// `file_type` when there is none. Written directly: base64 needs no JSON escaping, and a 10 MB export
    /// should not go through an encoder character by character.
    public func json() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Base64Content.encodedLength(of: content.count) + 64)
        buffer.writeString(#"{"content":""#)
        Base64Content.encode(content, into: &buffer)
        buffer.writeString("\"")
        if let fileType {
            buffer.writeString(#","file_type":"#)
            buffer.writeBytes(JSONTree.string(fileType).compactJSON())
        }
        buffer.writeString("}")
        return buffer
    }
}
