/// The Databricks error codes Kiln answers with. The raw value is the wire spelling.
public enum ErrorCode: String, Sendable, CaseIterable {
    case invalidParameterValue = "INVALID_PARAMETER_VALUE"
    case malformedRequest = "MALFORMED_REQUEST"
    case resourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST"
    case resourceAlreadyExists = "RESOURCE_ALREADY_EXISTS"
    case directoryNotEmpty = "DIRECTORY_NOT_EMPTY"
    case maxNotebookSizeExceeded = "MAX_NOTEBOOK_SIZE_EXCEEDED"
    case unauthenticated = "UNAUTHENTICATED"
    case permissionDenied = "PERMISSION_DENIED"
    case endpointNotFound = "ENDPOINT_NOT_FOUND"
    case requestEntityTooLarge = "REQUEST_ENTITY_TOO_LARGE"
    case notImplemented = "NOT_IMPLEMENTED"
    case aborted = "ABORTED"
    case invalidState = "INVALID_STATE"
    case internalError = "INTERNAL_ERROR"
    /// Lakebase's spelling of a missing resource (404).
    case notFound = "NOT_FOUND"
    /// Lakebase's spelling of a duplicate (409).
    case alreadyExists = "ALREADY_EXISTS"
    /// A request the resource's current state forbids, as Lakebase answers it (400).
    case badRequest = "BAD_REQUEST"
    /// A per-workspace or per-project quota is used up (400: the SDK must not retry it).
    case resourceLimitExceeded = "RESOURCE_LIMIT_EXCEEDED"
}
