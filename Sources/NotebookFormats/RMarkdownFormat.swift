import Foundation

/// R_MARKDOWN for R notebooks. Databricks has never published this layout (notebook-formats.md §6), so
/// Kiln chooses one: markdown cells as text, other cells as fenced chunks named by language
/// (```` ```{r} ````, ```` ```{python} ```` …), a cell title as the chunk option `title="…"`, and
/// `<!-- cell -->` between two markdown cells in a row. Reading it back gives the same cells.
public enum RMarkdownFormat {
    static let cellSeparator = "<!-- cell -->"
    static let chunkLanguages: [String: String] = ["%python": "python", "%py": "python", "%sql": "sql", "%scala": "scala", "%sh": "bash", "%r": "r"]

    public static func write(_ notebook: Notebook, name: String) -> [UInt8] {
        var blocks: [String] = ["---\ntitle: \"\(name.replacingQuotes())\"\noutput: html_document\n---"]
        var previousWasMarkdown = false
        for cell in notebook.cells {
            let kind = CellKind(command: cell.command)
            if case .markdown(let text, let sandbox) = kind, !sandbox, cell.title.isEmpty, !text.contains("```"),
                !text.contains(cellSeparator), cell.command.hasPrefix("%md\n")
            {
                if previousWasMarkdown { blocks.append(cellSeparator) }
                blocks.append(text)
                previousWasMarkdown = true
                continue
            }
            previousWasMarkdown = false
            switch kind {
            default:
                var engine = "r"
                var body = cell.command
                let firstLine = body.prefix { $0 != "\n" }
                if let mapped = chunkLanguages[String(firstLine)] {
                    engine = mapped
                    body = String(body.dropFirst(firstLine.count + 1))
                }
                let options = cell.title.isEmpty ? "" : ", title=\"\(cell.title.replacingQuotes())\"" + (cell.showTitle ? "" : ", show_title=FALSE")
                blocks.append("```{\(engine)\(options)}\n" + (body.isEmpty ? "" : body + "\n") + "```")
            }
        }
        return Array((blocks.joined(separator: "\n\n") + "\n").utf8)
    }

    public static func read(_ text: String) throws(NotebookFormatError) -> Notebook {
        var lines = text.replacingCRLF().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.first == "---", let end = lines.dropFirst().firstIndex(of: "---") {
            lines.removeSubrange(0...end)
        }
        var cells: [Cell] = []
        var markdown: [String] = []
        // Blocks are joined by one blank line: drop exactly that line on each side of a markdown block.
        func flushMarkdown() {
            var block = markdown[...]
            if block.first?.isEmpty == true { block = block.dropFirst() }
            if block.last?.isEmpty == true { block = block.dropLast() }
            if !block.isEmpty { cells.append(Cell(command: "%md\n" + block.joined(separator: "\n"))) }
            markdown = []
        }
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if line == cellSeparator {
                flushMarkdown()
                index += 1
                continue
            }
            guard line.hasPrefix("```{"), line.hasSuffix("}") else {
                markdown.append(line)
                index += 1
                continue
            }
            flushMarkdown()
            guard let end = lines[(index + 1)...].firstIndex(of: "```") else {
                throw .invalid(format: "R_MARKDOWN", reason: "the chunk starting at line \(index + 1) is not closed.")
            }
            let header = line.dropFirst(4).dropLast()
            let engine = String(header.prefix { $0 != "," && $0 != " " }).lowercased()
            let body = lines[(index + 1)..<end].joined(separator: "\n")
            var cell = Cell(command: body)
            if let magic = chunkLanguages.first(where: { $0.value == engine && $0.key != "%py" })?.key, engine != "r" {
                cell.command = body.isEmpty ? magic : magic + "\n" + body
            }
            if let title = option("title", in: header) {
                cell.title = title
                cell.showTitle = option("show_title", in: header) == nil
            }
            cells.append(cell)
            index = end + 1
        }
        flushMarkdown()
        return Notebook(language: .r, cells: cells.isEmpty ? [Cell(command: "")] : cells)
    }

    private static func option(_ name: String, in header: Substring) -> String? {
        guard let range = header.range(of: "\(name)=") else { return nil }
        let rest = header[range.upperBound...]
        if rest.first == "\"" {
            return String(rest.dropFirst().prefix { $0 != "\"" })
        }
        return String(rest.prefix { $0 != "," && $0 != " " })
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        String(self.map { $0 == "\"" ? "'" : $0 })
    }

    fileprivate func replacingCRLF() -> String {
        split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
    }
}
