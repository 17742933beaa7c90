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
    var values: [String: JSONTree]
    /// The file part of a multipart body (`content`), byte-exact: a slice of the body.
    var uploadedFile: ByteBuffer?
    /// A JSON body's `content` string when it has no escapes (an import's base64 always), read with
    /// `contentAsText`: the bytes of its text, a slice of the body, not yet checked as UTF-8
    /// (`checkedContentText()`); `values` then has no `content`.
    var contentText: ByteBuffer?

    init(values: [String: JSONTree], uploadedFile: ByteBuffer? = nil) {
        self.values = values
        self.uploadedFile = uploadedFile
    }

    /// The query string alone (GET routes that take no body).
    init(query: QueryParameters) {
        self.init(values: query.all.mapValues(JSONTree.string))
    }

    /// Reads the query string and the body of `request`. A body over `bodyLimit` bytes fails with
    /// `tooLarge`. With `contentAsText` (an import), a JSON body's `content` string is kept as the bytes of its
    /// text (`contentText`), never made a `String`.
    public static func read(
        _ request: Request,
        bodyLimit: Int = RequestBodyReader.defaultLimit,
        tooLarge: KilnError? = nil,
        contentAsText: Bool = false
    ) async throws -> APIParameters {
        var parameters = APIParameters(query: QueryParameters(request))
        guard let body = try await RequestBodyReader.collect(request, limit: bodyLimit) else {
            throw tooLarge ?? KilnError(.requestEntityTooLarge, "The request body is larger than \(bodyLimit) bytes.")
        }
        guard body.readableBytes > 0 else { return parameters }
        if let contentType = request.headers.value(.contentType),
            let boundary = MultipartForm.boundary(fromContentType: contentType)
        {
            let form = try MultipartForm(body: body, boundary: boundary)
            for part in form.parts {
                if part.filename != nil || part.name == "content" {
                    if part.name == "content" { parameters.uploadedFile = part.data }
                } else {
                    parameters.values[part.name] = .string(String(buffer: part.data))
                }
            }
            return parameters
        }
        let (object, content) =
            contentAsText ? try RequestBodyReader.jsonObject(body, leavingOut: "content") : (try RequestBodyReader.jsonObject(body), nil)
        guard case .object(let members) = object else { return parameters }
        for member in members { parameters.values[member.key] = member.value }
        if let content {
            parameters.values["content"] = nil
            parameters.contentText = content
        }
        return parameters
    }

    /// `contentText`, which a JSON parse of the body would have failed as `MALFORMED_REQUEST` (not UTF-8).
    func checkedContentText() throws(KilnError) -> ByteBuffer? {
        guard let contentText else { return nil }
        guard String(validating: contentText.readableBytesView, as: UTF8.self) != nil else { throw RequestBodyReader.malformed }
        return contentText
    }

    /// A string parameter; numbers are not accepted where a string is expected.
    public func string(_ key: String) throws(KilnError) -> String? {
        if key == "content", let text = try checkedContentText() { return String(buffer: text) }
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

    /// A boolean, from JSON `true`/`false` or text by `QueryParameters`' rule.
    public func bool(_ key: String) throws(KilnError) -> Bool? {
        switch values[key] {
        case nil, .null: return nil
        case .bool(let value): return value
        case .string(let text): return try QueryParameters.bool(text, key: key)
        default: throw KilnError.invalidParameter("Parameter '\(key)' must be true or false.")
        }
    }

    /// A 64-bit integer, from a JSON number or text by `QueryParameters`' rule.
    public func int64(_ key: String) throws(KilnError) -> Int64? {
        switch values[key] {
        case nil, .null: return nil
        case .number(let text):
            if let value = Int64(text) { return value }
            guard let value = Double(text), value.rounded() == value, abs(value) < 9.2e18 else {
                throw KilnError.invalidParameter("Parameter '\(key)' must be an integer.")
            }
            return Int64(value)
        case .string(let text): return try QueryParameters.int(text, key: key)
        default: throw KilnError.invalidParameter("Parameter '\(key)' must be an integer.")
        }
    }
}
