import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Which of a connection's requests `EventLoopResponder` answers itself, and which it passes on to
/// Hummingbird's channel, so that answers leave in the order their requests came (HTTP/1.1 pipelining,
/// RFC 9112 §9.3.2). No I/O: the handler performs what each event returns.
///
/// The handler answers a request when no request passed on earlier is still waiting for the end of its
/// answer, the request has a `Content-Length` within its limit (or no body), no `Expect` or
/// `Transfer-Encoding`, and does not ask to close the connection; and it is
/// - a GET of one of `hotPaths` (with or without a `/w/<deployment>` prefix) that authenticates with a token or
///   not at all (Basic auth may hash a password: 100 ms of CPU): answered on the event loop. Each reads a row
///   or two;
/// - else one of `collectedRoutes`, the rest of the Workspace API, with credentials and at most
///   `collectedBodyLimit` bytes of body: its body is collected on the loop and it is answered in a task on
///   Swift's global executor. Work that takes milliseconds (a list of a thousand objects, an import) must not
///   hold up the other connections of its event loop, the Postgres proxy's among them (measured: a list of
///   1,000 at 16 connections served 30 % fewer requests on the event loops); and Hummingbird's channel would
///   hand the body over part by part and the answer back through its own task (measured in interleaved runs:
///   64 KiB imports at 1 connection, CPU per request 632 → 596 µs, +11 % req/s);
/// - but an import or a mkdirs with a token and at most `shortWriteBodyLimit` bytes of body (a notebook of up
///   to about 96 KiB, a fraction of a millisecond's work) is answered on the event loop when none of the
///   loop's connections is being answered (`Place.eventLoopWhenIdle`): then it holds up no answer (bytes for
///   the Postgres proxy's connections on the loop, which are not counted, wait that long; so do they when the
///   write is the first after a checkpoint, whose COMMIT syncs the log's header), and it saves the two changes
///   of thread of the global executor's task (a wake-up of one of its threads, then of the loop). Measured with
///   64 KiB imports in interleaved runs: at 1 connection +17 % req/s, CPU per import 415 → 340 µs; at 16
///   connections, where a loop always has other answers under way, answering them all on the loops served 14 %
///   fewer. An import that may be an archive (DBC, a zip), whose work its size does not bound, leaves the loop
///   for Swift's global executor in `WorkspaceController.importObject`.
///
/// Everything else is passed on. While a request is being answered, the parts that come after it wait here,
/// and reads stop once one waits, until it is done.
struct EventLoopResponderStateMachine {
    /// Bytes of body a GET answered on the event loop may have (clients send GET parameters as JSON too).
    static let bodyLimit = 64 << 10

    /// The routes answered on the event loop: each reads a row or two, or answers with a kept export (an
    /// export made anew leaves the loop: `WorkspaceService.export`).
    static let hotPaths: Set<Substring> = [
        "/healthz", "/.well-known/databricks-config", "/api/2.0/workspace/get-status", "/api/2.0/workspace/export",
    ]

    /// Where the handler makes an answer.
    enum Place {
        /// In a task on the connection's event loop (a read of a row or two).
        case eventLoop
        /// In a task on Swift's global executor, with the whole body collected on the loop (an import).
        case globalExecutor
        /// With the whole body collected on the loop: in a task on the loop when no other answer is being made
        /// on it, else on Swift's global executor (`EventLoopResponder` tells which).
        case eventLoopWhenIdle

        /// The most body a request answered here may have.
        var bodyLimit: Int {
            switch self {
            case .eventLoop: EventLoopResponderStateMachine.bodyLimit
            case .globalExecutor: EventLoopResponderStateMachine.collectedBodyLimit
            case .eventLoopWhenIdle: EventLoopResponderStateMachine.shortWriteBodyLimit
            }
        }
    }

