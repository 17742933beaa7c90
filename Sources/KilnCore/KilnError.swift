/// The error every domain module throws for a failure a client caused or can act on.
///
/// It carries a Databricks error code and a message written for the user. The HTTP edge turns it into
/// the `{"error_code","message"}` body with the status that belongs to the code; nothing else needs to
/// know about HTTP. Never put "Unexpected error" in a message: the SDK retries such errors for minutes.
public struct KilnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The Databricks error code, for example `RESOURCE_DOES_NOT_EXIST`.
    public var code: ErrorCode
    /// A human-readable explanation, in the words Databricks uses where they are known.
    public var message: String
    /// Structured details (`google.rpc.ErrorInfo` and the like), sent as the body's `details` array.
    public var details: [JSONTree]

    public init(_ code: ErrorCode, _ message: String, details: [JSONTree] = []) {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension KilnError {
    /// `INVALID_PARAMETER_VALUE`, the most common client error.
    public static func invalidParameter(_ message: String) -> KilnError {
        KilnError(.invalidParameterValue, message)
    }

    /// `INVALID_PARAMETER_VALUE` for a required field that is absent or empty.
    public static func missingField(_ name: String) -> KilnError {
        KilnError(.invalidParameterValue, "Missing required field: \(name)")
    }
}
