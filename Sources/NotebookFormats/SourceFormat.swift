import Foundation

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
        for header in headerLines where firstLine == header.text || firstLine.hasPrefix(header.text + " exported at ") {
            return header.prefix
        }
        return nil
    }

    /// `headerCommentPrefix(of:)` of a text's first line, given as its UTF-8 bytes with its `\n`: read from the
    /// bytes when they are ASCII after a BOM, where a `Character` is a byte but for the `\r\n` that ends the
    /// line (a 64 KiB import spent 1 % of its instructions making the line a `String` and comparing it by
    /// `Character`), else as that text.
    static func headerCommentPrefix(ofFirstLine bytes: ArraySlice<UInt8>) -> String? {
        var line = bytes
        if line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }
        guard line.allSatisfy({ $0 < 0x80 }) else { return headerCommentPrefix(of: String(decoding: bytes, as: UTF8.self)) }
        if line.last == UInt8(ascii: "\n") { line = line.dropLast() }
        // A `\r` before the `\n` ends the line with it, and then one more `\r` goes, as in `headerCommentPrefix(of:)`.
        if bytes.last == UInt8(ascii: "\n"), line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        for header in headerLines where line.elementsEqual(header.utf8) || line.starts(with: header.exportedUTF8) {
            return header.prefix
        }
        return nil
    }

    /// Each comment prefix with its header line: as text, as UTF-8, and the UTF-8 of the line's 2016 start
    /// (`… exported at `), made once for both readings of a first line.
    private static let headerLines: [(prefix: String, text: String, utf8: [UInt8], exportedUTF8: [UInt8])] =
        ["#", "//", "--"].map { prefix in
            let text = "\(prefix) Databricks notebook source"
            return (prefix, text, Array(text.utf8), Array((text + " exported at ").utf8))
        }

    /// Whether `text` is a SOURCE notebook for a file named with `fileExtension` (the AUTO rule:
    /// the header must be the one of the extension's language).
    public static func isNotebook(_ text: String, fileExtension: String) -> Bool {
        guard let language = NotebookLanguage(sourceFileExtension: fileExtension) else { return false }
        return headerCommentPrefix(of: text) == language.commentPrefix
    }

    /// Writes `notebook` as Databricks' API export does: no newline after the last cell.
    public static func render(_ notebook: Notebook) -> String {
        var text = TextSink()
        text.text.reserveCapacity(notebook.cells.reduce(64) { $0 + $1.command.utf8.count + 32 })
        write(notebook, to: &text)
        return text.text
    }

    /// The number of UTF-8 bytes `render(notebook)` returns, without making the text (a workspace object's
    /// `size`).
    public static func renderedSize(_ notebook: Notebook) -> Int {
        var count = ByteCountSink()
        write(notebook, to: &count)
        return count.count
    }

    /// The SOURCE text of `notebook`, written piece by piece to `sink`: the header line, then each cell's
    /// lines (the environment block before the first, a `DBTITLE` line, the command or its `MAGIC` lines),
    /// cells joined by a blank line, the separator and a blank line.
    private static func write(_ notebook: Notebook, to sink: inout some SourceSink) {
        let comment = notebook.language.commentPrefix
        let emptyMagicLine = notebook.magicStyle == .modern ? "\(comment) MAGIC" : "\(comment) MAGIC "
        let joiner = "\n\n\(separator(for: notebook.language))\n\n"
        sink.write(header(for: notebook.language))
        sink.write("\n")
        for (index, cell) in notebook.cells.enumerated() {
            if index > 0 { sink.write(joiner) }
            var lines = LineWriter()
            if index == 0, let environment = notebook.environmentLines {
                environment.forEach { lines.line($0, to: &sink) }
            }
            if !cell.title.isEmpty {
                lines.line("\(comment) DBTITLE \(cell.showTitle ? 1 : 0),\(cell.title)", to: &sink)
            }
            if cell.isMagic {
                var body = Substring(cell.command)
                while body.hasSuffix("\n") { body = body.dropLast() }
                for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.isEmpty {
                        lines.line(emptyMagicLine, to: &sink)
                    } else {
                        lines.line(comment, to: &sink)
                        sink.write(" MAGIC ")
                        sink.write(line)
                    }
                }
            } else {
                lines.line(cell.command, to: &sink)
            }
        }
    }

    /// Reads SOURCE text in `language`: the inverse of `render`, tolerant of CRLF line ends, both MAGIC
    /// styles, the 2016 header and the extra final newline of Git-folder files. Text without a header is
    /// read as the cells themselves (a SOURCE import with a `language` needs no header).
    ///
    /// Works on UTF-8 bytes: a code cell is one contiguous slice of the input.
    public static func parse(_ text: String, language: NotebookLanguage) throws(NotebookFormatError) -> Notebook {
        try parse(validUTF8: Array(text.utf8), isASCII: false, language: language)
    }

    /// `parse(_:language:)` of the UTF-8 bytes of a text, or nil when they are not UTF-8: the bytes are
    /// checked once, and the text is not made a `String` (a 64 KiB import's copy) before its cells are.
    public static func parse(utf8 bytes: [UInt8], language: NotebookLanguage) throws(NotebookFormatError) -> Notebook? {
        guard let isASCII = asciiIfUTF8(bytes) else { return nil }
        return try parse(validUTF8: bytes, isASCII: isASCII, language: language)
    }

    /// nil when `bytes` are not UTF-8, else whether they are all ASCII: checked in place by `UTF8Span` where
    /// the standard library has it (Linux, macOS 26), else by making a `String` of them (and not told ASCII).
    private static func asciiIfUTF8(_ bytes: [UInt8]) -> Bool? {
        if #available(macOS 26, *) { return (try? UTF8Span(validating: bytes.span))?.isKnownASCII }
        return String(validating: bytes, as: UTF8.self) == nil ? nil : false
    }

    /// `isASCII`: every byte is ASCII (false when not known).
    private static func parse(validUTF8 bytes: [UInt8], isASCII: Bool, language: NotebookLanguage) throws(NotebookFormatError) -> Notebook {
        var reader = SourceReader(bytes: bytes, isASCII: isASCII, comment: language.commentPrefix)
        // The first line with its newline, so that `headerCommentPrefix` ends it as it ends it in a whole text
        // (where "\r\r\n" is a carriage return, then the line's end).
        let firstLine = bytes[..<(bytes.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? bytes.endIndex)]
        if let prefix = headerCommentPrefix(ofFirstLine: firstLine) {
            guard prefix == language.commentPrefix else {
                throw NotebookFormatError.languageMismatch(declared: language, headerPrefix: prefix)
            }
            reader.dropHeaderLine()
        }
        return reader.notebook(language: language, separator: separator(for: language))
    }
}

