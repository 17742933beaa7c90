public import Hummingbird
import KilnCore
import Logging

/// Turns every error into a Databricks-style JSON response, and logs every 500 at error level with the
/// request id (Hummingbird itself logs unknown errors only at debug level).
public struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    @concurrent public func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try translate(error, request: request, context: context).response(from: request, context: context)
        }
    }

    func translate(_ error: any Error, request: Request, context: Context) -> DatabricksError {
        switch error {
        case let error as DatabricksError:
            return error
        case let error as KilnError:
            let translated = DatabricksError(error)
            if translated.status == .internalServerError { logFailure(error, request: request, context: context) }
            return translated
        case let error as HTTPError where error.status == .notFound:
            return DatabricksError(
                status: .notFound, code: ErrorCode.endpointNotFound.rawValue,
                message: "No API found for '\(request.method) \(request.uri.path)'")
        case let error as HTTPError where error.status == .contentTooLarge:
            return DatabricksError(
                status: .contentTooLarge, code: ErrorCode.requestEntityTooLarge.rawValue,
                message: "The request body is too large.")
        case let error as HTTPError where error.status.code < 500:
            return DatabricksError(
                status: error.status, code: ErrorCode.invalidParameterValue.rawValue,
                message: error.body ?? error.status.reasonPhrase)
        default:
            logFailure(error, request: request, context: context)
            return DatabricksError(
                status: .internalServerError, code: ErrorCode.internalError.rawValue,
                message: "Kiln failed to handle this request (request id \(context.id)); the server log has the details.")
        }
    }

    private func logFailure(_ error: any Error, request: Request, context: Context) {
        context.logger.error(
            "Request failed",
            metadata: [
                "error": "\(String(reflecting: error))",
                "method": "\(request.method)",
                "path": "\(request.uri.path)",
            ]
        )
    }
}
