import Foundation
import KilnCore
import Testing
@testable import NotebookFormats

/// JUPYTER, HTML and DBC against the real Databricks exports (notebook-formats.md §8 invariants 3–5).
@Suite struct RichFormatFixtureTests {
    static func files(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: Fixtures.root.appendingPathComponent(folder).path)) ?? []).sorted()
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Fixtures.root.appendingPathComponent(path)))
    }

    /// The parameterised tests below would pass with no cases if the fixtures went missing.
    @Test func fixturesArePresent() {
        #expect(Self.files("jupyter").filter { $0.hasSuffix(".ipynb") }.count >= 7)
        #expect(Self.files("jupyter").filter { $0.hasPrefix("jaceklaskowski__") }.count >= 5)
        #expect(Self.files("html").filter { $0.hasSuffix(".html") }.count >= 8)
        #expect(Self.files("dbc").filter { $0.hasSuffix(".dbc") }.count >= 4)
    }

    /// Byte for byte, but for `language_info`, which today's exports always carry: an export from before
    /// 2024 without it gains `{"name": "<language>"}` and nothing else.
    @Test(arguments: files("jupyter").filter { $0.hasPrefix("jaceklaskowski__") })
    func databricksIpynbIsWrittenBackByteForByte(name: String) throws {
        let original = try Self.bytes("jupyter/\(name)")
        let notebook = try JupyterFormat.read(original)
        var document = try JSONTree.parse(original)
        let notebookName = document["metadata"]?[JupyterFormat.notebookKey]?["notebookName"]?.stringValue ?? ""
        var expected = original
        if document["metadata"]?["language_info"] == nil {
            #expect(name.contains("no-language_info"))
            var metadata = try #require(document["metadata"])
            metadata.set("language_info", .object([.init("name", .string(notebook.language.rawValue.lowercased()))]))
            document.set("metadata", metadata)
            expected = document.databricksNotebookJSON()
        }
        #expect(JupyterFormat.write(notebook, name: notebookName) == expected)
    }

    @Test(arguments: [
        (#"{"cells":[],"metadata":{"kernelspec":{"language":"R"},"language_info":{"name":"R"}},"nbformat":4}"#, "r"),
        (#"{"cells":[{"cell_type":"code","source":"1","metadata":{}}],"nbformat":4,"nbformat_minor":5}"#, "python"),
        (#"{"cells":[],"metadata":{"kernelspec":{"language":"scala"}},"nbformat":4}"#, "scala"),
    ])
    func jupyterExportsNameTheLanguageInLowerCase(document: String, language: String) throws {
        let notebook = try JupyterFormat.read(Array(document.utf8))
        let exported = try JSONTree.parse(JupyterFormat.write(notebook, name: "n"))
        #expect(exported["metadata"]?["language_info"]?["name"] == .string(language))
    }

    @Test(arguments: files("jupyter"))
    func everyIpynbReadsAndKeepsItsCells(name: String) throws {
        let notebook = try JupyterFormat.read(try Self.bytes("jupyter/\(name)"))
        #expect(!notebook.cells.isEmpty)
        let rebuilt = try JupyterFormat.read(JupyterFormat.build(notebook, name: "x").databricksNotebookJSON())
        #expect(rebuilt.cells == notebook.cells)
        #expect(rebuilt.language == notebook.language)
    }

    @Test func languageComesFromKernelMetadata() throws {
        let sql = try JupyterFormat.read(try Self.bytes("jupyter/jaceklaskowski__RAG__sql-language.ipynb"))
        #expect(sql.language == .sql)
        let plain = try JupyterFormat.read(
            Array(#"{"cells":[{"cell_type":"code","source":"1+1","metadata":{}}],"metadata":{"kernelspec":{"language":"R"}},"nbformat":4}"#.utf8))
        #expect(plain.language == .r && plain.cells == [Cell(command: "1+1")])
    }

    @Test func sourceToJupyterMatchesDatabricksOwnConversion() throws {
        let source = try Fixtures.text("source/jaceklaskowski__MLflow_and_crewAI__2026-envblock.py")
        let databricks = try JSONTree.parse(try Self.bytes("jupyter/jaceklaskowski__MLflow_and_crewAI__2026-gitfolder.ipynb"))
        let mine = JupyterFormat.build(try SourceFormat.parse(source, language: .python), name: "MLflow and crewAI")
        func key(_ cell: JSONTree) -> [String] {
            let meta = cell["metadata"]?[JupyterFormat.cellKey]
            let lines = cell["source"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return [
                cell["cell_type"]?.stringValue ?? "", lines.joined(), meta?["title"]?.stringValue ?? "",
                String(meta?["showTitle"]?.boolValue ?? false),
            ]
        }
        #expect(mine["cells"]?.arrayValue?.map(key) == databricks["cells"]?.arrayValue?.map(key))
        #expect(
            mine["metadata"]?[JupyterFormat.notebookKey]?["environmentMetadata"]
                == .object([.init("environment_version", .string("5"))]))
    }

    @Test(arguments: files("html"))
    func htmlModelsDecodeAndReEncodeExactly(name: String) throws {
        let page = try Self.bytes("html/\(name)")
        let model = try HTMLFormat.model(fromPage: page)
        #expect(model["version"]?.stringValue == "NotebookV1")
        let text = String(decoding: page, as: UTF8.self)
        if let start = text.range(of: "__DATABRICKS_NOTEBOOK_MODEL = '") {
            let encoded = text[start.upperBound...].prefix { $0 != "'" }
            let mine = Data(PercentEncoding.encodeURIComponent(model.compactJSON())).base64EncodedString()
            #expect(mine == String(encoded))
        }
        _ = try HTMLFormat.read(page)
    }

    /// The paired CLI SOURCE exports equal the SOURCE rendering of the HTML model of the same day.
    @Test(arguments: [
        ("lamastex__002_01_multiLingualNotebooks__2021-cli-export.scala", "lamastex__002_01_multiLingualNotebooks__2021-base64.html"),
        ("lamastex__007g_PivotInSQL__2021-cli-export.sql", "lamastex__007g_PivotInSQL__2021-base64.html"),
        ("lamastex__01_privacyPreservingDataScience__2021-cli-export-dbtitle.scala", "lamastex__01_privacyPreservingDataScience__2021-base64-dbtitle.html"),
        ("lamastex__01b_show_data__2021-cli-export-run.scala", "lamastex__01b_show_data__2021-base64-run-script-subcommands.html"),
    ])
    func htmlModelRendersToThePairedSourceExport(source: String, html: String) throws {
        var notebook = try HTMLFormat.read(try Self.bytes("html/\(html)"))
        notebook.magicStyle = .legacy
        #expect(SourceFormat.render(notebook) == (try Fixtures.text("source/\(source)")))
    }

    @Test(arguments: files("dbc"))
    func dbcEntriesReSerialiseByteForByte(name: String) throws {
        let archive = try Self.bytes("dbc/\(name)")
        // ZIPFoundation yields no content for folder entries (`dir/`); only their paths matter.
        for (path, data) in try ZipContainer.entries(archive, maximumSize: 64 << 20) where !path.hasSuffix("/") {
            #expect(try JSONTree.parse(data).compactJSON() == data, "\(path)")
        }
        let items = try DBCArchive.read(archive, maximumSize: 64 << 20)
        let notebooks = items.compactMap { item -> JSONTree? in
            if case .notebook(_, _, let model) = item { return model }
            return nil
        }
        #expect(!notebooks.isEmpty)
        for model in notebooks {
            let notebook = try NotebookV1.notebook(from: model)
            #expect(NotebookV1.model(for: notebook, name: model["name"]?.stringValue ?? "", objectID: 1) == model)
        }
        #expect(try DBCArchive.read(DBCArchive.write(items), maximumSize: 64 << 20) == items)
    }

    @Test func dbcCellsFollowPositionNotArrayOrder() throws {
        let items = try DBCArchive.read(try Self.bytes("dbc/databricks-LearningSparkV2__LearningSparkv2__2021-nested.dbc"), maximumSize: 64 << 20)
        for case .notebook(_, _, let model) in items {
            let notebook = try NotebookV1.notebook(from: model)
            let positions = (model["commands"]?.arrayValue ?? [])
                .filter { ($0["subtype"]?.stringValue ?? "command") == "command" }
                .sorted { ($0["position"]?.doubleValue ?? 0) < ($1["position"]?.doubleValue ?? 0) }
                .compactMap { $0["command"]?.stringValue }
            #expect(notebook.cells.map(\.command) == positions)
        }
    }

    @Test func workedExampleInEveryFormat() throws {
        let notebook = SourceFormatTests.workedExample
        let jupyter = try JupyterFormat.read(JupyterFormat.write(notebook, name: "Demo"))
        #expect(jupyter.cells == notebook.cells)
        let html = try HTMLFormat.read(HTMLFormat.write(notebook, name: "Demo", objectID: 1))
        #expect(html.cells == notebook.cells)
        let dbc = try DBCArchive.read(
            DBCArchive.write([
                .notebook(
                    folder: [], name: "Demo",
                    model: NotebookV1.model(for: notebook, name: "Demo", objectID: 1))
            ]), maximumSize: 1 << 20)
        guard case .notebook(_, let name, let model) = dbc.first else {
            Issue.record("no notebook")
            return
        }
        #expect(name == "Demo")
        #expect(try NotebookV1.notebook(from: model).cells == notebook.cells)
    }

    @Test func javaDoubles() {
        #expect(JavaDouble.string(1) == "1.0")
        #expect(JavaDouble.string(2.5) == "2.5")
        #expect(JavaDouble.string(110017465) == "1.10017465E8")
        #expect(JavaDouble.string(29932496) == "2.9932496E7")
        #expect(JavaDouble.string(0.0001) == "1.0E-4")
        #expect(JavaDouble.string(1e7) == "1.0E7")
    }
}