/// The line-level work of `SourceFormat.parse`, on the UTF-8 bytes of the text.
private struct SourceReader {
    /// Valid UTF-8, so that the bytes between two line breaks are too.
    let bytes: [UInt8]
    /// Whether every byte is ASCII (false when not known).
    let isASCII: Bool
    let comment: [UInt8]
    /// `<comment> DBTITLE `, which starts a cell's title line (made once, not for each cell).
    let titlePrefix: [UInt8]
    /// Byte ranges of the text's lines, without their `\n`; indices count the header's line, so they start at 1
    /// once it is dropped.
    var lines: ArraySlice<Range<Int>>

    /// Reads `bytes` (valid UTF-8) where they are (an import's content is not copied), unless carriage
    /// returns must go.
    init(bytes: [UInt8], isASCII: Bool, comment: String) {
        var bytes = bytes
        if Self.contains(UInt8(ascii: "\r"), in: bytes) {
            bytes = Self.removingCarriageReturnsBeforeNewlines(bytes)
        }
        self.bytes = bytes
        self.isASCII = isASCII
        self.comment = Array(comment.utf8)
        self.titlePrefix = Array("\(comment) DBTITLE ".utf8)
        // A last newline ends the last line and starts none.
        self.lines = Self.lineRanges(in: bytes, count: bytes.last == UInt8(ascii: "\n") ? bytes.count - 1 : bytes.count)[...]
    }

