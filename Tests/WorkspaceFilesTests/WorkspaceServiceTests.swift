import Foundation
import KilnCore
import NotebookFormats
import Persistence
import PersistenceTestSupport
import Testing
@testable import WorkspaceFiles

/// The Workspace API's operations end to end on a real database: archives in and out, export formats
/// and their stable bytes, `import-file` conflicts, and the refusals of each operation.
@Suite struct WorkspaceServiceTests {
    typealias Repository = WorkspaceRepositoryTests

    static func path(_ text: String) -> WorkspacePath { try! WorkspacePath(text) }

    static func request(
        _ path: String, _ format: WorkspaceFormat, _ content: [UInt8], language: NotebookLanguage? = nil,
        overwrite: Bool = false
    ) -> ImportRequest {
        ImportRequest(path: Self.path(path), format: format, language: language, content: content, overwrite: overwrite)
    }

    static func code(_ body: () async throws -> Void) async -> ErrorCode? {
        do { try await body() } catch let error as KilnError { return error.code } catch { return nil }
        return nil
    }

    /// Every path below `root`, as `path TYPE`.
    static func tree(_ service: WorkspaceService, _ workspace: Int64, _ root: String) async throws -> [String] {
        var lines: [String] = []
        for object in try await service.list(workspaceID: workspace, path: Self.path(root)) {
            lines.append("\(object.path.value.dropFirst(root.count)) \(object.objectType.rawValue)")
            if object.objectType == .directory { lines += try await tree(service, workspace, object.path.value).map { "\(object.path.name)\($0)" } }
        }
        return lines
    }

    /// `/p`: a Python notebook, a SQL notebook in a subfolder, and a plain file.
    static func populate(_ service: WorkspaceService, _ workspace: Int64) async throws {
        try await service.mkdirs(workspaceID: workspace, path: Self.path("/p/sub"))
        try await service.importObject(workspaceID: workspace, Self.request("/p/nb", .source, Array("print(1)".utf8), language: .python))
        try await service.importObject(workspaceID: workspace, Self.request("/p/sub/q", .source, Array("SELECT 1".utf8), language: .sql))
        try await service.importObject(workspaceID: workspace, Self.request("/p/data.csv", .raw, Array("a,b".utf8)))
    }

