import Foundation
import NIOCore
import Synchronization

/// Notebook exports kept in memory, so that exporting an unchanged notebook again costs a read of its
/// metadata row instead of reading, decoding, rendering and base64-encoding it once more, and answers with
/// a JSON body made once (CI pipelines and `databricks workspace export-dir` export the same notebooks
/// over and over).
///
/// An entry is used only when it was made from the notebook's content version (`content_version`, which
/// every change of the content raises: migration 8), read in one statement with the export's metadata,
/// and its key holds everything else an export depends on (path, format, object id, modification time).
/// The cache only remembers what the export would compute, so a change made by this process or by another
/// Kiln on the same database is never answered from here, and nothing needs telling of changes.
///
/// Bounded: notebooks stored in at most `largestEntry` bytes, at most `maximumEntries` of them and
/// `capacity` bytes in all, counting the export and its JSON body's allocation; the oldest go first.
final class ExportCache: Sendable {
    struct Key: Hashable, Sendable {
        var workspaceID: Int64
        var objectID: Int64
        var path: WorkspacePath
        var modifiedAt: Int64
        var format: WorkspaceFormat

        init(workspaceID: Int64, objectID: Int64, path: WorkspacePath, modifiedAt: Int64, format: WorkspaceFormat) {
            self.workspaceID = workspaceID
            self.objectID = objectID
            self.path = path
            self.modifiedAt = modifiedAt
            self.format = format
        }

        /// The key of `object`'s export as `format`.
        init(workspaceID: Int64, object: ObjectInfo, format: WorkspaceFormat) {
            self.init(workspaceID: workspaceID, objectID: object.objectID, path: object.path, modifiedAt: object.modifiedAt, format: format)
        }
    }

    private struct Entry {
        var contentVersion: Int64
        var exported: ExportedObject
        /// The JSON body's whole allocation (NIO rounds it up to a power of two), not only its bytes.
        var bytes: Int { exported.content.count + (exported.jsonBody?.capacity ?? 0) }
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Keys in the order they were added, oldest first.
        var order: [Key] = []
        var bytes = 0
    }

    let capacity: Int
    let largestEntry: Int
    let maximumEntries: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - capacity: the most bytes kept, in all.
    ///   - largestEntry: the largest stored notebook kept, in bytes.
    ///   - maximumEntries: the most exports kept.
    init(capacity: Int = 8 << 20, largestEntry: Int = 1 << 20, maximumEntries: Int = 1024) {
        self.capacity = capacity
        self.largestEntry = largestEntry
        self.maximumEntries = maximumEntries
    }

    /// The export kept for `key`, with its JSON body, when it was made from `contentVersion`.
    func kept(_ key: Key, contentVersion: Int64) -> ExportedObject? {
        state.withLock { state in
            guard let entry = state.entries[key], entry.contentVersion == contentVersion else { return nil }
            return entry.exported
        }
    }

    /// Keeps `exported`, made from `contentVersion`, for `key` with its JSON body when the notebook
    /// (`storedSize` bytes stored) is small enough, and returns it as kept.
    func keep(_ exported: ExportedObject, for key: Key, contentVersion: Int64, storedSize: Int) -> ExportedObject {
        guard storedSize <= largestEntry else { return exported }
        var exported = exported
        exported.jsonBody = exported.json()
        let entry = Entry(contentVersion: contentVersion, exported: exported)
        guard entry.bytes <= capacity else { return exported }
        state.withLock { state in
            if let replaced = state.entries.updateValue(entry, forKey: key) {
                state.bytes -= replaced.bytes
            } else {
                state.order.append(key)
            }
            state.bytes += entry.bytes
            while state.bytes > capacity || state.entries.count > maximumEntries, !state.order.isEmpty {
                let oldest = state.order.removeFirst()
                if let removed = state.entries.removeValue(forKey: oldest) { state.bytes -= removed.bytes }
            }
        }
        return exported
    }

    /// How many exports are kept, and their bytes (for tests).
    var usage: (entries: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }
}
