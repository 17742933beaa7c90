import Foundation
import KilnCore
import NotebookFormats

/// Zip archives of SOURCE files, the folder form of SOURCE and AUTO (notebook-formats.md §2.5):
/// `<path>.<py|scala|sql|r>` notebooks, plus plain files for AUTO.
enum ZipSources {
    static func looksLikeZip(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06])
    }

    static func plan(_ bytes: [UInt8], at root: WorkspacePath, includeFiles: Bool) throws -> TreePlan {
        var tree = TreePlan(root: root)
        var folders = Set<[String]>()
        for (entryPath, data) in try ZipContainer.entries(bytes, maximumSize: ImportPlan.maximumInflatedSize) {
            let components = try ZipContainer.safeComponents(entryPath)
            let parents = entryPath.hasSuffix("/") ? components : Array(components.dropLast())
            for depth in stride(from: 1, through: parents.count, by: 1) { folders.insert(Array(parents.prefix(depth))) }
            guard !entryPath.hasSuffix("/"), let name = components.last else { continue }
            let target = try tree.path(components)
            if let ext = target.fileExtension, let language = NotebookLanguage(sourceFileExtension: ext),
                let text = String(validating: data, as: UTF8.self), SourceFormat.isNotebook(text, fileExtension: ext)
            {
                tree.objects.append(try .notebook(at: target.removingExtension, SourceFormat.parse(text, language: language)))
            } else if includeFiles {
                guard data.count <= WorkspaceService.maximumContentSize else {
                    throw KilnError(.maxNotebookSizeExceeded, "Archive entry \(name) is over 10 MB.")
                }
                tree.objects.append(.file(at: target, content: data))
            }
        }
        for folder in folders.sorted(by: { $0.count < $1.count }) {
            tree.folders.append(try tree.path(folder))
        }
        return tree
    }
}