    @Test(arguments: TestDatabases.engines)
    func aFolderExportedAsDBCImportsBackAsTheSameTree(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await Self.populate(service, workspace)
            let first = try await service.export(workspaceID: workspace, path: Self.path("/p"), format: .dbc)
            let second = try await service.export(workspaceID: workspace, path: Self.path("/p"), format: .dbc)
            #expect(first.fileType == "dbc" && first.content == second.content) // the same bytes every time
            try await service.importObject(workspaceID: workspace, Self.request("/copy", .dbc, [UInt8](first.content)))
            #expect(try await Self.tree(service, workspace, "/copy") == ["/nb NOTEBOOK", "/sub DIRECTORY", "sub/q NOTEBOOK"])
            let q = try await service.export(workspaceID: workspace, path: Self.path("/copy/sub/q"), format: .source)
            #expect(q.content == Data("-- Databricks notebook source\nSELECT 1".utf8) && q.fileType == "sql")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func folderZipsHoldSourcesAndForAutoTheFiles(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await Self.populate(service, workspace)
            let source = try await service.export(workspaceID: workspace, path: Self.path("/p"), format: .source)
            let auto = try await service.export(workspaceID: workspace, path: Self.path("/p"), format: .auto)
            let sourceEntries = try ZipContainer.entries([UInt8](source.content), maximumSize: 1 << 20)
            #expect(source.fileType == "zip" && sourceEntries.map(\.0) == ["nb.py", "sub/", "sub/q.sql"])
            #expect(sourceEntries[0].1 == Array("# Databricks notebook source\nprint(1)".utf8))
            let autoEntries = try ZipContainer.entries([UInt8](auto.content), maximumSize: 1 << 20)
            #expect(autoEntries.map(\.0) == ["data.csv", "nb.py", "sub/", "sub/q.sql"] && autoEntries[0].1 == Array("a,b".utf8))
            try await service.importObject(workspaceID: workspace, Self.request("/again.zip", .auto, [UInt8](auto.content)))
            #expect(
                try await Self.tree(service, workspace, "/again")
                    == ["/data.csv FILE", "/nb NOTEBOOK", "/sub DIRECTORY", "sub/q NOTEBOOK"])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theRootExportsAsAFolderNamedWorkspace(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await Self.populate(service, workspace)
            let exported = try await service.export(workspaceID: workspace, path: .root, format: .dbc)
            let items = try DBCArchive.read([UInt8](exported.content), maximumSize: 1 << 20)
            #expect(items.first == .folder(path: ["Workspace"]))
            #expect(items.contains { if case .notebook(["Workspace", "p", "sub"], "q", _) = $0 { true } else { false } })
        }
    }

    @Test(arguments: TestDatabases.engines)
    func notebooksExportInEveryFormatWithStableBytes(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await service.importObject(workspaceID: workspace, Self.request("/r", .source, Array("x <- 1".utf8), language: .r))
            let ipynb = JupyterFormat.write(Notebook(language: .python, cells: [Cell(command: "1")]), name: "j")
            try await service.importObject(workspaceID: workspace, Self.request("/j.ipynb", .auto, ipynb))
            let expected: [(String, WorkspaceFormat, String)] = [
                ("/r", .source, "r"), ("/r", .auto, "r"), ("/r", .jupyter, "ipynb"), ("/r", .html, "html"), ("/r", .dbc, "dbc"),
                ("/r", .rMarkdown, "Rmd"), ("/j", .auto, "ipynb"), ("/j", .source, "py"),
            ]
            for (path, format, fileType) in expected {
                let first = try await service.export(workspaceID: workspace, path: Self.path(path), format: format)
                let again = try await service.export(workspaceID: workspace, path: Self.path(path), format: format)
                #expect(first.fileType == fileType && first.content == again.content, "\(path) \(format)")
            }
            let notebook = try await service.getStatus(workspaceID: workspace, path: Self.path("/j"))
            #expect(try await service.nativeFormat(workspaceID: workspace, of: notebook) == .jupyter)
            let r = try await service.getStatus(workspaceID: workspace, path: Self.path("/r"))
            #expect(try await service.nativeFormat(workspaceID: workspace, of: r) == .source)
            #expect(try await service.nativeFormat(workspaceID: workspace, of: .root) == nil)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func exportsRefuseFormatsTheObjectCannotTake(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            try await Self.populate(service, workspace)
            for (path, format) in [
                ("/p", WorkspaceFormat.html), ("/p", .jupyter), ("/p/data.csv", .jupyter), ("/p/data.csv", .dbc),
                ("/p/nb", .rMarkdown),
            ] {
                #expect(
                    await Self.code { _ = try await service.export(workspaceID: workspace, path: Self.path(path), format: format) }
                        == .invalidParameterValue, "\(path) \(format)")
            }
            #expect(
                await Self.code { _ = try await service.export(workspaceID: workspace, path: Self.path("/nope"), format: .source) }
                    == .resourceDoesNotExist)
            #expect(try await service.export(workspaceID: workspace, path: Self.path("/p/data.csv"), format: .raw).fileType == "csv")
        }
    }

    @Test(arguments: TestDatabases.engines)
    func importFileTellsFileConflictsFromOthers(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, clock in
            let file = try await service.importFile(workspaceID: workspace, path: Self.path("/f.txt"), content: Data("1".utf8), overwrite: false)
            let notebook = try await service.importFile(
                workspaceID: workspace, path: Self.path("/job.py"), content: Data("# Databricks notebook source\nx".utf8), overwrite: false)
            #expect(file.objectType == .file && notebook.objectType == .notebook && notebook.path.value == "/job")
            await #expect(throws: KilnError(.alreadyExists, "Path (/f.txt) already exists.")) {
                try await service.importFile(workspaceID: workspace, path: Self.path("/f.txt"), content: Data("2".utf8), overwrite: false)
            }
            await #expect(throws: KilnError(.resourceAlreadyExists, "Path (/job) already exists.")) {
                try await service.importFile(
                    workspaceID: workspace, path: Self.path("/job.py"), content: Data("# Databricks notebook source\ny".utf8), overwrite: false)
            }
            clock.advance(millis: 10)
            let replaced = try await service.importFile(workspaceID: workspace, path: Self.path("/f.txt"), content: Data("22".utf8), overwrite: true)
            #expect(replaced.objectID == file.objectID && replaced.size == 2 && replaced.modifiedAt == file.modifiedAt + 10)
            #expect(try await service.export(workspaceID: workspace, path: Self.path("/f.txt"), format: .auto).content == Data("22".utf8))
            #expect(
                await Self.code { try await service.importFile(workspaceID: workspace, path: Self.path("/no/f"), content: Data(), overwrite: false) }
                    == .resourceDoesNotExist)
            #expect(
                await Self.code { try await service.importFile(workspaceID: workspace, path: Self.path("/f.txt/g"), content: Data(), overwrite: false) }
                    == .invalidParameterValue)
            let zip = try await service.importFile(
                workspaceID: workspace, path: Self.path("/a.zip"), content: Data(ZipContainer.write([("x", [1])])), overwrite: false)
            #expect(zip.objectType == .file) // not unpacked
        }
    }

    @Test(arguments: TestDatabases.engines)
    func overwriteMayChangeTheKindButNeverReplacesAFolder(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            let file = try await service.importObject(workspaceID: workspace, Self.request("/x", .raw, [1, 2, 3]))
            let notebook = try await service.importObject(
                workspaceID: workspace, Self.request("/x", .source, Array("1".utf8), language: .python, overwrite: true))
            #expect(notebook.objectID == file.objectID && notebook.objectType == .notebook && notebook.language == .python)
            try await service.mkdirs(workspaceID: workspace, path: Self.path("/d"))
            #expect(
                await Self.code { try await service.importObject(workspaceID: workspace, Self.request("/d", .raw, [1], overwrite: true)) }
                    == .resourceAlreadyExists)
            #expect(try await service.getStatus(workspaceID: workspace, path: Self.path("/d")).objectType == .directory)
            #expect(await Self.code { try await service.mkdirs(workspaceID: workspace, path: Self.path("/x/y")) } == .resourceAlreadyExists)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func archivesImportAllOrNothing(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            let clash = ZipContainer.write([("a", [1]), ("a/b.txt", [2])]) // `a` as a file and as a folder
            #expect(
                await Self.code { try await service.importObject(workspaceID: workspace, Self.request("/bad.zip", .auto, clash)) }
                    == .invalidParameterValue)
            #expect(try await service.list(workspaceID: workspace, path: .root).isEmpty)
            let good = ZipContainer.write([("b.txt", [2])])
            try await service.importObject(workspaceID: workspace, Self.request("/good.zip", .auto, good))
            #expect(
                await Self.code { try await service.importObject(workspaceID: workspace, Self.request("/good.zip", .auto, good)) }
                    == .resourceAlreadyExists)
            #expect(
                await Self.code { try await service.importObject(workspaceID: workspace, Self.request("/none/x.zip", .auto, good)) }
                    == .resourceDoesNotExist)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func listingCanSkipNotebooksUnchangedSinceATime(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, clock in
            let old = try await service.importObject(workspaceID: workspace, Self.request("/old", .source, Array("1".utf8), language: .python))
            clock.advance(millis: 1)
            try await service.importObject(workspaceID: workspace, Self.request("/new", .source, Array("2".utf8), language: .python))
            try await service.importObject(workspaceID: workspace, Self.request("/file", .raw, [1]))
            try await service.mkdirs(workspaceID: workspace, path: Self.path("/dir"))
            let names = try await service.list(workspaceID: workspace, path: .root, notebooksModifiedAfter: old.modifiedAt).map(\.path.name)
            #expect(names == ["dir", "file", "new"])
        }
    }

    @Test(arguments: TestDatabases.engines)
    func theRootAlwaysExistsAndCannotBeDeleted(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            #expect(try await service.getStatus(workspaceID: workspace, path: .root) == .root)
            try await service.mkdirs(workspaceID: workspace, path: .root)
            #expect(await Self.code { try await service.delete(workspaceID: workspace, path: .root, recursive: true) } == .invalidParameterValue)
            try await service.mkdirs(workspaceID: workspace, path: Self.path("/empty"))
            try await service.delete(workspaceID: workspace, path: Self.path("/empty"), recursive: false)
            #expect(try await service.list(workspaceID: workspace, path: .root).isEmpty)
            #expect(
                await Self.code { try await service.delete(workspaceID: workspace, path: Self.path("/empty"), recursive: false) }
                    == .resourceDoesNotExist)
        }
    }

    @Test(arguments: TestDatabases.engines)
    func notebooksKeepTheIdsOfTheirArchive(engine: DatabaseEngine) async throws {
        try await Repository.withWorkspace(engine) { service, workspace, _ in
            var notebook = Notebook(language: .python, cells: [Cell(command: "1"), Cell(command: "2")])
            notebook.ids = .random(cells: 2)
            let model = NotebookV1.model(for: notebook, name: "n", objectID: 5)
            try await service.importObject(
                workspaceID: workspace, Self.request("/n", .dbc, DBCArchive.write([.notebook(folder: [], name: "n", model: model)])))
            let exported = try await service.export(workspaceID: workspace, path: Self.path("/n"), format: .dbc)
            guard case .notebook(_, "n", let back)? = try DBCArchive.read([UInt8](exported.content), maximumSize: 1 << 20).first else {
                Issue.record("no notebook in the export")
                return
            }
            #expect(back["guid"] == model["guid"])
            #expect(back["commands"]?.arrayValue?.map { $0["nuid"] } == model["commands"]?.arrayValue?.map { $0["nuid"] })
        }
    }
}
