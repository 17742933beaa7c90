/// The four notebook languages, spelled as the API spells them.
public enum NotebookLanguage: String, Sendable, Codable, CaseIterable {
    case python = "PYTHON"
    case scala = "SCALA"
    case sql = "SQL"
    case r = "R"

    /// The line-comment prefix SOURCE files use for this language.
    public var commentPrefix: String {
        switch self {
        case .python, .r: "#"
        case .scala: "//"
        case .sql: "--"
        }
    }

    /// The extension (without the dot) of a SOURCE export, also the `file_type` the API reports.
    public var sourceFileExtension: String {
        switch self {
        case .python: "py"
        case .scala: "scala"
        case .sql: "sql"
        case .r: "r"
        }
    }

    /// The language a SOURCE file extension stands for (`py`, `scala`, `sql`, `r` or `R`), if any.
    public init?(sourceFileExtension ext: String) {
        switch ext {
        case "py": self = .python
        case "scala": self = .scala
        case "sql", "SQL": self = .sql
        case "r", "R": self = .r
        default: return nil
        }
    }
}
