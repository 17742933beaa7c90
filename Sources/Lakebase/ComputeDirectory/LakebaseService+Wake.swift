import Compute
import KilnCore
import Logging
import Persistence

/// Scale to zero, as the proxy drives it: a compute wakes when a client connects (`wake`) and is suspended when
/// idle (`suspend`); both go through the reconciler to `DataDirectoryOwner`, which serialises them with copies.
extension LakebaseService {
    /// Starts the endpoint's compute if it is suspended; true when it had to be started. Throws when
    /// it is disabled or cannot start.
    public func wake(_ endpoint: ConnectableEndpoint) async throws -> Bool {
        if await reconciler.driver.isRunning(id: endpoint.uid) { return false }
        guard let row = try await database.read({ db in try await ResourceTable.endpoint(db, uid: endpoint.uid) }) else {
            throw KilnError(.notFound, "endpoint \(endpoint.uid) not found")
        }
        guard !row.endpointSpec.disabled else { throw KilnError(.invalidState, "endpoint \(endpoint.uid) is disabled") }
        try await reconciler.startIfWanted(row, unlessRunning: true)
        guard await reconciler.driver.isRunning(id: endpoint.uid) else {
            throw KilnError(.invalidState, "endpoint \(endpoint.uid) cannot run now")
        }
        return true
    }

    /// Suspends an endpoint nobody uses (scale to zero): its postgres stops, its state becomes IDLE —
    /// unless `stillIdle()`, asked once the branch's data is free, says a client came meanwhile.
    public func suspend(uid: String, stillIdle: @escaping @Sendable () async -> Bool = { true }) async {
        guard let row = try? await database.read({ db in try await ResourceTable.endpoint(db, uid: uid) }),
            !row.endpointSpec.noSuspension, await reconciler.driver.isRunning(id: uid)
        else { return }
        guard await reconciler.suspend(row, stillIdle: stillIdle) else { return }
        if let port = row.port { await reconciler.driver.closeConnections(port: port) }
        logger.info("Suspended an idle endpoint", metadata: ["endpoint": "\(row.name)"])
    }

    /// Stops the computes whose endpoints are gone without an operation of their own (their workspace
    /// was deleted), and drops their proxy listeners.
    public func stopComputesWithoutEndpoints() async {
        guard let endpoints = try? await database.read({ db in try await ResourceTable.all(db, kind: .endpoint) }) else { return }
        let known = Set(endpoints.map(\.uid))
        for id in await reconciler.driver.ids() where !known.contains(id) && !id.hasPrefix(DataDirectoryOwner.maintenancePrefix) {
            await reconciler.dataOwner.stop(id: id)
            logger.info("Stopped the compute of a deleted endpoint", metadata: ["endpoint": "\(id)"])
        }
        await reconciler.driver.closeAllConnections()
        await reconciler.notifyEndpointsChanged()
    }
}
