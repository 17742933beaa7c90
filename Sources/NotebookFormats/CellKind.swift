/// How a command maps to a Jupyter cell (notebook-formats.md §3.2).
enum CellKind: Equatable {
    /// `%md` / `%md-sandbox`: markdown, with the magic line removed.
    case markdown(text: String, sandbox: Bool)
    /// Anything else: code, verbatim (other magics included).
    case code(String)

    init(command: String) {
        let trimmed = command.drop(while: { $0 == " " || $0 == "\n" || $0 == "\t" })
        let firstLineEnd = trimmed.firstIndex(of: "\n") ?? trimmed.endIndex
        let firstLine = trimmed[..<firstLineEnd]
        let token = firstLine.prefix { $0 != " " }
        guard token == "%md" || token == "%md-sandbox" else {
            self = .code(command)
            return
        }
        let inline = firstLine.dropFirst(token.count).drop { $0 == " " }
        let rest = firstLineEnd < trimmed.endIndex ? trimmed[trimmed.index(after: firstLineEnd)...] : ""
        let text = inline.isEmpty ? String(rest) : String(inline) + (firstLineEnd < trimmed.endIndex ? "\n" + rest : "")
        self = .markdown(text: text, sandbox: token == "%md-sandbox")
    }

    /// The command of a markdown cell.
    static func markdownCommand(_ text: String, sandbox: Bool) -> String {
        let magic = sandbox ? "%md-sandbox" : "%md"
        return text.isEmpty ? magic : magic + "\n" + text
    }
}
