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
    /// The body Databricks answers errors with, `{"error_code","message"}` (with `details` when there are
    /// any): the HTTP edge's error responses and a failed operation's `error` alike.
    public var envelope: JSONTree { Self.envelope(code: code.rawValue, message: message, details: details) }

    /// The envelope for a code that is not (only) a Databricks one, such as SCIM's.
    public static func envelope(code: String, message: String, details: [JSONTree] = []) -> JSONTree {
        var members: [JSONTree.Member] = [.init("error_code", .string(code)), .init("message", .string(message))]
        if !details.isEmpty { members.append(.init("details", .array(details))) }
        return .object(members)
    }

    /// `INVALID_PARAMETER_VALUE`, the most common client error.
    public static func invalidParameter(_ message: String) -> KilnError {
        KilnError(.invalidParameterValue, message)
    }

    /// `INVALID_PARAMETER_VALUE` for a required field that is absent or empty.
    public static func missingField(_ name: String) -> KilnError {
        KilnError(.invalidParameterValue, "Missing required field: \(name)")
    }
}
