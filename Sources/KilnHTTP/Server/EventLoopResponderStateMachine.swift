import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Which of a connection's requests `EventLoopResponder` answers itself, and which it passes on to
/// Hummingbird's channel, so that answers leave in the order their requests came (HTTP/1.1 pipelining,
/// RFC 9112 §9.3.2). No I/O: the handler performs what each event returns.
///
/// A request is answered on the event loop when it is a GET of one of `hotPaths` (with or without a
/// `/w/<deployment>` prefix) with at most `bodyLimit` bytes of body by its `Content-Length`, authenticates
/// with a token or not at all (Basic auth may hash a password: 100 ms of CPU), does not ask to close the
/// connection, and no request passed on earlier is still waiting for the end of its answer. Everything else is passed on: work that takes milliseconds
/// (a list of a thousand objects, an import) must not hold up the other connections of its event loop,
/// the Postgres proxy's among them; on Hummingbird's channel it runs on Swift's executor beside the loops
/// (measured: a list of 1,000 at 16 connections served 30 % fewer requests on the event loops). While a
/// request is being answered, the parts that come after it wait here, and reads stop once one waits, until
/// it is done.
struct EventLoopResponderStateMachine {
    /// Bytes of body a GET answered on the event loop may have (clients send GET parameters as JSON too).
    static let bodyLimit = 64 << 10

    /// The routes answered on the event loop: each reads a row or two, or answers with a kept export (an
    /// export made anew leaves the loop: `WorkspaceService.export`).
    static let hotPaths: Set<Substring> = [
        "/healthz", "/.well-known/databricks-config", "/api/2.0/workspace/get-status", "/api/2.0/workspace/export",
    ]

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
        guard head.method == .get, let target = head.path, hotPaths.contains(route(of: target)) else { return false }
        guard fields[.expect] == nil, fields[.transferEncoding] == nil else { return false }
        if let length = fields[.contentLength] {
            guard let bytes = Int(length), bytes <= bodyLimit else { return false }
        }
        if let credentials = fields[.authorization], credentials.prefix(6).lowercased() == "basic " { return false }
        if let connection = fields[.connection], connection.lowercased().contains("close") { return false }
        return true
    }

    /// The path of a request target, without its query and its `/w/<deployment>` prefix.
    static func route(of target: String) -> Substring {
        let path = target.prefix { $0 != "?" }
        return DeploymentPrefix.split(path)?.remainder ?? path
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

    /// Whether a read asked for now goes ahead; one that does not is made by `takeHeldRead` later. Reads go
    /// on during an answer until a part waits: a client that waits for each answer (as nearly all do) then
    /// costs no change of the socket's registration for reading (two `epoll_ctl` calls a request), and one
    /// that pipelines has at most one read's parts waiting (and, at the end of its input, what it sent
    /// before that end: NIO reads a closing connection to its end).
    mutating func shouldRead() -> Bool {
        if case .responding = state, !queued.isEmpty {
            readHeld = true
            return false
        }
        return true
    }

    /// Whether a read was held back and can be made now: when no answer is being made (a request whose
    /// body is still coming needs it).
    mutating func takeHeldRead() -> Bool {
        guard readHeld, queued.isEmpty else { return false }
        if case .responding = state { return false }
        readHeld = false
        return true
    }

    /// Whether the end of the client's input (a half-close) is passed on now: not while an answer is being
    /// made or parts wait, since Hummingbird's channel closes the connection when its input ends.
    var passesInputClosed: Bool {
        if case .idle = state { return queued.isEmpty }
        return false
    }

    /// The client's input ended (a half-close, or the end of a connection): a request whose body was still
    /// being read can never be whole, and is dropped. Whether the end is passed on now (`passesInputClosed`);
    /// one that is not is passed on once the answer being made is written.
    mutating func inputClosed() -> Bool {
        if case .reading = state { state = .idle }
        return passesInputClosed
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
