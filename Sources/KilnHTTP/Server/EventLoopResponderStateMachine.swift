import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Which of a connection's requests `EventLoopResponder` answers itself, and which it passes on to
/// Hummingbird's channel, so that answers leave in the order their requests came (HTTP/1.1 pipelining,
/// RFC 9112 §9.3.2). No I/O: the handler performs what each event returns.
///
/// A request is answered on the event loop when it is not a HEAD, expects no `100 Continue`, does not ask
/// to close the connection, has no `Transfer-Encoding` and at most `bodyLimit` bytes of body by its
/// `Content-Length`, and no request passed on earlier is still waiting for the end of its answer. Others
/// (imports of up to 32 MiB among them, whose bodies stream) are passed on. While a request is being
/// answered, the parts that come after it wait here, and reads stop until it is done.
struct EventLoopResponderStateMachine {
    /// Bytes of body a request answered on the event loop may have (`RequestBodyReader.defaultLimit`).
    static let bodyLimit = 1 << 20

    enum State {
        /// No request of this handler's own under way.
        case idle
        /// Collecting the body of a request this handler answers.
        case reading(HTTPRequest, ByteBuffer)
        /// The request's answer is being made and written.
        case responding
    }

    /// What the handler does with a part that came in.
    enum ReadAction {
        /// Pass it on to Hummingbird's channel.
        case forward(HTTPRequestPart)
        /// Answer this request (its whole body is here).
        case respond(HTTPRequest, ByteBuffer)
        /// Nothing now.
        case none
    }

    private(set) var state = State.idle
    /// Requests passed on whose answers have not ended yet.
    private var forwarded = 0
    /// Parts that came while a request was being answered.
    private var queued = CircularBuffer<HTTPRequestPart>()
    /// Whether a read was asked for while a request was being answered.
    private var readHeld = false

    /// Whether the handler answers a request with this head (see the type's comment).
    static func answersInline(_ head: HTTPRequest) -> Bool {
        let fields = head.headerFields
        guard head.method != .head, fields[.expect] == nil, fields[.transferEncoding] == nil else { return false }
        if let connection = fields[.connection], connection.lowercased().contains("close") { return false }
        guard let length = fields[.contentLength] else { return true }
        guard let bytes = Int(length) else { return false }
        return bytes <= bodyLimit
    }

    /// A part came in.
    mutating func read(_ part: HTTPRequestPart) -> ReadAction {
        switch state {
        case .responding:
            queued.append(part)
            return .none
        case .reading(let head, var body):
            switch part {
            case .head:
                // The decoder ends a request before the next one starts; keep it for after this one.
                queued.append(part)
                return .none
            case .body(let bytes):
                state = .idle // the state lets go of `body`, so that appending to it copies nothing
                body.writeImmutableBuffer(bytes)
                state = .reading(head, body)
                return .none
            case .end:
                state = .responding
                return .respond(head, body)
            }
        case .idle:
            if case .head(let head) = part {
                if forwarded == 0, Self.answersInline(head) {
                    state = .reading(head, ByteBuffer())
                    return .none
                }
                forwarded += 1
            }
            return .forward(part)
        }
    }

    /// A part of an answer from Hummingbird's channel went out.
    mutating func wrote(_ part: HTTPResponsePart) {
        if case .end = part, forwarded > 0 { forwarded -= 1 }
    }

    /// The answer of this handler's own request has ended: parts that waited are read next.
    mutating func responded() {
        state = .idle
    }

    /// The next part that waited, while no request of this handler's own is being answered.
    mutating func nextQueued() -> HTTPRequestPart? {
        if case .responding = state { return nil }
        return queued.popFirst()
    }

    /// Whether a read asked for now goes ahead; one that does not is made by `takeHeldRead` later.
    mutating func shouldRead() -> Bool {
        if case .responding = state {
            readHeld = true
            return false
        }
        return true
    }

    /// Whether a read was held back and can be made now.
    mutating func takeHeldRead() -> Bool {
        guard readHeld, queued.isEmpty, case .idle = state else { return false }
        readHeld = false
        return true
    }

    /// Whether an error from the pipeline is passed on now: not while an answer is being made (it would
    /// come before that answer); one that comes while a body is being read ends that request.
    mutating func errorCaught() -> Bool {
        switch state {
        case .responding: return false
        case .reading:
            state = .idle
            return true
        case .idle: return true
        }
    }
}
