public import KilnCore

/// The `format` of an import or export, spelled as the API spells it (case-sensitive).
public enum WorkspaceFormat: String, Sendable, CaseIterable {
    case auto = "AUTO"
    case dbc = "DBC"
    case html = "HTML"
    case jupyter = "JUPYTER"
    case raw = "RAW"
    case rMarkdown = "R_MARKDOWN"
    case source = "SOURCE"

    /// Parses a client's value; `nil` means the default, SOURCE.
    public init(parameter: String?) throws(KilnError) {
        guard let parameter else {
            self = .source
            return
        }
        guard let format = WorkspaceFormat(rawValue: parameter) else {
            let known = WorkspaceFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw KilnError.invalidParameter("Invalid format: \(parameter). Supported formats are \(known).")
        }
        self = format
    }
}
