import Foundation
import NotebookFormats
import Testing

/// Invariant 1 of notebook-formats.md §8 on every real SOURCE export: parse then render gives the file
/// back, except the final newline of Git-folder files and the 2016 `exported at` header suffix.
@Suite struct SourceFixtureTests {
    /// Edited by hand on GitHub, so not Databricks' own bytes (SOURCES.md); checked on cells instead.
    static let handEdited: Set<String> = ["jaceklaskowski__MLflow_and_crewAI__2026-envblock.py"]

    @Test func fixturesArePresent() {
        #expect(Fixtures.sourceFiles().count >= 9)
    }

    @Test(arguments: Fixtures.sourceFiles())
    func roundTripsByteForByte(name: String) throws {
        let text = try Fixtures.text("source/\(name)")
        let ext = String(name.split(separator: ".").last!)
        let language = try #require(NotebookLanguage(sourceFileExtension: ext))
        #expect(SourceFormat.isNotebook(text, fileExtension: ext))
        let notebook = try SourceFormat.parse(text, language: language)
        let rendered = SourceFormat.render(notebook)
        if Self.handEdited.contains(name) {
            #expect(try SourceFormat.parse(rendered, language: language).cells.count == notebook.cells.count)
            return
        }
        var expected = text
        if name.contains("gitfolder") { expected.removeLast() }
        if let range = expected.range(of: " exported at "), let end = expected.firstIndex(of: "\n"), range.lowerBound < end {
            expected.removeSubrange(range.lowerBound..<end)
        }
        #expect(rendered == expected)
    }
}
