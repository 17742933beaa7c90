public import HTTPTypes
public import Hummingbird
public import KilnCore
import NIOCore
import Foundation

/// The one error type of the HTTP edge: it renders as `{"error_code","message"}` with its status.
public struct DatabricksError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [JSONTree]
    /// Set for SCIM endpoints' own errors, which Databricks answers in SCIM's shape (RFC 7644 §3.12):
    /// `{"schemas":[…Error],"detail","scimType","status"}`; the SDK reads them as "<scimType> <detail>".
    public var scimType: String?

    public init(status: HTTPResponse.Status, code: String, message: String, details: [JSONTree] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    /// A SCIM error such as `invalidFilter`.
    public static func scim(status: HTTPResponse.Status, scimType: String, detail: String) -> DatabricksError {
        var error = DatabricksError(status: status, code: "SCIM_\(status.code)", message: detail)
        error.scimType = scimType
        return error
    }

    /// The one mapping from a domain error to its HTTP status.
    public init(_ error: KilnError) {
        self.init(status: Self.status(for: error.code), code: error.code.rawValue, message: error.message, details: error.details)
    }

    static func status(for code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .invalidParameterValue, .malformedRequest, .directoryNotEmpty, .maxNotebookSizeExceeded, .invalidState,
            .badRequest, .resourceLimitExceeded:
            .badRequest
        // Production Databricks answers 400 for RESOURCE_ALREADY_EXISTS on workspace import and mkdirs;
        // the SDK classifies by code, so both 400 and 409 give ResourceAlreadyExists.
        case .resourceAlreadyExists: .badRequest
        case .resourceDoesNotExist, .endpointNotFound, .notFound: .notFound
        case .alreadyExists: .conflict
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .requestEntityTooLarge: .contentTooLarge
        case .aborted: .conflict
        case .notImplemented: .notImplemented
        case .internalError: .internalServerError
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body = ByteBuffer()
        if let scimType {
            body.writeBytes(
                JSONTree.object([
                    .init("schemas", .array([.string("urn:ietf:params:scim:api:messages:2.0:Error")])),
                    .init("detail", .string(message)), .init("scimType", .string(scimType)),
                    .init("status", .string(String(status.code))),
                ]).compactJSON())
        } else {
            body.writeBytes(KilnError.envelope(code: code, message: message, details: details).compactJSON())
        }
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: body)
        )
    }
}
