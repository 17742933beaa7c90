import Foundation
import KilnCore
import NotebookFormats
import Persistence
import SQLKit

extension WorkspaceService {
    /// Exports a notebook, a file, or a folder (DBC archive, or a zip of sources for SOURCE and AUTO).
    /// `caller` needs CAN_READ on it, granted on it or a folder above it: the root and `/Users`, which
    /// everyone may list, export only for admins (a folder's export holds everything below it).
    ///
    /// An export kept in memory (`exportCache`) is answered where the request runs, after one read of the
    /// metadata (on SQLite, from memory while no object changed: `objectCache`). Any other is made on Swift's
    /// global executor, not on an event loop that answers get-status (`EventLoopResponder`): reading up to
    /// 10 MB, converting it (tens of milliseconds for a zip of a folder or an HTML page of a large notebook)
    /// and, with `answersInJSON`, encoding the JSON answer (`jsonBody`).
    public func export(
        workspaceID: Int64, path: WorkspacePath, format: WorkspaceFormat, caller: WorkspaceCaller = .admin,
        answersInJSON: Bool = false
    ) async throws -> ExportedObject {
        let grants = caller.isAdmin ? nil : try await grants(workspaceID: workspaceID)
        guard let versioned = try await versionedObject(workspaceID: workspaceID, path: path) else { throw Self.doesNotExist(path) }
        let (object, contentVersion) = (versioned.object, versioned.contentVersion)
        if let grants, grants.inherited(by: caller, on: path) == nil {
            throw KilnError(.permissionDenied, "You do not have CAN_READ permission on \(path).")
        }
        let exported: ExportedObject
        if object.objectType == .notebook,
            let kept = exportCache.kept(
                ExportCache.Key(workspaceID: workspaceID, object: object, format: format), contentVersion: contentVersion)
        {
            exported = kept
        } else {
            exported = try await withTaskExecutorPreference(globalConcurrentExecutor) {
                var made = try await make(object, contentVersion: contentVersion, workspaceID: workspaceID, format: format)
                if answersInJSON, made.jsonBody == nil { made.jsonBody = made.json() }
                return made
            }
        }
        guard exported.content.count <= Self.maximumContentSize else {
            throw KilnError(
                .maxNotebookSizeExceeded,
                "The export of \(path) is \(exported.content.count) bytes, over the maximum of \(Self.maximumContentSize) bytes (10 MB).")
        }
        return exported
    }

    /// The export of `object` (read at `contentVersion`), made from its stored content; a notebook's is kept
    /// when the content read is still that version (reads are statements, not one transaction: a change may
    /// fall between the two reads).
    private func make(
        _ object: ObjectInfo, contentVersion: Int64, workspaceID: Int64, format: WorkspaceFormat
    ) async throws -> ExportedObject {
        switch object.objectType {
        case .directory:
            return try await exportFolder(object, workspaceID: workspaceID, format: format)
        case .file:
            guard [.source, .auto, .raw].contains(format) else {
                throw KilnError.invalidParameter(
                    "A file (\(object.path)) can only be exported as SOURCE, AUTO or RAW, not \(format.rawValue).")
            }
            let content = try await database.read { db in try await ObjectTable.content(db, objectID: object.objectID) }
            return ExportedObject(content: content, fileType: object.path.fileExtension)
        case .notebook:
            guard let (content, version) = try await database.read({ db in try await ObjectTable.versionedContent(db, objectID: object.objectID) })
            else { throw Self.doesNotExist(object.path) }
            let made = try Self.exportNotebook(try Self.storedNotebook(content, objectID: object.objectID), object: object, format: format)
            guard version == contentVersion else { return made }
            let key = ExportCache.Key(workspaceID: workspaceID, object: object, format: format)
            return exportCache.keep(made, for: key, contentVersion: version, storedSize: content.count)
        }
    }

    /// A stored notebook with its ids: the kept ones, or (stored before Kiln kept ids) ones derived from
    /// its object id, so that every export of it repeats them.
    static func storedNotebook(_ content: Data, objectID: Int64) throws -> Notebook {
        var notebook = try NotebookCoding.decode(content)
        if notebook.ids == nil { notebook.ids = .derived(seed: String(objectID)) }
        return notebook
    }

