import ComputeTestSupport
import KilnCore
@testable import Lakebase
import Testing

/// The read-only host of a read-write endpoint: clients there go to its branch's enabled read replicas in turn.
@Suite struct ReadOnlyHostTests {
    @Test func clientsOfTheReadOnlyHostGoToEachEnabledReplicaInTurn() async throws {
        try await LakebaseHarness.run { lake in
            try await lake.createProject()
            try await lake.createBranch("dev")
            let primary = try #require(try await lake.connectable(try await lake.uid(ProjectTests.production + "/endpoints/primary")))
            #expect(try await lake.service.readReplica(for: primary) == nil)

            for id in ["r1", "r2", "r3"] {
                try await lake.create(.endpoint, in: ProjectTests.production, id: id, spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            }
            // Another branch's replica is never chosen; a disabled one neither.
            try await lake.create(.endpoint, in: "projects/p/branches/dev", id: "elsewhere", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY"}"#)
            try await lake.update(
                ProjectTests.production + "/endpoints/r3", mask: "spec.disabled", spec: #"{"endpoint_type": "ENDPOINT_TYPE_READ_ONLY", "disabled": true}"#)
            let enabled = Set([try await lake.uid(ProjectTests.production + "/endpoints/r1"), try await lake.uid(ProjectTests.production + "/endpoints/r2")])
            var chosen: [String] = []
            for _ in 0..<4 { chosen.append(try #require(try await lake.service.readReplica(for: primary)).uid) }
            #expect(Set(chosen) == enabled)
            #expect(chosen[0] != chosen[1] && chosen[0] == chosen[2])
        }
    }
}
