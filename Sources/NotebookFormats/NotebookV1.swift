public import KilnCore
/// The `NotebookV1` model that DBC archives and HTML exports carry (notebook-formats.md §4.3).
public enum NotebookV1 {
    /// The lower-case language names the model uses.
    static func modelLanguage(_ language: NotebookLanguage) -> String { language.rawValue.lowercased() }

    /// Reads a model: its `command` cells in `position` order (`%run` script sub-commands are not
    /// cells). The model is kept as the notebook's original.
    public static func notebook(from model: JSONTree) throws(NotebookFormatError) -> Notebook {
        guard model["version"]?.stringValue == "NotebookV1" else {
            throw .invalid(format: "NotebookV1", reason: "the model's version is not NotebookV1.")
        }
        guard let languageName = model["language"]?.stringValue,
            let language = NotebookLanguage(rawValue: languageName.uppercased())
        else {
            throw .invalid(format: "NotebookV1", reason: "the model has no known language.")
        }
        guard model["commands"]?.arrayValue != nil else {
            throw .invalid(format: "NotebookV1", reason: "the model has no commands.")
        }
        var cells: [Cell] = []
        for (index, command) in cellCommands(of: model).enumerated() {
            guard let text = command["command"]?.stringValue else {
                throw .invalid(format: "NotebookV1", reason: "command \(index) has no text.")
            }
            cells.append(
                Cell(
                    command: text,
                    title: command["commandTitle"]?.stringValue ?? "",
                    showTitle: command["showCommandTitle"]?.boolValue ?? false))
        }
        var notebook = Notebook(language: language, cells: cells, original: .notebookV1(model))
        if let environment = model["environmentMetadata"], !environment.isNull {
            notebook.environmentLines = EnvironmentBlock.lines(fromMetadata: environment, comment: language.commentPrefix)
        }
        return notebook
    }

    /// The model's cells: its `command` entries (not `%run` script sub-commands) in `position` order,
    /// array order breaking ties (DBC arrays are not stored in order).
    static func cellCommands(of model: JSONTree) -> [JSONTree] {
        let commands = (model["commands"]?.arrayValue ?? []).enumerated().filter { _, command in
            (command["subtype"]?.stringValue ?? "command") == "command"
        }
        return commands.sorted { a, b in
            (a.element["position"]?.doubleValue ?? Double(a.offset), a.offset) < (b.element["position"]?.doubleValue ?? Double(b.offset), b.offset)
        }.map(\.element)
    }

    /// The model of `notebook` named `name`: its original with the name updated when it came from a
    /// DBC or HTML export, otherwise one built from the cells.
    public static func model(for notebook: Notebook, name: String, objectID: Int64) -> JSONTree {
        if case .notebookV1(var model) = notebook.original {
            model.set("name", .string(name))
            return model
        }
        let ids = notebook.ids ?? .random(cells: notebook.cells.count)
        let commands: [JSONTree] = notebook.cells.enumerated().map { index, cell in
            command(
                cell, position: Double(index + 1), objectID: objectID + Int64(index) + 1,
                guid: ids.commandGUID(index), nuid: ids.command(index))
        }
        let environment =
            notebook.environmentLines.map {
                EnvironmentBlock.metadata(fromLines: $0, comment: notebook.language.commentPrefix)
            } ?? .null
        return .object([
            .init("version", .string("NotebookV1")),
            .init("origId", .integer(objectID)),
            .init("name", .string(name)),
            .init("language", .string(modelLanguage(notebook.language))),
            .init("commands", .array(commands)),
            .init("dashboards", .array([])),
            .init("guid", .string(ids.notebook)),
            .init("globalVars", .object([])),
            .init("iPythonMetadata", .null),
            .init("inputWidgets", .object([])),
            .init("notebookMetadata", .object([.init("pythonIndentUnit", .integer(4))])),
            .init("reposExportFormat", .string(notebook.nativeFormat.rawValue)),
            .init("environmentMetadata", environment),
        ])
    }

    static func command(_ cell: Cell, position: Double, objectID: Int64, guid: String, nuid: String) -> JSONTree {
        .object([
            .init("version", .string("CommandV1")),
            .init("origId", .integer(objectID)),
            .init("guid", .string(guid)),
            .init("subtype", .string("command")),
            .init("commandType", .string("auto")),
            .init("position", .double(position)),
            .init("command", .string(cell.command)),
            .init("commandVersion", .integer(1)),
            .init("state", .string("input")),
            .init("results", .null),
            .init("resultDbfsStatus", .string("INLINED_IN_TREE")),
            .init("resultDbfsErrorMessage", .null),
            .init("errorSummary", .null),
            .init("errorTraceType", .null),
            .init("error", .null),
            .init("errorDetails", .null),
            .init("baseErrorDetails", .null),
            .init("workflows", .array([])),
            .init("startTime", .integer(0)),
            .init("submitTime", .integer(0)),
            .init("finishTime", .integer(0)),
            .init("collapsed", .bool(false)),
            .init("bindings", .object([])),
            .init("inputWidgets", .object([])),
            .init("displayType", .string("table")),
            .init("width", .string("auto")),
            .init("height", .string("auto")),
            .init("xColumns", .null),
            .init("yColumns", .null),
            .init("pivotColumns", .null),
            .init("pivotAggregation", .null),
            .init("useConsistentColors", .bool(false)),
            .init("customPlotOptions", .object([])),
            .init("commentThread", .array([])),
            .init("commentsVisible", .bool(false)),
            .init("parentHierarchy", .array([])),
            .init("diffInserts", .array([])),
            .init("diffDeletes", .array([])),
            .init("globalVars", .object([])),
            .init("latestUser", .string("a user")),
            .init("latestUserId", .null),
            .init("commandTitle", .string(cell.title)),
            .init("showCommandTitle", .bool(cell.showTitle)),
            .init("hideCommandCode", .bool(false)),
            .init("hideCommandResult", .bool(false)),
            .init("isLockedInExamMode", .bool(false)),
            .init("iPythonMetadata", .null),
            .init("metadata", .object([])),
            .init("streamStates", .object([])),
            .init("datasetPreviewNameToCmdIdMap", .object([])),
            .init("tableResultIndex", .null),
            .init("listResultMetadata", .array([])),
            .init("subcommandOptions", .null),
            .init("contentSha256Hex", .null),
            .init("nuid", .string(nuid)),
        ])
    }
}
