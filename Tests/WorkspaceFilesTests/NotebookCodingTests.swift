import Foundation
import NIOCore
import NotebookFormats
import Testing
@testable import WorkspaceFiles

@Suite struct NotebookCodingTests {
    let notebook = Notebook(language: .python, cells: [Cell(command: "1"), Cell(command: "%md x")])

    @Test func storedIdsComeBack() throws {
        var stored = notebook
        stored.ids = .random(cells: 2)
        let decoded = try NotebookCoding.decode(NotebookCoding.encode(stored).readableBytesView)
        #expect(decoded == stored && decoded.ids?.commands.count == 2)
    }

    /// Notebooks stored before Kiln kept ids have none; exports derive them from the object id, the same each time.
    @Test func notebooksStoredWithoutIdsGetStableOnes() throws {
        let decoded = try NotebookCoding.decode(NotebookCoding.encode(notebook).readableBytesView)
        #expect(decoded.ids == nil)
        let object = ObjectInfo(
            objectID: 7, path: try WorkspacePath("/a"), objectType: .notebook, language: .python,
            size: 1, createdAt: 0, modifiedAt: 0)
        let content = Data(NotebookCoding.encode(notebook).readableBytesView)
        let first = try WorkspaceService.exportNotebook(try WorkspaceService.storedNotebook(content, objectID: 7), object: object, format: .jupyter)
        let second = try WorkspaceService.exportNotebook(try WorkspaceService.storedNotebook(content, objectID: 7), object: object, format: .jupyter)
        #expect(first.content == second.content)
    }
}
