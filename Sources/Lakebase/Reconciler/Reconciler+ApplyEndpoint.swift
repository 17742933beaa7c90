import Compute
import KilnCore
import Persistence
import SQLKit

extension Reconciler {
    /// Makes the endpoint's compute match its spec; on failure an update goes back to the previous
    /// spec, a create is removed.
    func applyEndpoint(_ name: ResourceName, ws: Int64, previous: JSONTree?) async throws {
        guard var endpoint = try await row(name, ws: ws) else { throw LakebaseService.notFound(.endpoint) }
        do {
            if endpoint.isReadOnly && endpoint.dataDirectory == nil {
                endpoint = try await makeReplica(endpoint)
            }
            try await startIfWanted(endpoint)
            try await markReady([endpoint])
            if !endpoint.isReadOnly && previous != nil { await followPrimary(of: name.branch, ws: ws) }
        } catch {
            if let previous {
                var reverted = endpoint
                reverted.spec = previous
                let restored = reverted
                try await database.write { db in try await ResourceTable.update(db, restored) }
                try? await startIfWanted(restored)
            } else {
                await dataOwner.stop(id: endpoint.uid)
                if endpoint.isReadOnly { await removeReplica(endpoint) }
                try await database.write { db in try await ResourceTable.deleteTree(db, workspaceID: ws, name: name) }
            }
            throw KilnError(.invalidParameterValue, "The compute could not start with these settings: \(error)")
        }
    }
}
