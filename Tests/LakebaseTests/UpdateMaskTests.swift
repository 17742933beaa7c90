import KilnCore
import Testing
@testable import Lakebase
@testable import Compute

@Suite struct UpdateMaskTests {
    func json(_ text: String) throws -> JSONTree { try JSONTree.parse(Array(text.utf8)) }

    let project = UpdateMask(rules: .project)

    @Test func masksApplyOnlyTheirPaths() throws {
        let current = try json(#"{"display_name":"a","enable_pg_native_login":false}"#)
        let body = try json(#"{"spec":{"display_name":"b","enable_pg_native_login":true}}"#)
        let result = try project.apply(paths: ["spec.display_name"], body: body, to: current)
        #expect(result["display_name"] == .string("b"))
        #expect(result["enable_pg_native_login"] == .bool(false))
    }

    @Test func unknownPathsAreRefused() throws {
        #expect(throws: KilnError.invalidParameter("Unknown field path in update_mask: 'spec.nope'")) {
            try project.apply(paths: ["spec.nope"], body: try json(#"{"spec":{}}"#), to: try json("{}"))
        }
    }

    @Test func missingLeavesAreRefusedAndMissingListsClear() throws {
        let current = try json(#"{"display_name":"a","custom_tags":[{"key":"k","value":"v"}]}"#)
        #expect(throws: KilnError.self) { try project.apply(paths: ["spec.display_name"], body: try json(#"{"spec":{}}"#), to: current) }
        let cleared = try project.apply(paths: ["spec.custom_tags"], body: try json(#"{"spec":{}}"#), to: current)
        #expect(cleared["custom_tags"] == nil && cleared["display_name"] == .string("a"))
    }

    @Test func oneofGroupReplacesItsMembers() throws {
        let current = try json(#"{"default_endpoint_settings":{"suspend_timeout_duration":"300s","autoscaling_limit_min_cu":1}}"#)
        let body = try json(#"{"spec":{"default_endpoint_settings":{"no_suspension":true}}}"#)
        let result = try project.apply(paths: ["spec.default_endpoint_settings.suspension"], body: body, to: current)
        #expect(result.value(at: ["default_endpoint_settings", "suspend_timeout_duration"]) == nil)
        #expect(result.value(at: ["default_endpoint_settings", "no_suspension"]) == .bool(true))
        #expect(result.value(at: ["default_endpoint_settings", "autoscaling_limit_min_cu"]) == .number("1"))
    }

    @Test func immutableFieldsAreIgnoredInTheBodyAndUnknownInTheMask() throws {
        let endpoint = UpdateMask(rules: .endpoint)
        let current = try json(#"{"endpoint_type":"ENDPOINT_TYPE_READ_WRITE","disabled":false}"#)
        let body = try json(#"{"spec":{"endpoint_type":"ENDPOINT_TYPE_READ_ONLY","disabled":true}}"#)
        let result = try endpoint.apply(paths: ["spec.disabled"], body: body, to: current)
        #expect(result["endpoint_type"] == .string("ENDPOINT_TYPE_READ_WRITE") && result["disabled"] == .bool(true))
        #expect(throws: KilnError.invalidParameter("Unknown field path in update_mask: 'spec.endpoint_type'")) {
            try endpoint.apply(paths: ["spec.endpoint_type"], body: body, to: current)
        }
    }

    /// Oneof members, immutable and create-only fields are not updatable paths (a oneof is named by its
    /// group), whatever else the mask names; the unknown path is reported before any missing field.
    @Test(arguments: [
        (ResourceKind.project, "spec.default_endpoint_settings.suspend_timeout_duration"),
        (.project, "spec.default_endpoint_settings.no_suspension"), (.project, "initial_endpoint_spec"),
        (.project, "initial_branch_spec"), (.project, "spec.pg_version"), (.branch, "spec.ttl"), (.branch, "spec.expire_time"),
        (.branch, "spec.no_expiry"), (.branch, "spec.source_branch"), (.endpoint, "spec.suspend_timeout_duration"),
        (.endpoint, "spec.no_suspension"), (.role, "spec.postgres_role"), (.role, "spec.identity_type"),
        (.database, "spec.bogus"), (.endpoint, "spec.settings.pg_settings['work_mem']"),
    ])
    func notUpdatablePathsAreUnknown(kind: ResourceKind, path: String) throws {
        #expect(throws: KilnError.invalidParameter("Unknown field path in update_mask: '\(path)'")) {
            try UpdateMask(rules: .of(kind)).apply(paths: [path, "spec"], body: try json(#"{"spec":{}}"#), to: try json("{}"))
        }
    }

    @Test func aNamedMessageNeedsEveryFieldBelowIt() throws {
        let current = try json(#"{"default_endpoint_settings":{"autoscaling_limit_min_cu":1,"autoscaling_limit_max_cu":4,"suspend_timeout_duration":"300s"}}"#)
        let body = try json(#"{"spec":{"default_endpoint_settings":{"autoscaling_limit_min_cu":0.5,"autoscaling_limit_max_cu":2}}}"#)
        #expect(
            throws: KilnError.invalidParameter(
                "Field 'spec.default_endpoint_settings.suspension' is in update_mask but not provided in request")
        ) {
            try project.apply(paths: ["spec.default_endpoint_settings"], body: body, to: current)
        }
        let leaf = try project.apply(paths: ["spec.default_endpoint_settings.autoscaling_limit_max_cu"], body: body, to: current)
        #expect(leaf.value(at: ["default_endpoint_settings", "autoscaling_limit_max_cu"]) == .number("2"))
        #expect(leaf.value(at: ["default_endpoint_settings", "autoscaling_limit_min_cu"]) == .number("1"))
        let merged = try project.apply(paths: ["spec"], body: body, to: current)
        #expect(merged.value(at: ["default_endpoint_settings", "autoscaling_limit_min_cu"]) == .number("0.5"))
        #expect(merged.value(at: ["default_endpoint_settings", "suspend_timeout_duration"]) == .string("300s"))
        let whole = try json(#"{"spec":{"default_endpoint_settings":{"autoscaling_limit_min_cu":0.5,"autoscaling_limit_max_cu":2,"no_suspension":true}}}"#)
        let replaced = try project.apply(paths: ["spec.default_endpoint_settings"], body: whole, to: current)
        #expect(replaced.value(at: ["default_endpoint_settings", "suspend_timeout_duration"]) == nil)
        #expect(replaced.value(at: ["default_endpoint_settings", "no_suspension"]) == .bool(true))
    }

    @Test func aOneofGroupSentAsNullIsMissing() throws {
        let endpoint = UpdateMask(rules: .endpoint)
        let current = try json(#"{"suspend_timeout_duration":"300s"}"#)
        #expect(throws: KilnError.invalidParameter("Field 'spec.suspension' is in update_mask but not provided in request")) {
            try endpoint.apply(paths: ["spec.suspension"], body: try json(#"{"spec":{"suspend_timeout_duration":null}}"#), to: current)
        }
        #expect(throws: KilnError.self) {
            try endpoint.apply(paths: ["spec.suspension"], body: try json(#"{"spec":{"suspend_timeout_duration":"60s","no_suspension":true}}"#), to: current)
        }
        let kept = try endpoint.apply(paths: ["spec"], body: try json(#"{"spec":{"suspend_timeout_duration":null,"disabled":true}}"#), to: current)
        #expect(kept["suspend_timeout_duration"] == .string("300s") && kept["disabled"] == .bool(true))
    }

    @Test func specWithOtherPathsReplacesEverything() throws {
        let branch = UpdateMask(rules: .branch)
        #expect(throws: KilnError.invalidParameter("Field 'spec.expiration' is in update_mask but not provided in request")) {
            try branch.apply(paths: ["spec", "spec.is_protected"], body: try json(#"{"spec":{"is_protected":true}}"#), to: try json("{}"))
        }
        let result = try branch.apply(
            paths: ["*"], body: try json(#"{"spec":{"is_protected":true,"no_expiry":true}}"#),
            to: try json(#"{"ttl":"3600s"}"#))
        #expect(result["ttl"] == nil && result["no_expiry"] == .bool(true) && result["is_protected"] == .bool(true))
    }

    @Test func noMaskMergesTheSpec() throws {
        let result = try UpdateMask(rules: .role).apply(
            paths: UpdateMask.paths(nil), body: try json(#"{"spec":{"attributes":{"createdb":true}}}"#),
            to: try json(#"{"postgres_role":"r","attributes":{"createdb":false,"createrole":true}}"#))
        #expect(result.value(at: ["attributes", "createdb"]) == .bool(true))
        #expect(result.value(at: ["attributes", "createrole"]) == .bool(true))
    }

    @Test func starNeedsEveryField() throws {
        #expect(throws: KilnError.self) {
            try project.apply(paths: ["*"], body: try json(#"{"spec":{"display_name":"x"}}"#), to: try json("{}"))
        }
    }
}