    static func exportNotebook(_ notebook: Notebook, object: ObjectInfo, format: WorkspaceFormat) throws -> ExportedObject {
        let name = object.path.name
        switch format {
        case .auto where notebook.nativeFormat == .jupyter, .jupyter:
            return ExportedObject(content: Data(JupyterFormat.write(notebook, name: name)), fileType: "ipynb")
        case .source, .auto, .raw:
            return ExportedObject(content: Data(SourceFormat.render(notebook).utf8), fileType: notebook.language.sourceFileExtension)
        case .html:
            return ExportedObject(content: Data(HTMLFormat.write(notebook, name: name, objectID: object.objectID)), fileType: "html")
        case .dbc:
            let model = NotebookV1.model(for: notebook, name: name, objectID: object.objectID)
            let archive = DBCArchive.write([.notebook(folder: [], name: name, model: model)], guid: manifestGUID(object), modified: modified(object))
            return ExportedObject(content: Data(archive), fileType: "dbc")
        case .rMarkdown:
            guard notebook.language == .r else {
                throw KilnError.invalidParameter("R_MARKDOWN export is only for R notebooks; \(object.path) is a \(notebook.language.rawValue) notebook.")
            }
            return ExportedObject(content: Data(RMarkdownFormat.write(notebook, name: name)), fileType: "Rmd")
        }
    }

    /// The time a zip or DBC export stamps its entries with: the exported object's last modification, so
    /// that exporting unchanged content again gives the same bytes.
    static func modified(_ object: ObjectInfo) -> Date {
        Date(timeIntervalSince1970: Double(object.modifiedAt) / 1000)
    }

    /// A DBC archive's manifest guid: a function of the exported object, so exports repeat it.
    static func manifestGUID(_ object: ObjectInfo) -> String {
        IdentifierGenerator.uuid(named: "manifest:\(object.objectID)")
    }

    private func exportFolder(_ folder: ObjectInfo, workspaceID: Int64, format: WorkspaceFormat) async throws -> ExportedObject {
        guard [.dbc, .source, .auto].contains(format) else {
            throw KilnError.invalidParameter("A folder (\(folder.path)) can only be exported as DBC, SOURCE or AUTO, not \(format.rawValue).")
        }
        let descendants = try await database.read { db in
            try await ObjectTable.descendants(db, workspaceID: workspaceID, of: folder.path, withContent: true)
        }
        let rootName = folder.path.isRoot ? "Workspace" : folder.path.name
        func relative(_ path: WorkspacePath) -> [String] {
            Array(path.value.dropFirst(folder.path.isRoot ? 1 : folder.path.value.count + 1).split(separator: "/").map(String.init))
        }
        if format == .dbc {
            var items: [DBCArchive.Item] = [.folder(path: [rootName])]
            for (object, content) in descendants {
                let components = [rootName] + relative(object.path)
                switch object.objectType {
                case .directory:
                    items.append(.folder(path: components))
                case .notebook:
                    let notebook = try Self.storedNotebook(content ?? Data(), objectID: object.objectID)
                    let model = NotebookV1.model(for: notebook, name: object.path.name, objectID: object.objectID)
                    items.append(.notebook(folder: Array(components.dropLast()), name: object.path.name, model: model))
                case .file:
                    continue // DBC archives hold notebooks and folders only
                }
            }
            return ExportedObject(content: Data(DBCArchive.write(items, guid: Self.manifestGUID(folder), modified: Self.modified(folder))), fileType: "dbc")
        }
        var entries: [(String, [UInt8])] = []
        for (object, content) in descendants {
            let relativePath = relative(object.path).joined(separator: "/")
            switch object.objectType {
            case .directory:
                entries.append((relativePath + "/", []))
            case .notebook:
                let notebook = try NotebookCoding.decode(content ?? Data())
                entries.append((relativePath + "." + notebook.language.sourceFileExtension, Array(SourceFormat.render(notebook).utf8)))
            case .file where format == .auto:
                entries.append((relativePath, [UInt8](content ?? Data())))
            case .file:
                continue // SOURCE folder exports leave out non-notebook entries
            }
        }
        return ExportedObject(content: Data(ZipContainer.write(entries, modified: Self.modified(folder))), fileType: "zip")
    }
}
