import Foundation
import KilnCore
import NIOCore
import NotebookFormats
import Testing
@testable import WorkspaceFiles

/// What each import format turns into, decided without a database: one object or a folder tree, where
/// each lands, and the archives, names and sizes that are refused.
@Suite struct ImportPlanTests {
    static let pythonSource = "# Databricks notebook source\nprint(1)\n\n# COMMAND ----------\n\n# MAGIC %md\n# MAGIC # Title"

    static func plan(
        _ path: String, _ format: WorkspaceFormat, _ content: [UInt8], language: NotebookLanguage? = nil,
        overwrite: Bool = false
    ) throws -> ImportPlan {
        try ImportPlan.make(
            for: ImportRequest(
                path: WorkspacePath(path), format: format, language: language, content: content, overwrite: overwrite))
    }

    static func model(_ name: String, _ language: NotebookLanguage = .python, cells: [String] = ["1"]) -> JSONTree {
        var notebook = Notebook(language: language, cells: cells.map { Cell(command: $0) })
        notebook.ids = .random(cells: cells.count)
        return NotebookV1.model(for: notebook, name: name, objectID: 1)
    }

    static func tree(_ plan: ImportPlan) throws -> TreePlan {
        guard case .tree(let tree) = plan else { throw Unexpected(plan: "\(plan)") }
        return tree
    }

    static func object(_ plan: ImportPlan) throws -> ObjectPlan {
        guard case .object(let object) = plan else { throw Unexpected(plan: "\(plan)") }
        return object
    }

    struct Unexpected: Error { var plan: String }

    static func code(_ body: () throws -> Any) -> ErrorCode? {
        do { _ = try body() } catch let error as KilnError { return error.code } catch { return nil }
        return nil
    }

    /// A zip with a top folder, a notebook, a plain file, and a `.py` without the notebook header.
    static let project = ZipContainer.write([
        ("proj/", []), ("proj/main.py", Array(pythonSource.utf8)), ("proj/data.csv", Array("a,b\n".utf8)),
        ("proj/lib/util.py", Array("print(2)".utf8)),
    ])

    @Test func aDBCOfOneNotebookIsThatNotebookWithItsIds() throws {
        let model = Self.model("Demo", .scala, cells: ["val x = 1", "%md # hi"])
        let dbc = DBCArchive.write([.notebook(folder: [], name: "Demo", model: model)])
        let object = try Self.object(Self.plan("/x/nb", .dbc, dbc))
        #expect(object.path.value == "/x/nb" && object.objectType == .notebook && object.language == .scala)
        let stored = try NotebookCoding.decode(object.storedContent.readableBytesView)
        #expect(stored.cells.map(\.command) == ["val x = 1", "%md # hi"])
        #expect(stored.ids?.notebook == model["guid"]?.stringValue)
        #expect(object.size == Int64(SourceFormat.render(stored).utf8.count))
    }

    /// A SOURCE import keeps a random guid alone; each cell's nuid derives from it, distinct and the same on
    /// every read of the stored notebook, and two imports of the same text name their cells apart.
    @Test func aSourceImportKeepsAGuidFromWhichItsCellsNuidsDerive() throws {
        func stored() throws -> ByteBuffer {
            try Self.object(Self.plan("/x/nb", .source, Array(Self.pythonSource.utf8), language: .python)).storedContent
        }
        func decodedNuids(_ stored: ByteBuffer) throws -> [String] {
            let notebook = try NotebookCoding.decode(stored.readableBytesView)
            let ids = try #require(notebook.ids)
            #expect(ids.commands.isEmpty && UUID(uuidString: ids.notebook) != nil)
            return notebook.cells.indices.map { ids.command($0) }
        }
        let (first, second) = (try stored(), try stored())
        let nuids = try decodedNuids(first)
        #expect(Set(nuids).count == 2 && nuids.allSatisfy { UUID(uuidString: $0) != nil })
        #expect(try decodedNuids(first) == nuids)
        #expect(try decodedNuids(second) != nuids)
    }

