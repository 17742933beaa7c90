import Foundation
import Persistence
import PersistenceTestSupport
import Testing

@Suite struct EngineCoverageTests {
    /// The full test command (`scripts/test`, which CI runs) starts a PostgreSQL server for the repository
    /// suites and says so with `KILN_TEST_REQUIRE_POSTGRES=1`: then they must really run on it too, not
    /// silently skip it.
    @Test func postgresIsCoveredWhenTheTestCommandProvidesIt() {
        if ProcessInfo.processInfo.environment["KILN_TEST_REQUIRE_POSTGRES"] == "1" {
            #expect(TestDatabases.postgresURL != nil, "scripts/test must provide KILN_TEST_POSTGRES_URL")
            #expect(TestDatabases.engines == [.sqlite, .postgres])
        }
    }
}
