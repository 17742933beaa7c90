import Foundation
import KilnCore
import NIOCore
import NotebookFormats

/// What an import will store, decided from the request alone (no I/O), so the rules are testable:
/// one object, or a whole folder tree (DBC folder archives, zips of sources).
enum ImportPlan: Sendable, Equatable {
    case object(ObjectPlan)
    case tree(TreePlan)

    /// The most any archive may inflate to, in all.
    static let maximumInflatedSize = 10 * WorkspaceService.maximumContentSize

    static func make(for request: ImportRequest) throws -> ImportPlan {
        try checkSize(request.content)
        let path = request.path
        let bytes = request.content
        do {
            switch request.format {
            case .raw:
                return .object(.file(at: path, content: bytes))
            case .source:
                guard let language = request.language else {
                    if ZipSources.looksLikeZip(bytes) { return .tree(try ZipSources.plan(bytes, at: path, includeFiles: false)) }
                    throw KilnError.invalidParameter(
                        "A SOURCE import without a language must be a zip archive of a folder, and this content is not one: The zip file may not be valid or may be an unsupported version. Give a language (PYTHON, SCALA, SQL or R) to import one notebook."
                    )
                }
                guard let notebook = try SourceFormat.parse(utf8: bytes, language: language) else { throw notUTF8("SOURCE") }
                return .object(try .notebook(at: path, notebook))
            case .jupyter:
                return .object(try .notebook(at: path, try JupyterFormat.read(bytes)))
            case .html:
                return .object(try .notebook(at: path, try HTMLFormat.read(bytes)))
            case .rMarkdown:
                return .object(try .notebook(at: path, try RMarkdownFormat.read(utf8(bytes, "R_MARKDOWN"))))
            case .dbc:
                guard !request.overwrite else {
                    throw KilnError.invalidParameter("overwrite is not supported for DBC imports; delete the existing path first.")
                }
                return try dbc(bytes, at: path)
            case .auto:
                return try auto(request)
            }
        } catch let error as NotebookFormatError {
            throw KilnError.invalidParameter(error.description)
        }
    }

    /// What the workspace-files API's `import-file` stores: a notebook when the extension and content
    /// say so (`.py`/`.scala`/`.sql`/`.r` with the notebook header, `.ipynb`; extension stripped), any
    /// other content (archives included) a file of those bytes.
    static func workspaceFile(at path: WorkspacePath, content: some Collection<UInt8>) throws -> ObjectPlan {
        try checkSize(content)
        // Only a notebook's extension can make a notebook; any other file is copied once, into the buffer stored.
        if let ext = path.fileExtension, NotebookLanguage(sourceFileExtension: ext) != nil || ext == "ipynb" {
            let request = ImportRequest(path: path, format: .auto, language: nil, content: [UInt8](content), overwrite: false)
            if case .object(let plan) = try make(for: request), plan.objectType == .notebook { return plan }
        }
        return .file(at: path, content: content)
    }

    /// AUTO: a notebook when the extension and content say so (extension stripped), a zip as a folder,
    /// anything else a file.
    private static func auto(_ request: ImportRequest) throws -> ImportPlan {
        let path = request.path
        let bytes = request.content
        switch path.fileExtension {
        case let ext? where NotebookLanguage(sourceFileExtension: ext) != nil:
            if let text = String(validating: bytes, as: UTF8.self), SourceFormat.isNotebook(text, fileExtension: ext) {
                return .object(
                    try .notebook(
                        at: path.removingExtension,
                        try SourceFormat.parse(text, language: NotebookLanguage(sourceFileExtension: ext)!)))
            }
        case "ipynb":
            if let notebook = try? JupyterFormat.read(bytes) { return .object(try .notebook(at: path.removingExtension, notebook)) }
        case "dbc":
            guard !request.overwrite else {
                throw KilnError.invalidParameter("overwrite is not supported for DBC imports; delete the existing path first.")
            }
            return try dbc(bytes, at: path.removingExtension)
        case "zip":
            return .tree(try ZipSources.plan(bytes, at: path.removingExtension, includeFiles: true))
        default:
            break
        }
        return .object(.file(at: path, content: bytes))
    }

