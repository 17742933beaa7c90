public import Hummingbird
public import KilnCore
import NIOCore

/// The one way request bodies are read: with a size limit, and for JSON APIs into a `JSONTree` object.
/// A body over the limit is drained, not left half-read, so the client receives the error instead of a
/// reset connection.
public enum RequestBodyReader {
    /// The limit for ordinary API calls: 1 MiB.
    public static let defaultLimit = 1 << 20

    /// The whole body, or `nil` when it was larger than `limit` (and has been drained). Gathered by
    /// `BodyCollector`: a body that comes in one buffer (one `EventLoopResponder` collected) is returned as it
    /// is, without a copy; one in chunks is copied once, into a buffer sized by `Content-Length`. The buffer may
    /// share its storage with NIO's read buffer: a caller copies out what it keeps.
    ///
    /// A request with neither `Content-Length` nor `Transfer-Encoding` has no body (RFC 9112 §6.3; Kiln serves
    /// HTTP/1.1 only), and comes back empty without reading the body's stream.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer? {
        let declaredLength = request.headers.value(.contentLength)
        if declaredLength == nil, request.headers.value(.transferEncoding) == nil { return ByteBuffer() }
        var collector = BodyCollector(declaredLength: declaredLength.flatMap(Int.init) ?? 0, limit: limit)
        for try await part in request.body {
            _ = collector.append(part) // over the limit, the rest is read and dropped
        }
        return collector.overflowed ? nil : collector.body
    }

    /// The body as a JSON object (`{}` when empty). Throws `REQUEST_ENTITY_TOO_LARGE` (or `tooLarge`) over
    /// `limit` bytes and `MALFORMED_REQUEST` for anything but a JSON object.
    public static func jsonObject(_ request: Request, limit: Int = defaultLimit, tooLarge: KilnError? = nil) async throws -> JSONTree {
        guard let body = try await collect(request, limit: limit) else {
            throw tooLarge ?? KilnError(.requestEntityTooLarge, "The request body is larger than \(limit) bytes.")
        }
        return try jsonObject(body)
    }

    /// `body` as a JSON object (`{}` when empty), or `MALFORMED_REQUEST`. Parsed in place.
    static func jsonObject(_ body: ByteBuffer) throws(KilnError) -> JSONTree {
        guard body.readableBytes > 0 else { return .object([]) }
        guard let tree = try? JSONTree.parse(body.readableBytesView), case .object = tree else { throw malformed }
        return tree
    }

    /// `body` as a JSON object (`{}` when empty), but for its string member `key` when that has no escapes:
    /// that string's text comes back as a slice of `body`, unchecked, and the object has no `key`
    /// (`JSONTree.parse(_:leavingOut:)`). `MALFORMED_REQUEST` for anything but a JSON object.
    static func jsonObject(_ body: ByteBuffer, leavingOut key: String) throws(KilnError) -> (object: JSONTree, leftOut: ByteBuffer?) {
        guard body.readableBytes > 0 else { return (.object([]), nil) }
        let parsed = body.withUnsafeReadableBytes { bytes in try? JSONTree.parse(bytes, leavingOut: key) }
        guard let parsed, case .object = parsed.tree else { throw malformed }
        return (parsed.tree, parsed.leftOut.map { body.getSlice(at: body.readerIndex + $0.lowerBound, length: $0.count)! })
    }

    /// A body that is not a JSON object (or not UTF-8).
    static let malformed = KilnError(.malformedRequest, "Invalid JSON given in the body of the request - expected a JSON object.")
}
