public import KilnCore
/// A notebook as Kiln stores it: a language and an ordered list of cells, plus what the formats
/// carry besides (the serverless environment block, the style of empty MAGIC lines).
public struct Notebook: Sendable, Equatable {
    /// The notebook's default language.
    public var language: NotebookLanguage
    /// The cells, in order.
    public var cells: [Cell]
    /// The raw lines of the serverless environment block (`# /// script` … `# ///`), if the notebook has one.
    public var environmentLines: [String]?
    /// How empty lines inside MAGIC cells are written in SOURCE. New notebooks use `.modern`.
    public var magicStyle: MagicStyle
    /// The document the notebook was imported from, when that format carries more than the cells
    /// (results, ids, widgets, outputs). Exporting to the same format writes it back unchanged.
    public var original: OriginalDocument?
    /// The ids the notebook was stored with; nil for a notebook only read from a format (writers then
    /// make random ones).
    public var ids: NotebookIDs?

    public init(
        language: NotebookLanguage,
        cells: [Cell],
        environmentLines: [String]? = nil,
        magicStyle: MagicStyle = .modern,
        original: OriginalDocument? = nil
    ) {
        self.language = language
        self.cells = cells
        self.environmentLines = environmentLines
        self.magicStyle = magicStyle
        self.original = original
    }

    /// The format the notebook is natively kept in (`repos_export_format`).
    public var nativeFormat: NativeFormat {
        if case .jupyter = original { return .jupyter }
        return .source
    }
}

/// One notebook cell (a Databricks "command").
public struct Cell: Sendable, Equatable {
    /// The cell's text, including a leading `%magic` line if it has one.
    public var command: String
    /// The cell title; empty when the cell has none.
    public var title: String
    /// Whether the title is shown (`DBTITLE 1`) or hidden (`DBTITLE 0`).
    public var showTitle: Bool

    public init(command: String, title: String = "", showTitle: Bool = false) {
        self.command = command
        self.title = title
        self.showTitle = showTitle
    }

    /// A magic cell is one whose first non-whitespace character is `%`.
    public var isMagic: Bool {
        // Decided on the UTF-8 bytes when the first other byte and the one after it are ASCII: that character is
        // then the byte alone. Anything else is decided by Characters, which join combining marks.
        var bytes = command.utf8.makeIterator()
        while let byte = bytes.next() {
            if byte == UInt8(ascii: " ") || (0x09...0x0D).contains(byte) { continue }
            if byte < 0x80, bytes.next().map({ $0 < 0x80 }) ?? true { return byte == UInt8(ascii: "%") }
            break
        }
        return command.first(where: { !$0.isWhitespace }) == "%"
    }
}

/// A rich document a notebook came from.
public enum OriginalDocument: Sendable, Equatable {
    /// A Databricks `NotebookV1` model, from a DBC archive or an HTML export.
    case notebookV1(JSONTree)
    /// An `.ipynb` document.
    case jupyter(JSONTree)
}

/// `repos_export_format`: the format a notebook is natively kept in.
public enum NativeFormat: String, Sendable {
    case source = "SOURCE"
    case jupyter = "JUPYTER"
}

/// The two spellings Databricks has used for an empty line inside a MAGIC cell.
public enum MagicStyle: String, Sendable {
    /// `# MAGIC` with nothing after it: exports since mid-2023.
    case modern
    /// `# MAGIC ` with a trailing space: earlier exports.
    case legacy
}
