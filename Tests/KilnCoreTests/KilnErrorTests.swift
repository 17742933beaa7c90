import KilnCore
import Testing

@Suite struct KilnErrorTests {
    @Test func theEnvelopeHasTheCodeThenTheMessage() {
        let error = KilnError(.resourceDoesNotExist, "Path (/x) doesn't exist.")
        #expect(
            error.envelope
                == .object([
                    .init("error_code", .string("RESOURCE_DOES_NOT_EXIST")), .init("message", .string("Path (/x) doesn't exist.")),
                ]))
        #expect(
            String(decoding: error.envelope.compactJSON(), as: UTF8.self)
                == #"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Path (/x) doesn't exist."}"#)
    }

    @Test func detailsAreSentOnlyWhenThereAreAny() {
        let info = JSONTree.object([.init("@type", .string("type.googleapis.com/google.rpc.ErrorInfo")), .init("reason", .string("R"))])
        let error = KilnError(.notFound, "gone", details: [info])
        #expect(error.envelope["details"] == .array([info]))
        #expect(
            String(decoding: error.envelope.compactJSON(), as: UTF8.self)
                == #"{"error_code":"NOT_FOUND","message":"gone","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"R"}]}"#)
        #expect(KilnError(.notFound, "gone", details: []).envelope["details"] == nil)
    }

    @Test func anEnvelopeCanCarryACodeOutsideErrorCode() {
        let envelope = KilnError.envelope(code: "invalidFilter", message: "bad filter")
        #expect(envelope == .object([.init("error_code", .string("invalidFilter")), .init("message", .string("bad filter"))]))
        #expect(KilnError.envelope(code: "c", message: "m", details: [.null])["details"] == .array([.null]))
    }

    @Test func messagesAreEscapedInTheEnvelope() {
        let error = KilnError(.invalidParameterValue, "bad \"name\"\n")
        #expect(
            String(decoding: error.envelope.compactJSON(), as: UTF8.self)
                == #"{"error_code":"INVALID_PARAMETER_VALUE","message":"bad \"name\"\n"}"#)
    }

    @Test func shorthandsUseInvalidParameterValue() {
        #expect(KilnError.invalidParameter("x must be positive") == KilnError(.invalidParameterValue, "x must be positive"))
        #expect(KilnError.missingField("path") == KilnError(.invalidParameterValue, "Missing required field: path"))
    }

    @Test func equalityCoversCodeMessageAndDetails() {
        let base = KilnError(.aborted, "m")
        #expect(base == KilnError(.aborted, "m"))
        #expect(base != KilnError(.invalidState, "m"))
        #expect(base != KilnError(.aborted, "n"))
        #expect(base != KilnError(.aborted, "m", details: [.null]))
    }

    @Test func theDescriptionNamesTheCode() {
        #expect(KilnError(.permissionDenied, "no").description == "PERMISSION_DENIED: no")
        #expect("\(KilnError(.internalError, "disk full"))" == "INTERNAL_ERROR: disk full")
    }
}
