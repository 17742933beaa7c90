import KilnCore
import Testing
@testable import NotebookFormats

/// Generated notebooks (random cells, languages, titles, magics, unicode) survive every format.
@Suite struct FormatRoundTripPropertyTests {
    static func notebook(_ seed: Int, language: NotebookLanguage? = nil) -> Notebook {
        var notebook = SourceRoundTripPropertyTests.randomNotebook(seed: UInt64(seed))
        if let language { notebook.language = language }
        return notebook
    }

    @Test(arguments: 0..<100)
    func jupyter(seed: Int) throws {
        let notebook = Self.notebook(seed)
        let read = try JupyterFormat.read(JupyterFormat.write(notebook, name: "n"))
        #expect(read.cells == notebook.cells && read.language == notebook.language, "seed \(seed)")
    }

    @Test(arguments: 0..<100)
    func html(seed: Int) throws {
        let notebook = Self.notebook(seed)
        let read = try HTMLFormat.read(HTMLFormat.write(notebook, name: "n <&> \"q\"", objectID: 7))
        #expect(read.cells == notebook.cells && read.language == notebook.language, "seed \(seed)")
    }

    @Test(arguments: 0..<100)
    func dbc(seed: Int) throws {
        let notebook = Self.notebook(seed)
        let model = NotebookV1.model(for: notebook, name: "n", objectID: 7)
        let items = try DBCArchive.read(
            DBCArchive.write([.folder(path: ["f"]), .notebook(folder: ["f"], name: "n", model: model)]),
            maximumSize: 1 << 20)
        guard case .notebook(let folder, let name, let readModel) = items.last else {
            Issue.record("no notebook")
            return
        }
        #expect(folder == ["f"] && name == "n")
        #expect(try NotebookV1.notebook(from: readModel).cells == notebook.cells, "seed \(seed)")
    }

    @Test(arguments: 0..<100)
    func rMarkdown(seed: Int) throws {
        let notebook = Self.notebook(seed, language: .r)
        let read = try RMarkdownFormat.read(String(decoding: RMarkdownFormat.write(notebook, name: "n"), as: UTF8.self))
        #expect(read.cells == notebook.cells, "seed \(seed)")
    }

    @Test func jsonTreeRoundTripsEscapesAndNumbers() throws {
        let text = #"{"b":[1,2.50,-3E+2,true,null],"a":"\u001b\n\"\\\/ é 🔥","c":{}}"#
        let tree = try JSONTree.parse(Array(text.utf8))
        #expect(String(decoding: tree.compactJSON(), as: UTF8.self) == #"{"b":[1,2.50,-3E+2,true,null],"a":"\u001B\n\"\\/ é 🔥","c":{}}"#)
        #expect(try JSONTree.parse(tree.compactJSON()) == tree)
        let pretty = String(decoding: tree.databricksNotebookJSON(), as: UTF8.self)
        #expect(pretty.contains(#""a": "\u001b\n\"\\/ é \uD83D\uDD25""#))
        #expect(pretty.hasPrefix("{\n \"a\""))
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "\"\\x\"", "01x", "\"\u{01}\"", String(repeating: "[", count: 600)])
    func invalidJSONIsRefused(text: String) {
        #expect(throws: JSONTreeError.self) { try JSONTree.parse(Array(text.utf8)) }
    }
}
