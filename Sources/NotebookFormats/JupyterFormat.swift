import KilnCore
/// The JUPYTER format: nbformat 4 `.ipynb` with Databricks' metadata (notebook-formats.md §3).
public enum JupyterFormat {
    static let notebookKey = "application/vnd.databricks.v1+notebook"
    static let cellKey = "application/vnd.databricks.v1+cell"

    /// Reads an `.ipynb`: Databricks exports of every era and plain Jupyter notebooks. The document is
    /// kept as the notebook's original.
    public static func read(_ bytes: [UInt8]) throws(NotebookFormatError) -> Notebook {
        let document: JSONTree
        do {
            document = try JSONTree.parse(bytes)
        } catch {
            throw .invalid(format: "JUPYTER", reason: error.description)
        }
        guard case .object = document, let cells = document["cells"]?.arrayValue else {
            throw .invalid(format: "JUPYTER", reason: "it has no 'cells' list.")
        }
        if let version = document["nbformat"]?.doubleValue, version < 4 {
            throw .invalid(format: "JUPYTER", reason: "nbformat \(Int(version)) is not supported; convert it to nbformat 4.")
        }
        let metadata = document["metadata"]
        let databricks = metadata?[notebookKey]
        let language = Self.language(databricks: databricks, metadata: metadata)
        var notebook = Notebook(language: language, cells: [], original: .jupyter(document))
        for (index, cell) in cells.enumerated() {
            let source = try sourceText(cell["source"], index: index)
            let cellMetadata = cell["metadata"]?[cellKey]
            let command: String
            switch cell["cell_type"]?.stringValue {
            case "markdown":
                command = CellKind.markdownCommand(source, sandbox: cellMetadata?["isMarkdownSandbox"]?.boolValue ?? false)
            case "code", "raw":
                command = source
            case let other:
                throw .invalid(format: "JUPYTER", reason: "cell \(index) has the unknown cell_type '\(other ?? "none")'.")
            }
            notebook.cells.append(
                Cell(
                    command: command,
                    title: cellMetadata?["title"]?.stringValue ?? "",
                    showTitle: cellMetadata?["showTitle"]?.boolValue ?? false))
        }
        if let environment = databricks?["environmentMetadata"], !environment.isNull {
            notebook.environmentLines = EnvironmentBlock.lines(fromMetadata: environment, comment: language.commentPrefix)
        }
        return notebook
    }

    /// Writes `notebook` named `name` as Databricks does: its original document (name updated) when it
    /// was imported from JUPYTER, otherwise one built from the cells. Either way
    /// `metadata.language_info.name` is the notebook's language in lower case, as Databricks exports it
    /// whatever the imported document said (databricks/cli `integration/libs/filer/filer_test.go`).
    public static func write(_ notebook: Notebook, name: String) -> [UInt8] {
        if case .jupyter(var document) = notebook.original {
            var metadata = document["metadata"].flatMap { $0.isObject ? $0 : nil } ?? .object([])
            if var databricks = metadata[notebookKey] {
                databricks.set("notebookName", .string(name))
                metadata.set(notebookKey, databricks)
            }
            var languageInfo = metadata["language_info"].flatMap { $0.isObject ? $0 : nil } ?? .object([])
            languageInfo.set("name", .string(NotebookV1.modelLanguage(notebook.language)))
            metadata.set("language_info", languageInfo)
            document.set("metadata", metadata)
            return document.databricksNotebookJSON()
        }
        return build(notebook, name: name).databricksNotebookJSON()
    }

    static func build(_ notebook: Notebook, name: String) -> JSONTree {
        let ids = notebook.ids ?? .random(cells: notebook.cells.count)
        let cells: [JSONTree] = notebook.cells.enumerated().map { index, cell in
            var metadata: [JSONTree.Member] = [
                .init("cellMetadata", .object([])), .init("inputWidgets", .object([])),
                .init("nuid", .string(ids.command(index))), .init("showTitle", .bool(cell.showTitle)),
                .init("tableResultSettingsMap", .object([])), .init("title", .string(cell.title)),
            ]
            switch CellKind(command: cell.command) {
            case .markdown(let text, let sandbox):
                if sandbox { metadata.append(.init("isMarkdownSandbox", .bool(true))) }
                return .object([
                    .init("cell_type", .string("markdown")),
                    .init("metadata", .object([.init(cellKey, .object(metadata))])),
                    .init("source", sourceLines(text)),
                ])
            case .code(let text):
                return .object([
                    .init("cell_type", .string("code")), .init("execution_count", .integer(0)),
                    .init("metadata", .object([.init(cellKey, .object(metadata))])),
                    .init("outputs", .array([])), .init("source", sourceLines(text)),
                ])
            }
        }
        let language = NotebookV1.modelLanguage(notebook.language)
        let environment =
            notebook.environmentLines.map {
                EnvironmentBlock.metadata(fromLines: $0, comment: notebook.language.commentPrefix)
            } ?? .null
        let databricks: JSONTree = .object([
            .init("computePreferences", .null), .init("dashboards", .array([])),
            .init("environmentMetadata", environment), .init("inputWidgetPreferences", .null),
            .init("language", .string(language)),
            .init("notebookMetadata", .object([.init("pythonIndentUnit", .integer(4))])),
            .init("notebookName", .string(name)), .init("widgets", .object([])),
        ])
        return .object([
            .init("cells", .array(cells)),
            .init(
                "metadata",
                .object([
                    .init(notebookKey, databricks), .init("language_info", .object([.init("name", .string(language))])),
                ])),
            .init("nbformat", .integer(4)), .init("nbformat_minor", .integer(0)),
        ])
    }

    /// nbformat's multiline string: split after every newline; empty text is `[]`.
    static func sourceLines(_ text: String) -> JSONTree {
        guard !text.isEmpty else { return .array([]) }
        var lines: [JSONTree] = []
        var current = ""
        for character in text.unicodeScalars {
            current.unicodeScalars.append(character)
            if character == "\n" {
                lines.append(.string(current))
                current = ""
            }
        }
        if !current.isEmpty { lines.append(.string(current)) }
        return .array(lines)
    }

    private static func sourceText(_ source: JSONTree?, index: Int) throws(NotebookFormatError) -> String {
        switch source {
        case nil, .null: return ""
        case .string(let text): return text
        case .array(let parts):
            var text = ""
            for part in parts {
                guard let line = part.stringValue else {
                    throw .invalid(format: "JUPYTER", reason: "cell \(index) has a source line that is not a string.")
                }
                text += line
            }
            return text
        default:
            throw .invalid(format: "JUPYTER", reason: "cell \(index) has an invalid source.")
        }
    }

    private static func language(databricks: JSONTree?, metadata: JSONTree?) -> NotebookLanguage {
        let candidates = [
            databricks?["language"]?.stringValue,
            metadata?["language_info"]?["name"]?.stringValue,
            metadata?["kernelspec"]?["language"]?.stringValue,
        ]
        for candidate in candidates.compactMap({ $0 }) {
            if let language = NotebookLanguage(rawValue: candidate.uppercased()) { return language }
        }
        return .python
    }
}
