import Foundation
import KilnCore

/// Where workspaces keep their files: a storage configuration's bucket is a directory under the storage
/// root, and each workspace has its area `<root>/<bucket>/<workspace_id>` in it.
public struct WorkspaceStorage: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    func area(bucket: String, workspaceID: Int64) -> URL {
        URL(fileURLWithPath: root).appendingPathComponent(bucket).appendingPathComponent(String(workspaceID))
    }

    /// Creates the workspace's area and proves it can be written. Throws a message for the user.
    func provision(bucket: String, workspaceID: Int64) throws {
        let area = area(bucket: bucket, workspaceID: workspaceID)
        do {
            try FileManager.default.createDirectory(at: area, withIntermediateDirectories: true)
            try Data("{\"workspace_id\":\(workspaceID)}\n".utf8).write(to: area.appendingPathComponent("workspace.json"), options: .atomic)
        } catch {
            throw KilnError(.invalidState, "The root bucket \(bucket) cannot be written (\(area.path)): \((error as NSError).localizedDescription)")
        }
    }

    /// Removes a deleted workspace's area.
    public func remove(bucket: String, workspaceID: Int64) {
        try? FileManager.default.removeItem(at: area(bucket: bucket, workspaceID: workspaceID))
    }
}
