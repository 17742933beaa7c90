public import KilnCore
public import Foundation
import ZIPFoundation

/// DBC archives: a ZIP of compact-JSON entries, `manifest.mf`, one `FolderV1` per folder (`dir/`) and one
/// `NotebookV1` per notebook (`dir/<name>.<python|scala|sql|r>`) (notebook-formats.md §5).
public enum DBCArchive {
    /// One entry of an archive, with its folder path inside the archive.
    public enum Item: Sendable, Equatable {
        case folder(path: [String])
        case notebook(folder: [String], name: String, model: JSONTree)
    }

    static let extensions: [NotebookLanguage: String] = [.python: "python", .scala: "scala", .sql: "sql", .r: "r"]

    /// Reads an archive. Entry names that are absolute or climb out (`..`) are refused, and inflating
    /// stops with an error once `maximumSize` bytes have come out (zip bombs).
    public static func read(_ bytes: [UInt8], maximumSize: Int) throws(NotebookFormatError) -> [Item] {
        var items: [Item] = []
        for (path, data) in try ZipContainer.entries(bytes, maximumSize: maximumSize) {
            let components = try ZipContainer.safeComponents(path)
            if path.hasSuffix("/") {
                items.append(.folder(path: components))
                continue
            }
            let fileName = components[components.count - 1]
            guard let dot = fileName.lastIndex(of: "."),
                extensions.values.contains(String(fileName[fileName.index(after: dot)...]))
            else { continue } // manifest.mf, and anything that is not a notebook
            let model: JSONTree
            do {
                model = try JSONTree.parse(data)
            } catch {
                throw .invalid(format: "DBC", reason: "entry '\(path)' is not valid JSON.")
            }
            guard model["version"]?.stringValue == "NotebookV1" else { continue }
            let name = model["name"]?.stringValue ?? String(fileName[..<dot])
            items.append(.notebook(folder: Array(components.dropLast()), name: name, model: model))
        }
        return items
    }

    /// Writes an archive: the manifest (its `guid` given, or a random one), then the items in order.
    public static func write(_ items: [Item], guid: String = IdentifierGenerator.uuid(), modified: Date = ZipContainer.dosEpoch) -> [UInt8] {
        var entries: [(String, [UInt8])] = [
            (
                "manifest.mf",
                JSONTree.object([
                    .init("version", .string("Manifest")), .init("guid", .string(guid)),
                    .init("origId", .integer(-1)), .init("name", .string("manifest.mf")),
                ]).compactJSON()
            )
        ]
        for item in items {
            switch item {
            case .folder(let path):
                let folder = JSONTree.object([
                    .init("version", .string("FolderV1")),
                    .init("origId", .integer(0)),
                    .init("name", .string(path.last ?? "")), .init("guid", .string("")), .init("children", .array([])),
                ])
                entries.append((path.joined(separator: "/") + "/", folder.compactJSON()))
            case .notebook(let folder, let name, let model):
                let language = model["language"]?.stringValue.flatMap { NotebookLanguage(rawValue: $0.uppercased()) } ?? .python
                let path = (folder + [name + "." + extensions[language]!]).joined(separator: "/")
                entries.append((path, model.compactJSON()))
            }
        }
        return ZipContainer.write(entries, modified: modified)
    }

}
