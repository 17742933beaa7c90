import Foundation
public import Hummingbird
import NIOCore
public import KilnCore

/// Builds JSON responses. Every 2xx JSON answer has a body, at least `{}`.
public enum JSONResponse {
    /// A 200 response with `value` encoded as JSON.
    public static func ok(_ value: some Encodable) -> Response {
        make(status: .ok, bytes: encode(value))
    }

    /// A 200 response with `tree`'s bytes.
    public static func ok(_ tree: JSONTree) -> Response {
        make(status: .ok, bytes: tree.compactJSON())
    }

    /// A response with `status` and `tree`'s bytes (201 for a SCIM create, say).
    public static func json(status: HTTPResponse.Status, _ tree: JSONTree) -> Response {
        make(status: status, bytes: tree.compactJSON())
    }

    /// A 200 response with `{}`.
    public static func empty() -> Response {
        make(status: .ok, bytes: Array("{}".utf8))
    }

    static func make(status: HTTPResponse.Status, bytes: [UInt8]) -> Response {
        var buffer = ByteBuffer()
        buffer.writeBytes(bytes)
        return Response(status: status, headers: headers(), body: .init(byteBuffer: buffer))
    }

    /// `Content-Type: application/json`, with room for the fields every answer then gets: `Content-Length`
    /// (Hummingbird's `Response`), `Date` and `Server` (`KilnHTTP1Channel`, or Hummingbird's `Application`).
    /// Adding them then moves nothing: this saves two reallocations of the fields per answer.
    static func headers() -> HTTPFields {
        var headers = HTTPFields()
        headers.reserveCapacity(4)
        headers[.contentType] = "application/json"
        return headers
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // The wire types are plain structs of strings and numbers: encoding them cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }
}
