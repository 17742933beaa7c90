import KilnCore
import Synchronization
import Testing
@testable import Lakebase
@testable import Compute

@Suite struct OperationTests {
    @Test func operationsAreNamedUnderTheirResource() throws {
        let name = try #require(ResourceName("projects/p/branches/b"))
        let operation = OperationRecord(workspaceID: 1, kind: .createBranch, resource: name, now: 0)
        #expect(operation.name.hasPrefix("projects/p/branches/b/operations/"))
        let json = operation.json
        #expect(json["done"] == .bool(false) && json["response"] == nil && json["error"] == nil)
        #expect(json.value(at: ["metadata", "@type"]) == .string("type.googleapis.com/databricks.postgres.v1.BranchOperationMetadata"))
    }

    @Test func deletesAnswerEmpty() {
        #expect(OperationKind.deleteBranch.answersEmpty && OperationKind.undeleteProject.answersEmpty)
        #expect(!OperationKind.createBranch.answersEmpty && !OperationKind.updateRole.answersEmpty)
    }

    @Test(.timeLimit(.minutes(1))) func waitersAreReleasedByCompletionOrAnEarlyResolve() async throws {
        let board = CompletionBoard()
        let released = Mutex(false)
        let ticket = board.ticket()
        async let waited: Void = {
            await board.wait("op", ticket: ticket)
            released.withLock { $0 = true }
        }()
        try await Task.sleep(for: .milliseconds(30))
        board.complete("another op")
        try await Task.sleep(for: .milliseconds(30))
        #expect(!released.withLock { $0 }, "released before its operation completed")
        board.complete("op")
        await waited
        #expect(released.withLock { $0 })
        let early = board.ticket()
        board.resolve("other", ticket: early)
        await board.wait("other", ticket: early) // resolved before it waited: returns at once (else the time limit fails it)
    }

    @Test func credentialsVerifyAndRejectForgeries() {
        let credentials = DatabaseCredentials(keyData: .init(repeating: 7, count: 32))
        let claims = DatabaseCredentialClaims(workspaceID: 1, endpoint: "ep-a", subject: "me@x", expires: 10)
        let token = credentials.issue(claims)
        #expect(credentials.verify(token) == claims)
        #expect(credentials.verify(token + "x") == nil)
        #expect(DatabaseCredentials(keyData: .init(repeating: 8, count: 32)).verify(token) == nil)
    }
}
