import Compute
import Foundation
import KilnCore
import Logging

extension LakebaseService {
    /// Writes the workspace's Databricks identities into the data directory of the endpoint's running
    /// compute, where `databricks_create_role` reads them (`DatabricksAuthExtension.identitiesFile`).
    /// The proxy calls it on every login with a database credential — the only sessions that may call
    /// that function — so the list is as fresh as the session. A failure is logged, not thrown: the
    /// login goes on, and the function refuses identities it cannot see.
    public func publishIdentities(for endpoint: ConnectableEndpoint) async {
        do {
            guard let dataDirectory = await reconciler.driver.spec(id: endpoint.uid)?.dataDirectory else { return }
            let list = try await identities(endpoint.workspaceID)
            let tree = JSONTree.object(list.sorted { $0.key < $1.key }.map { .init($0.key, .string($0.value)) })
            let json = String(decoding: tree.compactJSON(), as: UTF8.self)
            try reconciler.driver.writeFile(DatabricksAuthExtension.identitiesFile, contents: json, inDataDirectory: dataDirectory)
        } catch {
            logger.error("Cannot write the Databricks identities for databricks_auth", metadata: ["endpoint": "\(endpoint.uid)", "error": "\(error)"])
        }
    }
}
