import KilnCore
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

    @Test func waitersAreReleasedByCompletionOrTimeout() async {
        let board = CompletionBoard()
        let ticket = board.ticket()
        async let waited: Void = board.wait("op", ticket: ticket)
        try? await Task.sleep(for: .milliseconds(10))
        board.complete("op")
        await waited
        let early = board.ticket()
        board.resolve("other", ticket: early)
        await board.wait("other", ticket: early)   // resolved before it waited: returns at once
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
