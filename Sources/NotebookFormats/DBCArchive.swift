import Foundation
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
        for (path, data) in try entries(bytes, maximumSize: maximumSize) {
            let components = try safeComponents(path)
            if path.hasSuffix("/") {
                items.append(.folder(path: components))
                continue
            }
            let fileName = components[components.count - 1]
            guard let dot = fileName.lastIndex(of: "."),
                  extensions.values.contains(String(fileName[fileName.index(after: dot)...]))
            else { continue }  // manifest.mf, and anything that is not a notebook
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

    /// The raw entries of a zip archive, in archive order, inflating at most `maximumSize` bytes in all.
    static func entries(_ bytes: [UInt8], maximumSize: Int) throws(NotebookFormatError) -> [(String, [UInt8])] {
        let archive: Archive
        do {
            archive = try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw .invalid(format: "DBC", reason: "it is not a readable zip archive.")
        }
        var result: [(String, [UInt8])] = []
        var inflated = 0
        for entry in archive {
            _ = try safeComponents(entry.path)
            guard entry.uncompressedSize <= UInt64(maximumSize - inflated) else {
                throw .invalid(format: "DBC", reason: "it inflates to more than \(maximumSize) bytes.")
            }
            var data: [UInt8] = []
            do {
                _ = try archive.extract(entry, skipCRC32: false) { chunk in
                    inflated += chunk.count
                    guard inflated <= maximumSize else { throw SizeExceeded() }
                    data.append(contentsOf: chunk)
                }
            } catch is SizeExceeded {
                throw .invalid(format: "DBC", reason: "it inflates to more than \(maximumSize) bytes.")
            } catch {
                throw .invalid(format: "DBC", reason: "entry '\(entry.path)' is corrupt.")
            }
            result.append((entry.path, data))
        }
        return result
    }

    /// Writes an archive: the manifest, then the items in order.
    public static func write(_ items: [Item], folderIDs: [String: Int64] = [:]) -> [UInt8] {
        var entries: [(String, [UInt8])] = [("manifest.mf", JSONTree.object([
            .init("version", .string("Manifest")), .init("guid", .string(UUIDText.random())),
            .init("origId", .integer(-1)), .init("name", .string("manifest.mf")),
        ]).compactJSON())]
        for item in items {
            switch item {
            case .folder(let path):
                let folder = JSONTree.object([
                    .init("version", .string("FolderV1")),
                    .init("origId", .integer(folderIDs[path.joined(separator: "/")] ?? 0)),
                    .init("name", .string(path.last ?? "")), .init("guid", .string("")), .init("children", .array([])),
                ])
                entries.append((path.joined(separator: "/") + "/", folder.compactJSON()))
            case .notebook(let folder, let name, let model):
                let language = model["language"]?.stringValue.flatMap { NotebookLanguage(rawValue: $0.uppercased()) } ?? .python
                let path = (folder + [name + "." + extensions[language]!]).joined(separator: "/")
                entries.append((path, model.compactJSON()))
            }
        }
        return zip(entries)
    }

    static func zip(_ entries: [(String, [UInt8])]) -> [UInt8] {
        // Writing to an in-memory archive only fails if memory does; there is no I/O to go wrong.
        guard let archive = try? Archive(data: Data(), accessMode: .create) else { return [] }
        for (path, content) in entries {
            let data = Data(content)
            try? archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return Array(archive.data ?? Data())
    }

    /// The components of an entry name, refusing names that could land outside the target folder.
    static func safeComponents(_ path: String) throws(NotebookFormatError) -> [String] {
        guard !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\u{0}") else {
            throw .invalid(format: "DBC", reason: "entry '\(path)' has an absolute or unsafe name.")
        }
        var components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.last == "" { components.removeLast() }
        guard !components.isEmpty, !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw .invalid(format: "DBC", reason: "entry '\(path)' has an unsafe name.")
        }
        return components
    }

    /// The archive entry extension of a language (`python`, `scala`, `sql`, `r`).
    public static func fileExtension(for language: NotebookLanguage) -> String { extensions[language]! }

    private struct SizeExceeded: Error {}
}
