import Persistence
import Testing

@Suite struct DatabaseEngineTests {
    @Test func rawValuesNameTheEngines() {
        #expect(DatabaseEngine(rawValue: "sqlite") == .sqlite)
        #expect(DatabaseEngine(rawValue: "postgres") == .postgres)
        #expect(DatabaseEngine(rawValue: "postgresql") == nil)
    }

    @Test func ddlUsesEachDialectsTypes() {
        #expect(DatabaseEngine.sqlite.blobType == "BLOB")
        #expect(DatabaseEngine.postgres.blobType == "BYTEA")
        #expect(DatabaseEngine.sqlite.byteOrderedText == "TEXT")
        #expect(DatabaseEngine.postgres.byteOrderedText == #"TEXT COLLATE "C""#)
    }

    @Test(arguments: [DatabaseEngine.sqlite, .postgres])
    func theSchemaIsWrittenForTheEngine(engine: DatabaseEngine) {
        let statements = Schema.migrations.flatMap { $0.statements(engine) }
        let objects = statements.first { $0.contains("CREATE TABLE workspace_objects") } ?? ""
        #expect(objects.contains("path \(engine.byteOrderedText) NOT NULL"))
        #expect(objects.contains("content \(engine.blobType)"))
        #expect(!statements.joined().contains(engine == .sqlite ? "BYTEA" : "BLOB"))
    }

    @Test func migrationVersionsStartAtOneAndIncreaseByOne() {
        #expect(Schema.migrations.map(\.version) == Array(1...Schema.migrations.count))
        #expect(Schema.migrations.allSatisfy { !$0.name.isEmpty })
    }
}
