import KilnCore
import Testing
@testable import Lakebase
@testable import Compute

@Suite struct SpecsTests {
    @Test(arguments: [(0.5, 4.0, true), (1, 17, true), (1, 18, false), (0.25, 1, false), (8, 4, false), (1, 64, false), (48, 64, true), (1.3, 2, false)])
    func computeUnits(min: Double, max: Double, valid: Bool) throws {
        let spec = JSONTree.object([.init("autoscaling_limit_min_cu", .double(min)), .init("autoscaling_limit_max_cu", .double(max))])
        let result = Result { try Specs.computeSettings(SpecReader(spec, prefix: "spec"), defaults: .object([])) }
        #expect(((try? result.get()) != nil) == valid)
    }

    @Test func suspensionIsOneOf() throws {
        let both = JSONTree.object([.init("suspend_timeout_duration", .string("300s")), .init("no_suspension", .bool(true))])
        #expect(throws: KilnError.self) { try Specs.computeSettings(SpecReader(both, prefix: "spec"), defaults: .object([])) }
        let short = JSONTree.object([.init("suspend_timeout_duration", .string("59s"))])
        #expect(throws: KilnError.self) { try Specs.computeSettings(SpecReader(short, prefix: "spec"), defaults: .object([])) }
    }

    @Test func projectDefaultsAreMaterialised() throws {
        let spec = try Specs.project(.object([.init("pg_version", .string("16"))]), projectID: "p")
        #expect(spec["display_name"] == .string("p") && spec["pg_version"] == .number("16"))
        #expect(spec["history_retention_duration"] == .string("604800s"))
        #expect(spec.value(at: ["default_endpoint_settings", "suspend_timeout_duration"]) == .string("86400s"))
    }

    @Test func reservedSettingsAreRefused() {
        let spec = JSONTree.object([
            .init("endpoint_type", .string("ENDPOINT_TYPE_READ_WRITE")),
            .init("settings", .object([.init("pg_settings", .object([.init("port", .string("1"))]))])),
        ])
        #expect(throws: KilnError.self) { try Specs.endpoint(spec, projectDefaults: .object([])) }
    }

    @Test(arguments: [(0.5, 104), (1, 209), (4, 839), (8, 1678), (16, 3357), (32, 4000), (64, 4000)])
    func maxConnectionsFollowLakebase(cu: Double, connections: Int) {
        #expect(ComputeSize(minCU: cu, maxCU: cu).maxConnections == connections)
    }
}
