// Times one notebook-format conversion of a ~10 MB notebook: `kiln-format-bench <case> [repeats]`.
// Prints the median milliseconds. Run by bench/formats.py, which also records each case's peak memory.
import Foundation
import NotebookFormats

let arguments = CommandLine.arguments
let caseName = arguments.count > 1 ? arguments[1] : "baseline"
let repeats = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5

/// About 10 MB of realistic Python cells (~1 KiB each), a markdown cell every tenth.
func makeNotebook() -> Notebook {
    var cells: [Cell] = []
    var size = 0
    var index = 0
    while size < 10 * 1024 * 1024 - 4096 {
        let command: String
        if index % 10 == 0 {
            command = "%md\n## Step \(index)\n\nThis step joins *orders* with **customers** and keeps the last 90 days. 🔥"
        } else {
            command =
                (0..<12).map { "df_\($0) = spark.range(1000).selectExpr('id', 'id * \($0) as scaled').filter('id % 7 = \(index % 7)')" }
                .joined(separator: "\n") + "\ndisplay(df_0)"
        }
        cells.append(Cell(command: command, title: index % 5 == 0 ? "Cell \(index)" : "", showTitle: index % 5 == 0))
        size += command.utf8.count + 30
        index += 1
    }
    return Notebook(language: .python, cells: cells)
}

let notebook = makeNotebook()
let name = "bench"
let rNotebook = Notebook(language: .r, cells: notebook.cells)

/// Each case prepares only its own input (outside the timing), so peak memory is the case's own.
let cases: [String: () throws -> () throws -> Int] = [
    "baseline": { { notebook.cells.count } },
    "source-read": {
        let text = SourceFormat.render(notebook)
        return { try SourceFormat.parse(text, language: .python).cells.count }
    },
    "source-write": { { SourceFormat.render(notebook).utf8.count } },
    "jupyter-read": {
        let bytes = JupyterFormat.write(notebook, name: name)
        return { try JupyterFormat.read(bytes).cells.count }
    },
    "jupyter-write": { { JupyterFormat.write(notebook, name: name).count } },
    "html-read": {
        let bytes = HTMLFormat.write(notebook, name: name, objectID: 1)
        return { try HTMLFormat.read(bytes).cells.count }
    },
    "html-write": { { HTMLFormat.write(notebook, name: name, objectID: 1).count } },
    "dbc-read": {
        let bytes = DBCArchive.write([.notebook(folder: [], name: name, model: NotebookV1.model(for: notebook, name: name, objectID: 1))])
        return { try DBCArchive.read(bytes, maximumSize: 200 << 20).count }
    },
    "dbc-write": { { DBCArchive.write([.notebook(folder: [], name: name, model: NotebookV1.model(for: notebook, name: name, objectID: 1))]).count } },
    "rmarkdown-read": {
        let text = String(decoding: RMarkdownFormat.write(rNotebook, name: name), as: UTF8.self)
        return { try RMarkdownFormat.read(text).cells.count }
    },
    "rmarkdown-write": { { RMarkdownFormat.write(rNotebook, name: name).count } },
]
guard let prepare = cases[caseName] else {
    print("unknown case \(caseName); cases: \(cases.keys.sorted().joined(separator: ", "))")
    exit(2)
}
let work = try prepare()
var times: [Double] = []
for _ in 0..<repeats {
    let start = ContinuousClock.now
    _ = try work()
    let elapsed = ContinuousClock.now - start
    times.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
}
times.sort()
print(String(format: "%.1f %d %d", times[times.count / 2], SourceFormat.render(notebook).utf8.count, notebook.cells.count))
