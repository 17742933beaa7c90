public import Hummingbird
import KilnCore
import NIOCore

/// Reads request bodies with a size limit. A body over the limit is drained, not left half-read, so
/// the client receives the error instead of a reset connection.
public enum RequestBodyReader {
    /// The limit for ordinary API calls: 1 MiB.
    public static let defaultLimit = 1 << 20

    /// The whole body, or `nil` when it was larger than `limit` (and has been drained).
    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer? {
        var collected = ByteBuffer()
        var overflowed = false
        for try await chunk in request.body {
            if overflowed { continue }
            if collected.readableBytes + chunk.readableBytes > limit {
                overflowed = true
                collected = ByteBuffer()
                continue
            }
            var chunk = chunk
            collected.writeBuffer(&chunk)
        }
        return overflowed ? nil : collected
    }
}
