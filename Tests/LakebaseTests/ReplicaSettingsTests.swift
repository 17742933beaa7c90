import Compute
import Testing
@testable import Lakebase

/// A hot standby refuses to start when some settings are below its primary's.
@Suite struct ReplicaSettingsTests {
    @Test func aSmallReplicaIsRaisedToItsPrimarysLimits() {
        let replica = ComputeSize(minCU: 0.5, maxCU: 0.5).settings
        let primary = ComputeSize(minCU: 1, maxCU: 4).settings.merging(["max_locks_per_transaction": "256"]) { $1 }
        let settings = Reconciler.standbySettings(replica, primary: primary)
        #expect(settings["max_connections"] == "839")
        #expect(settings["max_locks_per_transaction"] == "256")
        #expect(settings["max_worker_processes"] == "8")
        #expect(settings["shared_buffers"] == replica["shared_buffers"]) // its own size otherwise
    }

    @Test func aLargerReplicaKeepsItsOwnValues() {
        let replica = ComputeSize(minCU: 8, maxCU: 8).settings.merging(["max_prepared_transactions": "10"]) { $1 }
        let primary = ComputeSize(minCU: 1, maxCU: 1).settings
        let settings = Reconciler.standbySettings(replica, primary: primary)
        #expect(settings["max_connections"] == "1678")
        #expect(settings["max_prepared_transactions"] == "10")
    }
}
