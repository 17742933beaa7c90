import KilnCore
/// The serverless environment: SOURCE's `# /// script` block ↔ the `environmentMetadata` object of
/// JUPYTER and NotebookV1 (notebook-formats.md §2.2). String keys and the `dependencies` list are mapped.
enum EnvironmentBlock {
    static func metadata(fromLines lines: [String], comment: String) -> JSONTree {
        var members: [JSONTree.Member] = []
        var dependencies: [JSONTree]?
        for raw in lines {
            var line = Substring(raw)
            if line.hasPrefix(comment) { line = line.dropFirst(comment.count) }
            let text = line.trimmingSpaces()
            if dependencies != nil {
                if text.hasPrefix("]") {
                    members.append(.init("dependencies", .array(dependencies!)))
                    dependencies = nil
                } else if let value = quoted(text.hasSuffix(",") ? Substring(text.dropLast()) : Substring(text)) {
                    dependencies!.append(.string(value))
                }
                continue
            }
            guard let equals = text.firstIndex(of: "=") else { continue }
            let key = text[..<equals].trimmingSpaces()
            let value = text[text.index(after: equals)...].trimmingSpaces()
            if key == "dependencies", value.hasPrefix("[") {
                dependencies = []
                continue
            }
            if let string = quoted(Substring(value)) { members.append(.init(key, .string(string))) }
        }
        return .object(members)
    }

    static func lines(fromMetadata metadata: JSONTree, comment: String) -> [String]? {
        guard case .object(let members) = metadata, !members.isEmpty else { return nil }
        var lines = ["\(comment) /// script", "\(comment) [tool.databricks.environment]"]
        for member in members {
            switch member.value {
            case .string(let value):
                lines.append("\(comment) \(member.key) = \"\(value)\"")
            case .array(let values):
                lines.append("\(comment) \(member.key) = [")
                for value in values {
                    if let text = value.stringValue { lines.append("\(comment)   \"\(text)\",") }
                }
                lines.append("\(comment) ]")
            default:
                continue
            }
        }
        lines.append("\(comment) ///")
        return lines
    }

    private static func quoted(_ text: Substring) -> String? {
        guard text.count >= 2, text.first == "\"", text.last == "\"" else { return nil }
        return String(text.dropFirst().dropLast())
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
