import NIOCore

/// A request's body gathered part by part into one `ByteBuffer`, within a limit: the one way both
/// `RequestBodyReader.collect` and `EventLoopResponderStateMachine` gather a body.
///
/// A first part is kept as it is, without a copy, so a body that comes in one part (most do, up to NIO's
/// read of 64 KiB) is never copied. When a second part comes, room is made for the whole body its
/// `Content-Length` declares (up to `reservedAtMost`), so that the body is copied once, not each time it
/// grows. The buffer may share its storage with NIO's read buffer: a caller copies out what it keeps.
struct BodyCollector {
    /// The most a body's declared length reserves before the rest of its bytes arrive: 1 MiB. A client may
    /// declare more than it sends.
    static let reservedAtMost = 1 << 20

    /// The bytes gathered so far (empty once the body is over the limit).
    private(set) var body = ByteBuffer()
    /// Whether the body went over `limit`: its bytes are dropped, and later parts are only counted out.
    private(set) var overflowed = false
    /// The body's `Content-Length`, or 0 when it has none.
    let declaredLength: Int
    /// The most bytes the body may have.
    let limit: Int

    init(declaredLength: Int, limit: Int) {
        self.declaredLength = declaredLength
        self.limit = limit
    }

    /// Adds `part` to the body; false, and nothing kept from then on, once the body is over `limit`.
    mutating func append(_ part: ByteBuffer) -> Bool {
        guard !overflowed else { return false }
        guard body.readableBytes + part.readableBytes <= limit else {
            overflowed = true
            body = ByteBuffer()
            return false
        }
        guard body.readableBytes > 0 else {
            body = part
            return true
        }
        let room = max(part.readableBytes, min(declaredLength, limit, Self.reservedAtMost) - body.readableBytes)
        body.reserveCapacity(minimumWritableBytes: room)
        body.writeImmutableBuffer(part)
        return true
    }
}
