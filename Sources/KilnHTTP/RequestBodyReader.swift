public import Hummingbird
public import KilnCore
import NIOCore

/// The one way request bodies are read: with a size limit, and for JSON APIs into a `JSONTree` object.
/// A body over the limit is drained, not left half-read, so the client receives the error instead of a
/// reset connection.
public enum RequestBodyReader {
    /// The limit for ordinary API calls: 1 MiB.
    public static let defaultLimit = 1 << 20
    /// The most a body's `Content-Length` reserves before its bytes arrive: 1 MiB.
    static let reservedAtMost = 1 << 20

    /// The whole body, or `nil` when it was larger than `limit` (and has been drained). The chunks are
    /// copied once, into an array sized by `Content-Length` when it is given (an import's 87 KB of JSON),
    /// up to `reservedAtMost` before the bytes arrive, so a header alone holds no more than that.
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8]? {
        var collected: [UInt8] = []
        if let length = request.headers[.contentLength].flatMap(Int.init), length > 0 {
            collected.reserveCapacity(min(length, limit, reservedAtMost))
        }
        var overflowed = false
        for try await chunk in request.body {
            if overflowed { continue }
            if collected.count + chunk.readableBytes > limit {
                overflowed = true
                collected = []
                continue
            }
            collected.append(contentsOf: chunk.readableBytesView)
        }
        return overflowed ? nil : collected
    }

    /// The body as a JSON object (`{}` when empty). Throws `REQUEST_ENTITY_TOO_LARGE` (or `tooLarge`) over
    /// `limit` bytes and `MALFORMED_REQUEST` for anything but a JSON object.
    public static func jsonObject(_ request: Request, limit: Int = defaultLimit, tooLarge: KilnError? = nil) async throws -> JSONTree {
        guard let body = try await collect(request, limit: limit) else {
            throw tooLarge ?? KilnError(.requestEntityTooLarge, "The request body is larger than \(limit) bytes.")
        }
        return try jsonObject(body)
    }

    /// `bytes` as a JSON object (`{}` when empty), or `MALFORMED_REQUEST`.
    static func jsonObject(_ bytes: [UInt8]) throws(KilnError) -> JSONTree {
        guard !bytes.isEmpty else { return .object([]) }
        guard let tree = try? JSONTree.parse(bytes), case .object = tree else {
            throw KilnError(.malformedRequest, "Invalid JSON given in the body of the request - expected a JSON object.")
        }
        return tree
    }
}
