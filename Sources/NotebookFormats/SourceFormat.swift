/// The SOURCE format: a header comment line, then the cells joined by `COMMAND ----------` lines,
/// with magic cells written as `MAGIC`-prefixed comment lines (notebook-formats.md §2).
public enum SourceFormat {
    /// The header line that marks a SOURCE notebook in `language`.
    public static func header(for language: NotebookLanguage) -> String {
        "\(language.commentPrefix) Databricks notebook source"
    }

    /// The line that separates two cells.
    public static func separator(for language: NotebookLanguage) -> String {
        "\(language.commentPrefix) COMMAND ----------"
    }

    /// The comment prefix of `text`'s header line (`#`, `//` or `--`), or `nil` when the text does not
    /// start with a Databricks notebook header. A UTF-8 BOM, a trailing `\r` and the 2016 suffix
    /// ` exported at …` are accepted.
    public static func headerCommentPrefix(of text: String) -> String? {
        var firstLine = Substring(text.prefix { $0 != "\n" && $0 != "\r\n" })
        if firstLine.hasPrefix("\u{FEFF}") { firstLine = firstLine.dropFirst() }
        if firstLine.hasSuffix("\r") { firstLine = firstLine.dropLast() }
        for prefix in ["#", "//", "--"] {
            let header = "\(prefix) Databricks notebook source"
            if firstLine == header || firstLine.hasPrefix(header + " exported at ") {
                return prefix
            }
        }
        return nil
    }

    /// Whether `text` is a SOURCE notebook for a file named with `fileExtension` (the AUTO rule:
    /// the header must be the one of the extension's language).
    public static func isNotebook(_ text: String, fileExtension: String) -> Bool {
        guard let language = NotebookLanguage(sourceFileExtension: fileExtension) else { return false }
        return headerCommentPrefix(of: text) == language.commentPrefix
    }

    /// Writes `notebook` as Databricks' API export does: no newline after the last cell.
    public static func render(_ notebook: Notebook) -> String {
        let language = notebook.language
        let comment = language.commentPrefix
        let emptyMagicLine = notebook.magicStyle == .modern ? "\(comment) MAGIC" : "\(comment) MAGIC "
        var renderedCells: [String] = []
        renderedCells.reserveCapacity(notebook.cells.count)
        for (index, cell) in notebook.cells.enumerated() {
            var lines: [String] = []
            if index == 0, let environment = notebook.environmentLines {
                lines.append(contentsOf: environment)
            }
            if !cell.title.isEmpty {
                lines.append("\(comment) DBTITLE \(cell.showTitle ? 1 : 0),\(cell.title)")
            }
            if cell.isMagic {
                var body = Substring(cell.command)
                while body.hasSuffix("\n") { body = body.dropLast() }
                for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
                    lines.append(line.isEmpty ? emptyMagicLine : "\(comment) MAGIC \(line)")
                }
            } else {
                lines.append(cell.command)
            }
            renderedCells.append(lines.joined(separator: "\n"))
        }
        let joiner = "\n\n\(separator(for: language))\n\n"
        return header(for: language) + "\n" + renderedCells.joined(separator: joiner)
    }

    /// Reads SOURCE text in `language`: the inverse of `render`, tolerant of CRLF line ends, both MAGIC
    /// styles, the 2016 header and the extra final newline of Git-folder files. Text without a header is
    /// read as the cells themselves (a SOURCE import with a `language` needs no header).
    public static func parse(_ text: String, language: NotebookLanguage) throws(NotebookFormatError) -> Notebook {
        let comment = language.commentPrefix
        var body = text.replacingCRLF()
        if body.hasSuffix("\n") { body.removeLast() }
        var lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        if let prefix = headerCommentPrefix(of: body) {
            guard prefix == comment else {
                throw NotebookFormatError.languageMismatch(declared: language, headerPrefix: prefix)
            }
            lines.removeFirst()
        }
        let separatorLine = separator(for: language)
        var chunks: [[Substring]] = [[]]
        for line in lines {
            if line.trimmingTrailingWhitespace() == separatorLine {
                chunks.append([])
            } else {
                chunks[chunks.count - 1].append(line)
            }
        }
        var notebook = Notebook(language: language, cells: [])
        var sawLegacyMagic = false
        var sawModernMagic = false
        for (index, rawChunk) in chunks.enumerated() {
            var chunk = rawChunk[...]
            if index > 0, chunk.first == "" { chunk = chunk.dropFirst() }
            if index < chunks.count - 1, chunk.last == "" { chunk = chunk.dropLast() }
            if index == 0, chunk.first == "\(comment) /// script" {
                if let end = chunk.dropFirst().firstIndex(of: "\(comment) ///") {
                    notebook.environmentLines = chunk[...end].map(String.init)
                    chunk = chunk[(end + 1)...]
                }
            }
            var cell = Cell(command: "")
            if let first = chunk.first, let (show, title) = parseTitle(first, comment: comment) {
                cell.title = title
                cell.showTitle = show
                chunk = chunk.dropFirst()
            }
            if let first = chunk.first, first.hasPrefix("\(comment) MAGIC") {
                let magicPrefix = "\(comment) MAGIC "
                let commands: [Substring] = chunk.map { line in
                    if line == "\(comment) MAGIC" {
                        sawModernMagic = true
                        return ""
                    }
                    if line == magicPrefix { sawLegacyMagic = true }
                    return line.hasPrefix(magicPrefix) ? line.dropFirst(magicPrefix.count) : line
                }
                cell.command = commands.joined(separator: "\n")
            } else {
                cell.command = chunk.joined(separator: "\n")
            }
            notebook.cells.append(cell)
        }
        notebook.magicStyle = sawLegacyMagic && !sawModernMagic ? .legacy : .modern
        return notebook
    }

    private static func parseTitle(_ line: Substring, comment: String) -> (Bool, String)? {
        let prefix = "\(comment) DBTITLE "
        guard line.hasPrefix(prefix) else { return nil }
        let rest = line.dropFirst(prefix.count)
        guard let comma = rest.firstIndex(of: ","), !rest[..<comma].isEmpty,
              rest[..<comma].allSatisfy(\.isASCIIDigitCharacter)
        else { return nil }
        return (rest[..<comma] == "1", String(rest[rest.index(after: comma)...]))
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

extension StringProtocol {
    fileprivate func trimmingTrailingWhitespace() -> Substring {
        var result = Substring(self)
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result = result.dropLast() }
        return result
    }

    /// `\r\n` becomes `\n`. Swift treats `\r\n` as one Character, so split on it explicitly.
    fileprivate func replacingCRLF() -> String {
        guard self.contains("\r\n") else { return String(self) }
        return self.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
    }
}