    @Test func aDBCFolderArchiveBecomesTheImportedFolder() throws {
        let dbc = DBCArchive.write([
            .folder(path: ["Course"]), .folder(path: ["Course", "Week 1"]),
            .notebook(folder: ["Course", "Week 1"], name: "Intro", model: Self.model("Intro")),
            .notebook(folder: ["Course"], name: "Readme", model: Self.model("Readme", .sql)),
        ])
        let tree = try Self.tree(Self.plan("/imported", .dbc, dbc))
        #expect(tree.root.value == "/imported")
        #expect(tree.folders.map(\.value) == ["/imported/Week 1"]) // the single root folder is the import path
        #expect(Set(tree.objects.map { "\($0.path.value) \($0.language!.rawValue)" }) == ["/imported/Week 1/Intro PYTHON", "/imported/Readme SQL"])
    }

    @Test func aDBCWithTopLevelNotebooksKeepsItsFolders() throws {
        let dbc = DBCArchive.write([
            .notebook(folder: [], name: "A", model: Self.model("A")),
            .notebook(folder: ["sub"], name: "B", model: Self.model("B")),
        ])
        let tree = try Self.tree(Self.plan("/r", .dbc, dbc))
        #expect(tree.folders.map(\.value) == ["/r/sub"])
        #expect(Set(tree.objects.map(\.path.value)) == ["/r/A", "/r/sub/B"])
    }

    @Test func unusableDBCArchivesAreRefused() {
        let empty = DBCArchive.write([])
        #expect(Self.code { try Self.plan("/r", .dbc, empty) } == .invalidParameterValue)
        let slash = DBCArchive.write([
            .notebook(folder: [], name: "a/b", model: Self.model("a/b")), .notebook(folder: [], name: "c", model: Self.model("c")),
        ])
        #expect(Self.code { try Self.plan("/r", .dbc, slash) } == .invalidParameterValue)
        let climbing = ZipContainer.write([("../evil.python", Self.model("evil").compactJSON())])
        #expect(Self.code { try Self.plan("/r", .dbc, climbing) } == .invalidParameterValue)
        let single = DBCArchive.write([.notebook(folder: [], name: "n", model: Self.model("n"))])
        #expect(Self.code { try Self.plan("/", .dbc, single) } == .resourceAlreadyExists)
        #expect(Self.code { try Self.plan("/r.dbc", .auto, single, overwrite: true) } == .invalidParameterValue)
    }

    @Test func autoStripsTheArchiveAndNotebookExtensions() throws {
        let dbc = DBCArchive.write([.notebook(folder: [], name: "n", model: Self.model("n"))])
        #expect(try Self.object(Self.plan("/w/course.dbc", .auto, dbc)).path.value == "/w/course")
        let ipynb = JupyterFormat.write(Notebook(language: .python, cells: [Cell(command: "1")]), name: "nb")
        let notebook = try Self.object(Self.plan("/w/nb.ipynb", .auto, ipynb))
        #expect(notebook.path.value == "/w/nb" && notebook.objectType == .notebook)
        #expect(try NotebookCoding.decode(notebook.storedContent.readableBytesView).nativeFormat == .jupyter)
        let broken = try Self.object(Self.plan("/w/nb.ipynb", .auto, Array("{not json".utf8)))
        #expect(broken.path.value == "/w/nb.ipynb" && broken.objectType == .file)
    }

