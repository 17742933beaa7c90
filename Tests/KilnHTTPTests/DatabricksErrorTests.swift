import HTTPTypes
import KilnCore
import Testing
@testable import KilnHTTP

@Suite struct DatabricksErrorTests {
    @Test(arguments: ErrorCode.allCases)
    func everyCodeHasAStatusAndRendersItsName(code: ErrorCode) {
        let error = DatabricksError(KilnError(code, "m"))
        #expect(error.code == code.rawValue)
        #expect((400...599).contains(error.status.code))
    }

    @Test func statusesFollowTheContract() {
        #expect(DatabricksError(KilnError(.resourceDoesNotExist, "")).status == .notFound)
        #expect(DatabricksError(KilnError(.directoryNotEmpty, "")).status == .badRequest)
        #expect(DatabricksError(KilnError(.maxNotebookSizeExceeded, "")).status == .badRequest)
        #expect(DatabricksError(KilnError(.unauthenticated, "")).status == .unauthorized)
    }
}
