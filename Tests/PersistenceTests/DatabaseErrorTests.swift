import Persistence
import Testing

@Suite struct DatabaseErrorTests {
    @Test func eachFailureDescribesItselfForTheOperator() {
        #expect(DatabaseError.invalidURL("no host").description == "Invalid database URL: no host")
        #expect(
            DatabaseError.migrationFailed(version: 3, underlying: "syntax error").description
                == "Migration 3 failed: syntax error")
        #expect(
            DatabaseError.schemaTooNew(found: 7, known: 4).description
                == "The database has schema version 7, but this Kiln knows only up to 4. Upgrade Kiln.")
    }

    @Test func theDescriptionIsWhatInterpolationShows() {
        let error: any Error = DatabaseError.schemaTooNew(found: 2, known: 1)
        #expect("\(error)".hasPrefix("The database has schema version 2"))
    }
}
