public import KilnCore
import Foundation
import Ink

/// The HTML format: a page carrying the `NotebookV1` model in `__DATABRICKS_NOTEBOOK_MODEL`
/// (notebook-formats.md §4), which Databricks imports, plus Kiln's own rendering of every cell so the
/// page reads well in a browser with no network access.
public enum HTMLFormat {
    static let marker = Array("var __DATABRICKS_NOTEBOOK_MODEL = ".utf8)

    /// The model embedded in a page, in the base64 form (since 2018) or the raw-JSON form (2016–2017).
    public static func model(fromPage bytes: [UInt8]) throws(NotebookFormatError) -> JSONTree {
        guard let start = firstIndex(of: marker, in: bytes) else {
            throw .invalid(format: "HTML", reason: "the page carries no __DATABRICKS_NOTEBOOK_MODEL.")
        }
        let valueStart = start + marker.count
        guard valueStart < bytes.count else { throw .invalid(format: "HTML", reason: "the model is empty.") }
        do {
            if bytes[valueStart] == UInt8(ascii: "'") {
                guard let end = bytes[(valueStart + 1)...].firstIndex(of: UInt8(ascii: "'")),
                    let percentEncoded = Data(base64Encoded: Data(bytes[(valueStart + 1)..<end])),
                    let json = PercentEncoding.decode(Array(percentEncoded))
                else {
                    throw NotebookFormatError.invalid(format: "HTML", reason: "the model is not valid base64 of an encoded JSON text.")
                }
                return try JSONTree.parse(json)
            }
            return try JSONTree.parsePrefix(Array(bytes[valueStart...])).0
        } catch let error as NotebookFormatError {
            throw error
        } catch {
            throw .invalid(format: "HTML", reason: "the model is not valid JSON (\(error)).")
        }
    }

    /// Reads the notebook of an exported page.
    public static func read(_ bytes: [UInt8]) throws(NotebookFormatError) -> Notebook {
        try NotebookV1.notebook(from: model(fromPage: bytes))
    }

    /// The page for `notebook` named `name`.
    public static func write(_ notebook: Notebook, name: String, objectID: Int64) -> [UInt8] {
        let model = NotebookV1.model(for: notebook, name: name, objectID: objectID)
        let encodedModel = Data(PercentEncoding.encodeURIComponent(model.compactJSON())).base64EncodedString()
        let parser = MarkdownParser()
        var cells = ""
        for cell in notebook.cells {
            cells += "<section class=\"cell\">\n"
            if !cell.title.isEmpty {
                cells += "<h3 class=\"cell-title\">\(escape(cell.title))</h3>\n"
            }
            switch CellKind(command: cell.command) {
            case .markdown(let text, _):
                cells += "<div class=\"markdown\">\n\(parser.html(from: text))\n</div>\n"
            case .code(let text):
                cells += "<pre class=\"code\"><code>\(escape(text))</code></pre>\n"
            }
            cells += "</section>\n"
        }
        let page = """
            <!DOCTYPE html>
            <html>
            <head>
              <meta name="databricks-html-version" content="1">
            <title>\(escape(name)) - Databricks</title>

            <meta charset="utf-8">
            <meta name="google" content="notranslate">
            <meta name="robots" content="nofollow">
            <meta http-equiv="Content-Language" content="en">
            <meta http-equiv="Content-Type" content="text/html; charset=UTF8">
            <style>
            body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; background: #f5f5f5; color: #1b1b1b; }
            main { max-width: 960px; margin: 0 auto; padding: 24px; }
            header h1 { font-size: 1.6em; margin: 0 0 4px; }
            header p { color: #666; margin: 0 0 20px; }
            .cell { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 0 0 14px; padding: 10px 14px; }
            .cell-title { font-size: 0.95em; margin: 0 0 8px; color: #333; }
            pre.code { margin: 0; overflow-x: auto; font: 13px/1.45 Menlo, Consolas, "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
            .markdown { line-height: 1.5; }
            .markdown pre, .markdown code { font-family: Menlo, Consolas, "DejaVu Sans Mono", monospace; background: #f3f3f3; }
            </style>
            <script>var __DATABRICKS_NOTEBOOK_MODEL = '\(encodedModel)';</script>
            </head>
            <body>
            <main>
            <header><h1>\(escape(name))</h1><p>\(notebook.language.rawValue.capitalized) notebook exported by Kiln</p></header>
            \(cells)</main>
            </body>
            </html>

            """
        return Array(page.utf8)
    }

    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = 0
        while index <= haystack.count - needle.count {
            guard let candidate = haystack[index...].firstIndex(of: first), candidate <= haystack.count - needle.count else {
                return nil
            }
            if haystack[candidate..<candidate + needle.count].elementsEqual(needle) { return candidate }
            index = candidate + 1
        }
        return nil
    }
}
