public import Hummingbird
public import KilnCore
import NIOCore

/// The one way request bodies are read: with a size limit, and for JSON APIs into a `JSONTree` object.
/// A body over the limit is drained, not left half-read, so the client receives the error instead of a
/// reset connection.
public enum RequestBodyReader {
    /// The limit for ordinary API calls: 1 MiB.
    public static let defaultLimit = 1 << 20
    /// The most a body's `Content-Length` reserves for a body that comes in chunks, before the rest of its
    /// bytes arrive: 1 MiB.
    static let reservedAtMost = 1 << 20

    /// The whole body, or `nil` when it was larger than `limit` (and has been drained). A body that comes
    /// in one buffer (one `EventLoopResponder` collected) is returned as it is, without a copy; one in chunks
    /// is copied once, into a buffer sized by `Content-Length` when it is given (up to `reservedAtMost` before
    /// the bytes arrive). The buffer may share its storage with NIO's read buffer: a caller copies out what
    /// it keeps.
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer? {
        let declared = request.headers[.contentLength].flatMap(Int.init) ?? 0
        var collected = ByteBuffer()
        var overflowed = false
        for try await chunk in request.body {
            if overflowed { continue }
            if collected.readableBytes + chunk.readableBytes > limit {
                overflowed = true
                collected = ByteBuffer()
                continue
            }
            if collected.readableBytes == 0 {
                collected = chunk
                continue
            }
            let room = max(chunk.readableBytes, min(declared, limit, reservedAtMost) - collected.readableBytes)
            collected.reserveCapacity(minimumWritableBytes: room)
            collected.writeImmutableBuffer(chunk)
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

    /// `body` as a JSON object (`{}` when empty), or `MALFORMED_REQUEST`. Parsed in place.
    static func jsonObject(_ body: ByteBuffer) throws(KilnError) -> JSONTree {
        guard body.readableBytes > 0 else { return .object([]) }
        guard let tree = try? JSONTree.parse(body.readableBytesView), case .object = tree else {
            throw KilnError(.malformedRequest, "Invalid JSON given in the body of the request - expected a JSON object.")
        }
        return tree
    }
}