    @Test func anAutoZipIsAFolderOfNotebooksAndFiles() throws {
        let tree = try Self.tree(Self.plan("/w/bundle.zip", .auto, Self.project))
        #expect(tree.root.value == "/w/bundle")
        #expect(tree.folders.map(\.value) == ["/w/bundle/proj", "/w/bundle/proj/lib"])
        #expect(
            tree.objects.map { "\($0.path.value) \($0.objectType.rawValue)" } == [
                "/w/bundle/proj/main NOTEBOOK", "/w/bundle/proj/data.csv FILE", "/w/bundle/proj/lib/util.py FILE",
            ])
        #expect(tree.objects[1].storedContent == ByteBuffer(string: "a,b\n"))
    }

    @Test func aSourceZipKeepsOnlyTheNotebooks() throws {
        let tree = try Self.tree(Self.plan("/w/bundle", .source, Self.project))
        #expect(tree.objects.map(\.path.value) == ["/w/bundle/proj/main"])
        #expect(tree.folders.map(\.value) == ["/w/bundle/proj", "/w/bundle/proj/lib"])
        let error = #expect(throws: KilnError.self) { try Self.plan("/w/x", .source, Array("print(1)".utf8)) }
        #expect(error?.message.contains("zip") == true)
    }

    @Test func zipSignaturesAreRecognised() {
        #expect(ZipSources.looksLikeZip(Self.project))
        #expect(ZipSources.looksLikeZip(ZipContainer.write([]))) // an empty archive is only its end record
        #expect(!ZipSources.looksLikeZip(Array("PK".utf8)))
        #expect(!ZipSources.looksLikeZip(Array(Self.pythonSource.utf8)))
    }

    @Test func eachRichFormatImportsAtThePathAsGiven() throws {
        let notebook = Notebook(language: .r, cells: [Cell(command: "x <- 1"), Cell(command: "%md ## Notes")])
        let imported: [(WorkspaceFormat, [UInt8])] = [
            (.jupyter, JupyterFormat.write(notebook, name: "n")), (.html, HTMLFormat.write(notebook, name: "n", objectID: 9)),
            (.rMarkdown, RMarkdownFormat.write(notebook, name: "n")),
        ]
        for (format, bytes) in imported {
            let object = try Self.object(Self.plan("/n.txt", format, bytes))
            #expect(object.path.value == "/n.txt" && object.language == .r, "\(format)")
            #expect(try NotebookCoding.decode(object.storedContent.readableBytesView).cells.first?.command == "x <- 1", "\(format)")
        }
    }

    @Test func aSourceHeaderOfAnotherLanguageIsRefused() {
        let error = #expect(throws: KilnError.self) { try Self.plan("/n", .source, Array("// Databricks notebook source\n1".utf8), language: .python) }
        #expect(error?.code == .invalidParameterValue && error?.message.contains("//") == true)
    }

    @Test func importFileStoresArchivesAsFilesAndNotebooksByTheirHeader() throws {
        let zip = try ImportPlan.workspaceFile(at: WorkspacePath("/w/a.zip"), content: Data(Self.project))
        #expect(zip.objectType == .file && zip.path.value == "/w/a.zip" && zip.storedContent == ByteBuffer(bytes: Self.project))
        let dbc = try ImportPlan.workspaceFile(at: WorkspacePath("/w/a.dbc"), content: Data(DBCArchive.write([])))
        #expect(dbc.objectType == .file)
        let notebook = try ImportPlan.workspaceFile(at: WorkspacePath("/w/job.py"), content: Data(Self.pythonSource.utf8))
        #expect(notebook.objectType == .notebook && notebook.path.value == "/w/job")
        #expect(notebook.size == Int64(Self.pythonSource.utf8.count)) // its SOURCE rendering, which is what was sent
        let script = try ImportPlan.workspaceFile(at: WorkspacePath("/w/job.py"), content: Data("print(1)".utf8))
        #expect(script.objectType == .file && script.path.value == "/w/job.py")
        #expect(
            Self.code { try ImportPlan.workspaceFile(at: WorkspacePath("/w/big.zip"), content: Data(count: WorkspaceService.maximumContentSize + 1)) }
                == .maxNotebookSizeExceeded)
    }

    @Test(arguments: ["", "a/b"])
    func treePathsRefuseUnsafeComponents(component: String) throws {
        let tree = TreePlan(root: try WorkspacePath("/r"))
        #expect(try tree.path(["x", "y"]).value == "/r/x/y")
        #expect(throws: KilnError.self) { try tree.path(["x", component]) }
    }
}

/// Which imports may be folder archives, whose work their size does not bound (kept off the event loops).
@Suite struct ImportRequestTests {
    @Test func archivesAreTheFormatsThatMayHoldFolders() throws {
        func request(_ format: WorkspaceFormat, _ language: NotebookLanguage?) throws -> ImportRequest {
            ImportRequest(path: try WorkspacePath("/a"), format: format, language: language, content: [], overwrite: false)
        }
        #expect(try request(.dbc, nil).mayBeArchive)
        #expect(try request(.auto, nil).mayBeArchive)
        #expect(try request(.source, nil).mayBeArchive)
        #expect(try !request(.source, .python).mayBeArchive)
        for format in [WorkspaceFormat.raw, .jupyter, .html, .rMarkdown] {
            #expect(try !request(format, nil).mayBeArchive, "\(format)")
        }
    }
}
