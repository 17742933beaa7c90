import Foundation
import Testing

@Suite struct EngineCoverageTests {
    /// In CI the repository suite must really run on PostgreSQL too, not silently skip it.
    @Test func postgresIsCoveredInCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(TestDatabases.postgresURL != nil, "scripts/test must provide KILN_TEST_POSTGRES_URL")
        }
    }
}
