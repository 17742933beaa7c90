import KilnCore
import Testing

@Suite struct ErrorCodeTests {
    /// `resourceDoesNotExist` → `RESOURCE_DOES_NOT_EXIST`.
    private func screamingSnakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase { result += "_" }
            result += character.uppercased()
        }
        return result
    }

    @Test(arguments: ErrorCode.allCases)
    func theWireSpellingIsTheCaseNameInUpperSnakeCase(code: ErrorCode) {
        #expect(code.rawValue == screamingSnakeCase(String(describing: code)))
        #expect(ErrorCode(rawValue: code.rawValue) == code)
    }

    @Test func theCodesDatabricksClientsMatchOnAreSpelledExactly() {
        #expect(ErrorCode.invalidParameterValue.rawValue == "INVALID_PARAMETER_VALUE")
        #expect(ErrorCode.resourceDoesNotExist.rawValue == "RESOURCE_DOES_NOT_EXIST")
        #expect(ErrorCode.resourceAlreadyExists.rawValue == "RESOURCE_ALREADY_EXISTS")
        #expect(ErrorCode.maxNotebookSizeExceeded.rawValue == "MAX_NOTEBOOK_SIZE_EXCEEDED")
        #expect(ErrorCode.resourceLimitExceeded.rawValue == "RESOURCE_LIMIT_EXCEEDED")
        #expect(ErrorCode.notFound.rawValue == "NOT_FOUND")
        #expect(ErrorCode.alreadyExists.rawValue == "ALREADY_EXISTS")
    }

    @Test func everyCodeIsDistinctAndUnknownSpellingsAreNotCodes() {
        #expect(Set(ErrorCode.allCases.map(\.rawValue)).count == ErrorCode.allCases.count)
        #expect(ErrorCode(rawValue: "not_found") == nil)
        #expect(ErrorCode(rawValue: "TEMPORARILY_UNAVAILABLE") == nil)
    }
}
