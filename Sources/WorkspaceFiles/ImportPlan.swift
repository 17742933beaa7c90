import Foundation
public import KilnCore
import NotebookFormats

/// What an import will store, decided from the request alone (no I/O), so the rules are testable.
struct ImportPlan: Sendable, Equatable {
    var path: WorkspacePath
    var objectType: ObjectType
    var language: NotebookLanguage?
    /// The bytes to store: a file's own bytes, or a notebook's encoded model.
    var storedContent: Data
    /// The size get-status reports.
    var size: Int64

    static func make(for request: ImportRequest) throws(KilnError) -> ImportPlan {
        guard request.content.count <= WorkspaceService.maximumContentSize else {
            throw KilnError(
                .maxNotebookSizeExceeded,
                "The content is \(request.content.count) bytes, over the maximum of \(WorkspaceService.maximumContentSize) bytes (10 MB)."
            )
        }
        switch request.format {
        case .raw:
            return file(at: request.path, content: request.content)
        case .auto:
            if let ext = request.path.fileExtension, let language = NotebookLanguage(sourceFileExtension: ext),
               let text = String(validating: request.content, as: UTF8.self),
               SourceFormat.isNotebook(text, fileExtension: ext) {
                return try notebook(at: request.path.removingExtension, text: text, language: language)
            }
            return file(at: request.path, content: request.content)
        case .source:
            guard let language = request.language else {
                throw KilnError.invalidParameter(
                    "A SOURCE import needs a language (PYTHON, SCALA, SQL or R). Without one the content is read as a zip archive of a folder, which Kiln does not support yet; use format AUTO to import a file.")
            }
            guard let text = String(validating: request.content, as: UTF8.self) else {
                throw KilnError.invalidParameter("The content of a SOURCE notebook must be UTF-8 text.")
            }
            return try notebook(at: request.path, text: text, language: language)
        case .html, .jupyter, .dbc, .rMarkdown:
            throw KilnError.invalidParameter(
                "Import format \(request.format.rawValue) is not supported by this Kiln yet; use SOURCE, AUTO or RAW.")
        }
    }

    private static func file(at path: WorkspacePath, content: Data) -> ImportPlan {
        ImportPlan(path: path, objectType: .file, language: nil, storedContent: content, size: Int64(content.count))
    }

    private static func notebook(at path: WorkspacePath, text: String, language: NotebookLanguage) throws(KilnError) -> ImportPlan {
        guard !path.isRoot else { throw KilnError(.resourceAlreadyExists, "Path (/) already exists.") }
        let notebook: Notebook
        do {
            notebook = try SourceFormat.parse(text, language: language)
        } catch {
            throw KilnError.invalidParameter(error.description)
        }
        let stored = NotebookCoding.encode(notebook)
        return ImportPlan(
            path: path, objectType: .notebook, language: language, storedContent: stored,
            size: Int64(SourceFormat.render(notebook).utf8.count)
        )
    }
}

