import Foundation
public import Hummingbird
public import KilnCore
import NIOCore

/// The parameters of an API call, merged from the query string and the body.
///
/// Databricks clients send GET parameters in the query string (form-encoded: `+` is a space) or as a
/// JSON body, with any Content-Type (the legacy CLI says `text/json`). POST bodies are JSON, or
/// `multipart/form-data` for `workspace/import`. Body values win over query values.
public struct APIParameters: Sendable {
    var values: [String: JSONValue]
    /// The file part of a multipart body (`content`), byte-exact.
    var uploadedFile: [UInt8]?

    init(values: [String: JSONValue], uploadedFile: [UInt8]? = nil) {
        self.values = values
        self.uploadedFile = uploadedFile
    }

    /// Reads the query string and the body of `request`. A body over `bodyLimit` bytes fails with
    /// `tooLarge`.
    public static func read(
        _ request: Request,
        bodyLimit: Int = RequestBodyReader.defaultLimit,
        tooLarge: KilnError? = nil
    ) async throws -> APIParameters {
        var values = parseQuery(request.uri.query ?? "")
        guard let body = try await RequestBodyReader.collect(request, limit: bodyLimit) else {
            throw tooLarge ?? KilnError(.requestEntityTooLarge, "The request body is larger than \(bodyLimit) bytes.")
        }
        guard body.readableBytes > 0 else { return APIParameters(values: values) }
        let bytes = Array(body.readableBytesView)
        if let contentType = request.headers[.contentType],
           let boundary = MultipartForm.boundary(fromContentType: contentType) {
            let form = try MultipartForm(body: bytes, boundary: boundary)
            var file: [UInt8]?
            for part in form.parts {
                if part.filename != nil || part.name == "content" {
                    if part.name == "content" { file = part.data }
                } else {
                    values[part.name] = .string(String(decoding: part.data, as: UTF8.self))
                }
            }
            return APIParameters(values: values, uploadedFile: file)
        }
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(bytes)) else {
            throw KilnError(.malformedRequest, "Invalid JSON given in the body of the request - expected a JSON object.")
        }
        values.merge(object) { _, body in body }
        return APIParameters(values: values)
    }

    /// Decodes `a=b&c=d`: `+` is a space, then percent-decoding.
    static func parseQuery(_ query: String) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decodeComponent(parts[0])
            let value = parts.count > 1 ? decodeComponent(parts[1]) : ""
            result[key] = .string(value)
        }
        return result
    }

    private static func decodeComponent(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// A string parameter; numbers are not accepted where a string is expected.
    public func string(_ key: String) throws(KilnError) -> String? {
        switch values[key] {
        case nil, .null: return nil
        case .string(let value): return value
        default: throw KilnError.invalidParameter("Parameter '\(key)' must be a string.")
        }
    }

    /// A required, non-empty string parameter.
    public func requiredString(_ key: String) throws(KilnError) -> String {
        guard let value = try string(key), !value.isEmpty else { throw KilnError.missingField(key) }
        return value
    }

    /// A boolean, from JSON `true`/`false` or the query text `true`/`false` (any case).
    public func bool(_ key: String) throws(KilnError) -> Bool? {
        switch values[key] {
        case nil, .null: return nil
        case .bool(let value): return value
        case .string(let text):
            switch text.lowercased() {
            case "true": return true
            case "false": return false
            default: throw KilnError.invalidParameter("Parameter '\(key)' must be true or false, not '\(text)'.")
            }
        default: throw KilnError.invalidParameter("Parameter '\(key)' must be true or false.")
        }
    }

    /// A 64-bit integer, from a JSON number or a string of digits.
    public func int64(_ key: String) throws(KilnError) -> Int64? {
        switch values[key] {
        case nil, .null: return nil
        case .integer(let value): return value
        case .number(let value) where value.rounded() == value && abs(value) < 9.2e18: return Int64(value)
        case .string(let text):
            guard let value = Int64(text) else {
                throw KilnError.invalidParameter("Parameter '\(key)' must be an integer, not '\(text)'.")
            }
            return value
        default: throw KilnError.invalidParameter("Parameter '\(key)' must be an integer.")
        }
    }
}
