import KilnCore
import Testing
@testable import Accounts

@Suite struct RunningWorkspaceUpdateTests {
    let current = JSONTreeFixture.object(["credentials_id": "c1", "private_access_settings_id": "p1", "storage_customer_managed_key_id": "k1"])

    func code(_ field: String, _ value: String?) -> ErrorCode? {
        do {
            _ = try AccountWorkspaces.runningChanges([field], body: JSONTreeFixture.object([field: value]), current: current, workspaceID: 1)
            return nil
        } catch {
            return (error as? KilnError)?.code
        }
    }

    @Test func aRunningWorkspaceTakesWhatDatabricksAllows() throws {
        let body = JSONTreeFixture.object(["credentials_id": "c2", "custom_tags": nil, "private_access_settings_id": "p2"])
        let changes = try AccountWorkspaces.runningChanges(
            ["credentials_id", "private_access_settings_id", "custom_tags"],
            body: body, current: current, workspaceID: 1)
        #expect(changes == ["credentials_id", "private_access_settings_id"])
        #expect(code("storage_customer_managed_key_id", "k2") == .invalidParameterValue)
        #expect(code("network_id", "n1") == .invalidParameterValue)
        #expect(code("private_access_settings_id", nil) == .invalidParameterValue)
        #expect(code("managed_services_customer_managed_key_id", "m1") == nil)
        #expect(code("aws_region", "us-west-2") == .invalidState)
        #expect(code("workspace_name", "x") == .invalidState)
    }
}
