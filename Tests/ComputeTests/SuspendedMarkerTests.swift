import Compute
import Foundation
import Testing

/// The marker beside a suspended compute's data directory and the login verifiers it keeps.
@Suite struct SuspendedMarkerTests {
    @Test func theMarkerKeepsVerifiersUntilTheComputeRuns() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-marker-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directories = DataDirectories(configuration: try ComputeConfiguration(workDirectory: root))
        let path = root + "/data"
        let verifiers = ["app": "SCRAM-SHA-256$4096:c2FsdA==$a2V5:c2VydmVy", "nopassword": ""]
        #expect(directories.keptVerifiers(path) == nil && !directories.isSuspended(path))
        directories.replaceVerifiers(path, with: verifiers) // not suspended: nothing to replace
        #expect(!directories.isSuspended(path))
        directories.setSuspended(path, true, verifiers: verifiers)
        #expect(directories.isSuspended(path) && directories.keptVerifiers(path) == verifiers)
        let attributes = try FileManager.default.attributesOfItem(atPath: path + ".suspended")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        directories.replaceVerifiers(path, with: nil)
        #expect(directories.isSuspended(path) && directories.keptVerifiers(path) == nil)
        directories.setSuspended(path, false)
        #expect(!directories.isSuspended(path) && directories.keptVerifiers(path) == nil)
    }
}