    /// A DBC with one notebook and no folders is that notebook; anything else is a folder tree whose
    /// single root folder (if it has one) becomes `path`.
    private static func dbc(_ bytes: [UInt8], at path: WorkspacePath) throws -> ImportPlan {
        let items = try DBCArchive.read(bytes, maximumSize: maximumInflatedSize)
        let folders = items.compactMap { item -> [String]? in
            if case .folder(let folder) = item { return folder }
            return nil
        }
        let notebooks = items.compactMap { item -> ([String], String, JSONTree)? in
            if case .notebook(let folder, let name, let model) = item { return (folder, name, model) }
            return nil
        }
        if folders.isEmpty, notebooks.count == 1, notebooks[0].0.isEmpty {
            return .object(try .notebook(at: path, try NotebookV1.notebook(from: notebooks[0].2)))
        }
        guard !notebooks.isEmpty || !folders.isEmpty else {
            throw KilnError.invalidParameter("The DBC archive holds no notebooks.")
        }
        var allFolders = Set(folders.map { $0 })
        for (folder, _, _) in notebooks where !folder.isEmpty {
            for depth in 1...folder.count { allFolders.insert(Array(folder.prefix(depth))) }
        }
        let roots = Set(allFolders.compactMap(\.first))
        let strip = roots.count == 1 && notebooks.allSatisfy { !$0.0.isEmpty } ? 1 : 0
        var tree = TreePlan(root: path)
        for folder in allFolders.sorted(by: { $0.count < $1.count }) where folder.count > strip {
            tree.folders.append(try tree.path(Array(folder.dropFirst(strip))))
        }
        for (folder, name, model) in notebooks {
            let target = try tree.path(Array(folder.dropFirst(strip)) + [name])
            tree.objects.append(try .notebook(at: target, try NotebookV1.notebook(from: model)))
        }
        return .tree(tree)
    }

    private static func checkSize(_ content: some Collection<UInt8>) throws(KilnError) {
        guard content.count <= WorkspaceService.maximumContentSize else {
            throw KilnError(
                .maxNotebookSizeExceeded,
                "The content is \(content.count) bytes, over the maximum of \(WorkspaceService.maximumContentSize) bytes (10 MB).")
        }
    }

    private static func utf8(_ bytes: some Collection<UInt8>, _ format: String) throws(KilnError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw notUTF8(format) }
        return text
    }

    private static func notUTF8(_ format: String) -> KilnError {
        KilnError.invalidParameter("The content of a \(format) notebook must be UTF-8 text.")
    }
}

/// One object to store.
struct ObjectPlan: Sendable, Equatable {
    var path: WorkspacePath
    var objectType: ObjectType
    var language: NotebookLanguage?
    /// The bytes to store: a file's own bytes, or a notebook's encoded model (`NotebookCoding`), in the buffer
    /// the statement storing them binds.
    var storedContent: ByteBuffer
    /// The size get-status reports.
    var size: Int64

    static func file(at path: WorkspacePath, content: some Collection<UInt8>) -> ObjectPlan {
        ObjectPlan(path: path, objectType: .file, language: nil, storedContent: ByteBuffer(bytes: content), size: Int64(content.count))
    }

    /// A notebook, stored with ids for itself and its cells: those its document carries, else new ones.
    static func notebook(at path: WorkspacePath, _ notebook: Notebook) throws(KilnError) -> ObjectPlan {
        guard !path.isRoot else { throw KilnError(.resourceAlreadyExists, "Path (/) already exists.") }
        var notebook = notebook
        notebook.ids = .forStoring(notebook)
        return ObjectPlan(
            path: path, objectType: .notebook, language: notebook.language,
            storedContent: NotebookCoding.encode(notebook),
            size: Int64(SourceFormat.renderedSize(notebook)))
    }
}

/// A folder tree to create at `root`: its folders (parents first) and objects.
struct TreePlan: Sendable, Equatable {
    var root: WorkspacePath
    var folders: [WorkspacePath] = []
    var objects: [ObjectPlan] = []

    /// The workspace path of archive components below the root, validated like any client path.
    func path(_ components: [String]) throws(KilnError) -> WorkspacePath {
        var path = root
        for component in components {
            guard !component.isEmpty, !component.contains("/") else {
                throw KilnError.invalidParameter("The archive has an invalid entry name '\(component)'.")
            }
            path = try WorkspacePath(path.appending(component).value)
        }
        return path
    }
}
