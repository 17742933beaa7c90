public import Foundation
import ZIPFoundation

/// Zip archives in memory: reading entries with bounded inflation and safe names, and writing them.
public enum ZipContainer {
    /// The raw entries of a zip archive, in archive order, inflating at most `maximumSize` bytes in all.
    public static func entries(_ bytes: [UInt8], maximumSize: Int) throws(NotebookFormatError) -> [(String, [UInt8])] {
        let archive: Archive
        do {
            archive = try Archive(data: Data(bytes), accessMode: .read)
        } catch {
            throw .invalid(format: "zip", reason: "it is not a readable zip archive.")
        }
        var result: [(String, [UInt8])] = []
        var inflated = 0
        for entry in archive {
            _ = try safeComponents(entry.path)
            guard entry.uncompressedSize <= UInt64(maximumSize - inflated) else {
                throw .invalid(format: "zip", reason: "it inflates to more than \(maximumSize) bytes.")
            }
            var data: [UInt8] = []
            do {
                _ = try archive.extract(entry, skipCRC32: false) { chunk in
                    inflated += chunk.count
                    guard inflated <= maximumSize else { throw SizeExceeded() }
                    data.append(contentsOf: chunk)
                }
            } catch is SizeExceeded {
                throw .invalid(format: "zip", reason: "it inflates to more than \(maximumSize) bytes.")
            } catch {
                throw .invalid(format: "zip", reason: "entry '\(entry.path)' is corrupt.")
            }
            result.append((entry.path, data))
        }
        return result
    }

    /// The time zip entries carry when a writer gives none: the start of the DOS epoch, 1980-01-01.
    public static let dosEpoch = Date(timeIntervalSince1970: 315_532_800)

    /// A zip of `entries` (path, bytes), each stamped `modified` (not the time of writing, so that the same
    /// content always gives the same bytes).
    public static func write(_ entries: [(String, [UInt8])], modified: Date = dosEpoch) -> [UInt8] {
        // Writing to an in-memory archive only fails if memory does; there is no I/O to go wrong.
        guard let archive = try? Archive(data: Data(), accessMode: .create, pathEncoding: nil) else { return [] }
        for (path, content) in entries {
            let data = Data(content)
            try? archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count), modificationDate: modified, compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return Array(archive.data ?? Data())
    }

    /// The components of an entry name, refusing names that could land outside the target folder.
    public static func safeComponents(_ path: String) throws(NotebookFormatError) -> [String] {
        guard !path.hasPrefix("/"), !path.contains("\\"), !path.contains("\u{0}") else {
            throw .invalid(format: "zip", reason: "entry '\(path)' has an absolute or unsafe name.")
        }
        var components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.last == "" { components.removeLast() }
        guard !components.isEmpty, !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw .invalid(format: "zip", reason: "entry '\(path)' has an unsafe name.")
        }
        return components
    }

    private struct SizeExceeded: Error {}
}