    /// The routes, with their method, whose requests are answered once their body is whole, on Swift's global
    /// executor, or on the loop for a short write (`WorkspaceController`'s; its hot reads with Basic auth or a
    /// larger body among them).
    static let collectedRoutes: Set<Route> = [
        Route(.get, "/api/2.0/workspace/list"), Route(.get, "/api/2.0/workspace/get-status"),
        Route(.get, "/api/2.0/workspace/export"), Route(.post, "/api/2.0/workspace/mkdirs"),
        Route(.post, "/api/2.0/workspace/delete"), Route(.post, "/api/2.0/workspace/import"),
    ]
    /// The most body, by its `Content-Length`, such a request may have: 256 KiB, most notebooks' imports.
    /// Larger ones (up to 10 MB) stream through Hummingbird's channel, which authenticates before it collects;
    /// here a body is held before its credentials are checked.
    static let collectedBodyLimit = 256 << 10

    /// The routes whose requests with a token and a body of at most `shortWriteBodyLimit` bytes are answered
    /// on the event loop when it answers nothing else (`Place.eventLoopWhenIdle`).
    static let shortWrites: Set<Route> = [Route(.post, "/api/2.0/workspace/import"), Route(.post, "/api/2.0/workspace/mkdirs")]
    /// 128 KiB: the JSON of an import of a notebook of up to about 96 KiB.
    static let shortWriteBodyLimit = 128 << 10

    /// A method and a path.
    struct Route: Hashable {
        let method: HTTPRequest.Method
        let path: Substring

        init(_ method: HTTPRequest.Method, _ path: Substring) {
            self.method = method
            self.path = path
        }
    }

    enum State {
        /// No request of this handler's own under way.
        case idle
        /// Collecting the body of a request this handler answers (within its place's limit: its
        /// `Content-Length` is, and the decoder holds the body to that).
        case reading(HTTPRequest, BodyCollector, Place)
        /// The request's answer is being made and written.
        case responding
    }

    /// What the handler does with a part that came in.
    enum ReadAction {
        /// Pass it on to Hummingbird's channel.
        case forward(HTTPRequestPart)
        /// Answer this request (its whole body is here).
        case respond(HTTPRequest, ByteBuffer, Place)
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

    /// Where the handler answers a request with this head and how many bytes of body it declares (0 for
    /// none), or nil when it passes it on (see the type's comment).
    static func place(for head: HTTPRequest) -> (place: Place, bodyLength: Int)? {
        let fields = head.headerFields
        guard let target = head.path, !fields.contains(.expect), !fields.contains(.transferEncoding) else { return nil }
        if let connection = fields.value(.connection), connection.lowercased().contains("close") { return nil }
        var length = 0
        if let declared = fields.value(.contentLength) {
            guard let bytes = Int(declared), bytes >= 0 else { return nil }
            length = bytes
        }
        let route = route(of: target)
        let credentials = fields.value(.authorization)
        let basic = credentials.map { Substring($0.utf8.prefix(6)).equalsIgnoringASCIICase("basic ") } ?? false
        if head.method == .get, hotPaths.contains(route), !basic, length <= Place.eventLoop.bodyLimit { return (.eventLoop, length) }
        if collectedRoutes.contains(Route(head.method, route)), credentials != nil, length <= Place.globalExecutor.bodyLimit {
            if shortWrites.contains(Route(head.method, route)), !basic, length <= Place.eventLoopWhenIdle.bodyLimit {
                return (.eventLoopWhenIdle, length)
            }
            return (.globalExecutor, length)
        }
        return nil
    }

    /// The path of a request target, without its query and its `/w/<deployment>` prefix.
    static func route(of target: String) -> Substring {
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        return DeploymentPrefix.split(path)?.remainder ?? path
    }

    /// A part came in.
    mutating func read(_ part: HTTPRequestPart) -> ReadAction {
        switch state {
        case .responding:
            queued.append(part)
            return .none
        case .reading(let head, var body, let place):
            switch part {
            case .head:
                // The decoder ends a request before the next one starts; keep it for after this one.
                queued.append(part)
                return .none
            case .body(let bytes):
                state = .idle // the state lets go of `body`, so that appending to it copies nothing
                // Within the limit: NIO's decoder gives no more bytes than the head declares, which `place(for:)`
                // held to the place's limit.
                _ = body.append(bytes)
                state = .reading(head, body, place)
                return .none
            case .end:
                state = .responding
                return .respond(head, body.body, place)
            }
        case .idle:
            if case .head(let head) = part {
                if forwarded == 0, let (place, length) = Self.place(for: head) {
                    state = .reading(head, BodyCollector(declaredLength: length, limit: place.bodyLimit), place)
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
