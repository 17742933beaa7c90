import NotebookFormats
import Testing

/// Invariant 2 of notebook-formats.md §8 on generated notebooks: reading a SOURCE rendering gives the
/// same cells back whenever no magic cell ends with a newline and the last cell does not end with one
/// (a file's final newline is dropped on import, §8).
@Suite struct SourceRoundTripPropertyTests {
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let fragments = [
        "x = 1", "print('zażółć 🔥')", "", "  indented", "SELECT * FROM t", "# comment", "// slashes", "-- dashes",
        "%md", "%sql", "%md-sandbox", "%pip install x", "%run ./other", "trailing space ", "\ttab", "日本語",
        "COMMAND ---------- not a separator", "MAGIC in text",
    ]

    static func randomNotebook(seed: UInt64) -> Notebook {
        var random = SeededGenerator(state: seed)
        let language = NotebookLanguage.allCases.randomElement(using: &random)!
        let cells = (0..<Int.random(in: 1...6, using: &random)).map { _ -> Cell in
            var lines = (0..<Int.random(in: 1...5, using: &random)).map { _ in fragments.randomElement(using: &random)! }
            let magic = Bool.random(using: &random)
            if magic { lines.insert(["%md", "%sql", "%python", "%sh"].randomElement(using: &random)!, at: 0) }
            var command = lines.joined(separator: "\n")
            if magic {
                while command.hasSuffix("\n") { command.removeLast() }
            } else if command.hasPrefix("%") || command.drop(while: \.isWhitespace).hasPrefix("%") {
                command = "x" + command
            }
            let title = Bool.random(using: &random) ? ["Title", "Ünïcode title", "a,b"].randomElement(using: &random)! : ""
            return Cell(command: command, title: title, showTitle: !title.isEmpty && Bool.random(using: &random))
        }
        var notebook = Notebook(language: language, cells: cells)
        while notebook.cells[notebook.cells.count - 1].command.hasSuffix("\n") {
            notebook.cells[notebook.cells.count - 1].command.removeLast()
        }
        return notebook
    }

    @Test func theFilesFinalNewlineIsTheOneDocumentedLoss() throws {
        let notebook = Notebook(language: .python, cells: [Cell(command: "a\n"), Cell(command: "b\n")])
        let parsed = try SourceFormat.parse(SourceFormat.render(notebook), language: .python)
        #expect(parsed.cells.map(\.command) == ["a\n", "b"])
    }

    @Test(arguments: 0..<200)
    func parseOfRenderIsIdentity(seed: Int) throws {
        let notebook = Self.randomNotebook(seed: UInt64(seed))
        let parsed = try SourceFormat.parse(SourceFormat.render(notebook), language: notebook.language)
        #expect(parsed.cells == notebook.cells, "seed \(seed)")
    }

    /// The size a workspace object reports is counted without rendering; it must be the rendering's length,
    /// with an environment block and both MAGIC styles too.
    @Test(arguments: 0..<200)
    func renderedSizeIsTheRenderingsLength(seed: Int) {
        var notebook = Self.randomNotebook(seed: UInt64(seed))
        if seed % 2 == 1 { notebook.magicStyle = .legacy }
        if seed % 3 == 0 { notebook.environmentLines = ["# Databricks notebook environment", "# ü"] }
        #expect(SourceFormat.renderedSize(notebook) == SourceFormat.render(notebook).utf8.count, "seed \(seed)")
    }
}
