import Foundation
import Testing

@testable import NotebookFormats

@Suite struct SourceFormatTests {
    static let workedExample = Notebook(
        language: .python,
        cells: [
            Cell(command: "%md\n# Demo\n\nSome *text*"),
            Cell(command: "df = spark.range(3)\ndisplay(df)", title: "Load data", showTitle: true),
            Cell(command: "%sql\nSELECT 1 AS one"),
            Cell(command: "%run ./helpers"),
        ])

    @Test func rendersTheWorkedExampleExactly() throws {
        let expected = try Fixtures.text("worked-example/Demo.api-export.py")
        #expect(SourceFormat.render(Self.workedExample) == expected)
    }

    @Test func parsesTheWorkedExampleBack() throws {
        let text = try Fixtures.text("worked-example/Demo.api-export.py")
        #expect(try SourceFormat.parse(text, language: .python) == Self.workedExample)
    }

    /// The bytes of a text parse as the text does; bytes that are not UTF-8 give nil, even inside a cell.
    @Test func parsesUTF8BytesAsTheirText() throws {
        let text = try Fixtures.text("worked-example/Demo.api-export.py")
        #expect(try SourceFormat.parse(utf8: Array(text.utf8), language: .python) == Self.workedExample)
        let crlf = "\u{FEFF}# Databricks notebook source\r\nx = 'é'\r\n\r\n# COMMAND ----------\r\n\r\ny"
        #expect(try SourceFormat.parse(utf8: Array(crlf.utf8), language: .python) == SourceFormat.parse(crlf, language: .python))
        #expect(try SourceFormat.parse(utf8: Array(crlf.utf8), language: .python)?.cells.count == 2)
        #expect(try SourceFormat.parse(utf8: Array("# Databricks notebook source\nx = '".utf8) + [0xE9, 0x27], language: .python) == nil)
        #expect(throws: NotebookFormatError.languageMismatch(declared: .python, headerPrefix: "--")) {
            try SourceFormat.parse(utf8: Array("-- Databricks notebook source\nSELECT 1".utf8), language: .python)
        }
    }

    /// Cells, titles and environment lines made from bytes (without validating each again) are the text's,
    /// whether the bytes are all ASCII or not.
    @Test func cellsMadeFromBytesAreTheirText() throws {
        let text = "# Databricks notebook source\n# /// script\n# ü\n# ///\nx = 'é'\n\n# COMMAND ----------\n\n# DBTITLE 1,Über 日本\nprint(\"🔥\")"
        let notebook = try #require(try SourceFormat.parse(utf8: Array(text.utf8), language: .python))
        #expect(notebook == (try SourceFormat.parse(text, language: .python)))
        #expect(notebook.cells.map(\.command) == ["x = 'é'", "print(\"🔥\")"] && notebook.cells.map(\.command.count) == [7, 10])
        #expect(notebook.cells[1].title == "Über 日本" && notebook.cells[1].title.count == 7)
        #expect(notebook.environmentLines == ["# /// script", "# ü", "# ///"])
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(try SourceFormat.parse(utf8: Array(crlf.utf8), language: .python) == notebook)
        let asciiText = "# Databricks notebook source\nx = 1\n\n# COMMAND ----------\n\ny"
        let ascii = try #require(try SourceFormat.parse(utf8: Array(asciiText.utf8), language: .python))
        #expect(ascii.cells.map(\.command) == ["x = 1", "y"] && ascii.cells.map(\.command.unicodeScalars.count) == [5, 1])
    }

    /// What the header line may end with, and what the cells are then, on both entries (text and bytes).
    @Test(arguments: [
        ("# Databricks notebook source\r\r\nx = 1", ["x = 1"]),
        ("\u{FEFF}# Databricks notebook source\r\nx = 1\r\n", ["x = 1"]),
        ("# Databricks notebook source exported at 2016-05-11 10:00:00 UTC\nx", ["x"]),
        ("# Databricks notebook source", [""]),
        ("# Databricks notebook source\n", [""]),
        ("x = 1\n", ["x = 1"]),
        ("", [""]),
    ])
    func headerLinesAndTheirEnds(text: String, commands: [String]) throws {
        #expect(try SourceFormat.parse(text, language: .python).cells.map(\.command) == commands)
        #expect(try SourceFormat.parse(utf8: Array(text.utf8), language: .python)?.cells.map(\.command) == commands)
    }

    /// The header a first line names, read from its bytes as from its text: the ASCII lines from the bytes
    /// alone, with every ending of carriage returns; the others (a combining mark) as text.
    @Test(
        arguments: [
            ("# Databricks notebook source", "#"), ("# Databricks notebook source\r\r\nx", "#"),
            ("# Databricks notebook source\r\r\r\nx", nil), ("-- Databricks notebook source\r", "--"),
            ("# Databricks notebook source \nx", nil), ("\u{FEFF}// Databricks notebook source exported at 2016\nx", "//"),
            ("# Databricks notebook source\u{301}\nx", nil), ("# Databricks notebook source exported at \u{301}x\n", nil),
            ("\u{FEFF}\u{FEFF}# Databricks notebook source\nx", nil), ("\r\n# Databricks notebook source", nil),
            ("#  Databricks notebook source\nx", nil), ("# Databricks notebook source\r\r", nil),
            ("\u{FEFF}# Databricks notebook source\r\nx", "#"),
        ] as [(String, String?)])
    func headerFromBytesIsTheHeaderFromText(text: String, prefix: String?) {
        let bytes = Array(text.utf8)
        let firstLine = bytes[..<(bytes.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.endIndex)]
        #expect(SourceFormat.headerCommentPrefix(ofFirstLine: firstLine) == prefix)
        #expect(SourceFormat.headerCommentPrefix(of: String(decoding: firstLine, as: UTF8.self)) == prefix)
    }

    @Test func gitFolderFileLosesOnlyItsFinalNewline() throws {
        let text = try Fixtures.text("worked-example/Demo.gitfolder.py")
        #expect(try SourceFormat.parse(text, language: .python) == Self.workedExample)
    }

    @Test(arguments: [
        (NotebookLanguage.python, "# Databricks notebook source"),
        (.r, "# Databricks notebook source"),
        (.scala, "// Databricks notebook source"),
        (.sql, "-- Databricks notebook source"),
    ])
    func headerPerLanguage(language: NotebookLanguage, header: String) {
        #expect(SourceFormat.header(for: language) == header)
        #expect(SourceFormat.render(Notebook(language: language, cells: [Cell(command: "x")])) == header + "\nx")
    }

    @Test func magicCellsDropTrailingNewlinesButCodeCellsKeepThem() {
        let notebook = Notebook(language: .sql, cells: [Cell(command: "%md\nhi\n\n"), Cell(command: "SELECT 1\n")])
        #expect(SourceFormat.render(notebook) == "-- Databricks notebook source\n-- MAGIC %md\n-- MAGIC hi\n\n-- COMMAND ----------\n\nSELECT 1\n")
    }

    @Test func magicWithLeadingBlankLinesIsStillMagic() {
        let notebook = Notebook(language: .python, cells: [Cell(command: "\n  %md\nx")])
        #expect(SourceFormat.render(notebook) == "# Databricks notebook source\n# MAGIC\n# MAGIC   %md\n# MAGIC x")
    }

    /// `isMagic` reads bytes while it can; these are the cases where bytes and Characters could differ.
    @Test(arguments: [
        ("%md", true), ("  %sql", true), ("\r\n\t%run x", true), ("%", true), ("%\u{301}md", false),
        (" \u{301}%md", true), ("\u{A0}%md", true), ("\u{85}%md", true), ("\u{2003}%md", true), ("x%md", false),
        ("é%md", false), ("", false), (" \n ", false), ("\u{1C}%md", false), ("🔥", false),
    ])
    func magicIsTheFirstNonWhitespaceCharacter(command: String, isMagic: Bool) {
        #expect(Cell(command: command).isMagic == isMagic)
        #expect(Cell(command: command).isMagic == (command.first(where: { !$0.isWhitespace }) == "%"))
    }

    @Test func hiddenTitleUsesDbtitleZero() throws {
        let text = "// Databricks notebook source\n// DBTITLE 0,--i18n-123\n// MAGIC %md\n// MAGIC t"
        let notebook = try SourceFormat.parse(text, language: .scala)
        #expect(notebook.cells == [Cell(command: "%md\nt", title: "--i18n-123", showTitle: false)])
        #expect(SourceFormat.render(notebook) == text)
    }

    @Test func legacyMagicStyleIsKept() throws {
        let text = "// Databricks notebook source\n// MAGIC %md\n// MAGIC \n// MAGIC x"
        let notebook = try SourceFormat.parse(text, language: .scala)
        #expect(notebook.magicStyle == .legacy)
        #expect(notebook.cells[0].command == "%md\n\nx")
        #expect(SourceFormat.render(notebook) == text)
    }

    @Test func crlfAndBomAndLegacyHeaderAreAccepted() throws {
        let text = "\u{FEFF}# Databricks notebook source exported at Sun, 26 Jun 2016 01:44:37 UTC\r\nx = 1\r\n\r\n# COMMAND ----------\r\n\r\ny = 2\r\n"
        let notebook = try SourceFormat.parse(text, language: .r)
        #expect(notebook.cells.map(\.command) == ["x = 1", "y = 2"])
    }

    @Test func emptyCellsSurvive() throws {
        let text = "-- Databricks notebook source\nSELECT 1\n\n-- COMMAND ----------\n\n"
        let notebook = try SourceFormat.parse(text, language: .sql)
        #expect(notebook.cells.map(\.command) == ["SELECT 1", ""])
        #expect(SourceFormat.render(notebook) == text)
    }

    @Test func bodyWithoutHeaderIsTheCells() throws {
        let notebook = try SourceFormat.parse("import time\ntime.sleep(10)", language: .python)
        #expect(notebook.cells == [Cell(command: "import time\ntime.sleep(10)")])
    }

    @Test func headerOfAnotherLanguageIsRefused() {
        #expect(throws: NotebookFormatError.languageMismatch(declared: .python, headerPrefix: "//")) {
            try SourceFormat.parse("// Databricks notebook source\nval x = 1", language: .python)
        }
    }

    @Test func environmentBlockIsKeptBeforeTheFirstCell() throws {
        let text = "# Databricks notebook source\n# /// script\n# [tool.databricks.environment]\n# environment_version = \"5\"\n# ///\n# MAGIC %md\n# MAGIC hi"
        let notebook = try SourceFormat.parse(text, language: .python)
        #expect(notebook.environmentLines?.count == 4)
        #expect(notebook.cells == [Cell(command: "%md\nhi")])
        #expect(SourceFormat.render(notebook) == text)
    }

    @Test(arguments: [("py", true), ("r", true), ("R", true), ("scala", false), ("txt", false)])
    func autoDetectionNeedsTheExtensionsHeader(ext: String, isNotebook: Bool) {
        #expect(SourceFormat.isNotebook("# Databricks notebook source\nx", fileExtension: ext) == isNotebook)
    }
}