    /// Whether `byte` occurs in `bytes` (with `memchr`).
    static func contains(_ byte: UInt8, in bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in buffer.baseAddress.map { memchr($0, Int32(byte), buffer.count) != nil } ?? false }
    }

    /// The byte ranges of the lines of the first `count` bytes of `bytes`, without their `\n`; the newlines
    /// are found with `memchr`, which reads many bytes at a time.
    static func lineRanges(in bytes: [UInt8], count: Int) -> [Range<Int>] {
        bytes.withUnsafeBytes { whole in
            let buffer = UnsafeRawBufferPointer(rebasing: whole[..<count])
            var lines: [Range<Int>] = []
            // Room for lines of 40 bytes on average, so that a notebook's lines are seldom copied to a larger array.
            lines.reserveCapacity(count / 40 + 1)
            var lineStart = 0
            if let base = buffer.baseAddress {
                while lineStart < buffer.count, let found = memchr(base + lineStart, Int32(UInt8(ascii: "\n")), buffer.count - lineStart) {
                    let newline = base.distance(to: UnsafeRawPointer(found))
                    lines.append(lineStart..<newline)
                    lineStart = newline + 1
                }
            }
            lines.append(lineStart..<buffer.count)
            return lines
        }
    }

    mutating func dropHeaderLine() {
        lines.removeFirst()
    }

    func notebook(language: NotebookLanguage, separator: String) -> Notebook {
        let separatorBytes = Array(separator.utf8)
        var chunks: [Range<Int>] = []
        var chunkStart = lines.startIndex
        for index in lines.indices where isLine(lines[index], separatorBytes) {
            chunks.append(chunkStart..<index)
            chunkStart = index + 1
        }
        chunks.append(chunkStart..<lines.endIndex)

        var notebook = Notebook(language: language, cells: [])
        notebook.cells.reserveCapacity(chunks.count)
        var sawLegacyMagic = false
        var sawModernMagic = false
        let scriptStart = comment + Array(" /// script".utf8)
        let scriptEnd = comment + Array(" ///".utf8)
        let magic = comment + Array(" MAGIC".utf8)
        let magicWithSpace = magic + [UInt8(ascii: " ")]
        for (index, chunk) in chunks.enumerated() {
            var first = chunk.lowerBound
            var end = chunk.upperBound
            if index > 0, first < end, lines[first].isEmpty { first += 1 }
            if index < chunks.count - 1, first < end, lines[end - 1].isEmpty { end -= 1 }
            if index == 0, first < end, line(first).elementsEqual(scriptStart),
                let close = (first + 1..<end).first(where: { line($0).elementsEqual(scriptEnd) })
            {
                notebook.environmentLines = (first...close).map { string(lines[$0]) }
                first = close + 1
            }
            var cell = Cell(command: "")
            if first < end, let (show, title) = parseTitle(line(first)) {
                cell.title = title
                cell.showTitle = show
                first += 1
            }
            guard first < end else {
                notebook.cells.append(cell)
                continue
            }
            if line(first).starts(with: magic) {
                var command: [UInt8] = []
                for lineIndex in first..<end {
                    if lineIndex > first { command.append(UInt8(ascii: "\n")) }
                    let text = line(lineIndex)
                    if text.elementsEqual(magic) {
                        sawModernMagic = true
                    } else if text.starts(with: magicWithSpace) {
                        if text.count == magicWithSpace.count { sawLegacyMagic = true }
                        command.append(contentsOf: text.dropFirst(magicWithSpace.count))
                    } else {
                        command.append(contentsOf: text)
                    }
                }
                cell.command = String(decoding: command, as: UTF8.self)
            } else {
                cell.command = string(lines[first].lowerBound..<lines[end - 1].upperBound)
            }
            notebook.cells.append(cell)
        }
        notebook.magicStyle = sawLegacyMagic && !sawModernMagic ? .legacy : .modern
        return notebook
    }

    private func line(_ index: Int) -> ArraySlice<UInt8> {
        bytes[lines[index]]
    }

    /// The text of `range`, which starts and ends at a line's start or end, or past an ASCII byte (so is UTF-8
    /// as `bytes` are): copied into a `String` without validating the bytes again where the standard
    /// library can (`UTF8Span`; a 64 KiB import's cells were checked twice, 5 % of its machine instructions).
    private func string(_ range: Range<Int>) -> String {
        if #available(macOS 26, *) {
            return String(copying: unsafe UTF8Span(unchecked: bytes.span.extracting(range), isKnownASCII: isASCII))
        }
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// Whether the line at `range` is `text` followed by nothing but spaces, tabs and carriage returns. Most
    /// lines are told apart by their first byte.
    private func isLine(_ range: Range<Int>, _ text: [UInt8]) -> Bool {
        guard range.count >= text.count, let first = text.first, bytes[range.lowerBound] == first else { return false }
        return bytes.withUnsafeBufferPointer { buffer in
            var end = range.upperBound
            trimming: while end > range.lowerBound {
                switch buffer[end - 1] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): end -= 1
                default: break trimming
                }
            }
            return end - range.lowerBound == text.count && memcmp(buffer.baseAddress! + range.lowerBound, text, text.count) == 0
        }
    }

    /// `c DBTITLE <digits>,<title>` gives (shown, title).
    private func parseTitle(_ line: ArraySlice<UInt8>) -> (Bool, String)? {
        guard line.starts(with: titlePrefix) else { return nil }
        let rest = line.dropFirst(titlePrefix.count)
        guard let comma = rest.firstIndex(of: UInt8(ascii: ",")), comma > rest.startIndex,
            rest[..<comma].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return (rest[..<comma].elementsEqual([UInt8(ascii: "1")]), string(comma + 1..<rest.endIndex))
    }

    private static func removingCarriageReturnsBeforeNewlines(_ bytes: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        for (index, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\r"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { continue }
            result.append(byte)
        }
        return result
    }
}

/// Where `SourceFormat` writes a notebook's text: into a string, or only counting its bytes.
private protocol SourceSink {
    mutating func write(_ text: some StringProtocol)
}

private struct TextSink: SourceSink {
    var text = ""

    mutating func write(_ text: some StringProtocol) {
        self.text.append(contentsOf: text)
    }
}

private struct ByteCountSink: SourceSink {
    var count = 0

    mutating func write(_ text: some StringProtocol) {
        count += text.utf8.count
    }
}

/// Starts each of a cell's lines with a newline but the first.
private struct LineWriter {
    private var isFirst = true

    mutating func line(_ text: some StringProtocol, to sink: inout some SourceSink) {
        if !isFirst { sink.write("\n") }
        isFirst = false
        sink.write(text)
    }
}
